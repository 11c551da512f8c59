"""Where the benchmark and load-test samples are, and what was planted in them.

sample_traces/bench/generate.py wrote the samples with the real tools on demo/shop.py, whose
head version makes parse_orders clearly slower, render_invoice a little slower (+8% of the same
work) and dedupe_skus faster; every other benchmark is unchanged.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "sample_traces" / "bench"
FIXTURES = ROOT / "tests" / "fixtures" / "bench"
PB = BENCH / "pytest-benchmark"
HYPERFINE = BENCH / "hyperfine"
ASV_RESULTS = BENCH / "asv" / "results"
PLANTED = {"parse_orders": "slower", "render_invoice": "slower", "dedupe_skus": "faster"}


def base_reruns() -> list[Path]:
    """The re-runs of the unchanged base (A/A), in order."""
    return sorted(PB.glob("base-rerun*.json"))


def head_runs() -> list[Path]:
    return sorted(PB.glob("head*.json"), key=lambda p: p.name)


def asv_commits() -> list[tuple[str, str]]:
    """(commit hash, what it changed) in history order, from asv/commits.txt."""
    out = []
    for line in (BENCH / "asv" / "commits.txt").read_text().splitlines():
        commit, _, what = line.partition(" ")
        out.append((commit, what))
    return out
