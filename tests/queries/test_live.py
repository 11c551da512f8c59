"""Live statistics on real servers: pg_stat_statements deltas against the log digest of the same
workload (also across a reset and with evictions), EXPLAIN, diff_plans on a real index change,
and MariaDB's performance_schema digests against its slow log."""

from __future__ import annotations

import pandas as pd
import pytest

import toolkit as tk
from toolkit.errors import InputError, ToolkitError

pytestmark = pytest.mark.server

PG_SETTINGS = {"shared_preload_libraries": "'pg_stat_statements'", "log_min_duration_statement": "0",
               "pg_stat_statements.track_planning": "on", "pg_stat_statements.max": "100"}
WORKLOAD = ("SELECT count(*) FROM t WHERE k = {i}", "SELECT sum(id) FROM t WHERE k < {i}")


@pytest.fixture(scope="module")
def pg():
    from helpers.postgres import postgres_server

    with postgres_server(PG_SETTINGS) as server:
        with server.connect() as c:
            c.execute("CREATE EXTENSION pg_stat_statements")
            c.execute("CREATE TABLE t AS SELECT g AS id, g % 100 AS k FROM generate_series(1, 200000) g")
            c.execute("ANALYZE t")
        yield server


def _run(conn, n: int) -> None:
    for i in range(n):
        for sql in WORKLOAD:
            conn.execute(sql.format(i=i))


def _log_digest(pg, pid: int, after=None) -> pd.DataFrame:
    events = tk.read_queries(pg.log())
    events = events[events["session"] == str(pid)]
    if after is not None:
        events = events[events["timestamp"] > after]
    return tk.digest(events).set_index("fingerprint")


def _agree(delta: pd.DataFrame, log: pd.DataFrame) -> None:
    for sql in WORKLOAD:
        fp = tk.fingerprint(sql.format(i=1))
        d = delta.set_index("fingerprint").loc[fp]
        assert d["calls"] == log.loc[fp, "calls"]
        assert d["total_ms"] == pytest.approx(log.loc[fp, "total_ms"], rel=0.05)
        assert d["mean_ms"] == pytest.approx(d["total_ms"] / d["calls"])


def test_delta_agrees_with_the_log_digest_of_the_same_workload(pg):
    # GIVEN a snapshot, a workload on one connection, and a second snapshot
    before = tk.pg_stat_statements(pg.dsn())
    with pg.connect() as conn:
        pid = conn.info.backend_pid
        _run(conn, 12)
    after = tk.pg_stat_statements(pg.dsn())
    # WHEN they are differenced
    delta = tk.stats_delta(before, after)
    # THEN calls equal the log's exactly and time is within 5 %, per fingerprint
    _agree(delta, _log_digest(pg, pid))
    rows = delta.set_index("fingerprint")["rows"]
    assert rows.loc[tk.fingerprint(WORKLOAD[0].format(i=1))] == 12  # one row per count(*)
    assert delta.attrs["delta"]["reset"] is None and delta.attrs["delta"]["warnings"] == []
    assert list(delta.columns[:10]) == tk.schema.columns("digest")
    assert (delta["shared_blks_hit"] + delta["shared_blks_read"] > 0).all()
    # our own snapshot queries are not in the snapshots
    assert not after["example"].str.contains("perf-toolkit", regex=False).any()


def test_across_a_reset_the_delta_counts_since_the_reset_and_says_so(pg):
    before = tk.pg_stat_statements(pg.dsn())
    with pg.connect() as conn:
        pid = conn.info.backend_pid
        _run(conn, 5)                                     # lost: before the reset
        conn.execute("SELECT pg_stat_statements_reset()")
        _run(conn, 7)
    after = tk.pg_stat_statements(pg.dsn())
    delta = tk.stats_delta(before, after)
    report = delta.attrs["delta"]
    assert report["reset"] == after.attrs["stats_reset"] > before.attrs["stats_reset"]
    assert "reset" in report["warnings"][0]
    assert set(delta["status"]) == {"since reset"}
    # the log digest of what ran after the reset agrees
    _agree(delta, _log_digest(pg, pid, after=report["reset"]))
    assert delta.set_index("fingerprint").loc[tk.fingerprint(WORKLOAD[0].format(i=1)), "calls"] == 7


def test_evicted_entries_are_reported_not_mixed_in(pg):
    before = tk.pg_stat_statements(pg.dsn())
    with pg.connect() as conn:
        for n in range(1, 151):  # 150 distinct statements (1 to 150 columns) into 100 entries
            conn.execute("SELECT " + ", ".join(["1"] * n))
    after = tk.pg_stat_statements(pg.dsn())
    delta = tk.stats_delta(before, after, by=None)
    report = delta.attrs["delta"]
    assert after.attrs["dealloc"] > before.attrs["dealloc"]
    assert report["evicted"] == after.attrs["dealloc"] - before.attrs["dealloc"]
    assert report["gone"] > 0 and any("evicted" in w for w in report["warnings"])
    assert len(after) <= 100 and set(delta["status"]) <= {"new", "delta", "restarted"}


def test_explain_reads_the_live_plan_and_analyze_changes_nothing(pg):
    nodes = tk.explain(pg.dsn(), "SELECT count(*) FROM t WHERE k = %s", [3], analyze=True)
    assert nodes["node_type"].tolist()[:1] == ["Aggregate"]
    scan = nodes[nodes["relation"] == "t"].iloc[0]
    assert scan["node_type"] in ("Seq Scan", "Parallel Seq Scan")
    assert scan["rows_total"] == 2000 and scan["rows_removed_by_filter"] == 198000
    assert nodes.attrs["query_text"] == "SELECT count(*) FROM t WHERE k = 3"
    assert nodes.attrs["execution_ms"] > 0
    tk.schema.validate(nodes, "plan_nodes")
    # ANALYZE of an UPDATE runs in a transaction that is rolled back
    upd = tk.explain(pg.dsn(), "UPDATE t SET k = -1 WHERE id <= %s", [10], analyze=True)
    assert upd.loc[0, "node_type"] == "Update"
    with pg.connect() as c:
        assert c.execute("SELECT count(*) FROM t WHERE k = -1").fetchone()[0] == 0


def test_diff_plans_names_the_scan_that_an_index_changed(pg):
    sql = "SELECT id FROM t WHERE k = %s AND id < %s"
    before = tk.explain(pg.dsn(), sql, [7, 50000], analyze=True)
    with pg.connect() as c:
        c.execute("CREATE INDEX t_k_idx ON t (k)")
        c.execute("ANALYZE t")
    try:
        after = tk.explain(pg.dsn(), sql, [7, 50000], analyze=True)
    finally:
        with pg.connect() as c:
            c.execute("DROP INDEX t_k_idx")
    diff = tk.diff_plans(before, after)
    scan = diff.set_index("node").loc["scan of t"]
    assert scan["status"] == "both" and scan["method_changed"]
    assert scan["node_type_before"] in ("Seq Scan", "Parallel Seq Scan")
    assert scan["node_type_after"] in ("Bitmap Heap Scan", "Index Scan")
    assert scan["actual_rows_before"] == scan["actual_rows_after"] == 500
    assert scan["delta_ms"] < 0
    assert "t_k_idx" in " ".join(diff["change"])


def test_snapshots_refuse_a_server_without_the_extension_and_bad_input(pg):
    with pg.connect() as c:
        c.execute("CREATE DATABASE plain")
    with pytest.raises(ToolkitError, match="CREATE EXTENSION pg_stat_statements"):
        tk.pg_stat_statements(pg.dsn("plain"))
    with pytest.raises(InputError, match="two snapshots of the same kind"):
        tk.stats_delta(pd.DataFrame(), pd.DataFrame())
    with pytest.raises(InputError, match="cannot connect to PostgreSQL .*password=\\*\\*\\*"):
        tk.pg_stat_statements("host=127.0.0.1 port=1 dbname=x user=x password=secret connect_timeout=2")


def test_mariadb_performance_schema_digest_delta_agrees_with_its_slow_log(tmp_path):
    from helpers.mariadb import mariadb_server

    with mariadb_server(tmp_path, ("--performance-schema=ON",)) as server:
        conn = server.connect(autocommit=True)
        cur = conn.cursor()
        cur.execute("CREATE DATABASE shop")
        cur.execute("USE shop")
        # statements of ~80 ms: performance_schema's timer also covers about 1.5 ms per statement
        # that the slow log's Query_time leaves out (parsing, sending, writing the log)
        cur.execute("CREATE TABLE shop.t (id INT PRIMARY KEY, k INT) SELECT seq AS id, seq % 100 AS k "
                    "FROM seq_1_to_400000")
        before = tk.performance_schema_digests(conn)
        mark = pd.Timestamp.now(tz="UTC")
        for i in range(10):
            cur.execute(f"SELECT count(*) FROM shop.t WHERE k = {i}")
            cur.fetchall()
        after = tk.performance_schema_digests(f"mysql://root@127.0.0.1:{server.port}/")
        conn.close()
        delta = tk.stats_delta(before, after)
        events = tk.read_queries(server.slow_log)
        events = events[(events["timestamp"] >= mark.floor("s"))]
    fp = tk.fingerprint("SELECT count(*) FROM shop.t WHERE k = 1")
    row = delta.set_index("fingerprint").loc[fp]
    log = tk.digest(events).set_index("fingerprint").loc[fp]
    assert row["calls"] == log["calls"] == 10
    assert row["rows_examined"] == 10 * 400000 and row["rows"] == 10
    assert row["total_ms"] == pytest.approx(log["total_ms"], rel=0.05)
    assert delta.attrs["delta"]["evicted"] == 0 and row["status"] == "new"
