"""The digest of a MySQL / MariaDB / Percona slow log read straight from its text, for big logs.

:func:`toolkit.queries.digest.digest_file` on a slow log comes here: the same table as
``tk.digest(tk.read_queries(path))`` (see :mod:`toolkit.queries.digest`), without a
``query_events`` DataFrame in between. The records come from the same regular expression as the
reader's (:func:`toolkit.queries.mysql_slow.find_items`, one ``findall`` per piece of text, restart
banners cut out by the reader's own code) and go one by one into per-fingerprint state: calls,
total, maximum and its example, rows sent and examined, lock time, every duration (for exact
percentiles), and the earliest and latest time stamp as integer nanoseconds. Each header line,
``User@Host`` value and ``# Time:`` text is parsed once (a log repeats few of them). The lines
the reader would skip are skipped here with the same reasons; tests hold the two ways equal on
the sample logs and the edge-case fixtures.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .. import schema
from . import mysql_slow
from .digest import DigestAccumulator, DigestGroup, StreamingDigest, by_list
from .mysql_slow import ADMIN, FIGURES, KV, USERHOST, figure, parse_time, statement_text, who

# Columns a group may be keyed by here (the reader's digest columns).
DIGEST_BY = ("database", "user", "session", "client")
_SUMS = ("rows_sent", "rows_examined", "lock_ms")
_ALL = (True, True, True)
PIECE_BYTES = 4 << 20


class _Lean(DigestGroup):
    """A group's state, with the sums of rows and lock time and the earliest and latest time
    stamp as nanoseconds while reading (into ``sums`` / ``first``, ``last`` at the end)."""

    __slots__ = ("where", "sent", "examined", "lock", "has", "first_ns", "last_ns")

    def __init__(self) -> None:
        super().__init__()
        self.where: int | None = None      # the example's position in the text being read
        self.sent = self.examined = self.lock = 0.0  # sums of the values logged (not NaN)
        self.has = [False, False, False]             # ... and whether there was one
        self.first_ns: int | None = None  # nanoseconds since the epoch, UTC
        self.last_ns: int | None = None


def _line_at(text: str, counted: list[int], pos: int) -> int:
    """The line number at ``pos`` of ``text``, counting on from ``counted`` (a position and its
    line, moved to ``pos``); positions asked for come in increasing order."""
    if pos < counted[0]:  # behind the last count: count from the start of the text
        counted[0], counted[1] = 0, counted[1] - text.count("\n", 0, counted[0])
    counted[1] += text.count("\n", counted[0], pos)
    counted[0] = pos
    return counted[1]


_FIGURE_KEYS = tuple(key for key, _, _ in FIGURES)


_INT_MAX = schema.INT_MAX


def _figures(qt: str, lt: str, rs: str, rx: str) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """The four figures as the reader converts them (``mysql.figure``, :mod:`toolkit.schema`):
    ``((ms, lock ms, rows sent, rows examined), None)`` or ``(None, the first reason)``.
    (:meth:`SlowDigest.segment` takes the plain case itself, without this call.)"""
    values = []
    for key, text in zip(_FIGURE_KEYS, (qt, lt, rs, rx), strict=True):
        v, why = figure(key, text)
        if why is not None:
            return None, why
        values.append(math.nan if v is None else v)
    return tuple(values), None  # type: ignore[return-value]


def supports(by: Any) -> bool:
    """Whether :class:`SlowDigest` can group by ``by``."""
    return all(isinstance(c, str) and c in DIGEST_BY for c in by_list(by))


class SlowDigest:
    """Digest state that :func:`toolkit.queries.mysql_slow.batches_from` feeds segment by segment
    (text between restart banners) in place of a batch of columns; :meth:`result` gives the
    :class:`DigestAccumulator` the rest of :mod:`toolkit.queries.digest` merges and renders."""

    direct = True

    def __init__(self, by: Any = None, **fingerprint_options: Any):
        self.dacc = DigestAccumulator(by, **fingerprint_options)
        self.by = self.dacc.by
        if not supports(self.by):
            raise ValueError(f"SlowDigest groups by {DIGEST_BY} only, not {self.by}")
        self.fper = self.dacc.fper
        self.groups: dict[tuple, _Lean] = {}
        self.records = 0
        self.banners: list[dict[str, Any]] = []
        self._kv: dict[str, dict[str, str]] = {}
        self._userhost: dict[str, tuple] = {}
        self._time: dict[str, tuple[int | None, str | None]] = {}   # '# Time:' text -> (ns, reason)
        self._epoch: dict[str, tuple[int | None, str | None]] = {}  # SET timestamp -> (ns, reason)

    def count(self) -> int:
        """Records so far (where a banner falls among them)."""
        return self.records

    # -- one segment ------------------------------------------------------------------------
    def segment(self, text: str, first_line: int, acct, state) -> int:
        """The records of ``text`` (no banner inside) from input line ``first_line``; returns
        the line after them. Mirrors mysql._parse_segment_lean + _lean_frame + the digest, in
        one loop with the record's fields in local names (a few microseconds a record)."""
        items = mysql_slow.find_items(text)
        # Positions, not lines, while reading: a record's lines are counted only where a line
        # number is needed (an example, a skipped line), from the last place counted.
        pos = 0
        counted = [0, first_line]  # a position and its line
        junk: list[str] = []
        junk_pos = 0
        cache, fper, groups, by = self.fper.cache, self.fper, self.groups, self.by
        kv_cache, uh_cache, time_cache, epoch_cache = self._kv, self._userhost, self._time, self._epoch
        cur_time, cur_db = state.time, state.database
        records = 0
        touched: list[_Lean] = []  # groups whose example is a position of this text
        # float() and int() also take NaN, Infinity, '1_000' and other digits: whether any
        # figure of the segment is other than ASCII without '_' is one look at them all; the
        # finite and range checks are per record (cheap); any other case goes to _figures
        figure_text = "".join([i[4] + i[5] + i[6] + i[7] for i in items])
        plain = figure_text.isascii() and "_" not in figure_text
        for whole, time_s, userhost, pre, qt, lt, rs, rx, _tail, _post, use, ts, stmt, junk_text in items:
            if junk_text:  # a line no record claims: skipped with the run it belongs to
                if not junk:
                    junk_pos = pos
                junk.append(junk_text)
                pos += len(junk_text)
                continue
            if junk:
                self._skip_junk(acct, _line_at(text, counted, junk_pos), junk)
                junk = []
            start = pos
            pos += len(whole)
            # '# Time:' and 'use db;' carry forward to the records after them
            if time_s:
                cur_time = time_s
            if use:
                cur_db = use.strip("`")
            st = stmt[:-2] if stmt[-2:] == ";\n" else statement_text(stmt)  # (the common case inline)
            c0 = st[:1]
            if c0 == "" or c0 == "#" or c0.isspace():
                if c0 == "#" and st.startswith(ADMIN):
                    st = st[2:]
                elif not st.strip():
                    if use and not ts:
                        st = f"use {use}"
                    else:
                        nl = whole.count("\n") + (whole[-1] != "\n")
                        acct.skip(_line_at(text, counted, start), "truncated record (no statement)",
                                  "# User@Host: " + userhost, count=nl)
                        continue
            # the figures and the time stamp as the reader converts them; a bad one skips the
            # record with the reason the reader gives (the figures' first, then the time's)
            why = None
            try:
                d, lock, sent, examined = float(qt), float(lt), int(rs), int(rx)
                fast = (plain and d - d == 0 == lock - lock and d >= 0 and lock >= 0 and 0 <= sent <= _INT_MAX
                        and 0 <= examined <= _INT_MAX)
            except ValueError:
                fast = False
            if fast:
                d *= 1000.0
                lock *= 1000.0
            else:
                figures, why = _figures(qt, lt, rs, rx)
                if figures is not None:
                    d, lock, sent, examined = figures
            # the time stamp: SET timestamp (whole seconds), or the '# Time:' that holds for the
            # record where it is ISO (microseconds) or SET timestamp is missing
            if cur_time is not None and (not ts or "T" in cur_time):
                got = time_cache.get(cur_time)
                if got is None:
                    parsed, reason = parse_time(cur_time)
                    got = time_cache[cur_time] = (None if parsed is None else parsed.value, reason)
            elif ts:
                got = epoch_cache.get(ts)
                if got is None:
                    parsed, reason = schema.epoch_value(ts, "timestamp", decimals=0)
                    got = epoch_cache[ts] = (None if parsed is None else parsed.value, reason)
            else:
                got = (None, None)
            ns = got[0]
            why = why or got[1]
            if why is not None:
                nl = whole.count("\n") + (whole[-1] != "\n")
                acct.skip(_line_at(text, counted, start), why, "# User@Host: " + userhost, count=nl)
                continue
            fp = cache.get(st)
            if fp is None:
                fp = fper(st)
            if by:
                kv = kv_cache.get(pre)
                if kv is None:
                    kv = kv_cache[pre] = dict(KV.findall(pre))
                uh = uh_cache.get(userhost)
                if uh is None:
                    uh = uh_cache[userhost] = _parse_userhost(userhost)
                user, client, session = who(uh, kv)
                values = {"database": kv.get("Schema") or cur_db, "user": user, "client": client,
                          "session": session}
                key = (*(values[c] for c in by), fp)
            else:
                key = (fp,)
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Lean()
            # the example's line (its '# User@Host:' line) is counted once the piece is read:
            # its line None until then (records come in file order: a tie keeps the held one)
            if g.add(d, (st, None, None)):
                if g.where is None:
                    touched.append(g)
                g.where = start + (len(time_s) + 9 if time_s else 0)
            if sent == sent and examined == examined and lock == lock:
                g.sent += sent
                g.examined += examined
                g.lock += lock
                g.has = _ALL
            else:
                self._add_sums(g, sent, examined, lock)
            if ns is not None:
                if g.first_ns is None or ns < g.first_ns:
                    g.first_ns = ns
                if g.last_ns is None or ns > g.last_ns:
                    g.last_ns = ns
            records += 1
        if junk:
            self._skip_junk(acct, _line_at(text, counted, junk_pos), junk)
        # the examples' lines, in the order of their positions
        for g in sorted(touched, key=lambda g: g.where):
            g.example = (g.example[0], None, _line_at(text, counted, g.where))
            g.where = None
        state.time, state.database = cur_time, cur_db
        self.records += records
        acct.records += records
        return first_line + text.count("\n") + (1 if text and text[-1] != "\n" else 0)

    @staticmethod
    def _add_sums(g: _Lean, sent: float, examined: float, lock: float) -> None:
        has = list(g.has)
        for k, (name, v) in enumerate((("sent", sent), ("examined", examined), ("lock", lock))):
            if v == v:
                setattr(g, name, getattr(g, name) + v)
                has[k] = True
        g.has = has

    @staticmethod
    def _skip_junk(acct, line: int, run: list[str]) -> None:
        text = "".join(run)
        reason = ("truncated record (no '# Query_time:' header)" if "# User@Host: " in text
                  else "not part of a slow log record")
        acct.skip(line, reason, text, count=len(run))

    # -- output -----------------------------------------------------------------------------
    def result(self) -> DigestAccumulator:
        """The state as a :class:`DigestAccumulator` (groups only)."""
        dacc = self.dacc
        for key, lean in self.groups.items():
            for c, v, has in zip(_SUMS, (lean.sent, lean.examined, lean.lock), lean.has, strict=True):
                if has:
                    lean.sums[c] = lean.sums.get(c, 0.0) + v
                    dacc.sum_columns.add(c)
            if lean.first_ns is not None:
                lean.seen(pd.Timestamp(lean.first_ns, tz="UTC"), pd.Timestamp(lean.last_ns, tz="UTC"))
            dacc.group(key).merge(lean)
        self.groups = {}
        return dacc


def _parse_userhost(value: str) -> tuple[Any, Any, Any]:
    """``(user, client, MySQL's Id)`` of a ``User@Host`` value (as mysql._userhost_columns)."""
    m = USERHOST.match(value)
    if not m:
        return None, None, None
    return (m.group("user") or m.group("priv").strip() or None,
            (m.group("ip") or m.group("host") or "").strip() or None, m.group("id"))


def digest_mysql_slow(source: Any, *, start: int | None = None, end: int | None = None, by: Any = None,
                      chunk_size: int | None = None, errors: str = "skip", first_line: int | None = None,
                      **fingerprint_options: Any) -> tuple[DigestAccumulator, dict]:
    """``(DigestAccumulator, accounting)`` of a slow log (a path or anything
    :func:`toolkit.sources.open_source` takes), or of the records starting in bytes
    ``[start, end)`` of a plain file (see :func:`toolkit.queries.mysql.split_mysql_slow`;
    ``first_line`` numbers the range's first line). ``accounting`` is the reader's
    ``attrs["source"]``.
    """
    from ..sources import Accounting, check_errors_mode, open_source
    # Records never straddle pieces here (a cut record moves whole to the next piece), so the
    # piece size changes no result: 4 MiB pieces keep the regex's tuples few enough at a time that
    # their memory is reused rather than mapped anew for every piece (a tenth less time).
    chunk_size = chunk_size or PIECE_BYTES
    engine = SlowDigest(by, **fingerprint_options)
    if start is not None:
        import os

        acct = Accounting(path=os.fspath(source), format=mysql_slow.FORMAT, errors=check_errors_mode(errors))
        pieces = mysql_slow.range_pieces(source, start, end, acct, chunk_size, first_line)
        for _ in mysql_slow.batches_from(pieces, acct, sink=engine, state=mysql_slow.state_before(source, start)):
            pass
        return engine.result(), acct.as_dict()
    src = open_source(source, errors=errors)
    for _ in mysql_slow.batches_from(src.iter_chunks(chunk_size), src.accounting, sink=engine):
        pass
    mysql_slow.check_found_something(src, engine.records)
    src.accounting.format = mysql_slow.FORMAT
    return engine.result(), src.accounting.as_dict()


# digest_file's way with slow logs (registered with the mysql-slow format)
SLOW_DIGEST = StreamingDigest(digest_mysql_slow, supports)
