"""Calibrate compare_runs on the real sample runs: false alarms over many A/A splits, and how
often a planted 8% slowdown with 40 rounds is found.

    .venv/bin/python benchmarks/bench_calibration.py [--splits 100]

Inputs: sample_traces/bench/pytest-benchmark/base (six runs of the unchanged base, 40 rounds
per benchmark each, made alternately with the head's runs). No timing is done here: the rounds
were measured by pytest-benchmark when the samples were made (their load is in runs.json).
Prints Markdown for benchmarks/RESULTS.md. Three designs of A/A comparison (the same code on
both sides), each also with one side's rounds multiplied by 1.08 (a planted 8% slowdown):

1. single runs: every pair of base runs (the noise a CI gate comparing one run with another
   meets: each run at another moment, under another load);
2. interleaved halves: every split of the six runs into two sets of three (the run-level test);
4. one run against the five others (the CI gate with the base's re-runs as its reference);
3. random splits of the pooled rounds into two sets of 40 (the noise of rounds alone).

For each minimum effect (0, 2%, 5%, 10%): the share of A/A comparisons with a verdict other
than unchanged (false alarms) and the share of planted ones found slower. Then how far the
median, the minimum and the mean moved between runs of the same code.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

import toolkit as tk
from toolkit.bench.compare import compare_groups
from toolkit.bench.stats import verdict

ROOT = Path(__file__).resolve().parents[1]
PB = ROOT / "sample_traces" / "bench" / "pytest-benchmark"
EFFECTS = (0.0, 0.02, 0.05, 0.10)


def runs_of(files: list[Path]) -> dict[str, dict[str, np.ndarray]]:
    """benchmark -> run -> rounds."""
    df = tk.read_benchmarks(files)
    return {b: {r: g.to_numpy(float) for r, g in part.groupby("run")["value_s"]}
            for b, part in df.groupby("benchmark")}


def markdown(df: pd.DataFrame, index: bool = False) -> str:
    """A GitHub Markdown table (pandas' to_markdown needs tabulate, which the project does not use)."""
    if index:
        df = df.reset_index()
    cells = [[str(c) for c in df.columns]] + [[str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "---|" * len(df.columns))
    return "\n".join(lines)


def verdicts(stats: pd.DataFrame, min_effect: float) -> pd.Series:
    """The verdicts of ``compare_groups`` rows for another minimum effect (ratios, intervals and
    q-values do not depend on it)."""
    return pd.Series([verdict(r.ratio, r.ci_low, r.ci_high, r.q_value, not np.isnan(r.p_value), alpha=0.05,
                              min_effect=min_effect) for r in stats.itertuples()], index=stats.index)


def share(v: pd.Series, what: str) -> str:
    hits = (v != "unchanged").sum() if what == "alarm" else (v == "slower").sum()
    return f"{hits} / {len(v)} ({hits / len(v):.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", type=int, default=100, help="random 40-round splits per benchmark")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per comparison")
    args = parser.parse_args()
    t0 = time.perf_counter()
    base_files = sorted((PB / "base").glob("base-*.json"))
    runs = runs_of(base_files)
    rng = np.random.default_rng(0)
    designs: dict[str, dict] = {"single runs (every pair of base runs)": {}, "interleaved halves (3 runs a side)": {},
                                "one run against the five others": {},
                                "random 40-round splits of the pooled rounds": {}}
    for b, v in runs.items():
        names = sorted(v)
        for r1, r2 in itertools.combinations(names, 2):
            designs["single runs (every pair of base runs)"][(b, r1, r2)] = ([v[r1]], [v[r2]])
        for left in itertools.combinations(names, len(names) // 2):
            right = tuple(n for n in names if n not in left)
            if left < right:  # each split once
                designs["interleaved halves (3 runs a side)"][(b, left)] = ([v[n] for n in left], [v[n] for n in right])
        for n in names:
            designs["one run against the five others"][(b, n)] = ([v[m] for m in names if m != n], [v[n]])
        pool = np.concatenate([v[n] for n in names])
        for s in range(args.splits):
            perm = rng.permutation(len(pool))
            designs["random 40-round splits of the pooled rounds"][(b, s)] = ([pool[perm[:40]]], [pool[perm[40:80]]])
    rows = []
    for design, pairs in designs.items():
        same = compare_groups(pairs, min_effect=0.0, n_resamples=args.resamples)
        slowed = compare_groups({k: (a, [x * 1.08 for x in c]) for k, (a, c) in pairs.items()}, min_effect=0.0,
                                n_resamples=args.resamples)
        for effect in EFFECTS:
            rows.append({"design": design, "min_effect": f"{effect:.0%}",
                         "A/A: false alarms": share(verdicts(same, effect), "alarm"),
                         "8% slower: found": share(verdicts(slowed, effect), "found")})
    table = pd.DataFrame(rows)
    moves = []
    for (b, r1, r2), (a, c) in designs["single runs (every pair of base runs)"].items():
        moves.append({"benchmark": b, "pair": f"{r1} / {r2}",
                      "median moved": abs(np.median(c[0]) / np.median(a[0]) - 1),
                      "minimum moved": abs(c[0].min() / a[0].min() - 1),
                      "mean moved": abs(c[0].mean() / a[0].mean() - 1)})
    moves = pd.DataFrame(moves)
    worst = moves.loc[(moves["minimum moved"] - moves["median moved"]).idxmax()]
    print(f"Base runs: {', '.join(p.stem for p in base_files)} ({len(runs)} benchmarks, 40 rounds each); "
          f"{args.splits} random splits per benchmark; {args.resamples} bootstrap resamples; alpha 0.05; "
          f"{time.perf_counter() - t0:.0f} s.\n")
    print(markdown(table))
    print("\nHow far each statistic moved between two runs of the same code (every pair of base runs, every "
          "benchmark):\n")
    spread = moves[["median moved", "minimum moved", "mean moved"]].describe(percentiles=[0.5, 0.9])
    print(markdown(spread.loc[["50%", "90%", "max"]].map(lambda x: f"{x:.1%}").rename_axis("over pairs"),
                   index=True))
    print(f"\nLargest gap between the two: {worst['benchmark']} ({worst['pair']}): the minimum moved "
          f"{worst['minimum moved']:.1%} where the median moved {worst['median moved']:.1%}.")


if __name__ == "__main__":
    main()
