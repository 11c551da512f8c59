"""Figures: every function returns a plotly Figure; plots only draw, analyses aggregate first.

    >>> import toolkit as tk
    >>> fig = tk.plots.flame(prof)          # doctest: +SKIP

Functions live in one module per subject and are reachable as ``tk.plots.<name>``.
"""

from __future__ import annotations

import importlib
from typing import Any

# One module per subject; a name is looked up in each, in this order.
MODULES = ("flame", "functions", "queries", "plans", "http", "complexity", "findings")


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    for module in MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module}":
                raise
            continue
        if hasattr(mod, name) and not name.startswith("_"):
            return getattr(mod, name)
    raise AttributeError(f"toolkit.plots has no figure function {name!r}")
