"""The digest of a PostgreSQL stderr log read straight from its text, for big logs.

:func:`toolkit.queries.digest.digest_file` on a stderr log comes here: the same table as
``tk.digest(tk.read_queries(path))`` (see :mod:`toolkit.queries.digest` for its columns and rules),
without a ``query_events`` DataFrame in between. Each buffer of whole records is scanned by the
reader's scanner into a record batch (:meth:`~toolkit.queries.pg_stderr.StderrParser.scan_batch`,
capturing only the prefix fields a digest uses) whose columns go into per-fingerprint state
column-wise (no Python code per record for the rules): parse/bind durations folded into their
execute (:func:`batch_calls`), then per group and buffer one
:meth:`~toolkit.queries.digest.DigestGroup.take` of the calls, maximum and example, the
durations as distinct values with counts (exact percentiles), and the earliest and latest time
stamp kept as text per time zone (``%m``/``%t`` text sorts in time order), converted to UTC once
per fingerprint at the end. auto_explain plans are paired with their statement by the reader's
rule only to count the records. That is less work per record than building the DataFrame; the
figures are in benchmarks/RESULTS.md.

``log_statement`` lines take the duration of their ``log_duration`` line on the batch too
(:func:`~toolkit.queries.pg_events.pair_statements`, the reader's rule). A buffer the pass
does not take (no batch: a line to skip; a time zone without a fixed offset) is read by the
DataFrame reader (the full
scan, :meth:`~toolkit.queries.pg_stderr.StderrParser.scan_all`) instead and its
rows join the same state, so the result and the line accounting never depend on which way a
buffer went. Tests hold the two ways equal on every sample log and edge-case fixture, and on a
fresh log of a real server with log_statement phases (forced both ways by a test).

    >>> from toolkit.queries.digest import digest_file
    >>> digest_file("postgresql.log", workers=2).head()   # doctest: +SKIP
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .digest import DigestAccumulator, DigestGroup, StreamingDigest, by_list, group_calls, next_call
from .pg_envelope import unwrap
from .pg_events import VERB_CODES, is_dml, pair_statements, query_text, split_checked
from .pg_stderr import (
    StderrParser,
    gc_paused,
    range_buffers,
    stderr_buffers,
    stderr_prefix,
)
from .pg_time import offset_minutes, to_utc

# Columns a group may be keyed by here: the prefix's fields.
LEAN_BY = ("user", "database", "application", "client", "session")
_PB = ("parse", "bind")
_KIND = {"statement": "statement", "parse": "parse", "bind": "bind", "execute": "execute",
         "execute fetch from": "execute", "": "duration"}


class _Lean(DigestGroup):
    """A group's state, with per time zone the earliest and latest time stamp text (``%m``/``%t``
    text sorts in time order), converted to UTC once at the end."""

    __slots__ = ("stamps",)

    def __init__(self) -> None:
        super().__init__()
        self.stamps: dict[str, list[str]] = {}

    def stamp(self, tz: str, ts: str) -> None:
        _widen(self.stamps, tz, ts)

    def merge(self, other: DigestGroup) -> None:
        super().merge(other)
        for tz, (lo, hi) in getattr(other, "stamps", {}).items():
            seen = self.stamps.get(tz)
            if seen is None:
                self.stamps[tz] = [lo, hi]
            else:
                seen[0], seen[1] = min(seen[0], lo), max(seen[1], hi)


def _widen(stamps: dict[str, list[str]], tz: str, ts: str) -> None:
    """Widen the earliest and latest time stamp text of zone ``tz`` in ``stamps`` to take in ``ts``."""
    seen = stamps.get(tz)
    if seen is None:
        stamps[tz] = [ts, ts]
    elif ts < seen[0]:
        seen[0] = ts
    elif ts > seen[1]:
        seen[1] = ts


def _add(groups: dict, row: tuple, fp: Any, d: float) -> None:
    """Add one call (a row as StderrDigest._consume takes them, its fingerprint, its duration)
    to ``groups``."""
    key = (*row[8], fp)
    g = groups.get(key)
    if g is None:
        g = groups[key] = _Lean()
    g.add(d, (row[3], row[7], row[0]))
    if row[5] is not None:
        g.stamp(row[6], row[5])


def _fold(waiting: list, fp: Any, d: float, groups: dict) -> float:
    """The parse/bind rule (DigestAccumulator's, for rows as StderrDigest keeps them): the
    session's parse/bind rows ``waiting`` with the call's fingerprint ``fp`` fold into it (their
    time is the call's: the duration returned); the others are calls of their own."""
    for prow, pfp in waiting:
        if pfp == fp:
            if prow[4] == prow[4]:  # a timed parse/bind
                d = prow[4] if d != d else d + prow[4]
        else:
            _add(groups, prow, pfp, prow[4])
    return d


def _merge_groups(into: dict, groups: dict) -> None:
    """Add one buffer's groups to the digest's (the earlier buffer's example wins a tie)."""
    for key, b in groups.items():
        a = into.get(key)
        if a is None:
            into[key] = b
        else:
            a.merge(b)


def _blank(v):
    """The DataFrame readers' nulls: '' and '[unknown]' are None."""
    return None if v == "" or v == "[unknown]" else v


# verbs as codes: a duration-only line, statement, execute, parse/bind, plan
_V_DUR, _V_STMT, _V_EXEC, _V_PB, _V_PLAN = 0, 1, 2, 3, 4
_VERB_CODE = {"": _V_DUR, "statement": _V_STMT, "execute": _V_EXEC, "execute fetch from": _V_EXEC,
              "parse": _V_PB, "bind": _V_PB, "plan": _V_PLAN}
# the scanner's verb_code column (0 no verb, then VERB_CODES' order) -> these codes
_VERB_OF_CODE = np.array([_VERB_CODE[v] for v in ("", *VERB_CODES)], np.int8)


class BatchCalls(NamedTuple):
    """A buffer's calls after the parse/bind rule (:func:`batch_calls`), in the order the
    row-at-a-time rule adds them to their groups: ``rows`` (positions in the batch, -1 - j for
    ``extra[j]``), ``durations`` (ms, NaN: untimed; parse/bind time folded in), ``extra``: parse/bind
    rows carried from earlier buffers that became calls of their own (``(row, fingerprint)`` as
    :attr:`StderrDigest.pending` holds them); ``pending``: the rows still waiting after the buffer."""

    rows: np.ndarray
    durations: np.ndarray
    extra: list
    pending: dict


def batch_calls(vcode: np.ndarray, keep: np.ndarray, scode: np.ndarray, sessions: list, fps: np.ndarray,
                d: np.ndarray, carried: dict, item: Callable[[int], tuple]) -> BatchCalls:
    """The parse/bind rule of :meth:`StderrDigest._consume` (DigestAccumulator._fold's) on a
    batch's columns at once: a parse or bind row waits for the next call of its session (any
    kept row that is not a parse or bind); there, the waiting rows with the call's fingerprint
    fold into it (their time added to its duration, in input order; an untimed call takes the
    first timed one's), the others become calls of their own, added just before it. Rows still
    waiting at the end stay in ``pending``, after the ``carried`` ones of their session (which
    are the first to wait for the batch's calls).

    ``vcode``: the rows' verb codes (:data:`_VERB_CODE`); ``keep``: the rows that are calls or
    parse/bind rows (not plans, not folded log_statement duration lines); ``scode``: session codes
    (``sessions[i]`` the session value of row ``i``); ``fps``: fingerprints (object array);
    ``d``: durations (ms, NaN: none); ``item(i)``: row ``i`` as :attr:`StderrDigest.pending`
    holds it."""
    n = len(vcode)
    kept = np.flatnonzero(keep)
    pb = vcode[kept] == _V_PB
    call_rows = kept[~pb]
    out = d.copy()
    trigger = np.full(n, -1, np.int64)
    first_call: dict = {}
    if len(call_rows) and (carried or pb.any()):
        # each kept row's next call in its session (itself for a call): by session, then input order
        order = np.argsort(scode[kept], kind="stable")
        nxt = next_call(scode[kept][order], ~pb[order])
        has = nxt >= 0
        trigger[kept[order[has]]] = kept[order[nxt[has]]]
        if carried:
            _, at = np.unique(scode[call_rows], return_index=True)
            first_call = {sessions[int(call_rows[a])]: int(call_rows[a]) for a in at.tolist()}
    extra: list = []
    extra_at: list[int] = []
    pending: dict = {}
    for sess, waiting in carried.items():
        t = first_call.get(sess)
        if t is None:
            pending[sess] = list(waiting)
            continue
        for row, pfp in waiting:
            if pfp == fps[t]:
                if row[4] == row[4]:  # a timed parse/bind
                    out[t] = row[4] if out[t] != out[t] else out[t] + row[4]
            else:
                extra.append((row, pfp))
                extra_at.append(t)
    pb_rows = kept[pb]
    folded = np.zeros(0, np.int64)
    alone = np.zeros(0, np.int64)
    if len(pb_rows):
        t = trigger[pb_rows]
        waits = t < 0
        for i in pb_rows[waits].tolist():
            sess = sessions[i]
            lst = pending.get(sess)
            if lst is None:
                pending[sess] = [item(i)]
            else:
                lst.append(item(i))
        src, dst = pb_rows[~waits], t[~waits]
        same = fps[src] == fps[dst]
        folded, into = src[same], dst[same]
        alone = src[~same]
        if len(folded):
            timed = ~np.isnan(d[folded])
            out[into[timed & np.isnan(out[into])]] = 0.0
            np.add.at(out, into, np.nan_to_num(d[folded]))  # (in input order, as one at a time)
    # the order the rules add them: at its call, a row waiting alone comes just before it
    # (carried rows first, then the batch's in input order)
    e = len(extra)
    rows = np.concatenate((call_rows, alone, -1 - np.arange(e, dtype=np.int64)))
    at = np.concatenate((call_rows, trigger[alone], np.array(extra_at, np.int64)))
    phase = np.concatenate((np.ones(len(call_rows), np.int64), np.zeros(len(alone) + e, np.int64)))
    sub = np.concatenate((call_rows, alone, np.arange(e, dtype=np.int64) - e))
    order = np.lexsort((sub, phase, at))
    rows = rows[order]
    durations = np.empty(len(rows))
    inside = rows >= 0
    durations[inside] = np.where(vcode[rows[inside]] == _V_PB, d[rows[inside]], out[rows[inside]])
    if e:
        durations[~inside] = [extra[-1 - r][0][4] for r in rows[~inside].tolist()]
    return BatchCalls(rows, durations, extra, pending)


def _plan_neighbours(vcode: np.ndarray, live: np.ndarray, scode: np.ndarray,
                     plans: np.ndarray) -> tuple[dict[int, int], dict[int, int]]:
    """For each plan row: the statement, execute or plan row before and after it in its session
    (``live``: the rows not folded into another; ``scode``: session codes), as dicts for
    :func:`_paired_plans`."""
    cand = np.flatnonzero(live & ((vcode == _V_STMT) | (vcode == _V_EXEC) | (vcode == _V_PLAN)))
    order = np.argsort(scode[cand], kind="stable")
    rows = cand[order]
    s = scode[rows]
    same = s[1:] == s[:-1]
    before = np.where(np.r_[False, same], np.r_[-1, rows[:-1]], -1)
    after = np.where(np.r_[same, False], np.r_[rows[1:], -1], -1)
    pos = np.empty(len(vcode), np.int64)
    pos[rows] = np.arange(len(rows))
    p = pos[plans]
    prev = {int(k): int(v) for k, v in zip(plans.tolist(), before[p].tolist(), strict=True) if v >= 0}
    nxt = {int(k): int(v) for k, v in zip(plans.tolist(), after[p].tolist(), strict=True) if v >= 0}
    return prev, nxt


class StderrDigest:
    """Digest state fed buffer by buffer (:meth:`feed`), then :meth:`result` (the
    :class:`DigestAccumulator` the rest of :mod:`toolkit.queries.digest` merges and renders).

    ``parser`` is the log's ``StderrParser``; ``by``: a subset of :data:`LEAN_BY`; ``accounting``
    collects skipped lines of buffers read the DataFrame way.
    """

    def __init__(self, parser, accounting, by: Any = None, **fingerprint_options: Any):
        self.parser = parser
        self.accounting = accounting
        self.dacc = DigestAccumulator(by, **fingerprint_options)
        self.by = self.dacc.by
        if any(c not in LEAN_BY for c in self.by):
            raise ValueError(f"StderrDigest groups by {LEAN_BY} only, not {self.by}")
        self.fper = self.dacc.fper
        # the prefix fields the scan captures: time, session and the grouping columns
        self.fields = frozenset({"ts", "tz", "pid", "session", *self.by})
        self.groups: dict[Any, _Lean] = {}
        self.pending: dict[Any, list[tuple]] = {}  # session -> parse/bind rows waiting for their execute
        self.counts = {"query_events": 0, "server_events": 0}
        self.records = 0
        self.lean_buffers = self.frame_buffers = 0

    # -- input ------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What was fed, as the reader's ``attrs["source"]``: the accounting, the records, the
        lines of query events and of the other table."""
        self.accounting.records = self.records
        info = self.accounting.as_dict()
        info["record_lines"] = self.counts["query_events"]
        info["lines_in_other_table"] = {"server_events": self.counts["server_events"]}
        return info

    def feed(self, text: str, first_line: int) -> None:
        """Digest one buffer of whole records starting at input line ``first_line``."""
        if self._scan_buffer(text, first_line):
            self.lean_buffers += 1
        else:
            self._consume(self._frame_rows(text, first_line))
            self.frame_buffers += 1

    def _scan_buffer(self, text: str, first_line: int) -> bool:
        """Digest the buffer's record batch (the scanner's
        :meth:`~toolkit.queries.pg_stderr.StderrParser.scan_batch`) column-wise (the hot path);
        False, with nothing changed, where the DataFrame reader must take it: no batch (a line
        to skip: not the prefix, a foreign severity, a translated message, a DETAIL without its
        record), no %m/%t time stamp, or a zone without a fixed offset (DST). log_statement
        lines are paired with their duration lines first
        (:func:`~toolkit.queries.pg_events.pair_statements`). The calls follow the rules of
        :meth:`_consume` (:func:`batch_calls`), and each group of the buffer gets them in one
        :meth:`~toolkit.queries.digest.DigestGroup.take`, merged at the buffer's end."""
        parser = self.parser
        if "ts" not in parser.lean_rx(self.fields)[1]:
            return False
        batch = parser.scan_batch(text, first_line, self.fields)
        if batch is None:
            return False
        c = batch.columns
        n = len(batch)
        if not n:
            self.counts["server_events"] += batch.other_lines
            return True
        verbs, durs, messages = c.get("verb", ()), c.get("dur", ()), c.get("message", ())
        none = (None,) * n
        tzs = c.get("tz") or ("",) * n
        if parser.log_timezone and "tz" not in c and n:
            return False
        for tz in set(tzs):
            if tz and offset_minutes(tz) is None:
                return False
        sessions = c["session"]
        if "" in sessions or "[unknown]" in sessions:  # nulls as the reader's
            sessions = [None if s == "" or s == "[unknown]" else s for s in sessions]
        scode = pd.factorize(np.array(sessions, dtype=object), use_na_sentinel=False)[0]
        # log_statement lines (a verb, no duration; every query row without a duration has a
        # verb) take the duration of the duration-only line after them
        took: dict[int, int] = {}
        dropped: frozenset | set = frozenset()
        if "" in durs:
            took, replaced = pair_statements(verbs, durs, messages, sessions, scode)
            dropped = {*took.values(), *replaced}
        # (the stderr scanner gives the verbs and durations as numbers too; csvlog/jsonlog's text)
        vc = c.get("verb_code")
        vcode = _VERB_OF_CODE[vc] if vc is not None else np.fromiter(map(_VERB_CODE.__getitem__, verbs), np.int8, n)
        live = np.ones(n, bool)  # not folded into another row
        if dropped:
            live[np.fromiter(dropped, np.int64, len(dropped))] = False
        keep = live & (vcode != _V_PLAN)
        # the calls' fingerprints (None: a duration-only line, a plan), new statements of the
        # batch fingerprinted together (one regex pass per rule)
        # (column-wise: the messages as an object array, the others' places set to None)
        stmts = np.empty(n, object)
        stmts[:] = messages
        stmts[(vcode <= _V_DUR) | (vcode >= _V_PLAN)] = None
        stmts = stmts.tolist()
        fps = np.empty(n, object)
        fps[:] = self.fper.many(stmts)
        dm = c.get("dur_ms")
        d = dm.copy() if dm is not None else np.array([x or "nan" for x in durs], dtype=np.float64)
        if took:
            for p, k in took.items():
                if not durs[p]:
                    d[p] = d[k]
        by_rows = None
        if self.by:
            by_cols = [c.get(name) or none for name in self.by]
            by_rows = [tuple(s if name == "session" else _blank(v) for name, v in zip(self.by, vals, strict=True))
                       for s, *vals in zip(sessions, *by_cols, strict=True)]
        ts = c.get("ts") or none
        starts = batch.first_line
        params = c["parameters"]
        start_list = starts.tolist()

        def item(i: int) -> tuple:  # a parse/bind row as self.pending holds it
            return ((start_list[i], verbs[i], sessions[i], messages[i], float(d[i]), ts[i], tzs[i], params[i],
                     by_rows[i] if by_rows is not None else ()), fps[i])

        calls = batch_calls(vcode, keep, scode, sessions, fps, d, self.pending, item)
        groups = self._take(calls, fps, messages, params, starts, ts, tzs, by_rows)
        # the buffer is taken: its state becomes the digest's
        self.pending = calls.pending
        _merge_groups(self.groups, groups)
        records = n
        plans = np.flatnonzero(vcode == _V_PLAN)
        if len(plans):
            prev, nxt = _plan_neighbours(vcode, live, scode, plans)
            records -= _paired_plans(messages, verbs, durs, plans.tolist(), prev, nxt, took)
        self.records += records - len(dropped)
        self.counts["query_events"] += int(batch.nlines.sum())
        self.counts["server_events"] += batch.other_lines
        return True

    def _take(self, calls: BatchCalls, fps: np.ndarray, messages, params, starts: np.ndarray, ts, tzs,
              by_rows: list | None) -> dict[Any, _Lean]:
        """The buffer's groups: each gets its calls (``calls``, :func:`batch_calls`) in one
        :meth:`~toolkit.queries.digest.DigestGroup.take` (:func:`~toolkit.queries.digest.group_calls`):
        counts, the slowest and its example (the first in the input on a tie; the first
        call of a group without a timed one), the durations, and per time zone the earliest and
        latest time stamp text."""
        rows, dur, extra = calls.rows, calls.durations, calls.extra
        m = len(rows)
        groups: dict[Any, _Lean] = {}
        if not m:
            return groups
        inside = rows >= 0
        if by_rows is None and not extra:
            codes, uniques = pd.factorize(fps[rows], use_na_sentinel=False)
            keys = [(u if isinstance(u, str) else None,) for u in uniques]
        else:  # (a key per call: its by values and fingerprint)
            def key(r: int) -> tuple:
                if r < 0:
                    row, pfp = extra[-1 - r]
                    return (*row[8], pfp)
                return (*by_rows[r], fps[r]) if by_rows is not None else (fps[r],)

            code_of: dict = {}
            codes = np.fromiter((code_of.setdefault(key(r), len(code_of)) for r in rows.tolist()), np.int64, m)
            keys = list(code_of)
        ng = len(keys)
        rin = rows[inside]
        lines = np.zeros(m, np.int64)
        lines[inside] = starts[rin]
        if extra:
            lines[~inside] = [extra[-1 - r][0][0] for r in rows[~inside].tolist()]
        # the example: the slowest call, the first line on a tie; untimed, the first call
        batch = group_calls(codes, ng, dur, tie=np.where(np.isnan(dur), np.arange(m), lines))
        ex_at = batch.example.tolist()
        sorter = np.argsort(codes, kind="stable")
        stamps = self._stamps(rows, extra, sorter, np.cumsum(batch.calls).tolist(), ts, tzs)
        for g, key in enumerate(keys):
            r = int(rows[ex_at[g]])
            if r >= 0:
                example = (messages[r] if fps[r] is not None else None, params[r], int(lines[ex_at[g]]))
            else:
                row = extra[-1 - r][0]
                example = (row[3], row[7], row[0])
            lean = groups[key] = _Lean()
            batch.take(lean, g, example)
            lean.stamps = stamps[g]
        return groups

    @staticmethod
    def _stamps(rows: np.ndarray, extra: list, sorter: np.ndarray, bounds: list[int], ts, tzs) -> list[dict]:
        """Per group (calls ordered by ``sorter``, groups ending at ``bounds``): time zone ->
        [earliest, latest] time stamp text (``%m``/``%t`` text sorts in time order)."""
        ordered = rows[sorter].tolist()
        if not extra and len(set(tzs)) == 1:
            tz = tzs[0]
            col = list(operator.itemgetter(*ordered)(ts)) if len(ordered) > 1 else [ts[ordered[0]]]
            out, lo = [], 0
            for hi in bounds:
                part = col[lo:hi]
                out.append({tz: [min(part), max(part)]})
                lo = hi
            return out
        out, lo = [], 0
        for hi in bounds:
            seen: dict[str, list[str]] = {}
            for r in ordered[lo:hi]:
                t, z = (ts[r], tzs[r]) if r >= 0 else (extra[-1 - r][0][5], extra[-1 - r][0][6])
                if t is not None:
                    _widen(seen, z, t)
            out.append(seen)
            lo = hi
        return out

    def _frame_rows(self, text: str, first_line: int) -> list[tuple]:
        """The buffer's call rows from the DataFrame reader (which accounts for skipped lines),
        as :meth:`_consume` takes them: ``(line, kind, session, statement, duration, time stamp
        text, zone, parameters, by values)``; time stamps are UTC here."""

        parser = self.parser
        q, _s, c = split_checked(parser.parse(text, first_line, self.accounting, lean=True),
                                  self.accounting, server=False, english=True)
        for k in self.counts:
            self.counts[k] += c[k]
        self.records += len(q)
        q = q[q["kind"] != "plan"]
        iso = q["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S.%f").to_numpy(object, na_value=None)
        cols = {c: q[c].astype(object).where(q[c].notna(), None).to_numpy(object)
                for c in ("source_line", "kind", "session", "statement", "parameters", *self.by)}
        dur = q["duration_ms"].to_numpy("float64", na_value=np.nan)
        return [(int(cols["source_line"][i]), cols["kind"][i], cols["session"][i], cols["statement"][i],
                 float(dur[i]), iso[i], "UTC" if iso[i] is not None else None, cols["parameters"][i],
                 tuple(cols[c][i] for c in self.by))
                for i in range(len(q))]

    # -- state ------------------------------------------------------------------------------
    def _consume(self, rows: Iterable[tuple]) -> None:
        """Fold parse/bind rows into the next call of their session with the same fingerprint
        (DigestAccumulator._fold's rule), then add each call to its group. ``rows`` as
        :meth:`_frame_rows` gives them, in file order."""
        cache = self.fper.cache
        fper = self.fper
        pending = self.pending
        groups = self.groups
        for row in rows:
            stmt = row[3]
            fp = None
            if stmt is not None:
                fp = cache.get(stmt)
                if fp is None:
                    fp = fper(stmt)
            if row[1] in _PB:
                waiting = pending.get(row[2])
                if waiting is None:
                    pending[row[2]] = [(row, fp)]
                else:
                    waiting.append((row, fp))
                continue
            d = row[4]
            waiting = pending.pop(row[2], None)
            if waiting:
                d = _fold(waiting, fp, d, groups)
            _add(groups, row, fp, d)

    # -- output -----------------------------------------------------------------------------
    def result(self) -> DigestAccumulator:
        """The state as a :class:`DigestAccumulator` (groups only): parse/bind rows still waiting
        are calls of their own, as at the end of DigestAccumulator.result()."""
        for waiting in self.pending.values():
            for prow, pfp in waiting:
                _add(self.groups, prow, pfp, prow[4])
        self.pending = {}
        parser = self.parser
        for key, lean in self.groups.items():
            g = self.dacc.group(key)
            g.merge(lean)
            if lean.stamps:
                ts = [t for pair in lean.stamps.values() for t in pair]
                tz = [z for z, pair in lean.stamps.items() for _ in pair]
                utc = to_utc(ts, tz if any(tz) else None, name=parser.name,
                             log_timezone=parser.log_timezone)
                utc = utc[~utc.isna()]
                if len(utc):
                    g.seen(utc.min(), utc.max())
        self.groups = {}
        return self.dacc


_PAIRS = frozenset({"statement", "execute", "execute fetch from", "plan"})
_EXECUTES = frozenset({"execute", "execute fetch from"})
_CALLS = frozenset({"statement", "execute", "execute fetch from"})


def _paired_plans(messages, verbs, durs, plans: list[int], prev: dict[int, int],
                  nxt: dict[int, int], took: dict[int, int]) -> int:
    """How many auto_explain plans of a batch :func:`pg_events._attach_plans` attaches to their
    statement (those rows are not records of their own): the same rule, on the batch's columns.
    ``prev`` / ``nxt``: a plan's row -> the statement, execute or plan row before / after it in
    its session; ``took``: a log_statement row (no duration: logged when its statement starts,
    so a plan after one may be its own, one before it never is) -> its duration line's row
    (:func:`~toolkit.queries.pg_events.pair_statements`)."""
    taken: set[int] = set()
    paired = 0
    for i in plans:
        plan = messages[i][1:] if messages[i].startswith("\n") else messages[i]
        qtext = query_text(plan)
        if qtext is None:
            continue
        dml = is_dml(plan)
        dur_i = float(durs[i]) if durs[i] else math.nan
        before = (prev.get(i, -1), True)
        after = (nxt.get(i, -1), False)
        for j, is_before in ((after, before) if dml else (before, after)):
            if j < 0 or j in taken or messages[j] != qtext:
                continue
            if is_before:  # an execute (a SELECT's plan follows it), or a log_statement line
                fits = verbs[j] in _EXECUTES or (verbs[j] == "statement" and not durs[j])
            else:          # a statement or execute logged when it ended
                fits = verbs[j] in _CALLS and bool(durs[j])
            if not fits:
                continue
            dur_j = float(durs[j]) if durs[j] else float(durs[took[j]]) if j in took else math.nan
            if not dur_j < dur_i - 0.01:
                taken.add(j)
                paired += 1
                break
    return paired


def supports(by: Any) -> bool:
    """Whether :func:`digest_stderr` can group by ``by`` (the prefix's fields only)."""
    return all(isinstance(c, str) and c in LEAN_BY for c in by_list(by))


def digest_stderr(source: Any, *, start: int | None = None, end: int | None = None, by: Any = None,
                  chunk_size: int | None = None, errors: str = "skip",
                  log_line_prefix: str | None = None, log_timezone: str | None = None,
                  first_line: int | None = None, **fingerprint_options: Any) -> tuple[DigestAccumulator, dict]:
    """``(DigestAccumulator, accounting)`` of a stderr log (a path or anything
    :func:`toolkit.sources.open_source` takes), or of the records starting in bytes
    ``[start, end)`` of a plain file (see :func:`toolkit.queries.postgres.split_postgres_stderr`;
    ``first_line`` numbers the range's first line). ``accounting`` is the reader's
    ``attrs["source"]``: lines read, skipped (with reasons), ``records`` (query events),
    ``record_lines`` and ``lines_in_other_table``.
    """
    from ..sources import CHUNK_BYTES, open_source

    chunk_size = chunk_size or CHUNK_BYTES
    if start is not None:
        src, parser, buffers = range_buffers(source, start, end, chunk_size=chunk_size, errors=errors,
                                             log_line_prefix=log_line_prefix,
                                             log_timezone=log_timezone, first_line=first_line)
    else:
        src = open_source(source, errors=errors)
        src.accounting.format = "postgres-stderr"
        src, log_line_prefix = unwrap(src, log_line_prefix, log_timezone)
        if not src.head(1):  # an empty log: no prefix to find (as the reader does)
            for _ in src.iter_chunks():
                pass
            info = src.accounting.as_dict()
            info.update(record_lines=0, lines_in_other_table={"server_events": 0})
            return DigestAccumulator(by, **fingerprint_options), info
        parser = StderrParser(stderr_prefix(src, log_line_prefix), src.name, log_timezone)
        buffers = stderr_buffers(src, parser, chunk_size)
    engine = StderrDigest(parser, src.accounting, by, **fingerprint_options)
    for first, text in buffers:
        with gc_paused():
            engine.feed(text, first)
    return engine.result(), engine.summary()


# digest_file's way with stderr logs (registered with the postgres-stderr format)
STDERR_DIGEST = StreamingDigest(digest_stderr, supports)
