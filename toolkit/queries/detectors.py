"""Query detectors: the checklist rules (ids ``queries.*``) run on query events and server events.

Every rule is a function ``DataFrame in -> findings DataFrame`` (see :mod:`toolkit.rules`) with
its thresholds as keyword options; :func:`findings` runs them all and returns the ranked table
(:func:`toolkit.ranking.to_frame`). A finding is about one thing (its ``key``: a fingerprint, a
table's columns, a parent/child pair of fingerprints), names the sessions, times and input
lines of its evidence and an example statement, so it can be checked in the log it came from,
and estimates what fixing it saves (``saving``, ``saving_s_per_hour``).

Fingerprints shown and grouped on are the readable form
(:func:`~toolkit.queries.fingerprint.fingerprint` with ``readable=True``: ``balance + ?``, not
pt-query-digest's ``balance ? ?``); ``pt_fingerprints=True`` groups as pt-query-digest does.

============================ ============================ =====================================
rule                          practice                     fires when (defaults)
============================ ============================ =====================================
queries.n_plus_one            N+1 and ORM queries          in one session a SELECT (the parent) is
                                                           followed by >= 5 cheap key lookups
                                                           (``id = ?``, ``customer_id = ?``) of
                                                           one other fingerprint (median <= 50 ms)
                                                           that differ only in their parameters;
                                                           the pattern over the whole log costs
                                                           >= 50 ms of server time or >= 50
                                                           avoidable round trips
queries.repeated              caching                      one SELECT with the same parameters
                                                           >= 10 times in a row in one session (a
                                                           loop), or >= 10 times within 60 s
                                                           across sessions when a call costs
                                                           >= 1 ms (a cache would save time)
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
queries.wildcard_search       indexes                      LIKE/ILIKE with a leading wildcard,
                                                           >= 100 ms in all
queries.seq_scan              indexes                      a logged plan reads >= 100,000 rows
                                                           of one table in a Seq Scan (not
                                                           already a missing index or a search)
queries.slow_query            indexes                      a SELECT takes >= 500 ms (Sentry)
queries.temp_files            indexes                      a query wrote temporary files
queries.lock_waits            monitoring                   lock waits >= 100 ms, deadlocks
queries.statement_timeout     monitoring                   statements cancelled by
                                                           statement_timeout
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
    >>> findings(events, others)[["rank", "rule", "title", "saving"]]
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import rules as R
from .. import schema
from ..ranking import to_frame
from .advice import conditions, index_advice, is_key_lookup

# --------------------------------------------------------------------------- rules

N_PLUS_ONE = R.rule(
    "queries.n_plus_one", "N+1 and ORM queries",
    "In one session, a query (the parent) followed by many cheap key lookups of one other "
    "fingerprint that differ only in their parameters; the same parent/child pattern across "
    "requests is one finding, judged by server time and by round trips.", severity="high",
    fix="Load the related rows in one query: a JOIN, `WHERE id IN (...)` / `= ANY($1)`, or the "
        "ORM's eager loading (SQLAlchemy selectinload/joinedload, Django select_related/"
        "prefetch_related).",
    thresholds={"min_repeats": 5, "max_child_ms": 50.0, "min_total_ms": 50.0, "min_round_trips": 50})
REPEATED = R.rule(
    "queries.repeated", "caching",
    "The same SELECT with the same parameters again and again: in a row in one session (a loop "
    "asking the same question), or across sessions when each call costs enough for a cache to "
    "save time.", severity="medium",
    fix="In a loop: ask once and keep the answer (hoist it out of the loop, or memoise it per "
        "request). Across requests: cache the result (in process, or Redis/memcached) with an "
        "expiry.",
    thresholds={"min_identical": 10, "window_s": 60.0, "max_gap": 2, "min_mean_ms": 1.0})
SELECT_STAR = R.rule(
    "queries.select_star", "SELECT *",
    "Queries that select every column.", severity="low",
    fix="Name the columns the code uses: less data read and sent, index-only scans become "
        "possible, and schema changes stop breaking callers.",
    thresholds={"min_star_calls": 1})
OFFSET_PAGINATION = R.rule(
    "queries.offset_pagination", "pagination",
    "A LIMIT/OFFSET query whose duration grows with the offset.", severity="medium",
    fix="Use keyset (seek) pagination: `WHERE (created_at, id) > ($last_created_at, $last_id) "
        "ORDER BY created_at, id LIMIT 50` on an index over the sort key; every page then "
        "costs the same.",
    thresholds={"min_pages": 5, "min_rho": 0.8, "min_growth": 2.0})
MISSING_INDEX = R.rule(
    "queries.missing_index", "indexes",
    "Sequential scans that read a table to keep few rows (rows removed by filter), or "
    "statements that examine far more rows than they return.", severity="high",
    fix="Create the index the filter needs (the finding names the statement, checked against "
        "the filter's shape), then check the new plan with EXPLAIN (ANALYZE, BUFFERS).",
    thresholds={"min_rows_removed": 10_000, "min_removed_share": 0.9, "min_examined": 10_000,
                "min_examined_ratio": 100.0})
WILDCARD_SEARCH = R.rule(
    "queries.wildcard_search", "indexes",
    "Searches with a leading wildcard (`LIKE '%term%'`, ILIKE): no B-tree index can serve them, "
    "so each call reads the whole table.", severity="high",
    fix="PostgreSQL: a pg_trgm GIN index (`CREATE INDEX ... USING gin (col gin_trgm_ops)`) or "
        "full-text search; MySQL/MariaDB: a FULLTEXT index with MATCH ... AGAINST.",
    thresholds={"min_total_ms": 100.0})
SEQ_SCAN = R.rule(
    "queries.seq_scan", "indexes",
    "Logged plans that read a large table sequentially (no filter that an index would serve "
    "better, or a filter that keeps many rows).", severity="medium",
    fix="Read less: an index on the ORDER BY or join key, a covering index for an index-only "
        "scan, a partial index for the rows the query wants, or a precomputed result "
        "(materialized view, summary table).",
    thresholds={"min_rows": 100_000, "min_total_ms": 100.0})
SLOW_QUERY = R.rule(
    "queries.slow_query", "indexes",
    "SELECT statements slower than a threshold (Sentry's slow DB query: 500 ms).",
    severity="medium",
    fix="EXPLAIN (ANALYZE, BUFFERS) the statement: add the index its filter or sort needs, "
        "fetch fewer rows, or precompute the result.",
    thresholds={"slow_ms": 500.0})
TEMP_FILES = R.rule(
    "queries.temp_files", "indexes",
    "Queries whose sorts or hashes spilled to temporary files on disk.", severity="medium",
    fix="Avoid the sort with an index on the ORDER BY columns, fetch fewer rows, or raise "
        "work_mem for that query only (`SET LOCAL work_mem = '64MB'`).",
    thresholds={"min_temp_bytes": 0})
LOCK_WAITS = R.rule(
    "queries.lock_waits", "monitoring",
    "Statements that waited for locks held by other transactions (PostgreSQL log_lock_waits; "
    "MySQL/MariaDB Lock_time, and one-row writes that took long), and deadlocks.",
    severity="high",
    fix="Keep transactions short, take row locks in one consistent order, do slow work "
        "outside the transaction; set lock_timeout; queue workers can use "
        "`SELECT ... FOR UPDATE SKIP LOCKED`.",
    thresholds={"min_wait_ms": 100.0, "few_rows": 10})
STATEMENT_TIMEOUT = R.rule(
    "queries.statement_timeout", "monitoring",
    "Statements cancelled because they ran past statement_timeout (SQLSTATE 57014): the work "
    "was done for nothing and the caller got an error.", severity="high",
    fix="Make the statement fast enough (EXPLAIN it: an index, fewer rows), or move it to a "
        "background job with its own, longer timeout; raising the timeout alone only hides it.",
    thresholds={"min_timeouts": 1})
LONG_TRANSACTIONS = R.rule(
    "queries.long_transactions", "monitoring",
    "Transactions held open for long, mostly idle between statements.", severity="medium",
    fix="Commit before slow application work (HTTP calls, sleeps); set "
        "idle_in_transaction_session_timeout; watch pg_stat_activity for "
        "'idle in transaction'.",
    thresholds={"min_open_ms": 1000.0})
ERRORS = R.rule(
    "queries.errors", "monitoring",
    "Statements that failed, grouped by SQLSTATE and message.", severity="medium",
    fix="Fix the failing statements; alert on the database error rate.",
    thresholds={"min_errors": 1})
CONNECTION_CHURN = R.rule(
    "queries.connection_churn", "connection pooling",
    "Many short-lived database sessions: a connection opened per unit of work.", severity="high",
    fix="Use a connection pool (PgBouncer, or the driver's/ORM's pool such as psycopg_pool or "
        "SQLAlchemy's QueuePool) and keep connections open across requests.",
    thresholds={"min_short_sessions": 20, "max_session_ms": 1000.0, "min_short_share": 0.5})

RULES = (N_PLUS_ONE, REPEATED, SELECT_STAR, OFFSET_PAGINATION, MISSING_INDEX, WILDCARD_SEARCH,
         SEQ_SCAN, SLOW_QUERY, TEMP_FILES, LOCK_WAITS, STATEMENT_TIMEOUT, LONG_TRANSACTIONS, ERRORS,
         CONNECTION_CHURN)

# What opening a connection costs when the log does not show it (fork, authentication, the
# startup packet exchange): an assumption stated in the saving text.
CONNECT_MS = 2.0
CONNECT_ROUND_TRIPS = 3  # TCP handshake, startup/authentication, first query

# --------------------------------------------------------------------------- helpers

_COMMENT = re.compile(r"/\*(?!!).*?\*/|--[^\n]*", re.S)
_FIRST_WORD = re.compile(r"^[\s(]*(\w+)")
_SELECT_STAR = re.compile(r"\bselect\s+(?:distinct\s+)?(?:\w+\.)?\*\s*(?:,|from\b)", re.I)
_OFFSET = re.compile(r"\boffset\s+(\$\d+|\d+)|\blimit\s+(\$\d+|\d+)\s*,\s*(?:\$\d+|\d+)", re.I)
_PARAM = re.compile(r"\$(\d+)\s*=\s*(?:'((?:[^']|'')*)'|(NULL))")
_FROM_TABLE = re.compile(r"\bfrom\s+([\w.`\"]+)", re.I)
_UPDATE_TABLE = re.compile(r"^\s*(?:update|delete\s+from)\s+([\w.`\"]+)", re.I)
_LIKE = re.compile(r"\b(?:i?like)\b|~~", re.I)
_TX_BEGIN = {"begin", "start"}
_TX_END = {"commit", "end", "rollback", "abort"}
_MAINTENANCE = {"create", "alter", "drop", "vacuum", "analyze", "cluster", "reindex", "copy",
                "truncate", "checkpoint", "refresh", "grant", "revoke", "comment"}


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


def _dialect(df: pd.DataFrame | None) -> str:
    """"mysql" for MySQL/MariaDB slow logs, else "postgresql" (what the index advice is written in)."""
    src = (df.attrs.get("source") or {}) if df is not None else {}
    fmt = str(src.get("format") or "") if isinstance(src, dict) else ""
    if fmt.startswith("mysql") or (df is not None and "rows_examined" in df.columns
                                   and df["rows_examined"].notna().any()):
        return "mysql"
    return "postgresql"


def _relation(sql: str) -> str:
    m = _FROM_TABLE.search(sql or "") or _UPDATE_TABLE.search(sql or "")
    return m.group(1).strip('`"') if m else "?"


# findings() prepares the executed statements once for all its rules: id(events) -> frame
_PREPARED: dict[int, pd.DataFrame] = {}


def _executed(events: pd.DataFrame | None, pt_fingerprints: bool = False) -> pd.DataFrame:
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
    verbs = {s: _verb(s) for s in pd.unique(out["statement"])}
    out["verb"] = out["statement"].map(verbs)
    sel = {s: _is_select(s) for s in pd.unique(out["statement"])}
    out["is_select"] = out["statement"].map(sel).astype(bool)
    out["session"] = out["session"].astype("object").where(out["session"].notna(), "?")
    out["_order"] = np.arange(len(out))
    return out.sort_values(["session", "timestamp", "source_line", "_order"], kind="stable")


# findings() measures the log's span once (query and server events): id(events) -> seconds
_SPANS: dict[int, float] = {}


def _span_s(*frames: pd.DataFrame | None) -> float:
    """Seconds between the first and the last timestamp of the evidence (0 when unknown); inside
    :func:`findings`, the span of the whole log (its query and server events) for every rule."""
    for f in frames:
        if f is not None and id(f) in _SPANS:
            return _SPANS[id(f)]
    times = [f["timestamp"] for f in frames if f is not None and len(f) and "timestamp" in f.columns]
    if not times:
        return 0.0
    t = pd.concat(times).dropna()
    return float((t.max() - t.min()).total_seconds()) if len(t) else 0.0


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


def _sessions_text(sessions: Any, n: int = 3) -> str:
    uniq = list(pd.unique(pd.Series(list(sessions), dtype="object")))
    return ", ".join(map(str, uniq[:n])) + (f" and {len(uniq) - n} more" if len(uniq) > n else "")


def _param_key(ex: pd.DataFrame) -> pd.Series:
    """Statement text (whitespace folded) and its parameters: equal when a call is repeated."""
    return ex["statement"].map(lambda s: " ".join(s.split())) + "\x00" + \
        ex["parameters"].astype("object").fillna("").astype(str)


# --------------------------------------------------------------------------- query rules

def _lookup_codes(fps: Any) -> np.ndarray:
    """Per fingerprint: True when it is a SELECT looking rows up by key (``id = ?``,
    ``customer_id IN (...)``; see :func:`~toolkit.queries.advice.is_key_lookup`)."""
    return np.array([_is_select(fp) and is_key_lookup(conditions(fp)[0]) for fp in fps], dtype=bool)


def _n1_occurrences(ex: pd.DataFrame, min_repeats: int, gap_s: float,
                    max_between: int) -> list[tuple[int, np.ndarray]]:
    """(parent row, child rows) of every N+1 occurrence in session-ordered statements.

    Children: key lookups of one fingerprint that repeat at least ``min_repeats`` times in one
    session with at most ``max_between`` other statements between two calls and no pause of
    ``gap_s`` (they may interleave with other lookups: per order its items, per item its
    product). A child's parent is the latest SELECT before it in its session that is not a
    child itself, inside the same transaction (BEGIN and COMMIT end the search: ten point
    selects after BEGIN have no parent). Children with the same parent row are one occurrence;
    the next request on a pooled connection has a new parent row, so a new occurrence."""
    n = len(ex)
    codes, uniq = pd.factorize(ex["fingerprint"])
    sel = ex["is_select"].to_numpy(dtype=bool)
    candidate = _lookup_codes(uniq)[codes] & sel
    t = _ns(ex["timestamp"])
    nat = ex["timestamp"].isna().to_numpy()
    sess = pd.factorize(ex["session"])[0]
    pause = np.r_[False, ~nat[1:] & ~nat[:-1] & (np.diff(t) > int(gap_s * 1e9))]
    segment = np.cumsum(np.r_[True, sess[1:] != sess[:-1]] | pause)
    # clusters: one fingerprint's lookups close together in one segment
    rows = np.flatnonzero(candidate)
    if not len(rows):
        return []
    rows = rows[np.lexsort((rows, codes[rows], segment[rows]))]
    brk = np.r_[True, (segment[rows][1:] != segment[rows][:-1]) | (codes[rows][1:] != codes[rows][:-1])
                | (np.diff(rows) > max_between + 1)]
    cluster = np.cumsum(brk) - 1
    dense = np.bincount(cluster)[cluster] >= min_repeats
    child = np.zeros(n, dtype=bool)
    child[rows[dense]] = True
    # parents: the latest non-child SELECT of the same transaction
    tx = ex["verb"].isin(list(_TX_BEGIN | _TX_END)).to_numpy()
    new_segment = np.r_[True, segment[1:] != segment[:-1]]
    parent = np.full(n, -1)
    last = -1
    for i in range(n):
        if new_segment[i] or tx[i]:
            last = -1
        if child[i]:
            parent[i] = last if last >= 0 and codes[last] != codes[i] else -1
        elif sel[i] and not tx[i]:
            last = i
    groups: dict[tuple[int, int], list[int]] = {}
    for r, cl in zip(rows[dense], cluster[dense], strict=True):
        if parent[r] >= 0:
            groups.setdefault((int(parent[r]), int(cl)), []).append(int(r))
    return [(p, np.array(rs)) for (p, _cl), rs in groups.items() if len(rs) >= min_repeats]


def n_plus_one(events: pd.DataFrame, *, min_repeats: int = 5, max_child_ms: float = 50.0,
               min_total_ms: float = 50.0, min_round_trips: int = 50, gap_s: float = 1.0,
               max_between: int = 10) -> pd.DataFrame:
    """N+1: a parent SELECT, then ``min_repeats`` or more key lookups (``WHERE col = ?``, ``IN``)
    of one other fingerprint in the same session, differing only in their parameters, each
    cheap (median at most ``max_child_ms``: lookups, not scans; a run of slow scans with
    different search terms is a search problem), at most ``max_between`` other statements
    between two of them and no pause of ``gap_s``, the parent being the latest other SELECT of
    the transaction before them (see :func:`_n1_occurrences`). The same
    parent/child pattern across requests is one finding; it fires when all its occurrences
    together cost at least ``min_total_ms`` of server time or ``min_round_trips`` avoidable
    round trips (each occurrence could be one query).

    Extra columns: ``session`` (the first occurrence's), ``repeats`` (median lookups per
    occurrence), ``runs`` (occurrences), ``calls``, ``total_ms`` (the lookups' server time),
    ``fingerprint`` (the lookup's), ``parent`` (the parent's fingerprint), ``rows_match``
    (occurrences whose parent returned as many rows as lookups followed, where rows are
    logged), ``example``.
    """
    ex = _executed(events)
    path = _source_path(events)
    if len(ex) <= min_repeats:
        return to_frame([])
    span = _span_s(ex)
    dur = ex["duration_ms"].astype(float).fillna(0.0).to_numpy()
    pkey = _param_key(ex).to_numpy()
    fps = ex["fingerprint"].to_numpy()
    sent = ex["rows_sent"].astype(float).to_numpy() if "rows_sent" in ex.columns else np.full(len(ex), np.nan)
    groups: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
    for parent, rows in _n1_occurrences(ex, min_repeats, gap_s, max_between):
        if len(set(pkey[rows])) < 2:  # the same call again and again is queries.repeated
            continue
        groups.setdefault((fps[parent], fps[rows[0]]), []).append((parent, rows))
    out = []
    for (parent_fp, child_fp), occ in groups.items():
        child = np.concatenate([rows for _p, rows in occ])
        median = float(np.median(dur[child]))
        if median > max_child_ms:
            continue
        calls = len(child)
        server_ms = float(dur[child].sum())
        trips = sum(len(rows) - 1 for _p, rows in occ)
        if server_ms < min_total_ms and trips < min_round_trips:
            continue
        saved_ms = sum(float(dur[rows].sum() - np.median(dur[rows])) for _p, rows in occ)
        known = [(sent[p], len(rows)) for p, rows in occ if not np.isnan(sent[p])]
        match = sum(1 for s, k in known if s == k)
        first_p, first_rows = occ[0]
        parent_row, first_child = ex.iloc[first_p], ex.iloc[first_rows[0]]
        repeats = int(np.median([len(rows) for _p, rows in occ]))
        distinct = len(set(pkey[child]))
        each = "; ".join(
            f"session {ex.iloc[p]['session']}: {len(rows)} lookups, {dur[rows].sum():.1f} ms from "
            f"{_ts(ex.iloc[rows[0]]['timestamp'])} (lines {_line(ex.iloc[rows[0]]['source_line'])}-"
            f"{_line(ex.iloc[rows[-1]]['source_line'])})" for p, rows in occ[:4])
        more = f"; and {len(occ) - 4} more" if len(occ) > 4 else ""
        rows_note = (f" The parent returned exactly as many rows as lookups followed in {match} of "
                     f"{len(known)} occurrences (rows sent): one lookup per row." if known else "")
        evidence = (f"after `{_short(parent_fp, 90)}` (e.g. line {_line(parent_row['source_line'])}), "
                    f"{repeats} × `{_short(child_fp, 90)}` per occurrence, {len(occ)} occurrence(s): "
                    f"{calls} lookups with {distinct} distinct parameter sets, {server_ms:.1f} ms of "
                    f"server time (median {median:.2f} ms each), e.g. `{_example(first_child)}`. "
                    f"{each}{more}.{rows_note} Batched, each occurrence is one query: "
                    f"{R.round_trips_text(trips)} fewer.")
        out.append(R.finding(
            N_PLUS_ONE, f"N+1: {repeats} × `{_short(child_fp, 60)}` per `{_short(parent_fp, 40)}` "
            f"({len(occ)} occurrence{'s' if len(occ) != 1 else ''}, {calls} calls)",
            evidence, key=f"{parent_fp} -> {child_fp}", file=path,
            line=_line(first_child["source_line"]), occurrences=len(occ), saving_s=saved_ms / 1000.0,
            round_trips=trips, span_s=span, session=str(parent_row["session"]), repeats=repeats,
            runs=len(occ), calls=calls, total_ms=round(server_ms, 3), fingerprint=child_fp,
            parent=parent_fp, rows_match=match if known else None, example=_example(first_child)))
    return to_frame(out)


def _loops(ex: pd.DataFrame, codes: np.ndarray, min_identical: int, window_s: float,
           max_gap: int) -> dict[int, list[np.ndarray]]:
    """Per repeated-call code: runs of at least ``min_identical`` calls in one session with at
    most ``max_gap`` other statements between consecutive ones, within ``window_s``."""
    pos = ex["_pos"].to_numpy()  # place among all of the session's statements
    sess = pd.factorize(ex["session"])[0]
    order = np.lexsort((pos, codes))
    k, p, s = codes[order], pos[order], sess[order]
    brk = np.r_[True, (k[1:] != k[:-1]) | (s[1:] != s[:-1]) | (p[1:] - p[:-1] > max_gap + 1)]
    starts = np.flatnonzero(brk)
    ends = np.r_[starts[1:], len(k)]
    t = _ns(ex["timestamp"])
    window = int(window_s * 1e9)
    out: dict[int, list[np.ndarray]] = {}
    for a, b in zip(starts, ends, strict=True):
        if b - a < min_identical:
            continue
        rows = order[a:b]
        tt = t[rows]
        counts = np.searchsorted(tt, tt + window, side="right") - np.arange(len(tt))
        best = int(np.argmax(counts))
        if counts[best] >= min_identical:
            out.setdefault(int(k[a]), []).append(rows[best: best + int(counts[best])])
    return out


def repeated(events: pd.DataFrame, *, min_identical: int = 10, window_s: float = 60.0,
             max_gap: int = 2, min_mean_ms: float = 1.0) -> pd.DataFrame:
    """The same SELECT (same text, same parameters) asked again and again, one finding per
    fingerprint:

    - a loop: ``min_identical`` or more times in one session within ``window_s`` seconds, with
      at most ``max_gap`` other statements between calls (asking once saves the calls and
      their round trips, whatever they cost);
    - a cache candidate: ``min_identical`` or more times within ``window_s`` across sessions,
      when a call typically (the median) costs at least ``min_mean_ms`` on the server (below
      that, a cache lookup costs about what the query does: the database already is the cache).

    SELECTs without FROM (``SELECT 1``, ``SELECT now()``) read nothing to cache and are left out.
    Extra columns: ``repeats`` (the most calls of one parameter set in one burst), ``calls``,
    ``keys`` (parameter sets repeated), ``kind`` ("loop" / "cache"), ``total_ms``,
    ``fingerprint``, ``example``."""
    ex = _executed(events)
    span = _span_s(ex)
    # session order: a session's statements are contiguous, so positions count what ran between
    ex = ex.assign(_pos=np.arange(len(ex)))
    ex = ex[ex["is_select"] & ex["statement"].str.contains(r"\bfrom\b", case=False, regex=True)]
    path = _source_path(events)
    if ex.empty:
        return to_frame([])
    codes, _keys = pd.factorize(_param_key(ex))
    loops = _loops(ex, codes, min_identical, window_s, max_gap)
    dur = ex["duration_ms"].astype(float).fillna(0.0).to_numpy()
    t = _ns(ex["timestamp"])
    window = int(window_s * 1e9)
    counts = np.bincount(codes)
    mean = np.bincount(codes, weights=dur) / np.maximum(counts, 1)
    # a typical call's cost: the median, so one stalled call does not make a cheap query costly
    hot = np.flatnonzero(counts >= min_identical)
    median = pd.Series(dur).groupby(codes).median().reindex(hot).to_numpy()
    caches: dict[int, tuple[np.ndarray, int]] = {}
    for code in hot[median >= min_mean_ms]:
        if code in loops:
            continue
        rows = np.flatnonzero(codes == code)
        rows = rows[np.argsort(t[rows], kind="stable")]
        tt = t[rows]
        n = np.searchsorted(tt, tt + window, side="right") - np.arange(len(tt))
        best = int(np.argmax(n))
        if n[best] >= min_identical:
            buckets = len(np.unique((tt - tt[0]) // max(window, 1)))
            caches[int(code)] = (rows[best: best + int(n[best])], len(rows) - buckets)
    fps = ex["fingerprint"].to_numpy()
    by_fp: dict[str, list[tuple[str, int]]] = {}
    for code in list(loops) + list(caches):
        first = loops[code][0][0] if code in loops else caches[code][0][0]
        by_fp.setdefault(fps[first], []).append(("loop" if code in loops else "cache", code))
    out = []
    for fp, items in by_fp.items():
        saved_ms, trips, shown, calls = 0.0, 0, [], 0
        kind = "loop" if any(k == "loop" for k, _c in items) else "cache"
        best_n, best_rows = 0, None
        for k, code in items:
            calls += int(counts[code])
            if k == "loop":
                for rows in loops[code]:
                    saved_ms += (len(rows) - 1) * mean[code]
                    trips += len(rows) - 1
                    if len(rows) > best_n:
                        best_n, best_rows = len(rows), rows
            else:
                rows, avoidable = caches[code]
                saved_ms += avoidable * mean[code]
                if len(rows) > best_n:
                    best_n, best_rows = len(rows), rows
            shown.append(code)
        burst = ex.iloc[best_rows]
        span_b = (burst["timestamp"].iloc[-1] - burst["timestamp"].iloc[0]).total_seconds()
        # MariaDB's SET timestamp has whole seconds: a span of 0 means "within one second"
        took = ("the same second" if span_b == 0 else f"{span_b * 1000:.0f} ms" if span_b < 1
                else f"{span_b:.1f} s")
        where = (f"in a row in session {burst['session'].iloc[0]}" if kind == "loop"
                 else f"from {burst['session'].nunique()} sessions")
        evidence = (f"`{_example(burst.iloc[0])}` ran {best_n} times in {took} {where}, "
                    f"{burst['duration_ms'].sum():.2f} ms in all, {_ts(burst['timestamp'].iloc[0])} to "
                    f"{_ts(burst['timestamp'].iloc[-1])}; {_lines(burst)}. Over the log, {len(items)} "
                    f"parameter set(s) of `{_short(fp, 80)}` repeat like this ({calls} calls, mean "
                    f"{np.average(mean[shown], weights=counts[shown]):.2f} ms each).")
        title = (f"Same query and parameters {best_n} times in a row ({took})" if kind == "loop"
                 else f"Same query and parameters {best_n} times in {took} across sessions")
        out.append(R.finding(REPEATED, title, evidence, key=fp, file=path,
                             line=_line(burst["source_line"].iloc[0]), occurrences=calls,
                             saving_s=saved_ms / 1000.0, round_trips=trips or None, span_s=span,
                             session=str(burst["session"].iloc[0]), repeats=best_n, calls=calls,
                             keys=len(items), kind=kind,
                             total_ms=round(float(dur[np.isin(codes, shown)].sum()), 3),
                             fingerprint=fp, example=_example(burst.iloc[0])))
    return to_frame(out)


def select_star(events: pd.DataFrame, *, min_star_calls: int = 1) -> pd.DataFrame:
    """Fingerprints that ``SELECT *`` (or ``t.*``), with their share of all calls and time.
    What naming the columns saves cannot be read from a log (it depends on the columns the
    code does not use), so these findings carry no estimate and rank after those that do."""
    ex = _executed(events)
    path = _source_path(events)
    if ex.empty:
        return to_frame([])
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
                    f"{_sessions_text(g['session'], 5)}; e.g. `{_example(g.iloc[0])}` "
                    f"at {_ts(g['timestamp'].iloc[0])}; {_lines(g)}.")
        rows.append(R.finding(SELECT_STAR, f"SELECT * in {len(g)} calls ({time_pct:.1f} % of time)",
                              evidence, key=fp, file=path, line=_line(g["source_line"].min()),
                              occurrences=len(g), saving="not measurable from a log: less data read "
                              "and sent, depending on the columns the code does not use",
                              calls=len(g), calls_pct=round(calls_pct, 3), total_ms=round(ms, 3),
                              time_pct=round(time_pct, 3), fingerprint=fp, example=_example(g.iloc[0])))
    return to_frame(rows)


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
    The saving is what the pages cost above the shallowest quarter's mean (keyset pagination
    makes every page cost the same).

    Extra columns: ``pages``, ``rho``, ``slope_ms_per_1k`` (least-squares ms per 1,000 rows of
    offset), ``growth``, ``max_offset``."""
    ex = _executed(events)
    span = _span_s(ex)
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
        base = float(ms[order[: max(1, len(order) // 4)]].mean())
        saved_ms = float(np.clip(ms - base, 0, None).sum())
        first, deepest = g.iloc[order[0]], g.iloc[order[-1]]
        evidence = (f"`{_short(fp)}` ran at {len(np.unique(offsets))} offsets "
                    f"({offsets.min():.0f} to {offsets.max():.0f}) in session(s) "
                    f"{_sessions_text(g['session'])}: {first['duration_ms']:.2f} ms at "
                    f"offset {offsets[order[0]]:.0f} (line {_line(first['source_line'])}), "
                    f"{deepest['duration_ms']:.2f} ms at offset {offsets[order[-1]]:.0f} "
                    f"(line {_line(deepest['source_line'])}); Spearman rho of {measure} against offset {rho:.2f}, "
                    f"+{slope:.3f} ms per 1,000 rows skipped, deepest pages {growth:.1f}x the first.")
        rows.append(R.finding(OFFSET_PAGINATION, f"OFFSET pagination: deep pages {growth:.1f}x slower",
                              evidence, key=fp, file=path, line=_line(g["source_line"].min()),
                              occurrences=len(g), saving_s=saved_ms / 1000.0, span_s=span,
                              session=str(g["session"].iloc[0]), pages=int(len(np.unique(offsets))),
                              rho=round(rho, 4), measure=measure, slope_ms_per_1k=round(slope, 4),
                              growth=round(growth, 3), max_offset=int(offsets.max()), fingerprint=fp,
                              example=_example(deepest)))
    return to_frame(rows)


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


def _seq_scans(events: pd.DataFrame) -> pd.DataFrame:
    """The Seq Scan nodes of the logged plans, with ``rows_read`` (kept + removed, all loops)
    and ``fingerprint`` of their statement."""
    from .fingerprint import Fingerprinter
    from .plans import plan_nodes

    if "plan" not in events.columns or not events["plan"].notna().any():
        return pd.DataFrame()
    nodes = plan_nodes(events)
    scans = nodes[nodes["node_type"].str.contains("Seq Scan", na=False)].copy()
    if scans.empty:
        return scans
    # "Rows Removed by Filter" is per loop (a parallel scan's workers, a nested loop's inner side)
    loops = scans["actual_loops"].astype(float).fillna(1.0)
    scans["removed_total"] = scans["rows_removed_by_filter"].astype(float).fillna(0.0) * loops
    scans["rows_read"] = scans["rows_total"].astype(float).fillna(0.0) + scans["removed_total"]
    fp = Fingerprinter(readable=True)
    scans["fingerprint"] = scans["statement"].map(lambda s: fp(s) if isinstance(s, str) else None)
    return scans


def missing_index(events: pd.DataFrame, *, min_rows_removed: int = 10_000,
                  min_removed_share: float = 0.9, min_examined: int = 10_000,
                  min_examined_ratio: float = 100.0) -> pd.DataFrame:
    """Sequential scans in logged plans (auto_explain) that remove at least ``min_rows_removed``
    rows by filter, at least ``min_removed_share`` of what they read; grouped by table and
    filter columns. For logs without plans (MySQL/MariaDB slow log), fingerprints that examine
    at least ``min_examined`` rows per call and ``min_examined_ratio`` x the rows they send.
    Leading-wildcard searches are left to ``queries.wildcard_search`` (a B-tree index would not
    help them). The fix names the index statement, checked against the filter's shape
    (:func:`~toolkit.queries.advice.index_advice`). The saving is the time of those scans.

    Extra columns: ``relation``, ``columns`` (comma separated), ``calls``, ``rows_removed``,
    ``advice`` (the kind of index), ``index_statement``."""
    path = _source_path(events)
    dialect = _dialect(events)
    rows = []
    span = _span_s(events)
    scans = _seq_scans(events)
    if not scans.empty:
        removed = scans["removed_total"]
        kept = scans["rows_total"].fillna(0.0)
        share = removed / (removed + kept).where(removed + kept > 0)
        scans = scans[scans["rows_removed_by_filter"].notna() & (removed >= min_rows_removed)
                      & (share >= min_removed_share)]
        if not scans.empty:
            scans = scans.assign(columns=scans["filter"].map(lambda f: ", ".join(filter_columns(f))))
            for (rel, cols), g in scans.groupby(["relation", "columns"], sort=False):
                first = g.iloc[0]
                conds, has_or = conditions(first["filter"])
                if any(c.leading_wildcard for c in conds):
                    continue
                # the filter's own columns (``customer_id = c.id`` compares to the outer query's
                # c.id), equality before range as the index would have them
                order = {"eq": 0, "range": 1}
                cols = ", ".join(dict.fromkeys(c.expression or c.column for c in sorted(
                    conds, key=lambda c: order.get(c.kind, 2)) if c.column)) or cols
                advice = index_advice(rel, conds, has_or=has_or, dialect="postgresql")
                n_removed = int(g["removed_total"].sum())
                ms = float(g["actual_total_ms"].sum())
                statement = first.get("statement")
                evidence = (f"{len(g)} logged plan(s) scan all of `{rel}` with Filter "
                            f"`{first['filter']}` and remove {n_removed:,} rows "
                            f"(mean {n_removed / len(g):,.0f} per scan, keeping "
                            f"{g['rows_total'].mean():,.0f}); {ms:.1f} ms in these scans; "
                            f"session {first.get('session')}, {_ts(first.get('timestamp'))}, "
                            f"{_lines(g)}; statement `{_short(statement)}`.")
                rows.append(R.finding(MISSING_INDEX, f"No index on {rel}({cols}): {len(g)} seq scans "
                                      f"remove {n_removed / len(g):,.0f} rows each", evidence,
                                      key=f"{rel}({cols})", file=path,
                                      line=_line(g["source_line"].min()) if "source_line" in g else None,
                                      occurrences=len(g), saving_s=ms / 1000.0, span_s=span,
                                      relation=rel, columns=cols, calls=len(g), rows_removed=n_removed,
                                      fix=advice.text, advice=advice.kind,
                                      index_statement=advice.statement,
                                      fingerprint=first.get("fingerprint"), example=_short(statement)))
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
            conds, has_or = conditions(statement)
            usable = [c for c in conds if c.column and c.kind in ("eq", "range", "pattern")]
            if not usable or any(c.leading_wildcard for c in conds):
                continue  # no filter (a sort or a full read), or a search: other rules
            rel = _relation(statement)
            cols = ", ".join(dict.fromkeys(c.column for c in usable))
            advice = index_advice(rel, conds, has_or=has_or, dialect=dialect)
            ms = float(g["duration_ms"].sum())
            evidence = (f"`{_short(fp)}`: {len(g)} calls examine {per_call:,.0f} rows each to send "
                        f"{sent.mean():,.3g} ({ratio:,.0f}x), {ms:.1f} ms in all; "
                        f"session {g['session'].iloc[0]}, {_ts(g['timestamp'].iloc[0])}, {_lines(g)}.")
            rows.append(R.finding(MISSING_INDEX, f"No index on {rel}({cols})? {per_call:,.0f} rows "
                                  f"examined per call to return {sent.mean():,.3g}", evidence,
                                  key=f"{rel}({cols})", file=path, line=_line(g["source_line"].min()),
                                  occurrences=len(g), saving_s=ms * (1 - 1 / ratio) / 1000.0, span_s=span,
                                  relation=rel, columns=cols, calls=len(g),
                                  rows_removed=int(examined.sum() - sent.sum()), fix=advice.text,
                                  advice=advice.kind, index_statement=advice.statement,
                                  fingerprint=fp, example=_example(g.iloc[0])))
    return to_frame(rows)


def wildcard_search(events: pd.DataFrame, *, min_total_ms: float = 100.0) -> pd.DataFrame:
    """Statements filtering with a leading-wildcard ``LIKE``/``ILIKE`` (the pattern read from the
    statement's literal or its logged parameter), one finding per fingerprint when their calls
    take ``min_total_ms`` or more in all: a search no B-tree index can serve. The fix is a
    pg_trgm GIN index or full-text search (PostgreSQL), a FULLTEXT index (MySQL/MariaDB).

    Extra columns: ``relation``, ``column``, ``calls``, ``patterns`` (distinct search terms),
    ``index_statement``."""
    ex = _executed(events)
    span = _span_s(ex)
    path = _source_path(events)
    dialect = _dialect(events)
    ex = ex[ex["statement"].str.contains(_LIKE)]
    if ex.empty:
        return to_frame([])
    found: dict[tuple[str, Any], Any] = {}
    for s, p in set(zip(ex["statement"], ex["parameters"].astype("object"), strict=True)):
        conds, _or = conditions(s, None if p is None or pd.isna(p) else str(p))
        found[(s, p)] = next((c for c in conds if c.leading_wildcard), None)
    wild = ex[[found[(s, p)] is not None for s, p in zip(ex["statement"], ex["parameters"].astype("object"),
                                                         strict=True)]]
    out = []
    for fp, g in wild.groupby("fingerprint", sort=False):
        ms = float(g["duration_ms"].sum())
        if ms < min_total_ms:
            continue
        worst = g.loc[g["duration_ms"].idxmax()]
        cond = found[(worst["statement"], worst["parameters"])]
        patterns = {found[(s, p)].value for s, p in zip(g["statement"], g["parameters"], strict=True)}
        rel = _relation(worst["statement"])
        advice = index_advice(rel, [cond], dialect=dialect)
        evidence = (f"`{_short(fp)}`: {len(g)} calls with {len(patterns)} different search "
                    f"pattern(s) such as '{_short(cond.value, 40)}', {ms:.1f} ms in all (mean "
                    f"{ms / len(g):.1f} ms, worst {worst['duration_ms']:.1f} ms in session "
                    f"{worst['session']} at {_ts(worst['timestamp'])}, line {_line(worst['source_line'])}); "
                    f"a pattern that starts with a wildcard makes every call read all of {rel}.")
        out.append(R.finding(WILDCARD_SEARCH, f"Leading-wildcard search on {rel}.{cond.column}: "
                             f"{len(g)} full scans, {R.duration(ms / 1000)}", evidence, key=fp, file=path,
                             line=_line(g["source_line"].min()), occurrences=len(g),
                             saving_s=ms / 1000.0, span_s=span, fix=advice.text, relation=rel,
                             column=cond.column, calls=len(g), patterns=len(patterns),
                             index_statement=advice.statement, fingerprint=fp, example=_example(worst)))
    return to_frame(out)


def seq_scan(events: pd.DataFrame, *, min_rows: int = 100_000, min_total_ms: float = 100.0) -> pd.DataFrame:
    """Sequential scans in logged plans that read at least ``min_rows`` rows of one table (all
    loops) and take ``min_total_ms`` or more, per (table, statement), when they are not a
    missing index (a filter removing most rows) or a leading-wildcard search: a whole table
    read to sort it, to aggregate it, or with a filter that keeps many rows. The fix depends on
    which (an index on the sort key; a partial index; a precomputed result)."""
    scans = _seq_scans(events)
    path = _source_path(events)
    span = _span_s(events)
    if scans.empty:
        return to_frame([])
    removed = scans["removed_total"]
    kept = scans["rows_total"].astype(float).fillna(0.0)
    share = removed / (removed + kept).where(removed + kept > 0)
    big = scans[(scans["rows_read"] >= min_rows) & ~(share >= 0.9)]
    out = []
    for (rel, fp), g in big.groupby(["relation", "fingerprint"], sort=False):
        ms = float(g["actual_total_ms"].sum())
        if ms < min_total_ms:
            continue
        first = g.iloc[0]
        statement = str(first["statement"])
        conds, has_or = conditions(first["filter"]) if isinstance(first["filter"], str) else ([], False)
        if any(c.leading_wildcard for c in conds):
            continue
        kept_share = float(kept[g.index].sum() / max(float(g["rows_read"].sum()), 1.0))
        if conds:
            advice = index_advice(rel, conds, has_or=has_or, kept_share=kept_share)
            fix, why = advice.text, f"Filter `{first['filter']}` keeps {100 * kept_share:.0f} % of the rows"
        elif re.search(r"\border\s+by\b", statement, re.I):
            cols = re.search(r"\border\s+by\s+(.+?)(?:\blimit\b|\boffset\b|$)", statement, re.I | re.S)
            key = cols.group(1).strip().rstrip(";") if cols else "the sort key"
            fix = (f"The query reads all of {rel} to sort it: an index on the ORDER BY columns "
                   f"(`CREATE INDEX CONCURRENTLY ON {rel} ({key});`) lets it read rows in order and "
                   "stop at the LIMIT; keyset pagination instead of a deep OFFSET.")
            why = "no filter; the rows are sorted after the scan"
        else:
            fix = (f"The query reads all of {rel} on every call: precompute the result (a "
                   "materialized view or a summary table refreshed on change), or a covering index "
                   "for an index-only scan of the columns it needs.")
            why = "no filter: every row is read"
        evidence = (f"{len(g)} logged plan(s) of `{_short(statement, 100)}` read {g['rows_read'].mean():,.0f} "
                    f"rows of `{rel}` per call in a Seq Scan ({why}); {ms:.1f} ms in these scans; session "
                    f"{first.get('session')}, {_ts(first.get('timestamp'))}, {_lines(g)}.")
        out.append(R.finding(SEQ_SCAN, f"Seq scan of {rel} ({g['rows_read'].mean():,.0f} rows per call, "
                             f"{len(g)} call(s)) for `{_short(fp, 60)}`", evidence, key=f"{rel}: {fp}", file=path,
                             line=_line(g["source_line"].min()), occurrences=len(g), saving_s=ms / 1000.0,
                             span_s=span, fix=fix, relation=rel, calls=len(g),
                             rows_read=int(g["rows_read"].sum()), fingerprint=fp, example=_short(statement)))
    return to_frame(out)


def slow_query(events: pd.DataFrame, *, slow_ms: float = 500.0) -> pd.DataFrame:
    """SELECT statements of ``slow_ms`` ms or more, one finding per fingerprint (Sentry's slow DB
    query rule). Calls to sleep functions (``pg_sleep``, ``SLEEP``) are not queries. The saving
    is the slow calls' time (an upper bound: what the fix leaves is not known)."""
    ex = _executed(events)
    span = _span_s(ex)
    path = _source_path(events)
    slow = ex[ex["is_select"] & (ex["duration_ms"] >= slow_ms)
              & ~ex["statement"].str.contains(r"\b(?:pg_sleep\w*|sleep)\s*\(", case=False, regex=True)]
    rows = []
    for fp, g in slow.groupby("fingerprint", sort=False):
        worst = g.loc[g["duration_ms"].idxmax()]
        ms = float(g["duration_ms"].sum())
        evidence = (f"`{_short(fp)}`: {len(g)} call(s) >= {slow_ms:g} ms, worst {worst['duration_ms']:.1f} ms "
                    f"in session {worst['session']} at {_ts(worst['timestamp'])} (line "
                    f"{_line(worst['source_line'])}): `{_example(worst)}`.")
        rows.append(R.finding(SLOW_QUERY, f"Slow SELECT: {worst['duration_ms']:.0f} ms", evidence, key=fp,
                              file=path, line=_line(worst["source_line"]), occurrences=len(g),
                              saving_s=ms / 1000.0, span_s=span,
                              saving=f"up to {R.duration(R.per_hour(ms / 1000.0, span))} per hour of "
                                     f"evidence (the slow calls' {R.duration(ms / 1000.0)})",
                              session=str(worst["session"]), calls=len(g), max_ms=float(worst["duration_ms"]),
                              fingerprint=fp, example=_example(worst)))
    return to_frame(rows)


# --------------------------------------------------------------------------- server events

def _server(server_events: pd.DataFrame | None) -> pd.DataFrame | None:
    if server_events is None or server_events.empty:
        return None
    if not set(schema.columns("server_events")) <= set(server_events.columns):
        return schema.coerce(server_events, "server_events")
    return server_events


def _fp_of(statements: pd.Series) -> pd.Series:
    from .fingerprint import Fingerprinter

    fp = Fingerprinter(readable=True)
    return statements.map(lambda s: fp(s) if isinstance(s, str) else None)


def temp_files(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
               min_temp_bytes: int = 0) -> pd.DataFrame:
    """Queries that wrote temporary files (PostgreSQL ``log_temp_files``; MariaDB's
    ``Tmp_table_on_disk`` / ``Filesort_on_disk`` where the slow log has them), summed per
    fingerprint. DDL and maintenance (CREATE INDEX, ALTER TABLE, VACUUM, COPY) are left out:
    their sorts spill by design. The saving is those statements' time in the query log, where
    it is there (an upper bound)."""
    rows = []
    se = _server(server_events)
    ex = _executed(events) if events is not None and not events.empty else None
    span = _span_s(ex, se)
    time_of = ex.groupby("fingerprint")["duration_ms"].sum() if ex is not None else pd.Series(dtype=float)
    if se is not None:
        path = _source_path(se)
        t = se[(se["event"] == "temp_file") & se["statement"].notna()].copy()
        t = t[~t["statement"].map(_verb).isin(_MAINTENANCE | {"insert"})]
        if not t.empty:
            t["fingerprint"] = _fp_of(t["statement"])
            for key, g in t.groupby("fingerprint", sort=False):
                size = int(g["size_bytes"].fillna(0).sum())
                if size < min_temp_bytes:
                    continue
                first = g.iloc[0]
                ms = time_of.get(key)
                evidence = (f"{len(g)} temporary file(s), {size / 1024:,.0f} KiB in all "
                            f"(largest {int(g['size_bytes'].max()) / 1024:,.0f} KiB) for "
                            f"`{_short(first['statement'])}`; session {first['session']} at "
                            f"{_ts(first['timestamp'])}; {_lines(g)}.")
                rows.append(R.finding(TEMP_FILES, f"Query spilled {size / 1024:,.0f} KiB to temporary files",
                                      evidence, key=key, file=path, line=_line(g["source_line"].min()),
                                      occurrences=len(g), span_s=span,
                                      saving_s=None if ms is None or pd.isna(ms) else float(ms) / 1000.0,
                                      session=str(first["session"]), files=len(g), size_bytes=size,
                                      fingerprint=key, example=_short(first["statement"])))
    if ex is not None:
        flags = [c for c in ex.columns if c.lower() in ("filesort_on_disk", "tmp_table_on_disk")]
        if flags or "merge_passes" in ex.columns:
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
                rows.append(R.finding(TEMP_FILES, f"Query used on-disk sort/temporary table {len(g)}x",
                                      evidence, key=fp, file=_source_path(events),
                                      line=_line(g["source_line"].min()), occurrences=len(g),
                                      saving_s=float(g["duration_ms"].sum()) / 1000.0, span_s=span,
                                      session=str(g["session"].iloc[0]), files=len(g), fingerprint=fp,
                                      example=_example(g.iloc[0])))
    return to_frame(rows)


_WAIT = re.compile(r"(?:still waiting for|acquired|while waiting for) (\w+) on (.+?) after ([\d.]+) ms")


def lock_waits(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
               min_wait_ms: float = 100.0, few_rows: int = 10) -> pd.DataFrame:
    """Lock waits of at least ``min_wait_ms``, one finding per fingerprint, and one finding for
    the deadlocks. From PostgreSQL's ``log_lock_waits`` lines ("still waiting" / "acquired ...
    after X ms") in the server events, and from a slow log's statements (MySQL/MariaDB): those
    whose ``lock_ms`` reaches the threshold, and writes that examined at most ``few_rows`` rows
    yet took that long (InnoDB row-lock waits, which Lock_time does not count). Both sources
    are read when both are given. The saving is the time spent waiting."""
    rows = []
    se = _server(server_events)
    ex = _executed(events) if events is not None and not events.empty else None
    span = _span_s(ex, se)
    if se is not None:
        path = _source_path(se)
        waits = se[se["event"].isin(["lock_wait", "lock_acquired"])].copy()
        if not waits.empty:
            parsed = waits["message"].astype(str).str.extract(_WAIT)
            waits["lock"] = parsed[0] + " on " + parsed[1]
            ms = pd.to_numeric(parsed[2], errors="coerce")
            waits["wait_ms"] = waits["duration_ms"].astype(float).fillna(ms)
            waits = waits[waits["wait_ms"] >= min_wait_ms]
            waits["fingerprint"] = _fp_of(waits["statement"]).fillna("?")
            for fp, g in waits.groupby("fingerprint", sort=False):
                # a wait is logged once while waiting and once when acquired: each session's longest
                per_session = g.groupby("session", dropna=False)["wait_ms"].max()
                longest = g.loc[g["wait_ms"].idxmax()]
                acquired = g[g["event"] == "lock_acquired"]
                evidence = (f"`{_short(longest['statement'])}` waited up to {longest['wait_ms']:.0f} ms for "
                            f"{longest['lock']} (session {longest['session']}, "
                            f"{_ts(longest['timestamp'])}, line {_line(longest['source_line'])}); "
                            f"{len(per_session)} waiting session(s), {per_session.sum():.0f} ms waited in "
                            f"all, {len(acquired)} acquired after waiting; {_lines(g)}"
                            + (f"; {longest['detail']}" if pd.notna(longest.get("detail")) else "") + ".")
                rows.append(R.finding(LOCK_WAITS, f"Lock wait of {longest['wait_ms']:.0f} ms", evidence,
                                      key=fp, file=path, line=_line(g["source_line"].min()),
                                      occurrences=len(per_session), saving_s=float(per_session.sum()) / 1000.0,
                                      span_s=span, session=str(longest["session"]),
                                      waits=int(len(per_session)), max_wait_ms=float(longest["wait_ms"]),
                                      fingerprint=fp, example=_short(longest["statement"])))
        dead = se[(se["event"] == "deadlock") | (se["sqlstate"].astype("object") == "40P01")]
        dead = dead[~dead["message"].astype(str).str.contains("while waiting for", na=False)] \
            if len(dead) > 1 else dead
        if len(dead):
            d = dead.iloc[0]
            what = d.get("detail") if pd.notna(d.get("detail")) else d["message"]
            evidence = (f"{len(dead)} deadlock(s); the first in session {d['session']} at "
                        f"{_ts(d['timestamp'])} (line {_line(d['source_line'])}): {what}; statement "
                        f"`{_short(d['statement'])}`; {_lines(dead)}. Each aborted a transaction that "
                        "then had to be retried.")
            rows.append(R.finding(LOCK_WAITS, "Deadlock" if len(dead) == 1 else f"{len(dead)} deadlocks",
                                  evidence, key="deadlock", file=path, line=_line(d["source_line"]),
                                  severity="high", occurrences=len(dead), round_trips=len(dead), span_s=span,
                                  saving=f"{len(dead)} aborted transaction(s) not retried",
                                  session=str(d["session"]), waits=len(dead), example=_short(d["statement"])))
    if ex is not None and "lock_ms" in ex.columns and ex["lock_ms"].notna().any():
        # MySQL/MariaDB slow log: Lock_time counts table/metadata locks, not InnoDB row-lock
        # waits; a write that examined at most `few_rows` rows yet ran for longer than the
        # threshold was waiting for a row lock (it had almost nothing to do).
        lock = ex["lock_ms"].astype(float).fillna(0.0)
        examined = ex["rows_examined"].astype(float)
        writes = ex["verb"].isin(["update", "delete", "insert", "replace"]) | \
            ex["statement"].str.contains(r"\bfor\s+update\b", case=False, regex=True)
        row_wait = writes & (examined <= few_rows) & (ex["duration_ms"] >= min_wait_ms)
        w = ex.assign(wait_ms=np.where(lock >= min_wait_ms, lock, ex["duration_ms"]))
        w = w[(lock >= min_wait_ms) | row_wait]
        for fp, g in w.groupby("fingerprint", sort=False):
            worst = g.loc[g["wait_ms"].idxmax()]
            evidence = (f"`{_short(fp)}`: {len(g)} call(s) waited for locks, up to "
                        f"{float(worst['wait_ms']):.0f} ms (session {worst['session']}, "
                        f"{_ts(worst['timestamp'])}, line {_line(worst['source_line'])}), "
                        f"{g['wait_ms'].sum():.0f} ms in all; examined {worst['rows_examined']} row(s), "
                        f"Lock_time {float(worst['lock_ms']):.1f} ms"
                        + (": the time went waiting for a row lock" if float(worst["lock_ms"]) < min_wait_ms
                           else "") + f"; {_lines(g)}.")
            rows.append(R.finding(LOCK_WAITS, f"Lock wait of {float(worst['wait_ms']):.0f} ms", evidence,
                                  key=fp, file=_source_path(events), line=_line(worst["source_line"]),
                                  occurrences=len(g), saving_s=float(g["wait_ms"].sum()) / 1000.0, span_s=span,
                                  session=str(worst["session"]), waits=len(g),
                                  max_wait_ms=float(worst["wait_ms"]), fingerprint=fp, example=_example(worst)))
    return to_frame(rows)


def statement_timeout(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
                      min_timeouts: int = 1) -> pd.DataFrame:
    """Statements cancelled by ``statement_timeout`` (PostgreSQL: ERROR 57014 "canceling
    statement due to statement timeout"), one finding per fingerprint with at least
    ``min_timeouts``. The timeout itself is read from a ``SET statement_timeout`` in the query
    log where there is one (then the saving counts that long per cancelled call). MySQL and
    MariaDB do not write such errors to the slow log."""
    se = _server(server_events)
    if se is None:
        return to_frame([])
    ex = _executed(events) if events is not None and not events.empty else None
    span = _span_s(ex, se)
    cancel = se[(se["sqlstate"].astype("object") == "57014")
                & se["message"].astype(str).str.contains("statement timeout", na=False)].copy()
    if cancel.empty:
        return to_frame([])
    limit_ms = None
    if ex is not None:
        sets = ex["statement"].str.extract(r"(?i)\bset\s+(?:local\s+|session\s+)?statement_timeout\s*(?:=|to)\s*'?(\d+)\s*(ms|s|min)?")
        sets = sets.dropna(subset=[0])
        if len(sets):
            unit = {"s": 1000.0, "min": 60000.0}.get(str(sets[1].iloc[-1]), 1.0)
            limit_ms = float(sets[0].iloc[-1]) * unit
    cancel["fingerprint"] = _fp_of(cancel["statement"]).fillna("?")
    out = []
    for fp, g in cancel.groupby("fingerprint", sort=False):
        if len(g) < min_timeouts:
            continue
        first = g.iloc[0]
        wasted = None if limit_ms is None else len(g) * limit_ms / 1000.0
        evidence = (f"{len(g)} × `{_short(first['statement'])}` cancelled by statement_timeout"
                    + (f" ({limit_ms:.0f} ms, from the log's SET statement_timeout)" if limit_ms else "")
                    + f"; first in session {first['session']} at {_ts(first['timestamp'])} (line "
                    f"{_line(first['source_line'])}); sessions {_sessions_text(g['session'])}; {_lines(g)}.")
        out.append(R.finding(STATEMENT_TIMEOUT, f"{len(g)} statement(s) cancelled by statement_timeout",
                             evidence, key=fp, file=_source_path(se), line=_line(first["source_line"]),
                             occurrences=len(g), saving_s=wasted, round_trips=len(g), span_s=span,
                             session=str(first["session"]), count=len(g), fingerprint=fp,
                             example=_short(first["statement"])))
    return to_frame(out)


def long_transactions(events: pd.DataFrame, *, min_open_ms: float = 1000.0) -> pd.DataFrame:
    """Explicit transactions (BEGIN ... COMMIT/ROLLBACK in one session) open for ``min_open_ms`` ms or
    more, with the time spent idle between their statements ("idle in transaction"); one
    finding per kind of transaction (the fingerprints of its first statements). With
    whole-second timestamps (MariaDB), a transaction must be open ``min_open_ms`` beyond that
    second of uncertainty. The saving is the idle time: locks and snapshots held while nothing
    ran."""
    ex = _executed(events)
    span = _span_s(ex)
    path = _source_path(events)
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
    # MariaDB's slow log has whole seconds (SET timestamp): BEGIN at 12:00:00.9 and COMMIT at
    # 12:00:01.1 read as 1 s apart; only what the clock's resolution cannot explain counts
    whole = len(t_ms) > 0 and bool(np.all(np.mod(t_ms[~np.isnan(t_ms)], 1000.0) == 0))
    resolution = 1000.0 if whole else 0.0
    pick = pair & (open_all - resolution >= min_open_ms)
    groups: dict[str, list[tuple[int, int, float]]] = {}
    for b, e, open_ms in zip(b_[pick], e_[pick], open_all[pick], strict=True):
        inner = ex["fingerprint"].iloc[b + 1: e].tolist()
        groups.setdefault("; ".join(dict.fromkeys(inner[:3])) or "(empty)", []).append((b, e, open_ms))
    rows = []
    for key, txs in groups.items():
        b, e, open_ms = max(txs, key=lambda x: x[2])
        session = sess[b]
        tx = ex.iloc[b: e + 1]
        start = tx["timestamp"].iloc[0] - pd.to_timedelta(dur[b], unit="ms")
        busy = float(tx["duration_ms"].sum())
        idle = max(open_ms - busy, 0.0)
        idle_all = sum(max(o - float(dur[bb: ee + 1].sum()), 0.0) for bb, ee, o in txs)
        evidence = (f"session {session}: transaction open {open_ms:.0f} ms from "
                    f"{_ts(start)} (lines {_line(tx['source_line'].iloc[0])}-"
                    f"{_line(tx['source_line'].iloc[-1])}), {len(tx) - 2} statement(s) busy "
                    f"{busy:.0f} ms, idle in transaction {idle:.0f} ms "
                    f"({100 * idle / open_ms:.0f} %); ended by {tx['verb'].iloc[-1].upper()}; "
                    f"statements: " + "; ".join(f"`{_short(x, 70)}`" for x in tx["statement"].iloc[1:-1][:3])
                    + (f". {len(txs)} such transactions, {idle_all:.0f} ms idle in all." if len(txs) > 1 else "."))
        rows.append(R.finding(LONG_TRANSACTIONS, f"Transaction open {open_ms / 1000:.1f} s "
                              f"({100 * idle / open_ms:.0f} % idle)", evidence, key=key, file=path,
                              line=_line(tx["source_line"].iloc[0]), occurrences=len(txs),
                              saving_s=idle_all / 1000.0, span_s=span,
                              saving=f"{R.duration(idle_all / 1000.0)} of locks held while idle "
                                     f"(≈ {R.duration(R.per_hour(idle_all / 1000.0, span))} per hour of evidence)",
                              session=str(session), open_ms=round(open_ms, 3), idle_ms=round(idle, 3),
                              statements=len(tx) - 2))
    return to_frame(rows)


def errors(server_events: pd.DataFrame | None, *, min_errors: int = 1) -> pd.DataFrame:
    """Failed statements (ERROR and FATAL events) grouped by SQLSTATE (where logged) and message.
    Deadlocks are reported by queries.lock_waits and statement timeouts by
    queries.statement_timeout; shutdown and admin terminations (class 57) are not errors of
    the application. The saving counts each failed statement's round trip."""
    se = _server(server_events)
    if se is None:
        return to_frame([])
    path = _source_path(se)
    span = _span_s(se)
    err = se[se["event"].isin(["error", "fatal"])].copy()
    state = err["sqlstate"].astype("object")
    msg = err["message"].astype(str)
    err = err[~(state.fillna("").str.startswith("57") | (state == "40P01")
                | msg.str.contains(r"^deadlock detected|^terminating (?:connection|background worker) .*"
                                   r"due to administrator|canceling statement due to statement timeout",
                                   regex=True))]
    if err.empty:
        return to_frame([])
    # stderr appends " at character N" where csvlog/jsonlog have a separate position field
    err["message"] = err["message"].astype(str).str.replace(r" at character \d+$", "", regex=True)
    err["_msg"] = err["message"].str.replace(r"\d+", "N", regex=True).str.replace(
        r'"[^"]*"', '"…"', regex=True)
    rows = []
    for (st_, m_), g in err.groupby([err["sqlstate"].astype("object").fillna(""), "_msg"], sort=False):
        if len(g) < min_errors:
            continue
        first = g.iloc[0]
        st = first["sqlstate"] if pd.notna(first["sqlstate"]) else None
        evidence = (f"{len(g)} x {first['event'].upper()}" + (f" {st}" if st else "")
                    + f": {first['message']}; session {first['session']} at {_ts(first['timestamp'])} "
                    f"(line {_line(first['source_line'])})"
                    + (f"; statement `{_short(first['statement'])}`" if pd.notna(first["statement"]) else "")
                    + ".")
        rows.append(R.finding(ERRORS, f"{len(g)} failed statement(s): {_short(first['message'], 60)}",
                              evidence, key=f"{st_} {m_}", file=path, line=_line(first["source_line"]),
                              occurrences=len(g), round_trips=len(g), span_s=span,
                              session=str(first["session"]), count=len(g), sqlstate=st,
                              example=_short(first["statement"]) if pd.notna(first["statement"]) else None))
    return to_frame(rows)


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


def _connect_ms(se: pd.DataFrame | None) -> float | None:
    """The median time from "connection received" to "connection authorized" of a session, where
    both are logged (PostgreSQL log_connections)."""
    if se is None:
        return None
    rec = se[se["event"] == "connection_received"].groupby("session")["timestamp"].min()
    auth = se[se["event"] == "connection_authorized"].groupby("session")["timestamp"].min()
    both = (auth - rec).dropna()
    return float(both.dt.total_seconds().median() * 1000.0) if len(both) else None


def connection_churn(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
                     min_short_sessions: int = 20, max_session_ms: float = 1000.0,
                     min_short_share: float = 0.5) -> pd.DataFrame:
    """Many short sessions: at least ``min_short_sessions`` sessions shorter than
    ``max_session_ms``, making up at least ``min_short_share`` of all sessions. Sessions come
    from ``log_disconnections`` lines, else from each session's statements in the query log.
    The saving counts each short session's connection setup (measured from log_connections'
    received/authorized lines where logged, else :data:`CONNECT_MS`) and its round trips.
    Extra columns: ``sessions``, ``short_sessions``, ``connections_per_s`` (peak over 1 s)."""
    sessions, how = _sessions(server_events, events)
    if sessions.empty:
        return to_frame([])
    short = sessions[sessions["duration_ms"] < max_session_ms]
    share = len(short) / len(sessions)
    if len(short) < min_short_sessions or share < min_short_share:
        return to_frame([])
    starts = np.sort(_ns(sessions["start"]))
    per_s = np.searchsorted(starts, starts + 1_000_000_000, side="left") - np.arange(len(starts))
    span = (starts[-1] - starts[0]) / 1e9 if len(starts) > 1 else 0.0
    path = _source_path(server_events if how == "disconnection events" else events)
    measured = _connect_ms(_server(server_events))
    setup_ms = measured if measured is not None else CONNECT_MS
    evidence = (f"{len(short)} of {len(sessions)} sessions ({100 * share:.0f} %) lasted under "
                f"{max_session_ms:g} ms (median {short['duration_ms'].median():.0f} ms), seen in {how}; "
                f"up to {int(per_s.max())} new connections in one second, "
                f"{len(sessions) / span if span else float(len(sessions)):.1f} per second on average over "
                f"{span:.1f} s; sessions {', '.join(map(str, short['session'].head(5)))}, …; "
                f"{_lines(short)}. Each connection costs {setup_ms:.1f} ms of setup"
                + (" (received to authorized, median)" if measured is not None else " (assumed)")
                + f" and {CONNECT_ROUND_TRIPS} round trips.")
    return to_frame([R.finding(CONNECTION_CHURN, f"{len(short)} short-lived connections: "
                               "a connection per unit of work", evidence, key="connections", file=path,
                               line=_line(short["source_line"].min()), occurrences=len(short),
                               saving_s=len(short) * setup_ms / 1000.0,
                               round_trips=len(short) * CONNECT_ROUND_TRIPS,
                               span_s=_span_s(_server(server_events), events),
                               sessions=len(sessions), short_sessions=len(short),
                               connections_per_s=int(per_s.max()))])


# --------------------------------------------------------------------------- all of them

QUERY_DETECTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "queries.n_plus_one": n_plus_one, "queries.repeated": repeated,
    "queries.select_star": select_star, "queries.offset_pagination": offset_pagination,
    "queries.missing_index": missing_index, "queries.wildcard_search": wildcard_search,
    "queries.seq_scan": seq_scan, "queries.slow_query": slow_query,
    "queries.long_transactions": long_transactions,
}
SERVER_DETECTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "queries.temp_files": temp_files, "queries.lock_waits": lock_waits,
    "queries.statement_timeout": statement_timeout, "queries.errors": errors,
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


def findings(events: pd.DataFrame | None, server_events: pd.DataFrame | None = None, *,
             rules: list[str] | None = None, per_rule: int | None = R.PER_RULE, dedupe: bool = True,
             pt_fingerprints: bool = False, **options: Any) -> pd.DataFrame:
    """Run every query rule on ``events`` (query_events; None when there are only server events)
    and ``server_events`` -> the ranked findings table (as :func:`toolkit.findings` builds it:
    grouped, ranked by saving, ``per_rule`` rows per rule then an "and N more" row; None keeps
    every row). ``rules`` picks some rule ids; other keyword options are thresholds for the
    rules that take them, by name (``min_repeats=8``, ``slow_ms=200``: each name belongs to one
    rule) or prefixed with the rule (``n_plus_one_min_repeats=8``). Options no query rule takes
    are ignored: :func:`toolkit.findings` passes the same options to every domain.
    ``pt_fingerprints=True`` groups statements by pt-query-digest's fingerprints.

        >>> findings(events, server_events, slow_ms=200).top(5)        # doctest: +SKIP
    """
    if events is None:
        events = schema.empty("query_events")
    frames = []
    _PREPARED[id(events)] = ex = _executed(events, pt_fingerprints)
    _SPANS[id(events)] = _SPANS[id(ex)] = _span_s(events, _server(server_events))
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
        _SPANS.pop(id(events), None)
        _SPANS.pop(id(ex), None)
    return to_frame((r for f in frames for r in f.to_dict("records")), per_rule=per_rule, dedupe=dedupe)
