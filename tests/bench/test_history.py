"""Change points over a history of runs: the asv samples (one run per commit, the planted
changes at commits 4, 6 and 9) and series with known steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.bench import ASV_RESULTS, asv_commits

import toolkit as tk
from toolkit.bench.history import segments, step_penalty


@pytest.fixture(scope="module")
def history():
    return tk.read_benchmarks(ASV_RESULTS)


def test_runs_are_ordered_by_commit_date(history):
    med = tk.bench.run_medians(history)
    order = med.drop_duplicates("run").sort_values("position")["run"].tolist()
    assert order == [commit[:8] for commit, _ in asv_commits()]


def test_the_planted_steps_are_found_at_their_commits_and_nothing_else(history):
    commits = asv_commits()
    cps = tk.bench.change_points(history)
    found = {(r.benchmark.rsplit(".", 1)[-1], r.position + 1, r.verdict) for r in cps.itertuples()}
    # commit 4 makes dedupe faster, commit 6 parse slower, commit 9 render a little slower
    assert found == {("time_dedupe_skus", 4, "faster"), ("time_parse_orders", 6, "slower"),
                     ("time_render_invoice", 9, "slower")}, cps
    assert set(cps["commit"]) == {commits[3][0], commits[5][0], commits[8][0]}
    parse = cps[cps["benchmark"].str.endswith("time_parse_orders")].iloc[0]
    assert parse["ratio"] > 2 and parse["ci_low"] > 2 and parse["runs_before"] == 5 and parse["runs_after"] == 7


def test_segments_of_a_clean_step_and_of_flat_noise():
    rng = np.random.default_rng(0)
    flat = 1 + rng.normal(0, 0.01, 20)
    assert segments(flat, step_penalty(flat)) == []
    step = np.r_[np.full(6, 1.0), np.full(6, 1.3)] + rng.normal(0, 0.005, 12)
    assert segments(step, step_penalty(step)) == [6]
    two = np.r_[np.full(5, 1.0), np.full(5, 0.5), np.full(5, 2.0)] + rng.normal(0, 0.005, 15)
    assert segments(two, step_penalty(two)) == [5, 10]


def test_a_step_within_the_noise_is_tested_and_dropped():
    rng = np.random.default_rng(2)
    rows = [{"benchmark": "b", "params": "", "run": f"r{i:02d}", "timestamp": pd.Timestamp("2026-01-01", tz="UTC")
             + pd.Timedelta(days=i), "value_s": v}
            for i in range(10) for v in (1.0 + (0.02 if i >= 5 else 0)) * (1 + rng.normal(0, 0.01, 10))]
    cps = tk.bench.change_points(pd.DataFrame(rows))  # a 2% step: real, but under min_effect
    assert len(cps) == 0 and cps.attrs["candidates"] >= cps.attrs["dropped"]
    big = tk.bench.change_points(pd.DataFrame(rows), min_effect=0.01)
    assert big[["run", "verdict"]].values.tolist() == [["r05", "slower"]]
