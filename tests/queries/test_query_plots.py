"""Slow-query and plan figures draw exactly the numbers they are given."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import FIXTURES, SAMPLES

import toolkit as tk
from toolkit.plots import plans as plan_plots
from toolkit.plots import queries as query_plots
from toolkit.queries.digest import digest as make_digest

PG_APP = SAMPLES / "queries" / "postgresql" / "app" / "postgresql.log.gz"
PLANS = FIXTURES / "queries" / "plans"


@pytest.fixture(scope="module")
def events():
    return tk.read_queries(PG_APP)


@pytest.fixture(scope="module")
def digest(events):
    # not tk.digest: once toolkit.queries.digest (the module) is imported, the lazy tk.digest
    # resolves to the module instead of the function (toolkit/__init__.py maps it via the package)
    return make_digest(events)


def _executed(events):
    return events[events["kind"].isin(["statement", "execute"]) & events["duration_ms"].notna()]


def _labelled(fig):
    layout = fig.layout
    assert layout.title.text and layout.xaxis.title.text and layout.yaxis.title.text
    json.loads(fig.to_json())  # serialisable, as stored in a notebook
    return layout


def test_digest_bar_draws_the_costliest_fingerprints_in_order(digest):
    fig = tk.plots.digest_bar(digest, n=5)
    layout = _labelled(fig)
    bar = fig.data[0]
    assert list(bar.x) == digest["total_ms"].head(5).tolist()
    assert bar.y[0].startswith("1. ") and len(bar.y) == 5
    assert "(ms)" in layout.xaxis.title.text and "calls" in bar.hovertemplate
    assert layout.yaxis.autorange == "reversed"  # costliest on top


def test_latency_box_one_box_per_fingerprint_with_every_execution(events):
    fig = tk.plots.latency_box(events, n=4)
    _labelled(fig)
    assert len(fig.data) == 4
    from toolkit.queries.fingerprint import fingerprint
    ex = _executed(events)
    fps = ex["statement"].map(fingerprint)
    totals = ex.groupby(fps)["duration_ms"].sum().sort_values(ascending=False)
    first = totals.index[0]
    assert sorted(fig.data[0].x) == sorted(ex.loc[fps == first, "duration_ms"])
    assert fig.layout.xaxis.type == "log"


def test_timeline_has_every_executed_statement(events):
    fig = tk.plots.timeline(events, n=5)
    layout = _labelled(fig)
    assert sum(len(t.x) for t in fig.data) == len(_executed(events))
    assert fig.data[-1].name == query_plots.OTHER and len(fig.data) == 6
    assert "ms" in layout.yaxis.title.text


def test_calls_vs_mean_log_axes_and_sizes(digest):
    fig = tk.plots.calls_vs_mean(digest)
    _labelled(fig)
    point = fig.data[0]
    assert list(point.x) == digest["calls"].tolist() and list(point.y) == digest["mean_ms"].tolist()
    assert list(point.marker.size) == digest["total_ms"].tolist()
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"


def test_digest_bar_needs_a_digest():
    with pytest.raises(ValueError, match="lacks columns"):
        query_plots.digest_bar(pd.DataFrame({"fingerprint": ["x"]}))


def test_plan_tree_widths_are_self_times_and_misestimates_red():
    nodes = tk.read_plan(PLANS / "misestimate.json")
    fig = tk.plots.plan_tree(nodes)
    icicle = fig.data[0]
    assert list(icicle.ids) == ["0", "1"] and list(icicle.parents) == ["", "0"]
    assert list(icicle.values) == pytest.approx(nodes["self_ms"].tolist())
    assert icicle.branchvalues == "remainder"
    assert list(icicle.marker.colors) == [plan_plots._NORMAL, plan_plots._MISESTIMATED]
    assert "off by 100x" in icicle.hovertext[1] and "rows removed by filter: 99,000" in icicle.hovertext[1]
    assert "1 row misestimate" in fig.layout.title.text
    json.loads(fig.to_json())


def test_plan_bars_indent_children_and_grey_never_executed():
    nodes = tk.read_plan(PLANS / "subplan_never_executed.txt")
    fig = tk.plots.plan_bars(nodes)
    layout = fig.layout
    assert layout.title.text and layout.xaxis.title.text
    bar = fig.data[0]
    assert len(bar.y) == 3 and bar.y[2].startswith(plan_plots._INDENT * 2)
    assert [a.text for a in layout.annotations] == list(bar.y)  # the node names, left-aligned
    assert list(bar.marker.color)[1:] == [plan_plots._NEVER, plan_plots._NEVER]
    assert "self time" in layout.xaxis.title.text


def test_plan_tree_of_a_logged_plan_picks_one_plan(events):
    nodes = tk.queries.plan_nodes(events)
    assert nodes["plan_id"].nunique() > 1
    fig = tk.plots.plan_tree(nodes, plan_id=1)
    assert len(fig.data[0].ids) == int((nodes["plan_id"] == 1).sum())


def test_sql_in_labels_and_hover_is_escaped():
    # plotly treats '<' as the start of a tag: `WHERE a<b` must show as text
    nodes = tk.read_plan(PLANS / "nested_loop.txt")
    hover = tk.plots.plan_tree(nodes).data[0].hovertext[1]
    assert "Index Cond: (id &lt; 200)" in hover and "<b>" in hover
    events = tk.queries.read_queries(
        "2026-01-01 00:00:00.000 UTC [1] u@d LOG:  duration: 1.000 ms  statement: SELECT a FROM t WHERE a<b\n")
    fig = tk.plots.timeline(events)
    assert fig.data[0].hovertext[0] == "SELECT a FROM t WHERE a&lt;b"
