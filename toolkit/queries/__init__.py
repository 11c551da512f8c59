"""Slow queries: database logs as query events, fingerprints, a digest, detectors and plans.

    >>> import toolkit as tk
    >>> events = tk.read_queries("sample_traces/queries/postgresql/app.log")   # doctest: +SKIP
    >>> tk.digest(events).head()                                               # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from .. import engines, formats


def read_queries(path: Any, format: str | None = None, *, errors: str = "skip",
                 engine: str | None = None, **options: Any):
    """Read a database log into the ``query_events`` table (see :mod:`toolkit.schema`).

    The format (PostgreSQL stderr, csvlog or jsonlog; MySQL/MariaDB slow log) is detected
    unless ``format`` names it. ``df.attrs["source"]`` accounts for every input line.
    sqlcommenter / marginalia comments in the SQL become ``tag_<key>`` columns (and ``trace_id``,
    ``span_id`` from a ``traceparent``): see :mod:`toolkit.queries.sqlcomment`.

    ``engine="dask"``: ``path`` may be files, globs, folders or fsspec URLs, read as one
    ``dask.dataframe.DataFrame`` (its ``tag_`` columns found by a first pass over the text; see
    :mod:`toolkit.distributed.frames`).
    """
    if engines.check_engine(engine):
        return engines.engine(engine).read(path, "query_events", format=format, errors=errors, **options)
    return add_comment_columns(formats.read(path, kind="queries", format=format, errors=errors, **options))


def read_server_events(path: Any, format: str | None = None, *, errors: str = "skip",
                       engine: str | None = None, **options: Any):
    """Read the same logs' other events (connections, checkpoints, temp files, lock waits,
    errors, ...) into the ``server_events`` table. ``engine="dask"``: as :func:`read_queries`
    (each file read whole: the server events have no byte-range reader)."""
    if engines.check_engine(engine):
        return engines.engine(engine).read(path, "server_events", format=format, errors=errors, **options)
    return formats.read(path, kind="queries", format=format, table="server_events",
                        errors=errors, **options)


# Imported eagerly: the functions ``digest`` and ``fingerprint`` must shadow the submodules of
# the same names (a lazy lookup would return the module once anything imported it).
from .digest import digest  # noqa: E402
from .fingerprint import fingerprint, fingerprint_id  # noqa: E402
from .plans import plan_nodes, read_plan  # noqa: E402
from .sqlcomment import add_comment_columns  # noqa: E402

__all__ = ["read_queries", "read_server_events", "fingerprint", "fingerprint_id", "digest",
           "read_plan", "plan_nodes"]
