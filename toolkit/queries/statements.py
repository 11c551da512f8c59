"""Executed statements in session order, and how query findings quote them.

The query rules (:mod:`toolkit.queries.loops`, :mod:`~toolkit.queries.scans`,
:mod:`~toolkit.queries.server_rules`) work on :func:`executed`: the statements that ran
(``kind`` statement / execute, or no kind: a PostgreSQL extended-protocol query also logs
``parse`` and ``bind`` rows, which are not queries run again), each with a ``fingerprint``
(readable, or pt-query-digest's), its ``verb`` and ``is_select``, sorted by session then time.
:func:`prepared` computes that table, and the log's time span, once for all the rules that
:func:`toolkit.queries.detectors.findings` runs.

    >>> verb("/* app */ SELECT 1"), is_select("WITH t AS (SELECT 1) SELECT * FROM t")
    ('select', True)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import schema

_COMMENT = re.compile(r"/\*(?!!).*?\*/|--[^\n]*", re.S)
_FIRST_WORD = re.compile(r"^[\s(]*(\w+)")
_FROM_TABLE = re.compile(r"\bfrom\s+([\w.`\"]+)", re.I)
_UPDATE_TABLE = re.compile(r"^\s*(?:update|delete\s+from)\s+([\w.`\"]+)", re.I)
TX_BEGIN = {"begin", "start"}
TX_END = {"commit", "end", "rollback", "abort"}


def verb(sql: str) -> str:
    """The statement's first keyword, lowercased ('select', 'with', 'update', ...)."""
    m = _FIRST_WORD.match(_COMMENT.sub(" ", sql or ""))
    return m.group(1).lower() if m else ""


def is_select(sql: str) -> bool:
    """True for a SELECT (or a WITH query that writes nothing)."""
    first = verb(sql)
    if first == "select":
        return True
    if first == "with":
        body = _COMMENT.sub(" ", sql).lower()
        return not re.search(r"\b(insert|update|delete|merge)\b", body)
    return False


def source_path(df: pd.DataFrame | None) -> str | None:
    if df is None:
        return None
    src = df.attrs.get("source") or {}
    return src.get("path") if isinstance(src, dict) else None


def sql_dialect(df: pd.DataFrame | None) -> str:
    """"mysql" for MySQL/MariaDB slow logs, else "postgresql" (what the index advice is written in)."""
    src = (df.attrs.get("source") or {}) if df is not None else {}
    fmt = str(src.get("format") or "") if isinstance(src, dict) else ""
    if fmt.startswith("mysql") or (df is not None and "rows_examined" in df.columns
                                   and df["rows_examined"].notna().any()):
        return "mysql"
    return "postgresql"


def relation(sql: str) -> str:
    m = _FROM_TABLE.search(sql or "") or _UPDATE_TABLE.search(sql or "")
    return m.group(1).strip('`"') if m else "?"


# prepared() computes the executed statements once for all the rules: id(events) -> frame
_PREPARED: dict[int, pd.DataFrame] = {}


def executed(events: pd.DataFrame | None, pt_fingerprints: bool = False) -> pd.DataFrame:
    """Executed statements with a ``fingerprint`` (readable, or pt-query-digest's), a ``verb``
    and ``is_select``, in session order."""
    if events is None:
        events = schema.empty("query_events")
    if id(events) in _PREPARED:
        return _PREPARED[id(events)]
    ev = schema.coerce(events, "query_events") if not set(schema.columns("query_events")) <= set(
        events.columns) else events
    kind = ev["kind"].astype("object")
    keep = ev["statement"].notna() & (kind.isna() | kind.isin(["statement", "execute", "query"]))
    out = ev.loc[keep].copy()
    # pandas copies attrs into every slice and group: keep only what the findings cite
    src = events.attrs.get("source") if isinstance(events.attrs.get("source"), dict) else {}
    out.attrs = {"source": {k: src.get(k) for k in ("path", "format")}}
    if "fingerprint" not in out.columns:
        from .fingerprint import Fingerprinter

        fp = Fingerprinter(readable=not pt_fingerprints)
        uniq = {s: fp(s) for s in pd.unique(out["statement"])}
        out["fingerprint"] = out["statement"].map(uniq)
    verbs = {s: verb(s) for s in pd.unique(out["statement"])}
    out["verb"] = out["statement"].map(verbs)
    sel = {s: is_select(s) for s in pd.unique(out["statement"])}
    out["is_select"] = out["statement"].map(sel).astype(bool)
    out["session"] = out["session"].astype("object").where(out["session"].notna(), "?")
    out["_order"] = np.arange(len(out))
    return out.sort_values(["session", "timestamp", "source_line", "_order"], kind="stable")


# prepared() measures the log's span once (query and server events): id(events) -> seconds
_SPANS: dict[int, float] = {}


def span_s(*frames: pd.DataFrame | None) -> float:
    """Seconds between the first and the last timestamp of the evidence (0 when unknown); inside
    :func:`prepared`, the span of the whole log (its query and server events) for every rule."""
    for f in frames:
        if f is not None and id(f) in _SPANS:
            return _SPANS[id(f)]
    times = [f["timestamp"] for f in frames if f is not None and len(f) and "timestamp" in f.columns]
    if not times:
        return 0.0
    t = pd.concat(times).dropna()
    return float((t.max() - t.min()).total_seconds()) if len(t) else 0.0


def ns(times: Any) -> np.ndarray:
    """Timestamps (tz-aware or not, any unit) -> int64 nanoseconds since the epoch."""
    return pd.to_datetime(pd.Series(times), utc=True).dt.as_unit("ns").astype("int64").to_numpy()


def line_of(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def ts(value: Any) -> str:
    if value is None or pd.isna(value):
        return "?"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def short(sql: Any, n: int = 120) -> str:
    text = " ".join(str(sql).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def example(row: pd.Series) -> str:
    text = short(row["statement"])
    params = row.get("parameters")
    if params is not None and not pd.isna(params) and str(params):
        text += f"  [{short(params, 80)}]"
    return text


def lines(rows: pd.DataFrame, n: int = 6) -> str:
    lines = [int(x) for x in rows["source_line"].dropna().tolist()]
    if not lines:
        return "lines ?"
    shown = ", ".join(str(x) for x in lines[:n])
    return f"lines {shown}" + (f", … ({len(lines)} in all)" if len(lines) > n else "")


def sessions_text(sessions: Any, n: int = 3) -> str:
    uniq = list(pd.unique(pd.Series(list(sessions), dtype="object")))
    return ", ".join(map(str, uniq[:n])) + (f" and {len(uniq) - n} more" if len(uniq) > n else "")


def param_key(ex: pd.DataFrame) -> pd.Series:
    """Statement text (whitespace folded) and its parameters: equal when a call is repeated."""
    return ex["statement"].map(lambda s: " ".join(s.split())) + "\x00" + \
        ex["parameters"].astype("object").fillna("").astype(str)


def server_table(server_events: pd.DataFrame | None) -> pd.DataFrame | None:
    if server_events is None or server_events.empty:
        return None
    if not set(schema.columns("server_events")) <= set(server_events.columns):
        return schema.coerce(server_events, "server_events")
    return server_events


def fingerprints_of(statements: pd.Series) -> pd.Series:
    from .fingerprint import Fingerprinter

    fp = Fingerprinter(readable=True)
    return statements.map(lambda s: fp(s) if isinstance(s, str) else None)


# prepared() keeps other per-log work too (a log's plan nodes for two rules): (id, name) -> value
_MEMO: dict[tuple[int, str], Any] = {}


def cached(events: pd.DataFrame, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, done once per log inside :func:`prepared` (every time outside it)."""
    if id(events) not in _PREPARED:
        return compute()
    key = (id(events), name)
    if key not in _MEMO:
        _MEMO[key] = compute()
    return _MEMO[key]


@contextlib.contextmanager
def prepared(events: pd.DataFrame, server_events: pd.DataFrame | None,
             pt_fingerprints: bool = False) -> Iterator[pd.DataFrame]:
    """Within the block, :func:`executed` of ``events`` and :func:`span_s` of either table are
    computed once (the executed statements, the span of both logs together)."""
    _PREPARED[id(events)] = ex = executed(events, pt_fingerprints)
    _SPANS[id(events)] = _SPANS[id(ex)] = span_s(events, server_table(server_events))
    try:
        yield ex
    finally:
        _PREPARED.pop(id(events), None)
        _SPANS.pop(id(events), None)
        _SPANS.pop(id(ex), None)
        for key in [k for k in _MEMO if k[0] == id(events)]:
            del _MEMO[key]
