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


def start(scheduler: str | None = None, *, jobs: int | None = None, dashboard: bool = True,
          memory_limit: str | int = "auto") -> Any:
    """A ``distributed.Client``, now the default scheduler: connected to ``scheduler``
    (``tcp://host:8786``), else to a new LocalCluster of ``jobs`` single-threaded worker
    processes (default: the machine's cores). ``client.shutdown()`` ends a local cluster;
    ``client.close()`` leaves a shared scheduler running."""
    require()
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=":0" if dashboard else None, memory_limit=memory_limit)
    return Client(cluster)


def describe(c: Any, scheduler: str | None = None) -> str:
    """Where the work runs, in words: the scheduler's address or the local cluster's size."""
    if scheduler:
        return f"the scheduler at {scheduler}"
    return f"a local cluster of {len(c.scheduler_info()['workers'])} worker process(es)"


@contextlib.contextmanager
def client(scheduler: str | None = None, *, jobs: int | None = None,
           say: Callable[[str], None] | None = None, dashboard: bool = True,
           memory_limit: str | int = "auto") -> Iterator[Any]:
    """:func:`start` for the block: the client (and a local cluster) closed at its end.
    ``say`` hears where the work runs and the dashboard link."""
    c = start(scheduler, jobs=jobs, dashboard=dashboard, memory_limit=memory_limit)
    try:
        if say is not None:
            link = c.dashboard_link if dashboard or scheduler else "off"
            say(f"Dask: {describe(c, scheduler)}; dashboard: {link}")
        yield c
    finally:
        if scheduler:
            c.close()
        else:
            c.shutdown()


@contextlib.contextmanager
def progress() -> Iterator[None]:
    """Inside the block, every reduction shows Dask's progress bar on stderr."""
    import dask

    with dask.config.set({PROGRESS_KEY: True}):
        yield


def delayed_tree(items: Any, leaf: Callable[[Any], Any], node: Callable[..., Any], split_every: int) -> Any:
    """``leaf`` over ``items`` as ``Delayed`` tasks, joined ``split_every`` at a time by
    ``node(*children)`` (children in input order) up a tree to one ``Delayed`` (None: no item).
    About ``n / (split_every - 1)`` node tasks for ``n`` items. The one tree every reduction
    builds (:mod:`.reductions` of frames, :mod:`.direct` of byte ranges)."""
    import dask

    level = [dask.delayed(leaf, pure=True)(x) for x in items]
    while len(level) > 1:
        level = [dask.delayed(node, pure=True)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return level[0] if level else None


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
