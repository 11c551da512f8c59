"""Why is this endpoint slow? HTTP requests joined to their database queries and profile samples.

Three kinds of evidence, each a table already: the access log (``http_requests``), the queries
(``query_events`` from a database log or :func:`toolkit.capture_queries`) and, optionally, a
profile with timestamps (a py-spy ``--format chrometrace`` file, whose ``meta["timeline"]`` says
when each stack ran). :func:`join` attributes each query and each sample to the request it
served, and :func:`correlate` returns the per-endpoint ``request_breakdown``:

    >>> import toolkit as tk
    >>> requests = tk.read_access_log("access.log", log_format=perf_format)       # doctest: +SKIP
    >>> events = tk.read_queries("postgresql.log")                                # doctest: +SKIP
    >>> tk.correlate(requests, events)                                            # doctest: +SKIP

How a query finds its request, best first (``attributed_by``):

1. ``request id``: a column of the events equals a column of the requests. Events: the
   capture's ``request_id``; a sqlcommenter tag (``tag_request_id``, ``trace_id`` from
   ``traceparent``: nginx's ``$request_id`` is 32 hex digits, a valid W3C trace id);
   ``application`` (``application_name`` set per request, or ``%a`` in ``log_line_prefix``).
   Requests: ``request_id`` (nginx ``$request_id``), ``http_x_request_id``, ``http_traceparent``.
   The pair with the most matches is used (or ``request_key`` / ``event_key``).
2. ``time``: the query ran (its midpoint: a log stamps a statement when it ends, so it ran over
   ``[timestamp - duration, timestamp]``) while exactly one request was in flight
   (``[timestamp - request_time_s, timestamp]`` of the access log, widened by ``slack_s``).
3. ``session and time``: several requests were in flight; the nearest query of the same
   database session that was attributed, if its request is one of them.

The rest is ``ambiguous`` (several candidates, no session evidence) or ``none`` (no request in
flight: background jobs, migrations, the pool's own queries) and stays out of the breakdown;
``attrs["summary"]`` says how much time each way covers. Profile samples are attributed the same
way by time, with the thread in place of the session; only samples whose stack has application
code below its outermost frame count (idle worker threads and the server's accept loop do not).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import rules as R
from .errors import InputError
from .http.endpoints import template_paths
from .profiles.model import is_library
from .queries.fingerprint import fingerprint_series
from .queries.sqlcomment import trace_ids
from .ranking import to_frame

REQUEST_KEYS = ("request_id", "http_x_request_id", "http_traceparent", "traceparent")
EVENT_KEYS = ("request_id", "tag_request_id", "tag_x_request_id", "trace_id", "application")
_EXECUTED = {"statement", "execute", "query"}

DB_TIME = R.rule(
    "requests.database_time", "N+1 and ORM queries",
    "An endpoint whose requests spend most of their time in the database (from the access log "
    "joined to the query log).", severity="high",
    fix="Look at the endpoint's top fingerprints: fewer round trips (eager loading, one query "
        "with IN/ANY or a JOIN), an index for the slow ones, or a cache for what repeats.",
    thresholds={"min_db_share_pct": 50.0, "min_requests": 5})
QUERY_BUDGET = R.rule(
    "requests.query_budget", "N+1 and ORM queries",
    "Queries per request of an endpoint grew over time: an N+1 regression shows in the query "
    "count before it shows in latency.", severity="medium",
    fix="Find the change that added queries to the endpoint (the N+1 finding names the line); "
        "assert the query count in a test (capture_queries) so it cannot grow again.",
    thresholds={"min_growth": 2.0, "min_added": 3.0, "min_requests": 5})


def _norm_ids(values: pd.Series) -> pd.Series:
    """Ids compared case-insensitively; a traceparent is reduced to its trace id."""
    text = values.astype("string").str.strip().str.lower()
    looks = text.str.count("-").eq(3).fillna(False)
    if looks.any():
        text = text.where(~looks, text[looks].map(lambda t: trace_ids(t)[0] or t))
    return text.where(text.ne("") & text.ne("-"))


def _pick_keys(requests: pd.DataFrame, events: pd.DataFrame, request_key: str | bool | None,
               event_key: str | bool | None) -> tuple[str | None, str | None, int]:
    if request_key is False or event_key is False:  # attribution by time only
        return None, None, 0
    rkeys = [request_key] if request_key else [k for k in REQUEST_KEYS if k in requests.columns]
    ekeys = [event_key] if event_key else [k for k in EVENT_KEYS if k in events.columns]
    for k, table, name in ((request_key, requests, "requests"), (event_key, events, "events")):
        if k and k not in table.columns:
            raise InputError(f"correlate: the {name} have no column {k!r}")
    best = (None, None, 0)
    for rk in rkeys:
        rid = set(_norm_ids(requests[rk]).dropna())
        if not rid:
            continue
        for ek in ekeys:
            hits = int(_norm_ids(events[ek]).isin(rid).sum())
            if hits > best[2]:
                best = (rk, ek, hits)
    return best


def _ns(ts: pd.Series) -> np.ndarray:
    return pd.to_datetime(ts, utc=True).dt.as_unit("ns").astype("int64").to_numpy()


def _windows(requests: pd.DataFrame, slack_s: float) -> tuple[np.ndarray, np.ndarray]:
    end = _ns(requests["timestamp"])
    dur = (requests["request_time_s"].astype("float64").fillna(0.0).to_numpy() * 1e9).astype("int64")
    slack = int(slack_s * 1e9)
    return end - dur - slack, end + slack


def assign_by_time(times: np.ndarray, groups: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                   assigned: np.ndarray | None = None, blocks: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Which request (row position, -1 for none) each moment belongs to, and how it was found.

    ``times`` int64 ns; ``groups`` the session (or thread) of each moment; ``starts``/``ends``
    the requests' windows in ns; ``assigned`` positions already known (by request id), -1 else;
    ``blocks`` labels moments that surely belong to one request (the statements of one database
    transaction): a block whose moments have exactly one candidate request in common goes to it.
    Returns (positions, methods) with methods in request id / time / session and time /
    ambiguous / none (see the module docstring).
    """
    n = len(times)
    pos = np.full(n, -1, dtype=np.int64) if assigned is None else assigned.astype(np.int64).copy()
    method = np.where(pos >= 0, "request id", "none").astype(object)
    order = np.argsort(starts, kind="stable")
    s_sorted, e_sorted = starts[order], ends[order]
    longest = int((ends - starts).max()) if len(starts) else 0
    pending: dict[int, np.ndarray] = {}
    for i in np.flatnonzero(pos < 0):
        t = times[i]
        lo = np.searchsorted(s_sorted, t - longest, side="left")
        hi = np.searchsorted(s_sorted, t, side="right")
        cand = order[lo:hi][e_sorted[lo:hi] >= t]
        if len(cand) == 1:
            pos[i], method[i] = cand[0], "time"
        elif len(cand) > 1:
            pending[i] = cand
            method[i] = "ambiguous"
    if pending and blocks is not None:
        _by_block(blocks, groups, times, pos, method, pending)
    if pending:
        _by_group(times, groups, pos, method, pending)
    return pos, method


def _by_block(blocks: np.ndarray, groups: np.ndarray, times: np.ndarray, pos: np.ndarray,
              method: np.ndarray, pending: dict) -> None:
    """Moments of one block share one request: the one candidate all its moments agree on. A
    request already found working on another session at the same time is no candidate (a request
    runs its transaction on one connection); repeated while that settles more blocks."""
    members: dict[Any, list[int]] = {}
    for i in pending:
        members.setdefault(blocks[i], [])
    for i, b in enumerate(blocks):
        if b in members:
            members[b].append(i)
    common_of: dict[Any, set] = {}
    for b, idx in members.items():
        common: set | None = None
        for i in idx:
            cand = set(pending[i].tolist()) if i in pending else ({int(pos[i])} if pos[i] >= 0 else None)
            if cand is not None:
                common = cand if common is None else common & cand
        common_of[b] = common or set()
    busy: dict[int, list[tuple[Any, int, int]]] = {}  # request -> (session, first, last) of its moments

    def settle(b: Any, req: int) -> None:
        for i in members[b]:
            if i in pending:
                pos[i], method[i] = req, "session and time"
                del pending[i]
        del common_of[b]

    for i in np.flatnonzero(pos >= 0):
        busy.setdefault(int(pos[i]), []).append((groups[i], times[i], times[i]))
    for _round in range(4):
        changed = False
        for b in list(common_of):
            idx = members[b]
            lo, hi, grp = min(times[i] for i in idx), max(times[i] for i in idx), groups[idx[0]]
            cand = {r for r in common_of[b]
                    if not any(g != grp and a <= hi and lo <= z for g, a, z in busy.get(r, ()))}
            if len(cand) == 1:
                (req,) = cand
                settle(b, req)
                busy.setdefault(req, []).append((grp, lo, hi))
                changed = True
        if not changed:
            break


def transaction_blocks(events: pd.DataFrame) -> np.ndarray:
    """A label per event: the statements of one transaction of one session (BEGIN to COMMIT /
    ROLLBACK) share it; every other statement has its own."""
    n = len(events)
    verbs = events["statement"].astype("string").str.extract(r"^\s*(\w+)", expand=False).str.lower()
    verbs = verbs.fillna("").to_numpy(dtype=object)
    session = events["session"].astype("object").fillna("?").to_numpy() if "session" in events \
        else np.full(n, "?", dtype=object)
    order = np.lexsort((_ns(events["timestamp"]), pd.factorize(session)[0]))
    label = np.empty(n, dtype=np.int64)
    block, inside, last_session = 0, False, object()
    for i in order:
        if session[i] is not last_session and session[i] != last_session:
            inside, last_session = False, session[i]
        if verbs[i] in ("begin", "start") or not inside:
            block += 1
            inside = verbs[i] in ("begin", "start")
        label[i] = block
        if verbs[i] in ("commit", "rollback", "end", "abort"):
            inside = False
    return label


def _by_group(times, groups, pos, method, pending) -> None:
    """Resolve moments with several candidate requests by the nearest resolved moment of the same
    session/thread, when its request is a candidate."""
    frame = pd.DataFrame({"t": times, "g": groups, "i": np.arange(len(times))})
    for _, part in frame.sort_values(["g", "t"], kind="stable").groupby("g", sort=False):
        idx = part["i"].to_numpy()
        known = [(j, k) for k, j in enumerate(idx) if pos[j] >= 0]
        if not known:
            continue
        where = np.array([k for _, k in known])
        for k, j in enumerate(idx):
            if j not in pending:
                continue
            at = np.searchsorted(where, k)
            near = [known[m] for m in (at - 1, at) if 0 <= m < len(known)]
            near.sort(key=lambda jk: abs(times[jk[0]] - times[j]))
            for jj, _ in near:
                if pos[jj] in pending[j]:
                    pos[j], method[j] = pos[jj], "session and time"
                    break


def attribute_events(requests: pd.DataFrame, events: pd.DataFrame, *, request_key: str | bool | None = None,
                     event_key: str | bool | None = None, slack_s: float = 0.002,
                     routes: Sequence[str] | None = None) -> pd.DataFrame:
    """``events`` with the request each belongs to: ``request`` (the request's row label in
    ``requests``, null when none), ``request_id``, ``endpoint`` (templated path; ``routes`` as
    for :func:`toolkit.endpoints`), ``method`` (HTTP), and ``attributed_by`` (see the module
    docstring). Input frames are not changed."""
    reqs = _requests(requests, routes, request_key)
    rk, ek, _ = _pick_keys(reqs, events, request_key, event_key)
    assigned = np.full(len(events), -1, dtype=np.int64)
    if rk and ek:
        ids = _norm_ids(reqs[rk])
        first = pd.Series(np.arange(len(reqs)), index=ids.to_numpy()).loc[lambda s: s.index.notna()]
        first = first[~first.index.duplicated()]
        hit = _norm_ids(events[ek]).map(first)
        assigned = hit.fillna(-1).astype("int64").to_numpy()
    dur_ns = (events["duration_ms"].astype("float64").fillna(0.0).to_numpy() * 5e5).astype("int64")
    mid = _ns(events["timestamp"]) - dur_ns  # half the duration before the logged end
    starts, ends = _windows(reqs, slack_s)
    session = events["session"].astype("object").fillna("?").to_numpy() if "session" in events \
        else np.full(len(events), "?", dtype=object)
    pos, how = assign_by_time(mid, session, starts, ends, assigned, transaction_blocks(events))
    out = events.copy()
    take = np.where(pos >= 0, pos, 0)
    found = pos >= 0
    out["request"] = pd.array(np.where(found, reqs.index.to_numpy()[take], -1), dtype="Int64")
    out.loc[~found, "request"] = pd.NA
    for col in ("request_id", "endpoint", "method"):
        values = reqs[col].to_numpy(dtype=object)[take]
        out[col] = pd.array(np.where(found, values, None), dtype="string")
    out["attributed_by"] = how
    out.attrs = dict(events.attrs)
    out.attrs["keys"] = {"requests": rk, "events": ek}
    return out


def _requests(requests: pd.DataFrame, routes: Sequence[str] | None = None, key: Any = None) -> pd.DataFrame:
    need = {"timestamp", "request_time_s", "path"}
    if not need <= set(requests.columns):
        raise InputError(f"correlate: the requests lack {sorted(need - set(requests.columns))}; "
                         "give tk.read_access_log's table with $request_time logged")
    reqs = requests if requests.index.is_unique else requests.reset_index(drop=True)  # rows by label
    reqs = reqs.copy()
    reqs["endpoint"] = template_paths(reqs["path"], routes)
    if "method" not in reqs:
        reqs["method"] = None
    rk = key if isinstance(key, str) and key in reqs.columns else next(
        (k for k in REQUEST_KEYS if k in reqs.columns), None)
    reqs["request_id"] = _norm_ids(reqs[rk]) if rk else pd.Series(
        [f"#{i}" for i in reqs.index], index=reqs.index, dtype="string")
    return reqs


# --------------------------------------------------------------------------- profile samples

def _is_app(frame: Any) -> bool:
    file = frame.file or ""
    return not (file.startswith("<") or is_library(file, frame.function))


def _app_frame(frames: tuple) -> tuple[str, str | None, int | None] | None:
    """The leaf-most application frame of a stack when application code runs *called from*
    library code (a framework calling a view: a request's work), else None (idle worker threads,
    and the server's main loop, whose only application frames are the script's own at the root)."""
    called = False
    leaf = None
    seen_library = False
    for f in frames:
        if _is_app(f):
            if seen_library:
                called = True
            leaf = f
        else:
            seen_library = True
    if not called or leaf is None:
        return None
    return leaf.function, leaf.file, leaf.line


def attribute_samples(requests: pd.DataFrame, profile: Any, *, profile_start: Any = None,
                      slack_s: float = 0.002, routes: Sequence[str] | None = None) -> pd.DataFrame:
    """Profile time per request: the rows of the profile's timeline (see
    :mod:`toolkit.profiles.chrometrace`) that ran application code, with ``timestamp`` (UTC),
    ``function``, ``file``, ``line`` (the leaf-most application frame), ``request``,
    ``request_id``, ``endpoint``, ``method`` and ``attributed_by`` (time / session and time,
    with the thread as the session / ambiguous / none).

    ``profile_start``: the wall-clock time of the timeline's 0 (py-spy's chrometrace counts
    from when py-spy started), defaulting to ``profile.start_time`` where the producer records
    it."""
    timeline = profile if isinstance(profile, pd.DataFrame) else getattr(profile, "meta", {}).get("timeline")
    if timeline is None:
        raise InputError("correlate: this profile has no timestamps; record it with py-spy "
                         "--format chrometrace (and --idle) to attribute samples to requests")
    start = profile_start if profile_start is not None else getattr(profile, "start_time", None)
    if start is None:
        raise InputError("correlate: the profile's timeline counts from its start, whose wall-clock "
                         "time the file does not hold: pass profile_start= (e.g. when py-spy began)")
    start = pd.Timestamp(start, unit="s", tz="UTC") if isinstance(start, (int, float)) else pd.Timestamp(start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    sites = [_app_frame(f) for f in timeline["frames"]]
    keep = np.array([s is not None for s in sites], dtype=bool)
    work = timeline.loc[keep, ["start_s", "duration_s", "thread"]].copy()
    work[["function", "file", "line"]] = pd.DataFrame([s for s in sites if s is not None],
                                                      index=work.index, columns=["function", "file", "line"])
    work["timestamp"] = start + pd.to_timedelta(work["start_s"], unit="s")
    reqs = _requests(requests, routes)
    mid = _ns(work["timestamp"]) + (work["duration_s"].to_numpy() * 5e8).astype("int64")
    starts, ends = _windows(reqs, slack_s)
    pos, how = assign_by_time(mid, work["thread"].astype("object").fillna("?").to_numpy(), starts, ends)
    found = pos >= 0
    take = np.where(found, pos, 0)
    work["request"] = pd.array(np.where(found, reqs.index.to_numpy()[take], -1), dtype="Int64")
    work.loc[~found, "request"] = pd.NA
    for col in ("request_id", "endpoint", "method"):
        work[col] = pd.array(np.where(found, reqs[col].to_numpy(dtype=object)[take], None), dtype="string")
    work["attributed_by"] = how
    return work.reset_index(drop=True)


# --------------------------------------------------------------------------- tables

def _runs(fps: np.ndarray, groups: np.ndarray, min_repeats: int) -> pd.Series:
    """N+1 runs per group: ``min_repeats`` or more consecutive statements of one fingerprint
    after a statement of another, within one request."""
    if len(fps) == 0:
        return pd.Series(dtype="int64")
    new_group = np.r_[True, groups[1:] != groups[:-1]]
    starts = np.flatnonzero(new_group | np.r_[True, fps[1:] != fps[:-1]])
    ends = np.r_[starts[1:], len(fps)]
    ok = (ends - starts >= min_repeats) & ~new_group[starts]
    return pd.Series(groups[starts[ok]]).value_counts()


def request_table(requests: pd.DataFrame, events: pd.DataFrame, samples: pd.DataFrame | None = None, *,
                  min_repeats: int = 5, routes: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per request: ``request`` (row label), ``request_id``, ``endpoint``, ``method``,
    ``status``, ``timestamp`` (end, UTC), ``request_time_s``, ``queries`` (executed statements),
    ``db_ms`` (all their time, parse/bind steps included), ``db_share_pct`` (of the request's
    time; over 100 when its queries overlapped, e.g. on several connections), ``n_plus_one``
    (N+1 runs inside it), ``profile_s`` (profile time attributed) and ``top_function``.

    ``events`` and ``samples`` come from :func:`attribute_events` / :func:`attribute_samples`."""
    reqs = _requests(requests, routes)
    ev = events[events["request"].notna()]
    executed = ev["kind"].astype("object").isna() | ev["kind"].isin(_EXECUTED) if "kind" in ev else \
        pd.Series(True, index=ev.index)
    out = reqs[["request_id", "endpoint", "method", "timestamp", "request_time_s"]].copy()
    out.insert(0, "request", out.index)
    out["status"] = reqs["status"] if "status" in reqs else pd.NA
    key = ev["request"].astype("int64")
    out["queries"] = key[executed].value_counts().reindex(out.index, fill_value=0).astype("int64")
    out["db_ms"] = ev["duration_ms"].groupby(key).sum().reindex(out.index, fill_value=0.0).round(6)
    ms = out["request_time_s"].astype("float64") * 1e3
    out["db_share_pct"] = (out["db_ms"] / ms * 100.0).where(ms > 0).round(3)
    ex = ev[executed].sort_values(["request", "timestamp"], kind="stable")
    fps = fingerprint_series(ex["statement"]).fillna("").to_numpy(dtype=object)
    out["n_plus_one"] = _runs(fps, ex["request"].astype("int64").to_numpy(), min_repeats).reindex(
        out.index, fill_value=0).astype("int64")
    out["profile_s"] = 0.0
    out["top_function"] = pd.Series(pd.NA, index=out.index, dtype="string")
    if samples is not None and len(samples):
        s = samples[samples["request"].notna()]
        skey = s["request"].astype("int64")
        out["profile_s"] = s["duration_s"].groupby(skey).sum().reindex(out.index, fill_value=0.0).round(6)
        top = s.groupby([skey, "function"])["duration_s"].sum().sort_values(ascending=False)
        top = top.reset_index().drop_duplicates("request").set_index("request")["function"]
        out["top_function"] = top.reindex(out.index).astype("string")
    return out.reset_index(drop=True)


def _top(values: pd.DataFrame, by: str, label: str, weight: str, n: int) -> pd.Series:
    """Per ``by``: the ``n`` heaviest ``label``s as 'label (share%)' joined by ' | '."""
    if values.empty:
        return pd.Series(dtype="string")
    sums = values.groupby([by, label])[weight].sum()
    totals = sums.groupby(level=0).transform("sum")
    share = (sums / totals * 100.0).sort_values(ascending=False)
    out = {}
    for key, part in share.groupby(level=0, sort=False):
        out[key] = " | ".join(f"{lab} ({pct:.0f}%)" for (_, lab), pct in part.head(n).items())
    return pd.Series(out, dtype="string")


def breakdown(per_request: pd.DataFrame, events: pd.DataFrame, samples: pd.DataFrame | None = None, *,
              top: int = 3) -> pd.DataFrame:
    """The ``request_breakdown`` table, one row per endpoint (and HTTP method), by total request
    time: ``requests``, ``p50_s``, ``p95_s``, ``total_s``, ``db_share_pct`` (database time over
    request time, all its requests), ``db_ms_mean``, ``queries_mean``, ``queries_p95``,
    ``n_plus_one_per_request`` (mean N+1 runs), ``requests_with_n_plus_one``, ``profile_s``,
    ``top_fingerprints`` and ``top_functions`` ('text (share%)' joined by ' | ', by time)."""
    keys = ["endpoint", "method"]
    g = per_request.groupby(keys, dropna=False, sort=False)
    out = g.agg(requests=("request", "size"), p50_s=("request_time_s", "median"),
                p95_s=("request_time_s", lambda s: s.quantile(0.95)), total_s=("request_time_s", "sum"),
                db_ms=("db_ms", "sum"), db_ms_mean=("db_ms", "mean"), queries_mean=("queries", "mean"),
                queries_p95=("queries", lambda s: s.quantile(0.95)),
                n_plus_one_per_request=("n_plus_one", "mean"),
                requests_with_n_plus_one=("n_plus_one", lambda s: int((s > 0).sum())),
                profile_s=("profile_s", "sum")).reset_index()
    out["db_share_pct"] = (out["db_ms"] / (out["total_s"] * 1e3) * 100.0).where(out["total_s"] > 0)
    ev = events[events["request"].notna()]
    if "kind" in ev:
        ev = ev[ev["kind"].astype("object").isna() | ev["kind"].isin(_EXECUTED)]
    ev = ev.assign(fingerprint=fingerprint_series(ev["statement"]),
                   ep=ev["endpoint"].astype("object") + "\x00" + ev["method"].astype("object").fillna(""))
    out["_ep"] = out["endpoint"].astype("object") + "\x00" + out["method"].astype("object").fillna("")
    out["top_fingerprints"] = out["_ep"].map(_top(ev, "ep", "fingerprint", "duration_ms", top))
    if samples is not None and len(samples):
        s = samples[samples["request"].notna()]
        s = s.assign(ep=s["endpoint"].astype("object") + "\x00" + s["method"].astype("object").fillna(""),
                     where=s["function"].astype(str) + " (" + s["file"].map(
                         lambda f: os.path.basename(str(f))) + ")")
        out["top_functions"] = out["_ep"].map(_top(s, "ep", "where", "duration_s", top))
    else:
        out["top_functions"] = pd.NA
    out = out.drop(columns=["_ep", "db_ms"]).sort_values("total_s", ascending=False, kind="stable")
    cols = ["endpoint", "method", "requests", "p50_s", "p95_s", "total_s", "db_share_pct", "db_ms_mean",
            "queries_mean", "queries_p95", "n_plus_one_per_request", "requests_with_n_plus_one",
            "profile_s", "top_fingerprints", "top_functions"]
    out = out[cols].reset_index(drop=True)
    for c in ("p50_s", "p95_s", "total_s", "db_share_pct", "db_ms_mean", "queries_mean", "queries_p95",
              "n_plus_one_per_request", "profile_s"):
        out[c] = out[c].astype("float64").round(6)
    for c in ("top_fingerprints", "top_functions"):
        out[c] = out[c].astype("string")
    return out


def query_budget(per_request: pd.DataFrame, freq: str = "1min") -> pd.DataFrame:
    """Queries per request over time, per endpoint: ``endpoint``, ``method``, ``period`` (start,
    UTC), ``requests``, ``queries_mean``, ``queries_p95``, ``queries_max``, ``db_ms_mean``. A
    growing count is an N+1 regression, visible without tracing."""
    df = per_request.assign(period=pd.to_datetime(per_request["timestamp"], utc=True).dt.floor(freq))
    g = df.groupby(["endpoint", "method", "period"], dropna=False, sort=True)
    out = g.agg(requests=("request", "size"), queries_mean=("queries", "mean"),
                queries_p95=("queries", lambda s: s.quantile(0.95)), queries_max=("queries", "max"),
                db_ms_mean=("db_ms", "mean")).reset_index()
    return out


# --------------------------------------------------------------------------- findings

def findings(table: pd.DataFrame, budget: pd.DataFrame | None = None, *, min_db_share_pct: float = 50.0,
             min_requests: int = 5, min_growth: float = 2.0, min_added: float = 3.0) -> pd.DataFrame:
    """Findings from a ``request_breakdown`` (and its :func:`query_budget`): endpoints that
    spend ``min_db_share_pct`` or more of their time in the database ("GET /orders/{id} spends
    80% of its time in the database, 52 queries per request"), and endpoints whose queries per
    request grew ``min_growth`` times and by ``min_added`` or more from the first period to the
    last. Rules ``requests.database_time`` and ``requests.query_budget``."""
    rows = []
    for r in table.itertuples():
        if r.requests < min_requests or pd.isna(r.db_share_pct) or r.db_share_pct < min_db_share_pct:
            continue
        name = f"{r.method} {r.endpoint}" if isinstance(r.method, str) else r.endpoint
        n1 = (f"; N+1 loops in {r.requests_with_n_plus_one} of its {r.requests} requests"
              if r.requests_with_n_plus_one else "")
        rows.append(R.finding(
            DB_TIME, f"{name} spends {r.db_share_pct:.0f}% of its time in the database, "
                     f"{r.queries_mean:.0f} queries per request",
            f"{r.requests} requests, p50 {r.p50_s * 1e3:.1f} ms, p95 {r.p95_s * 1e3:.1f} ms; "
            f"database {r.db_ms_mean:.1f} ms per request over {r.queries_mean:.1f} queries "
            f"(p95 {r.queries_p95:.0f}){n1}. Top queries by time: {r.top_fingerprints}.",
            key=name, endpoint=r.endpoint, method=r.method, db_share_pct=round(float(r.db_share_pct), 1),
            queries_mean=round(float(r.queries_mean), 2)))
    if budget is not None and len(budget):
        for (endpoint, method), part in budget.groupby(["endpoint", "method"], dropna=False, sort=False):
            part = part[part["requests"] >= min_requests].sort_values("period")
            if len(part) < 2:
                continue
            first, last = part.iloc[0], part.iloc[-1]
            before, after = float(first["queries_mean"]), float(last["queries_mean"])
            if after >= max(before, 0.5) * min_growth and after - before >= min_added:
                name = f"{method} {endpoint}" if isinstance(method, str) else endpoint
                rows.append(R.finding(
                    QUERY_BUDGET, f"{name}: queries per request rose from {before:.1f} to {after:.1f}",
                    f"{int(first['requests'])} requests from {first['period']:%Y-%m-%d %H:%M} averaged "
                    f"{before:.1f} queries; {int(last['requests'])} requests from {last['period']:%Y-%m-%d %H:%M}"
                    f" averaged {after:.1f} (max {int(last['queries_max'])}).",
                    key=name, endpoint=endpoint, method=method))
    return to_frame(rows)


# --------------------------------------------------------------------------- entry points

@dataclasses.dataclass
class Correlation:
    """Everything :func:`join` computed: ``breakdown`` (per endpoint), ``requests`` (per
    request), ``events`` (each query with its request), ``samples`` (profile time per request,
    or None), ``budget`` (queries per request over time), ``findings``, ``summary`` (how much
    was attributed, and how)."""

    breakdown: pd.DataFrame
    requests: pd.DataFrame
    events: pd.DataFrame
    samples: pd.DataFrame | None
    budget: pd.DataFrame
    findings: pd.DataFrame
    summary: dict[str, Any]


def _summary(events: pd.DataFrame, samples: pd.DataFrame | None) -> dict[str, Any]:
    total = float(events["duration_ms"].sum())
    by = events.groupby("attributed_by")["duration_ms"].sum()
    out: dict[str, Any] = {
        "keys": events.attrs.get("keys"), "queries": len(events), "db_ms": round(total, 3),
        "db_ms_by_method": {k: round(float(v), 3) for k, v in by.items()},
        "db_attributed_pct": round(float(events.loc[events["request"].notna(), "duration_ms"].sum())
                                   / total * 100.0, 3) if total > 0 else None}
    if samples is not None:
        st = float(samples["duration_s"].sum())
        out["profile_s"] = round(st, 6)
        out["profile_attributed_pct"] = round(float(samples.loc[samples["request"].notna(), "duration_s"]
                                                    .sum()) / st * 100.0, 3) if st > 0 else None
    return out


def join(requests: pd.DataFrame, events: pd.DataFrame, profile: Any = None, *,
         routes: Sequence[str] | None = None, request_key: str | None = None, event_key: str | None = None,
         profile_start: Any = None, slack_s: float = 0.002, freq: str = "1min", top: int = 3,
         min_repeats: int = 5, **thresholds: Any) -> Correlation:
    """Attribute queries (and profile samples) to requests and build every table: see
    :class:`Correlation`. ``routes`` template paths as :func:`toolkit.endpoints` does
    (``"/orders/{id}"``); ``thresholds`` go to :func:`findings`."""
    ev = attribute_events(requests, events, request_key=request_key, event_key=event_key,
                          slack_s=slack_s, routes=routes)
    samples = None
    if profile is not None:
        samples = attribute_samples(requests, profile, profile_start=profile_start, slack_s=slack_s,
                                    routes=routes)
    per = request_table(requests, ev, samples, min_repeats=min_repeats, routes=routes)
    table = breakdown(per, ev, samples, top=top)
    budget = query_budget(per, freq)
    summary = _summary(ev, samples)
    table.attrs["summary"] = summary
    return Correlation(table, per, ev, samples, budget, findings(table, budget, **thresholds), summary)


def correlate(requests: pd.DataFrame, events: pd.DataFrame, profile: Any = None, **options: Any) -> pd.DataFrame:
    """The ``request_breakdown`` per endpoint (see :func:`breakdown`) of ``requests`` (the
    ``http_requests`` table) joined to ``events`` (``query_events``) and, optionally, a profile
    with a timeline; ``attrs["summary"]`` says how much database (and profile) time was
    attributed, and how. Options as for :func:`join`, which returns every intermediate table.

        >>> tk.correlate(requests, events)[["endpoint", "db_share_pct", "queries_mean"]]  # doctest: +SKIP
    """
    return join(requests, events, profile, **options).breakdown


# tk.correlate is the function above; its building blocks hang on it, so a notebook reaches them
# as tk.correlate.join(...) and tk.correlate.attribute_events(...)
correlate.join = join  # type: ignore[attr-defined]
correlate.attribute_events = attribute_events  # type: ignore[attr-defined]
correlate.assign_by_time = assign_by_time  # type: ignore[attr-defined]
