"""Bad values in query logs and plans, one class of issue 11 (section 4) per test: what each
reader does with a value no table can hold. The rule (toolkit.schema): a record whose time stamp
or measure is bad is skipped and counted with the reason; an optional detail becomes null; a
value is never wrapped (year 9999 used to come back as 1816) and nothing but a ToolkitError
escapes. The direct digests and the two-worker paths agree with the one-process readers.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import FIXTURES, SAMPLES

import toolkit as tk
from toolkit.queries.detectors import missing_index
from toolkit.queries.digest import digest_file

PG = "2026-11-26 05:09:2{s}.105 UTC [12163] app@shop LOG:  duration: {d} ms  statement: SELECT {n}\n"


def pg_line(s: int = 1, d: str = "1.500", n: int = 1, year: str = "2026") -> str:
    return PG.format(s=s, d=d, n=n).replace("2026", year, 1)


def reasons(df: pd.DataFrame) -> dict:
    return df.attrs["source"]["skip_reasons"]


def test_postgres_year_9999_is_skipped_with_its_reason_and_year_1700_is_kept():
    # GIVEN a stderr log with one statement of year 9999 (int64 nanoseconds wrapped it to 1816),
    # one of year 1700 and one of 2026
    log = (pg_line(1, n=1, year="9999") + pg_line(2, n=2, year="1700") + pg_line(3, n=3)).encode()
    # WHEN read
    events = tk.read_queries(log, format="postgres-stderr")
    # THEN year 9999 is skipped with the reason, 1700 and 2026 are kept as logged
    assert events["statement"].tolist() == ["SELECT 2", "SELECT 3"]
    assert events["timestamp"].dt.year.tolist() == [1700, 2026]
    assert reasons(events) == {"timestamp is outside the years 1678-2261": 1}
    assert events.attrs["source"]["skipped"][0]["line"] == 1


@pytest.mark.parametrize("fmt", ["postgres-csvlog", "postgres-jsonlog"])
def test_csvlog_and_jsonlog_skip_a_record_of_year_9999(fmt):
    rows = [("9999-11-26 05:09:21.105 UTC", "duration: 1.000 ms  statement: SELECT 1"),
            ("2026-11-26 05:09:22.105 UTC", "duration: 2.000 ms  statement: SELECT 2")]
    if fmt == "postgres-csvlog":
        text = "".join(f'{ts},"app","shop",12163,"[local]",6b07bf01.2f83,1,"SELECT",{ts},3/0,0,LOG,00000,'
                       f'"{msg}",,,,,,,,,"psql","client backend",,0\n' for ts, msg in rows)
    else:
        text = "".join(json.dumps({"timestamp": ts, "user": "app", "dbname": "shop", "pid": 12163,
                                   "error_severity": "LOG", "message": msg}) + "\n" for ts, msg in rows)
    events = tk.read_queries(text.encode(), format=fmt)
    assert events["duration_ms"].tolist() == [2.0]
    assert reasons(events) == {"timestamp is outside the years 1678-2261": 1}


def test_postgres_epochs_beyond_datetime64_are_skipped_and_good_ones_exact():
    # GIVEN log_line_prefix = '%n [%p] ' (epoch seconds with milliseconds)
    log = (b"99999999999.123 [1] LOG:  duration: 1.000 ms  statement: SELECT 1\n"
           b"1795669761.105 [1] LOG:  duration: 2.000 ms  statement: SELECT 2\n")
    events = tk.read_queries(log, format="postgres-stderr", log_line_prefix="%n [%p] ")
    assert events["timestamp"].tolist() == [pd.Timestamp("2026-11-26 05:09:21.105", tz="UTC")]
    assert reasons(events) == {"timestamp is outside the years 1678-2261": 1}


@pytest.mark.parametrize("duration", ["\u0661\u0662.5", "\uff11\uff12", "1" * 400])
def test_postgres_durations_in_other_digits_or_beyond_a_float_are_skipped_the_same_by_every_way(tmp_path, duration):
    # GIVEN a statement whose duration the pattern's digits take but no float holds as a number
    path = tmp_path / "postgresql.log"
    path.write_text(pg_line(1, n=1) + pg_line(2, d=duration, n=2) + pg_line(3, d="3.000", n=3))
    events = tk.read_queries(path, workers=1)
    # THEN it is skipped with the reason, by the reader, two workers and the direct digests
    assert events["duration_ms"].tolist() == [1.5, 3.0]
    assert list(reasons(events)) == ["duration is not a number" if "1" * 400 != duration
                                     else "duration is not a finite number"]
    assert tk.read_queries(path, workers=2, chunk_bytes=64).equals(events)
    for workers in (1, 2):
        digest = digest_file(path, workers=workers)
        assert digest["calls"].sum() == 2 and digest.attrs["source"]["skip_reasons"] == reasons(events)


def test_postgres_server_event_figures_beyond_int64_or_float_are_null_and_the_event_kept():
    log = ("2026-11-26 05:09:21.105 UTC [1] app@shop LOG:  temporary file: path \"base/pgsql_tmp/a\", "
           "size 18446744073709551616\n"
           "2026-11-26 05:09:22.105 UTC [1] app@shop LOG:  temporary file: path \"base/pgsql_tmp/b\", size 4096\n"
           f"2026-11-26 05:09:23.105 UTC [1] app@shop LOG:  disconnection: session time: {'9' * 400}:00:01.000 "
           "user=app database=shop host=[local]\n").encode()
    events = tk.read_server_events(log, format="postgres-stderr")
    assert events["event"].tolist() == ["temp_file", "temp_file", "disconnection"]
    assert events["size_bytes"].tolist()[1] == 4096 and events["size_bytes"].isna().tolist() == [True, False, True]
    assert events["duration_ms"].isna().all()
    assert events.attrs["source"]["lines_skipped"] == 0


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("message", 12, "message is a number, not a string"),
    ("user", ["app"], "user is a list, not a string"),
    ("timestamp", {"t": 1}, "timestamp is an object, not a string"),
    ("pid", "12163x", "pid is not a whole number"),
    ("pid", 1.5, "pid is not a whole number"),
    ("query_id", 2 ** 64, "query_id is out of range"),
])
def test_jsonlog_records_with_keys_of_the_wrong_json_type_are_skipped(key, value, reason):
    good = {"timestamp": "2026-11-26 05:09:21.105 UTC", "user": "app", "dbname": "shop", "pid": 12163,
            "error_severity": "LOG", "message": "duration: 1.000 ms  statement: SELECT 1", "query_id": 7}
    log = (json.dumps({**good, key: value}) + "\n" + json.dumps(good) + "\n").encode()
    events = tk.read_queries(log, format="postgres-jsonlog")
    assert len(events) == 1 and events["source_line"].tolist() == [2]
    assert reasons(events) == {reason: 1}


MYSQL = """# Time: 2024-03-01T10:00:0{n}.000001Z
# User@Host: app[app] @ localhost []  Id:     8
# Query_time: {qt}  Lock_time: {lt}  Rows_sent: {rs}  Rows_examined: {rx}
# Rows_affected: 0  Bytes_sent: {bs}
SET timestamp=1709287200;
SELECT {n};
"""


def mysql_record(n: int, qt="0.250000", lt="0.000010", rs="1", rx="1000", bs="186") -> str:
    return MYSQL.format(n=n, qt=qt, lt=lt, rs=rs, rx=rx, bs=bs)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("qt", "0x1F", "Query_time is not a number"),
    ("qt", "\u0661.5", "Query_time is not a number"),
    ("qt", "1e309", "Query_time is not a finite number"),
    ("lt", "NaN", "Lock_time is not a finite number"),
    ("lt", "1\x002", "Lock_time is not a number"),
    ("rs", "\u0661\u0662", "Rows_sent is not a whole number"),
    ("rs", "0x10", "Rows_sent is not a whole number"),
    ("rx", "9223372036854775808", "Rows_examined is out of range"),
    ("rx", "-1", "Rows_examined is out of range"),
])
def test_mysql_header_values_that_are_no_number_skip_their_record_the_same_by_every_way(tmp_path, field, value,
                                                                                       reason):
    # GIVEN a slow log whose second record has a figure that is no number of its kind (hex,
    # other digits, NUL, not finite, beyond int64, negative)
    path = tmp_path / "x-slow.log"
    path.write_text(mysql_record(1) + mysql_record(2, **{field: value}) + mysql_record(3), encoding="utf-8")
    events = tk.read_queries(path)
    # THEN the reader skips that record with the reason (its 6 lines), and so do the direct
    # digest in one process and in two byte ranges
    assert events["statement"].tolist() == ["SELECT 1", "SELECT 3"]
    assert events["rows_examined"].tolist() == [1000, 1000] and str(events["rows_examined"].dtype) == "Int64"
    assert events.attrs["source"]["skip_reasons"] == {reason: 6}
    for workers in (1, 2):
        digest = digest_file(path, workers=workers)
        assert digest["calls"].sum() == 2 and digest.attrs["source"]["skip_reasons"] == {reason: 6}
        assert digest["rows_examined"].tolist() == [2000]


def test_mysql_extra_headers_that_are_no_number_keep_their_text_and_the_record():
    log = mysql_record(1, bs="0x1F") + mysql_record(2, bs="99999999999999999999") + mysql_record(3)
    events = tk.read_queries(log.encode(), format="mysql-slow")
    assert len(events) == 3 and events["bytes_sent"].tolist() == ["0x1F", "99999999999999999999", "186"]
    assert tk.read_queries(mysql_record(1, bs="7").encode(), format="mysql-slow")["bytes_sent"].tolist() == [7]


@pytest.mark.parametrize(("time_line", "set_ts"), [
    ("# Time: 9999-03-01T10:00:00.000001Z", "1709287200"),   # an ISO '# Time:' wins: year 9999
    ("# Time: 261126  5:09:02", "99999999999999"),           # SET timestamp beyond datetime64[ns]
    ("# Time: \u0662\u0660\u0662\u0664-03-01T10:00:00Z", "1709287200"),
])
def test_mysql_timestamps_beyond_datetime64_are_skipped_never_wrapped(tmp_path, time_line, set_ts):
    record = mysql_record(2).replace("# Time: 2024-03-01T10:00:02.000001Z", time_line).replace(
        "SET timestamp=1709287200", f"SET timestamp={set_ts}")
    path = tmp_path / "x-slow.log"
    path.write_text(mysql_record(1) + record + mysql_record(3), encoding="utf-8")
    events = tk.read_queries(path)
    assert events["statement"].tolist() == ["SELECT 1", "SELECT 3"]
    assert events["timestamp"].dt.year.tolist() == [2024, 2024]
    assert sum(events.attrs["source"]["skip_reasons"].values()) == 6
    for workers in (1, 2):
        digest = digest_file(path, workers=workers)
        assert digest["calls"].tolist() == [2] and digest["first_seen"].dt.year.tolist() == [2024]


def test_an_old_form_time_that_is_no_time_keeps_its_records_without_a_time_by_every_way():
    # GIVEN percona-toolkit's slow022: every record under '# Time: margdl 11:48:27'
    path = FIXTURES / "third_party/percona-toolkit/slow022.txt"
    # WHEN it is read and digested THEN its 6 records are kept without a time, as pt-query-digest
    # counts them (6 queries, 72 us), by the reader and by the streaming digest alike
    events = tk.read_queries(path)
    assert len(events) == 6 and events["timestamp"].isna().all()
    assert events.attrs["source"]["lines_skipped"] == 0
    assert events["duration_ms"].sum() == pytest.approx(0.072)
    for workers in (1, 2):
        digest = digest_file(path, workers=workers)
        assert int(digest["calls"].sum()) == 6 and digest["total_ms"].sum() == pytest.approx(0.072)


def test_mysql_control_characters_in_headers_read_the_same_by_every_way(tmp_path):
    # GIVEN control characters (vertical tab, file separator, NEL, NUL) in the User@Host,
    # Thread_id/Schema and statement lines: characters str.split would take for white space
    text = (mysql_record(1) + mysql_record(2).replace("app[app]", "a\x0bpp[a\x1cpp]").replace(
        "# Rows_affected", "# Thread_id: 4\x85  Schema: s\x00hop\n# Rows_affected") + mysql_record(3)).replace(
        "SELECT 3", "SELECT\x0c3")
    path = tmp_path / "x-slow.log"
    path.write_text(text * 3, encoding="utf-8")
    events = tk.read_queries(path)
    assert len(events) == 9 and events.attrs["source"]["lines_skipped"] == 0
    reference = tk.digest(events)
    for workers in (1, 2, 3):
        got = digest_file(path, workers=workers)
        pd.testing.assert_frame_equal(got, reference, check_dtype=False)
        assert got.attrs["source"]["lines_read"] == events.attrs["source"]["lines_read"]


def test_a_plan_cut_before_its_filter_line_is_read_and_the_detector_does_not_fail():
    # GIVEN a text plan with 'Rows Removed by Filter' but no 'Filter:' line (a truncated log)
    plan = (FIXTURES / "queries/plans/rows_removed_without_filter.txt").read_text()
    nodes = tk.read_plan(plan)
    assert nodes.loc[0, "rows_removed_by_filter"] == 99950 and pd.isna(nodes.loc[0, "filter"])
    events = pd.DataFrame({"statement": ["SELECT * FROM orders WHERE customer_id = 42"], "plan": [plan],
                           "duration_ms": [8.0], "source_line": [1], "session": ["1"], "kind": ["statement"],
                           "timestamp": [pd.Timestamp("2026-11-26", tz="UTC")]})
    # WHEN the missing-index detector reads it THEN no finding (no filter names its columns), no error
    assert missing_index(events).empty


@pytest.mark.parametrize(("plan", "column", "expected"), [
    ({"Node Type": "Seq Scan", "Actual Loops": 1e400}, "actual_loops", None),
    ({"Node Type": "Seq Scan", "Actual Loops": 2 ** 63}, "actual_loops", None),
    ({"Node Type": "Seq Scan", "Plan Rows": "many"}, "plan_rows", None),
    ({"Node Type": "Seq Scan", "Total Cost": float("nan")}, "total_cost", None),
    ({"Node Type": "Seq Scan", "Rows Removed by Filter": 9223372036854775807}, "rows_removed_by_filter",
     9223372036854775807),
    ({"Node Type": "Sort", "Sort Key": 5}, "sort_key", None),
    ({"Node Type": "Seq Scan", "Relation Name": ["orders"]}, "relation", None),
])
def test_json_plan_values_of_the_wrong_type_or_range_are_null_or_exact(plan, column, expected):
    nodes = tk.read_plan(json.dumps([{"Plan": plan}]))
    value = nodes.loc[0, column]
    assert (pd.isna(value) if expected is None else value == expected)


@pytest.mark.parametrize("plan", [
    [{"Plan": {"Node Type": 5}}], [{"Plan": {"Node Type": "Seq Scan", "Plans": 3}}],
    [{"Plan": {"Node Type": "Hash Join", "Plans": [{"Plan Rows": 1}]}}],
])
def test_json_plans_whose_nodes_are_not_nodes_are_a_parse_error(plan):
    with pytest.raises(tk.ParseError, match="Node Type"):
        tk.read_plan(json.dumps(plan))


def test_text_plan_figures_that_are_no_numbers_are_null():
    plan = ("Seq Scan on t  (cost=0.00..1.2.3 rows=5 width=4) (actual time=0.1..0.2 rows=5 "
            "loops=99999999999999999999)\n  Rows Removed by Filter: 1e400\n")
    nodes = tk.read_plan(plan)
    assert pd.isna(nodes.loc[0, "total_cost"]) and pd.isna(nodes.loc[0, "actual_loops"])
    assert pd.isna(nodes.loc[0, "rows_removed_by_filter"]) and nodes.loc[0, "plan_rows"] == 5


@pytest.mark.parametrize(("name", "fmt"), [("empty.log", "postgres-stderr"), ("empty-slow.log", "mysql-slow")])
def test_an_empty_file_with_two_workers_gives_the_empty_result_of_one(tmp_path, name, fmt):
    path = tmp_path / name
    path.write_bytes(b"")
    one, two = (digest_file(path, format=fmt, workers=w) for w in (1, 2))
    assert one.empty and two.empty
    assert one.attrs["source"] == two.attrs["source"]
    assert one.attrs["source"]["lines_read"] == 0
    options = {"workers": 2} if fmt == "postgres-stderr" else {}
    assert tk.read_queries(path, format=fmt, **options).empty


def test_a_damaged_pstats_file_is_a_parse_error_not_a_crash_of_the_interpreter(tmp_path):
    # GIVEN a cProfile file with one "line" (bytes up to a newline byte) cut out: CPython's
    # marshal.loads crashes the interpreter on it (a segmentation fault)
    data = (SAMPLES / "profiles/cprofile/demo_fixed.prof").read_bytes().split(b"\n")
    damaged = tmp_path / "damaged.prof"
    damaged.write_bytes(b"\n".join(data[:1] + data[2:]))
    # WHEN read in a process of its own THEN it ends normally with a ParseError
    code = ("import toolkit as tk, sys\n"
            "try:\n    tk.read_profile(sys.argv[1])\nexcept tk.ParseError as e:\n    print('ParseError', e)\n")
    run = subprocess.run([sys.executable, "-c", code, str(damaged)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ParseError") and "not a pstats file" in run.stdout
