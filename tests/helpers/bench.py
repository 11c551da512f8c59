"""Where the benchmark and load-test samples are, and what was planted in them.

sample_traces/bench/generate.py wrote the samples with the real tools on demo/shop.py, whose
head version makes parse_orders clearly slower, render_invoice a little slower (+8% of the same
work) and dedupe_skus faster; every other benchmark is unchanged. pytest-benchmark and hyperfine
ran base and head alternately (base-01, head-01, base-02, ...): ``PB / "base"`` is a folder of the
base's runs, ``PB / "head"`` of the head's.
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


def runs(tool_dir: Path, side: str) -> list[Path]:
    """The runs of one side (``base`` or ``head``), in the order they ran (they alternate)."""
    return sorted((tool_dir / side).glob(f"{side}-*.json"))


def asv_commits() -> list[tuple[str, str]]:
    """(commit hash, what it changed) in history order, from asv/commits.txt."""
    out = []
    for line in (BENCH / "asv" / "commits.txt").read_text().splitlines():
        commit, _, what = line.partition(" ")
        out.append((commit, what))
    return out
