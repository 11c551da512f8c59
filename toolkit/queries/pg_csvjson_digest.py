"""The digest of a PostgreSQL csvlog or jsonlog read straight from its text, and its byte ranges.

:func:`toolkit.queries.digest.digest_file` on a csvlog or jsonlog comes here (and so do its
worker processes, ``workers=2``, and the Dask direct path, :mod:`toolkit.distributed.direct`):
the same table and ``attrs["source"]`` as ``tk.digest(tk.read_queries(path))``, without a
``query_events`` DataFrame in between. The records are the readers' (the scanners of
:mod:`toolkit.queries.pg_csvlog` and :mod:`toolkit.queries.pg_jsonlog`), and the digest's state
and rules are the stderr log's (:class:`toolkit.queries.pg_digest.StderrDigest`: parse/bind
folded into their execute, plans paired, time stamps kept as text per zone): a
:class:`StructuredParser` gives it each buffer's records in the columns the stderr scanner
gives (:meth:`StructuredParser.scan_batch`), or, for a buffer its one pass does not take (a line
to skip, a log_statement line waiting for its duration), the raw records the DataFrame reader
builds (:meth:`StructuredParser.parse`).

Where a buffer or a byte range may start (:func:`places`): at a record start no pair the reader
or the digest joins lies across: no session's last query record waits for its next one (a parse
or bind for its execute, a plan for its statement, a log_statement line for its duration: the
rule :func:`toolkit.queries.pg_stderr.session_waits` states for stderr logs), and no timed
execute is followed in its session by a plan (a SELECT's plan is logged after it; looked ahead
for, so a busy log whose every session has just run an execute still has places). So the result
does not depend on the chunk size or on how a file is cut. A byte range (:func:`boundary`)
starts at the first place after its offset, judged from a fixed block before it, so
consecutive ranges meet at the same place. A jsonlog record is one line; a csvlog record starts
at a line that looks like one outside every quoted field
(:func:`toolkit.queries.pg_csvlog.record_starts`: the quotes before it, counted from the file's
start, are even), so a cut never falls inside a multi-line message. Counting those quotes reads
the bytes before a range once (``bytes.count``, about 1 GB/s).

The scanners take most of the time: on the pgbench samples repeated to 10-16 MB this digest
takes about 0.75-0.9x the time of ``tk.digest(tk.read_queries(path))`` in one process.

    >>> from toolkit.queries.digest import digest_file
    >>> digest_file("postgresql.csv", workers=2).head()   # doctest: +SKIP
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import functools
import io
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import LogFormatError
from ..sources import (
    CHUNK_BYTES,
    Source,
    count_before,
    open_source,
    range_pieces,
    recut,
)
from .digest import DigestAccumulator, StreamingDigest
from .pg_csvjson import structured_raw
from .pg_csvlog import CSV_RECORD_START, csv_recut, last_record_start, record_starts, scan_csv
from .pg_digest import StderrDigest, supports
from .pg_envelope import plain_text, unwrap
from .pg_events import ENGLISH, MESSAGE_RE, TRANSLATED, TRANSLATED_DURATION, split_checked, split_message
from .pg_jsonlog import scan_json
from .pg_time import utc_times
from .records import RecordBatch, ahead

CSVLOG, JSONLOG = "postgres-csvlog", "postgres-jsonlog"
# Byte ranges: a place in block k (bytes [k*BLOCK, (k+1)*BLOCK)) is judged with the sessions
# followed from block k-1's first record on, so it depends on the file only (consecutive ranges
# meet at the same place); a wait older than that is forgotten (it never got its partner).
BLOCK = 1 << 20
_READ = 1 << 16  # bytes read at a time looking for records
_CARRY = 1 << 18   # a buffer without a settled place is carried on up to this size


# -- where a buffer or a range may end ------------------------------------------------------
_HARD, _SOFT = 1, 2  # a session waits for its next query record / maybe (a timed execute's plan)


def _waits(severity: Any, dur: str, verb: str, message: str) -> int | None:
    """:func:`toolkit.queries.pg_stderr.session_waits` for a structured record: how it leaves
    its session: waiting for its next query record (:data:`_HARD`: a plan, a timed parse or
    bind, a log_statement line without its duration), waiting only if that record is a plan
    (:data:`_SOFT`: a timed execute, whose SELECT's plan is logged when the portal is dropped),
    no longer waiting (0: another query record, a disconnection), or as it was (None: a server
    event)."""
    if verb == "plan" or (dur and verb in ("parse", "bind")) or (not dur and verb and severity in ("LOG", "ERROR")):
        return _HARD
    if dur and verb.startswith("execute"):
        return _SOFT
    if severity == "LOG" and (dur or verb) or message.startswith("disconnection: "):
        return 0
    return None


def _dur_verb(message: str) -> tuple[str, str]:
    m = MESSAGE_RE.match(message)
    return m.group("dur") or "", m.group("verb") or ""


def places(records: Iterable[tuple[int, Any, str, Any]], *, follow: bool = True, forget: int | None = None,
           final: bool = True) -> Iterator[int]:
    """Where a buffer or range may start, in order: the ``at`` of the records ``(at, severity,
    message, session)`` (file order; ``at`` a byte offset or a row number) that are not a plan,
    not a duration-only line, not right after a plan, a parse or a bind (the reader's rule for
    its chunks) and, ``follow``-ing the sessions, where no pair a reader or digest joins lies
    across: no session's last query record waits for its next one (:func:`_waits`), and no
    timed execute's next record in its session is a plan. The first record is never one (the
    one before it is not known). ``forget``: a wait (or a look for a plan) more than that many
    bytes old is over. ``final``: the records run to the end of the input (a place still
    looking for a plan is one); else such a place is not given."""
    last: dict[Any, tuple[int, int]] = {}  # session -> (how its last query record waits, where)
    pending: collections.deque = collections.deque()  # [at, sessions whose next record may be a plan, bad]
    prev_holds, first = False, True
    for at, severity, message, session in records:
        message = message or ""
        dur, verb = _dur_verb(message)
        key = session or None
        if forget is not None:
            if last:
                last = {k: v for k, v in last.items() if at - v[1] <= forget}
            while pending and pending[0][1] and at - pending[0][0] > forget:
                pending[0][1] = set()  # no plan came
                if not pending[0][2]:
                    yield pending[0][0]
                pending.popleft()
        if not (first or prev_holds or verb == "plan" or (dur and not verb)):
            if not follow:
                yield at
            elif not any(how == _HARD for how, _ in last.values()):
                pending.append([at, {k for k, (how, _) in last.items() if how == _SOFT}, False])
        waits = _waits(severity, dur, verb, message) if follow else None
        if waits is not None:  # this is its session's next query record
            for cand in pending:
                if key in cand[1]:
                    cand[1].discard(key)
                    cand[2] = cand[2] or verb == "plan"
            while pending and not pending[0][1]:
                cand = pending.popleft()
                if not cand[2]:
                    yield cand[0]
            if waits:
                last[key] = (waits, at)
            else:
                last.pop(key, None)
        prev_holds = verb == "plan" or bool(dur) and verb in ("parse", "bind")
        first = False
    if final:
        yield from (cand[0] for cand in pending if not cand[2])


def settled(severity, message, session, follow: bool = True) -> list[int]:
    """The rows of a buffer (records in file order) the next buffer may start at
    (:func:`places`, not knowing what follows the buffer)."""
    return list(places(zip(itertools.count(), severity, message, session), follow=follow, final=False))


def _head(batch: RecordBatch, rows: int) -> RecordBatch:
    """The batch of the text before row ``rows`` of ``batch`` (a scanner's: no other lines)."""
    end = int(batch.first_line[rows])
    return RecordBatch(batch.first, end - batch.first, {k: v[:rows] for k, v in batch.columns.items()},
                       batch.first_line[:rows], batch.nlines[:rows], batch.status[:rows],
                       {k: r for k, r in batch.reasons.items() if k < rows}, 0,
                       [s for s in batch.skips if s[0] < end])


def _moved(batch: RecordBatch, lines: int) -> RecordBatch:
    """``batch`` with its line numbers ``lines`` further on."""
    return dataclasses.replace(batch, first=batch.first + lines, first_line=batch.first_line + lines,
                               skips=[(line + lines, *rest) for line, *rest in batch.skips])


def _line_offset(text: str, lines: int) -> int:
    """The offset in ``text`` where its line ``lines`` (0-based) starts."""
    pos = 0
    for _ in range(lines):
        pos = text.index("\n", pos) + 1
    return pos


# -- the records as StderrDigest takes them -------------------------------------------------
class StructuredParser:
    """What :class:`~toolkit.queries.pg_digest.StderrDigest` asks of a parser, for a csvlog or
    jsonlog (``fmt``): :meth:`scan_batch` (the one pass) and :meth:`parse` (the reader's raw
    records); ``name``, ``log_timezone``."""

    def __init__(self, fmt: str, name: str, log_timezone: str | None):
        self.fmt = fmt
        self.name = name
        self.log_timezone = log_timezone
        self.ncols: int | None = None  # the csvlog's column count, fixed by its first record
        self._last: tuple[int, str, RecordBatch] | None = None

    def batch(self, text: str, first_line: int) -> RecordBatch:
        """The scanner's record batch of ``text`` (whole records from input line ``first_line``)."""
        last = self._last
        if last is not None and len(last[1]) == len(text) and last[1] == text:
            return _moved(last[2], first_line - last[0]) if last[0] != first_line else last[2]
        if self.fmt == CSVLOG:
            batch, self.ncols = scan_csv(text, first_line, self.ncols)
        else:
            batch = scan_json(text, first_line, self.name)
        self._last = (first_line, text, batch)
        return batch

    def remember(self, text: str, batch: RecordBatch) -> None:
        """Take ``batch`` as the scan of ``text`` (a head of a scanned buffer, cut by the caller)."""
        self._last = (batch.first, text, batch)

    def lean_rx(self, fields: frozenset) -> tuple[None, dict[str, int]]:
        return None, {"ts": 0}  # (every record has its time stamp field)

    def scan_batch(self, text: str, first_line: int, fields: frozenset = frozenset()) -> RecordBatch | None:
        """The query-event records of ``text`` in the columns of
        :meth:`toolkit.queries.pg_stderr.StderrParser.scan_batch` (``ts``/``tz`` the local time
        stamp text and its zone, ``session``, the connection fields, ``severity``, ``dur``,
        ``verb``, ``message``: the statement or plan, ``parameters``), ``other_lines`` the lines
        of the other records. None where the reader would skip a line (the scanner's skips, a
        severity or duration message not in English, a bad time stamp or duration): then
        :meth:`parse` is read instead, which accounts for it."""
        batch = self.batch(text, first_line)
        if batch.skips or batch.reasons:
            return None
        c = batch.columns
        n = len(batch)
        if not n:
            return RecordBatch.empty(first_line, batch.lines)
        severity = c["severity"]
        if not all(s in ENGLISH for s in severity):
            return None
        messages = ["" if m is None else m for m in c["message"]]
        durs, verbs, _p, rests = split_message(messages)
        query = [s == "LOG" and bool(d or v) for s, d, v in zip(severity, durs, verbs, strict=True)]
        idx = [k for k, q in enumerate(query) if q]
        if any(severity[k] == "LOG" and not query[k] and TRANSLATED_DURATION.match(messages[k])
               for k in range(n)):
            return None
        if any(durs[k] and not durs[k].isascii() for k in idx):
            return None
        nlines = batch.nlines
        other = int(nlines.sum()) - int(nlines[idx].sum())
        if not idx:
            return RecordBatch.empty(first_line, batch.lines, other_lines=other)
        stamps = [c["ts"][k] or "" for k in idx]
        local = [s.rsplit(" ", 1)[0] for s in stamps]
        zones = [s.rsplit(" ", 1)[1] if " " in s else "" for s in stamps]
        if utc_times(local, zones, name=self.name, log_timezone=self.log_timezone).bad.any():
            return None

        def take(name: str) -> list:
            col = c.get(name)
            return [None] * len(idx) if col is None else [col[k] for k in idx]

        detail = take("detail")
        params = [d[12:] if d and d.startswith(("parameters: ", "Parameters: ")) else None for d in detail]
        columns = {"ts": local, "tz": zones, "session": take("session"), "pid": take("pid"),
                   "user": take("user"), "database": take("database"), "application": take("application"),
                   "client": take("client"), "severity": take("severity"),
                   "dur": [durs[k] for k in idx], "verb": [verbs[k] for k in idx],
                   "message": [rests[k] for k in idx], "parameters": params}
        return RecordBatch.of(first_line, batch.lines, columns, batch.first_line[idx], nlines[idx],
                              other_lines=other)

    def parse(self, text: str, first_line: int, acc, lean: bool = False) -> pd.DataFrame:
        """The raw records of ``text`` as the reader builds them
        (:func:`toolkit.queries.pg_csvjson.structured_raw`), its skipped lines into ``acc``. A
        severity not in English is marked as the reader's check marks it (StderrDigest checks
        only the messages: a stderr parser skips such lines itself)."""
        batch = self.batch(text, first_line)
        batch.account(acc, count=False)
        raw = structured_raw(batch, self.name, self.log_timezone)
        foreign = ~raw["severity"].isin(ENGLISH).to_numpy()
        if foreign.any():
            raw["problem"] = np.where(foreign, TRANSLATED, raw["problem"].to_numpy(object))
        return raw


# -- buffers ---------------------------------------------------------------------------------
def settled_buffers(chunks: Iterator[tuple[int, str]], parser: StructuredParser) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` chunks of whole records re-cut (:func:`toolkit.sources.recut`)
    before the last :func:`settled` record of each (a chunk without one is carried on, up to
    :data:`_CARRY` characters; then the reader's rule about the record before the cut alone)."""
    def cut(buf: str, carried: int) -> int:
        batch = parser.batch(buf, 1)  # (lines from 1: the parser moves them when the head is read)
        c = batch.columns
        rows = settled(c["severity"], c["message"], c["session"]) if len(batch) else []
        if not rows and len(buf) >= _CARRY and len(batch):  # (a session never settles)
            rows = settled(c["severity"], c["message"], c["session"], follow=False)
        if not rows:
            return 0
        at = _line_offset(buf, int(batch.first_line[rows[-1]]) - 1)
        parser.remember(buf[:at], _head(batch, rows[-1]))  # (not scanned again)
        return at

    return recut(chunks, cut)


# -- byte ranges -----------------------------------------------------------------------------
def _records_from(fh, offset: int, fmt: str) -> Iterator[tuple[int, Any, str, Any]]:
    """``(byte offset, severity, message, session)`` of each record starting at or after
    ``offset`` (a record start, or 0) to the end of the file."""
    fh.seek(offset)
    buf, pos = b"", offset  # pos: the file offset of buf[0]
    while True:
        block = fh.read(_READ)
        eof = not block
        buf += block
        if fmt == JSONLOG:
            end = len(buf) if eof else buf.rfind(b"\n") + 1
            yield from _json_records(buf[:end], pos)
        else:  # csvlog: whole records only (the last one may go on in the next block)
            end = _csv_records_end(buf, eof)
            yield from _csv_records(buf[:end], pos)
        buf, pos = buf[end:], pos + end
        if eof:
            return


def _csv_records_end(buf: bytes, eof: bool) -> int:
    """Where the last record that surely ended in ``buf`` (a record start) ends."""
    if eof:
        return len(buf)
    text = buf.decode("utf-8", "surrogateescape")
    return len(text[:max(0, last_record_start(text))].encode("utf-8", "surrogateescape"))


def _csv_records(data: bytes, pos: int) -> Iterator[tuple[int, Any, str, Any]]:
    text = data.decode("utf-8", "surrogateescape")
    starts = [0, *record_starts(text), len(text)]
    at, done = pos, 0  # the byte offset of text[done:]
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        at += len(text[done:a].encode("utf-8", "surrogateescape"))
        done = a
        if a == b:
            continue
        try:
            row = next(csv.reader(io.StringIO(text[a:b])))
        except (csv.Error, StopIteration):
            continue
        if len(row) > 13 and CSV_RECORD_START.match("\n" + text[a:b]):
            yield at, row[11], row[13], row[5]


def _json_records(data: bytes, pos: int) -> Iterator[tuple[int, Any, str, Any]]:
    offset = 0
    for line in data.split(b"\n"):
        here = pos + offset
        offset += len(line) + 1
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:  # (a line that is no record is no place to cut)
            continue
        if isinstance(obj, dict) and "error_severity" in obj:
            msg = obj.get("message")
            yield here, obj.get("error_severity"), msg if isinstance(msg, str) else "", obj.get("session_id")


def _first_record(fh, offset: int, fmt: str) -> int:
    """The first record start at or after ``offset`` (the file's size: none)."""
    size = os.fstat(fh.fileno()).st_size
    if offset <= 0:
        return 0
    if fmt == JSONLOG:
        fh.seek(offset - 1)
        pos = offset - 1
        while True:  # the first line start at or after offset
            block = fh.read(_READ)
            if not block:
                return size
            k = block.find(b"\n")
            if k >= 0:
                return pos + k + 1
            pos += len(block)
    # csvlog: the quotes before it say whether a line lies in a quoted field
    quotes = count_before(fh, offset - 1, b'"')
    fh.seek(offset - 1)  # from the byte before offset: a record right at offset follows a line break
    pos, buf = offset - 1, b""
    while True:
        block = fh.read(_READ)
        buf += block
        text = buf.decode("utf-8", "surrogateescape")
        for at in record_starts(text, quotes):
            return pos + len(text[:at].encode("utf-8", "surrogateescape"))
        if not block:
            return size
        k = buf.rfind(b"\n")  # keep the last line (maybe unfinished), its line break first
        if k > 0:
            quotes += buf[:k].count(b'"')
            pos, buf = pos + k, buf[k:]


def boundary(fh, x: int, size: int, fmt: str) -> int:
    """The first of :func:`places` at or after byte ``x`` (the file's size: none), a place in
    block k of :data:`BLOCK` bytes judged from block k-1's first record on: it depends on the
    file only, so consecutive ranges meet at the same place."""
    if x <= 0:
        return 0
    k = x // BLOCK
    while x < size and k * BLOCK < size:
        start = _first_record(fh, max(0, (k - 1) * BLOCK), fmt)
        for at in places(_records_from(fh, start, fmt), forget=BLOCK):
            if at >= (k + 1) * BLOCK:
                break
            if at >= x:
                return at
        k += 1
    return size


def range_buffers(path: str, start: int, end: int, fmt: str, *, chunk_size: int = CHUNK_BYTES,
                  errors: str = "skip", log_timezone: str | None = None,
                  first_line: int | None = None) -> tuple[Source, StructuredParser, Iterator[tuple[int, str]]]:
    """``(source, parser, buffers)`` for the records that start in bytes ``[start, end)`` of a
    plain csvlog or jsonlog (both ends moved to :func:`boundary`); ``first_line`` numbers the
    range's first line (None: counted, the lines before the range read for it)."""
    src = open_source(path, errors=errors)
    if src.compression is not None:
        raise LogFormatError(f"{src.name}: byte ranges need an uncompressed file")
    # a log in an envelope (CloudNativePG): boundary() finds no record start in the raw lines,
    # so the first range takes the whole file
    src, _ = unwrap(src, None, log_timezone)
    src.accounting.format = fmt
    parser = StructuredParser(fmt, src.name, log_timezone)
    if fmt == CSVLOG and start > 0:  # the column count the file's first record fixes
        parser.ncols = first_ncols(open_source(path, errors=errors))
    pieces = range_pieces(path, start, end, src.accounting, lambda fh, at, size: boundary(fh, at, size, fmt),
                          first_line=first_line, chunk_size=chunk_size)
    chunks = ahead((first, plain_text(src, text)) for first, text in pieces)
    return src, parser, settled_buffers(csv_recut(chunks) if fmt == CSVLOG else chunks, parser)


def first_ncols(src: Source) -> int | None:
    """The column count of a csvlog's first record of a known count (23-26; None: none), which
    fixes the count of every record (:func:`toolkit.queries.pg_csvlog.scan_csv`)."""
    for first, text in csv_recut(ahead(src.iter_chunks(_READ))):
        _batch, ncols = scan_csv(text, first)
        if ncols is not None:
            return ncols
    return None


def _whole_buffers(source: Any, fmt: str, errors: str, log_timezone: str | None,
                   chunk_size: int) -> tuple[Source, StructuredParser, Iterator[tuple[int, str]]]:
    src = open_source(source, errors=errors)
    src, _ = unwrap(src, None, log_timezone)
    src.accounting.format = fmt
    parser = StructuredParser(fmt, src.name, log_timezone)
    chunks = ahead(src.iter_chunks(chunk_size))
    return src, parser, settled_buffers(csv_recut(chunks) if fmt == CSVLOG else chunks, parser)


def _buffers(source, fmt, start, end, chunk_size, errors, log_line_prefix, log_timezone, first_line):
    if log_line_prefix is not None:
        raise LogFormatError(f"log_line_prefix applies to stderr logs only, not {fmt}")
    chunk_size = chunk_size or CHUNK_BYTES
    if start is not None:
        return range_buffers(source, start, end, fmt, chunk_size=chunk_size, errors=errors,
                             log_timezone=log_timezone, first_line=first_line)
    return _whole_buffers(source, fmt, errors, log_timezone, chunk_size)


# -- the digest and the range reader ----------------------------------------------------------
def digest_structured(source: Any, *, fmt: str, start: int | None = None, end: int | None = None,
                      by: Any = None, chunk_size: int | None = None, errors: str = "skip",
                      log_line_prefix: str | None = None, log_timezone: str | None = None,
                      first_line: int | None = None, **fingerprint_options: Any) -> tuple[DigestAccumulator, dict]:
    """``(DigestAccumulator, accounting)`` of a csvlog or jsonlog (``fmt``; ``source`` a path or
    anything :func:`toolkit.sources.open_source` takes), or of the records starting in bytes
    ``[start, end)`` of a plain file (``first_line`` numbers its first line). ``accounting`` is
    the reader's ``attrs["source"]``, as :func:`toolkit.queries.pg_digest.digest_stderr` gives it."""
    src, parser, buffers = _buffers(source, fmt, start, end, chunk_size, errors, log_line_prefix,
                                    log_timezone, first_line)
    engine = StderrDigest(parser, src.accounting, by, **fingerprint_options)
    for first, text in buffers:
        engine.feed(text, first)
    dacc = engine.result()
    if not src.accounting.lines_read and start is None:
        for _ in src.iter_chunks():  # an empty input: still sets lines_read
            pass
    return dacc, engine.summary()


def split_structured(path: str, start: int, end: int, *, fmt: str, chunk_size: int = CHUNK_BYTES,
                     errors: str = "skip", log_line_prefix: str | None = None,
                     log_timezone: str | None = None, first_line: int | None = None,
                     **_: Any) -> Iterator[pd.DataFrame]:
    """The ``query_events`` frames of the records that start in bytes ``[start, end)`` of a plain
    csvlog or jsonlog (the range reader: worker processes, the Dask frames), each with the
    range's accounting so far in ``attrs["source"]``; ``source_line`` as in
    :func:`toolkit.queries.postgres.split_postgres_stderr`."""
    src, parser, buffers = _buffers(path, fmt, start, end, chunk_size, errors, log_line_prefix,
                                    log_timezone, first_line)
    acc = src.accounting
    counts = {"query_events": 0, "server_events": 0}
    records = 0
    for first, text in buffers:
        q, _s, c = split_checked(parser.parse(text, first, acc), acc, server=False)
        for k in counts:
            counts[k] += c[k]
        frame = schema.coerce(q, "query_events")
        records += len(frame)
        acc.records = records
        info = acc.as_dict()
        info["record_lines"] = counts["query_events"]
        info["lines_in_other_table"] = {"server_events": counts["server_events"]}
        frame.attrs["source"] = info
        yield frame


# the formats' streaming digests and range readers (registered with them in toolkit.queries.postgres)
CSVLOG_DIGEST = StreamingDigest(functools.partial(digest_structured, fmt=CSVLOG), supports)
JSONLOG_DIGEST = StreamingDigest(functools.partial(digest_structured, fmt=JSONLOG), supports)
split_postgres_csvlog = functools.partial(split_structured, fmt=CSVLOG)
split_postgres_jsonlog = functools.partial(split_structured, fmt=JSONLOG)
