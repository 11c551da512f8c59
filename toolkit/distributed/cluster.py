"""A Dask cluster to run on: an existing scheduler, or a LocalCluster on this machine.

    >>> with client(jobs=2) as c:                   # doctest: +SKIP
    ...     print(c.dashboard_link)
    ...     tk.digest(tk.read_queries("logs/", engine="dask"))

A LocalCluster has one single-threaded worker process per core (``jobs``): the scanners hold
the GIL, so threads would not add throughput. ``progress()`` makes the reductions of
:mod:`.reductions` show Dask's text progress bar (on stderr) while they run.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from . import require

PROGRESS_KEY = "perf-toolkit.progress"


@contextlib.contextmanager
def client(scheduler: str | None = None, *, jobs: int | None = None,
           say: Callable[[str], None] | None = None, dashboard: bool = True,
           memory_limit: str | int = "auto") -> Iterator[Any]:
    """A ``distributed.Client``, the default scheduler inside the block: connected to
    ``scheduler`` (``tcp://host:8786``), else to a new LocalCluster of ``jobs`` worker processes
    (default: the machine's cores), closed at the end. ``say`` hears the dashboard link."""
    require()
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        c = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=":0" if dashboard else None,
                               memory_limit=memory_limit)
        c = Client(cluster)
    try:
        if say is not None:
            where = scheduler or f"a local cluster of {len(c.scheduler_info()['workers'])} worker process(es)"
            link = c.dashboard_link if dashboard or scheduler else "off"
            say(f"Dask: {where}; dashboard: {link}")
        yield c
    finally:
        c.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def progress() -> Iterator[None]:
    """Inside the block, every reduction shows Dask's progress bar on stderr."""
    import dask

    with dask.config.set({PROGRESS_KEY: True}):
        yield


def compute_with_progress(obj: Any, **compute_options: Any) -> Any:
    """``dask.compute(obj)[0]``, with the progress bar when :func:`progress` asks for it and a
    distributed client is the scheduler."""
    import dask

    if dask.config.get(PROGRESS_KEY, False):
        try:
            from distributed import get_client
            from distributed import progress as bar
            c = get_client()
        except (ImportError, ValueError):
            c = None
        if c is not None:
            future = c.compute(obj, **compute_options)
            with contextlib.redirect_stdout(sys.stderr):  # (the bar writes to stdout)
                bar(future)
            return future.result()
    return dask.compute(obj, **compute_options)[0]
