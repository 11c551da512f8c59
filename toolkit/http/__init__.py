"""HTTP access logs: readers (nginx log_format, Apache LogFormat, JSON lines), endpoints, findings.

    >>> import toolkit as tk
    >>> requests = tk.read_access_log("sample_traces/http/nginx/combined.log.gz")   # doctest: +SKIP
    >>> tk.endpoints(requests).head()                                               # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from .accesslog import compile_format, iter_chunks, read_access_log

# Imported eagerly: the function ``endpoints`` must shadow the submodule of the same name.
from .endpoints import endpoints, template_paths

__all__ = ["read_access_log", "compile_format", "iter_chunks", "endpoints", "template_paths",
           "findings", "by_cache_status", "by_client", "by_upstream"]

_LAZY = {"findings": ".detectors", "by_cache_status": ".breakdown", "by_client": ".breakdown",
         "by_upstream": ".breakdown"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in ("conf", "breakdown"):  # submodules reached as tk.http.conf, tk.http.breakdown
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'toolkit.http' has no attribute {name!r}")
