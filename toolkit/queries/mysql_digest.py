"""The digest of a MySQL / MariaDB / Percona slow log read straight from its text, for big logs.

:func:`toolkit.queries.digest.digest_file` on a slow log comes here: the same table as
``tk.digest(tk.read_queries(path))`` (see :mod:`toolkit.queries.digest`), without a
``query_events`` DataFrame in between. The records come from the reader's scanner
(:func:`toolkit.queries.mysql_slow.scan_segment`: record batches, restart banners cut out by the
reader's own code); a batch's figures and time stamps are converted and checked as arrays, and
its good records wait (:data:`FLUSH_AT`) until they join their per-fingerprint state, one
:meth:`~toolkit.queries.digest.DigestGroup.take` per group: calls, maximum and its
example, rows sent and examined, lock time, the durations as distinct values with counts (exact
percentiles), and the earliest and latest time stamp as integer nanoseconds. Each header line,
``User@Host`` value and ``# Time:`` text is parsed once (a log repeats few of them). The lines
the reader would skip are skipped here with the same reasons; tests hold the two ways equal on
the sample logs and the edge-case fixtures, to the bit (totals come from the counted durations,
lock time is summed in whole nanoseconds: neither depends on the order of adding).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from . import mysql_slow
from .digest import (
    NO_TIME,
    DigestAccumulator,
    DigestGroup,
    StreamingDigest,
    batch_sums,
    by_list,
    group_calls,
    group_span,
)
from .mysql_slow import FIGURES, figure, parse_time, parse_userhost, who
from .records import RecordBatch

# Columns a group may be keyed by here (the reader's digest columns).
DIGEST_BY = ("database", "user", "session", "client")
_SUMS = ("rows_sent", "rows_examined", "lock_ms")
PIECE_BYTES = mysql_slow.PIECE_BYTES


class _Lean(DigestGroup):
    """A group's state, with the earliest and latest time stamp as nanoseconds while reading
    (into ``first``, ``last`` at the end)."""

    __slots__ = ("first_ns", "last_ns")

    def __init__(self) -> None:
        super().__init__()
        self.first_ns: int | None = None  # nanoseconds since the epoch, UTC
        self.last_ns: int | None = None


_FIGURE_KEYS = tuple(key for key, _, _ in FIGURES)


# Records wait for :meth:`SlowDigest._flush` until this many: the per-group work is per flush
# (more: less time per record where groups are many; fewer: less memory held by waiting records).
FLUSH_AT = 16_384


def _no_waiting() -> dict[str, list]:
    """The empty lists :meth:`SlowDigest.take` fills: group keys, statements, lines, and arrays
    of durations, lock time, rows sent and examined, and time stamps (ns), one per batch."""
    return {"key": [], "statement": [], "line": [], "d": [], "lock": [], "sent": [], "examined": [], "ns": []}


def _figures(qt: str, lt: str, rs: str, rx: str) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """The four figures as the reader converts them (``mysql.figure``, :mod:`toolkit.schema`):
    ``((ms, lock ms, rows sent, rows examined), None)`` or ``(None, the first reason)``.
    (:func:`_figure_arrays` takes the plain case itself, without this call.)"""
    values = []
    for key, text in zip(_FIGURE_KEYS, (qt, lt, rs, rx), strict=True):
        v, why = figure(key, text)
        if why is not None:
            return None, why
        values.append(math.nan if v is None else v)
    return tuple(values), None  # type: ignore[return-value]


def _figure_arrays(figures: mysql_slow.Figures, qts: list[str], lts: list[str], rss: list[str], rxs: list[str]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Any] | None]:
    """The four figures of a batch's records as the reader converts them (:func:`_figures`):
    float64 arrays of ms, lock ms, rows sent and rows examined (NaN: not logged), and each
    record's reason (None: all good). The scanner read the plain numbers (:class:`Figures`: the
    same numbers ``float()`` and ``int()`` give, finite and not negative); a record with any
    other figure (NaN, Infinity, '1_000', other digits, a sign, ...) is one :func:`_figures`
    call on its text."""
    st = figures.status
    d, lock = figures.query_time * 1000.0, figures.lock_time * 1000.0
    sent, examined = figures.rows_sent.astype(np.float64), figures.rows_examined.astype(np.float64)
    if st.any():
        sent[(st & 0x40) != 0] = np.nan  # (absent)
        examined[(st & 0x80) != 0] = np.nan
    slow = np.flatnonzero(st & 0x0F).tolist()
    if not slow:
        return d, lock, sent, examined, None
    why: list[Any] = [None] * len(st)
    for k in slow:
        values, why[k] = _figures(qts[k], lts[k], rss[k], rxs[k])
        if values is not None:
            d[k], lock[k], sent[k], examined[k] = values
    return d, lock, sent, examined, (why if any(why) else None)


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
        self._epoch: dict[str, int] = {}      # SET timestamp -> ns (NO_TIME: bad)
        self._epoch_bad: dict[str, str] = {}  # ... and the reason of a bad one
        self.waiting = _no_waiting()  # good records not yet in their groups (_flush)
        self.n_waiting = 0
        self._same: dict[str, str] = {}  # the waiting statements, each text once

    def count(self) -> int:
        """Records so far (where a banner falls among them)."""
        return self.records

    # -- one batch --------------------------------------------------------------------------
    def take(self, records: RecordBatch, acct) -> None:
        """Digest a batch the scanner made (:func:`toolkit.queries.mysql_slow.scan_segment`,
        ``full=False``): its skipped lines go to ``acct`` as the reader puts them there, then the
        records' figures and time stamps are converted and checked as the reader converts them,
        the batch at once (a bad one skips the record with the reader's reason, here, in input
        order), and the good records wait in :attr:`waiting` until :meth:`_flush` adds them to
        their groups, many batches at once (a restart banner cuts a log into small batches)."""
        c = records.columns
        userhosts = c.get("userhost", ())
        example = ["# User@Host: " + u for u in userhosts] if records.reasons else None
        if not records.records:
            mysql_slow.account(records, acct, example, self.banners, self.records)
            return
        skipped = records.reasons
        figures = c["figures"]
        if skipped:  # the rows the scanner refused are out before anything is converted
            rows = [k for k in range(len(records)) if k not in skipped]
            cols = {name: [v[k] for k in rows] for name, v in c.items() if name not in mysql_slow.ARRAY_COLUMNS}
            figures = figures.take(np.array(rows, dtype=np.intp))
        else:
            rows, cols = None, c
        d, lock, sent, examined, why = _figure_arrays(figures, *(cols[n] for n in mysql_slow.FIGURE_COLUMNS))
        ns, why_time = self._times(cols["time"], cols["ts"])
        if why is None:
            why = why_time
        elif why_time is not None:
            why = [a or b for a, b in zip(why, why_time, strict=True)]
        stmts, lines = cols["statement"], cols["source_line"]
        # the skipped lines: the scanner's, then the records with a bad figure or time stamp (in
        # input order, segment by segment: mysql_slow.account)
        counts = records.ok()
        late = None
        if why is not None:
            late = [(k if rows is None else rows[k], w) for k, w in enumerate(why) if w is not None]
            counts = counts.copy()
            counts[[at for at, _ in late]] = False
            if example is None:
                example = ["# User@Host: " + u for u in userhosts]
        mysql_slow.account(records, acct, example, self.banners, self.records, late, counts)
        if why is not None:
            good = [k for k, w in enumerate(why) if w is None]
            if not good:
                return
            keep = np.array(good, dtype=np.intp)
            d, lock, sent, examined, ns = d[keep], lock[keep], sent[keep], examined[keep], ns[keep]
            cols = {name: [v[k] for k in good] for name, v in cols.items() if name not in mysql_slow.ARRAY_COLUMNS}
            stmts, lines = cols["statement"], cols["source_line"]
            rows = good if rows is None else [rows[k] for k in good]
        # the fingerprints: each distinct statement text of the batch once, taken for every row
        coded = c["statement_codes"]
        if rows is not None:
            coded = coded.take(np.array(rows, dtype=np.intp))
        distinct = np.empty(len(coded.values), dtype=object)
        distinct[:] = self.fper.many(coded.values)
        fps = distinct[coded.codes].tolist()
        if self.by:
            uh_cache = self._userhost
            for uh in set(cols["userhost"]) - uh_cache.keys():
                uh_cache[uh] = parse_userhost(uh)
            keys: list[Any] = []
            for fp, uh, kv, db in zip(fps, cols["userhost"], cols["headers"], cols["database"], strict=True):
                user, client, session = who(uh_cache[uh], kv)
                values = {"database": db, "user": user, "client": client, "session": session}
                keys.append((*(values[b] for b in self.by), fp))
        else:
            keys = fps
        w = self.waiting
        w["key"] += keys
        # (equal statements held as one str while they wait: a log repeats its statements)
        w["statement"] += map(self._same.setdefault, stmts, stmts)
        w["line"] += lines
        for name, arr in (("d", d), ("lock", lock), ("sent", sent), ("examined", examined), ("ns", ns)):
            w[name].append(arr)
        self.n_waiting += len(keys)
        self.records += len(keys)
        if self.n_waiting >= FLUSH_AT:
            self._flush()

    def _times(self, times: list[Any], tss: list[Any]) -> tuple[np.ndarray, list[Any] | None]:
        """Each record's time stamp as int64 nanoseconds (:data:`NO_TIME`: none) and its reason
        (None: every one good): SET timestamp (whole seconds), or the '# Time:' that holds for
        the record where it is ISO (microseconds) or SET timestamp is missing. Each text is
        parsed once (a log repeats them)."""
        epoch, bad, time = self._epoch, self._epoch_bad, self._time
        for ts in set(tss) - epoch.keys():  # (None: a record without SET timestamp)
            if ts:
                parsed, reason = schema.epoch_value(ts, "timestamp", decimals=0)
                epoch[ts] = NO_TIME if parsed is None else parsed.value
                if reason:
                    bad[ts] = reason
        if all(tss) and not any("T" in t for t in set(times) if t):  # (all(): no None, one C-level look)
            # the common case: every record has SET timestamp and no ISO '# Time:' holds
            ns = np.fromiter(map(epoch.__getitem__, tss), dtype=np.int64, count=len(tss))
            if bad and not bad.keys().isdisjoint(tss):
                return ns, list(map(bad.get, tss))
            return ns, None
        got = []
        for cur_time, ts in zip(times, tss, strict=True):
            if cur_time is not None and (not ts or "T" in cur_time):
                g = time.get(cur_time)
                if g is None:
                    parsed, reason = parse_time(cur_time)
                    g = time[cur_time] = (NO_TIME if parsed is None else parsed.value, reason)
            elif ts:
                g = (epoch[ts], bad.get(ts))
            else:
                g = (NO_TIME, None)
            got.append(g)
        ns, reasons = zip(*got, strict=True)
        why = list(reasons) if any(reasons) else None
        return np.array(ns, dtype=np.int64), why

    def _flush(self) -> None:
        """Add the waiting records to their groups: per group (made in the order of its first
        record, as one record at a time would make them) ONE :meth:`DigestGroup.take` of its
        calls, slowest call and example (the first in the input among the slowest), durations;
        the sums of rows and lock time (:func:`toolkit.queries.digest.group_sums`), and the
        earliest and latest time stamp."""
        w = self.waiting
        if not self.n_waiting:
            return
        keys, stmts, lines = w["key"], w["statement"], w["line"]
        d, lock, sent, examined, ns = (np.concatenate(w[n]) for n in ("d", "lock", "sent", "examined", "ns"))
        self.waiting, self.n_waiting = _no_waiting(), 0
        self._same = {}
        if self.by:  # tuples: a dict numbers them in order of first appearance
            index: dict[tuple, int] = {}
            codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.intp, count=len(keys))
            uniques = list(index)
        else:
            codes, uniques = pd.factorize(np.array(keys, dtype=object))
            uniques = list(uniques)
        n = len(uniques)
        groups = self.groups
        glist = []
        for key in uniques:
            key = key if self.by else (key,)
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Lean()
            glist.append(g)
        # the example: the first of the group's slowest calls in the input
        batch = group_calls(codes, n, d)
        ex_rows = batch.example.tolist()
        sums = batch_sums(dict(zip(_SUMS, (sent, examined, lock), strict=True)), codes, n)
        self.dacc.sum_columns.update(sums)
        lo, hi, seen = group_span(codes, n, ns)
        seen, lo, hi = seen.tolist(), lo.tolist(), hi.tolist()
        for k, g in enumerate(glist):
            r = ex_rows[k]
            batch.take(g, k, (stmts[r], None, lines[r]))
            g.add_sums(sums, k)
            if seen[k]:
                if g.first_ns is None or lo[k] < g.first_ns:
                    g.first_ns = lo[k]
                if g.last_ns is None or hi[k] > g.last_ns:
                    g.last_ns = hi[k]

    # -- output -----------------------------------------------------------------------------
    def result(self) -> DigestAccumulator:
        """The state as a :class:`DigestAccumulator` (groups only)."""
        self._flush()
        dacc = self.dacc
        for key, lean in self.groups.items():
            if lean.first_ns is not None:
                lean.seen(pd.Timestamp(lean.first_ns, tz="UTC"), pd.Timestamp(lean.last_ns, tz="UTC"))
            dacc.group(key).merge(lean)
        self.groups = {}
        return dacc


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
    # (the piece size changes no result: see mysql_slow.PIECE_BYTES)
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
