"""Which line of application code issued a query: the call site of captured query events.

:func:`caller` walks the Python stack outward from the database driver and returns the first
frame that belongs to the application: not SQLAlchemy, not a database driver, not the standard
library, not this toolkit. For an ORM lazy load that is the line that touched the attribute
(``for order in orders: order.items`` -> the loop's line), for ``session.execute(...)`` the line
that called it.

:func:`call_site` summarises the call sites of a group of events (an N+1 run, a fingerprint) for
findings: the most frequent ``file:line`` and its function.

    >>> import pandas as pd
    >>> run = pd.DataFrame({"file": ["shop.py"] * 3, "line": [42] * 3, "function": ["totals"] * 3})
    >>> call_site(run)
    CallSite(file='shop.py', line=42, function='totals', share=1.0)
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable
from types import CodeType, FrameType
from typing import Any, NamedTuple

import pandas as pd

# Packages whose frames are never "the application": the ORM, the drivers, pools.
LIBRARY_PACKAGES = ("sqlalchemy", "psycopg", "psycopg2", "psycopg_pool", "pymysql", "MySQLdb",
                    "sqlite3", "asyncpg", "aiosqlite", "greenlet", "toolkit")


class CallSite(NamedTuple):
    file: str | None
    line: int | None
    function: str | None
    share: float = 1.0  # of the events summarised, the share issued from this site

    def __str__(self) -> str:
        return f"{self.function} at {self.file}:{self.line}"


def _package_dirs(names: Iterable[str]) -> tuple[str, ...]:
    dirs = []
    for name in names:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            dirs.append(os.path.dirname(os.path.abspath(path)) + os.sep)
    return tuple(dirs)


_STDLIB = tuple({os.path.abspath(p) + os.sep for p in (sysconfig.get_paths().get("stdlib"),
                                                        sysconfig.get_paths().get("platstdlib")) if p})


class FrameFilter:
    """Decides, once per code object, whether a frame is library code. Packages are looked up
    in ``sys.modules`` when the filter is made (a driver imported later is found on the next
    capture); ``skip`` adds the application's own helper packages (e.g. a repository layer)."""

    def __init__(self, skip: Iterable[str] = ()):
        self.dirs = _package_dirs((*LIBRARY_PACKAGES, *skip)) + _STDLIB
        self.cache: dict[CodeType, bool] = {}

    def is_library(self, code: CodeType) -> bool:
        hit = self.cache.get(code)
        if hit is None:
            name = code.co_filename
            hit = (name.startswith("<frozen") or not name
                   or os.path.abspath(name).startswith(self.dirs))
            self.cache[code] = hit
        return hit

    def caller(self, frame: FrameType | None) -> tuple[str | None, int | None, str | None]:
        """(file, line, function) of the first application frame at or outside ``frame``."""
        while frame is not None and self.is_library(frame.f_code):
            frame = frame.f_back
        if frame is None:
            return None, None, None
        code = frame.f_code
        return short_path(code.co_filename), frame.f_lineno, getattr(code, "co_qualname", code.co_name)


def short_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (so notebooks and
    reports show ``shop/views.py``, the same on every machine), else as it is."""
    if not os.path.isabs(path):
        return path
    cwd = os.getcwd() + os.sep
    return path[len(cwd):] if path.startswith(cwd) else path


def caller(skip: Iterable[str] = ()) -> tuple[str | None, int | None, str | None]:
    """(file, line, function) of the application code that called into the current database
    call; (None, None, None) when every frame is library code."""
    return FrameFilter(skip).caller(sys._getframe(1))


def call_site(rows: pd.DataFrame) -> CallSite | None:
    """The most frequent (file, line, function) among ``rows`` (captured query events), with
    the share of rows issued from it; None when the rows carry no call sites (logs)."""
    if not {"file", "line"} <= set(rows.columns) or rows["file"].isna().all():
        return None
    sites = rows[["file", "line"]].assign(
        function=rows["function"] if "function" in rows.columns else None).dropna(subset=["file"])
    counts = sites.astype("object").value_counts(dropna=False, sort=True)
    (file, line, function), n = counts.index[0], int(counts.iloc[0])
    return CallSite(str(file), None if pd.isna(line) else int(line),
                    None if function is None or pd.isna(function) else str(function),
                    round(n / len(rows), 4))


def finding_location(rows: pd.DataFrame, file: Any, line: Any) -> dict[str, Any]:
    """The hook findings use to name code: for captured events, ``file`` and ``line`` of the
    finding become the call site, with ``function`` and an ``evidence`` suffix; for log events
    (no call site) the log's ``file`` and ``line`` stay and the suffix is empty."""
    site = call_site(rows)
    if site is None:
        return {"file": file, "line": line, "function": None, "suffix": ""}
    share = "" if site.share >= 1.0 else f" ({site.share:.0%} of them)"
    return {"file": site.file, "line": site.line, "function": site.function,
            "suffix": f" Issued by `{site.function}` at {site.file}:{site.line}{share}."}
