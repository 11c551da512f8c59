"""The MySQL / MariaDB / Percona slow-log scanner: text -> records, per piece of text.

One scanner for every way a slow log is read (:func:`scan_segment`: text -> a
:class:`~toolkit.queries.records.RecordBatch`): the DataFrame readers (:mod:`toolkit.queries.mysql`
build frames from the batches their :class:`Batch` takes), the streaming digest
(:mod:`toolkit.queries.mysql_digest`'s ``SlowDigest`` takes the same batches as the ``sink`` of
:func:`batches_from`) and the byte ranges of :func:`toolkit.queries.digest.digest_file`'s
worker processes (:func:`range_pieces`, :func:`state_before`).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import itertools
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
from ..sources import CHUNK_BYTES, Accounting, Source, decode
from .records import RecordBatch

FORMAT = "mysql-slow"

_HEADER_START = r"# (?:Time|User@Host): "
ADMIN = "# administrator command: "  # the statement line of a Quit, Ping, Prepare, ...
KV = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_]*): (\S*)")
USERHOST = re.compile(r"(?P<priv>[^\[]*)\[(?P<user>[^\]]*)\]\s*@\s*(?P<host>[^\[]*?)\s*"
                       r"(?:\[(?P<ip>[^\]]*)\])?(?:\s+Id:\s*(?P<id>\d+))?\s*$")
BANNER = re.compile(r"[^\n]*, Version: [^\n]*started with:\n(?:Tcp port:[^\n]*\n)?"
                     r"(?:Time\s+Id\s+Command\s+Argument[^\n]*(?:\n|$))?")

# header keys that are canonical columns, not extra ones: the four figures (FIGURES), the session
# (Thread_id / Id), the database (Schema, or the last `use`), and the client and user of records
# without '# User@Host:' ('# Client: ip:port' of pt-query-digest's slowlog output, '# User:'), read
# the same way by every way (:func:`who`)
CANONICAL = frozenset({"Query_time", "Lock_time", "Rows_sent", "Rows_examined", "Thread_id", "Id", "Schema",
                       "Client", "User"})
BANNER_REASON = "server start banner (see read_server_events)"
# The size of the pieces of text the whole-file readers and the digest scan at a time. Records
# never straddle pieces (a cut record moves whole to the next piece), so it changes no result;
# 4 MiB keeps one piece's regex tuples and column lists (about twice the piece) small next to
# the table: a 16 MiB piece cost the reader a third more peak memory, for no speed.
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
        ``acct``."""
        records.account(acct, ["# User@Host: " + u for u in records.columns.get("userhost", ())])
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


def _parse_segment(text: str, first_line: int, acct, state: State, batch) -> int:
    """Records of ``text`` (no banner inside) scanned into one :class:`RecordBatch`
    (:func:`scan_segment`) that ``batch`` takes (a reader's :class:`Batch` or the digest,
    :class:`toolkit.queries.mysql_digest.SlowDigest`); returns the line after them. Every way
    reads records with the one scanner, so they agree on where records are and which lines are
    skipped, damaged input included."""
    records = scan_segment(text, first_line, state, full=not batch.lean)
    batch.take(records, acct)
    return records.first + records.lines


# The records' regex, of every way (the readers, the digest, byte ranges): the Query_time line is
# part of the record pattern, so its four figures come out of the one findall; a record without
# it is not a record (its lines become junk lines, and a junk run holding a '# User@Host:' line is
# reported as a truncated record). A record starts at its '# Time:' line, else its '# User@Host:'
# line, else the first of the header lines ('#' lines) that end with its '# Query_time:' line:
# old servers and pt-query-digest's own '--output slowlog' write no '# User@Host:' ('# Client:',
# '# Thread_id:' or nothing), and some logs start at '# Query_time:'. A statement ends where the
# next record starts (:data:`RECORD_AHEAD`), so a byte range cut at a record start reads as the
# whole (see :func:`head_start`).
MARKERS = ("# Time: ", "# User@Host: ", "# Query_time: ")  # the lines a record's header holds
_HEADER = rf"#(?! {ADMIN[2:]})[^\n]*\n"  # a '#' line that is not an administrator command
RECORD_AHEAD = rf"{_HEADER_START}|(?:{_HEADER})*# Query_time: "
# A statement's text when quotes are followed across lines: runs of plain characters, string
# literals ('...', "...", with backslash escapes; '' is two of them), `identifiers`, /* comments */
# and '-- ' comments, each whole; a quote never closed stands for itself. Possessive, so a line
# that does not end as a statement line fails at once instead of trying every split.
_TOKENS = (r"""(?:[^'"`/\n-]++|'(?:[^'\\]++|\\[\s\S])*+'|"(?:[^"\\]++|\\[\s\S])*+"|`[^`]*+`"""
           r"""|/\*[\s\S]*?\*/|-- [^\n]*+|[^\n])*+""")


def _lean_item(quotes: bool) -> re.Pattern:
    """The records' regex (:data:`LEAN_ITEM`); ``quotes``: a statement line ends only outside a
    string literal, so header-like lines inside one stay in the statement (:func:`find_items`)."""
    line = _TOKENS if quotes else r"[^\n]*"
    last = _TOKENS[:-2] + "++" if quotes else r"[^\n]+"  # (the last line, without a line break)
    return re.compile(
        # (old servers sometimes wrote '# Time: ...' and '# User@Host: ...' on one line)
        r"((?:# Time: ([^\n]*?)(?:\n| (?=# User@Host: )))?"
        r"(?:# User@Host: ([^\n]*)\n)?"
        rf"((?:#(?! Query_time: | {_HEADER_START[2:]}| {ADMIN[2:]})[^\n]*\n)*)"
        # (Lock_time, Rows_sent and Rows_examined may be missing: '# Query_time: 1' alone is a
        # record to pt-query-digest, percona-toolkit's t/lib/samples/slowlogs/slow047.txt)
        r"# Query_time: (\S+)(?:\s+Lock_time: (\S+)\s+Rows_sent: (\S+)\s+Rows_examined:[ \t]*(\S+))?([^\n]*)\n"
        # (a '# administrator command: Quit;' line is the statement, not a header: pt-query-digest
        # keeps such records, and so do we)
        rf"((?:#(?! {_HEADER_START[2:]}| Query_time: | {ADMIN[2:]})[^\n]*\n)*)"
        r"(?:use ([^\n]*);\n)?"
        r"(?:SET timestamp=(\d+);\n)?"
        rf"((?:(?!{RECORD_AHEAD}){line}\n)*(?:(?!{RECORD_AHEAD}){last}$)?))"
        r"|([^\n]*\n|[^\n]+$)"
    )


LEAN_ITEM = _lean_item(quotes=False)
LEAN_ITEM_QUOTES = _lean_item(quotes=True)


_STATEMENT = operator.itemgetter(12)  # a LEAN_ITEM item's statement


def odd_quotes(text: str) -> bool:
    """Whether ``text`` holds an odd number of unescaped single or double quotes (a statement
    that may end inside a string literal; ``\\'`` is escaped, ``''`` is two)."""
    for q in ("'", '"'):
        n = text.count(q)
        if n & 1 and (n - text.count("\\" + q)) & 1:
            return True
    return False


def open_literal(st: str) -> bool:
    """Whether a statement as :data:`LEAN_ITEM` cut it may end inside a string literal: it does
    not end with the ``;`` mysqld writes after every statement (pt-query-digest's records end at
    ``;\n#`` too) and holds an odd number of unescaped quotes (:func:`odd_quotes`)."""
    return bool(st) and not st.rstrip().endswith(";") and odd_quotes(st)


def find_items(text: str) -> list[tuple]:
    """``LEAN_ITEM.findall(text)``, every way's records and junk lines. A statement cut at a line
    that looks like a header may have ended inside a string literal (``'...\n# Query_time: 99
    ...'``, :func:`open_literal`): that record is read again from its start following quotes
    across lines (:data:`LEAN_ITEM_QUOTES`), so its statement stays whole, and the reading goes on
    after it. Only such records pay for it (the others: whether they end with ``;``)."""
    items = LEAN_ITEM.findall(text)
    # the common case: every statement ends with mysqld's ';' (one C-level look each)
    if not any(map(open_literal, [st for st in map(_STATEMENT, items) if not st.endswith(";\n")])):
        return items
    out: list[tuple] = []
    base, k = 0, 0
    starts = list(itertools.accumulate((len(item[0] or item[13]) for item in items), initial=0))
    while k < len(items):
        if not open_literal(items[k][12]):
            out.append(items[k])
            k += 1
            continue
        m = LEAN_ITEM_QUOTES.match(text, base + starts[k])
        out.append(tuple(g or "" for g in m.groups()))
        # go on with the items read already from where that record ends (the line after it
        # starts a record or is a junk line either way), else read on from there
        k = bisect.bisect_left(starts, m.end() - base, k + 1)
        if k == len(starts) or starts[k] != m.end() - base:
            base, k = m.end(), 0
            items = LEAN_ITEM.findall(text, base)
            starts = list(itertools.accumulate((len(item[0] or item[13]) for item in items), initial=0))
    return out


def head_start(buf, at: int, lo: int = 0) -> int:
    """Where the record whose header holds the line starting at ``at`` starts: the first of the
    '#' lines (not an administrator command) just before it, looking no further back than ``lo``.
    ``buf``: str, bytes or an mmap. The lines that start a record as :data:`LEAN_ITEM` reads the
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


def _carry_forward(values, current, convert=None) -> tuple[list, Any]:
    """Each item's latest non-empty value so far (``current`` before the first), and the last."""
    n = len(values)
    if not any(values):  # (one C-level look: 'use db;' is rare)
        return [current] * n, current
    has = np.fromiter(map(bool, values), dtype=bool, count=n)
    pos = np.maximum.accumulate(np.where(has, np.arange(1, n + 1), 0))
    table = np.empty(n + 1, dtype=object)
    table[0] = current
    at = np.flatnonzero(has)
    table[at + 1] = [convert(values[i]) for i in at.tolist()] if convert else [values[i] for i in at.tolist()]
    out = table[pos].tolist()
    return out, out[-1]


_HEADERS: dict[tuple[str, str, str], tuple[dict[str, str], str | None]] = {}  # see _headers
_PRE_HEADERS: dict[str, dict[str, str]] = {}  # the header lines before '# Query_time:' -> their keys


def _headers(pre: str, tail: str, post: str) -> tuple[dict[str, str], str | None]:
    """Every ``Key: value`` header of a record (the lines before its '# Query_time:' line, that
    line's tail, the lines after) and its EXPLAIN rows as JSON (None: none), from the texts
    :data:`LEAN_ITEM` cuts; :data:`_HEADERS` keeps them by those texts (a log repeats few). KV's
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
#   query_time, lock_time, rows_sent, rows_examined: the '# Query_time:' line's figures (text)
#   extra, plan  (full scans only) every header as a dict (one dict per distinct header text, shared:
#                read-only); MariaDB's EXPLAIN rows as JSON text
FIGURE_COLUMNS = ("query_time", "lock_time", "rows_sent", "rows_examined")


def scan_segment(text: str, first_line: int, state: State, full: bool = True) -> RecordBatch:
    """The records of ``text`` (no banner inside, from input line ``first_line``) as a
    :class:`RecordBatch` (columns above). One ``findall`` over the text (records, or single lines
    no record claims), then column-wise list operations instead of a loop body per record.
    ``full=False`` (the digest) leaves ``extra`` and ``plan`` out. ``state`` carries the current
    '# Time:' and database in and out. A record without a statement is a SKIPPED row."""
    items = find_items(text)
    if not items:
        return RecordBatch.empty(first_line, text.count("\n") + (1 if text and text[-1] != "\n" else 0))
    (whole, times, userhosts, pres, qt, lt, rs, rx, tails, posts, uses, tss, stmts,
     junks) = zip(*items, strict=True)
    # lines per item: its line breaks, plus one for a last line without a break (one count over
    # the whole record, captured by the outer group, instead of one per part)
    # (only the text's last item can lack its line break: every other ends where the next begins)
    nl = list(map(str.count, whole, itertools.repeat("\n")))
    recs = [i for i, j in enumerate(junks) if not j]
    if len(recs) < len(items):
        for i, j in enumerate(junks):
            if j:
                nl[i] = 1  # a junk item is one line
    if not junks[-1] and whole[-1][-1] != "\n":
        nl[-1] += 1
    del whole
    starts = list(itertools.accumulate(nl, initial=first_line))
    # (the items tile the text, each ending at a line's end: their lines are the text's, without
    # one more pass over it to count them)
    lines = starts[-1] - first_line
    # junk lines, in runs
    skips: list[tuple[int, str, str, int]] = []
    if len(recs) < len(items):
        is_rec = set(recs)
        i, n = 0, len(items)
        while i < n:
            if i in is_rec:
                i += 1
                continue
            k = i
            while k < n and k not in is_rec:
                k += 1
            run = "".join(junks[i:k])
            reason = ("truncated record (no '# Query_time:' header)" if "# User@Host: " in run
                      else "not part of a slow log record")
            skips.append((starts[i], reason, run, k - i))
            i = k
    if not recs:
        return RecordBatch.empty(first_line, lines, skips=skips)
    if len(recs) == len(items):  # the common case: every item is a record
        def pick(seq):
            return seq
    else:
        pick = operator.itemgetter(*recs) if len(recs) > 1 else (lambda seq: (seq[recs[0]],))
    times, userhosts, pres, tails, posts, uses, tss, stmts = (
        pick(x) for x in (times, userhosts, pres, tails, posts, uses, tss, stmts))
    # '# Time:' and 'use db;' carry forward (numpy positions, not a loop per record)
    time_col, state.time = _carry_forward(times, state.time)
    use_col, state.database = _carry_forward(uses, state.database, lambda u: u.strip("`"))
    stmts = list(map(statement_text, stmts))
    # the headers before '# Query_time:' (Thread_id, Schema): each distinct text read once for
    # all pieces (a log repeats few; restart banners cut it into many small segments)
    kvs = list(map(_PRE_HEADERS.get, pres))
    if None in kvs:
        if len(_PRE_HEADERS) > 20_000:
            _PRE_HEADERS.clear()
        for k, kv in enumerate(kvs):
            if kv is None:
                kv = _PRE_HEADERS.get(pres[k])
                kvs[k] = kv if kv is not None else _PRE_HEADERS.setdefault(pres[k], dict(KV.findall(pres[k])))
    reasons: dict[int, str] = {}
    # the rare cases, one look each: only statements that start with '#' or whitespace, or are empty
    rare = [k for k, st in enumerate(stmts) if not st or st[0] == "#" or st[0].isspace()]
    for k in rare:
        st = stmts[k]
        if st[:1] == "#" and st.startswith(ADMIN):
            stmts[k] = st[2:]
        elif not st.strip():
            if uses[k] and not tss[k]:
                stmts[k] = f"use {uses[k]}"
            else:
                reasons[k] = "truncated record (no statement)"
    columns: dict[str, Any] = {
        # (the '# User@Host:' line: after the '# Time:' line where the record has one)
        "source_line": list(map(operator.add, map(starts.__getitem__, recs), map(bool, times))),
        "ts": [x or None for x in tss], "time": time_col, "userhost": list(userhosts),
        "headers": kvs, "database": [kv.get("Schema") or d for kv, d in zip(kvs, use_col, strict=True)],
        "statement": stmts,
    }
    for name, c in zip(FIGURE_COLUMNS, (qt, lt, rs, rx), strict=True):
        columns[name] = list(pick(c))
    if full:  # every header line (the '# Query_time:' line's tail too) and the EXPLAIN
        # The headers repeat (a busy server's log holds a few hundred kinds): each distinct
        # text is read once, and its records share one dict (read-only: _frame numbers them)
        got = list(map(_HEADERS.get, zip(pres, tails, posts, strict=True)))
        if None in got:
            if len(_HEADERS) > 20_000:
                _HEADERS.clear()
            for k, g in enumerate(got):
                if g is None:
                    key = (pres[k], tails[k], posts[k])
                    g = _HEADERS.get(key)
                    got[k] = g if g is not None else _HEADERS.setdefault(key, _headers(*key))
        columns["extra"] = [g[0] for g in got]
        columns["plan"] = [g[1] for g in got]
    return RecordBatch.of(first_line, lines, columns, [starts[i] for i in recs], [nl[i] for i in recs],
                          reasons=reasons, skips=skips)


def _parse_text(text: str, first_line: int, acct, state: State, batch: Batch) -> int:
    """Split ``text`` at server start banners, parse the pieces between them; returns the line
    after the text."""
    hit = text.find("started with:")  # (one look for banners: the loop below starts at it)
    if hit < 0:
        return _parse_segment(text, first_line, acct, state, batch)
    pos, line = 0, first_line
    while hit >= 0:
        bol = text.rfind("\n", 0, hit) + 1
        m = BANNER.match(text, bol)
        if not m or bol < pos:
            hit = text.find("started with:", hit + 1)
            continue
        seg = text[pos:bol]
        line = _parse_segment(seg, line, acct, state, batch)
        banner = m.group(0)
        n = banner.count("\n") + (0 if banner.endswith("\n") else 1)
        first = banner.split("\n", 1)[0]
        batch.banners.append({"event": "other", "message": "server start: " + first.replace(" started with:", ""),
                              "detail": " | ".join(x.strip() for x in banner.split("\n")[1:] if x.strip()),
                              "source_line": line, "_records_before": batch.count()})
        acct.skip(line, BANNER_REASON, first, count=n)
        line += n
        pos = m.end()
        hit = text.find("started with:", pos)
    return _parse_segment(text[pos:], line, acct, state, batch)


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
            def record_at(line: int) -> re.Match | None:
                """The record (a match of LEAN_ITEM's record part) whose header holds the line
                starting at ``line``, if the reader reads one there: from the header's start,
                line by line as the reader goes past junk lines."""
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
                    m = LEAN_ITEM.match(text)
                    if m is not None and m.group(1) is not None:
                        return m
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

            state.time = last(b"# Time: ", lambda m: m.group(2))
            use = last(b"use ", lambda m: m.group(11))
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
