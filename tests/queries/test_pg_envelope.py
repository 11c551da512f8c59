"""PostgreSQL logs in an envelope (toolkit.queries.pg_envelope): syslog, Heroku logplex, Google
Cloud SQL, CloudNativePG and RDS's one-space severity, unwrapped line for line.

The real files are pgBadger's test logs (tests/fixtures/third_party/pgbadger, whose totals the
corpus test holds to pgBadger's); here: line numbers, accounting, the options, the pieces of a
syslog message, and that a plain log is in no envelope."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import FIXTURES

import toolkit as tk
from toolkit import formats
from toolkit.queries import pg_envelope
from toolkit.queries.digest import digest_file
from toolkit.sources import open_source

PGBADGER = FIXTURES / "third_party" / "pgbadger"
HERE = FIXTURES / "third_party" / "produced-here"  # PostgreSQL 15 through Debian's rsyslog 8 (its make.py)
SPLIT = FIXTURES / "queries" / "postgres" / "syslog_split_pieces.log"


def _accounted(df: pd.DataFrame) -> int:
    src = df.attrs["source"]
    return src["record_lines"] + sum(src["lines_in_other_table"].values()) + src["lines_skipped"]


@pytest.mark.parametrize(("name", "envelope", "fmt"), [
    ("pg-syslog.1", "syslog", "postgres-stderr"), ("logplex", "logplex", "postgres-stderr"),
    ("cloudsql.log", "cloudsql", "postgres-stderr"), ("cnpg.log", "cnpg", "postgres-jsonlog"),
    ("pg-timezones.log", "rds-one-space", "postgres-stderr"),
    ("../produced-here/pg15-rsyslog8.log", "syslog", "postgres-stderr"),
    ("../produced-here/pg15-rsyslog8-rfc3339.log", "syslog2", "postgres-stderr"),
])
def test_each_envelope_is_recognised_and_every_line_accounted_for(name, envelope, fmt):
    # GIVEN a real log in an envelope WHEN it is detected and read
    path = PGBADGER / name
    lines = open_source(path).head_lines().split("\n")[:-1]
    queries = tk.read_queries(path)
    # THEN its envelope and format are found, and each line is a record line or a counted skip
    assert pg_envelope.recognise(lines).name == envelope
    assert formats.detect(path).name == fmt
    assert _accounted(queries) == queries.attrs["source"]["lines_read"] == path.read_bytes().count(b"\n")


def test_a_plain_stderr_log_is_in_no_envelope():
    lines = open_source(PGBADGER / "light.postgres.log").head_lines().split("\n")[:-1]
    assert pg_envelope.recognise(lines) is None


def test_source_lines_are_the_lines_of_the_file():
    # GIVEN Heroku's logplex log WHEN read
    path = PGBADGER / "logplex"
    queries = tk.read_queries(path)
    text = path.read_text().split("\n")
    # THEN each statement's source_line is the file's line that logged its duration
    assert queries["source_line"].tolist() == [22, 29, 30, 31]
    for line, ms in zip(queries["source_line"], queries["duration_ms"], strict=True):
        assert f"duration: {ms:.3f} ms" in text[line - 1]
    # and the multi-line execute of the second logplex form is one statement of six lines
    assert queries["duration_ms"].tolist() == [6679.293, 6537.975, 8544.278, 85756.273]
    assert "select COUNT(id) from missions" in queries["statement"].iloc[3]


def test_syslog_pieces_are_joined_and_other_programs_lines_skipped():
    # GIVEN a syslog log: continuation pieces (#011), a line cut at syslog's limit, a cron line
    queries = tk.read_queries(SPLIT)
    events = tk.read_server_events(SPLIT)
    src = queries.attrs["source"]
    # THEN two statements with their whole text, the ERROR with its STATEMENT, the cron line skipped
    assert queries["duration_ms"].tolist() == [12.5, 30.0]
    assert queries["statement"].iloc[0] == "SELECT id, name\nFROM orders\nWHERE id = 7"
    assert tk.fingerprint(queries["statement"].iloc[1]) == tk.fingerprint(
        "SELECT * FROM items WHERE note IN (aaaa, bbbb, cccc, dddd)")
    assert queries["source_line"].tolist() == [1, 5]
    assert queries["session"].tolist() == ["4242", "4242"]
    assert (queries["user"].tolist(), queries["database"].tolist()) == (["app", "app"], ["shop", "shop"])
    assert events["event"].tolist() == ["error"] and events["statement"].iloc[0] == "SELECT * FROM nope"
    assert src["lines_skipped"] == 1 and src["skipped"][0]["line"] == 4
    assert _accounted(queries) == src["lines_read"] == 8


def test_syslog_times_are_utc_unless_log_timezone_names_the_servers_zone():
    utc = tk.read_queries(SPLIT)["timestamp"].iloc[0]
    paris = tk.read_queries(SPLIT, log_timezone="Europe/Paris")["timestamp"].iloc[0]
    assert (utc.month, utc.day, utc.hour, utc.minute) == (3, 3, 9, 0)
    assert utc - paris == pd.Timedelta(hours=1)  # 09:00 in Paris in March (CET) is 08:00 UTC


def test_the_servers_own_prefix_is_taken_inside_the_envelope():
    # GIVEN the log_line_prefix the server was configured with (syslog adds time and pid itself)
    given = tk.read_queries(PGBADGER / "pg-syslog.1", log_line_prefix="db=%d,user=%u,app=%a,client=%h ")
    found = tk.read_queries(PGBADGER / "pg-syslog.1")
    # THEN the same table as with the prefix detected (552 statements, 288.524 ms: pgBadger's)
    assert len(given) == len(found) == 552
    assert round(given["duration_ms"].sum(), 3) == round(found["duration_ms"].sum(), 3) == 288.524


def test_the_digest_unwraps_too_in_one_process_or_two():
    one = digest_file(PGBADGER / "logplex", workers=1)
    two = digest_file(PGBADGER / "logplex", workers=2)
    assert one["calls"].sum() == two["calls"].sum() == 4
    assert round(one["total_ms"].sum(), 3) == round(two["total_ms"].sum(), 3) == 107517.819


def test_cloudnativepg_records_become_jsonlog_records():
    queries = tk.read_queries(PGBADGER / "cnpg.log")
    src = queries.attrs["source"]
    # 36 '"message":"duration: ...' records; the one operator message ('wal-archive') skipped
    assert len(queries) == 36 and round(queries["duration_ms"].sum(), 3) == 47.998
    assert src["skip_reasons"] == {"not a jsonlog record (a JSON object with error_severity)": 1}
    assert set(queries["client"].dropna()) <= {"[local]", "127.0.0.1"}  # host:port -> host


def test_rds_one_space_lines_read_as_two():
    queries = tk.read_queries(PGBADGER / "pg-timezones.log")
    assert queries["duration_ms"].tolist() == [0.054, 0.060]
    assert queries["statement"].tolist() == ["SELECT * FROM t1;", "UPDATE t1 SET c1=1;"]
    assert queries["client"].tolist() == ["10.1.91.65", "10.1.17.194"]


def test_rsyslogs_two_file_formats_read_alike():
    # GIVEN one PostgreSQL run logged by rsyslog in its traditional and RFC 3339 file formats
    bsd, iso = (tk.read_queries(HERE / name) for name in ("pg15-rsyslog8.log", "pg15-rsyslog8-rfc3339.log"))
    # THEN the same statements, durations and sessions; the multi-line statement whole, and the
    # one PostgreSQL cut into 900-byte pieces whole (its 400 IN values)
    cols = ["duration_ms", "statement", "session", "user", "database", "client", "source_line"]
    pd.testing.assert_frame_equal(bsd[cols], iso[cols])
    assert "SELECT id,\n       name\nFROM items\nWHERE id IN (1, 2, 3)\nORDER BY id" in set(bsd["statement"])
    long_in = bsd[bsd["statement"].str.contains("IN \\(0, 1, 2", regex=True)]["statement"].iloc[0]
    assert [int(x) for x in long_in.split("IN (", 1)[1].rstrip(")").split(",")] == list(range(400))
