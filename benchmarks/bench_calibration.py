"""Calibrate compare_runs on the real sample runs: false alarms over many A/A splits, and how
often a planted 8% slowdown with 40 rounds is found.

    /work/wt-bench/.venv/bin/python benchmarks/bench_calibration.py [--splits 200]

Inputs: sample_traces/bench/pytest-benchmark (the base run and its re-runs of the unchanged
code, 40 rounds per benchmark each; the head runs) and sample_traces/bench/hyperfine. No timing
is done here: the rounds were measured by the tools when the samples were made (their load is in
runs.json). Prints Markdown for benchmarks/RESULTS.md:

1. A/A between runs: every pair of base runs, every benchmark (the noise a CI gate meets: each
   run at another moment, under another load);
2. A/A within the pool: ``--splits`` random splits of each benchmark's pooled base rounds into
   two sets of 40 (the noise of rounds alone; the nominal false-alarm rate);
3. power: the same run pairs and splits with one side's rounds multiplied by 1.08;
4. medians against minima on the run pairs: how far each moved when nothing changed.

For each minimum effect (0, 2%, 5%, 10%) the share of comparisons with a verdict other than
unchanged (A/A) and the share found slower (8% planted).
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


def verdicts(pairs: dict, min_effect: float, n_resamples: int) -> pd.Series:
    return compare_groups(pairs, min_effect=min_effect, n_resamples=n_resamples)["verdict"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", type=int, default=200, help="random A/A splits per benchmark")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per comparison")
    args = parser.parse_args()
    t0 = time.perf_counter()
    base_files = [PB / "base.json", *sorted(PB.glob("base-rerun*.json"))]
    runs = runs_of(base_files)
    rng = np.random.default_rng(0)
    run_pairs = {(b, r1, r2): ([v[r1]], [v[r2]]) for b, v in runs.items()
                 for r1, r2 in itertools.combinations(sorted(v), 2)}
    splits = {}
    for b, v in runs.items():
        pool = np.concatenate(list(v.values()))
        for s in range(args.splits):
            perm = rng.permutation(len(pool))
            splits[(b, s)] = ([pool[perm[:40]]], [pool[perm[40:80]]])
    planted_runs = {k: (a, [x * 1.08 for x in b]) for k, (a, b) in run_pairs.items()}
    planted_splits = {k: (a, [x * 1.08 for x in b]) for k, (a, b) in splits.items()}
    rows = []
    for effect in EFFECTS:
        aa_runs = verdicts(run_pairs, effect, args.resamples)
        aa_splits = verdicts(splits, effect, args.resamples)
        pw_runs = verdicts(planted_runs, effect, args.resamples)
        pw_splits = verdicts(planted_splits, effect, args.resamples)
        rows.append({"min_effect": f"{effect:.0%}",
                     "A/A between runs: false alarms": f"{(aa_runs != 'unchanged').sum()} / {len(aa_runs)} "
                                                       f"({(aa_runs != 'unchanged').mean():.1%})",
                     "A/A random splits: false alarms": f"{(aa_splits != 'unchanged').sum()} / {len(aa_splits)} "
                                                        f"({(aa_splits != 'unchanged').mean():.1%})",
                     "8% planted, between runs: found": f"{(pw_runs == 'slower').mean():.1%}",
                     "8% planted, random splits: found": f"{(pw_splits == 'slower').mean():.1%}"})
    table = pd.DataFrame(rows)
    moves = []
    for (b, r1, r2), (a, c) in run_pairs.items():
        moves.append({"benchmark": b, "pair": f"{r1} / {r2}",
                      "median moved": abs(np.median(c[0]) / np.median(a[0]) - 1),
                      "minimum moved": abs(c[0].min() / a[0].min() - 1),
                      "mean moved": abs(c[0].mean() / a[0].mean() - 1)})
    moves = pd.DataFrame(moves)
    worst = moves.loc[(moves["minimum moved"] - moves["median moved"]).idxmax()]
    print(f"Base runs: {', '.join(p.stem for p in base_files)}; {len(runs)} benchmarks; "
          f"{len(run_pairs)} run pairs, {len(splits)} random splits; {args.resamples} bootstrap resamples; "
          f"{time.perf_counter() - t0:.0f} s.\n")
    print(markdown(table))
    print("\nHow far each statistic moved between two runs of the same code (all run pairs, all benchmarks):\n")
    spread = moves[["median moved", "minimum moved", "mean moved"]].describe(percentiles=[0.5, 0.9])
    print(markdown(spread.loc[["mean", "50%", "90%", "max"]].map(lambda x: f"{x:.1%}").rename_axis("over pairs"),
                   index=True))
    print(f"\nLargest gap: {worst['benchmark']} ({worst['pair']}): the minimum moved {worst['minimum moved']:.1%} "
          f"where the median moved {worst['median moved']:.1%}.")


if __name__ == "__main__":
    main()
