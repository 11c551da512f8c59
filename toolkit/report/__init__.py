"""Shared results: the offline HTML report of an analysis, and curated notebooks run on a
user's own files and exported to offline HTML.

    >>> import toolkit as tk
    >>> from toolkit.report.analyze import analyze
    >>> tk.write_report(analyze(["sample_traces/"]), "report.html")             # doctest: +SKIP
    >>> from toolkit.report import run_notebook
    >>> run_notebook("01_hot_paths", "out.html", {"profile": "my.speedscope.json"})  # doctest: +SKIP

Shared outputs are redacted by default (report, notebook exports); in a notebook,
``redact_display(REDACT)`` redacts what it shows (see :mod:`toolkit.report.display`).
``say``, ``code``, ``not_applicable`` and ``table`` write a notebook's sentences about the data
(:mod:`toolkit.report.prose`); ``parameters`` reads its parameters in the command line's forms.
"""

from __future__ import annotations

from typing import Any

from .display import redact_display
from .prose import code, not_applicable, say, table
from .render import build, render

write_report = render

__all__ = ["build", "render", "write_report", "run_notebook", "redact_display", "say", "code",
           "not_applicable", "table", "parameters"]


def __getattr__(name: str) -> Any:
    # papermill/nbconvert are imported only when a notebook is run (`import toolkit` stays fast)
    if name in ("run_notebook", "export_html", "find_notebook", "notebooks_dir"):
        from . import notebooks

        return getattr(notebooks, name)
    if name == "parameters":
        import importlib

        return importlib.import_module(".parameters", __name__)
    raise AttributeError(f"module 'toolkit.report' has no attribute {name!r}")
