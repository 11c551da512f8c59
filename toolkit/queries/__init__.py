"""Slow queries: database logs as query events, fingerprints, a digest, detectors and plans.

    >>> import toolkit as tk
    >>> events = tk.read_queries("sample_traces/queries/postgresql/app.log")   # doctest: +SKIP
    >>> tk.digest(events).head()                                               # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from .. import formats


def read_queries(path: Any, format: str | None = None, *, errors: str = "skip", **options: Any):
    """Read a database log into the ``query_events`` table (see :mod:`toolkit.schema`).

    The format (PostgreSQL stderr, csvlog or jsonlog; MySQL/MariaDB slow log) is detected
    unless ``format`` names it. ``df.attrs["source"]`` accounts for every input line.
    """
    return formats.read(path, kind="queries", format=format, errors=errors, **options)


def read_server_events(path: Any, format: str | None = None, *, errors: str = "skip", **options: Any):
    """Read the same logs' other events (connections, checkpoints, temp files, lock waits,
    errors, ...) into the ``server_events`` table."""
    return formats.read(path, kind="queries", format=format, table="server_events",
                        errors=errors, **options)


_LAZY = {"fingerprint": ".fingerprint", "fingerprint_id": ".fingerprint", "digest": ".digest",
         "read_plan": ".plans", "plan_nodes": ".plans"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'toolkit.queries' has no attribute {name!r}")
