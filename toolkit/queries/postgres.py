"""PostgreSQL server logs (stderr with any log_line_prefix, csvlog, jsonlog) as query events.

Format reference (PostgreSQL 15):
https://www.postgresql.org/docs/15/runtime-config-logging.html (log_line_prefix, csvlog columns
in "Using CSV-Format Log Output", jsonlog keys in "Using JSON-Format Log Output") and
https://www.postgresql.org/docs/15/auto-explain.html.

Three formats, one result: :func:`read_postgres_stderr`, :func:`read_postgres_csvlog` and
:func:`read_postgres_jsonlog` give the ``query_events`` table; the ``*_server_events``
functions give the same log's other lines as the ``server_events`` table (also through
``tk.read_server_events``). How messages become rows is documented in
:mod:`toolkit.queries.pg_events`; the summary:

- one row per ``statement`` / ``parse`` / ``bind`` / ``execute`` (``kind``), with ``duration_ms``,
  the SQL in ``statement`` and the DETAIL ``parameters: $1 = '10'`` text in ``parameters``;
- an auto_explain plan is attached to its statement's row (``plan``: JSON text, or the text plan
  as logged) and not kept as a row of its own; only a plan whose statement line is not in the
  log stays as a ``kind="plan"`` row, which a digest must skip (its time is the statement's);
- unpaired duration-only lines (``log_duration``) are ``kind="duration"`` rows.

``session`` is ``%c`` (stderr, when in the prefix) or csvlog/jsonlog's session id; otherwise
the pid (``%p``). ``client`` is the host without the port.

Quirks, next to real lines (from ``sample_traces/queries/postgresql``):

- stderr continues a multi-line message on lines that start with a TAB, and so does a parameter
  value holding a newline; the TAB is not part of the text::

      2026-11-26 05:09:27.513 UTC [12163] postgres@app DETAIL:  parameters: $1 = '1000', $2 = '%a<TAB>b
      <TAB>c%'

- with the extended protocol auto_explain's plan comes *after* the ``execute`` line, with the
  simple protocol *before* the ``statement`` line (see :mod:`toolkit.queries.pg_events`);
- PostgreSQL 15 writes ``DETAIL:  parameters:`` in lower case, 13 and older ``Parameters:``;
- ``%q`` drops the user/database part for background processes::

      2026-11-26 05:09:23.468 UTC [12018] LOG:  automatic vacuum of table "app.public.customers": ...

- ``%t`` has no milliseconds and the zone is log_timezone's abbreviation
  (``2026-11-26 00:09:32 EST``): converted to UTC (:mod:`toolkit.queries.pg_time`);
- csvlog has 23 columns up to 12, 24 on 13 (``backend_type``), 26 on 14-17 (``leader_pid``,
  ``query_id``); quoted fields hold raw newlines; ``connection_from`` is ``host:port``;
- jsonlog (15+) leaves out keys whose value is NULL.

Values (:mod:`toolkit.schema`; the same in every way a log is read: one process, two workers,
byte ranges, the direct digest): a record whose time stamp is not a valid time or lies outside
the years 1678-2261 (``9999-11-26 ...``, other digits), or whose duration is not a finite number
(``duration: ١٢ ms``), is skipped with that reason; a jsonlog key of the wrong JSON type skips
its line; a server event's size or time that is no number of its kind is null, the event kept.

Speed: stderr is parsed a 16 MiB chunk at a time with one regular expression over the whole
chunk (continuation lines are first folded into their record), columns are built as lists and
timestamps converted by pandas in one call; chunks are parsed in two worker processes
(``workers=2``, the default on a machine with two cores or more; ``workers=1`` parses in this
process). A reader of query events only (``read_queries``) takes
:meth:`_StderrParser.parse_queries`: one pass that builds rows for the query records alone (the
same table; a chunk with a line to skip goes through the full parse, which accounts for it).
:func:`iter_query_chunks` yields one DataFrame per chunk for streaming analyses, so memory stays
bounded by a few chunks whatever the file size. csvlog and jsonlog are read a chunk at a time too,
in this process (Python's csv and json modules). A digest of a stderr log
(:func:`toolkit.queries.digest.digest_file`) skips the DataFrame altogether
(:mod:`toolkit.queries.pg_digest`), and on a plain file gives each of two processes a byte range
(:func:`split_postgres_stderr`'s boundaries) that it reads and digests itself.

Example::

    >>> import toolkit as tk
    >>> events = tk.read_queries("sample_traces/queries/postgresql/app/postgresql.log.gz")  # doctest: +SKIP
    >>> events.groupby("kind").duration_ms.sum()                                          # doctest: +SKIP
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import gc
import io
import itertools
import multiprocessing
import operator
import os
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import formats, schema
from ..errors import LogFormatError, ParseError
from ..sources import (
    CHUNK_BYTES,
    MAX_EXAMPLES,
    Accounting,
    Source,
    default_limits,
    lines_before,
    load_json,
    open_source,
    read_range,
    recut,
)
from .pg_csvjson import CSV_COLUMNS, _ahead, _iter_csv_raw, _iter_json_raw
from .pg_events import (
    _QUERY_RAW,
    _TRANSLATED_DURATION,
    ENGLISH,
    MESSAGE_RE,
    SECONDARY,
    _flags,
    query_rows,
    raw_frame,
    split_events,
    translated_lines,
)
from .pg_prefix import (
    KNOWN_PREFIXES,
    SEVERITIES,
    SEVERITY_RE,
    check_prefix,
    compile_prefix,
    detect_prefix,
    prefix_pattern,
    unknown_prefix_error,
)
from .pg_time import epoch_to_utc, plain_stamp, utc_times

_MARKS = ("\x1f", "\x1e", "\ue000", "\ue001")
_DURATION_ONLY = re.compile(r"  duration: \d+(?:\.\d+)? ms$")
# a record that belongs with the next one: a plan (simple protocol, DML), a parse or a bind
_HOLDS_NEXT = re.compile(r"  plan:$|  duration: \d+(?:\.\d+)? ms  (?:parse|bind) ")
_IS_PARAMS = operator.methodcaller("startswith", ("parameters: ", "Parameters: "))
_JUNK, _FOREIGN, _PRIMARY, _SECONDARY_CODE = 0, 1, 2, 3
_SEVERITY_CODE = {"": _JUNK, **{s: _PRIMARY for s in ENGLISH}, **{s: _SECONDARY_CODE for s in SECONDARY}}


# ----------------------------------------------------------------------------------- stderr

# The prefix's fields query events keep (scan_queries captures these by default).
QUERY_FIELDS = frozenset({"ts", "tz", "pid", "session", "user", "database", "application", "client"})


class QueryScan(NamedTuple):
    """:meth:`_StderrParser.scan_queries`'s result. ``rows``: the regex matches (tuples, group
    positions in ``gi``) of the query-event records (``LOG`` with a duration or a verb), file
    order; ``starts`` / ``nlines``: their first input line and their lines; ``params``: row
    position -> DETAIL parameters text; ``server_lines``: the lines of all other records;
    ``mark``: the character standing for a continuation line break in the texts (None: none)."""

    rows: list[tuple]
    gi: dict[str, int]
    starts: list[int]
    nls: list[int]
    params: dict[int, str]
    server_lines: int
    mark: str | None

    def sessions(self) -> list:
        """``%c`` where the prefix has it and the line too, else ``%p`` (None without either)."""
        if not self.rows:
            return []
        cols = list(zip(*self.rows, strict=True))
        pid = cols[self.gi["pid"]] if "pid" in self.gi else None
        session = cols[self.gi["session"]] if "session" in self.gi else None
        if session is None:
            return pid if pid is not None else [None] * len(self.rows)
        if pid is None:
            return session
        return [s or p for s, p in zip(session, pid, strict=True)]


def ends_wait(m: re.Match) -> bool:
    """Whether a line (a match of :func:`compile_prefix`'s pattern) ends its session's wait for a
    later record (a plan's statement, a parse's execute, a log_statement's duration): a
    query-event record (``LOG`` with a duration or a verb) does, and so does a disconnection
    (nothing of the session follows it); a server event between them (``temporary file``) does
    not, as :func:`~toolkit.queries.pg_events.split_events` pairs query records only."""
    if m["severity"] != "LOG":
        return False
    message = m["message"]
    q = MESSAGE_RE.match(message)
    return bool(q["dur"] or q["verb"]) or message.startswith("disconnection: ")


def _record_match(line_rx: re.Pattern, secondary_rx: re.Pattern, line: str) -> re.Match | None:
    """The match of a line that starts a record the reader reads (the prefix, an English
    severity, not a continuation or DETAIL/STATEMENT/... line); None for any other line."""
    if line.startswith("\t") or secondary_rx.match(line):
        return None
    m = line_rx.match(line)
    return m if m is not None and m["severity"] in ENGLISH else None


def _session_key(m: re.Match):
    g = m.groupdict()
    return g.get("session") or g.get("pid")


_LOG_STATEMENT = re.compile(r"(?:LOG|ERROR):  (?:statement|execute[^:\n]*): ")
_CUT_WINDOW = 1 << 18  # how far back from a chunk's end _settled looks for a place to cut


class Unreadable(Exception):
    """A buffer holds a line the full parse (``_StderrParser.parse``) must account for."""


def query_records(rows: list[tuple], gi: dict[str, int], mark: str | None, first_line: int,
                  others: list[int]) -> Iterator[tuple[int, tuple, int, int, str | None]]:
    """The query-event records (``LOG`` with a duration or a verb) of a buffer's regex matches
    ``rows`` (file order, group positions ``gi``; continuation line breaks as ``mark``):
    ``(position, match, first line, lines, DETAIL parameters as matched)``, each with its
    secondary lines (DETAIL, STATEMENT, ...) taken in. ``others[0]`` counts the lines of all
    other records. Raises :class:`Unreadable` at a line that would be skipped (not the prefix,
    a foreign severity, a translated message, a secondary line without its record, a time stamp
    or a duration that is not :func:`~toolkit.queries.pg_time.plain_stamp` / plain ASCII)."""
    i_sev, i_dur, i_verb, i_msg, i_dp = gi["severity"], gi["dur"], gi["verb"], gi["message"], gi["dparams"]
    i_ts = gi.get("ts")
    code_get = _SEVERITY_CODE.get
    translated = _TRANSLATED_DURATION.match
    line = first_line
    last = len(rows) - 1
    head = None  # the current record: 1 a query record, -1 another, None none yet
    skip = 0     # secondary rows already taken with their query record
    for k, row in enumerate(rows):
        if skip:
            skip -= 1
            continue
        sev = row[i_sev]
        code = code_get(sev, _FOREIGN)
        nl = 1
        dp = row[i_dp]
        if mark:
            nl += row[i_msg].count(mark)
            if dp:
                nl += dp.count(mark)
        if dp:
            if code != _PRIMARY:
                raise Unreadable
            nl += 1
        if code == _SECONDARY_CODE and head is not None:
            others[0] += nl  # a secondary line of a record that is not a query (those take theirs)
            line += nl
            continue
        if code != _PRIMARY:
            raise Unreadable
        # values the reader would refuse (a time stamp it cannot hold, a duration in other
        # digits): the full parse skips such records with their reason
        if i_ts is not None and row[i_ts] and not plain_stamp(row[i_ts]):
            raise Unreadable
        dur = row[i_dur]
        if dur and not (len(dur) <= 20 and dur.isascii()):
            raise Unreadable
        if sev != "LOG" or not (dur or row[i_verb]):
            if sev == "LOG" and translated(row[i_msg]):
                raise Unreadable
            head = -1
            others[0] += nl
            line += nl
            continue
        head = 1
        # its secondary lines (a DETAIL with the parameters, where its prefix differs from the
        # query line's) come right after it
        params = dp[12:] if dp else None
        j = k + 1
        while j <= last and code_get(rows[j][i_sev], _FOREIGN) == _SECONDARY_CODE:
            sec = rows[j]
            if sec[i_dp]:
                raise Unreadable
            nl += 1 + (sec[i_msg].count(mark) if mark else 0)
            if sec[i_sev] == "DETAIL" and _IS_PARAMS(sec[i_msg]):
                params = sec[i_msg][12:]
            j += 1
        skip = j - k - 1
        yield k, row, line, nl, params
        line += nl


def _ts_format(ts) -> str:
    """%m (milliseconds) or %t, from the first time stamp there is (%q may leave some out)."""
    first = next((x for x in ts if x), "")
    return "%Y-%m-%d %H:%M:%S.%f" if "." in first else "%Y-%m-%d %H:%M:%S"


class _StderrParser:
    """Parses buffers of whole records of one stderr log with one compiled prefix."""

    def __init__(self, prefix: str, name: str, log_timezone: str | None):
        self.prefix = prefix
        self.name = name
        self.log_timezone = log_timezone
        pp = prefix_pattern(prefix)
        self.secondary_rx = re.compile(pp + r"(?:" + "|".join(SECONDARY) + r"):  ")
        self._line_rx = compile_prefix(prefix)
        self.mark = _MARKS[0]
        self._compile(self.mark)

    def _compile(self, mark: str) -> None:
        pp = prefix_pattern(self.prefix)
        m = re.escape(mark)
        self.rx = re.compile(
            r"^(?:" + pp + SEVERITY_RE
            + rf"(?:duration: (?P<dur>\d+(?:\.\d+)?) ms(?:  |$|(?={m})))?"
            + r"(?:(?P<verb>statement|parse|bind|execute fetch from|execute|plan)"
            + rf"(?: (?P<pname>[^:\n{m}]*?))?:(?: |$|(?={m})))?"
            + r"|)(?P<message>[^\n]*)$", re.M)
        self.gi = {k: v - 1 for k, v in self.rx.groupindex.items()}
        # The same, and a query line takes the DETAIL "parameters:" line right after it into its
        # match (a third of a typical log's lines are such DETAIL lines: one row fewer each).
        plain = re.sub(r"\(\?P<\w+>", "(?:", pp)
        self.rx_fold = re.compile(
            self.rx.pattern[:-1]
            + rf"(?(verb)(?:\n{plain}DETAIL:  (?P<dparams>[Pp]arameters: [^\n]*))?)$", re.M)
        self.gi_fold = {k: v - 1 for k, v in self.rx_fold.groupindex.items()}
        # The query-events-only pattern (parse_queries): the same records and message split, the
        # prefix's fields that query events keep, and the DETAIL "parameters:" line taken into
        # the match only when its prefix is the query line's own, compared as a back reference
        # (PostgreSQL writes one prefix for all lines of a message, %l aside): no second prefix
        # match for a third of the lines. When it differs, the DETAIL line is a record of its own
        # and is attached to its query line afterwards, as in parse().
        self._lean: dict[frozenset, tuple[re.Pattern, dict[str, int]]] = {}

    def lean_rx(self, fields: frozenset) -> tuple[re.Pattern, dict[str, int]]:
        """The query-events-only pattern capturing the prefix ``fields`` (fewer groups, fewer
        strings per line) and its group positions, for the current mark."""
        got = self._lean.get(fields)
        if got is None:
            m = re.escape(self.mark)
            pp = re.sub(r"\(\?P<(\w+)>", lambda g: g[0] if g[1] in fields else "(?:",
                        prefix_pattern(self.prefix))
            rx = re.compile(
                r"^(?:(?P<pre>" + pp + ")" + SEVERITY_RE
                + rf"(?:duration: (?P<dur>\d+(?:\.\d+)?) ms(?:  |$|(?={m})))?"
                + r"(?:(?P<verb>statement|parse|bind|execute fetch from|execute|plan)"
                + rf"(?: [^:\n{m}]*?)?:(?: |$|(?={m})))?"
                + r"|)(?P<message>[^\n]*)"
                + r"(?(verb)(?:\n(?P=pre)DETAIL:  (?P<dparams>[Pp]arameters: [^\n]*))?)$", re.M)
            got = self._lean[fields] = (rx, {k: v - 1 for k, v in rx.groupindex.items()})
        return got

    def folded(self, text: str) -> str:
        """``text`` with each continuation line break (``\n\t``) turned into ``self.mark``, a
        character the text does not hold (the patterns are compiled for it), and without its
        last line break: one record per line for the patterns."""
        mark = next(m for m in _MARKS if m not in text)
        if mark != self.mark:
            self.mark = mark
            self._compile(mark)
        t = text.replace("\n\t", mark)
        return t[:-1] if t.endswith("\n") else t

    def cut(self, buf: str, floor: int = 0) -> int:
        """Where to end a chunk: at the start of a record (a line that is neither a TAB
        continuation nor a DETAIL/STATEMENT/... line) that is not an auto_explain plan, not a
        duration-only line, and not right after a plan, a parse or a bind; so a plan and its
        statement, a parse/bind and its execute, or a log_statement line and its duration stay
        in one chunk. First choice: the last such place in the chunk's last 256 KiB where no
        session waits for a later record either (:meth:`_settled`: sessions interleave); a
        shorter chunk without one is carried over whole. Else the rule above about the record
        before the place alone (unless 200 such records follow each other: a log of
        log_statement lines without durations never settles). 0 means: no place found, carry
        the whole buffer over. ``floor``: no place of that last rule lies before it (the part
        of ``buf`` already searched), so a record of many lines is not searched again and
        again."""
        pos = len(buf) - 1 if buf.endswith("\n") else len(buf)
        # (the whole window, carried part included: a session may have opened in it)
        best = self._settled(buf, max(0, pos - _CUT_WINDOW), pos)
        if best:
            return best
        if len(buf) < _CUT_WINDOW:
            return 0  # carry it over: the next chunk may bring a settled place
        candidate: int | None = None  # a good start, if the record before it is not a plan
        records = 0
        while True:
            start = buf.rfind("\n", 0, pos) + 1
            line = buf[start:pos]
            if not (line.startswith("\t") or self.secondary_rx.match(line)):
                is_plan = line.endswith("  plan:")
                if candidate is not None and (_HOLDS_NEXT.search(line) is None or records >= 200):
                    return candidate
                pairs = is_plan or _DURATION_ONLY.search(line) is not None
                candidate = start if not pairs or records >= 200 else None
                records += 1
            if start <= floor:
                return candidate or 0
            pos = start - 1

    def _settled(self, buf: str, lo: int, end: int) -> int:
        """The last record start in ``buf[lo:end]`` where a chunk may end and no session waits
        for a later record (a log_statement line for its duration, a plan, parse or bind for its
        statement), as :func:`_boundary` decides between byte ranges: sessions interleave, so
        the record just before a cut is not the only one that may be cut from its partner. 0:
        none (the caller falls back to the rule about the record before the cut alone)."""
        i = lo if lo == 0 or buf[lo - 1] == "\n" else buf.find("\n", lo) + 1
        if i <= 0 and lo > 0:
            return 0
        best, first, prev_holds = 0, True, False
        open_at: dict = {}  # session -> where its waiting record starts (opened in the window)
        while i < end:
            j = buf.find("\n", i)
            j = len(buf) if j < 0 else j
            line = buf[i:j]
            # a line that is no record (damage: the reader skips it) is no place to cut either:
            # a plan and the execute before it, with such a line between them, stay together
            m = _record_match(self._line_rx, self.secondary_rx, line)
            if m is not None:
                if not (first or prev_holds or open_at or line.endswith("  plan:")
                        or _DURATION_ONLY.search(line)):
                    best = i
                first = False  # (the record before the window's first is not known)
                prev_holds = _HOLDS_NEXT.search(line) is not None
                key = _session_key(m)
                if prev_holds or ("  duration: " not in line and _LOG_STATEMENT.search(line)):
                    open_at.setdefault(key, i)
                elif ends_wait(m):  # (a server event of the session partners nothing)
                    open_at.pop(key, None)
            i = j + 1
        return best

    def parse(self, text: str, first_line: int, acc, lean: bool = False) -> pd.DataFrame:
        """The raw records of ``text`` (whole records, starting at input line ``first_line``).
        ``lean``: leave out the columns only server events use (pid, sqlstate, detail, hint,
        context, statement, query_id: nulls), for a reader of query events only."""
        t = self.folded(text)
        mark = self.mark
        rows = self.rx_fold.findall(t) if t or text else []
        if not rows:
            return raw_frame({"source_line": []})
        cols = list(zip(*rows, strict=True))
        del rows
        gi = self.gi_fold
        sev_t = cols[gi["severity"]]
        # severities are a handful of words: code them with a dict, compare small ints
        code = _SEVERITY_CODE
        codes = np.fromiter(map(code.get, sev_t, itertools.repeat(_FOREIGN)), dtype=np.int8,
                            count=len(sev_t))
        dparams = cols[gi["dparams"]]
        folded = np.fromiter(map(bool, dparams), dtype=bool, count=len(dparams))
        if folded.any() and (codes[folded] != _PRIMARY).any():
            # a DETAIL after a line that is not an English record: no folding in this chunk,
            # so such lines are accounted for exactly as before
            cols = list(zip(*self.rx.findall(t), strict=True))
            gi = self.gi
            sev_t = cols[gi["severity"]]
            codes = np.fromiter(map(code.get, sev_t, itertools.repeat(_FOREIGN)), dtype=np.int8,
                                count=len(sev_t))
            folded = np.zeros(len(sev_t), dtype=bool)
        sev = np.array(sev_t, dtype=object)
        raw_msgs = cols[gi["message"]]
        n = len(sev_t)
        if mark in t:
            extra = np.fromiter(map(operator.methodcaller("count", mark), raw_msgs), dtype=np.int64,
                                count=n)
            messages = list(raw_msgs)
            for i in np.flatnonzero(extra).tolist():
                messages[i] = messages[i].replace(mark, "\n")
        else:
            extra = np.zeros(n, dtype=np.int64)
            messages = raw_msgs
        nlines = extra + 1
        fold_idx = np.flatnonzero(folded)
        fold_params = []
        if len(fold_idx):
            fold_params = [dparams[i][12:].replace(mark, "\n") for i in fold_idx.tolist()]
            nlines[fold_idx] += 1 + np.fromiter((dparams[i].count(mark) for i in fold_idx.tolist()),
                                                dtype=np.int64, count=len(fold_idx))
        starts = first_line + np.concatenate(([0], np.cumsum(nlines)[:-1]))

        junk = codes == _JUNK
        if junk.any():
            for i in np.flatnonzero(junk):
                msg = messages[i]
                reason = ("blank line" if msg == "" else
                          "continuation line without a record before it" if msg.startswith("\t") else
                          f"line does not start with the log_line_prefix {self.prefix!r}")
                acc.skip(int(starts[i]), reason, msg, count=int(nlines[i]))
        foreign = codes == _FOREIGN
        if foreign.any():
            for i in np.flatnonzero(foreign):
                acc.skip(int(starts[i]), f"severity {sev[i]!r} is not English: the server's "
                         "lc_messages is not 'C'/'en' (set lc_messages = 'C' to read such logs)",
                         str(messages[i]), count=int(nlines[i]))
        is_sec = codes == _SECONDARY_CODE
        primary = codes == _PRIMARY

        detail = np.full(n, None, dtype=object)
        hint = np.full(n, None, dtype=object)
        context = np.full(n, None, dtype=object)
        statement = np.full(n, None, dtype=object)
        params = np.full(n, None, dtype=object)
        if len(fold_idx):
            params[fold_idx] = fold_params
        nl_total = nlines.copy()
        if is_sec.any():
            ar = np.arange(n)
            head = np.maximum.accumulate(np.where(primary, ar, -1))
            # a skipped line between a record and its DETAIL ends the record
            breaks = np.maximum.accumulate(np.where(junk | foreign, ar, -1))
            sec = np.flatnonzero(is_sec)
            heads = head[sec]
            orphan = (heads < 0) | (breaks[sec] > heads)
            for i in sec[orphan]:
                acc.skip(int(starts[i]), f"{sev[i]} line without a record before it",
                         str(messages[i]), count=int(nlines[i]))
            sec, heads = sec[~orphan], heads[~orphan]
            np.add.at(nl_total, heads, nlines[sec])
            sec_sev = sev[sec]
            sec_msg = np.array([messages[i] for i in sec.tolist()], dtype=object)
            is_detail = sec_sev == "DETAIL"
            if is_detail.any():
                dmsg = sec_msg[is_detail]
                is_param = np.fromiter(map(_IS_PARAMS, dmsg), dtype=bool, count=len(dmsg))
                dheads = heads[is_detail]
                params[dheads[is_param]] = [m[12:] for m in dmsg[is_param]]
                # several DETAIL lines of one record are rare: the last one is kept
                detail[dheads[~is_param]] = dmsg[~is_param]
            for name, target in (("STATEMENT", statement), ("HINT", hint), ("QUERY", context),
                                 ("CONTEXT", context)):
                m = sec_sev == name
                if m.any():
                    target[heads[m]] = sec_msg[m]
            # LOCATION (log_error_verbosity = verbose) is kept only in the line count

        idx = np.flatnonzero(primary)
        everything = len(idx) == n
        take = operator.itemgetter(*idx.tolist()) if len(idx) > 1 else None

        def pick(values):
            if everything:
                return list(values)
            if take is None:
                return [values[i] for i in idx]
            return list(take(values))

        def col(name):
            return pick(cols[gi[name]]) if name in gi else None

        problem = None  # a bad time stamp's reason: _split_checked skips its record
        if "ts" in gi:
            ts = col("ts")
            tz = col("tz")
            fmt = _ts_format(ts)
            stamps, problem = utc_times(ts, tz, name=self.name, log_timezone=self.log_timezone, fmt=fmt)
        elif "epoch" in gi:
            stamps, problem = epoch_to_utc(col("epoch"))
        else:
            stamps = pd.DatetimeIndex([pd.NaT] * len(idx)).tz_localize("UTC")
        pid = col("pid")
        session = col("session")
        if session is None:
            session = pid
        else:
            session = [s or p for s, p in zip(session, pid or session, strict=True)]
        if lean:
            return raw_frame({
                "source_line": starts[idx], "nlines": nl_total[idx], "timestamp": stamps,
                "session": session, "user": col("user"), "database": col("database"),
                "application": col("application"), "client": col("client"), "severity": pick(sev_t),
                "dur": col("dur"), "verb": col("verb"), "message": pick(messages),
                "parameters": params[idx], "problem": problem})
        return raw_frame({
            "source_line": starts[idx], "nlines": nl_total[idx], "timestamp": stamps,
            "session": session, "pid": pid, "user": col("user"), "database": col("database"),
            "application": col("application"), "client": col("client"), "severity": pick(sev_t),
            "sqlstate": col("sqlstate"), "dur": col("dur"), "verb": col("verb"), "pname": col("pname"),
            "message": pick(messages), "detail": detail[idx], "hint": hint[idx],
            "context": context[idx], "statement": statement[idx], "parameters": params[idx],
            "query_id": col("query_id"), "problem": problem,
        })


    def scan_queries(self, text: str, first_line: int, fields: frozenset = QUERY_FIELDS) -> QueryScan | None:
        """The query-event records of ``text`` (whole records from input line ``first_line``)
        in one pass, without building the records of the other table: the regex matches of the
        query lines, their first lines, their line counts (with their DETAIL lines), their
        parameters, and the lines of all other records. None when the text holds a line that
        would be skipped (not the prefix, a foreign severity, a translated message, a DETAIL
        without its record): :meth:`parse` then accounts for it.
        """
        t = self.folded(text)
        mark = self.mark
        rx, gi = self.lean_rx(fields)
        rows = rx.findall(t) if t or text else []
        if not rows:
            return None
        marked = mark in t
        query: list[tuple] = []   # the query rows
        starts: list[int] = []    # their first line
        nls: list[int] = []       # their lines, with their secondary lines
        params: dict[int, str] = {}
        others = [0]
        try:
            for _k, row, start, nl, p in query_records(rows, gi, mark if marked else None, first_line, others):
                if p is not None:
                    params[len(query)] = p
                query.append(row)
                starts.append(start)
                nls.append(nl)
        except Unreadable:
            return None
        server_lines = others[0]
        return QueryScan(query, gi, starts, nls, params, server_lines, mark if marked else None)

    def parse_queries(self, text: str, first_line: int) -> tuple[pd.DataFrame, int, int] | None:
        """``(query_events, lines in query events, lines in server events)`` of ``text``: what
        ``split_events(parse(text, lean=True), server=False)`` gives, from :meth:`scan_queries`
        (None where that is None)."""
        scan = self.scan_queries(text, first_line)
        if scan is None or "ts" not in scan.gi:  # %n or no time stamp: parse() knows those
            return None
        if not scan.rows:
            return schema.empty("query_events"), 0, scan.server_lines
        gi, mark = scan.gi, scan.mark
        cols = list(zip(*scan.rows, strict=True))

        def col(name):
            return cols[gi[name]] if name in gi else None

        ts = col("ts")
        stamps = utc_times(ts, col("tz"), name=self.name, log_timezone=self.log_timezone, fmt=_ts_format(ts))
        if stamps.bad.any():  # a bad time stamp (query_records lets most through): parse() skips it
            return None
        stamps = stamps.values
        messages = cols[gi["message"]]
        parameters = np.full(len(scan.rows), None, dtype=object)
        if scan.params:
            parameters[list(scan.params)] = list(scan.params.values())
        if mark:
            messages = [m.replace(mark, "\n") if mark in m else m for m in messages]
            for i in np.flatnonzero(parameters).tolist():
                parameters[i] = parameters[i].replace(mark, "\n")
        raw = raw_frame({"source_line": scan.starts, "nlines": scan.nls, "timestamp": stamps,
                         "session": scan.sessions(), "user": col("user"), "database": col("database"),
                         "application": col("application"), "client": col("client"),
                         "dur": cols[gi["dur"]], "verb": cols[gi["verb"]], "message": messages,
                         "parameters": parameters})
        q, query_lines = query_rows(raw[list(_QUERY_RAW)])
        return q, query_lines, scan.server_lines


def _stderr_prefix(src: Source, log_line_prefix: str | None) -> str:
    text = src.head_lines()  # complete lines: an over-long first line (skipped by the reader) hides none
    lines = text.split("\n")[:400]
    if len(text) >= 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a head may be cut
    if log_line_prefix is not None:
        check_prefix(log_line_prefix, lines, src.name)  # a bad or wrong prefix is a LogFormatError
        return log_line_prefix
    prefix = detect_prefix(lines)
    if prefix is None:
        first = next((ln for ln in lines if ln.strip()), "")
        foreign = _foreign_severity(lines)
        if foreign:
            raise LogFormatError(
                f"{src.name}: this PostgreSQL log was written with a non-English lc_messages "
                f"(severity {foreign!r} on line {first[:120]!r}); the messages cannot be read. "
                "Set lc_messages = 'C' on the server (ALTER SYSTEM SET lc_messages = 'C').")
        raise unknown_prefix_error(src.name, first)
    return prefix


def _foreign_severity(lines: list[str]) -> str | None:
    for _, rx in ((p, compile_prefix(p)) for p in ("%m [%p] %q%u@%d ", "%t [%p]: [%l-1] ", "%m [%p] ")):
        for line in lines:
            m = rx.match(line)
            if m and m["severity"] not in ENGLISH:
                return m["severity"]
    return None


def _stderr_buffers(src: Source, parser: _StderrParser, chunk_bytes: int) -> Iterator[tuple[int, str]]:
    return _record_buffers(_ahead(src.iter_chunks(chunk_bytes)), parser)


def _record_buffers(chunks: Iterator[tuple[int, str]], parser: _StderrParser) -> Iterator[tuple[int, str]]:
    """Chunks re-cut at record boundaries (:meth:`_StderrParser.cut`)."""
    return recut(chunks, lambda buf, carried: parser.cut(buf, max(0, carried - 1)))


# ---------------------------------------------------------------------------------- readers

_FORMATS = ("postgres-stderr", "postgres-csvlog", "postgres-jsonlog")
_RAW = {
    "postgres-csvlog": lambda src, o: _iter_csv_raw(src, o.get("log_timezone"), o["chunk_bytes"]),
    "postgres-jsonlog": lambda src, o: _iter_json_raw(src, o.get("log_timezone"), o["chunk_bytes"]),
}


def _workers(option: int | None) -> int:
    """Processes for stderr logs: both cores by default (parsing is CPU-bound and chunks are
    independent); 1 parses in this process."""
    if option is not None:
        return max(1, int(option))
    return max(1, min(2, os.cpu_count() or 1))


def _iter_parts(fmt: str, src: Source, opts: dict) -> Iterator[tuple]:
    """``(query_events, server_events, line counts)`` per chunk, in input order."""
    acc = src.accounting
    server = opts.get("table", "server_events") == "server_events"
    if fmt != "postgres-stderr":
        for raw in _held_back(_RAW[fmt](src, opts)):
            yield _split_checked(raw, acc, server)
        return
    if not src.head(1):
        return
    prefix = _stderr_prefix(src, opts.get("log_line_prefix"))
    args = (prefix, src.name, opts.get("log_timezone"), acc.errors, server)
    parser = _StderrParser(prefix, src.name, opts.get("log_timezone"))
    buffers = _stderr_buffers(src, parser, opts["chunk_bytes"])
    first = next(buffers, None)
    second = next(buffers, None)
    workers = _workers(opts.get("workers"))
    if second is None or workers == 1:
        for item in itertools.chain([first], [second] if second else [], buffers):
            yield _merge(acc, _stderr_part(*args, *item, parser=parser))
        return
    # Chunks go to worker processes; at most workers + 1 are in flight, so memory stays
    # bounded by a few chunks whatever the file size.
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        pending: collections.deque = collections.deque()
        for item in itertools.chain([first, second], buffers):
            pending.append(pool.submit(_stderr_part, *args, *item))
            if len(pending) > workers:
                yield _merge(acc, pending.popleft().result())
        while pending:
            yield _merge(acc, pending.popleft().result())


def _held_back(raws: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Raw-record frames cut where no plan/statement or log_statement/duration pair is split:
    the tail after the last safe row waits for the next frame (csvlog and jsonlog; stderr cuts
    its text the same way, see :meth:`_StderrParser.cut`)."""
    carry = None
    for raw in raws:
        if carry is not None and len(carry):
            raw = pd.concat([carry, raw], ignore_index=True)
        verb = raw["verb"].to_numpy()
        is_plan = verb == "plan"
        dur_only = raw["dur"].to_numpy().astype(bool) & ~verb.astype(bool)
        holds = is_plan | np.isin(verb, ("parse", "bind"))
        after_plan = np.concatenate(([False], holds[:-1]))
        ok = np.flatnonzero(~is_plan & ~dur_only & ~after_plan)
        ok = ok[ok > 0]
        cut = int(ok[-1]) if len(ok) else 0
        carry = raw.iloc[cut:]
        if cut:
            yield raw.iloc[:cut].reset_index(drop=True)
    if carry is not None and len(carry):
        yield carry.reset_index(drop=True)


_PARSERS: dict = {}


def _stderr_part(prefix, name, log_timezone, errors, server, first, text, parser=None):
    """Parse one buffer of whole records (in a worker process or here)."""
    if parser is None:
        key = (prefix, name, log_timezone)
        parser = _PARSERS.get(key) or _PARSERS.setdefault(key, _StderrParser(prefix, name, log_timezone))
    acc = Accounting(path=name, errors=errors)
    try:
        with _gc_paused():
            q, s, c = _parse_part(parser, text, first, acc, server)
    except ParseError as exc:  # re-raised by _merge: its fields survive the process boundary
        return ("ParseError", exc.message, exc.path, exc.line, exc.expected)
    return q, s, c, (acc.lines_skipped, dict(acc.skip_reasons), acc.skipped)


def _parse_part(parser: _StderrParser, text: str, first: int, acc: Accounting, server: bool) -> tuple:
    """``(query_events, server_events, line counts)`` of one buffer of whole records; a reader of
    query events only takes :meth:`_StderrParser.parse_queries` where it can."""
    if not server:
        lean = parser.parse_queries(text, first)
        if lean is not None:
            q, query_lines, server_lines = lean
            return q, schema.empty("server_events"), {"query_events": query_lines,
                                                      "server_events": server_lines}
    return _split_checked(parser.parse(text, first, acc, lean=not server), acc, server, english=True)


def _merge(acc: Accounting, part: tuple) -> tuple:
    if isinstance(part[0], str):  # ("ParseError", message, path, line, expected)
        raise ParseError(*part[1:])
    q, s, c, (skipped, reasons, examples) = part
    acc.lines_skipped += skipped
    acc.skip_reasons.update(reasons)
    acc.skipped.extend(examples[:max(0, MAX_EXAMPLES - len(acc.skipped))])
    return q, s, c


@contextlib.contextmanager
def _gc_paused():
    """Millions of small tuples and strings, none in a cycle: the cyclic collector would only
    walk them again and again (a third of the parse time). Paused while parsing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _run(fmt: str, source: Any, table: str, errors: str, options: dict) -> pd.DataFrame:
    with _gc_paused():
        return _run_all(fmt, source, table, errors, options)


def _run_all(fmt: str, source: Any, table: str, errors: str, options: dict) -> pd.DataFrame:
    src = open_source(source, errors=errors)
    src.accounting.format = fmt
    opts = {"chunk_bytes": CHUNK_BYTES, **options, "table": table}
    parts_q, parts_s = [], []
    counts = {"query_events": 0, "server_events": 0}
    for q, s, c in _iter_parts(fmt, src, opts):
        for k in counts:
            counts[k] += c[k]
        parts_q.append(q)
        parts_s.append(s)
    if src.accounting.lines_read == 0:
        for _ in src.iter_chunks():  # empty input: still sets lines_read
            pass
    return _finish(src, table, parts_q if table == "query_events" else parts_s, counts)


_TRANSLATED = "message is not in English (lc_messages is not 'C'): set lc_messages = 'C' to read such logs"


def _split_checked(raw: pd.DataFrame, acc: Accounting, server: bool = True, english: bool = False):
    """:func:`split_events` of the raw records that can be read; the others are skipped (in
    file order) with their reason: a message not in English, a bad time stamp (``problem``), a
    duration that is not a finite number (``duration: ١٢ ms``: non-ASCII digits).
    ``english``: every severity is known to be English (the stderr parser skips the others)."""
    flags = _flags(raw)
    why = np.where(translated_lines(raw, english, flags), _TRANSLATED, None)
    problem = raw["problem"].to_numpy()
    why = np.where(why == None, problem, why)  # noqa: E711
    why = np.where(why == None, schema.float_values(raw["dur"], "duration").reasons, why)  # noqa: E711
    bad = why != None  # noqa: E711
    if bad.any():
        flags = None  # rows go: split_events computes them again
        for line, msg, n, reason in zip(raw["source_line"][bad], raw["message"][bad], raw["nlines"][bad],
                                        why[bad], strict=True):
            acc.skip(int(line), reason, str(msg), count=int(n))
        raw = raw[~bad]
    return split_events(raw, server=server, flags=flags)


def _finish(src: Source, table: str, parts: list[pd.DataFrame], counts: dict,
            records_before: int = 0) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    df = pd.concat(parts, ignore_index=True) if parts else schema.empty(table)
    df = schema.coerce(df, table)
    acc = src.accounting
    acc.records = records_before + len(df)
    info = acc.as_dict()
    other = "server_events" if table == "query_events" else "query_events"
    info["record_lines"] = counts[table]
    info["lines_in_other_table"] = {other: counts[other]}
    df.attrs["source"] = info
    return df


def _reader(fmt: str, table: str):
    def read(source: Any, *, errors: str = "skip", log_line_prefix: str | None = None,
             log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
        opts = {"log_line_prefix": log_line_prefix, "log_timezone": log_timezone, **options}
        if fmt != "postgres-stderr" and log_line_prefix is not None:
            raise LogFormatError(f"log_line_prefix applies to stderr logs only, not {fmt}")
        return _run(fmt, source, table, errors, opts)

    kind = "query events" if table == "query_events" else "server events"
    read_name = f"read_{fmt.replace('-', '_')}" + ("" if table == "query_events" else "_server_events")
    read.__name__ = read.__qualname__ = read_name
    read.__doc__ = (f"Read a PostgreSQL {fmt.split('-')[1]} log into the ``{table}`` table ({kind}).\n\n"
                    "Options: ``errors`` ('skip' or 'raise'), ``log_timezone`` (IANA name, for zone "
                    "abbreviations the reader does not know), ``chunk_bytes`` (16 MiB)"
                    + (", ``log_line_prefix`` (the server's, when not a common one), ``workers`` "
                       "(processes parsing chunks, default 2)" if fmt.endswith("stderr") else "")
                    + ". ``df.attrs['source']`` accounts for every line: ``record_lines`` in this table, "
                    "``lines_in_other_table``, ``lines_skipped`` with reasons.\n\nExample::\n\n"
                    f"    >>> df = {read_name}('postgresql.log', errors='skip')   # doctest: +SKIP\n")
    return read


read_postgres_stderr = _reader("postgres-stderr", "query_events")
read_postgres_stderr_server_events = _reader("postgres-stderr", "server_events")
read_postgres_csvlog = _reader("postgres-csvlog", "query_events")
read_postgres_csvlog_server_events = _reader("postgres-csvlog", "server_events")
read_postgres_jsonlog = _reader("postgres-jsonlog", "query_events")
read_postgres_jsonlog_server_events = _reader("postgres-jsonlog", "server_events")


def iter_query_chunks(source: Any, format: str | None = None, *, table: str = "query_events",
                      errors: str = "skip", log_line_prefix: str | None = None,
                      log_timezone: str | None = None, chunk_bytes: int = CHUNK_BYTES,
                      workers: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield the ``query_events`` (or ``server_events``) table of a PostgreSQL log chunk by chunk.

    Memory stays bounded by ``chunk_bytes`` of text plus one chunk's rows, whatever the file
    size. Each frame's ``attrs["source"]`` is the accounting so far (final on the last frame).
    Chunks end where no session waits for a later record (see :meth:`_StderrParser.cut`), so a
    plan or a log_statement line is read with its partner; only where no such place exists in a
    chunk's last 256 KiB (a log of log_statement lines that never get a duration, or a SELECT's
    plan logged after its execute with other sessions between them) can one stay unpaired.

        >>> total = sum(df.loc[df.kind != "plan", "duration_ms"].sum()
        ...             for df in iter_query_chunks("big.log"))   # doctest: +SKIP
    """
    src = open_source(source, errors=errors)
    fmt = format or formats.detect(src, "queries").name
    if fmt not in _FORMATS:
        raise LogFormatError(f"iter_query_chunks reads PostgreSQL logs, not {fmt}")
    src.accounting.format = fmt
    opts = {"log_line_prefix": log_line_prefix, "log_timezone": log_timezone,
            "chunk_bytes": chunk_bytes, "workers": workers, "table": table}
    counts = {"query_events": 0, "server_events": 0}
    records = 0
    parts = _iter_parts(fmt, src, opts)
    while True:
        with _gc_paused():
            part = next(parts, None)
            if part is None:
                return
            q, s, c = part
            for k in counts:
                counts[k] += c[k]
            frame = _finish(src, table, [q if table == "query_events" else s], counts, records)
            records += len(frame)
        yield frame


# ------------------------------------------------------------------- byte ranges (digest_file)

_SPLIT_WINDOW = 1 << 18
_STALE = 1 << 20


def _boundary(fh, x: int, size: int, parser: _StderrParser) -> int:
    """The first record start at or after byte ``x`` where a chunk may end (the rule of
    :meth:`_StderrParser.cut`: not a plan, not a duration-only line, not right after a plan, a
    parse or a bind).
    It depends on ``x`` and the file only, so consecutive ranges meet at the same boundary."""
    if x <= 0:
        return 0
    if x >= size:
        return size
    # (each line is decoded and matched by the str patterns the reader uses: a bytes pattern's \d
    # would not take other digits where the reader's does, and the two would cut differently)
    secondary = parser.secondary_rx
    line_rx = compile_prefix(parser.prefix)
    offset = max(0, x - (1 << 16))  # a little before x: to know the record before the first candidate
    fh.seek(offset)
    buf = b""
    partial = offset > 0  # the first line read may be the end of a line: skip it
    prev_holds = False
    # Sessions whose last record waits for a later one of the same session (a parse or bind for
    # its execute, a plan for its statement, a log_statement line for its duration): sessions
    # interleave, so the record just before a boundary is not the only one that may be cut
    # from its partner. A boundary lies where no session is open (one open for more than
    # _STALE bytes never got its partner: it no longer holds the boundary back).
    open_at: dict = {}
    while True:
        block = fh.read(_SPLIT_WINDOW)
        buf += block
        i = 0
        if partial:
            k = buf.find(b"\n")
            if k < 0:
                if not block:
                    return size
                buf, offset = b"", offset + len(buf)  # all of it is the line being passed over
                continue
            i, partial = k + 1, False
        while i < len(buf):
            j = buf.find(b"\n", i)
            if j < 0 and block:
                if len(buf) - i > default_limits().line_bytes:  # left out by the readers: pass over it
                    i, partial = len(buf), True
                break  # an unfinished line: read on
            line = buf[i:j if j >= 0 else len(buf)].rstrip(b"\r").decode("utf-8", "replace")
            m = _record_match(line_rx, secondary, line)  # (no record, no boundary: as _settled)
            if m is not None:
                is_plan = line.endswith("  plan:")
                here = offset + i
                if open_at:  # past x + _STALE: the old rule alone (a log of unpaired log_statement lines)
                    open_at = ({k: v for k, v in open_at.items() if here - v <= _STALE}
                               if here - x <= _STALE else {})
                if here >= x and not (is_plan or prev_holds or open_at or _DURATION_ONLY.search(line)):
                    return here
                prev_holds = _HOLDS_NEXT.search(line) is not None
                key = _session_key(m)
                if here - x > _STALE:
                    pass
                elif prev_holds or ("  duration: " not in line and _LOG_STATEMENT.search(line)):
                    open_at.setdefault(key, here)
                elif ends_wait(m):  # (a server event of the session partners nothing)
                    open_at.pop(key, None)
            if j < 0:
                break
            i = j + 1
        if not block:
            return size
        buf, offset = buf[i:], offset + i


def split_postgres_stderr(path: str, start: int, end: int, *, chunk_size: int = CHUNK_BYTES,
                          errors: str = "skip", log_line_prefix: str | None = None,
                          log_timezone: str | None = None, first_line: int | None = None,
                          **_: Any) -> Iterator[pd.DataFrame]:
    """The query events of the records that start in bytes ``[start, end)`` of a plain
    (uncompressed) stderr log, as ``query_events`` frames: the pieces that
    :func:`toolkit.queries.digest.digest_file` gives its worker processes. Both ends move forward
    to a record boundary where a chunk may end, so ranges that tile the file read every record
    exactly once and keep each plan with its statement; ``source_line`` is the line number in the
    whole file, unless ``first_line`` numbers the range's first line (a caller that renumbers
    afterwards: then the lines before the range are not read just to count them). Parsed in this
    process (the caller runs one range per process).
    """
    src, parser, buffers = range_buffers(path, start, end, chunk_size=chunk_size, errors=errors,
                                         log_line_prefix=log_line_prefix, log_timezone=log_timezone,
                                         first_line=first_line)
    acc = src.accounting
    counts = {"query_events": 0, "server_events": 0}
    records = 0
    for first, text in buffers:
        with _gc_paused():
            q, _s, c = _parse_part(parser, text, first, acc, server=False)
        for k in counts:
            counts[k] += c[k]
        frame = _finish(src, "query_events", [q], counts, records)
        records += len(frame)
        yield frame


def range_buffers(path: str, start: int, end: int, *, chunk_size: int = CHUNK_BYTES,
                  errors: str = "skip", log_line_prefix: str | None = None,
                  log_timezone: str | None = None, first_line: int | None = None):
    """``(source, parser, buffers)`` for the records that start in bytes ``[start, end)`` of a
    plain stderr log (see :func:`split_postgres_stderr`): ``buffers`` yields ``(first line,
    text)`` of whole records, and counts the lines read in the source's accounting."""
    src = open_source(path, errors=errors)
    if src.compression is not None:
        raise LogFormatError(f"{src.name}: byte ranges need an uncompressed file")
    # an empty log has no prefix to find: no records, as when it is read whole
    prefix = _stderr_prefix(src, log_line_prefix) if src.head(1) else (log_line_prefix or KNOWN_PREFIXES[0])
    parser = _StderrParser(prefix, src.name, log_timezone)
    acc = src.accounting
    acc.format = "postgres-stderr"
    size = os.path.getsize(path)
    fh = open(path, "rb")  # closed when the buffers are done
    try:
        lo, hi = _boundary(fh, start, size, parser), _boundary(fh, end, size, parser)
        line0 = 1 + lines_before(fh, lo) if first_line is None else first_line
    except BaseException:
        fh.close()
        raise

    def pieces() -> Iterator[tuple[int, str]]:
        with fh:
            yield from read_range(fh, acc, lo, hi, line0, chunk_size)

    return src, parser, _record_buffers(pieces(), parser)


def digest_postgres_stderr(source: Any, **options: Any):
    """:func:`toolkit.queries.pg_digest.digest_stderr` (``digest_file``'s way with stderr logs)."""
    from .pg_digest import digest_stderr

    return digest_stderr(source, **options)


def _digest_supports(by: Any) -> bool:
    from .pg_digest import supports

    return supports(by)


# ---------------------------------------------------------------------------------- sniffing

_ANY_SEVERITY = re.compile(r"\b(?:LOG|ERROR|FATAL|WARNING|STATEMENT|DETAIL|PANIC):  ")
_CSV_HEAD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [^,\s]*,")


def _sniff_stderr(head) -> bool:
    text = head.text
    if text.lstrip().startswith("{") or _CSV_HEAD.match(text):
        return False
    lines = [ln for ln in text.split("\n")[:200] if ln and not ln.startswith("\t")]
    if not lines:
        return False
    if detect_prefix(lines):
        return True
    # an unknown prefix: claim it when most lines carry a PostgreSQL severity, so that the
    # reader can ask for the log_line_prefix instead of "unknown format"
    hits = sum(1 for ln in lines if _ANY_SEVERITY.search(ln))
    return hits * 2 >= len(lines) and hits >= 1


def _sniff_csvlog(head) -> bool:
    if not _CSV_HEAD.match(head.text):
        return False
    try:
        row = next(csv.reader(io.StringIO(head.text)))
    except (csv.Error, StopIteration):
        return False
    return len(row) in CSV_COLUMNS and row[11] in SEVERITIES


def _sniff_jsonlog(head) -> bool:
    first = head.text.lstrip().split("\n", 1)[0]
    if not first.startswith('{"timestamp":"'):
        return False
    try:
        obj = load_json(first)
    except ParseError:
        return '"error_severity":"' in first
    return isinstance(obj, dict) and "error_severity" in obj and "message" in obj


formats.register("postgres-stderr", "queries", read_postgres_stderr, sniff=_sniff_stderr,
                 suffixes=(".log",), priority=1,
                 description="PostgreSQL stderr log (any log_line_prefix; auto_explain plans)",
                 extras={"server_events": read_postgres_stderr_server_events,
                         "split": split_postgres_stderr, "digest": digest_postgres_stderr,
                         "digest_supports": _digest_supports})
# No suffixes for csvlog and jsonlog: .csv and .json files are mostly something else, and the
# sniffers recognise these logs by their first record.
formats.register("postgres-csvlog", "queries", read_postgres_csvlog, sniff=_sniff_csvlog,
                 priority=1,
                 description="PostgreSQL csvlog (23/24/26 columns)",
                 extras={"server_events": read_postgres_csvlog_server_events})
formats.register("postgres-jsonlog", "queries", read_postgres_jsonlog, sniff=_sniff_jsonlog,
                 priority=1,
                 description="PostgreSQL jsonlog (15+)",
                 extras={"server_events": read_postgres_jsonlog_server_events})

__all__ = ["split_postgres_stderr", "read_postgres_stderr", "read_postgres_csvlog", "read_postgres_jsonlog",
           "read_postgres_stderr_server_events", "read_postgres_csvlog_server_events",
           "read_postgres_jsonlog_server_events", "iter_query_chunks"]
