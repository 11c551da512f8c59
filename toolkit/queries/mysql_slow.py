"""The MySQL / MariaDB / Percona slow-log scanner: text -> records, per piece of text.

One scanner for every way a slow log is read (:func:`scan_segment`: text -> a
:class:`~toolkit.queries.records.RecordBatch`, from ONE pass of the compiled record finder
:func:`toolkit.native.slowlog.scan` over the piece, restart banners included): the DataFrame readers (:mod:`toolkit.queries.mysql`
build frames from the batches their :class:`Batch` takes), the streaming digest
(:mod:`toolkit.queries.mysql_digest`'s ``SlowDigest`` takes the same batches as the ``sink`` of
:func:`batches_from`) and the byte ranges of :func:`toolkit.queries.digest.digest_file`'s
worker processes (:func:`range_pieces`, :func:`state_before`).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import json
import operator
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ParseError
from ..native import slowlog as _native
from ..sources import CHUNK_BYTES, Accounting, Source, decode
from .records import RecordBatch

FORMAT = "mysql-slow"

ADMIN = "# administrator command: "  # the statement line of a Quit, Ping, Prepare, ...
KV = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_]*): (\S*)")
USERHOST = re.compile(r"(?P<priv>[^\[]*)\[(?P<user>[^\]]*)\]\s*@\s*(?P<host>[^\[]*?)\s*"
                       r"(?:\[(?P<ip>[^\]]*)\])?(?:\s+Id:\s*(?P<id>\d+))?\s*$")

# header keys that are canonical columns, not extra ones: the four figures (FIGURES), the session
# (Thread_id / Id), the database (Schema, or the last `use`), and the client and user of records
# without '# User@Host:' ('# Client: ip:port' of pt-query-digest's slowlog output, '# User:'), read
# the same way by every way (:func:`who`)
CANONICAL = frozenset({"Query_time", "Lock_time", "Rows_sent", "Rows_examined", "Thread_id", "Id", "Schema",
                       "Client", "User"})
BANNER_REASON = "server start banner (see read_server_events)"
# The size of the pieces of text the whole-file readers and the digest scan at a time. Records
# never straddle pieces (a cut record moves whole to the next piece), so it changes no result;
# 4 MiB keeps one piece's column lists small next to the table: a 16 MiB piece cost the reader a
# third more peak memory, for no speed (measured with the regex scanner, session 23).
PIECE_BYTES = 4 << 20


def who(userhost: tuple[Any, Any, Any], headers: dict[str, str]) -> tuple[Any, Any, Any]:
    """``(user, client, session)`` of a record: its ``User@Host`` value parsed (user, client,
    MySQL's ``Id``), completed by its headers (``Thread_id`` / ``Id``, and ``User`` / ``Client``
    for records without ``# User@Host:``)."""
    user, client, ident = userhost
    return (user or headers.get("User") or None, client or headers.get("Client") or None,
            headers.get("Thread_id") or headers.get("Id") or ident)


def parse_userhost(value: str) -> tuple[Any, Any, Any]:
    """``(user, client, MySQL's Id)`` of a ``User@Host`` value (the reader's and the digest's)."""
    m = USERHOST.match(value)
    if not m:
        return None, None, None
    return (m.group("user") or m.group("priv").strip() or None,
            (m.group("ip") or m.group("host") or "").strip() or None, m.group("id"))


class State:
    """What carries from one record to the next: the current database and ``# Time:``."""

    def __init__(self) -> None:
        self.database: str | None = None
        self.time: str | None = None


def parse_time(value: str) -> tuple[pd.Timestamp | None, str | None]:
    """A ``# Time:`` value as UTC (:func:`toolkit.schema.time_value`): ``(time, None)`` or
    ``(None, reason)``. ISO (MySQL 5.7+: ``2023-01-01T10:00:00.123456Z``), or the old form
    ``YYMMDD H:MM:SS`` (hour space-padded, the server's local time, read as UTC). An old-form
    value that is no time at all (percona-toolkit's slow022 has ``margdl 11:48:27``) says
    nothing, like a missing ``# Time:``: ``(None, None)``, the record kept without a time, as
    pt-query-digest keeps it; an ISO time out of range is still a reason to skip the record."""
    value = value.strip()
    if "T" in value or "-" in value:
        return schema.time_value(value, "timestamp")
    parts = value.split()
    try:
        if not value.isascii():
            raise ValueError(value)
        d = _dt.datetime.strptime(parts[0] + " " + parts[1], "%y%m%d %H:%M:%S")
    except (ValueError, IndexError):
        return None, None
    return pd.Timestamp(d, tz="UTC").as_unit("ns"), None


_EXPLAINS: dict[str, str | None] = {}  # EXPLAIN block text -> its JSON (a log repeats few plans)


def explain_json(block: str) -> str | None:
    """The JSON rows of the ``# explain:`` lines of a record's headers (``block``: from the first
    of them on), from a cache: a busy server's log repeats a few dozen EXPLAIN outputs."""
    got = _EXPLAINS.get(block, False)
    if got is False:
        if len(_EXPLAINS) > 10_000:
            _EXPLAINS.clear()
        got = _EXPLAINS[block] = _explain_json([h[11:] for h in block.split("\n") if h.startswith("# explain: ")])
    return got


def _explain_json(lines: list[str]) -> str | None:
    rows = [line.split("\t") for line in lines]
    if len(rows) < 2:
        return None
    header = rows[0]
    out = [{k: (None if v == "NULL" else v) for k, v in zip(header, r, strict=False)} for r in rows[1:]]
    return json.dumps(out)


class Figures:
    """The four figures of a batch's records as numbers, read by the scanner in its one pass (a
    column of the :class:`RecordBatch`: one row per record, without a Python object per row):
    ``query_time``, ``lock_time`` (float64 seconds), ``rows_sent``, ``rows_examined`` (int64),
    and ``status`` (uint8: bit k set when figure k of :data:`FIGURES` is not a plain number, so
    the consumer's rules decide from the text columns; bit k + 4 when it is absent). Where a bit
    is set the number is NaN / 0."""

    __slots__ = ("query_time", "lock_time", "rows_sent", "rows_examined", "status")

    def __init__(self, query_time: np.ndarray, lock_time: np.ndarray, rows_sent: np.ndarray,
                 rows_examined: np.ndarray, status: np.ndarray) -> None:
        self.query_time, self.lock_time = query_time, lock_time
        self.rows_sent, self.rows_examined, self.status = rows_sent, rows_examined, status

    @classmethod
    def from_scan(cls, parts: tuple[bytes, ...]) -> Figures:
        qt, lt, rs, rx, status = parts
        return cls(np.frombuffer(qt, dtype=np.float64), np.frombuffer(lt, dtype=np.float64),
                   np.frombuffer(rs, dtype=np.int64), np.frombuffer(rx, dtype=np.int64),
                   np.frombuffer(status, dtype=np.uint8))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.query_time, self.lock_time, self.rows_sent, self.rows_examined, self.status

    def take(self, rows: Any) -> Figures:
        """The rows ``rows`` (a mask or positions)."""
        return Figures(*(a[rows] for a in self.arrays()))

    @classmethod
    def concat(cls, parts: list[Figures]) -> Figures:
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate(a) for a in zip(*(p.arrays() for p in parts), strict=True)))

    def __len__(self) -> int:
        return len(self.status)

    def __getitem__(self, k: int) -> tuple:
        return tuple(a[k] for a in self.arrays())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Figures) and all(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f") for a, b in zip(self.arrays(), other.arrays(), strict=True))

    __hash__ = None  # type: ignore[assignment]


class Coded:
    """A text column as codes into its distinct values (a column of the :class:`RecordBatch`:
    ``len()`` is its rows, ``[k]`` the text of row k): the scanner's numbering, kept so that a
    consumer builds its column from the distinct values without hashing a str per row."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: list[Any]) -> None:
        self.codes, self.values = codes, values

    def take(self, rows: Any) -> Coded:
        """The rows ``rows`` (a mask or positions)."""
        return Coded(self.codes[rows], self.values)

    @classmethod
    def concat(cls, parts: list[Coded]) -> Coded:
        if len(parts) == 1:
            return parts[0]
        offsets = np.cumsum([0, *(len(p.values) for p in parts[:-1])])
        return cls(np.concatenate([p.codes.astype(np.int64) + o for p, o in zip(parts, offsets.tolist(), strict=True)]),
                   [v for p in parts for v in p.values])

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, k: int) -> Any:
        return self.values[self.codes[k]]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Coded) and [self.values[c] for c in self.codes.tolist()] == [
            other.values[c] for c in other.codes.tolist()]

    __hash__ = None  # type: ignore[assignment]


# the batch columns that are arrays (their own classes), not lists of values
ARRAY_COLUMNS = frozenset({"figures", "statement_codes", "who_codes", "plan_codes"})


class Batch:
    """Column lists for the records of one piece of text."""

    def __init__(self, lean: bool = False) -> None:
        self.lean = lean  # for the digest: no plan, no extra header columns, plain arrays
        self.source_line: list[int] = []
        self.ts: list[Any] = []
        self.time: list[Any] = []
        self.userhost: list[str] = []
        self.headers: list[dict[str, str]] = []  # the headers before '# Query_time:' (Schema, Thread_id)
        # Query_time, Lock_time, Rows_sent, Rows_examined as logged (strings), one list each
        self.q: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
        self.figures: list[Figures] = []  # ... and as numbers (the scanner's), one per batch taken
        self.statement_codes: list[Coded] = []  # the statements numbered, one per batch taken
        self.who_codes: list[Coded] = []  # (User@Host, headers) pairs numbered, one per batch taken
        self.plan_codes: list[Coded] = []  # the plans numbered, one per batch taken
        self.database: list[Any] = []
        self.statement: list[str] = []
        self.plan: list[Any] = []
        self.extra: list[dict[str, str] | None] = []  # every header (not lean): the extra columns
        self.first: list[int] = []   # each record's first line (its '# Time:' line if it has one)
        self.nlines: list[int] = []  # ... and its lines: a record skipped for a bad value skips them
        self.banners: list[dict[str, Any]] = []

    def count(self) -> int:
        """Records so far (where a banner falls among them)."""
        return len(self.statement)

    def take(self, records: RecordBatch, acct) -> None:
        """Append the records of a scanned batch (:func:`scan_segment`); its skipped lines go to
        ``acct`` (:func:`account`), its restart banners to :attr:`banners`."""
        account(records, acct, ["# User@Host: " + u for u in records.columns.get("userhost", ())], self.banners,
                self.count(), counts=records.ok())
        if not records.records:
            return
        c = records.columns
        self.source_line += records.kept(c["source_line"])
        self.ts += records.kept(c["ts"])
        self.time += records.kept(c["time"])
        self.userhost += records.kept(c["userhost"])
        self.headers += records.kept(c["headers"])
        self.database += records.kept(c["database"])
        self.statement += records.kept(c["statement"])
        self.first += records.kept(records.first_line.tolist())
        self.nlines += records.kept(records.nlines.tolist())
        n = records.records
        self.extra += records.kept(c["extra"]) if "extra" in c else [None] * n
        self.plan += records.kept(c["plan"]) if "plan" in c else [None] * n
        for have, name in zip(self.q, FIGURE_COLUMNS, strict=True):
            have += records.kept(c[name])
        if "plan_codes" not in c:
            c = {**c, "plan_codes": Coded(np.zeros(len(records), dtype=np.intp), [None])}
        for have, name in ((self.figures, "figures"), (self.statement_codes, "statement_codes"),
                           (self.who_codes, "who_codes"), (self.plan_codes, "plan_codes")):
            have.append(c[name].take(records.ok()) if records.reasons else c[name])


def _parse_text(text: str, first_line: int, acct, state: State, batch) -> int:
    """Records of ``text`` scanned into one :class:`RecordBatch` (:func:`scan_segment`; restart
    banners inside are runs of skipped lines) that ``batch`` takes (a reader's :class:`Batch` or
    the digest, :class:`toolkit.queries.mysql_digest.SlowDigest`); returns the line after them.
    Every way reads records with the one scanner, so they agree on where records are and which
    lines are skipped, damaged input included."""
    records = scan_segment(text, first_line, state, full=not batch.lean)
    batch.take(records, acct)
    return records.first + records.lines


def banner_event(line: int, banner: str, records_before: int) -> dict[str, Any]:
    """The server event of a restart banner (``banner``: its text, from input line ``line``)."""
    first = banner.split("\n", 1)[0]
    return {"event": "other", "message": "server start: " + first.replace(" started with:", ""),
            "detail": " | ".join(x.strip() for x in banner.split("\n")[1:] if x.strip()),
            "source_line": line, "_records_before": records_before}


def account(records: RecordBatch, acct, example: list[str] | None, banners: list[dict[str, Any]],
            counted: int, late: list[tuple[int, str]] | None = None, counts: np.ndarray | None = None) -> None:
    """Put a batch's skipped lines into ``acct`` in the order the readers have always reported
    them, segment by segment (a restart banner ends one): its junk runs, its refused records
    (``example``: one text per row), the records the consumer refuses (``late``: ``(row,
    reason)``, the digest's bad figures; they leave ``acct.records`` again), then the banner,
    whose server event goes to ``banners`` with the records counted before it (``counted``
    before the batch, plus the rows of ``counts``, a mask of the rows the consumer counts, that
    come before the banner)."""
    marks = [s[0] for s in records.skips if s[1] == BANNER_REASON]
    if not marks and not late:  # the common case: one segment, the batch's own order
        records.account(acct, example)
        return
    events = [(bisect.bisect_left(marks, s[0]), 3 if s[1] == BANNER_REASON else 0, s) for s in records.skips]
    first, nlines = records.first_line, records.nlines
    events += [(bisect.bisect_left(marks, int(first[i])), 1, (int(first[i]), reason,
                example[i] if example is not None else "", int(nlines[i]))) for i, reason in records.reasons.items()]
    late = late or []
    events += [(bisect.bisect_left(marks, int(first[i])), 2, (int(first[i]), reason, example[i], int(nlines[i])))
               for i, reason in late]
    events.sort(key=operator.itemgetter(0, 1))  # (stable: each kind in its order)
    acct.records += records.records
    before = np.cumsum(counts) if counts is not None and len(counts) else None
    for _, kind, (line, reason, text, count) in events:
        if kind == 3:
            acct.skip(line, reason, text.split("\n", 1)[0], count=count)
            k = int(np.searchsorted(first, line)) if before is not None else 0
            banners.append(banner_event(line, text, counted + (int(before[k - 1]) if k else 0)))
            continue
        acct.skip(line, reason, text, count=count)
        if kind == 2:
            acct.records -= 1


# The records, of every way (the readers, the digest, byte ranges), come from ONE compiled pass
# per piece of text (:mod:`toolkit.native.slowlog`'s ``scan``, the grammar in its source): the
# '# Query_time:' line is part of the record, so its four figures come out of the same pass; a
# record without it is not a record (its lines become junk lines, and a junk run holding a
# '# User@Host:' line is reported as a truncated record). A record starts at its '# Time:' line,
# else its '# User@Host:' line, else the first of the header lines ('#' lines) that end with its
# '# Query_time:' line: old servers and pt-query-digest's own '--output slowlog' write no
# '# User@Host:' ('# Client:', '# Thread_id:' or nothing), and some logs start at
# '# Query_time:'. A statement ends where the next record starts, so a byte range cut at a
# record start reads as the whole (see :func:`head_start`). A statement that may end inside a
# string literal (no ';' at its end, an odd number of quotes: :func:`odd_quotes`) is read again
# following literals across lines, so header-like lines inside one stay in the statement.
MARKERS = ("# Time: ", "# User@Host: ", "# Query_time: ")  # the lines a record's header holds


def odd_quotes(text: str) -> bool:
    """Whether ``text`` holds an odd number of unescaped single or double quotes (a statement
    that may end inside a string literal; ``\\'`` is escaped, ``''`` is two)."""
    for q in ("'", '"'):
        n = text.count(q)
        if n & 1 and (n - text.count("\\" + q)) & 1:
            return True
    return False


def head_start(buf, at: int, lo: int = 0) -> int:
    """Where the record whose header holds the line starting at ``at`` starts: the first of the
    '#' lines (not an administrator command) just before it, looking no further back than ``lo``.
    ``buf``: str, bytes or an mmap. The lines that start a record as the scanner (:func:`scan_segment`) reads the
    whole text, so pieces and byte ranges cut there read as the whole."""
    nl, mark, admin = ("\n", "#", ADMIN) if isinstance(buf, str) else (b"\n", b"#", ADMIN.encode())
    while at > lo:
        i = buf.rfind(nl, lo, at - 1)
        if i < 0 and lo > 0:
            break  # (the line before may start before lo: not looked at)
        prev = i + 1
        if buf[prev:prev + 1] != mark or buf[prev:prev + len(admin)] == admin:
            break
        at = prev
    return at


def last_record_start(text: str, end: int | None = None) -> int:
    """The start of the last record that starts in ``text[:end]`` (-1: none): from its last
    :data:`MARKERS` line back to the first line of its header (:func:`head_start`). ``text``
    starts at a record or junk line; when it holds no marker but ends in a '#' line (a header
    whose '# Query_time:' line may come next: '# Client:', '# Thread_id:'), all of it (0)."""
    end = len(text) if end is None else end
    at = max(text.rfind("\n" + m, 0, end) for m in MARKERS) + 1
    if at == 0 and not text.startswith(MARKERS):
        last = text.rfind("\n", 0, end - 1) + 1
        return 0 if text.startswith("#", last, end) and not text.startswith(ADMIN, last, end) else -1
    return head_start(text, at)


def safe_record_start(text: str) -> int:
    """:func:`last_record_start`, moved back over records whose text has an odd number of quotes
    (:func:`odd_quotes`): a header-like line inside a string literal is no place to cut, and a
    cut a record early reads the same (that record is read with the next piece)."""
    start = last_record_start(text)
    while start > 0:
        prev = last_record_start(text, start)
        if prev < 0 or not odd_quotes(text[prev:start]):
            break
        start = prev
    return start


def statement_text(st: str) -> str:
    """A record's statement lines without mysqld's ``;`` and line break after it, nor what ends a
    file (blank lines, or no line break): every way reads the same statement, hence the same class,
    whatever the file's end."""
    if st[-2:] == ";\n":  # the common case
        return st[:-2]
    st = st.rstrip()
    return st[:-1] if st[-1:] == ";" else st


def _carry_forward(codes: np.ndarray, values: list[str], current, convert=None) -> tuple[list, Any]:
    """Each record's latest non-empty value so far (``current`` before the first), and the last:
    ``codes`` into ``values`` (code 0: none on that record, as the scanner hands them out)."""
    n = len(codes)
    if len(values) == 1:  # (no record has one: 'use db;' is rare)
        return [current] * n, current
    has = codes != 0
    pos = np.maximum.accumulate(np.where(has, np.arange(1, n + 1), 0))  # (1 + the row that holds)
    table = np.empty(len(values), dtype=object)
    table[0] = current
    table[1:] = [convert(v) for v in values[1:]] if convert else values[1:]
    out = table[np.where(pos > 0, codes[pos - 1], 0)].tolist()
    return out, out[-1]


def _rows(codes: np.ndarray, values: list[Any]) -> list[Any]:
    """One value per record from the scanner's codes into distinct values."""
    if len(values) == 1:
        return [values[0]] * len(codes)
    table = np.empty(len(values), dtype=object)
    table[:] = values
    return table[codes].tolist()


_HEADERS: dict[tuple[str, str, str], tuple[dict[str, str], str | None]] = {}  # see _headers
_PRE_HEADERS: dict[str, dict[str, str]] = {}  # the header lines before '# Query_time:' -> their keys


def _headers(pre: str, tail: str, post: str) -> tuple[dict[str, str], str | None]:
    """Every ``Key: value`` header of a record (the lines before its '# Query_time:' line, that
    line's tail, the lines after) and its EXPLAIN rows as JSON (None: none), from the texts
    the scanner cuts; :data:`_HEADERS` keeps them by those texts (a log repeats few). KV's
    matches in the lines before and after are those of their concatenation (each part starts at
    a line start or a space)."""
    if "# explain: " in pre:  # (not MariaDB's order: read as one text)
        headers = pre + tail + "\n" + post
        cut = headers.find("# explain: ")
        return dict(KV.findall(headers[:cut])), explain_json(headers[cut:])
    rest = tail + "\n" + post
    cut = rest.find("# explain: ")
    plan = None
    if cut >= 0:  # MariaDB writes the EXPLAIN rows after every other header
        plan = explain_json(rest[cut:])
        rest = rest[:cut]
    return {**dict(KV.findall(pre)), **dict(KV.findall(rest))}, plan


# A batch's columns (:func:`scan_segment`): as logged, one value per row.
#   source_line  the record's '# User@Host:' line (its first line when it has no '# Time:')
#   ts           SET timestamp=... (text) or None;  time: the '# Time:' holding for the record
#   userhost     the '# User@Host:' value;  headers: the header key/values before '# Query_time:'
#   database     Schema, else the 'use db;' holding for the record;  statement: without its ';'
#   statement_codes  the same as codes into distinct texts (:class:`Coded`)
#   who_codes    each record's (userhost, headers) pair as codes into the distinct pairs
#   plan_codes   (full scans only) the plans as codes into their distinct texts
#   query_time, lock_time, rows_sent, rows_examined: the '# Query_time:' line's figures (text)
#   figures      the same as numbers where they are plain (:class:`Figures`: arrays)
#   extra, plan  (full scans only) every header as a dict (one dict per distinct header text, shared:
#                read-only); MariaDB's EXPLAIN rows as JSON text
FIGURE_COLUMNS = ("query_time", "lock_time", "rows_sent", "rows_examined")


_F_TIME, _F_USE = 0, 9  # (the scanner's fields: time, userhost, pre, 4 figures, tail, post, use, ...)
# the scanner's runs of lines no record claims: junk, junk holding '# User@Host:', restart banner
_RUNS = ("not part of a slow log record", "truncated record (no '# Query_time:' header)", BANNER_REASON)


def scan_segment(text: str, first_line: int, state: State, full: bool = True) -> RecordBatch:
    """The records of ``text`` (from input line ``first_line``) as a :class:`RecordBatch`
    (columns above). ONE compiled pass over the text (:func:`toolkit.native.slowlog.scan`) finds
    the records and the runs of lines no record claims, cuts the text at restart banners (runs
    skipped with :data:`BANNER_REASON`, their text the whole banner; records never cross one),
    and hands out each record field as codes into its distinct values; the rules here
    work on distinct values (each header text, statement, ``use`` read once per piece) and
    numpy arrays of codes instead of a loop body per record. ``full=False`` (the digest) leaves
    ``extra`` and ``plan`` out. ``state`` carries the current '# Time:' and database in and out.
    A record without a statement is a SKIPPED row."""
    lines, first, nlines, fields, runs, figures = _native.scan(text, first_line)
    skips = [(line, _RUNS[kind], run, count) for line, run, count, kind in runs]
    starts = np.frombuffer(first, dtype=np.int64)
    if not len(starts):
        return RecordBatch.empty(first_line, lines, skips=skips)
    (times, userhosts, pres, qt, lt, rs, rx, tails, posts, uses, tss, stmts) = (
        (np.frombuffer(codes, dtype=np.int32), values) for codes, values in fields)
    # '# Time:' and 'use db;' carry forward (numpy positions, not a loop per record)
    time_col, state.time = _carry_forward(*times, state.time)
    use_col, state.database = _carry_forward(*uses, state.database, lambda u: u.strip("`"))
    # the statements: each distinct text once
    st_codes, st_values = stmts[0], list(map(statement_text, stmts[1]))
    # the headers before '# Query_time:' (Thread_id, Schema): each distinct text read once for
    # all pieces (a log repeats few; restart banners cut it into many small segments)
    kv_values = list(map(_PRE_HEADERS.get, pres[1]))
    if None in kv_values:
        if len(_PRE_HEADERS) > 20_000:
            _PRE_HEADERS.clear()
        for k, kv in enumerate(kv_values):
            if kv is None:
                pre = pres[1][k]
                kv_values[k] = _PRE_HEADERS.setdefault(pre, dict(KV.findall(pre)))
    kvs = _rows(pres[0], kv_values)
    reasons: dict[int, str] = {}
    # the rare cases, one look each: statements that start with '#' or whitespace, or are empty
    rare = [k for k, st in enumerate(st_values) if not st or st[0] == "#" or st[0].isspace()]
    if rare:
        use_rows, ts_rows = _rows(*uses), _rows(*tss)
        st_codes = st_codes.astype(np.int64)  # (a copy: rows get new values)
        for k in np.flatnonzero(np.isin(st_codes, rare)).tolist():
            st = st_values[st_codes[k]]
            if st[:1] == "#" and st.startswith(ADMIN):
                st = st[2:]
            elif not st.strip():
                if use_rows[k] and not ts_rows[k]:
                    st = f"use {use_rows[k]}"
                else:
                    reasons[k] = "truncated record (no statement)"
                    continue
            else:
                continue
            st_codes[k] = len(st_values)
            st_values.append(st)
    # each record's (User@Host, headers before '# Query_time:') pair, numbered: the session,
    # user and client come from them (mysql.who), once per distinct pair
    pair = userhosts[0].astype(np.int64) * len(pres[1]) + pres[0]
    uniq, who_codes = np.unique(pair, return_inverse=True)
    who_values = [(userhosts[1][u // len(pres[1])], kv_values[u % len(pres[1])]) for u in uniq.tolist()]
    # the database: Schema where the headers have one, else the 'use db;' holding
    schemas = [kv.get("Schema") or None for kv in kv_values]
    if not any(schemas):
        database = use_col
    else:
        has = np.array([v is not None for v in schemas])[pres[0]]
        db = np.empty(len(use_col), dtype=object)
        db[:] = use_col
        db[has] = np.array(schemas, dtype=object)[pres[0][has]]
        database = db.tolist()
    columns: dict[str, Any] = {
        # (the '# User@Host:' line: after the '# Time:' line where the record has a time)
        "source_line": (starts + (times[0] != 0)).tolist(),
        "ts": _rows(tss[0], [None, *tss[1][1:]]), "time": time_col, "userhost": _rows(*userhosts),
        "headers": kvs, "database": database, "statement": _rows(st_codes, st_values),
        "statement_codes": Coded(st_codes, st_values), "who_codes": Coded(who_codes, who_values),
    }
    for name, c in zip(FIGURE_COLUMNS, (qt, lt, rs, rx), strict=True):
        columns[name] = _rows(*c)
    columns["figures"] = Figures.from_scan(figures)
    if full:  # every header line (the '# Query_time:' line's tail too) and the EXPLAIN
        # The headers repeat (a busy server's log holds a few hundred kinds): each distinct
        # (pre, tail, post) is read once, and its records share one dict (read-only: _frame
        # numbers them)
        key = (pres[0].astype(np.int64) * len(tails[1]) + tails[0]) * len(posts[1]) + posts[0]
        uniq, inverse = np.unique(key, return_inverse=True)
        got = []
        if len(_HEADERS) > 20_000:
            _HEADERS.clear()
        for u in uniq.tolist():
            u, po = divmod(u, len(posts[1]))
            pr, ta = divmod(u, len(tails[1]))
            k3 = (pres[1][pr], tails[1][ta], posts[1][po])
            g = _HEADERS.get(k3)
            got.append(g if g is not None else _HEADERS.setdefault(k3, _headers(*k3)))
        columns["extra"] = _rows(inverse, [g[0] for g in got])
        columns["plan"] = _rows(inverse, [g[1] for g in got])
        columns["plan_codes"] = Coded(inverse, [g[1] for g in got])
    return RecordBatch.of(first_line, lines, columns, starts, np.frombuffer(nlines, dtype=np.int64),
                          reasons=reasons, skips=skips)


# The '# Query_time:' line's figures: header key, canonical column, factor to the column's unit.
# All four are validated for every record, whichever way it is read (a record with one that is
# not a number of its kind, or negative, is skipped with the reason).
FIGURES = (("Query_time", "duration_ms", 1000.0), ("Lock_time", "lock_ms", 1000.0),
           ("Rows_sent", "rows_sent", None), ("Rows_examined", "rows_examined", None))


def figure(key: str, text: Any) -> tuple[float | None, str | None]:
    """One figure of the '# Query_time:' line (see :data:`FIGURES`) in its column's unit, as a
    float: ``(value, None)``, ``(None, None)`` when absent, or ``(None, reason)``."""
    if key in ("Rows_sent", "Rows_examined"):
        v, why = schema.int_value(text, key, lo=0)
        return (None if v is None else float(v)), why
    v, why = schema.float_value(text, key, lo=0.0)
    return (None if v is None else v * 1000.0), why


def batches(src: Source, chunk_size: int) -> Iterator[Batch]:
    """One Batch per piece of input (see :func:`batches_from`)."""
    return batches_from(src.iter_chunks(chunk_size), src.accounting)


def batches_from(pieces, acct, lean: bool = False, sink=None, state: State | None = None) -> Iterator[Batch]:
    """One Batch per piece of text; a record cut by a piece boundary moves to the next piece.
    ``sink``: a digest (:class:`toolkit.queries.mysql_digest.SlowDigest`) that takes the records
    of every piece instead (it is what is yielded). ``state``: what carries in from before the
    first piece (:func:`state_before`)."""
    state = state or State()
    carry, carry_line = "", 1

    def parsed(text: str, line: int) -> tuple[Batch, int]:
        batch = sink if sink is not None else Batch(lean)
        return batch, _parse_text(text, line, acct, state, batch)

    for first_line, text in pieces:
        if carry and first_line != carry_line + carry.count("\n"):
            # a line between the pieces was left out (longer than the line limit): the record
            # kept back ends where it was
            yield parsed(carry, carry_line)[0]
            carry = ""
        if carry:
            text, first_line = carry + text, carry_line
        # the last record may continue in the next piece (a long statement spans several): keep
        # it back, from its '# Time:' line when it has one, even when it starts the piece
        start = safe_record_start(text)
        if start >= 0:
            body, carry = text[:start], text[start:]
        else:
            body, carry = text, ""
        # (the body ends at a line's end: the carried record starts at the line after it)
        batch, carry_line = parsed(body, first_line)
        yield batch
    if carry:
        yield parsed(carry, carry_line)[0]


_MARKERS_B = tuple(b"\n" + m.encode() for m in MARKERS)


def _record_start(fh, pos: int, size: int) -> int:
    """The offset of the first record that starts at or after ``pos`` (``size`` if none): the
    start (:func:`head_start`) of the header holding the first :data:`MARKERS` line after
    ``pos``; it may be a little before ``pos``. Deterministic, so two ranges cut at the same
    ``pos`` agree on where one ends and the next begins."""
    if pos <= 0:
        return 0
    window = 1 << 20
    while pos < size:
        fh.seek(pos - 1)
        data = fh.read(window)
        found = [i for i in (data.find(m) for m in _MARKERS_B) if i >= 0]
        if found:
            start = pos + min(found)  # the '#' of the marker line
            lo = max(0, start - 4096)
            fh.seek(lo)
            start = lo + head_start(fh.read(start - lo), start - lo, 0 if lo == 0 else 1)
            # back over records that may hold it inside a string literal (as safe_record_start)
            while start > 0:
                lo = max(0, start - window)
                fh.seek(lo)
                before = fh.read(start - lo)
                at = max(before.rfind(m) for m in _MARKERS_B) + 1
                if at <= 0:
                    break
                prev = lo + head_start(before, at, 0 if lo == 0 else 1)
                if not odd_quotes(before[prev - lo:].decode("utf-8", "replace")):
                    break
                start = prev
            return start
        if len(data) < window:
            break
        pos += window - 64  # overlap: the marker may straddle two windows
    return size


def state_before(path: str, start: int) -> State:
    """What carries into the records of the range that starts at byte ``start``: the ``use db``
    and the ``# Time:`` of the last records before the range's first record that have them, found
    by searching backwards from it (each candidate checked to be a record as the reader reads
    it), so a range read on its own gives its records the database and time they have when the
    whole file is read."""
    import mmap

    state = State()
    size = os.path.getsize(path)
    if size == 0:
        return state
    with open(path, "rb") as fh:
        lo = _record_start(fh, start, size)
        if lo == 0:
            return state
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            def record_at(line: int) -> tuple[str, str] | None:
                """``(time, use)`` of the record whose header holds the line starting at
                ``line``, if the reader reads one there ('': the record has none): from the
                header's start, line by line as the reader goes past junk lines."""
                begin = head_start(mm, line)
                qt = (line - 1 if mm[line:line + 14] == b"# Query_time: "
                      else mm.find(b"\n# Query_time: ", line, lo))
                if qt < 0:
                    return None
                # up to the next record's marker: the headers and the use / SET lines come before it
                nxt = [i for i in (mm.find(m, qt + 1, lo) for m in _MARKERS_B) if i >= 0]
                stop = min([*nxt, lo, qt + (1 << 20)]) + 1
                while begin <= line:
                    text = decode(mm[begin:stop], Accounting())
                    _, first, _, fields, _, _ = _native.scan(text, 0)
                    if first[:8] == bytes(8):  # (a record starts the text: its first line is 0)
                        return tuple(values[int.from_bytes(codes[:4], "little", signed=True)]
                                     for codes, values in (fields[_F_TIME], fields[_F_USE]))
                    begin = mm.find(b"\n", begin, stop) + 1  # a junk line: the next line
                    if begin == 0:
                        return None
                return None

            def last(marker: bytes, pick) -> str | None:
                """The value ``pick(record)`` of the last record before ``lo`` that has one, found
                from the nearest line starting with ``marker`` backwards."""
                end = lo
                while end > 0:
                    i = mm.rfind(b"\n" + marker, 0, end)
                    at = i + 1 if i >= 0 else (0 if mm[:len(marker)] == marker else -1)
                    if at < 0:
                        return None
                    if marker == b"use ":  # a 'use' line belongs to the record whose header is before it
                        at = mm.rfind(b"\n# Query_time: ", 0, at) + 1
                    m = record_at(at)
                    value = pick(m) if m is not None else None
                    if value:
                        return value
                    end = max(i, 0)
                return None

            state.time = last(b"# Time: ", operator.itemgetter(0))
            use = last(b"use ", operator.itemgetter(1))
            state.database = use.strip("`") if use else None
    return state


def range_pieces(path: str, start: int, end: int, acct, chunk_size: int = CHUNK_BYTES,
                 first_line: int | None = None) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` pieces of whole lines of the records that start in bytes
    ``[start, end)`` (both ends moved to a record start), decoded as :class:`Source` does;
    counts the lines read in ``acct``."""
    from .. import sources

    return sources.range_pieces(path, start, end, acct, _record_start, first_line=first_line,
                                chunk_size=chunk_size)


def check_found_something(src: Source, records: int) -> None:
    acct = src.accounting
    junk = acct.lines_skipped - acct.skip_reasons.get(BANNER_REASON, 0)
    if records == 0 and junk > 0:
        first = next((s for s in acct.skipped if s["reason"] != BANNER_REASON), {})
        raise ParseError(f"no slow log record found ({junk} lines; first: {first.get('text', '')[:80]!r})",
                         src.name, first.get("line"),
                         expected="records with a '# Query_time: .. Lock_time: .. Rows_sent: .. Rows_examined: ..' header")
