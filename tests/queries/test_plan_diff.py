"""diff_plans: nodes aligned by relation, join set and position; method, estimate and time changes."""

from __future__ import annotations

import json

import toolkit as tk


def _scan(kind, rel, alias, rows, actual, ms, **extra):
    return {"Node Type": kind, "Relation Name": rel, "Alias": alias, "Plan Rows": rows,
            "Actual Rows": actual, "Actual Loops": 1, "Actual Total Time": ms, **extra}


def _plan(root):
    return json.dumps([{"Plan": root}])


# a hash join of orders and customers, the orders read by a Seq Scan with a 100x misestimate
BEFORE = _plan({"Node Type": "Hash Join", "Join Type": "Inner", "Plan Rows": 10, "Actual Rows": 1000,
                "Actual Loops": 1, "Actual Total Time": 30.0, "Plans": [
                    _scan("Seq Scan", "orders", "o", 10, 1000, 25.0, **{"Parent Relationship": "Outer"}),
                    {"Node Type": "Hash", "Plan Rows": 50, "Actual Rows": 50, "Actual Loops": 1,
                     "Actual Total Time": 1.0, "Parent Relationship": "Inner",
                     "Plans": [_scan("Seq Scan", "customers", "c", 50, 50, 0.8)]}]})
# after an index and ANALYZE: a nested loop over an index scan, estimates right, a Sort on top
AFTER = _plan({"Node Type": "Sort", "Plan Rows": 1000, "Actual Rows": 1000, "Actual Loops": 1,
               "Actual Total Time": 6.0, "Plans": [
                   {"Node Type": "Nested Loop", "Join Type": "Inner", "Plan Rows": 900, "Actual Rows": 1000,
                    "Actual Loops": 1, "Actual Total Time": 5.0, "Plans": [
                        _scan("Seq Scan", "customers", "c", 50, 50, 0.8),
                        _scan("Index Scan", "orders", "o", 20, 20, 0.08, **{"Index Name": "orders_customer_idx"})
                        | {"Actual Loops": 50}]}]})


def test_scans_and_joins_align_by_what_they_work_on_not_their_place():
    diff = tk.diff_plans(BEFORE, AFTER).set_index("node")
    assert diff.index.tolist() == ["join of customers c, orders o", "scan of orders o",
                                   "Hash over customers c", "scan of customers c", "Sort over customers c, orders o"]
    join = diff.loc["join of customers c, orders o"]
    assert (join["node_type_before"], join["node_type_after"], join["method_changed"]) == ("Hash Join", "Nested Loop", True)
    assert join["change"] == "Hash Join -> Nested Loop; rows estimated 10 -> 900; misestimate fixed"
    orders = diff.loc["scan of orders o"]
    assert orders["change"] == ("Seq Scan -> Index Scan using orders_customer_idx; "
                                "rows estimated 10 -> 20; actual rows 1,000 -> 20; misestimate fixed")
    # self times: 25 ms before; 0.08 ms x 50 loops after
    assert orders["self_ms_before"] == 25.0 and orders["self_ms_after"] == 4.0
    assert orders["delta_ms"] == -21.0
    assert diff.loc["scan of customers c", "change"] == "unchanged"
    assert diff.loc["Hash over customers c", "status"] == "only before"
    assert diff.loc["Sort over customers c, orders o", ["status", "change"]].tolist() == ["only after", "new Sort"]


def test_a_plan_compared_with_itself_is_unchanged():
    diff = tk.diff_plans(BEFORE, tk.read_plan(BEFORE))
    assert set(diff["status"]) == {"both"} and set(diff["change"]) == {"unchanged"}
    assert (diff["delta_ms"] == 0).all()


def test_the_diff_figure_has_one_bar_per_node_and_side_with_misestimates_red():
    fig = tk.plots.plan_diff(tk.diff_plans(BEFORE, AFTER))
    before, after = fig.data
    assert (before.name, after.name) == ("before", "after")
    assert list(before.y) == list(after.y) and len(before.y) == 5
    orders = list(before.y).index("scan of orders o")
    assert before.x[orders] == 25.0 and after.x[orders] == 4.0
    assert before.marker.color[orders] == "#E45756" and after.marker.color[orders] != "#E45756"
    assert "1 method change" not in fig.layout.title.text and "2 method changes" in fig.layout.title.text
