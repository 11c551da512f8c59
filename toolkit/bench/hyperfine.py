"""hyperfine ``--export-json``.

Format (hyperfine 1.15): https://github.com/sharkdp/hyperfine/blob/v1.15.0/src/export/json.rs
(``BenchmarkResult`` in src/benchmark/benchmark_result.rs)::

    {"results": [{"command": "parse_orders", "mean": 0.0861, "stddev": 0.0065, "median": 0.0849,
                  "user": 0.0702, "system": 0.0151, "min": 0.0771, "max": 0.1062,
                  "times": [0.0812, 0.0849, ...], "exit_codes": [0, 0, ...],
                  "parameters": {"repeat": "500"}}]}

Quirks: ``command`` is the ``-n`` name when one was given, else the command line. ``times`` are
wall-clock seconds per run (process start to exit, so they include interpreter start-up);
``user`` and ``system`` are means over the runs (this version keeps no per-run CPU times): they
are repeated on every row as ``user_s``/``system_s``. ``parameters`` appears with
``--parameter-scan`` / ``--parameter-list``; each value is a row of its own (``params``).
``exit_codes`` holds null for a run killed by a signal; a run that failed is kept with its
``exit_code`` (hyperfine only keeps them with ``-i``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import formats
from ..sources import open_source
from ..sources import read_json_document as load_json
from .samples import SampleRecord, as_float, build_samples, format_params, need, run_label

EXPECTED = "hyperfine --export-json output"


def read_hyperfine(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read hyperfine's JSON export into ``benchmark_samples`` (one row per timed run)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "hyperfine"
    doc = load_json(src, EXPECTED)
    need(isinstance(doc, dict) and isinstance(doc.get("results"), list), src, "no results list", EXPECTED)
    records, summary = [], []
    for i, res in enumerate(doc["results"]):
        times = res.get("times") if isinstance(res, dict) else None
        values = [as_float(t) for t in times] if isinstance(times, list) else []
        if not isinstance(res, dict) or not res.get("command") or not values or None in values:
            src.accounting.skip(None, "a result without command or numeric times", f"results[{i}]")
            continue
        params = format_params(res.get("parameters"))
        codes = res.get("exit_codes") if isinstance(res.get("exit_codes"), list) else []
        records.append(SampleRecord(
            benchmark=str(res["command"]), values=values, params=params, rounds=len(values), iterations=1,
            extra={"user_s": as_float(res.get("user")), "system_s": as_float(res.get("system"))},
            per_round={"exit_code": codes}))
        summary.append({"benchmark": str(res["command"]), "params": params,
                        **{k: res.get(k) for k in ("mean", "stddev", "median", "min", "max", "user", "system")},
                        "rounds": len(values)})
    df = build_samples(records, src, run=run_label(src, run), tool="hyperfine", tool_summary=summary)
    if "exit_code" in df:
        df["exit_code"] = df["exit_code"].astype("Int64")
    return df


def sniff(head: formats.Head) -> bool:
    t = head.text.lstrip()
    return t.startswith("{") and '"results"' in t and '"times"' in t and '"command"' in t


formats.register("hyperfine", "benchmark", read_hyperfine, sniff=sniff,
                 description="hyperfine --export-json (every run's wall time)")
