"""toolkit.schema's values: the one place where text becomes a number or a timestamp.

Each class of bad value the readers met (issue 11, section 4) has a case here: out-of-range and
non-finite numbers, other digits, wrong JSON types, timestamps outside what datetime64[ns]
holds (never wrapped: year 9999 used to come back as 1816). The readers' own tests check what
each reader does with the reason (tests/*/test_bad_values.py).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toolkit import schema
from toolkit.errors import SchemaError


@pytest.mark.parametrize(("value", "expected"), [
    ("42", 42), ("-7", -7), ("+3", 3), (42, 42), (3.0, 3), (np.int64(5), 5),
    ("9223372036854775807", schema.INT_MAX), ("-9223372036854775808", schema.INT_MIN),
])
def test_int_value_takes_plain_whole_numbers(value, expected):
    assert schema.int_value(value, "rows") == (expected, None)


@pytest.mark.parametrize(("value", "reason"), [
    ("9223372036854775808", "rows is out of range"),          # 2^63
    ("18446744073709551616", "rows is out of range"),         # 2^64
    ("1" * 5000, "rows is out of range"),                     # (int() would refuse it too)
    (2 ** 63, "rows is out of range"),
    ("\u0663\u0664", "rows is not a whole number"),           # Arabic-Indic digits: int() takes them
    ("\uff11\uff12", "rows is not a whole number"),           # full-width digits
    ("0x1F", "rows is not a whole number"),
    ("1_000", "rows is not a whole number"),                  # int() takes underscores
    (" 12", "rows is not a whole number"),
    ("12\x00", "rows is not a whole number"),
    ("1.5", "rows is not a whole number"),
    (1.5, "rows is not a whole number"),
    (math.inf, "rows is not a finite number"),
    (True, "rows is a boolean, not a number"),
    ([1], "rows is a list, not a number"),
    ({"a": 1}, "rows is an object, not a number"),
])
def test_int_value_gives_the_reason_of_a_bad_value(value, reason):
    assert schema.int_value(value, "rows") == (None, reason)


def test_int_value_checks_the_callers_range():
    assert schema.int_value("-1", "rows", lo=0) == (None, "rows is out of range")
    assert schema.int_value("0", "rows", lo=0) == (0, None)


@pytest.mark.parametrize("value", [None, ""])
def test_absent_values_are_null_without_a_reason(value):
    assert schema.int_value(value) == (None, None)
    assert schema.float_value(value) == (None, None)


def test_a_nan_is_absent_in_a_column_but_bad_as_a_json_value():
    assert schema.float_value(float("nan"), "w") == (None, "w is not a finite number")
    assert schema.float_values([float("nan"), None, "1"]).reasons.tolist() == [None, None, None]


@pytest.mark.parametrize(("value", "reason"), [
    ("1e309", "d is not a finite number"), ("-1e309", "d is not a finite number"),
    ("NaN", "d is not a finite number"), ("nan", "d is not a finite number"),
    ("Infinity", "d is not a finite number"), ("-inf", "d is not a finite number"),
    (math.inf, "d is not a finite number"), (10 ** 400, "d is out of range"),
    ("\u0663.5", "d is not a number"), ("1_0", "d is not a number"), ("0x10", "d is not a number"),
    ("1.2.3", "d is not a number"), ("1\x00", "d is not a number"), ("true", "d is not a number"),
    ([], "d is a list, not a number"), ("-0.5", None),
])
def test_float_value_refuses_what_float_would_take(value, reason):
    got = schema.float_value(value, "d", lo=0.0)
    if reason is None:  # within the grammar but below lo
        assert got == (None, "d is out of range")
    else:
        assert got == (None, reason)


def test_float_value_takes_plain_decimals():
    assert schema.float_value("0.25") == (0.25, None)
    assert schema.float_value("1e-3") == (0.001, None)
    assert schema.float_value("4.9e-324") == (5e-324, None)
    assert schema.float_value(".5") == (0.5, None)
    assert schema.float_value(7) == (7.0, None)


def test_text_value_refuses_other_json_types():
    assert schema.text_value("x", "message") == ("x", None)
    assert schema.text_value(None, "message") == (None, None)
    assert schema.text_value(12, "message") == (None, "message is a number, not a string")
    assert schema.text_value([1], "message") == (None, "message is a list, not a string")
    assert schema.text_value(False, "message") == (None, "message is a boolean, not a string")


def test_vectorised_numbers_give_values_nulls_and_reasons_per_row():
    # GIVEN good, absent and bad values mixed WHEN converted at once
    ints = schema.int_values(["1", None, "", "9223372036854775808", "\u0663", 7, "-2"], "n", lo=-5)
    floats = schema.float_values(["0.5", None, "nan", "1e309", "x", "2"], "d")
    # THEN good values come through exactly, absent ones are null without a reason
    assert ints.values.tolist() == [1, pd.NA, pd.NA, pd.NA, pd.NA, 7, -2]
    assert ints.reasons.tolist() == [None, None, None, "n is out of range", "n is not a whole number", None, None]
    assert ints.bad.tolist() == [False, False, False, True, True, False, False]
    assert str(ints.values.dtype) == "Int64"
    assert np.array_equal(floats.values, [0.5, np.nan, np.nan, np.nan, np.nan, 2.0], equal_nan=True)
    assert floats.reasons.tolist() == [None, None, "d is not a finite number", "d is not a finite number",
                                       "d is not a number", None]


def test_vectorised_ints_keep_int64_extremes_exact():
    got = schema.int_values(["9223372036854775807", "-9223372036854775808"])
    assert got.values.tolist() == [schema.INT_MAX, schema.INT_MIN] and not got.bad.any()


def test_timestamps_outside_datetime64_ns_are_refused_never_wrapped():
    # GIVEN year 9999 (which int64 nanoseconds used to wrap to 1816), year 0, year 1700 and a bad date
    got = schema.time_values(["9999-01-01 00:00:00", "0000-11-26 05:00:00", "1700-03-01 12:00:00",
                              "2026-13-45 00:00:00", "2026-11-26 05:09:21.105", None,
                              "\u0662\u0660\u0662\u0666-11-26 05:00:00"])  # (pandas alone reads it as 2026)
    # THEN 1700 is kept, 9999 and 0 have a reason, nothing comes back as another year
    assert got.values[2] == pd.Timestamp("1700-03-01 12:00:00", tz="UTC")
    assert got.values[4] == pd.Timestamp("2026-11-26 05:09:21.105", tz="UTC")
    assert got.reasons.tolist() == ["timestamp is outside the years 1678-2261"] * 2 + [
        None, "timestamp is not a valid time", None, None, "timestamp is not a valid time"]
    assert got.values[[0, 1, 3, 5]].isna().all()
    assert str(got.values.dtype) == "datetime64[ns, UTC]"


def test_time_value_reads_a_zone_and_a_strftime_format():
    assert schema.time_value("2026-11-26T05:09:21+02:00") == (pd.Timestamp("2026-11-26 03:09:21", tz="UTC"), None)
    ts, why = schema.time_value("26/Nov/9999:05:15:04 +0000", format="%d/%b/%Y:%H:%M:%S %z")
    assert ts is None and why == "timestamp is outside the years 1678-2261"


def test_epochs_are_range_checked_and_exact_to_the_millisecond():
    got = schema.epoch_values(["1795670140.346", "99999999999999", "-1", "1e400", "\u0661\u0662", None])
    assert got.values[0] == pd.Timestamp("2026-11-26 05:15:40.346", tz="UTC")
    assert got.values[2] == pd.Timestamp("1969-12-31 23:59:59", tz="UTC")
    assert got.reasons.tolist() == ["timestamp is outside the years 1678-2261" if i == 1 else r for i, r in
                                    enumerate([None, None, None, "timestamp is not a finite number",
                                               "timestamp is not a number", None])]
    assert schema.epoch_value("1709287200", decimals=0) == (pd.Timestamp("2024-03-01 10:00:00", tz="UTC"), None)


def test_utc_ns_turns_any_resolution_into_nanoseconds_without_wrapping():
    stamps = np.array(["9999-12-31", "2020-01-01", "1677-01-01"], dtype="datetime64[us]")
    got = schema.utc_ns(stamps)
    assert got.values.tolist()[1] == pd.Timestamp("2020-01-01", tz="UTC")
    assert got.values[[0, 2]].isna().all() and got.bad.tolist() == [True, False, True]


def test_coerce_names_a_column_it_cannot_cast_in_a_schema_error():
    df = pd.DataFrame({"rows_sent": ["10{000"]})
    with pytest.raises(SchemaError, match="query_events: column 'rows_sent' cannot be made int"):
        schema.coerce(df, "query_events")
