"""The ``benchmark_samples`` table: one row per measured round of a benchmark in a run.

Every benchmark reader (:mod:`.pytest_benchmark`, :mod:`.asv`, :mod:`.hyperfine`) yields small
:class:`SampleRecord` values that :func:`build_samples` turns into this table, and
:func:`read_benchmarks` reads one file, a list of files or a folder of runs into one table.

Columns (``schema.columns("benchmark_samples")``): ``benchmark``, ``group``, ``params`` (``k=v``
joined by ``, ``; empty when the benchmark has none), ``run`` (the run's label: by default the
file name without ``.json``, or asv's commit), ``round`` (0-based; null for a summary row),
``value_s`` (seconds per call; other units are named in ``unit``), ``unit``, ``summary_only``
(True when the tool kept no rounds and ``value_s`` is its median), ``rounds`` and
``iterations`` (the tool's counts: a round's value is the mean of ``iterations`` calls),
``machine``, ``commit``, ``timestamp`` (UTC, when the run or benchmark started), ``tool``,
``tool_version``. Readers add columns where the tool records more (hyperfine's ``user_s``,
``system_s``, ``exit_code``; pytest-benchmark's ``extra_info`` as ``extra_<key>``; asv's
``commit_date``). ``attrs["source"]`` holds the accounting, ``attrs["tool_summary"]`` what the
tool itself reported per benchmark (its median, mean, min, max, rounds), so that a reader's
figures can be checked against the tool's.

Example::

    >>> import toolkit as tk
    >>> runs = tk.read_benchmarks("sample_traces/bench/pytest-benchmark/base/base-01.json")   # doctest: +SKIP
    >>> runs.groupby("benchmark")["value_s"].median()                                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .. import formats, schema
from ..errors import InputError, ParseError, UnknownFormatError
from ..sources import Source, iter_files

schema.register_table("benchmark_samples", [
    ("benchmark", "str", "benchmark name as the tool reports it"),
    ("group", "str", "the tool's group, where it has one"),
    ("params", "str", "parameters as k=v joined by ', ' (empty when none)"),
    ("run", "str", "label of the run: file name, commit or the tool's run id"),
    ("round", "int", "0-based round within the run; null for a summary row"),
    ("value_s", "float", "seconds per call (or the unit in `unit`)"),
    ("unit", "str", "seconds, or the tool's unit for non-time benchmarks"),
    ("summary_only", "bool", "True when the tool kept no rounds: value_s is its median"),
    ("rounds", "int", "rounds the tool ran"),
    ("iterations", "int", "calls per round (a round's value is their mean)"),
    ("machine", "str", "machine name as the tool recorded it"),
    ("commit", "str", "commit id where recorded"),
    ("timestamp", "datetime", "UTC time the run (or benchmark) started"),
    ("tool", "str", "pytest-benchmark / asv / hyperfine"),
    ("tool_version", "str", ""),
])

KEY = ["benchmark", "params"]  # what identifies one benchmark across runs


@dataclasses.dataclass
class SampleRecord:
    """One benchmark of one run, as a reader finds it: its rounds, or only the tool's median."""

    benchmark: str
    values: list[float]
    group: str | None = None
    params: str = ""
    summary_only: bool = False
    rounds: int | None = None
    iterations: int | None = None
    unit: str = "seconds"
    timestamp: Any = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # columns of every row
    per_round: Mapping[str, list[Any]] = dataclasses.field(default_factory=dict)  # one value per round


def format_params(params: Mapping[str, Any] | None) -> str:
    """``{"n": 100, "mode": "a"}`` -> ``"mode=a, n=100"`` (sorted, so runs line up)."""
    if not params:
        return ""
    return ", ".join(f"{k}={params[k]}" for k in sorted(params))


def run_label(src: Source, run: str | None, suffixes: tuple[str, ...] = (".json",)) -> str:
    """The run label: the caller's, else the file name without the first of ``suffixes`` it
    ends with (and without a compression suffix)."""
    if run:
        return run
    name = os.path.basename(src.name)
    for suffix in (".gz", ".bz2", ".xz", ".zst"):
        name = name.removesuffix(suffix)
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def build_samples(records: Iterable[SampleRecord], src: Source, *, run: str, tool: str,
                  tool_version: str | None = None, machine: str | None = None, commit: str | None = None,
                  timestamp: Any = None, tool_summary: list[dict[str, Any]] | None = None,
                  meta: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The ``benchmark_samples`` table of one run; ``attrs`` gets source, tool_summary and meta."""
    rows: list[dict[str, Any]] = []
    for rec in records:
        base = {"benchmark": rec.benchmark, "group": rec.group, "params": rec.params, "run": run,
                "unit": rec.unit, "summary_only": rec.summary_only, "rounds": rec.rounds,
                "iterations": rec.iterations, "machine": machine, "commit": commit,
                "timestamp": rec.timestamp if rec.timestamp is not None else timestamp,
                "tool": tool, "tool_version": tool_version, **rec.extra}
        for i, value in enumerate(rec.values):
            rows.append({**base, "round": None if rec.summary_only else i, "value_s": value,
                         **{k: v[i] if i < len(v) else None for k, v in rec.per_round.items()}})
        src.accounting.records += 1
    df = pd.DataFrame(rows) if rows else schema.empty("benchmark_samples")
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="mixed") \
        if len(df) else df["timestamp"]
    df = schema.coerce(df, "benchmark_samples")
    df.attrs = {"source": src.accounting.as_dict(), "tool_summary": list(tool_summary or []),
                "meta": dict(meta or {})}
    return df


def read_benchmarks(path: Any, format: str | None = None, *, run: str | None = None,
                    errors: str = "skip", **options: Any) -> pd.DataFrame:
    """Read benchmark results into the ``benchmark_samples`` table (see the module docstring).

    ``path``: one result file (pytest-benchmark ``--benchmark-json``, an asv result file,
    hyperfine ``--export-json``; format detected unless ``format`` names it), a list of them, or a
    folder (every benchmark result under it, e.g. asv's ``results/`` or pytest-benchmark's
    ``.benchmarks/``: one run per file). Files in a folder that are no benchmark result (asv's
    ``machine.json``, notes) are listed in ``attrs["skipped_files"]`` with the reason. ``run``
    labels a single file's run (default: its name).
    """
    if isinstance(path, (list, tuple)) or (isinstance(path, (str, os.PathLike)) and os.path.isdir(path)):
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        return _read_many(paths, format, errors=errors, **options)
    return formats.read(path, kind="benchmark", format=format, run=run, errors=errors, **options)


def _read_many(paths: list[Any], format: str | None, **options: Any) -> pd.DataFrame:
    frames, sources, summaries, skipped = [], [], [], []
    files = list(iter_files([os.fspath(p) for p in paths]))
    for file in files:
        try:
            fmt = formats.get(format) if format else formats.detect(file, "benchmark")
        except UnknownFormatError as exc:
            skipped.append({"path": file, "reason": exc.reason or str(exc)})
            continue
        df = formats.read(file, format=fmt.name, **options)
        frames.append(df)
        sources.append(df.attrs.get("source", {}))
        summaries.extend(df.attrs.get("tool_summary", []))
    if not frames:
        where = ", ".join(map(os.fspath, paths))
        raise InputError(f"{where}: no benchmark results found ({len(files)} file(s) looked at)")
    out = pd.concat([f.reset_index(drop=True) for f in frames], ignore_index=True)
    out = schema.coerce(out, "benchmark_samples")
    out.attrs = {"source": combined_source(paths, sources), "sources": sources,
                 "tool_summary": summaries, "skipped_files": skipped}
    return out


def combined_source(paths: list[Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """One accounting dict for several inputs (sums of the counts, the formats seen)."""
    out: dict[str, Any] = {"path": ", ".join(map(os.fspath, paths)), "files": len(sources),
                           "format": ", ".join(sorted({s.get("format") or "?" for s in sources}))}
    for key in ("lines_read", "records", "lines_skipped", "replaced_bytes"):
        out[key] = sum(int(s.get(key) or 0) for s in sources)
    reasons: dict[str, int] = {}
    for s in sources:
        for reason, n in (s.get("skip_reasons") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + n
    out["skip_reasons"] = reasons
    out["skipped"] = [example for s in sources for example in (s.get("skipped") or [])][:20]
    return out


def need(cond: bool, src: Source, message: str, expected: str) -> None:
    """Raise a ParseError naming the file when ``cond`` is false."""
    if not cond:
        raise ParseError(message, src.name, expected=expected)


def as_float(value: Any) -> float | None:
    """A finite float, or None (JSON null, text, NaN)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and out not in (float("inf"), float("-inf")) else None


__all__ = ["SampleRecord", "build_samples", "read_benchmarks", "format_params", "run_label", "KEY",
           "combined_source", "need", "as_float"]
