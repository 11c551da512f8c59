"""A throwaway PostgreSQL server writes a fresh log in all three formats; the readers agree on it."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.postgres import postgres_server
from helpers.programs import require_program

import toolkit as tk

SETTINGS = {
    "log_min_duration_statement": "0",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_temp_files": "0",
    "shared_preload_libraries": "'auto_explain'",
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_format": "json",
}


@pytest.fixture(scope="module")
def fresh_log():
    require_program("initdb")
    require_program("pg_ctl")
    pytest.importorskip("psycopg")
    with postgres_server(SETTINGS) as pg:
        with pg.connect() as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g")
            for i in range(6):
                conn.execute("SELECT v FROM t WHERE id = %s", (i,))
            conn.execute("SELECT v\nFROM t\nWHERE v LIKE 'a%'\nORDER BY v")
            conn.execute("SET work_mem = '64kB'")
            conn.execute("SELECT * FROM t ORDER BY v DESC")
            with pytest.raises(Exception):  # noqa: B017 (any driver error)
                conn.execute("SELECT * FROM missing_table")
        pg.stop()  # the collector has written and closed every file
        logs = {suffix: pg.log(suffix).read_bytes() for suffix in ("log", "csv", "json")}
    return logs


def test_fresh_log_reads_the_same_in_three_formats(fresh_log):
    frames = {s: tk.read_queries(data) for s, data in fresh_log.items()}
    assert {s: f.attrs["source"]["format"] for s, f in frames.items()} == {
        "log": "postgres-stderr", "csv": "postgres-csvlog", "json": "postgres-jsonlog"}
    base = frames["log"]
    for other in (frames["csv"], frames["json"]):
        for col in ("kind", "statement", "parameters", "plan", "duration_ms", "timestamp"):
            assert other[col].tolist() == base[col].tolist(), col
    # the six parameterised lookups: parse/bind/execute each (psycopg prepares from the 6th)
    lookups = base[base.statement == "SELECT v FROM t WHERE id = $1"]
    assert (lookups.kind == "execute").sum() == 6
    assert lookups[lookups.kind == "execute"].parameters.tolist() == [f"$1 = '{i}'" for i in range(6)]
    assert lookups[lookups.kind == "execute"].plan.notna().all()
    assert base.statement.str.contains("\nFROM t\nWHERE v LIKE 'a%'", regex=False).sum() == 1
    assert (base.kind == "plan").sum() == 0
    for f in frames.values():
        s = f.attrs["source"]
        assert s["lines_skipped"] == 0
        assert s["lines_read"] == s["record_lines"] + s["lines_in_other_table"]["server_events"]


def test_fresh_log_server_events(fresh_log):
    events = {s: tk.read_server_events(data) for s, data in fresh_log.items()}
    for s in events.values():
        counts = s.event.value_counts()
        assert counts["connection_received"] == counts["disconnection"] == 1
        assert counts["temp_file"] >= 1
        err = s[s.event == "error"].iloc[0]
        assert (err.sqlstate, err.statement) == ("42P01", "SELECT * FROM missing_table")
    sizes = [s.loc[s.event == "temp_file", "size_bytes"].sum() for s in events.values()]
    assert len(set(sizes)) == 1 and sizes[0] > 0
    assert pd.api.types.is_datetime64_any_dtype(events["log"].timestamp)
