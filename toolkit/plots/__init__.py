"""Figures: every function returns a plotly Figure; plots only draw, analyses aggregate first.

    >>> import toolkit as tk
    >>> fig = tk.plots.flame(prof)          # doctest: +SKIP

Functions live in one module per subject and are reachable as ``tk.plots.<name>``.
"""

from __future__ import annotations

import importlib
import inspect

# One module per subject. Their public functions are bound here eagerly: a lazy lookup would be
# shadowed by the submodule itself once imported (``tk.plots.flame`` is the function, not the
# module flame.py).
MODULES = ("flame", "functions", "queries", "plans", "http", "complexity", "findings", "bench", "requests")


def _bind() -> list[str]:
    names = []
    for module in MODULES:
        mod = importlib.import_module(f"{__name__}.{module}")
        for name, value in vars(mod).items():
            if (not name.startswith("_") and inspect.isfunction(value)
                    and value.__module__ == mod.__name__):
                globals()[name] = value
                names.append(name)
    return names


__all__ = _bind()
