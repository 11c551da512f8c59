"""Query detectors: the checklist rules (ids ``queries.*``) run on query events and server events.

Every rule is a function ``DataFrame in -> findings DataFrame`` (see :mod:`toolkit.findings`)
with its thresholds as keyword options; :func:`findings` runs them all. Evidence names the
session, the time, the input lines and an example statement, so a finding can be checked in
the log it came from.

============================ ============================ =====================================
rule                          practice                     fires when (defaults)
============================ ============================ =====================================
queries.n_plus_one            N+1 and ORM queries          in one session a query is followed by
                                                           >= 5 consecutive SELECTs of one other
                                                           fingerprint, together >= 50 ms
                                                           (Sentry's N+1 DB queries rule)
queries.repeated              caching                      one SELECT with the same text and
                                                           parameters >= 10 times within 60 s
queries.select_star           SELECT *                     a fingerprint selects ``*``
queries.offset_pagination     pagination                   one fingerprint with LIMIT/OFFSET over
                                                           >= 5 offsets whose duration grows with
                                                           the offset (Spearman rho >= 0.8, the
                                                           deepest pages >= 2x the first)
queries.missing_index         indexes                      a logged plan's Seq Scan removes
                                                           >= 10,000 rows (>= 90 %) by filter; or,
                                                           without plans, a fingerprint examines
                                                           >= 10,000 rows per call and >= 100x
                                                           what it sends (MySQL/MariaDB)
queries.slow_query            indexes                      a SELECT takes >= 500 ms (Sentry)
queries.temp_files            indexes                      a query wrote temporary files
queries.lock_waits            monitoring                   lock waits >= 100 ms, deadlocks
queries.long_transactions     monitoring                   a transaction stays open >= 1 s
queries.errors                monitoring                   statements fail (ERROR / FATAL)
queries.connection_churn      connection pooling           >= 20 sessions shorter than 1 s,
                                                           >= half of all sessions
============================ ============================ =====================================

Only executed statements count (``kind`` statement / execute, or no kind): a PostgreSQL
extended-protocol query also logs ``parse`` and ``bind`` rows, which are not queries run again.

Example::

    >>> import toolkit as tk                                                   # doctest: +SKIP
    >>> events = tk.read_queries("sample_traces/queries/postgresql/app/postgresql.log.gz")
    >>> others = tk.read_server_events("sample_traces/queries/postgresql/app/postgresql.log.gz")
    >>> findings(events, others)[["rule", "title"]]
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import findings as F
from .. import schema

# --------------------------------------------------------------------------- rules

N_PLUS_ONE = F.rule(
    "queries.n_plus_one", "N+1 and ORM queries",
    "In one session, a query followed by many consecutive SELECTs of one other fingerprint "
    "(Sentry's N+1 DB queries rule).", severity="high",
    fix="Load the related rows in one query: a JOIN, `WHERE id IN (...)` / `= ANY($1)`, or the "
        "ORM's eager loading (SQLAlchemy selectinload/joinedload, Django select_related/"
        "prefetch_related).",
    thresholds={"min_repeats": 5, "min_total_ms": 50.0})
REPEATED = F.rule(
    "queries.repeated", "caching",
    "The same SELECT with the same parameters repeated within a short window.", severity="medium",
    fix="Cache the result (per request, in process, or in Redis/memcached with an expiry) or "
        "hoist the query out of the loop.",
    thresholds={"min_identical": 10, "window_s": 60.0})
SELECT_STAR = F.rule(
    "queries.select_star", "SELECT *",
    "Queries that select every column.", severity="low",
    fix="Name the columns the code uses: less data read and sent, index-only scans become "
        "possible, and schema changes stop breaking callers.",
    thresholds={"min_star_calls": 1})
OFFSET_PAGINATION = F.rule(
    "queries.offset_pagination", "pagination",
    "A LIMIT/OFFSET query whose duration grows with the offset.", severity="medium",
    fix="Use keyset (seek) pagination: `WHERE (created_at, id) > ($last_created_at, $last_id) "
        "ORDER BY created_at, id LIMIT 50` on an index over the sort key; every page then "
        "costs the same.",
    thresholds={"min_pages": 5, "min_rho": 0.8, "min_growth": 2.0})
MISSING_INDEX = F.rule(
    "queries.missing_index", "indexes",
    "Sequential scans that read a table to keep few rows (rows removed by filter), or "
    "statements that examine far more rows than they return.", severity="high",
    fix="Create an index on the filter columns (`CREATE INDEX CONCURRENTLY ... ON table "
        "(columns)`), then check the new plan with EXPLAIN (ANALYZE, BUFFERS).",
    thresholds={"min_rows_removed": 10_000, "min_removed_share": 0.9, "min_examined": 10_000,
                "min_examined_ratio": 100.0})
SLOW_QUERY = F.rule(
    "queries.slow_query", "indexes",
    "SELECT statements slower than a threshold (Sentry's slow DB query: 500 ms).",
    severity="medium",
    fix="EXPLAIN (ANALYZE, BUFFERS) the statement: add the index its filter or sort needs, "
        "fetch fewer rows, or precompute the result.",
    thresholds={"slow_ms": 500.0})
TEMP_FILES = F.rule(
    "queries.temp_files", "indexes",
    "Queries whose sorts or hashes spilled to temporary files on disk.", severity="medium",
    fix="Avoid the sort with an index on the ORDER BY columns, fetch fewer rows, or raise "
        "work_mem for that query only (`SET LOCAL work_mem = '64MB'`).",
    thresholds={"min_temp_bytes": 0})
LOCK_WAITS = F.rule(
    "queries.lock_waits", "monitoring",
    "Statements that waited for locks held by other transactions, and deadlocks.",
    severity="high",
    fix="Keep transactions short, take row locks in one consistent order, do slow work "
        "outside the transaction; set lock_timeout; queue workers can use "
        "`SELECT ... FOR UPDATE SKIP LOCKED`.",
    thresholds={"min_wait_ms": 100.0, "few_rows": 10})
LONG_TRANSACTIONS = F.rule(
    "queries.long_transactions", "monitoring",
    "Transactions held open for long, mostly idle between statements.", severity="medium",
    fix="Commit before slow application work (HTTP calls, sleeps); set "
        "idle_in_transaction_session_timeout; watch pg_stat_activity for "
        "'idle in transaction'.",
    thresholds={"min_open_ms": 1000.0})
ERRORS = F.rule(
    "queries.errors", "monitoring",
    "Statements that failed, grouped by SQLSTATE and message.", severity="medium",
    fix="Fix the failing statements; alert on the database error rate.",
    thresholds={"min_errors": 1})
CONNECTION_CHURN = F.rule(
    "queries.connection_churn", "connection pooling",
    "Many short-lived database sessions: a connection opened per unit of work.", severity="high",
    fix="Use a connection pool (PgBouncer, or the driver's/ORM's pool such as psycopg_pool or "
        "SQLAlchemy's QueuePool) and keep connections open across requests.",
    thresholds={"min_short_sessions": 20, "max_session_ms": 1000.0, "min_short_share": 0.5})

RULES = (N_PLUS_ONE, REPEATED, SELECT_STAR, OFFSET_PAGINATION, MISSING_INDEX, SLOW_QUERY,
         TEMP_FILES, LOCK_WAITS, LONG_TRANSACTIONS, ERRORS, CONNECTION_CHURN)

# --------------------------------------------------------------------------- helpers

_COMMENT = re.compile(r"/\*(?!!).*?\*/|--[^\n]*", re.S)
_FIRST_WORD = re.compile(r"^[\s(]*(\w+)")
_SELECT_STAR = re.compile(r"\bselect\s+(?:distinct\s+)?(?:\w+\.)?\*\s*(?:,|from\b)", re.I)
_OFFSET = re.compile(r"\boffset\s+(\$\d+|\d+)|\blimit\s+(\$\d+|\d+)\s*,\s*(?:\$\d+|\d+)", re.I)
_PARAM = re.compile(r"\$(\d+)\s*=\s*(?:'((?:[^']|'')*)'|(NULL))")
_TX_BEGIN = {"begin", "start"}
_TX_END = {"commit", "end", "rollback", "abort"}
_MAINTENANCE = {"create", "alter", "drop", "vacuum", "analyze", "cluster", "reindex", "copy",
                "truncate", "checkpoint", "refresh", "grant", "revoke", "comment"}


def _fingerprint_fn() -> Callable[[str], str]:
    from .fingerprint import fingerprint
    return fingerprint


def _verb(sql: str) -> str:
    """The statement's first keyword, lowercased ('select', 'with', 'update', ...)."""
    m = _FIRST_WORD.match(_COMMENT.sub(" ", sql or ""))
    return m.group(1).lower() if m else ""


def _is_select(sql: str) -> bool:
    verb = _verb(sql)
    if verb == "select":
        return True
    if verb == "with":
        body = _COMMENT.sub(" ", sql).lower()
        return not re.search(r"\b(insert|update|delete|merge)\b", body)
    return False


def _source_path(df: pd.DataFrame | None) -> str | None:
    if df is None:
        return None
    src = df.attrs.get("source") or {}
    return src.get("path") if isinstance(src, dict) else None


# findings() prepares the executed statements once for all its rules: id(events) -> frame
_PREPARED: dict[int, pd.DataFrame] = {}


def _executed(events: pd.DataFrame) -> pd.DataFrame:
    """Executed statements with a ``fingerprint`` and a ``verb``, in session order."""
    if id(events) in _PREPARED:
        return _PREPARED[id(events)]
    ev = schema.coerce(events, "query_events") if not set(schema.columns("query_events")) <= set(
        events.columns) else events
    kind = ev["kind"].astype("object")
    keep = ev["statement"].notna() & (kind.isna() | kind.isin(["statement", "execute", "query"]))
    out = ev.loc[keep].copy()
    if "fingerprint" not in out.columns:
        fp = _fingerprint_fn()
        uniq = {s: fp(s) for s in pd.unique(out["statement"])}
        out["fingerprint"] = out["statement"].map(uniq)
    verbs = {s: _verb(s) for s in pd.unique(out["statement"])}
    out["verb"] = out["statement"].map(verbs)
    sel = {s: _is_select(s) for s in pd.unique(out["statement"])}
    out["is_select"] = out["statement"].map(sel).astype(bool)
    out["session"] = out["session"].astype("object").where(out["session"].notna(), "?")
    out["_order"] = np.arange(len(out))
    return out.sort_values(["session", "timestamp", "source_line", "_order"], kind="stable")


def _ns(times: Any) -> np.ndarray:
    """Timestamps (tz-aware or not, any unit) -> int64 nanoseconds since the epoch."""
    return pd.to_datetime(pd.Series(times), utc=True).dt.as_unit("ns").astype("int64").to_numpy()


def _line(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _ts(value: Any) -> str:
    if value is None or pd.isna(value):
        return "?"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _short(sql: Any, n: int = 120) -> str:
    text = " ".join(str(sql).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _example(row: pd.Series) -> str:
    text = _short(row["statement"])
    params = row.get("parameters")
    if params is not None and not pd.isna(params) and str(params):
        text += f"  [{_short(params, 80)}]"
    return text


def _lines(rows: pd.DataFrame, n: int = 6) -> str:
    lines = [int(x) for x in rows["source_line"].dropna().tolist()]
    if not lines:
        return "lines ?"
    shown = ", ".join(str(x) for x in lines[:n])
    return f"lines {shown}" + (f", … ({len(lines)} in all)" if len(lines) > n else "")


# --------------------------------------------------------------------------- query rules

def n_plus_one(events: pd.DataFrame, *, min_repeats: int = 5, min_total_ms: float = 50.0) -> pd.DataFrame:
    """N+1: a query, then ``min_repeats`` or more consecutive SELECTs of one other fingerprint in
    the same session, together at least ``min_total_ms`` ms.

    One finding per (source fingerprint, repeated fingerprint); extra columns ``session`` (the
    first session), ``repeats`` (its run length), ``runs`` (sessions/runs seen), ``total_ms``
    (all runs) and ``example``.
    """
    ex = _executed(events)
    path = _source_path(events)
    runs: list[dict[str, Any]] = []
    if len(ex) > min_repeats:
        # runs of one fingerprint within one session, over the whole (session-ordered) table
        sess = ex["session"].to_numpy()
        fps = ex["fingerprint"].to_numpy()
        sel = ex["is_select"].to_numpy(dtype=bool)
        dur = ex["duration_ms"].fillna(0.0).to_numpy(dtype=float)
        new_session = np.r_[True, sess[1:] != sess[:-1]]
        starts = np.flatnonzero(new_session | np.r_[True, fps[1:] != fps[:-1]])
        ends = np.r_[starts[1:], len(fps)]
        ok = (ends - starts >= min_repeats) & ~new_session[starts]
        # every statement of the run a SELECT, and the source before it a SELECT too: a
        # query whose rows drive the loop (not SET NAMES, BEGIN, ...)
        not_sel = np.r_[0, np.cumsum(~sel)]
        ok &= (not_sel[ends] - not_sel[starts] == 0) & sel[np.maximum(starts - 1, 0)]
        csum = np.r_[0.0, np.cumsum(dur)]
        totals = csum[ends] - csum[starts]
        ok &= totals >= min_total_ms
        for a, b, total in zip(starts[ok], ends[ok], totals[ok], strict=True):
            runs.append({"session": sess[a], "source": ex.iloc[a - 1], "run": ex.iloc[a:b],
                         "total": float(total)})
    rows = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["source"]["fingerprint"], r["run"].iloc[0]["fingerprint"]), []).append(r)
    for (_src_fp, rep_fp), group in groups.items():
        first = group[0]
        run, source = first["run"], first["source"]
        each = "; ".join(
            f"session {g['session']}: {len(g['run'])} queries, {g['total']:.1f} ms from "
            f"{_ts(g['run'].iloc[0]['timestamp'])} (lines {_line(g['run'].iloc[0]['source_line'])}"
            f"-{_line(g['run'].iloc[-1]['source_line'])})" for g in group[:5])
        more = f"; and {len(group) - 5} more runs" if len(group) > 5 else ""
        total = sum(g["total"] for g in group)
        distinct = (run["statement"].astype(str) + "\x00" + run["parameters"].astype("object").fillna("")
                    .astype(str)).nunique()
        evidence = (f"after `{_short(source['statement'])}` (line {_line(source['source_line'])}), "
                    f"{len(run)} consecutive `{_short(rep_fp)}` with {distinct} distinct parameter "
                    f"sets, e.g. "
                    f"`{_example(run.iloc[0])}`. {each}{more}.")
        rows.append(F.finding(
            N_PLUS_ONE, f"N+1: {len(run)} × `{_short(rep_fp, 60)}` after one query"
            + (f" ({len(group)} runs)" if len(group) > 1 else ""),
            evidence, file=path, line=_line(run.iloc[0]["source_line"]),
            session=str(first["session"]), repeats=len(run), runs=len(group), total_ms=round(total, 3),
            fingerprint=rep_fp, example=_example(run.iloc[0])))
    return F.to_frame(rows)


def repeated(events: pd.DataFrame, *, min_identical: int = 10, window_s: float = 60.0) -> pd.DataFrame:
    """The same SELECT (same text, same parameters) ``min_identical`` or more times within
    ``window_s`` seconds, across sessions: a caching candidate. SELECTs without FROM (``SELECT 1``,
    ``SELECT now()``) read nothing to cache and are left out."""
    ex = _executed(events)
    ex = ex[ex["is_select"] & ex["statement"].str.contains(r"\bfrom\b", case=False, regex=True)]
    path = _source_path(events)
    if ex.empty:
        return F.to_frame([])
    key = ex["statement"].map(lambda s: " ".join(s.split())) + "\x00" + \
        ex["parameters"].astype("object").fillna("").astype(str)
    ex = ex.assign(_key=key).sort_values(["timestamp", "source_line"], kind="stable")
    rows = []
    window = pd.Timedelta(seconds=window_s)
    for _k, g in ex.groupby("_key", sort=False):
        if len(g) < min_identical:
            continue
        t = _ns(g["timestamp"])
        # the largest number of calls inside any window starting at a call
        ends = np.searchsorted(t, t + int(window.value), side="right")
        counts = ends - np.arange(len(t))
        best = int(np.argmax(counts))
        n = int(counts[best])
        if n < min_identical:
            continue
        burst = g.iloc[best: best + n]
        span = (burst["timestamp"].iloc[-1] - burst["timestamp"].iloc[0]).total_seconds()
        sessions = burst["session"].nunique()
        evidence = (f"`{_example(burst.iloc[0])}` ran {n} times in {span:.2f} s "
                    f"({len(g)} times in all) from {sessions} session(s) "
                    f"(first: {burst['session'].iloc[0]}), {burst['duration_ms'].sum():.2f} ms in "
                    f"total, {_ts(burst['timestamp'].iloc[0])} to {_ts(burst['timestamp'].iloc[-1])}; "
                    f"{_lines(burst)}.")
        # MariaDB's SET timestamp has whole seconds: a span of 0 means "within one second"
        took = ("the same second" if span == 0 else f"{span * 1000:.0f} ms" if span < 1
                else f"{span:.1f} s")
        rows.append(F.finding(REPEATED, f"Same query and parameters {n} times in {took}",
                              evidence, file=path, line=_line(burst["source_line"].iloc[0]),
                              session=str(burst["session"].iloc[0]), repeats=n, calls=len(g),
                              total_ms=round(float(g["duration_ms"].sum()), 3),
                              fingerprint=g["fingerprint"].iloc[0], example=_example(burst.iloc[0])))
    return F.to_frame(rows)


def select_star(events: pd.DataFrame, *, min_star_calls: int = 1) -> pd.DataFrame:
    """Fingerprints that ``SELECT *`` (or ``t.*``), with their share of all calls and time."""
    ex = _executed(events)
    path = _source_path(events)
    if ex.empty:
        return F.to_frame([])
    star = ex[ex["fingerprint"].str.contains(_SELECT_STAR)]
    total_calls, total_ms = len(ex), float(ex["duration_ms"].sum())
    rows = []
    for fp, g in star.groupby("fingerprint", sort=False):
        if len(g) < min_star_calls:
            continue
        ms = float(g["duration_ms"].sum())
        calls_pct = 100.0 * len(g) / total_calls
        time_pct = 100.0 * ms / total_ms if total_ms else 0.0
        evidence = (f"`{_short(fp)}`: {len(g)} calls ({calls_pct:.1f} % of {total_calls}), "
                    f"{ms:.1f} ms ({time_pct:.1f} % of all time), sessions "
                    f"{', '.join(map(str, pd.unique(g['session'])[:5]))}; e.g. `{_example(g.iloc[0])}` "
                    f"at {_ts(g['timestamp'].iloc[0])}; {_lines(g)}.")
        rows.append(F.finding(SELECT_STAR, f"SELECT * in {len(g)} calls ({time_pct:.1f} % of time)",
                              evidence, file=path, line=_line(g["source_line"].min()),
                              calls=len(g), calls_pct=round(calls_pct, 3), total_ms=round(ms, 3),
                              time_pct=round(time_pct, 3), fingerprint=fp, example=_example(g.iloc[0])))
    out = F.to_frame(rows)
    return out.sort_values("total_ms", ascending=False, kind="stable").reset_index(drop=True) if rows else out


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties, as scipy.stats.spearmanr)."""
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _trend(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Spearman rho of y on x, mean y of the top quarter of x / mean y of the bottom quarter)."""
    order = np.argsort(x, kind="stable")
    q = max(1, len(order) // 4)
    low, high = y[order[:q]].mean(), y[order[-q:]].mean()
    return _spearman(x, y), (float(high / low) if low > 0 else float("inf"))


def _offset_of(statement: str, parameters: Any) -> float:
    m = _OFFSET.search(statement)
    if not m:
        return np.nan
    token = m.group(1) or m.group(2)
    if token.startswith("$"):
        if parameters is None or pd.isna(parameters):
            return np.nan
        params = {int(n): v for n, v, _null in _PARAM.findall(str(parameters))}
        value = params.get(int(token[1:]))
        try:
            return float(value)
        except (TypeError, ValueError):
            return np.nan
    return float(token)


def offset_pagination(events: pd.DataFrame, *, min_pages: int = 5, min_rho: float = 0.8,
                      min_growth: float = 2.0) -> pd.DataFrame:
    """One fingerprint with LIMIT/OFFSET run at ``min_pages`` or more distinct offsets, whose
    duration rises with the offset: Spearman's rank correlation >= ``min_rho`` and the mean
    duration of the deepest quarter of pages >= ``min_growth`` x the shallowest quarter's.

    Extra columns: ``pages``, ``rho``, ``slope_ms_per_1k`` (least-squares ms per 1,000 rows of
    offset), ``growth``, ``max_offset``."""
    ex = _executed(events)
    path = _source_path(events)
    ex = ex[ex["statement"].str.contains(r"\boffset\b|\blimit\s+\S+\s*,", case=False, regex=True)]
    rows = []
    for fp, g in ex.groupby("fingerprint", sort=False):
        offsets = np.array([_offset_of(s, p) for s, p in zip(g["statement"], g["parameters"], strict=True)])
        ok = ~np.isnan(offsets)
        g, offsets = g[ok], offsets[ok]
        if len(np.unique(offsets)) < min_pages:
            continue
        ms = g["duration_ms"].to_numpy(dtype=float)
        order = np.argsort(offsets, kind="stable")
        rho, growth = _trend(offsets, ms)
        measure = "duration"
        examined = g["rows_examined"].astype(float).to_numpy()
        if not (rho >= min_rho and growth >= min_growth) and not np.isnan(examined).any():
            # MySQL/MariaDB log the rows each call read: a direct measure of the work skipped
            # rows cost, steadier than durations with 1-second timestamps on a busy machine
            rho, growth = _trend(offsets, examined)
            measure = "rows examined"
        if not (rho >= min_rho and growth >= min_growth):
            continue
        slope = float(np.polyfit(offsets / 1000.0, ms, 1)[0])
        first, deepest = g.iloc[order[0]], g.iloc[order[-1]]
        evidence = (f"`{_short(fp)}` ran at {len(np.unique(offsets))} offsets "
                    f"({offsets.min():.0f} to {offsets.max():.0f}) in session(s) "
                    f"{', '.join(map(str, pd.unique(g['session'])[:3]))}: {first['duration_ms']:.2f} ms at "
                    f"offset {offsets[order[0]]:.0f} (line {_line(first['source_line'])}), "
                    f"{deepest['duration_ms']:.2f} ms at offset {offsets[order[-1]]:.0f} "
                    f"(line {_line(deepest['source_line'])}); Spearman rho of {measure} against offset {rho:.2f}, "
                    f"+{slope:.3f} ms per 1,000 rows skipped, deepest pages {growth:.1f}x the first.")
        rows.append(F.finding(OFFSET_PAGINATION, f"OFFSET pagination: deep pages {growth:.1f}x slower",
                              evidence, file=path, line=_line(g["source_line"].min()),
                              session=str(g["session"].iloc[0]), pages=int(len(np.unique(offsets))),
                              rho=round(rho, 4), measure=measure, slope_ms_per_1k=round(slope, 4), growth=round(growth, 3),
                              max_offset=int(offsets.max()), fingerprint=fp, example=_example(deepest)))
    return F.to_frame(rows)


_FILTER_LITERAL = re.compile(r"'(?:[^']|'')*'(?:::[\w ]+(?:\[\])?)?")
_CAST = re.compile(r"::[\w ]+?(?:\[\])?(?=[\s),=<>!~]|$)")
_IDENT = re.compile(r"\b([A-Za-z_][\w$]*)(?:\.([A-Za-z_][\w$]*))?\b(?!\s*\()")
_NOT_COLUMNS = {"and", "or", "not", "is", "null", "true", "false", "any", "all", "array", "like",
                "ilike", "in", "between", "similar", "to", "escape", "some", "distinct", "from",
                "subplan", "initplan", "hashed", "returns"}


def filter_columns(condition: str) -> list[str]:
    """The columns a plan's filter condition reads, in order of appearance.

        >>> filter_columns("((reference)::text = 'R00012345'::text)")
        ['reference']
        >>> filter_columns("((o.customer_id = 5) AND (o.status = ANY ('{new,paid}'::text[])))")
        ['customer_id', 'status']
    """
    text = _CAST.sub("", _FILTER_LITERAL.sub(" ", condition or ""))
    cols: list[str] = []
    for a, b in _IDENT.findall(text):
        name = b or a
        if name.lower() in _NOT_COLUMNS or name.startswith("$") or name in cols:
            continue
        cols.append(name)
    return cols


_FROM_TABLE = re.compile(r"\bfrom\s+([\w.`\"]+)", re.I)
_WHERE = re.compile(r"\bwhere\b(.*?)(?:\border\s+by\b|\bgroup\s+by\b|\blimit\b|\bhaving\b|$)", re.I | re.S)
_WHERE_COL = re.compile(r"([\w.`\"]+)\s*(?:=|<>|!=|<=|>=|<|>|\blike\b|\bin\b|\bbetween\b|\bis\b)", re.I)


def missing_index(events: pd.DataFrame, *, min_rows_removed: int = 10_000,
                  min_removed_share: float = 0.9, min_examined: int = 10_000,
                  min_examined_ratio: float = 100.0) -> pd.DataFrame:
    """Sequential scans in logged plans (auto_explain) that remove at least ``min_rows_removed``
    rows by filter, at least ``min_removed_share`` of what they read; grouped by table and
    filter columns. For logs without plans (MySQL/MariaDB slow log), fingerprints that examine
    at least ``min_examined`` rows per call and ``min_examined_ratio`` x the rows they send.

    Extra columns: ``relation``, ``columns`` (comma separated), ``calls``, ``rows_removed``."""
    from .plans import plan_nodes

    path = _source_path(events)
    rows = []
    if "plan" in events.columns and events["plan"].notna().any():
        nodes = plan_nodes(events)
        # (a plan cut before its Filter: line, as truncated logs have them, names no columns)
        scans = nodes[nodes["node_type"].str.contains("Seq Scan", na=False)
                      & nodes["rows_removed_by_filter"].notna() & nodes["filter"].notna()].copy()
        removed = scans["rows_removed_by_filter"].astype(float)
        kept = scans["rows_total"].fillna(0.0)
        share = removed / (removed + kept).where(removed + kept > 0)
        scans = scans[(removed >= min_rows_removed) & (share >= min_removed_share)]
        if not scans.empty:
            scans["columns"] = scans["filter"].map(lambda f: ", ".join(filter_columns(f)))
            for (rel, cols), g in scans.groupby(["relation", "columns"], sort=False):
                first = g.iloc[0]
                n_removed = int(g["rows_removed_by_filter"].sum())
                ms = float(g["actual_total_ms"].sum())
                statement = first.get("statement")
                evidence = (f"{len(g)} logged plan(s) scan all of `{rel}` with Filter "
                            f"`{first['filter']}` and remove {n_removed:,} rows "
                            f"(mean {n_removed / len(g):,.0f} per scan, keeping "
                            f"{g['rows_total'].mean():,.0f}); {ms:.1f} ms in these scans; "
                            f"session {first.get('session')}, {_ts(first.get('timestamp'))}, "
                            f"{_lines(g)}; statement `{_short(statement)}`.")
                rows.append(F.finding(MISSING_INDEX, f"No index on {rel}({cols}): seq scans remove "
                                      f"{n_removed / len(g):,.0f} rows each", evidence, file=path,
                                      line=_line(g["source_line"].min()) if "source_line" in g else None,
                                      relation=rel, columns=cols, calls=len(g), rows_removed=n_removed,
                                      fix=f"CREATE INDEX CONCURRENTLY ON {rel} ({cols}); then "
                                          "re-check the plan with EXPLAIN (ANALYZE, BUFFERS).",
                                      example=_short(statement)))
    if "rows_examined" in events.columns and events["rows_examined"].notna().any():
        ex = _executed(events)
        ex = ex[ex["rows_examined"].notna()]
        for fp, g in ex.groupby("fingerprint", sort=False):
            examined = g["rows_examined"].astype(float)
            sent = g["rows_sent"].astype(float).fillna(0.0)
            # reports (GROUP BY) read many rows to send few by design
            if _verb(fp) not in ("select", "with", "update", "delete") or " group by " in fp:
                continue
            per_call = examined.mean()
            ratio = examined.sum() / max(sent.sum(), len(g))
            if per_call < min_examined or ratio < min_examined_ratio:
                continue
            statement = g["statement"].iloc[0]
            table = _FROM_TABLE.search(statement) or re.search(r"^\s*update\s+([\w.`\"]+)", statement, re.I)
            rel = table.group(1).strip('`"') if table else "?"
            where = _WHERE.search(statement)
            cols = []
            for c in _WHERE_COL.findall(where.group(1)) if where else []:
                c = c.strip('`"').split(".")[-1]
                if c.lower() not in _NOT_COLUMNS and not c[0].isdigit() and c not in cols:
                    cols.append(c)
            if not cols:  # no filter: a sort or a full read, not a missing index on a filter
                continue
            colstr = ", ".join(cols)
            evidence = (f"`{_short(fp)}`: {len(g)} calls examine {per_call:,.0f} rows each to send "
                        f"{sent.mean():,.3g} ({ratio:,.0f}x), {g['duration_ms'].sum():.1f} ms in all; "
                        f"session {g['session'].iloc[0]}, {_ts(g['timestamp'].iloc[0])}, {_lines(g)}.")
            rows.append(F.finding(MISSING_INDEX, f"No index on {rel}({colstr})? {per_call:,.0f} rows "
                                  f"examined per call to return {sent.mean():,.3g}", evidence, file=path,
                                  line=_line(g["source_line"].min()), relation=rel, columns=colstr,
                                  calls=len(g), rows_removed=int(examined.sum() - sent.sum()),
                                  fix=(f"CREATE INDEX ON {rel} ({colstr}); " if colstr else "")
                                  + "then check EXPLAIN shows an index lookup.",
                                  fingerprint=fp, example=_example(g.iloc[0])))
    return F.to_frame(rows)


def slow_query(events: pd.DataFrame, *, slow_ms: float = 500.0) -> pd.DataFrame:
    """SELECT statements of ``slow_ms`` ms or more, one finding per fingerprint (Sentry's slow DB
    query rule). Calls to sleep functions (``pg_sleep``, ``SLEEP``) are not queries."""
    ex = _executed(events)
    path = _source_path(events)
    slow = ex[ex["is_select"] & (ex["duration_ms"] >= slow_ms)
              & ~ex["statement"].str.contains(r"\b(?:pg_sleep\w*|sleep)\s*\(", case=False, regex=True)]
    rows = []
    for fp, g in slow.groupby("fingerprint", sort=False):
        worst = g.loc[g["duration_ms"].idxmax()]
        evidence = (f"`{_short(fp)}`: {len(g)} call(s) >= {slow_ms:g} ms, worst {worst['duration_ms']:.1f} ms "
                    f"in session {worst['session']} at {_ts(worst['timestamp'])} (line "
                    f"{_line(worst['source_line'])}): `{_example(worst)}`.")
        rows.append(F.finding(SLOW_QUERY, f"Slow SELECT: {worst['duration_ms']:.0f} ms", evidence,
                              file=path, line=_line(worst["source_line"]), session=str(worst["session"]),
                              calls=len(g), max_ms=float(worst["duration_ms"]), fingerprint=fp,
                              example=_example(worst)))
    return F.to_frame(rows)


# --------------------------------------------------------------------------- server events

def _server(server_events: pd.DataFrame | None) -> pd.DataFrame | None:
    if server_events is None or server_events.empty:
        return None
    if not set(schema.columns("server_events")) <= set(server_events.columns):
        return schema.coerce(server_events, "server_events")
    return server_events


def temp_files(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
               min_temp_bytes: int = 0) -> pd.DataFrame:
    """Queries that wrote temporary files (PostgreSQL ``log_temp_files``; MariaDB's
    ``Tmp_table_on_disk`` / ``Filesort_on_disk`` where the slow log has them), summed per
    statement. DDL and maintenance (CREATE INDEX, ALTER TABLE, VACUUM, COPY) are left out: their
    sorts spill by design."""
    rows = []
    se = _server(server_events)
    if se is not None:
        path = _source_path(se)
        t = se[(se["event"] == "temp_file") & se["statement"].notna()].copy()
        t = t[~t["statement"].map(_verb).isin(_MAINTENANCE | {"insert"})]
        if not t.empty:
            fp = _fingerprint_fn()
            t["fingerprint"] = t["statement"].map(fp)
            for key, g in t.groupby("fingerprint", sort=False):
                size = int(g["size_bytes"].fillna(0).sum())
                if size < min_temp_bytes:
                    continue
                first = g.iloc[0]
                evidence = (f"{len(g)} temporary file(s), {size / 1024:,.0f} KiB in all "
                            f"(largest {int(g['size_bytes'].max()) / 1024:,.0f} KiB) for "
                            f"`{_short(first['statement'])}`; session {first['session']} at "
                            f"{_ts(first['timestamp'])}; {_lines(g)}.")
                rows.append(F.finding(TEMP_FILES, f"Query spilled {size / 1024:,.0f} KiB to temporary files",
                                      evidence, file=path, line=_line(g["source_line"].min()),
                                      session=str(first["session"]), files=len(g), size_bytes=size,
                                      fingerprint=key, example=_short(first["statement"])))
    if events is not None and not events.empty:
        flags = [c for c in events.columns if c.lower() in ("filesort_on_disk", "tmp_table_on_disk")]
        if flags or "merge_passes" in events.columns:
            ex = _executed(events)
            on_disk = pd.Series(False, index=ex.index)
            for c in flags:
                on_disk |= ex[c].astype("object").astype(str).str.lower().isin(["yes", "true", "1"])
            if "merge_passes" in ex.columns:  # a sort that merged runs wrote them to disk
                on_disk |= pd.to_numeric(ex["merge_passes"], errors="coerce").fillna(0) > 0
                flags = [*flags, "merge_passes > 0"]
            for fp, g in ex[on_disk].groupby("fingerprint", sort=False):
                evidence = (f"`{_short(fp)}`: {len(g)} call(s) sorted or built temporary tables on disk "
                            f"({', '.join(flags)}); session {g['session'].iloc[0]} at "
                            f"{_ts(g['timestamp'].iloc[0])}; {_lines(g)}.")
                rows.append(F.finding(TEMP_FILES, f"Query used on-disk sort/temporary table {len(g)}x",
                                      evidence, file=_source_path(events),
                                      line=_line(g["source_line"].min()), session=str(g["session"].iloc[0]),
                                      files=len(g), fingerprint=fp, example=_example(g.iloc[0])))
    return F.to_frame(rows)


_WAIT = re.compile(r"(?:still waiting for|acquired|while waiting for) (\w+) on (.+?) after ([\d.]+) ms")


def lock_waits(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
               min_wait_ms: float = 100.0, few_rows: int = 10) -> pd.DataFrame:
    """Lock waits (``log_lock_waits``: "still waiting" / "acquired ... after X ms") of at least
    ``min_wait_ms``, one finding per statement, and one finding per deadlock. For slow logs
    without server events, statements whose ``lock_ms`` reaches the threshold, and writes that
    examined at most ``few_rows`` rows yet took that long (InnoDB row-lock waits)."""
    rows = []
    se = _server(server_events)
    if se is not None:
        path = _source_path(se)
        waits = se[se["event"].isin(["lock_wait", "lock_acquired"])].copy()
        if not waits.empty:
            parsed = waits["message"].astype(str).str.extract(_WAIT)
            waits["lock"] = parsed[0] + " on " + parsed[1]
            ms = pd.to_numeric(parsed[2], errors="coerce")
            waits["wait_ms"] = waits["duration_ms"].astype(float).fillna(ms)
            waits = waits[waits["wait_ms"] >= min_wait_ms]
            key = waits["statement"].astype("object").fillna("?")
            for stmt, g in waits.groupby(key, sort=False):
                # a wait is logged once while waiting and once when acquired: count sessions
                longest = g.loc[g["wait_ms"].idxmax()]
                acquired = g[g["event"] == "lock_acquired"]
                evidence = (f"`{_short(stmt)}` waited up to {longest['wait_ms']:.0f} ms for "
                            f"{longest['lock']} (session {longest['session']}, "
                            f"{_ts(longest['timestamp'])}, line {_line(longest['source_line'])}); "
                            f"{g['session'].nunique()} waiting session(s), {len(acquired)} acquired "
                            f"after waiting; {_lines(g)}"
                            + (f"; {longest['detail']}" if pd.notna(longest.get("detail")) else "") + ".")
                rows.append(F.finding(LOCK_WAITS, f"Lock wait of {longest['wait_ms']:.0f} ms", evidence,
                                      file=path, line=_line(g["source_line"].min()),
                                      session=str(longest["session"]), waits=int(g["session"].nunique()),
                                      max_wait_ms=float(longest["wait_ms"]), example=_short(stmt)))
        dead = se[(se["event"] == "deadlock") | (se["sqlstate"].astype("object") == "40P01")]
        dead = dead[~dead["message"].astype(str).str.contains("while waiting for", na=False)] \
            if len(dead) > 1 else dead
        for _, d in dead.iterrows():
            evidence = (f"deadlock in session {d['session']} at {_ts(d['timestamp'])} (line "
                        f"{_line(d['source_line'])}): {d.get('detail') if pd.notna(d.get('detail')) else d['message']}"
                        f"; statement `{_short(d['statement'])}`.")
            rows.append(F.finding(LOCK_WAITS, "Deadlock", evidence, file=path,
                                  line=_line(d["source_line"]), severity="high",
                                  session=str(d["session"]), waits=1, example=_short(d["statement"])))
    elif events is not None and "lock_ms" in events.columns:
        # MySQL/MariaDB slow log: Lock_time counts table/metadata locks, not InnoDB row-lock
        # waits; a write that examined at most `few_rows` rows yet ran for longer than the
        # threshold was waiting for a row lock (it had almost nothing to do).
        ex = _executed(events)
        lock = ex["lock_ms"].astype(float).fillna(0.0)
        examined = ex["rows_examined"].astype(float)
        writes = ex["verb"].isin(["update", "delete", "insert", "replace"]) | \
            ex["statement"].str.contains(r"\bfor\s+update\b", case=False, regex=True)
        row_wait = writes & (examined <= few_rows) & (ex["duration_ms"] >= min_wait_ms)
        ex = ex.assign(wait_ms=np.where(lock >= min_wait_ms, lock, ex["duration_ms"]))
        ex = ex[(lock >= min_wait_ms) | row_wait]
        for fp, g in ex.groupby("fingerprint", sort=False):
            worst = g.loc[g["wait_ms"].idxmax()]
            evidence = (f"`{_short(fp)}`: {len(g)} call(s) waited for locks, up to "
                        f"{float(worst['wait_ms']):.0f} ms (session {worst['session']}, "
                        f"{_ts(worst['timestamp'])}, line {_line(worst['source_line'])}); "
                        f"examined {worst['rows_examined']} row(s), Lock_time "
                        f"{float(worst['lock_ms']):.1f} ms: the time went waiting for a row lock; "
                        f"{_lines(g)}.")
            rows.append(F.finding(LOCK_WAITS, f"Lock wait of {float(worst['wait_ms']):.0f} ms", evidence,
                                  file=_source_path(events), line=_line(worst["source_line"]),
                                  session=str(worst["session"]), waits=len(g),
                                  max_wait_ms=float(worst["wait_ms"]), example=_example(worst)))
    return F.to_frame(rows)


def long_transactions(events: pd.DataFrame, *, min_open_ms: float = 1000.0) -> pd.DataFrame:
    """Explicit transactions (BEGIN ... COMMIT/ROLLBACK in one session) open for ``min_open_ms`` ms or
    more, with the time spent idle between their statements ("idle in transaction")."""
    ex = _executed(events)
    path = _source_path(events)
    rows = []
    verbs = ex["verb"].to_numpy()
    sess = ex["session"].to_numpy()
    bounds = np.flatnonzero(np.isin(verbs, list(_TX_END | _TX_BEGIN)))
    t_ms = _ns(ex["timestamp"]) / 1e6
    dur = ex["duration_ms"].fillna(0.0).to_numpy(dtype=float)
    b_, e_ = bounds[:-1], bounds[1:]
    # a BEGIN and the COMMIT/ROLLBACK that follows it in the same session
    pair = np.isin(verbs[b_], list(_TX_BEGIN)) & np.isin(verbs[e_], list(_TX_END)) & (sess[b_] == sess[e_])
    # log timestamps mark a statement's end: the transaction spans from BEGIN's start
    open_all = t_ms[e_] - (t_ms[b_] - dur[b_])
    pick = pair & (open_all >= min_open_ms)
    for b, e, open_ms in zip(b_[pick], e_[pick], open_all[pick], strict=True):
        session = sess[b]
        tx = ex.iloc[b: e + 1]
        start = tx["timestamp"].iloc[0] - pd.to_timedelta(dur[b], unit="ms")
        busy = float(tx["duration_ms"].sum())
        idle = max(open_ms - busy, 0.0)
        evidence = (f"session {session}: transaction open {open_ms:.0f} ms from "
                    f"{_ts(start)} (lines {_line(tx['source_line'].iloc[0])}-"
                    f"{_line(tx['source_line'].iloc[-1])}), {len(tx) - 2} statement(s) busy "
                    f"{busy:.0f} ms, idle in transaction {idle:.0f} ms "
                    f"({100 * idle / open_ms:.0f} %); ended by {tx['verb'].iloc[-1].upper()}; "
                    f"statements: " + "; ".join(f"`{_short(x, 70)}`" for x in tx["statement"].iloc[1:-1][:3])
                    + ".")
        rows.append(F.finding(LONG_TRANSACTIONS, f"Transaction open {open_ms / 1000:.1f} s "
                              f"({100 * idle / open_ms:.0f} % idle)", evidence, file=path,
                              line=_line(tx["source_line"].iloc[0]), session=str(session),
                              open_ms=round(open_ms, 3), idle_ms=round(idle, 3),
                              statements=len(tx) - 2))
    return F.to_frame(rows)


def errors(server_events: pd.DataFrame | None, *, min_errors: int = 1) -> pd.DataFrame:
    """Failed statements (ERROR and FATAL events) grouped by SQLSTATE (where logged) and message.
    Deadlocks are reported by queries.lock_waits; shutdown and admin terminations (class 57)
    are not errors of the application."""
    se = _server(server_events)
    if se is None:
        return F.to_frame([])
    path = _source_path(se)
    err = se[se["event"].isin(["error", "fatal"])].copy()
    state = err["sqlstate"].astype("object")
    msg = err["message"].astype(str)
    err = err[~(state.fillna("").str.startswith("57") | (state == "40P01")
                | msg.str.contains(r"^deadlock detected|terminating connection due to administrator",
                                   regex=True))]
    if err.empty:
        return F.to_frame([])
    # stderr appends " at character N" where csvlog/jsonlog have a separate position field
    err["message"] = err["message"].astype(str).str.replace(r" at character \d+$", "", regex=True)
    err["_msg"] = err["message"].str.replace(r"\d+", "N", regex=True).str.replace(
        r'"[^"]*"', '"…"', regex=True)
    rows = []
    for (_st, _m), g in err.groupby([err["sqlstate"].astype("object").fillna(""), "_msg"], sort=False):
        if len(g) < min_errors:
            continue
        first = g.iloc[0]
        st = first["sqlstate"] if pd.notna(first["sqlstate"]) else None
        evidence = (f"{len(g)} x {first['event'].upper()}" + (f" {st}" if st else "")
                    + f": {first['message']}; session {first['session']} at {_ts(first['timestamp'])} "
                    f"(line {_line(first['source_line'])})"
                    + (f"; statement `{_short(first['statement'])}`" if pd.notna(first["statement"]) else "")
                    + ".")
        rows.append(F.finding(ERRORS, f"{len(g)} failed statement(s): {_short(first['message'], 60)}",
                              evidence, file=path, line=_line(first["source_line"]),
                              session=str(first["session"]), count=len(g), sqlstate=st,
                              example=_short(first["statement"]) if pd.notna(first["statement"]) else None))
    return F.to_frame(rows)


_SESSION_TIME = re.compile(r"session time: (\d+):(\d+):([\d.]+)")


def _sessions(server_events: pd.DataFrame | None, events: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """One row per session: session, start, duration_ms; from disconnection events when logged,
    else from the first and last statement of each session in the query log."""
    se = _server(server_events)
    if se is not None and (se["event"] == "disconnection").any():
        d = se[se["event"] == "disconnection"].copy()
        ms = d["duration_ms"].astype(float)
        parsed = d["message"].astype(str).str.extract(_SESSION_TIME).astype(float)
        ms = ms.fillna((parsed[0] * 3600 + parsed[1] * 60 + parsed[2]) * 1000.0)
        start = d["timestamp"] - pd.to_timedelta(ms.fillna(0), unit="ms")
        return pd.DataFrame({"session": d["session"].to_numpy(), "start": start.to_numpy(),
                             "duration_ms": ms.to_numpy(), "source_line": d["source_line"].to_numpy()}), \
            "disconnection events"
    if events is None or events.empty:
        return pd.DataFrame(columns=["session", "start", "duration_ms", "source_line"]), ""
    ex = _executed(events)
    ex = ex[ex["session"] != "?"]
    g = ex.groupby("session")
    end = g["timestamp"].max()
    first = g["timestamp"].min() - pd.to_timedelta(g["duration_ms"].first().fillna(0), unit="ms")
    out = pd.DataFrame({"start": first, "duration_ms": (end - first).dt.total_seconds() * 1000.0,
                        "source_line": g["source_line"].min()}).reset_index()
    return out, "first and last statement of each session"


def connection_churn(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
                     min_short_sessions: int = 20, max_session_ms: float = 1000.0,
                     min_short_share: float = 0.5) -> pd.DataFrame:
    """Many short sessions: at least ``min_short_sessions`` sessions shorter than
    ``max_session_ms``, making up at least ``min_short_share`` of all sessions. Sessions come
    from ``log_disconnections`` lines, else from each session's statements in the query log.
    Extra columns: ``sessions``, ``short_sessions``, ``connections_per_s`` (peak over 1 s)."""
    sessions, how = _sessions(server_events, events)
    if sessions.empty:
        return F.to_frame([])
    short = sessions[sessions["duration_ms"] < max_session_ms]
    share = len(short) / len(sessions)
    if len(short) < min_short_sessions or share < min_short_share:
        return F.to_frame([])
    starts = np.sort(_ns(sessions["start"]))
    per_s = np.searchsorted(starts, starts + 1_000_000_000, side="left") - np.arange(len(starts))
    span = (starts[-1] - starts[0]) / 1e9 if len(starts) > 1 else 0.0
    path = _source_path(server_events if how == "disconnection events" else events)
    evidence = (f"{len(short)} of {len(sessions)} sessions ({100 * share:.0f} %) lasted under "
                f"{max_session_ms:g} ms (median {short['duration_ms'].median():.0f} ms), seen in {how}; "
                f"up to {int(per_s.max())} new connections in one second, "
                f"{len(sessions) / span if span else float(len(sessions)):.1f} per second on average over "
                f"{span:.1f} s; sessions {', '.join(map(str, short['session'].head(5)))}, …; "
                f"{_lines(short)}.")
    return F.to_frame([F.finding(CONNECTION_CHURN, f"{len(short)} short-lived connections: "
                                 "a connection per unit of work", evidence, file=path,
                                 line=_line(short["source_line"].min()), sessions=len(sessions),
                                 short_sessions=len(short), connections_per_s=int(per_s.max()))])


# --------------------------------------------------------------------------- all of them

QUERY_DETECTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "queries.n_plus_one": n_plus_one, "queries.repeated": repeated,
    "queries.select_star": select_star, "queries.offset_pagination": offset_pagination,
    "queries.missing_index": missing_index, "queries.slow_query": slow_query,
    "queries.long_transactions": long_transactions,
}
SERVER_DETECTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "queries.temp_files": temp_files, "queries.lock_waits": lock_waits, "queries.errors": errors,
    "queries.connection_churn": connection_churn,
}


def _options_for(fn: Callable[..., Any], rule_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options ``fn`` takes: by their own name (``min_repeats``) or prefixed with the rule's
    name (``n_plus_one_min_repeats``, as the HTTP rules take theirs)."""
    names = {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}
    prefix = rule_id.split(".", 1)[1] + "_"
    out = {k: v for k, v in options.items() if k in names}
    out.update({k[len(prefix):]: v for k, v in options.items()
                if k.startswith(prefix) and k[len(prefix):] in names})
    return out


def findings(events: pd.DataFrame, server_events: pd.DataFrame | None = None, *,
             rules: list[str] | None = None, **options: Any) -> pd.DataFrame:
    """Run every query rule on ``events`` (query_events) and ``server_events`` -> one findings
    table, most severe first. ``rules`` picks some rule ids; other keyword options are thresholds
    for the rules that take them, by name (``min_repeats=8``, ``slow_ms=200``: each name belongs
    to one rule) or prefixed with the rule (``n_plus_one_min_repeats=8``). Options no query rule
    takes are ignored: :func:`toolkit.findings` passes the same options to every domain.

        >>> findings(events, server_events, slow_ms=200)        # doctest: +SKIP
    """
    if events is None:
        events = schema.empty("query_events")
    frames = []
    _PREPARED[id(events)] = _executed(events)
    try:
        for rid, fn in QUERY_DETECTORS.items():
            if rules is None or rid in rules:
                frames.append(fn(events, **_options_for(fn, rid, options)))
        for rid, fn in SERVER_DETECTORS.items():
            if rules is None or rid in rules:
                if rid == "queries.errors":
                    frames.append(fn(server_events, **_options_for(fn, rid, options)))
                else:
                    frames.append(fn(server_events, events, **_options_for(fn, rid, options)))
    finally:
        _PREPARED.pop(id(events), None)
    return F.to_frame(r for f in frames for r in f.to_dict("records"))
