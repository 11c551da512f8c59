"""pytest-benchmark ``--benchmark-json`` (and the files ``--benchmark-autosave`` stores).

Format (pytest-benchmark 5.1): https://github.com/ionelmc/pytest-benchmark/blob/v5.1.0/src/pytest_benchmark/session.py
(``BenchmarkSession.handle_saving``) and .../stats.py (``Stats``, ``Metadata.as_dict``)::

    {"machine_info": {"node": "host", "python_version": "3.11.7", "cpu": {...}, ...},
     "commit_info": {"id": "a1b2...", "time": "...", "dirty": false, "branch": "main"},
     "benchmarks": [{"group": "shop", "name": "parse_orders", "fullname": "bench_shop.py::test_shop[parse_orders]",
                     "params": {"case": "parse_orders"}, "extra_info": {"loadavg_1m_before": 1.1},
                     "stats": {"min": 0.00166, "max": 0.0039, "mean": 0.00177, "stddev": 0.00035,
                               "rounds": 40, "median": 0.00169, "iqr": 6.1e-05, "q1": ..., "q3": ...,
                               "iterations": 4, "ops": 563.4, "total": 0.071,
                               "data": [0.00173, 0.00169, ...]}}],
     "datetime": "2026-12-07T09:36:55.373838+00:00", "version": "5.3.1"}

Quirks: ``data`` (every round: the mean of ``iterations`` calls, seconds) is always in a
``--benchmark-json`` file, but in the files ``--benchmark-save`` / ``--benchmark-autosave`` keep
in ``.benchmarks/`` only with ``--benchmark-save-data``; without it they hold the summary
statistics alone (session.py ``handle_saving``, 5.3.1), and the reader
gives one row per benchmark with ``value_s`` = the tool's median and ``summary_only`` True (a
comparison then says "too few samples" rather than test a single number). ``commit_info.id`` is
``"unversioned"`` outside a git checkout (read as no commit). ``extra_info`` entries become
``extra_<key>`` columns (the sample runs record the load average there).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import formats
from ..sources import Source, open_source
from ..sources import read_json_document as load_json
from .samples import SampleRecord, as_float, build_samples, format_params, need, run_label

EXPECTED = "pytest-benchmark --benchmark-json output"


def _records(doc: dict, src: Source) -> tuple[list[SampleRecord], list[dict[str, Any]]]:
    records, summary = [], []
    for i, bench in enumerate(doc["benchmarks"]):
        stats = bench.get("stats") if isinstance(bench, dict) else None
        name = bench.get("name") if isinstance(bench, dict) else None
        if not isinstance(stats, dict) or not name:
            src.accounting.skip(None, "a benchmark without name or stats", f"benchmarks[{i}]")
            continue
        data = stats.get("data")
        values = [v for v in map(as_float, data)] if isinstance(data, list) else []
        if isinstance(data, list) and (None in values or not values):
            src.accounting.skip(None, "rounds that are not numbers", f"benchmarks[{i}] {name}")
            continue
        median = as_float(stats.get("median"))
        if not values and median is None:
            src.accounting.skip(None, "no rounds and no median", f"benchmarks[{i}] {name}")
            continue
        extra = {f"extra_{k}": v for k, v in (bench.get("extra_info") or {}).items()
                 if isinstance(v, (str, int, float, bool)) or v is None}
        records.append(SampleRecord(
            benchmark=str(name), values=values or [median], group=bench.get("group"),
            params=format_params(bench.get("params")), summary_only=not values,
            rounds=stats.get("rounds"), iterations=stats.get("iterations"), extra=extra))
        summary.append({"benchmark": str(name), "params": format_params(bench.get("params")),
                        **{k: stats.get(k) for k in ("min", "max", "mean", "stddev", "median", "iqr",
                                                     "q1", "q3", "rounds", "iterations", "ops")}})
    return records, summary


def read_pytest_benchmark(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read a pytest-benchmark JSON file into ``benchmark_samples`` (one row per round)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "pytest-benchmark"
    doc = load_json(src, EXPECTED)
    need(isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list), src,
         "no benchmarks list", EXPECTED)
    records, summary = _records(doc, src)
    machine = doc.get("machine_info") or {}
    commit = (doc.get("commit_info") or {}).get("id")
    return build_samples(records, src, run=run_label(src, run), tool="pytest-benchmark",
                         tool_version=doc.get("version"), machine=machine.get("node"),
                         commit=None if commit in (None, "unversioned") else commit,
                         timestamp=doc.get("datetime"), tool_summary=summary,
                         meta={"machine_info": machine, "commit_info": doc.get("commit_info") or {}})


def sniff(head: formats.Head) -> bool:
    # machine_info comes first and can be long: a cut file may not reach "benchmarks"
    t = head.text.lstrip()
    return t.startswith("{") and '"machine_info"' in t and (
        '"benchmarks"' in t or ('"python_implementation"' in t and '"cpu"' in t))


formats.register("pytest-benchmark", "benchmark", read_pytest_benchmark, sniff=sniff,
                 description="pytest-benchmark --benchmark-json, or a run saved in .benchmarks/ (rounds only with --benchmark-save-data)")
