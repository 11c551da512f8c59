"""Plans as data: EXPLAIN JSON and text, auto_explain, plans attached to query events.

The fixtures in tests/fixtures/queries/plans/ were printed by a real PostgreSQL 15
(make_plans.sh beside them); the expected numbers below are the ones EXPLAIN printed there.
"""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
from conftest import FIXTURES, SAMPLES
from helpers.programs import require_program

import toolkit as tk
from toolkit import schema
from toolkit.errors import InputError, ParseError
from toolkit.queries.plans import plan_nodes, read_plan

PLANS = FIXTURES / "queries" / "plans"
NAMES = ["seqscan_filter", "nested_loop", "sort_spill", "misestimate", "hash_agg",
         "subplan_never_executed"]
SAME = ["node_id", "parent_id", "depth", "node_type", "relation", "index", "alias", "plan_rows",
        "actual_rows", "actual_loops", "rows_removed_by_filter", "filter", "index_cond",
        "join_cond", "sort_key", "sort_method", "sort_space_kb", "sort_space_type", "subplan_name",
        "never_executed", "misestimated"]


def _json_nodes(name):
    """Every plan node of the JSON file, walked independently of the reader, depth first."""
    out, stack = [], [json.loads((PLANS / f"{name}.json").read_text())[0]["Plan"]]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.get("Plans", [])))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_json_and_text_explain_of_one_query_give_the_same_nodes(name):
    # GIVEN the same query explained as JSON and as text WHEN read THEN the nodes agree
    # (times differ between the two runs; rows, loops and filters do not)
    from_json = read_plan(PLANS / f"{name}.json")
    from_text = read_plan(PLANS / f"{name}.txt")
    schema.validate(from_json, "plan_nodes")
    schema.validate(from_text, "plan_nodes")
    pd.testing.assert_frame_equal(from_json[SAME], from_text[SAME], check_dtype=False)
    assert from_json.attrs["execution_ms"] > 0 and from_text.attrs["planning_ms"] > 0


@pytest.mark.parametrize("name", NAMES)
def test_values_equal_what_explain_printed(name):
    nodes = read_plan(PLANS / f"{name}.json")
    raw = _json_nodes(name)
    assert len(nodes) == len(raw)
    assert nodes["actual_loops"].tolist() == [n["Actual Loops"] for n in raw]
    assert nodes["plan_rows"].tolist() == [n["Plan Rows"] for n in raw]
    removed = [n.get("Rows Removed by Filter") for n in raw]
    assert [None if pd.isna(v) else v for v in nodes["rows_removed_by_filter"]] == removed
    # actual_total_ms = per-loop time x loops
    expected = [n["Actual Total Time"] * n["Actual Loops"] for n in raw]
    assert nodes["actual_total_ms"].tolist() == pytest.approx(expected)


def test_seq_scan_with_filter():
    nodes = read_plan(PLANS / "seqscan_filter.txt")
    row = nodes.iloc[0]
    assert len(nodes) == 1
    assert (row.node_type, row.relation, row.alias) == ("Seq Scan", "orders", "orders")
    assert row["filter"] == "(customer_id = 42)"
    assert row.rows_removed_by_filter == 99950 and row.actual_rows == 50
    assert row.shared_hit_blocks == 736


def test_nested_loop_inner_side_runs_once_per_outer_row():
    nodes = read_plan(PLANS / "nested_loop.txt")
    assert nodes["node_type"].tolist() == ["Nested Loop", "Index Scan", "Index Scan"]
    assert nodes["parent_id"].tolist()[1:] == [0, 0]
    inner = nodes.iloc[2]
    assert (inner["index"], inner.relation, inner.alias) == ("orders_pkey", "orders", "o")
    assert inner.actual_loops == 49 and inner.index_cond == "(id = (c.id * 10))"
    assert inner.actual_total_ms == pytest.approx(inner.actual_time_ms * 49)
    assert inner.rows_total == 49
    assert nodes.iloc[1].rows_removed_by_filter == 150


def test_sort_spilling_to_disk():
    row = read_plan(PLANS / "sort_spill.txt").iloc[0]
    assert (row.sort_method, row.sort_space_kb, row.sort_space_type) == ("external merge", 2080, "Disk")
    assert row.sort_key == "total DESC, id"
    assert (row.temp_read_blocks, row.temp_written_blocks) == (768, 898)


def test_row_misestimate_flagged_at_ten_times_either_way():
    nodes = read_plan(PLANS / "misestimate.json")
    scan = nodes.iloc[1]
    # estimated 10 rows (a = 1 and b = 1 assumed independent), got 1000
    assert (scan.plan_rows, scan.actual_rows, scan.misestimate) == (10, 1000, 100.0)
    assert nodes["misestimated"].tolist() == [False, True]
    assert read_plan(PLANS / "misestimate.json", misestimate=101)["misestimated"].sum() == 0


def test_self_time_adds_up_to_the_root_total():
    nodes = read_plan(PLANS / "hash_agg.json")
    assert nodes["depth"].tolist() == [0, 1, 2, 2, 3]
    assert nodes["node_type"].tolist() == ["HashAggregate", "Hash Join", "Seq Scan", "Hash", "Seq Scan"]
    assert nodes["self_ms"].sum() == pytest.approx(nodes.loc[0, "actual_total_ms"])
    assert nodes.loc[1, "join_cond"] == "(o.customer_id = c.id)"


def test_subplan_that_never_ran():
    nodes = read_plan(PLANS / "subplan_never_executed.txt")
    assert nodes["subplan_name"].tolist()[1] == "SubPlan 1"
    assert nodes["parent_relationship"].tolist()[1] == "SubPlan"
    assert nodes["never_executed"].tolist() == [False, True, True]
    assert nodes["parent_id"].tolist() == [pd.NA, 0, 1]
    assert nodes["actual_total_ms"].tolist()[1:] == [0.0, 0.0]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_auto_explain_log_record(fmt):
    # GIVEN a whole auto_explain record as logged (header line, TAB-indented plan)
    nodes = read_plan((PLANS / f"auto_explain_{fmt}.log").read_text())
    assert nodes.attrs["query_text"] == "SELECT * FROM orders WHERE customer_id = 42"
    assert nodes.loc[0, ["node_type", "relation", "rows_removed_by_filter"]].tolist() == \
        ["Seq Scan", "orders", 99950]


def test_psql_aligned_output_pasted_by_a_user():
    text = (PLANS / "nested_loop.txt").read_text().splitlines()
    pasted = "                  QUERY PLAN\n" + "-" * 40 + "\n" + \
        "\n".join(" " + x for x in text) + f"\n({len(text)} rows)\n"
    pd.testing.assert_frame_equal(read_plan(pasted)[SAME], read_plan(PLANS / "nested_loop.txt")[SAME])


def test_plan_nodes_of_query_events_keep_the_event():
    plan = (PLANS / "auto_explain_json.log").read_text().split("\n", 1)[1]
    events = schema.coerce(pd.DataFrame({
        "timestamp": pd.to_datetime(["2026-11-26 05:07:37", "2026-11-26 05:07:38"], utc=True),
        "duration_ms": [12.3, 1.0], "statement": ["SELECT * FROM orders WHERE customer_id = 42", "SELECT 1"],
        "session": ["9313", "9313"], "plan": [plan, None], "source_line": [1, 20]}), "query_events")
    before = events.copy()
    nodes = plan_nodes(events)
    pd.testing.assert_frame_equal(events, before)
    assert len(nodes) == 1
    assert nodes.loc[0, ["plan_id", "session", "source_line", "relation"]].tolist() == [0, "9313", 1, "orders"]
    assert tk.queries.plan_nodes is plan_nodes and tk.read_plan is read_plan


def test_plan_nodes_without_plans_is_empty():
    nodes = plan_nodes(schema.empty("query_events"))
    assert nodes.empty and {"statement", "session", "event_index"} <= set(nodes.columns)


def test_plans_that_are_not_postgresql_plans_are_counted():
    # MariaDB's slow log carries EXPLAIN rows (log_slow_verbosity=explain): not a PostgreSQL plan
    events = tk.read_queries(SAMPLES / "queries" / "mariadb" / "app-slow.log")
    nodes = plan_nodes(events)
    assert nodes.empty and nodes.attrs["unreadable_plans"] == events["plan"].notna().sum() > 0


@pytest.mark.parametrize("bad, line", [("hello world", 1), ('{"Plan": ', 1), ('{"a": 1}', 1)])
def test_not_a_plan_is_a_parse_error(bad, line):
    with pytest.raises(ParseError) as err:
        read_plan(bad)
    assert err.value.line == line and err.value.expected


def test_wrong_type_is_an_input_error():
    with pytest.raises(InputError):
        read_plan(42)


@pytest.mark.server
def test_the_fixtures_are_what_postgresql_prints(tmp_path):
    # GIVEN the script that made the fixtures, run again against a fresh throwaway cluster
    for program in ("initdb", "pg_ctl", "psql"):
        require_program(program)
    subprocess.run(["sh", str(PLANS / "make_plans.sh"), str(tmp_path)], check=True,
                   capture_output=True, timeout=300)
    # THEN every plan has the same shape and the same actual rows, loops and rows removed
    # (times vary; estimates depend on ANALYZE's random sample, so they are not compared)
    stable = ["node_type", "relation", "index", "alias", "parent_id", "actual_rows", "actual_loops",
              "rows_removed_by_filter", "filter", "sort_method", "never_executed"]
    for name in NAMES:
        for suffix in (".json", ".txt"):
            pd.testing.assert_frame_equal(read_plan(tmp_path / f"{name}{suffix}")[stable],
                                          read_plan(PLANS / f"{name}{suffix}")[stable])


def test_plan_nodes_of_one_fingerprint():
    # GIVEN the sample PostgreSQL log, whose auto_explain logged 84 plans of several statements
    events = tk.read_queries(SAMPLES / "queries/postgresql/app/postgresql.log.gz")
    fp = "select count(*), sum(total) from orders where customer_id = ?"
    # WHEN the plans of one fingerprint are asked for
    nodes = plan_nodes(events, fingerprint=fp)
    # THEN they are that statement's 60 plans (one per call), and only those
    assert nodes["plan_id"].nunique() == 60 == int(tk.digest(events).set_index("fingerprint").loc[fp, "calls"])
    assert set(nodes["statement"].map(tk.fingerprint)) == {fp}
    assert plan_nodes(events)["plan_id"].nunique() == 84
    assert plan_nodes(events, fingerprint="select nothing").empty


@pytest.mark.server
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_parallel_plans_nodes_take_wall_time_not_the_sum_over_workers(fmt):
    # GIVEN a real parallel plan: a Gather with workers scanning a table side by side
    require_program("initdb")
    pytest.importorskip("psycopg")
    from helpers.postgres import postgres_server

    with postgres_server({"max_worker_processes": "4", "max_parallel_workers": "4"}) as pg:
        with pg.connect() as conn:
            conn.execute("CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g")
            conn.execute("ANALYZE big")
            for setting in ("parallel_setup_cost = 0", "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0",
                            "max_parallel_workers_per_gather = 2"):
                conn.execute(f"SET {setting}")
            rows = conn.execute(f"EXPLAIN (ANALYZE, FORMAT {fmt.upper()}) SELECT count(*) FROM big "
                                "WHERE v LIKE '%ab%'").fetchall()
    plan = json.dumps(rows[0][0]) if fmt == "json" else "\n".join(r[0] for r in rows)
    nodes = read_plan(plan).set_index("node_type")
    gather = nodes.loc["Gather"]
    scan = nodes.loc["Parallel Seq Scan"]
    # THEN the workers PostgreSQL launched are read, the scan ran in them and the leader...
    assert gather["workers_launched"] == 2 and scan["actual_loops"] == 3
    # ...its wall time is the time per process, not three processes' time added up (that is its
    # work, actual_total_ms): no node below the Gather waits longer than the Gather itself
    assert scan["wall_ms"] == pytest.approx(scan["actual_time_ms"])
    assert scan["actual_total_ms"] == pytest.approx(3 * scan["actual_time_ms"])
    assert scan["wall_ms"] <= gather["wall_ms"]
    # AND the plan tree's self times add up to the query's time, as a tree should
    assert nodes["self_ms"].sum() == pytest.approx(nodes["wall_ms"].max(), rel=1e-6)
