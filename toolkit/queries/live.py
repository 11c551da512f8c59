"""Live database statistics: pg_stat_statements and performance_schema snapshots, their deltas,
and EXPLAIN on a running server.

References: PostgreSQL 15 ``pg_stat_statements``
(https://www.postgresql.org/docs/15/pgstatstatements.html: the view, and
``pg_stat_statements_info`` with ``dealloc`` and ``stats_reset``, 14+); MariaDB 10.11 / MySQL 8.0
``performance_schema.events_statements_summary_by_digest``
(https://mariadb.com/kb/en/performance-schema-events_statements_summary_by_digest-table/).

A snapshot is a table in the digest's columns (``fingerprint, calls, total_ms, mean_ms, p50_ms,
p95_ms, p99_ms, max_ms, pct_total, example``: see :func:`toolkit.digest`), so the digest plots
apply, followed by the server's own counters. Counters are cumulative since the server started
collecting; :func:`stats_delta` turns two snapshots into what happened between them::

    before = tk.pg_stat_statements(dsn)
    run_the_workload()
    after = tk.pg_stat_statements(dsn)
    tk.stats_delta(before, after)        # per fingerprint: calls, total_ms, rows, blocks ...

``total_ms`` of PostgreSQL is execution plus planning time (planning is 0 unless
``pg_stat_statements.track_planning`` is on), which is what a log's ``duration`` covers.
Percentiles are not kept by either server: ``p50_ms`` .. ``p99_ms`` are null; ``max_ms`` is the
server's maximum since it started collecting (null in a delta).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from .. import schema
from ..errors import InputError, MissingDependencyError, ToolkitError
from .fingerprint import fingerprint_series
from .plans import read_plan

DIGEST_COLUMNS = schema.columns("digest")
# Our own statements carry this comment and are left out of snapshots: a delta shows the
# workload, not the snapshots taken around it.
MARK = "/*perf-toolkit snapshot*/"
MY_MARK = "perf_toolkit_snapshot"

# pg_stat_statements column -> ours; cumulative counters only (they are differenced)
_PG_COUNTERS = {
    "calls": "calls", "plans": "plans", "rows": "rows",
    "shared_blks_hit": "shared_blks_hit", "shared_blks_read": "shared_blks_read",
    "shared_blks_dirtied": "shared_blks_dirtied", "shared_blks_written": "shared_blks_written",
    "local_blks_hit": "local_blks_hit", "local_blks_read": "local_blks_read",
    "local_blks_dirtied": "local_blks_dirtied", "local_blks_written": "local_blks_written",
    "temp_blks_read": "temp_blks_read", "temp_blks_written": "temp_blks_written",
    "blk_read_time": "blk_read_ms", "blk_write_time": "blk_write_ms",  # 13-16
    "shared_blk_read_time": "blk_read_ms", "shared_blk_write_time": "blk_write_ms",  # 17
    "wal_records": "wal_records", "wal_fpi": "wal_fpi", "wal_bytes": "wal_bytes",
}
# performance_schema column -> ours; SUM_TIMER_WAIT and SUM_LOCK_TIME are picoseconds
_MY_COUNTERS = {
    "COUNT_STAR": "calls", "SUM_ROWS_SENT": "rows", "SUM_ROWS_EXAMINED": "rows_examined",
    "SUM_ROWS_AFFECTED": "rows_affected", "SUM_ERRORS": "errors", "SUM_WARNINGS": "warnings",
    "SUM_CREATED_TMP_TABLES": "tmp_tables", "SUM_CREATED_TMP_DISK_TABLES": "tmp_disk_tables",
    "SUM_SORT_ROWS": "sort_rows", "SUM_NO_INDEX_USED": "no_index_used",
    "SUM_SELECT_FULL_JOIN": "full_joins", "SUM_SELECT_SCAN": "full_scans",
}
_PS_PER_MS = 1e9


# --------------------------------------------------------------------------- connections

@contextlib.contextmanager
def _pg(dsn_or_conn: Any) -> Iterator[Any]:
    """A psycopg 3 connection: the caller's (left open) or one opened from a DSN / URL."""
    if not isinstance(dsn_or_conn, str):
        if not callable(getattr(dsn_or_conn, "cursor", None)):
            raise InputError(f"need a PostgreSQL DSN or a psycopg connection, not {type(dsn_or_conn).__name__}")
        yield dsn_or_conn
        return
    try:
        import psycopg
    except ImportError:
        raise MissingDependencyError("psycopg 3", 'pip install "perf-toolkit[db]"') from None
    try:
        conn = psycopg.connect(dsn_or_conn, autocommit=True)
    except psycopg.Error as exc:
        raise InputError(f"cannot connect to PostgreSQL ({_redact(dsn_or_conn)}): {exc}".strip()) from None
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def _mysql(target: Any) -> Iterator[Any]:
    """A PyMySQL connection: the caller's, or one opened from ``mysql://user:pw@host:port/db``
    or a dict of ``pymysql.connect`` keywords."""
    if not isinstance(target, (str, dict)):
        if not callable(getattr(target, "cursor", None)):
            raise InputError(f"need a mysql:// URL or a DB-API connection, not {type(target).__name__}")
        yield target
        return
    try:
        import pymysql
    except ImportError:
        raise MissingDependencyError("PyMySQL", 'pip install "perf-toolkit[db]"') from None
    if isinstance(target, str):
        url = urlparse(target)
        if url.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
            raise InputError(f"expected a mysql://user:password@host:port/db URL, not {_redact(target)}")
        kwargs = {"host": url.hostname or "localhost", "port": url.port or 3306,
                  "user": unquote(url.username or "root"), "password": unquote(url.password or "")}
        if url.path.strip("/"):
            kwargs["database"] = url.path.strip("/")
    else:
        kwargs = dict(target)
    try:
        conn = pymysql.connect(**kwargs)
    except pymysql.Error as exc:
        raise InputError(f"cannot connect to MySQL/MariaDB at {kwargs.get('host')}:{kwargs.get('port')}: "
                         f"{exc}") from None
    try:
        yield conn
    finally:
        conn.close()


def _redact(dsn: str) -> str:
    """A DSN without its password, for error messages."""
    url = urlparse(dsn)
    if url.password:
        return dsn.replace(url.password, "***")
    return " ".join("password=***" if p.startswith("password=") else p for p in dsn.split())


def _query(conn: Any, sql: str, params: Any = None) -> tuple[list[str], list[tuple]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        return names, list(cur.fetchall())


# --------------------------------------------------------------------------- snapshots

def _finish_snapshot(df: pd.DataFrame, kind: str, counters: list[str], attrs: dict) -> pd.DataFrame:
    df = df.copy()
    df["total_ms"] = df["exec_ms"] + df.get("plan_ms", 0.0)
    calls = df["calls"].astype("float64")
    df["mean_ms"] = (df["total_ms"] / calls).where(calls > 0)
    for c in ("p50_ms", "p95_ms", "p99_ms"):
        df[c] = np.nan
    total = df["total_ms"].sum()
    df["pct_total"] = df["total_ms"] / total * 100.0 if total > 0 else 0.0
    df["fingerprint"] = fingerprint_series(df["example"].astype("string"))
    df = df.sort_values("total_ms", ascending=False, kind="stable").reset_index(drop=True)
    order = DIGEST_COLUMNS + [c for c in df.columns if c not in DIGEST_COLUMNS]
    out = schema.coerce(df[order], "digest")
    out.attrs = {"kind": kind, "counters": counters, **attrs}
    return out


def pg_stat_statements(dsn: Any, *, all_databases: bool = False) -> pd.DataFrame:
    """A snapshot of ``pg_stat_statements`` on the server at ``dsn`` (a libpq DSN or URL, or an
    open psycopg connection), for the connection's database unless ``all_databases``.

    Columns: the digest's (``example`` = the normalised query text, ``$1`` for constants), then
    ``queryid``, ``userid``, ``dbid``, ``toplevel``, ``database``, ``user``, ``exec_ms``,
    ``plan_ms``, ``plans``, ``rows``, ``shared_blks_hit`` .. ``temp_blks_written``,
    ``blk_read_ms``, ``blk_write_ms``, ``wal_records``, ``wal_fpi``, ``wal_bytes`` (what the
    server version has), ``key``. ``attrs``: ``taken_at`` (server clock, UTC), ``stats_reset``
    and ``dealloc`` (from ``pg_stat_statements_info``, PostgreSQL 14+), ``server_version``.

    Raises :class:`~toolkit.errors.ToolkitError` when the extension is not installed (it needs
    ``shared_preload_libraries = 'pg_stat_statements'`` and ``CREATE EXTENSION``).
    """
    import psycopg

    with _pg(dsn) as conn:
        try:
            names, rows = _query(conn, f"SELECT s.*, d.datname AS database, r.rolname AS user_name "
                                       f"FROM pg_stat_statements s {MARK} "
                                       "LEFT JOIN pg_database d ON d.oid = s.dbid "
                                       "LEFT JOIN pg_roles r ON r.oid = s.userid "
                                       "WHERE strpos(s.query, %s) = 0"
                                 + ("" if all_databases else
                                    " AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                                 (MARK,))
        except psycopg.Error as exc:
            if not conn.autocommit:
                conn.rollback()
            raise ToolkitError(f"cannot read pg_stat_statements: {str(exc).strip()} (it needs "
                               "shared_preload_libraries = 'pg_stat_statements' and "
                               "CREATE EXTENSION pg_stat_statements)") from None
        info: dict[str, Any] = {"stats_reset": None, "dealloc": None}
        with contextlib.suppress(psycopg.Error):
            inames, irows = _query(conn, f"SELECT dealloc, stats_reset FROM pg_stat_statements_info {MARK}")
            info = dict(zip(inames, irows[0], strict=True)) if irows else info
        _, now = _query(conn, f"SELECT now(), current_setting('server_version') {MARK}")
    raw = pd.DataFrame(rows, columns=names)
    df = pd.DataFrame({"example": raw["query"], "queryid": raw["queryid"], "userid": raw["userid"],
                       "dbid": raw["dbid"], "database": raw["database"], "user": raw["user_name"]})
    df["toplevel"] = raw["toplevel"] if "toplevel" in raw else True
    exec_col = "total_exec_time" if "total_exec_time" in raw else "total_time"  # 13+ / 12-
    df["exec_ms"] = raw[exec_col].astype("float64")
    df["plan_ms"] = raw["total_plan_time"].astype("float64") if "total_plan_time" in raw else 0.0
    max_col = "max_exec_time" if "max_exec_time" in raw else "max_time"
    df["max_ms"] = raw[max_col].astype("float64")
    counters = ["exec_ms", "plan_ms"]
    for src, dst in _PG_COUNTERS.items():
        if src in raw and dst not in df:
            df[dst] = pd.to_numeric(raw[src]).astype("float64" if dst.endswith("_ms") else "int64") \
                if len(raw) else pd.Series(dtype="float64")
            counters.append(dst)
    df["key"] = (df["userid"].astype(str) + ":" + df["dbid"].astype(str) + ":"
                 + df["queryid"].astype(str) + ":" + df["toplevel"].astype(str))
    stats_reset = info.get("stats_reset")
    attrs = {"taken_at": pd.Timestamp(now[0][0]).tz_convert("UTC"), "server_version": now[0][1],
             "stats_reset": None if stats_reset is None else pd.Timestamp(stats_reset).tz_convert("UTC"),
             "dealloc": None if info.get("dealloc") is None else int(info["dealloc"])}
    return _finish_snapshot(df, "pg_stat_statements", counters, attrs)


def performance_schema_digests(target: Any) -> pd.DataFrame:
    """A snapshot of MySQL/MariaDB ``performance_schema.events_statements_summary_by_digest``
    (``target``: a ``mysql://user:password@host:port/db`` URL, ``pymysql.connect`` keywords, or
    an open DB-API connection).

    Columns: the digest's (``example`` = ``DIGEST_TEXT`` respaced by :func:`digest_text_as_sql`,
    so its fingerprint equals a slow log's), then ``database`` (SCHEMA_NAME), ``digest``, ``exec_ms``
    (SUM_TIMER_WAIT), ``lock_ms``, ``rows`` (rows sent), ``rows_examined``, ``rows_affected``,
    ``errors``, ``warnings``, ``tmp_tables``, ``tmp_disk_tables``, ``sort_rows``,
    ``no_index_used``, ``full_joins``, ``full_scans``, ``first_seen``, ``last_seen``, ``key``.
    ``attrs``: ``taken_at``, ``digests_lost`` (the ``Performance_schema_digest_lost`` status:
    statements not counted because the table was full), ``server_version``.
    """
    with _mysql(target) as conn:
        try:
            # MySQL digests drop comments: our statements carry the mark as a column alias
            names, rows = _query(conn, f"SELECT *, 1 AS {MY_MARK} FROM "
                                       "performance_schema.events_statements_summary_by_digest "
                                       "WHERE DIGEST_TEXT IS NULL OR DIGEST_TEXT NOT LIKE %s", (f"%{MY_MARK}%",))
            _, status = _query(conn, f"SELECT VARIABLE_VALUE AS {MY_MARK} FROM performance_schema.global_status "
                                     "WHERE VARIABLE_NAME = 'Performance_schema_digest_lost'")
            _, now = _query(conn, f"SELECT UTC_TIMESTAMP(6), VERSION(), @@global.performance_schema AS {MY_MARK}")
        except Exception as exc:  # the driver's own error types: report them as ours
            raise ToolkitError(f"cannot read performance_schema digests: {exc} (the server needs "
                               "performance_schema=ON)") from None
    if not int(now[0][2] or 0):
        raise ToolkitError("performance_schema is off on this server: start it with "
                           "--performance-schema=ON")
    raw = pd.DataFrame(rows, columns=[n.upper() for n in names]).drop(columns=[MY_MARK.upper()])
    text = raw["DIGEST_TEXT"].map(digest_text_as_sql, na_action="ignore").astype("string")
    df = pd.DataFrame({"example": text, "database": raw["SCHEMA_NAME"], "digest": raw["DIGEST"]})
    df["exec_ms"] = pd.to_numeric(raw["SUM_TIMER_WAIT"]).astype("float64") / _PS_PER_MS
    df["lock_ms"] = pd.to_numeric(raw["SUM_LOCK_TIME"]).astype("float64") / _PS_PER_MS
    df["max_ms"] = pd.to_numeric(raw["MAX_TIMER_WAIT"]).astype("float64") / _PS_PER_MS
    counters = ["exec_ms", "lock_ms"]
    for src, dst in _MY_COUNTERS.items():
        if src in raw:
            df[dst] = pd.to_numeric(raw[src]).astype("int64")
            counters.append(dst)
    for c in ("FIRST_SEEN", "LAST_SEEN"):
        df[c.lower()] = pd.to_datetime(raw[c], utc=True) if c in raw else pd.NaT
    df["key"] = df["database"].astype("object").fillna("").astype(str) + ":" + \
        df["digest"].astype("object").fillna("").astype(str)
    attrs = {"taken_at": pd.Timestamp(now[0][0], tz="UTC"), "server_version": now[0][1],
             "digests_lost": int(status[0][0]) if status else None}
    return _finish_snapshot(df, "performance_schema", counters, attrs)


_SPACED = ((re.compile(r"`"), ""), (re.compile(r"\s*\.\s*"), "."), (re.compile(r"\(\s+"), "("),
           (re.compile(r"\s+\)"), ")"), (re.compile(r"\s+,"), ","), (re.compile(r"\s+\Z"), ""))
_CALL = re.compile(r"\b(?!(?:IN|VALUES|VALUE|FROM|JOIN|AS|ON|AND|OR|NOT|WHERE|EXISTS|SELECT|USING|INTO|"
                   r"ANY|ALL|SOME)\b)([A-Za-z_][A-Za-z_0-9]*)\s+\(", re.I)


def digest_text_as_sql(text: str) -> str:
    """A ``DIGEST_TEXT`` (``SELECT COUNT ( * ) FROM `shop` . `t` WHERE `k` = ?``) spaced as
    people write SQL (``SELECT COUNT(*) FROM shop.t WHERE k = ?``), so its fingerprint equals
    the slow log's for the same statement written in the usual way.

        >>> digest_text_as_sql("SELECT `a` , COUNT ( * ) FROM `s` . `t` WHERE `k` IN ( ? ) ")
        'SELECT a, COUNT(*) FROM s.t WHERE k IN (?)'
    """
    for rx, repl in _SPACED:
        text = rx.sub(repl, text)
    return _CALL.sub(r"\1(", text)


# --------------------------------------------------------------------------- deltas

def _reset_between(before: pd.DataFrame, after: pd.DataFrame) -> pd.Timestamp | None:
    """When the whole table was reset between the snapshots: its time (PostgreSQL's
    ``stats_reset``; for performance_schema, TRUNCATE leaves every entry first seen after
    ``before`` was taken), else None."""
    a, b = before.attrs, after.attrs
    if a.get("stats_reset") is not None and b.get("stats_reset") is not None:
        return b["stats_reset"] if b["stats_reset"] > a["stats_reset"] else None
    if "first_seen" in after and len(after) and len(before):
        first = after["first_seen"].min()
        if pd.notna(first) and first > a["taken_at"]:
            return first
    return None


def stats_delta(before: pd.DataFrame, after: pd.DataFrame, *, by: str | None = "fingerprint") -> pd.DataFrame:
    """What ran between two snapshots of :func:`pg_stat_statements` (or of
    :func:`performance_schema_digests`): the digest's columns computed from the differences of
    the cumulative counters (``calls``, ``total_ms``, ``mean_ms``, ``pct_total``; percentiles
    and ``max_ms`` null), then every counter's difference (``rows``, ``shared_blks_hit``, ...,
    ``temp_blks_written``; ``rows_examined`` ... for MySQL) and ``status``.

    ``by="fingerprint"`` (default) sums entries of one fingerprint (one query run by several
    users, or at top level and inside functions); ``by=None`` keeps one row per server entry.

    Nothing is silently mixed: ``status`` says how each row's numbers were obtained:
    ``delta`` (after - before); ``new`` (no entry before: its whole count); ``restarted`` (its
    counters went down: the entry was evicted and made again, or reset on its own; its count
    since then); ``since reset`` (the whole table was reset between the snapshots; counts since
    the reset, what ran before it is lost). Entries of ``before`` missing from ``after`` (evicted
    or reset) are left out and counted. ``attrs["delta"]`` reports: ``interval_s``, ``reset``
    (its time or None), ``evicted`` (entries deallocated meanwhile: PostgreSQL's ``dealloc``,
    MySQL's lost digests), ``gone`` (entries left out), ``restarted``, ``new``, ``warnings``.

        >>> tk.stats_delta(before, after).head()       # doctest: +SKIP
    """
    kind = after.attrs.get("kind")
    if kind not in ("pg_stat_statements", "performance_schema") or before.attrs.get("kind") != kind:
        raise InputError("stats_delta() takes two snapshots of the same kind, from "
                         "tk.pg_stat_statements() or tk.performance_schema_digests()")
    counters = [c for c in after.attrs["counters"] if c in before.columns and c in after.columns]
    reset = _reset_between(before, after)
    prev = before.set_index("key")[counters]
    cur = after.set_index("key")
    delta = cur[counters].astype("float64")
    known = cur.index.isin(prev.index)
    old = prev.reindex(cur.index).astype("float64")
    went_down = known & (delta < old).any(axis=1).to_numpy()
    status = np.where(~known, "new", np.where(went_down, "restarted", "delta")).astype(object)
    if reset is not None:
        status[:] = "since reset"
    else:
        diff = delta - old
        use = known & ~went_down
        delta.loc[use] = diff.loc[use]
    out = cur.drop(columns=counters).assign(**{c: delta[c] for c in counters}, status=status)
    out = out[out["calls"] > 0].reset_index()
    gone = int((~prev.index.isin(cur.index)).sum())
    evicted = _evicted(before, after)
    warnings = []
    if reset is not None:
        warnings.append(f"the statistics were reset at {reset}: counts are since the reset; what "
                        "ran between the first snapshot and the reset is not counted")
    if evicted:
        warnings.append(f"{evicted} entries were evicted between the snapshots (pg_stat_statements.max"
                        " or the digest table is too small): their counts are incomplete")
    # the snapshot's own digest figures are cumulative: recomputed below from the differences
    out = out.drop(columns=[c for c in DIGEST_COLUMNS if c in out.columns and c not in counters
                            and c not in ("fingerprint", "example")])
    if by is not None:
        out = _group(out, by, counters)
    report = {"interval_s": (after.attrs["taken_at"] - before.attrs["taken_at"]).total_seconds(),
              "reset": reset, "evicted": evicted, "gone": gone,
              "restarted": int((status == "restarted").sum()), "new": int((status == "new").sum()),
              "warnings": warnings}
    result = _finish_snapshot(out.assign(max_ms=np.nan), kind, counters, {})
    result.attrs = {"kind": kind + " delta", "delta": report}
    return result


def _evicted(before: pd.DataFrame, after: pd.DataFrame) -> int:
    for key in ("dealloc", "digests_lost"):
        a, b = before.attrs.get(key), after.attrs.get(key)
        if a is not None and b is not None:
            return max(0, int(b) - int(a)) if b >= a else int(b)  # the counter was reset too
    return 0


def _group(df: pd.DataFrame, by: str, counters: list[str]) -> pd.DataFrame:
    agg = {c: "sum" for c in counters}
    agg.update({"example": "first", "status": lambda s: ", ".join(sorted(set(s)))})
    for c in ("database", "user"):
        if c in df:
            agg[c] = lambda s: ", ".join(sorted({str(x) for x in s.dropna()}))
    return df.groupby(by, sort=False, dropna=False).agg(agg).reset_index()


# --------------------------------------------------------------------------- EXPLAIN

def explain(dsn: Any, sql: str, params: Any = None, *, analyze: bool = False, buffers: bool = True,
            settings: dict[str, str] | None = None) -> pd.DataFrame:
    """EXPLAIN ``sql`` on the PostgreSQL server at ``dsn`` -> the ``plan_nodes`` table that
    :func:`toolkit.read_plan` makes of a logged plan (one row per node, root first;
    ``attrs``: ``planning_ms``, ``execution_ms``, ``query_text``).

    ``params`` are bound on the client (psycopg's ``%s`` / ``%(name)s`` placeholders), so the
    plan is the one for these values. ``analyze=True`` runs the statement (with ``BUFFERS``
    unless ``buffers=False``) inside a transaction that is always rolled back: EXPLAIN ANALYZE
    of an UPDATE changes nothing. ``settings`` are ``SET LOCAL`` first (e.g.
    ``{"enable_seqscan": "off"}``, ``{"work_mem": "64MB"}``).

        >>> nodes = tk.explain(dsn, "SELECT * FROM orders WHERE customer_id = %s", [42], analyze=True)  # doctest: +SKIP
    """
    import psycopg

    options = ["FORMAT JSON"] + (["ANALYZE", "BUFFERS" if buffers else "BUFFERS OFF"] if analyze else [])
    with _pg(dsn) as conn:
        cur = psycopg.ClientCursor(conn)
        try:
            with conn.transaction(force_rollback=True):
                for name, value in (settings or {}).items():
                    cur.execute("SELECT set_config(%s, %s, true)", (name, str(value)))
                cur.execute(f"EXPLAIN ({', '.join(options)}) {sql}", params)
                plan = cur.fetchone()[0]
                text = cur.mogrify(sql, params) if params is not None else sql
        except psycopg.Error as exc:
            raise ToolkitError(f"EXPLAIN failed: {str(exc).strip()}") from None
        finally:
            cur.close()
    nodes = read_plan(plan)
    nodes.attrs["query_text"] = text
    return nodes
