"""The loop rules: N+1 queries (``queries.n_plus_one``) and the same query asked again and again
(``queries.repeated``). See :mod:`toolkit.queries.detectors` for the table of every query rule.

N+1, as the field defines it: a parent query followed, in one session, by many statements of one
fingerprint that differ only in their parameters, each a cheap lookup by key; the same
parent/child pattern across requests is one finding, judged by server time and by round trips.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .. import rules as R
from ..ranking import to_frame
from .advice import KEY_COLUMN, conditions, is_key_lookup
from .callsite import finding_location
from .statements import (
    TX_BEGIN,
    TX_END,
    example,
    executed,
    is_select,
    line_of,
    lines,
    ns,
    param_key,
    short,
    source_path,
    span_s,
    sql_dialect,
    ts,
)

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


_AGGREGATE = re.compile(r"\b(?:count|sum|avg|min|max)\s*\(")


def batched(child_fp: str, dialect: str = "postgresql") -> str | None:
    """The one query that replaces a loop of key lookups: the key's ``= ?`` becomes
    ``= ANY(?)`` (PostgreSQL: one array parameter) or ``IN (...)`` (MySQL/MariaDB).

        >>> batched("select id, name from customers where id = ?")
        'select id, name from customers where id = any(?)'
        >>> batched("select sku from order_items where order_id = ? and qty > ?", "mysql")
        'select sku from order_items where order_id in (?+) and qty > ?'
        >>> batched("select count(*) from orders where customer_id = ?")
        'select customer_id, count(*) from orders where customer_id = any(?) group by customer_id'
    """
    conds, _or = conditions(child_fp)
    key = next((c for c in conds if c.kind == "eq" and c.expression is None and c.column
                and KEY_COLUMN.search(c.column)), None)
    if key is None:
        return None
    form = r"\1 = any(?)" if dialect != "mysql" else r"\1 in (?+)"
    out, n = re.subn(rf"((?:[\w`\"]+\.)?[`\"]?\b{re.escape(key.column)}\b[`\"]?)\s*=\s*\?", form, child_fp, count=1)
    if not n:
        return None
    # an aggregate per key (count(*) of each customer's orders) needs the key and a GROUP BY
    head = re.match(r"select\s+(.*?)\s+from\b", out)
    if head and _AGGREGATE.search(head.group(1)) and " group by " not in out:
        out = f"select {key.column}, {out[head.start(1):]} group by {key.column}"
    return out


def _lookup_codes(fps: Any) -> np.ndarray:
    """Per fingerprint: True when it is a SELECT looking rows up by key (``id = ?``,
    ``customer_id IN (...)``; see :func:`~toolkit.queries.advice.is_key_lookup`)."""
    return np.array([is_select(fp) and is_key_lookup(conditions(fp)[0]) for fp in fps], dtype=bool)


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
    t = ns(ex["timestamp"])
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
    tx = ex["verb"].isin(list(TX_BEGIN | TX_END)).to_numpy()
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
    ex = executed(events)
    path = source_path(events)
    if len(ex) <= min_repeats:
        return to_frame([])
    span = span_s(ex)
    dialect = sql_dialect(events)
    dur = ex["duration_ms"].astype(float).fillna(0.0).to_numpy()
    pkey = param_key(ex).to_numpy()
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
            f"{ts(ex.iloc[rows[0]]['timestamp'])} (lines {line_of(ex.iloc[rows[0]]['source_line'])}-"
            f"{line_of(ex.iloc[rows[-1]]['source_line'])})" for p, rows in occ[:4])
        more = f"; and {len(occ) - 4} more" if len(occ) > 4 else ""
        rows_note = (f" The parent returned exactly as many rows as lookups followed in {match} of "
                     f"{len(known)} occurrences (rows sent): one lookup per row." if known else "")
        evidence = (f"after `{short(parent_fp, 90)}` (e.g. line {line_of(parent_row['source_line'])}), "
                    f"{repeats} × `{short(child_fp, 90)}` per occurrence, {len(occ)} occurrence(s): "
                    f"{calls} lookups with {distinct} distinct parameter sets, {server_ms:.1f} ms of "
                    f"server time (median {median:.2f} ms each), e.g. `{example(first_child)}`. "
                    f"{each}{more}.{rows_note} Batched, each occurrence is one query: "
                    f"{R.round_trips_text(trips)} fewer.")
        one = batched(child_fp, dialect)
        fix = (f"Fetch the {repeats} rows of each occurrence in one query, with the keys the parent "
               f"returned: `{one}`; or JOIN them into the parent query, or use the ORM's eager loading "
               "(SQLAlchemy selectinload/joinedload, Django select_related/prefetch_related)."
               if one else None)
        # captured events (toolkit.queries.capture) name the line of code that ran the loop
        where = finding_location(ex.iloc[child], path, line_of(first_child["source_line"]))
        out.append(R.finding(
            N_PLUS_ONE, f"N+1: {repeats} × `{short(child_fp, 60)}` per `{short(parent_fp, 40)}` "
            f"({len(occ)} occurrence{'s' if len(occ) != 1 else ''}, {calls} calls)",
            evidence + where["suffix"], key=f"{parent_fp} -> {child_fp}", file=where["file"], fix=fix,
            line=where["line"], occurrences=len(occ), saving_s=saved_ms / 1000.0,
            round_trips=trips, span_s=span, session=str(parent_row["session"]), repeats=repeats,
            runs=len(occ), calls=calls, total_ms=round(server_ms, 3), fingerprint=child_fp,
            parent=parent_fp, rows_match=match if known else None, example=example(first_child)))
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
    t = ns(ex["timestamp"])
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
    ex = executed(events)
    span = span_s(ex)
    # session order: a session's statements are contiguous, so positions count what ran between
    ex = ex.assign(_pos=np.arange(len(ex)))
    ex = ex[ex["is_select"] & ex["statement"].str.contains(r"\bfrom\b", case=False, regex=True)]
    path = source_path(events)
    if ex.empty:
        return to_frame([])
    codes, _keys = pd.factorize(param_key(ex))
    loops = _loops(ex, codes, min_identical, window_s, max_gap)
    dur = ex["duration_ms"].astype(float).fillna(0.0).to_numpy()
    t = ns(ex["timestamp"])
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
        evidence = (f"`{example(burst.iloc[0])}` ran {best_n} times in {took} {where}, "
                    f"{burst['duration_ms'].sum():.2f} ms in all, {ts(burst['timestamp'].iloc[0])} to "
                    f"{ts(burst['timestamp'].iloc[-1])}; {lines(burst)}. Over the log, {len(items)} "
                    f"parameter set(s) of `{short(fp, 80)}` repeat like this ({calls} calls, mean "
                    f"{np.average(mean[shown], weights=counts[shown]):.2f} ms each).")
        title = (f"Same query and parameters {best_n} times in a row ({took})" if kind == "loop"
                 else f"Same query and parameters {best_n} times in {took} across sessions")
        out.append(R.finding(REPEATED, title, evidence, key=fp, file=path,
                             line=line_of(burst["source_line"].iloc[0]), occurrences=calls,
                             saving_s=saved_ms / 1000.0, round_trips=trips or None, span_s=span,
                             session=str(burst["session"].iloc[0]), repeats=best_n, calls=calls,
                             keys=len(items), kind=kind,
                             total_ms=round(float(dur[np.isin(codes, shown)].sum()), 3),
                             fingerprint=fp, example=example(burst.iloc[0])))
    return to_frame(out)
