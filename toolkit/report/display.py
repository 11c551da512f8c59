"""Redact what a notebook shows, not what it computes: the ``REDACT`` parameter of the curated
notebooks.

``redact_display(True)`` installs IPython display formatters so that DataFrames and Series
(column by column, by the rules of :class:`~toolkit.report.redact.Redactor`: SQL for
statements, URL rules for paths, pseudonyms for clients...), plotly figures (their labels and
hover text), findings shown as Markdown (:class:`toolkit.findings.FindingsMarkdown`) and the
values of sentences about the data (:class:`toolkit.report.prose.Prose`) are redacted as they
are displayed. The variables keep their literal values, so every analysis and
detector still runs on real data; only the outputs, which an export shares, are redacted.
``perf-toolkit notebook`` runs the curated notebooks with ``REDACT=True``; interactively they
default to ``REDACT=False`` (your own data, on your own screen). ``redact_display(False)``
removes the formatters again. What a cell prints is not a display: the export's own net
(:mod:`toolkit.report.outputs`) redacts it.

    >>> import toolkit as tk
    >>> tk.report.redact_display(REDACT)       # in a notebook, after its parameters  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from .redact import Redactor


def _shown(df: pd.DataFrame, redactor: Redactor) -> pd.DataFrame:
    """``df`` redacted where pandas will show it: all of it up to ``display.max_rows``, else
    the head and tail rows it prints (a million-row frame is not redacted row by row; the
    rows in between are never shown)."""
    limit = pd.get_option("display.max_rows")
    if limit is None or len(df) <= limit:
        return redactor.frame(df)
    k = (pd.get_option("display.min_rows") or limit) // 2 + 1
    head, tail = redactor.frame(df.iloc[:k]), redactor.frame(df.iloc[-k:])
    out = df.copy()
    try:
        for j in range(df.shape[1]):
            out.iloc[:k, j] = head.iloc[:, j].to_numpy()
            out.iloc[-k:, j] = tail.iloc[:, j].to_numpy()
    except (TypeError, ValueError):  # a dtype that will not take the redacted values: all of it
        return redactor.frame(df)
    out.columns = head.columns
    if not (pd.api.types.is_numeric_dtype(df.index.dtype) or pd.api.types.is_datetime64_any_dtype(df.index.dtype)):
        out.index = redactor.frame(pd.DataFrame(index=df.index)).index
    return out


def _figure_display(redactor: Redactor) -> Any:
    import IPython.display

    def show(fig: Any) -> None:
        import plotly.graph_objects as go

        # the bundle of the redacted copy, displayed raw: through the formatters it would be
        # redacted again, and again
        IPython.display.display(go.Figure(redactor.figure(fig))._repr_mimebundle_(), raw=True)

    return show


def _formatters(ipython: Any) -> dict[str, Any]:
    f = ipython.display_formatter
    return {"html": f.formatters["text/html"], "plain": f.formatters["text/plain"],
            "markdown": f.formatters["text/markdown"], "display": f.ipython_display_formatter}


def _types() -> dict[str, list[type]]:
    from plotly.basedatatypes import BaseFigure

    from ..findings import FindingsMarkdown
    from .prose import Prose

    return {"html": [pd.DataFrame], "plain": [pd.DataFrame, pd.Series, FindingsMarkdown, Prose],
            "markdown": [FindingsMarkdown, Prose], "display": [BaseFigure]}


def redact_display(enabled: bool = True, *, ipython: Any = None) -> None:
    """Show DataFrames, Series, plotly figures and findings redacted in this IPython session
    (``enabled``), or as they are (``False``: the formatters are removed). Outside IPython it
    does nothing."""
    if ipython is None:
        try:
            from IPython import get_ipython
        except ModuleNotFoundError:
            return
        ipython = get_ipython()
    if ipython is None:
        return
    formatters = _formatters(ipython)
    for kind, types in _types().items():
        for t in types:
            formatters[kind].pop(t, None)
    if not enabled:
        return
    from ..findings import FindingsMarkdown

    r = Redactor()  # one pseudonym table for the whole notebook
    formatters["html"].for_type(pd.DataFrame, lambda df: _shown(df, r)._repr_html_())
    formatters["plain"].for_type(pd.DataFrame, lambda df, p, cycle: p.text(repr(_shown(df, r))))
    formatters["plain"].for_type(pd.Series, lambda s, p, cycle: p.text(repr(r.series(s))))

    def findings(view: FindingsMarkdown) -> FindingsMarkdown:
        return dataclasses.replace(view, table=r.frame(view.table, "findings"))

    formatters["markdown"].for_type(FindingsMarkdown, lambda v: findings(v)._repr_markdown_())
    formatters["plain"].for_type(FindingsMarkdown, lambda v, p, cycle: p.text(repr(findings(v))))
    # sentences about the data (toolkit.report.prose): their values, not the author's words
    from .prose import Prose

    formatters["markdown"].for_type(Prose, lambda v: v.markdown(r.cell))
    formatters["plain"].for_type(Prose, lambda v, p, cycle: p.text(v.text(r.cell)))
    from plotly.basedatatypes import BaseFigure

    formatters["display"].for_type(BaseFigure, _figure_display(r))
