"""Where a table is computed: pandas in this process (the default) or an engine on a cluster.

The readers and aggregates (``read_queries``, ``digest``, ``endpoints``, the time series,
``findings``) take ``engine="dask"`` or a Dask frame and hand the work to the engine's module,
found here by name and imported only then (as pandas finds its plotting backends): the engine
builds on those readers and aggregates, so they must not import it.

    >>> check_engine(None), check_engine("pandas"), check_engine("dask")
    (False, False, True)
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

# engine name -> the module that implements it (read, compute, digest, endpoints, time series)
ENGINES = {"dask": "toolkit.distributed.engine"}


def check_engine(engine: str | None) -> bool:
    """True for ``engine="dask"``, False for None / ``"pandas"``; a ValueError otherwise."""
    if engine in (None, "pandas"):
        return False
    if engine in ENGINES:
        return True
    raise ValueError(f"engine must be 'pandas' or one of {sorted(ENGINES)}, not {engine!r}")


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask collection (checked without importing Dask)."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr")


def engine(name: str = "dask") -> ModuleType:
    """The module implementing engine ``name`` (imported now)."""
    return importlib.import_module(ENGINES[name])


def engine_of(obj: Any) -> ModuleType | None:
    """The engine that computes ``obj`` (a Dask frame: the Dask engine), None for pandas."""
    return engine("dask") if is_dask(obj) else None
