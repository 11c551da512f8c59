"""Benchmark history: many runs (one per commit) -> per-run medians and the change points
where a benchmark's level moved.

:func:`run_medians` orders the runs (by ``commit_date`` where the tool records it, as asv does,
else by ``timestamp``, else as they appear) and gives each benchmark's median per run.
:func:`change_points` finds where the level moved, like asv's step detection: the series of run
medians is cut into the segments that minimise the sum of absolute deviations from each
segment's median plus a penalty per segment (an L1 "Potts" fit, solved exactly by dynamic
programming); the penalty per segment is :func:`step_penalty` (``penalty`` x the run-to-run noise,
estimated from neighbouring runs, x log of the number of runs), so a noisy benchmark needs a
larger move, and a long history is not cut at every wiggle.
Each cut is then tested like :func:`toolkit.compare_runs` tests two sets of runs: the runs of
the segment before against those after (a t-test on the runs' medians, see
:func:`toolkit.bench.stats.run_level_test`; Benjamini-Hochberg over every cut of every
benchmark) and kept only when its verdict is slower or faster.

Example::

    >>> import toolkit as tk
    >>> hist = tk.read_benchmarks("sample_traces/bench/asv/results")       # doctest: +SKIP
    >>> tk.bench.change_points(hist)[["benchmark", "run", "ratio", "verdict"]]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .samples import KEY
from .stats import bh, check_options, mann_whitney, ratio_interval, run_level_test, verdict


def _order_column(samples: pd.DataFrame) -> str | None:
    for col in ("commit_date", "timestamp"):
        if col in samples and samples[col].notna().any():
            return col
    return None


def run_medians(samples: pd.DataFrame, order: str | None = None) -> pd.DataFrame:
    """Per benchmark and run, in run order: ``benchmark, params, run, position`` (0-based order
    of the run in the history), ``median, q1, q3`` (of its rounds), ``n`` (rounds),
    ``commit``, and the ordering column."""
    order = order or _order_column(samples)
    # ties (commits made in the same second) are broken by when each run started, then by input order
    then = "timestamp" if order != "timestamp" and "timestamp" in samples and samples["timestamp"].notna().any() \
        else None
    spec = {"commit": ("commit", "first")} if "commit" in samples else {}
    if order:
        spec["first"] = (order, "min")
    if then:
        spec["then"] = (then, "min")
    runs = samples.groupby("run", sort=False).agg(**spec)
    runs["seen"] = np.arange(len(runs))
    runs = runs.sort_values([c for c in ("first", "then", "seen") if c in runs], kind="stable")
    position = {run: i for i, run in enumerate(runs.index)}
    g = samples.groupby(KEY + ["run"], sort=False, dropna=False)["value_s"]
    out = pd.DataFrame({"median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75), "n": g.size()})
    out = out.reset_index()
    out["position"] = out["run"].map(position)
    out["commit"] = out["run"].map(runs["commit"]) if "commit" in runs else None
    if order:
        out[order] = out["run"].map(runs["first"])
    return out.sort_values(KEY + ["position"], kind="stable").reset_index(drop=True)


def segments(values: np.ndarray, penalty: float) -> list[int]:
    """Start indexes (after 0) of the segments of the L1 Potts fit of ``values``."""
    n = len(values)
    cost = np.zeros((n, n + 1))
    for i in range(n):
        for j in range(i + 1, n + 1):
            seg = values[i:j]
            cost[i, j] = np.abs(seg - np.median(seg)).sum()
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    prev = np.zeros(n + 1, dtype=int)
    for j in range(1, n + 1):
        totals = best[:j] + cost[np.arange(j), j] + penalty
        prev[j] = int(np.argmin(totals))
        best[j] = totals[prev[j]]
    cuts, j = [], n
    while j > 0:
        cuts.append(prev[j])
        j = prev[j]
    return sorted(c for c in cuts if c > 0)


def step_penalty(values: np.ndarray, factor: float = 3.0) -> float:
    """The cost of one more segment: ``factor * sigma * log(n)``, sigma the run-to-run noise
    estimated robustly from neighbouring runs (1.4826 * median |difference| / sqrt 2, which a
    few steps in the series hardly move), at least 0.1% of the median level."""
    values = np.asarray(values, float)
    sigma = 1.4826 * np.median(np.abs(np.diff(values))) / np.sqrt(2) if len(values) > 1 else 0.0
    sigma = max(sigma, 1e-3 * float(np.median(np.abs(values))))
    return factor * sigma * np.log(max(len(values), 2))


def change_points(samples: pd.DataFrame, *, min_effect: float = 0.05, alpha: float = 0.05, penalty: float = 3.0,
                  min_samples: int = 5, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0,
                  order: str | None = None) -> pd.DataFrame:
    """Where each benchmark's level moved: one row per significant step.

    Columns: ``benchmark, params, run`` (the first run at the new level), ``previous_run``,
    ``position`` (of ``run`` in the history), ``commit``, ``before_median``, ``after_median``
    (medians of every round of the segment before / after, seconds), ``ratio``, ``ci_low``,
    ``ci_high``, ``p_value``, ``q_value``, ``verdict`` (slower / faster), ``runs_before``,
    ``runs_after``. ``attrs["candidates"]`` counts the cuts tested, ``attrs["dropped"]`` those
    that did not pass the test.
    """
    check_options(alpha, min_effect, min_samples, confidence)
    med = run_medians(samples, order)
    rows = []
    for key, hist in med.groupby(KEY, sort=True, dropna=False):
        hist = hist.sort_values("position")
        values = hist["median"].to_numpy(float)
        if len(values) < 3:
            continue
        cuts = segments(values, step_penalty(values, penalty))
        bounds = [0, *cuts, len(values)]
        runs = hist["run"].tolist()
        sub = samples[(samples["benchmark"] == key[0]) & (samples["params"].fillna("") == (key[1] or ""))]
        by_run = {r: g.to_numpy(float) for r, g in sub.groupby("run")["value_s"]}
        for s, (lo, cut, hi) in enumerate(zip(bounds[:-2], bounds[1:-1], bounds[2:], strict=True)):
            before = [by_run[r] for r in runs[lo:cut]]
            after = [by_run[r] for r in runs[cut:hi]]
            a, b = np.concatenate(before), np.concatenate(after)
            ok = len(a) >= min_samples and len(b) >= min_samples
            ratio = float(np.median(b) / np.median(a))
            # the runs are the unit, as in compare_runs: a level is a set of runs
            tested = run_level_test(before, after, ratio, confidence=confidence) if ok else None
            if tested is not None:
                p, low, high = tested
            elif ok:
                low, high = ratio_interval(before, after, confidence=confidence, n_resamples=n_resamples, seed=seed + s)
                p = mann_whitney(a, b)
            else:
                p = low = high = np.nan
            rows.append({"benchmark": key[0], "params": key[1], "run": runs[cut], "previous_run": runs[cut - 1],
                         "position": cut, "commit": hist["commit"].iloc[cut],
                         "before_median": float(np.median(a)), "after_median": float(np.median(b)),
                         "ratio": ratio, "ci_low": low, "ci_high": high, "p_value": p, "testable": ok,
                         "runs_before": cut - lo, "runs_after": hi - cut})
    cols = ["benchmark", "params", "run", "previous_run", "position", "commit", "before_median", "after_median",
            "ratio", "ci_low", "ci_high", "p_value", "q_value", "verdict", "runs_before", "runs_after"]
    if not rows:
        out = pd.DataFrame(columns=cols)
        out.attrs = {"candidates": 0, "dropped": 0}
        return out
    out = pd.DataFrame(rows)
    out["q_value"] = bh(out["p_value"].to_numpy(float))
    out["verdict"] = [verdict(r.ratio, r.ci_low, r.ci_high, r.q_value, r.testable, alpha=alpha, min_effect=min_effect)
                      for r in out.itertuples()]
    kept = out[out["verdict"].isin(["slower", "faster"])][cols].reset_index(drop=True)
    kept.attrs = {"candidates": len(out), "dropped": len(out) - len(kept)}
    return kept
