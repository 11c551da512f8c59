"""The digest of a MySQL / MariaDB / Percona slow log read straight from its text, for big logs.

:func:`toolkit.queries.digest.digest_file` on a slow log comes here: the same table as
``tk.digest(tk.read_queries(path))`` (see :mod:`toolkit.queries.digest`), without a
``query_events`` DataFrame in between. The records come from the reader's scanner
(:func:`toolkit.queries.mysql_slow.scan_segment`: record batches, restart banners cut out by the
reader's own code) and go one by one into per-fingerprint state: calls,
total, maximum and its example, rows sent and examined, lock time, the durations as distinct
values with counts (exact percentiles), and the earliest and latest time stamp as integer nanoseconds. Each header line,
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
from .mysql_slow import FIGURES, USERHOST, figure, parse_time, who
from .records import RecordBatch

# Columns a group may be keyed by here (the reader's digest columns).
DIGEST_BY = ("database", "user", "session", "client")
_SUMS = ("rows_sent", "rows_examined", "lock_ms")
_ALL = (True, True, True)
PIECE_BYTES = 4 << 20


class _Lean(DigestGroup):
    """A group's state, with the sums of rows and lock time and the earliest and latest time
    stamp as nanoseconds while reading (into ``sums`` / ``first``, ``last`` at the end)."""

    __slots__ = ("sent", "examined", "lock", "has", "first_ns", "last_ns")

    def __init__(self) -> None:
        super().__init__()
        self.sent = self.examined = self.lock = 0.0  # sums of the values logged (not NaN)
        self.has = [False, False, False]             # ... and whether there was one
        self.first_ns: int | None = None  # nanoseconds since the epoch, UTC
        self.last_ns: int | None = None


_FIGURE_KEYS = tuple(key for key, _, _ in FIGURES)


_INT_MAX = schema.INT_MAX


def _figures(qt: str, lt: str, rs: str, rx: str) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """The four figures as the reader converts them (``mysql.figure``, :mod:`toolkit.schema`):
    ``((ms, lock ms, rows sent, rows examined), None)`` or ``(None, the first reason)``.
    (:meth:`SlowDigest.take` takes the plain case itself, without this call.)"""
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
    """Digest state that :func:`toolkit.queries.mysql_slow.batches_from` feeds the scanner's
    record batches (:meth:`take`) in place of a reader's batch of columns; :meth:`result` gives the
    :class:`DigestAccumulator` the rest of :mod:`toolkit.queries.digest` merges and renders."""

    lean = True  # the scanner leaves out what a digest does not use (extra headers, plans)

    def __init__(self, by: Any = None, **fingerprint_options: Any):
        self.dacc = DigestAccumulator(by, **fingerprint_options)
        self.by = self.dacc.by
        if not supports(self.by):
            raise ValueError(f"SlowDigest groups by {DIGEST_BY} only, not {self.by}")
        self.fper = self.dacc.fper
        self.groups: dict[tuple, _Lean] = {}
        self.records = 0
        self.banners: list[dict[str, Any]] = []
        self._userhost: dict[str, tuple] = {}
        self._time: dict[str, tuple[int | None, str | None]] = {}   # '# Time:' text -> (ns, reason)
        self._epoch: dict[str, tuple[int | None, str | None]] = {}  # SET timestamp -> (ns, reason)

    def count(self) -> int:
        """Records so far (where a banner falls among them)."""
        return self.records

    # -- one batch --------------------------------------------------------------------------
    def take(self, records: RecordBatch, acct) -> None:
        """Digest a batch the scanner made (:func:`toolkit.queries.mysql_slow.scan_segment`,
        ``full=False``): its skipped lines go to ``acct`` as the reader puts them there, then each
        record's figures and time stamp are checked as the reader converts them (a bad one skips
        the record with the reader's reason) and the record joins its group, in one loop with
        the record's fields in local names (a few microseconds a record)."""
        c = records.columns
        userhosts = c.get("userhost", ())
        records.account(acct, ["# User@Host: " + u for u in userhosts] if records.reasons else None)
        if not records.records:
            return
        cache, fper, groups, by = self.fper.cache, self.fper, self.groups, self.by
        # the batch's new statements fingerprinted together (one regex pass per rule)
        fper.many([st for st in c["statement"] if st not in cache])
        uh_cache, time_cache, epoch_cache = self._userhost, self._time, self._epoch
        skipped = records.reasons
        qts, lts, rss, rxs = (c[n] for n in mysql_slow.FIGURE_COLUMNS)
        # float() and int() also take NaN, Infinity, '1_000' and other digits: whether any
        # figure of the batch is other than ASCII without '_' is one look at them all; the
        # finite and range checks are per record (cheap); any other case goes to _figures
        figure_text = "".join([*qts, *lts, *rss, *rxs])
        plain = figure_text.isascii() and "_" not in figure_text
        kept = 0
        rows = zip(qts, lts, rss, rxs, c["time"], c["ts"], c["statement"], c["headers"], userhosts,
                   c["database"], c["source_line"], strict=True)
        for k, (qt, lt, rs, rx, cur_time, ts, st, kv, userhost, db, line) in enumerate(rows):
            if skipped and k in skipped:
                continue
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
                acct.skip(int(records.first_line[k]), why, "# User@Host: " + userhost,
                          count=int(records.nlines[k]))
                acct.records -= 1
                continue
            fp = cache.get(st)
            if fp is None:
                fp = fper(st)
            if by:
                uh = uh_cache.get(userhost)
                if uh is None:
                    uh = uh_cache[userhost] = _parse_userhost(userhost)
                user, client, session = who(uh, kv)
                values = {"database": db, "user": user, "client": client, "session": session}
                key = (*(values[c] for c in by), fp)
            else:
                key = (fp,)
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Lean()
            g.add(d, (st, None, line))
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
            kept += 1
        self.records += kept

    @staticmethod
    def _add_sums(g: _Lean, sent: float, examined: float, lock: float) -> None:
        has = list(g.has)
        for k, (name, v) in enumerate((("sent", sent), ("examined", examined), ("lock", lock))):
            if v == v:
                setattr(g, name, getattr(g, name) + v)
                has[k] = True
        g.has = has

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
