"""The Dask engine: the same scanners, digests and endpoint tables on a Dask cluster.

``engine="dask"`` on :func:`toolkit.read_queries`, :func:`toolkit.read_server_events` and
:func:`toolkit.read_access_log` turns files, globs, folders or fsspec URLs into a
``dask.dataframe.DataFrame`` (:mod:`.frames`): one partition per group of byte ranges, each range
cut as the local worker processes cut theirs (:mod:`.partitions`). :func:`toolkit.digest`,
:func:`toolkit.endpoints`, the time series of :mod:`toolkit.http.timeseries` and
:func:`toolkit.findings` accept such a frame and run as tree reductions of the mergeable states
the local workers already merge (:mod:`.reductions`). For a digest or endpoint table of log files,
:mod:`.direct` skips the frames: the local byte-range digests run on the workers, about the local
path's speed per byte (``perf-toolkit analyze --engine dask`` uses it). :mod:`.cluster` starts or
joins a cluster.

Dask is an optional extra (``pip install "perf-toolkit[dask]"``): nothing here imports it until
a Dask path is asked for, and then a missing Dask is a :class:`~toolkit.errors.MissingDependencyError`.

    >>> import toolkit as tk
    >>> events = tk.read_queries("logs/*/postgresql.log", engine="dask")   # doctest: +SKIP
    >>> tk.digest(events).head()                                          # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ..engines import check_engine, is_dask
from ..errors import MissingDependencyError

__all__ = ["require", "is_dask", "check_engine", "EXTRA"]

EXTRA = 'perf-toolkit[dask]'


def require() -> Any:
    """``dask.dataframe``, imported now; a MissingDependencyError naming the extra without it."""
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise MissingDependencyError(f"Dask (engine='dask'; importing it failed: {exc})",
                                     f'pip install "{EXTRA}"') from exc
    return dd
