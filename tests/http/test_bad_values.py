"""Bad values in access logs, one class of issue 11 (section 4) per test: times outside what
datetime64[ns] holds (skipped with the reason, never wrapped: year 9999 came back as 1816), epochs
overflowing nanoseconds, integers of 2^63 and more (null, the line kept), JSON fields of the
wrong type; and the streaming aggregate agreeing with the reader on all of them.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import toolkit as tk
from toolkit.http.endpoints import endpoints

LINE = '10.0.0.1 - - [26/Nov/{year}:05:15:04 +0000] "GET /api/users/{n} HTTP/1.1" {status} {size} "-" "curl"\n'


def combined(*specs) -> str:
    return "".join(LINE.format(year=y, n=n, status=st, size=sz) for y, n, st, sz in specs)


def test_times_of_year_9999_are_skipped_with_the_reason_and_1700_is_kept(tmp_path):
    # GIVEN requests of years 2026, 9999 (wrapped to 1816 before), 1700 and a month that is none
    text = combined(("2026", 1, 200, 10), ("9999", 2, 200, 10), ("1700", 3, 200, 10)) + \
        LINE.format(year="2026", n=4, status=200, size=10).replace("Nov", "Foo")
    path = tmp_path / "access.log"
    path.write_text(text)
    df = tk.read_access_log(path, log_format="combined")
    # THEN 2026 and 1700 are read as logged; the others skipped with their reasons
    assert df["timestamp"].dt.year.tolist() == [2026, 1700]
    assert df.attrs["source"]["skip_reasons"] == {"timestamp is outside the years 1678-2261": 1,
                                                  "timestamp is not a valid time": 1}
    # AND the streaming aggregate skips the same lines, over 326 years without a Timedelta overflow
    for jobs in (1, 2):
        got = endpoints(path, log_format="combined", jobs=jobs, chunk_size=64)
        assert got["requests"].tolist() == [2]
        assert got["rps"].tolist() == pytest.approx([2 / (pd.Timestamp("2026-11-26 05:15:04")
                                                          - pd.Timestamp("1700-11-26 05:15:04")).total_seconds()])
        assert got.attrs["source"]["skip_reasons"] == df.attrs["source"]["skip_reasons"]


def test_integers_beyond_int64_are_null_and_the_line_kept():
    text = combined(("2026", 1, "99999999999999999999", 10), ("2026", 2, 404, "18446744073709551616"),
                    ("2026", 3, 200, "9223372036854775807"))
    df = tk.read_access_log(text.encode(), log_format="combined")
    assert df["status"].tolist()[1:] == [404, 200] and pd.isna(df["status"][0])
    assert pd.isna(df["body_bytes_sent"][1]) and df["body_bytes_sent"][2] == 9223372036854775807
    assert df.attrs["source"]["lines_skipped"] == 0


def test_epochs_overflowing_nanoseconds_are_skipped_and_good_ones_exact():
    fmt = '$msec "$request" $status $request_time'
    text = ('99999999999999.123 "GET / HTTP/1.1" 200 0.010\n'
            '1795670140.346 "GET /a HTTP/1.1" 200 ' + '9' * 400 + '\n'
            '1795670141.001 "GET /b HTTP/1.1" 200 0.020\n')
    df = tk.read_access_log(text.encode(), log_format=fmt)
    assert df["timestamp"].tolist() == [pd.Timestamp("2026-11-26 05:15:40.346", tz="UTC"),
                                        pd.Timestamp("2026-11-26 05:15:41.001", tz="UTC")]
    assert df.attrs["source"]["skip_reasons"] == {"timestamp is outside the years 1678-2261": 1}
    assert pd.isna(df["request_time_s"][0]) and df["request_time_s"][1] == 0.02  # (400 nines: not finite)


@pytest.mark.parametrize(("key", "value"), [("status", [200]), ("status", 2 ** 64), ("status", 200.0),
                                            ("request_time", {"s": 1}), ("request_time", True)])
def test_json_lines_values_of_the_wrong_type_are_null_and_the_line_kept(key, value):
    good = {"time": "2026-11-26T05:15:40+00:00", "request": "GET /api/users/1 HTTP/1.1", "status": 404,
            "request_time": 0.25}
    text = json.dumps({**good, key: value}) + "\n" + json.dumps(good) + "\n"
    df = tk.read_access_log(text.encode(), format="access-json")
    assert len(df) == 2 and df.attrs["source"]["lines_skipped"] == 0
    assert df["status"][1] == 404 and df["request_time_s"][1] == 0.25
    first = df.loc[0, "status" if key == "status" else "request_time_s"]
    assert first == 200 if value == 200.0 else pd.isna(first)


def test_json_lines_times_of_the_wrong_type_or_range_are_skipped():
    good = {"time": "2026-11-26T05:15:40+00:00", "request": "GET / HTTP/1.1", "status": 200}
    text = "".join(json.dumps({**good, "time": t}) + "\n" for t in ("9999-11-26T05:15:40+00:00", 5, [1])) + \
        json.dumps(good) + "\n"
    df = tk.read_access_log(text.encode(), format="access-json")
    assert len(df) == 1 and df.attrs["source"]["lines_skipped"] == 3
    assert df.attrs["source"]["skip_reasons"] == {"timestamp is outside the years 1678-2261": 1,
                                                  "timestamp is not a valid time": 2}
