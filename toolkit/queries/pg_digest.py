"""The digest of a PostgreSQL stderr log read straight from its text, for big logs.

:func:`toolkit.queries.digest.digest_file` on a stderr log comes here: the same table as
``tk.digest(tk.read_queries(path))`` (see :mod:`toolkit.queries.digest` for its columns and rules),
without a ``query_events`` DataFrame in between. Each buffer of whole records goes through
:meth:`~toolkit.queries.postgres._StderrParser.scan_queries` (one regular expression, one pass)
and its query rows go one by one into per-fingerprint state: parse/bind durations folded into
their execute, calls, total, maximum and example, every duration (for exact percentiles), and the
earliest and latest time stamp kept as text per time zone (``%m``/``%t`` text sorts in time
order), converted to UTC once per fingerprint at the end. That is about three times less work
per record than building the DataFrame; the figures are in benchmarks/RESULTS.md.

A buffer the scan does not take (a line to skip, a ``log_statement`` line waiting for its
duration, a time zone without a fixed offset) is read by the DataFrame reader instead and its
rows join the same state, so the result and the line accounting never depend on which way a
buffer went. Tests hold the two ways equal on every sample log and edge-case fixture.

    >>> from toolkit.queries.digest import digest_file
    >>> digest_file("postgresql.log", workers=2).head()   # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .digest import DigestAccumulator, _Group
from .pg_events import _PLAN_NODE, _is_dml, _query_text
from .pg_time import _offset_minutes, to_utc

# Columns a group may be keyed by here: the prefix's fields.
LEAN_BY = ("user", "database", "application", "client", "session")
_PB = ("parse", "bind")
_KIND = {"statement": "statement", "parse": "parse", "bind": "bind", "execute": "execute",
         "execute fetch from": "execute", "": "duration"}


class _Lean:
    """One group's state: calls, timed calls, total, max and its example, durations, and per
    time zone the earliest and latest time stamp text."""

    __slots__ = ("calls", "timed", "total", "max", "example", "durations", "stamps")

    def __init__(self) -> None:
        self.calls = 0
        self.timed = 0
        self.total = 0.0
        self.max = -math.inf
        self.example: tuple | None = None  # (statement, parameters, line)
        self.durations: list[float] = []
        self.stamps: dict[str, list[str]] = {}


def _blank(v):
    """The DataFrame readers' nulls: '' and '[unknown]' are None."""
    return None if v == "" or v == "[unknown]" else v


class StderrDigest:
    """Digest state fed buffer by buffer (:meth:`feed`), then :meth:`result` (the
    :class:`DigestAccumulator` the rest of :mod:`toolkit.queries.digest` merges and renders).

    ``parser`` is the log's ``_StderrParser``; ``by``: a subset of :data:`LEAN_BY`; ``accounting``
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
        self.groups: dict[Any, _Lean] = {}
        self.pending: dict[Any, list[tuple]] = {}  # session -> parse/bind rows waiting for their execute
        self.counts = {"query_events": 0, "server_events": 0}
        self.records = 0
        self.lean_buffers = self.frame_buffers = 0

    # -- input ------------------------------------------------------------------------------
    def feed(self, text: str, first_line: int) -> None:
        """Digest one buffer of whole records starting at input line ``first_line``."""
        scan = self.parser.scan_queries(text, first_line)
        if scan is not None and self._takes(scan):
            self._consume_scan(scan)
            self.lean_buffers += 1
        else:
            self._consume(self._frame_rows(text, first_line))
            self.frame_buffers += 1

    def _takes(self, scan) -> bool:
        """Whether the scan's rows can go straight in: not when a log_statement line waits for
        its duration (pg_events._pair_log_statement pairs them: the DataFrame reader does), nor
        without a %m/%t time stamp or with a zone that has no fixed offset (DST: the reader
        converts every stamp with log_timezone)."""
        gi = scan.gi
        if scan.waiting or "ts" not in gi:
            return False
        i_tz = gi.get("tz")
        if i_tz is None:
            return not self.parser.log_timezone
        zones = {row[i_tz] for row in scan.rows}
        return all(_offset_minutes(z, self.parser.name) is not None for z in zones if z)

    def _consume_scan(self, scan) -> None:
        """:meth:`_consume` and :meth:`_add` for the scan's rows, in one loop without a tuple per
        row (the hot path: a few microseconds a row). The tests hold it equal to those two."""
        gi, mark, rows = scan.gi, scan.mark, scan.rows
        i_dur, i_verb, i_msg, i_ts = gi["dur"], gi["verb"], gi["message"], gi["ts"]
        i_tz, i_pid, i_session = gi.get("tz"), gi.get("pid"), gi.get("session")
        by_idx = [gi.get(c) for c in self.by]
        starts, params = scan.starts, scan.params
        cache, fper, pending, groups, kinds = self.fper.cache, self.fper, self.pending, self.groups, _KIND
        # plans pair with the statement/execute row before or after them in their session:
        # those rows of the sessions that have a plan, in order
        chains: dict[Any, list[int]] | None = None
        if scan.plans:
            chains = {_session(rows[i], i_session, i_pid): [] for i in scan.plans}
        for k, row in enumerate(rows):
            verb = row[i_verb]
            # session: %c where the line has it, else %p; '' and '[unknown]' are nulls
            sess = (row[i_session] if i_session is not None else "") or (row[i_pid] if i_pid is not None else "")
            if sess == "" or sess == "[unknown]":
                sess = None
            if chains is not None and sess in chains and verb in _PAIRS:
                chains[sess].append(k)
            if verb == "plan":
                continue
            msg = row[i_msg] if verb else None
            fp = None
            if msg is not None:
                if mark and mark in msg:
                    msg = msg.replace(mark, "\n")
                fp = cache.get(msg)
                if fp is None:
                    fp = fper(msg)
            by = ()
            if by_idx:
                by = tuple(sess if c == "session" else None if i is None else _blank(row[i])
                           for c, i in zip(self.by, by_idx, strict=True))
            d = float(row[i_dur])
            line = starts[k]
            if verb == "parse" or verb == "bind":
                p = params.get(k)
                item = ((line, kinds[verb], sess, msg, d, row[i_ts], row[i_tz] if i_tz is not None else "",
                         p.replace(mark, "\n") if p and mark and mark in p else p, by), fp)
                waiting = pending.get(sess)
                if waiting is None:
                    pending[sess] = [item]
                else:
                    waiting.append(item)
                continue
            waiting = pending.pop(sess, None)
            if waiting:
                for prow, pfp in waiting:
                    if pfp == fp:
                        d += prow[4]
                    else:
                        self._add(prow, pfp, prow[4])
            key = (*by, fp)
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Lean()
            g.calls += 1
            g.timed += 1
            g.total += d
            g.durations.append(d)
            if d > g.max or (d == g.max and line < g.example[2]):
                g.max = d
                p = params.get(k)
                g.example = (msg, p.replace(mark, "\n") if p and mark and mark in p else p, line)
            ts = row[i_ts]
            tz = row[i_tz] if i_tz is not None else ""
            seen = g.stamps.get(tz)
            if seen is None:
                g.stamps[tz] = [ts, ts]
            elif ts < seen[0]:
                seen[0] = ts
            elif ts > seen[1]:
                seen[1] = ts
        self.records += len(rows)
        if chains:
            self.records -= _paired_plans(rows, scan.plans, chains, gi, mark)
        self.counts["query_events"] += sum(scan.nls)
        self.counts["server_events"] += scan.server_lines

    def _frame_rows(self, text: str, first_line: int) -> list[tuple]:
        """The buffer's call rows from the DataFrame reader (which accounts for skipped lines),
        as :meth:`_consume` takes them: ``(line, kind, session, statement, duration, time stamp
        text, zone, parameters, by values)``; time stamps are UTC here."""
        from .postgres import _split_checked

        parser = self.parser
        q, _s, c = _split_checked(parser.parse(text, first_line, self.accounting, lean=True),
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
        add = self._add
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
                for prow, pfp in waiting:
                    if pfp == fp:
                        if prow[4] == prow[4]:  # a timed parse/bind: its time is the call's
                            d = prow[4] if d != d else d + prow[4]
                    else:
                        add(prow, pfp, prow[4])
            add(row, fp, d)

    def _add(self, row: tuple, fp: Any, d: float) -> None:
        key = (*row[8], fp)
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = _Lean()
        g.calls += 1
        line = row[0]
        if d == d:
            g.timed += 1
            g.total += d
            g.durations.append(d)
            # the slowest call is the example; the first in the file on ties
            if d > g.max or (d == g.max and line < g.example[2]) or g.example is None:
                g.max = d
                g.example = (row[3], row[7], line)
        elif g.example is None:
            g.example = (row[3], row[7], line)
        ts = row[5]
        if ts is not None:
            seen = g.stamps.get(row[6])
            if seen is None:
                g.stamps[row[6]] = [ts, ts]
            elif ts < seen[0]:
                seen[0] = ts
            elif ts > seen[1]:
                seen[1] = ts

    # -- output -----------------------------------------------------------------------------
    def result(self) -> DigestAccumulator:
        """The state as a :class:`DigestAccumulator` (groups only): parse/bind rows still waiting
        are calls of their own, as at the end of DigestAccumulator.result()."""
        for waiting in self.pending.values():
            for prow, pfp in waiting:
                self._add(prow, pfp, prow[4])
        self.pending = {}
        parser = self.parser
        for key, lean in self.groups.items():
            g = self.dacc.groups.get(key)
            if g is None:
                g = self.dacc.groups[key] = _Group()
            fresh = g.calls == 0
            g.calls += lean.calls
            g.timed += lean.timed
            g.total += lean.total
            if lean.example is not None and (fresh or lean.max > g.max):
                g.max, g.example = lean.max, lean.example
            if lean.durations:
                g.durations.append(np.array(lean.durations, dtype=np.float64))
            if lean.stamps:
                ts = [t for pair in lean.stamps.values() for t in pair]
                tz = [z for z, pair in lean.stamps.items() for _ in pair]
                utc = to_utc(ts, tz if any(tz) else None, name=parser.name,
                             log_timezone=parser.log_timezone)
                utc = utc[~utc.isna()]
                if len(utc):
                    lo, hi = utc.min(), utc.max()
                    g.first = lo if g.first is None or lo < g.first else g.first
                    g.last = hi if g.last is None or hi > g.last else g.last
        self.groups = {}
        return self.dacc


def _plan_facts(msg: str, mark: str | None) -> tuple[str | None, bool]:
    """``(Query Text, modifies a table)`` of an auto_explain plan message as scanned (line
    breaks as ``mark``): pg_events._query_text and _is_dml, without first turning a plan of many
    lines back into text (text plans: split at the marks; JSON plans: as those functions do)."""
    if not mark or mark not in msg:
        plan = msg[1:] if msg.startswith("\n") else msg
        return _query_text(plan), _is_dml(plan)
    body = msg.lstrip(mark)
    if body.lstrip().startswith("{"):
        plan = msg.replace(mark, "\n")
        plan = plan[1:] if plan.startswith("\n") else plan
        return _query_text(plan), _is_dml(plan)
    lines = body.split(mark)
    dml = any(line.startswith(_DML_STARTS) for line in lines)
    if not body.startswith("Query Text: "):
        return None, dml
    out = [lines[0][len("Query Text: "):]]
    for line in lines[1:]:
        if _PLAN_NODE.match(line):
            break
        out.append(line)
    return "\n".join(out), dml


_DML_STARTS = ("Insert on ", "Update on ", "Delete on ", "Merge on ")


_PAIRS = ("statement", "execute", "execute fetch from", "plan")


def _session(row: tuple, i_session: int | None, i_pid: int | None):
    s = (row[i_session] if i_session is not None else "") or (row[i_pid] if i_pid is not None else "")
    return None if s == "" or s == "[unknown]" else s


def _paired_plans(rows: list[tuple], plans: list[int], chains: dict[Any, list[int]], gi: dict,
                  mark: str | None) -> int:
    """How many auto_explain plans of a buffer :func:`pg_events._attach_plans` attaches to their
    statement (those rows are not records of their own): the same rule, on the scan's rows.
    ``chains``: per session with a plan, its statement, execute and plan rows in order."""
    i_verb, i_msg, i_dur = gi["verb"], gi["message"], gi["dur"]

    def text(k):
        m = rows[k][i_msg]
        return m.replace(mark, "\n") if mark and mark in m else m

    prev: dict[int, int] = {}
    nxt: dict[int, int] = {}
    for chain in chains.values():
        for j, k in zip(chain, chain[1:], strict=False):
            prev[k], nxt[j] = j, k
    taken: set[int] = set()
    paired = 0
    for i in plans:
        qtext, dml = _plan_facts(rows[i][i_msg], mark)
        if qtext is None:
            continue
        dur_i = float(rows[i][i_dur]) if rows[i][i_dur] else math.nan
        before = (prev.get(i, -1), ("execute", "execute fetch from"))
        after = (nxt.get(i, -1), ("statement", "execute", "execute fetch from"))
        for j, want in ((after, before) if dml else (before, after)):
            if j < 0 or rows[j][i_verb] not in want or j in taken or text(j) != qtext:
                continue
            dur_j = float(rows[j][i_dur]) if rows[j][i_dur] else math.nan
            if not dur_j < dur_i - 0.01:
                taken.add(j)
                paired += 1
                break
    return paired


def supports(by: Any) -> bool:
    """Whether :func:`digest_stderr` can group by ``by`` (the prefix's fields only)."""
    from .digest import _by_list

    return all(isinstance(c, str) and c in LEAN_BY for c in _by_list(by))


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
    from .postgres import _gc_paused, _stderr_buffers, _stderr_prefix, _StderrParser, range_buffers

    chunk_size = chunk_size or CHUNK_BYTES
    if start is not None:
        src, parser, buffers = range_buffers(source, start, end, chunk_size=chunk_size, errors=errors,
                                             log_line_prefix=log_line_prefix,
                                             log_timezone=log_timezone, first_line=first_line)
    else:
        src = open_source(source, errors=errors)
        src.accounting.format = "postgres-stderr"
        if not src.head(1):  # an empty log: no prefix to find (as the reader does)
            for _ in src.iter_chunks():
                pass
            return DigestAccumulator(by, **fingerprint_options), src.accounting.as_dict()
        parser = _StderrParser(_stderr_prefix(src, log_line_prefix), src.name, log_timezone)
        buffers = _stderr_buffers(src, parser, chunk_size)
    engine = StderrDigest(parser, src.accounting, by, **fingerprint_options)
    for first, text in buffers:
        with _gc_paused():
            engine.feed(text, first)
    dacc = engine.result()
    acc = src.accounting
    acc.records = engine.records
    info = acc.as_dict()
    info["record_lines"] = engine.counts["query_events"]
    info["lines_in_other_table"] = {"server_events": engine.counts["server_events"]}
    return dacc, info
