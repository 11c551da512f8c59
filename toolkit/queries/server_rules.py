"""The rules over a server's own events and its transactions: temporary files, lock waits and
deadlocks, statement timeouts, long transactions, errors, connection churn (``queries.*``). See
:mod:`toolkit.queries.detectors` for every query rule.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import rules as R
from ..ranking import to_frame
from .statements import (
    TX_BEGIN,
    TX_END,
    example,
    executed,
    fingerprints_of,
    line_of,
    lines,
    ns,
    server_table,
    sessions_text,
    short,
    source_path,
    span_s,
    ts,
    verb,
)

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

# What opening a connection costs when the log does not show it (fork, authentication, the
# startup packet exchange): an assumption stated in the saving text.
CONNECT_MS = 2.0
CONNECT_ROUND_TRIPS = 3  # TCP handshake, startup/authentication, first query
_MAINTENANCE = {"create", "alter", "drop", "vacuum", "analyze", "cluster", "reindex", "copy",
                "truncate", "checkpoint", "refresh", "grant", "revoke", "comment"}


def temp_files(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
               min_temp_bytes: int = 0) -> pd.DataFrame:
    """Queries that wrote temporary files (PostgreSQL ``log_temp_files``; MariaDB's
    ``Tmp_table_on_disk`` / ``Filesort_on_disk`` where the slow log has them), summed per
    fingerprint. DDL and maintenance (CREATE INDEX, ALTER TABLE, VACUUM, COPY) are left out:
    their sorts spill by design. The saving is those statements' time in the query log, where
    it is there (an upper bound)."""
    rows = []
    se = server_table(server_events)
    ex = executed(events) if events is not None and not events.empty else None
    span = span_s(ex, se)
    time_of = ex.groupby("fingerprint")["duration_ms"].sum() if ex is not None else pd.Series(dtype=float)
    if se is not None:
        path = source_path(se)
        t = se[(se["event"] == "temp_file") & se["statement"].notna()].copy()
        t = t[~t["statement"].map(verb).isin(_MAINTENANCE | {"insert"})]
        if not t.empty:
            t["fingerprint"] = fingerprints_of(t["statement"])
            for key, g in t.groupby("fingerprint", sort=False):
                size = int(g["size_bytes"].fillna(0).sum())
                if size < min_temp_bytes:
                    continue
                first = g.iloc[0]
                ms = time_of.get(key)
                evidence = (f"{len(g)} temporary file(s), {size / 1024:,.0f} KiB in all "
                            f"(largest {int(g['size_bytes'].max()) / 1024:,.0f} KiB) for "
                            f"`{short(first['statement'])}`; session {first['session']} at "
                            f"{ts(first['timestamp'])}; {lines(g)}.")
                rows.append(R.finding(TEMP_FILES, f"Query spilled {size / 1024:,.0f} KiB to temporary files",
                                      evidence, key=key, file=path, line=line_of(g["source_line"].min()),
                                      occurrences=len(g), span_s=span,
                                      saving_s=None if ms is None or pd.isna(ms) else float(ms) / 1000.0,
                                      session=str(first["session"]), files=len(g), size_bytes=size,
                                      fingerprint=key, example=short(first["statement"])))
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
                evidence = (f"`{short(fp)}`: {len(g)} call(s) sorted or built temporary tables on disk "
                            f"({', '.join(flags)}); session {g['session'].iloc[0]} at "
                            f"{ts(g['timestamp'].iloc[0])}; {lines(g)}.")
                rows.append(R.finding(TEMP_FILES, f"Query used on-disk sort/temporary table {len(g)}x",
                                      evidence, key=fp, file=source_path(events),
                                      line=line_of(g["source_line"].min()), occurrences=len(g),
                                      saving_s=float(g["duration_ms"].sum()) / 1000.0, span_s=span,
                                      session=str(g["session"].iloc[0]), files=len(g), fingerprint=fp,
                                      example=example(g.iloc[0])))
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
    se = server_table(server_events)
    ex = executed(events) if events is not None and not events.empty else None
    span = span_s(ex, se)
    if se is not None:
        path = source_path(se)
        waits = se[se["event"].isin(["lock_wait", "lock_acquired"])].copy()
        if not waits.empty:
            parsed = waits["message"].astype(str).str.extract(_WAIT)
            waits["lock"] = parsed[0] + " on " + parsed[1]
            ms = pd.to_numeric(parsed[2], errors="coerce")
            waits["wait_ms"] = waits["duration_ms"].astype(float).fillna(ms)
            waits = waits[waits["wait_ms"] >= min_wait_ms]
            waits["fingerprint"] = fingerprints_of(waits["statement"]).fillna("?")
            for fp, g in waits.groupby("fingerprint", sort=False):
                # a wait is logged once while waiting and once when acquired: each session's longest
                per_session = g.groupby("session", dropna=False)["wait_ms"].max()
                longest = g.loc[g["wait_ms"].idxmax()]
                acquired = g[g["event"] == "lock_acquired"]
                evidence = (f"`{short(longest['statement'])}` waited up to {longest['wait_ms']:.0f} ms for "
                            f"{longest['lock']} (session {longest['session']}, "
                            f"{ts(longest['timestamp'])}, line {line_of(longest['source_line'])}); "
                            f"{len(per_session)} waiting session(s), {per_session.sum():.0f} ms waited in "
                            f"all, {len(acquired)} acquired after waiting; {lines(g)}"
                            + (f"; {longest['detail']}" if pd.notna(longest.get("detail")) else "") + ".")
                rows.append(R.finding(LOCK_WAITS, f"Lock wait of {longest['wait_ms']:.0f} ms", evidence,
                                      key=fp, file=path, line=line_of(g["source_line"].min()),
                                      occurrences=len(per_session), saving_s=float(per_session.sum()) / 1000.0,
                                      span_s=span, session=str(longest["session"]),
                                      waits=int(len(per_session)), max_wait_ms=float(longest["wait_ms"]),
                                      fingerprint=fp, example=short(longest["statement"])))
        dead = se[(se["event"] == "deadlock") | (se["sqlstate"].astype("object") == "40P01")]
        dead = dead[~dead["message"].astype(str).str.contains("while waiting for", na=False)] \
            if len(dead) > 1 else dead
        if len(dead):
            d = dead.iloc[0]
            what = d.get("detail") if pd.notna(d.get("detail")) else d["message"]
            evidence = (f"{len(dead)} deadlock(s); the first in session {d['session']} at "
                        f"{ts(d['timestamp'])} (line {line_of(d['source_line'])}): {what}; statement "
                        f"`{short(d['statement'])}`; {lines(dead)}. Each aborted a transaction that "
                        "then had to be retried.")
            rows.append(R.finding(LOCK_WAITS, "Deadlock" if len(dead) == 1 else f"{len(dead)} deadlocks",
                                  evidence, key="deadlock", file=path, line=line_of(d["source_line"]),
                                  severity="high", occurrences=len(dead), round_trips=len(dead), span_s=span,
                                  saving=f"{len(dead)} aborted transaction(s) not retried",
                                  session=str(d["session"]), waits=len(dead), example=short(d["statement"])))
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
            evidence = (f"`{short(fp)}`: {len(g)} call(s) waited for locks, up to "
                        f"{float(worst['wait_ms']):.0f} ms (session {worst['session']}, "
                        f"{ts(worst['timestamp'])}, line {line_of(worst['source_line'])}), "
                        f"{g['wait_ms'].sum():.0f} ms in all; examined {worst['rows_examined']} row(s), "
                        f"Lock_time {float(worst['lock_ms']):.1f} ms"
                        + (": the time went waiting for a row lock" if float(worst["lock_ms"]) < min_wait_ms
                           else "") + f"; {lines(g)}.")
            rows.append(R.finding(LOCK_WAITS, f"Lock wait of {float(worst['wait_ms']):.0f} ms", evidence,
                                  key=fp, file=source_path(events), line=line_of(worst["source_line"]),
                                  occurrences=len(g), saving_s=float(g["wait_ms"].sum()) / 1000.0, span_s=span,
                                  session=str(worst["session"]), waits=len(g),
                                  max_wait_ms=float(worst["wait_ms"]), fingerprint=fp, example=example(worst)))
    return to_frame(rows)


def statement_timeout(server_events: pd.DataFrame | None, events: pd.DataFrame | None = None, *,
                      min_timeouts: int = 1) -> pd.DataFrame:
    """Statements cancelled by ``statement_timeout`` (PostgreSQL: ERROR 57014 "canceling
    statement due to statement timeout"), one finding per fingerprint with at least
    ``min_timeouts``. The timeout itself is read from a ``SET statement_timeout`` in the query
    log where there is one (then the saving counts that long per cancelled call). MySQL and
    MariaDB do not write such errors to the slow log."""
    se = server_table(server_events)
    if se is None:
        return to_frame([])
    ex = executed(events) if events is not None and not events.empty else None
    span = span_s(ex, se)
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
    cancel["fingerprint"] = fingerprints_of(cancel["statement"]).fillna("?")
    out = []
    for fp, g in cancel.groupby("fingerprint", sort=False):
        if len(g) < min_timeouts:
            continue
        first = g.iloc[0]
        wasted = None if limit_ms is None else len(g) * limit_ms / 1000.0
        evidence = (f"{len(g)} × `{short(first['statement'])}` cancelled by statement_timeout"
                    + (f" ({limit_ms:.0f} ms, from the log's SET statement_timeout)" if limit_ms else "")
                    + f"; first in session {first['session']} at {ts(first['timestamp'])} (line "
                    f"{line_of(first['source_line'])}); sessions {sessions_text(g['session'])}; {lines(g)}.")
        out.append(R.finding(STATEMENT_TIMEOUT, f"{len(g)} statement(s) cancelled by statement_timeout",
                             evidence, key=fp, file=source_path(se), line=line_of(first["source_line"]),
                             occurrences=len(g), saving_s=wasted, round_trips=len(g), span_s=span,
                             session=str(first["session"]), count=len(g), fingerprint=fp,
                             example=short(first["statement"])))
    return to_frame(out)


def long_transactions(events: pd.DataFrame, *, min_open_ms: float = 1000.0) -> pd.DataFrame:
    """Explicit transactions (BEGIN ... COMMIT/ROLLBACK in one session) open for ``min_open_ms`` ms or
    more, with the time spent idle between their statements ("idle in transaction"); one
    finding per kind of transaction (the fingerprints of its first statements). With
    whole-second timestamps (MariaDB), a transaction must be open ``min_open_ms`` beyond that
    second of uncertainty. The saving is the idle time: locks and snapshots held while nothing
    ran."""
    ex = executed(events)
    span = span_s(ex)
    path = source_path(events)
    verbs = ex["verb"].to_numpy()
    sess = ex["session"].to_numpy()
    bounds = np.flatnonzero(np.isin(verbs, list(TX_END | TX_BEGIN)))
    t_ms = ns(ex["timestamp"]) / 1e6
    dur = ex["duration_ms"].fillna(0.0).to_numpy(dtype=float)
    b_, e_ = bounds[:-1], bounds[1:]
    # a BEGIN and the COMMIT/ROLLBACK that follows it in the same session
    pair = np.isin(verbs[b_], list(TX_BEGIN)) & np.isin(verbs[e_], list(TX_END)) & (sess[b_] == sess[e_])
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
                    f"{ts(start)} (lines {line_of(tx['source_line'].iloc[0])}-"
                    f"{line_of(tx['source_line'].iloc[-1])}), {len(tx) - 2} statement(s) busy "
                    f"{busy:.0f} ms, idle in transaction {idle:.0f} ms "
                    f"({100 * idle / open_ms:.0f} %); ended by {tx['verb'].iloc[-1].upper()}; "
                    f"statements: " + "; ".join(f"`{short(x, 70)}`" for x in tx["statement"].iloc[1:-1][:3])
                    + (f". {len(txs)} such transactions, {idle_all:.0f} ms idle in all." if len(txs) > 1 else "."))
        rows.append(R.finding(LONG_TRANSACTIONS, f"Transaction open {open_ms / 1000:.1f} s "
                              f"({100 * idle / open_ms:.0f} % idle)", evidence, key=key, file=path,
                              line=line_of(tx["source_line"].iloc[0]), occurrences=len(txs),
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
    se = server_table(server_events)
    if se is None:
        return to_frame([])
    path = source_path(se)
    span = span_s(se)
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
                    + f": {first['message']}; session {first['session']} at {ts(first['timestamp'])} "
                    f"(line {line_of(first['source_line'])})"
                    + (f"; statement `{short(first['statement'])}`" if pd.notna(first["statement"]) else "")
                    + ".")
        rows.append(R.finding(ERRORS, f"{len(g)} failed statement(s): {short(first['message'], 60)}",
                              evidence, key=f"{st_} {m_}", file=path, line=line_of(first["source_line"]),
                              occurrences=len(g), round_trips=len(g), span_s=span,
                              session=str(first["session"]), count=len(g), sqlstate=st,
                              example=short(first["statement"]) if pd.notna(first["statement"]) else None))
    return to_frame(rows)


_SESSION_TIME = re.compile(r"session time: (\d+):(\d+):([\d.]+)")


def _sessions(server_events: pd.DataFrame | None, events: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """One row per session: session, start, duration_ms; from disconnection events when logged,
    else from the first and last statement of each session in the query log."""
    se = server_table(server_events)
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
    ex = executed(events)
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
    starts = np.sort(ns(sessions["start"]))
    per_s = np.searchsorted(starts, starts + 1_000_000_000, side="left") - np.arange(len(starts))
    span = (starts[-1] - starts[0]) / 1e9 if len(starts) > 1 else 0.0
    path = source_path(server_events if how == "disconnection events" else events)
    measured = _connect_ms(server_table(server_events))
    setup_ms = measured if measured is not None else CONNECT_MS
    evidence = (f"{len(short)} of {len(sessions)} sessions ({100 * share:.0f} %) lasted under "
                f"{max_session_ms:g} ms (median {short['duration_ms'].median():.0f} ms), seen in {how}; "
                f"up to {int(per_s.max())} new connections in one second, "
                f"{len(sessions) / span if span else float(len(sessions)):.1f} per second on average over "
                f"{span:.1f} s; sessions {', '.join(map(str, short['session'].head(5)))}, …; "
                f"{lines(short)}. Each connection costs {setup_ms:.1f} ms of setup"
                + (" (received to authorized, median)" if measured is not None else " (assumed)")
                + f" and {CONNECT_ROUND_TRIPS} round trips.")
    return to_frame([R.finding(CONNECTION_CHURN, f"{len(short)} short-lived connections: "
                               "a connection per unit of work", evidence, key="connections", file=path,
                               line=line_of(short["source_line"].min()), occurrences=len(short),
                               saving_s=len(short) * setup_ms / 1000.0,
                               round_trips=len(short) * CONNECT_ROUND_TRIPS,
                               span_s=span_s(server_table(server_events), events),
                               sessions=len(sessions), short_sessions=len(short),
                               connections_per_s=int(per_s.max()))])
