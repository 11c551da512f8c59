"""asv (airspeed velocity) result files: ``results/<machine>/<commit[:8]>-<env>.json``.

Format (asv 0.6, result file version 2): https://github.com/airspeed-velocity/asv/blob/v0.6.4/asv/results.py
(``Results.save`` / ``_get_result_columns``)::

    {"commit_hash": "ecac3709...", "env_name": "existing-py_...", "date": 1796636147000,
     "params": {"machine": "demo", "python": "3.11", ...}, "python": "3.11",
     "result_columns": ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
                        "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
                        "samples", "profile"],
     "results": {"bench_shop.Checksum.time_checksum":
                     [[0.00132, 0.00536], [["100", "400"]], "6eea54...", 1796636150548, 1.17,
                      [...], [...], [...], [...], [8, 2], [10, 10], [[0.00133, ...], [0.00547, ...]]]},
     "durations": {...}, "version": 2}

Quirks: each benchmark's list follows ``result_columns`` and is cut after its last non-null
entry. A parameterised benchmark's ``result`` (and ``samples``) holds one entry per combination
of its parameter lists (their cartesian product, in order); a combination that failed is null and
is skipped with its reason. ``samples`` (each a mean of ``stats_number`` calls) are stored only by
``asv run --record-samples``; without them ``result`` (asv's median) is kept as a summary row.
``date`` is the *commit's* date in ms (``commit_date``); ``started_at`` is when the benchmark ran
(``timestamp``). The unit is read from ``benchmarks.json`` in the results folder when present,
else from the name (``time_`` seconds, ``mem_``/``peakmem_`` bytes, ``track_`` the tool's
``unit`` attribute, unknown here). ``run`` is the commit's first 8 characters, as asv names files.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import pandas as pd

from .. import formats
from ..sources import Source, open_source
from ..sources import read_json_document as load_json
from .samples import SampleRecord, as_float, build_samples, need

EXPECTED = "an asv result file (results/<machine>/<commit>-<env>.json)"
_PREFIX_UNITS = (("time_", "seconds"), ("timeraw_", "seconds"), ("peakmem_", "bytes"), ("mem_", "bytes"))


def _benchmarks_json(src: Source) -> dict[str, Any]:
    """asv's benchmarks.json (units, parameter names) two folders up, or {}."""
    if not src.path:
        return {}
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(src.path))), "benchmarks.json")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _unit(name: str, info: dict[str, Any]) -> str:
    if isinstance(info.get("unit"), str):
        return info["unit"]
    short = name.rsplit(".", 1)[-1]
    return next((unit for prefix, unit in _PREFIX_UNITS if short.startswith(prefix)), "unknown")


def _param_names(info: dict[str, Any], n: int) -> list[str]:
    names = info.get("param_names")
    if isinstance(names, list) and len(names) == n:
        return [str(x) for x in names]
    return [f"param{i + 1}" for i in range(n)]


def read_asv(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read one asv result file into ``benchmark_samples`` (one row per recorded sample)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "asv"
    doc = load_json(src, "asv result file")
    need(isinstance(doc, dict) and isinstance(doc.get("results"), dict) and "commit_hash" in doc, src,
         "no results / commit_hash", EXPECTED)
    columns = doc.get("result_columns") or ["result", "params", "version", "started_at", "duration",
                                            "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75",
                                            "stats_number", "stats_repeat", "samples", "profile"]
    known = _benchmarks_json(src)
    records, summary = [], []
    for name, row in doc["results"].items():
        if not isinstance(row, list) or not row:
            src.accounting.skip(None, "a benchmark entry that is not a list", name)
            continue
        entry = dict(zip(columns, row, strict=False))
        result = entry.get("result")
        params = entry.get("params") or []
        combos = list(itertools.product(*params)) if params else [()]
        if not isinstance(result, list):
            result = [result]
        samples = entry.get("samples")
        number = entry.get("stats_number")
        info = known.get(name, {}) if isinstance(known.get(name), dict) else {}
        names = _param_names(info, len(params))
        for i, combo in enumerate(combos):
            value = as_float(result[i]) if i < len(result) else None
            label = ", ".join(f"{k}={v}" for k, v in zip(names, combo, strict=True))
            if value is None:
                src.accounting.skip(None, "a benchmark (or parameter combination) without a result",
                                    f"{name} {label}".strip())
                continue
            kept = samples[i] if isinstance(samples, list) and i < len(samples) else None
            values = [as_float(v) for v in kept] if isinstance(kept, list) else []
            values = [v for v in values if v is not None]
            records.append(SampleRecord(
                benchmark=name, values=values or [value], params=label, summary_only=not values,
                rounds=len(values) or None,
                iterations=number[i] if isinstance(number, list) and i < len(number) else None,
                unit=_unit(name, info), timestamp=pd.to_datetime(entry.get("started_at"), unit="ms", utc=True)
                if isinstance(entry.get("started_at"), (int, float)) else None))
            summary.append({"benchmark": name, "params": label, "result": value,
                            "ci_99": [_at(entry.get("stats_ci_99_a"), i), _at(entry.get("stats_ci_99_b"), i)],
                            "q_25": _at(entry.get("stats_q_25"), i), "q_75": _at(entry.get("stats_q_75"), i)})
    commit = str(doc["commit_hash"])
    params = doc.get("params") or {}
    df = build_samples(records, src, run=run or commit[:8], tool="asv", machine=params.get("machine"),
                       commit=commit, tool_summary=summary,
                       meta={"env_name": doc.get("env_name"), "params": params, "python": doc.get("python")})
    date = doc.get("date")
    df["commit_date"] = pd.to_datetime(date, unit="ms", utc=True) if isinstance(date, (int, float)) else pd.NaT
    df["commit_date"] = df["commit_date"].astype("datetime64[ns, UTC]")
    df["env_name"] = doc.get("env_name")
    return df


def _at(values: Any, i: int) -> float | None:
    return as_float(values[i]) if isinstance(values, list) and i < len(values) else None


def sniff(head: formats.Head) -> bool:
    t = head.text.lstrip()
    return t.startswith("{") and '"commit_hash"' in t and '"results"' in t and '"env_name"' in t


formats.register("asv", "benchmark", read_asv, sniff=sniff,
                 description="asv result file (results/<machine>/<commit>-<env>.json)")
