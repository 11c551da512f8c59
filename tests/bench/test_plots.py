"""The benchmark figures draw what the tables hold, with titles, axis labels and hover text."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.bench import ASV_RESULTS, BENCH, PB

import toolkit as tk


@pytest.fixture(scope="module")
def runs():
    base, head = tk.read_benchmarks(PB / "base"), tk.read_benchmarks(PB / "head")
    return base, head, tk.compare_runs(base, head)


def test_ratio_forest_has_one_point_per_benchmark_coloured_by_verdict(runs):
    fig = tk.plots.ratio_forest(runs[2])
    points = {name: (trace.name, x) for trace in fig.data for name, x in zip(trace.y, trace.x, strict=True)}
    parse, dedupe = points["parse_orders [case=parse_orders]"], points["dedupe_skus [case=dedupe_skus]"]
    assert len(points) == 6 and parse[0] == "slower" and dedupe[0] == "faster"
    assert parse[1] == pytest.approx(runs[2].set_index("benchmark").loc["parse_orders", "ratio"])
    assert fig.layout.xaxis.type == "log" and fig.layout.title.text and fig.layout.xaxis.title.text
    assert all(t.hovertemplate for t in fig.data)


def test_distributions_show_every_round_of_both_sides(runs):
    base, head, cmp = runs
    fig = tk.plots.benchmark_distributions(base, head, cmp)
    assert len(fig.data) == 12
    assert sum(len(t.y) for t in fig.data if t.name == "base") == len(base)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("parse_orders<br>x") and titles[0].endswith("slower")


def test_history_marks_the_change_points():
    hist = tk.read_benchmarks(ASV_RESULTS)
    med = tk.bench.run_medians(hist)
    cps = tk.bench.change_points(hist)
    name = "bench_shop.Shop.time_parse_orders"
    fig = tk.plots.benchmark_history(med, cps, benchmark=name)
    assert len(fig.data) == 1 and len(fig.data[0].x) == 12
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.x0 for s in lines] == [4.5]  # before the 6th run (position 5), where parse slowed
    assert "slower" in fig.layout.annotations[0].text
    overview = tk.plots.benchmark_history(med, cps)
    assert len(overview.data) == med.groupby(["benchmark", "params"]).ngroups
    assert overview.data[0].y[0] == pytest.approx(1.0)


def test_load_test_latency_overlays_runs():
    ts = pd.concat([tk.read_load_test(BENCH / "locust" / f"{r}_stats.csv", table="timeseries") for r in ("base", "head")])
    fig = tk.plots.load_test_latency(ts)
    names = [t.name for t in fig.data]
    assert "base p50" in names and "head p95" in names and "head req/s" in names
    assert fig.layout.yaxis.title.text == "latency (ms)" and fig.data[0].x[0] == 0
