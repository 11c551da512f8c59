"""The HTML change report of ``perf-toolkit compare``: one offline page with the verdicts, the
ratio forest plot, the distributions (benchmarks) and the full comparison table.

The offline report's safety rules hold (:mod:`toolkit.report.html`): plotly.js embedded once,
a Content-Security-Policy that forbids every request, every text escaped. Query fingerprints
carry no literals; access-log endpoints are templated paths, and their query strings are not
shown.

    >>> from toolkit.bench.compare import compare_inputs
    >>> from toolkit.report.compare import write_change_report
    >>> write_change_report(compare_inputs("base.json", "head.json"), "change.html")   # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..bench.compare import VERDICT_ORDER, VIEWS, Comparison
from .html import Document


def build_change_report(comparison: Comparison, *, title: str = "perf-toolkit: what changed") -> Document:
    """The change report as a :class:`~toolkit.report.html.Document`."""
    from .. import plots

    table = comparison.table
    options = table.attrs.get("options") or {}
    doc = Document(title, subtitle=f"{comparison.kind}: {os.path.basename(comparison.base_path)} (base) -> "
                                   f"{os.path.basename(comparison.head_path)} (head)",
                   meta=[f"base: {comparison.base_path}", f"head: {comparison.head_path}"])
    doc.heading("Verdicts")
    counts = table["verdict"].value_counts() if len(table) else pd.Series(dtype=int)
    doc.kv({v: int(counts.get(v, 0)) for v in VERDICT_ORDER if counts.get(v, 0)} or {"compared": 0})
    doc.text(f"A verdict is slower or faster only when the change is significant after Benjamini-Hochberg "
             f"(q < {options.get('alpha', 0.05)}), its {options.get('confidence', 0.95):.0%} interval lies wholly "
             f"on one side of no change, and it is at least {options.get('min_effect', 0.05):.0%}.")
    slower = table[table["verdict"] == "slower"] if len(table) else table
    if len(slower):
        doc.note(f"{len(slower)} significant slowdown(s).", kind="error")
    if len(table) and table["ratio"].notna().any():
        doc.heading("Ratios with their intervals")
        shown = table[table["verdict"].isin(["slower", "faster"])] if len(table) > 40 else table
        doc.figure(plots.ratio_forest(shown.head(60)), caption="head / base; the grey band is the minimum effect")
    if comparison.kind == "benchmarks" and len(table):
        doc.heading("Every round, base vs head")
        doc.figure(plots.benchmark_distributions(comparison.base, comparison.head, table))
    doc.heading("The comparison table")
    keys = VIEWS[comparison.kind][0]
    cols = [c for c in table.columns if c not in ("p_value",)]
    lead = [k for k in keys if k in cols]
    doc.table(table[lead + [c for c in cols if c not in lead]], max_rows=500,
              code_columns=["fingerprint"] if "fingerprint" in table else ())
    return doc


def write_change_report(comparison: Comparison, path: str | os.PathLike) -> Path:
    """Write the change report; returns its path."""
    return build_change_report(comparison).write(path)
