"""The PostgreSQL stderr scanner: text of whole records -> query-event batches and raw records.

One scanner for every way a stderr log is read: the DataFrame readers
(:mod:`toolkit.queries.postgres`), the streaming digest (:mod:`toolkit.queries.pg_digest`) and the
byte ranges :func:`toolkit.queries.digest.digest_file` gives its worker processes
(:func:`range_buffers`). The hot path, :meth:`StderrParser.scan_batch` (the query events both the
reader and the digest take), is ONE pass of the compiled scanner (:mod:`toolkit.native.pgstderr`,
C) over the buffer: the log_line_prefix given as a program
(:func:`~toolkit.queries.pg_prefix.prefix_program`), continuation lines read as part of their
record, the query records picked out with their DETAIL parameters, as columns; a buffer holding a
line it cannot take (not the prefix, a foreign severity, ...) gets no batch. That buffer, and a
reader of the other table, take :meth:`StderrParser.scan_all`: continuation lines folded and ONE
regular expression built from the log_line_prefix run with ``findall`` over the buffer, every
record and every skipped line with its reason (the rare path, where the reasons are written).
:func:`stderr_buffers` / :func:`range_buffers` cut the input into buffers of whole records where
no session waits for a later record (the rule of :meth:`StderrParser.cut` and :func:`boundary`).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import operator
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .. import schema
from ..errors import LogFormatError
from ..native import pgstderr
from ..sources import (
    CHUNK_BYTES,
    Source,
    default_limits,
    open_source,
    range_pieces,
    recut,
)
from .pg_envelope import plain_text, unwrap
from .pg_events import (
    ENGLISH,
    MESSAGE_RE,
    QUERY_RAW,
    SECONDARY,
    query_rows,
    raw_columns,
    raw_frame,
)
from .pg_prefix import (
    KNOWN_PREFIXES,
    SEVERITY_RE,
    check_prefix,
    compile_prefix,
    detect_prefix,
    prefix_pattern,
    prefix_program,
    unknown_prefix_error,
)
from .pg_time import epoch_to_utc, plain_stamp, utc_times
from .records import RecordBatch, ahead

_MARKS = ("\x1f", "\x1e", "\ue000", "\ue001")
_DURATION_ONLY = re.compile(r"  duration: \d+(?:\.\d+)? ms$")
# a record that belongs with the next one: a plan (simple protocol, DML), a parse or a bind
_HOLDS_NEXT = re.compile(r"  plan:$|  duration: \d+(?:\.\d+)? ms  (?:parse|bind) ")
_IS_PARAMS = operator.methodcaller("startswith", ("parameters: ", "Parameters: "))
_JUNK, _FOREIGN, _PRIMARY, _SECONDARY_CODE = 0, 1, 2, 3
_SEVERITY_CODE = {"": _JUNK, **{s: _PRIMARY for s in ENGLISH}, **{s: _SECONDARY_CODE for s in SECONDARY}}


# ----------------------------------------------------------------------------------- stderr

# The connection columns scan_batch makes once per distinct value (its table of repeated values
# in C: a session's user, database, ... are one str each), which raw_frame need not share again.
_MADE_ONCE = frozenset({"session", "user", "database", "application", "client"})

# The prefix's fields query events keep (scan_batch captures these by default).
QUERY_FIELDS = frozenset({"ts", "tz", "pid", "session", "user", "database", "application", "client"})


def ends_wait(m) -> bool:
    """Whether a record line (``m``: its ``severity`` and ``message``, :meth:`StderrParser.record_line`) ends its session's wait for a
    later record (a plan's statement, a parse's execute, a log_statement's duration): a
    query-event record (``LOG`` with a duration or a verb) does, and so does a disconnection
    (nothing of the session follows it); a server event between them (``temporary file``) does
    not, as :func:`~toolkit.queries.pg_events.split_events` pairs query records only."""
    if m["severity"] != "LOG":
        return False
    message = m["message"]
    q = MESSAGE_RE.match(message)
    return bool(q["dur"] or q["verb"]) or message.startswith("disconnection: ")


def _session_key(m: dict):
    return m["key"]


_LOG_STATEMENT = re.compile(r"(?:LOG|ERROR):  (?:statement|execute[^:\n]*): ")
# a timed execute: a SELECT's auto_explain plan is logged after it (when the portal is dropped),
# possibly after other sessions' records
_TIMED_EXECUTE = re.compile(r"  duration: \d+(?:\.\d+)? ms  execute[^:\n]*: ")


def session_waits(m, line: str, holds: bool) -> bool | None:
    """Whether a record (``line``, its fields ``m``; ``holds``: it matches the holds-next pattern)
    leaves its session waiting for a later record of the session (True: a plan, a parse or bind,
    a log_statement line without its duration, a timed execute whose SELECT plan may follow),
    ends the wait (False: another query record, a disconnection) or neither (None: a server
    event). The one rule :meth:`StderrParser.cut` and :func:`boundary` keep a place to cut by:
    no session waits there."""
    if holds or _TIMED_EXECUTE.search(line) or ("  duration: " not in line and _LOG_STATEMENT.search(line)):
        return True
    return False if ends_wait(m) else None
_CUT_WINDOW = 1 << 18  # how far back from a chunk's end _settled looks for a place to cut


def _ts_format(ts) -> str:
    """%m (milliseconds) or %t, from the first time stamp there is (%q may leave some out)."""
    first = next((x for x in ts if x), "")
    return "%Y-%m-%d %H:%M:%S.%f" if "." in first else "%Y-%m-%d %H:%M:%S"


class StderrParser:
    """Parses buffers of whole records of one stderr log with one compiled prefix."""

    def __init__(self, prefix: str, name: str, log_timezone: str | None):
        self.prefix = prefix
        self.name = name
        self.log_timezone = log_timezone
        pp = prefix_pattern(prefix)
        self.secondary_rx = re.compile(pp + r"(?:" + "|".join(SECONDARY) + r"):  ")
        self._line_rx = compile_prefix(prefix)
        try:  # (a prefix with a line break has none: its buffers go to the full scan)
            self._program, self._slots = prefix_program(prefix)
        except ValueError:
            self._program, self._slots = None, {}
        if any(mark in prefix for mark in _MARKS):  # (nor one holding a character marks may be)
            self._program = None
        self._compiled = None  # (the program parsed once in C, for record_line: made when first used)
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

    def __getstate__(self) -> dict:
        # (the parsed program is a C object: a copy in another process parses it again)
        return {**self.__dict__, "_compiled": None}

    def record_line(self, line: str) -> dict | None:
        """A physical line that starts a record the reader reads (the prefix, an English
        severity, not a continuation or DETAIL/STATEMENT/... line) as its ``severity``,
        ``message`` and ``key`` (the session: %c, else %p); None for any other line. The
        compiled scanner's matcher decides (:func:`toolkit.native.pgstderr.line_record`); the
        prefix's regex only where there is no program (a prefix with a line break, a mark
        character or over 1000 characters) or the matcher gave up on a pathological line: the
        same rule, spelled as the full scan spells it."""
        if self._program is not None:
            slots = self._slots
            if self._compiled is None:
                self._compiled = pgstderr.compiled(self._program)
            got = pgstderr.line_record(line, self._compiled, slots.get("session", -1), slots.get("pid", -1))
            if got is not Ellipsis:
                if got is None or got[0] not in ENGLISH:
                    return None
                return {"severity": got[0], "message": got[1], "key": got[2] or got[3]}
        if line.startswith("\t") or self.secondary_rx.match(line):
            return None
        m = self._line_rx.match(line)
        if m is None or m["severity"] not in ENGLISH:
            return None
        g = m.groupdict()
        return {"severity": m["severity"], "message": m["message"], "key": g.get("session") or g.get("pid")}

    def lean_rx(self, fields: frozenset) -> tuple[None, dict[str, int]]:
        """``(None, slots)``: the prefix ``fields`` this log's lines carry and their slots in the
        compiled scanner's program (:meth:`scan_batch`). (The name and shape are those of
        :meth:`toolkit.queries.pg_csvjson_digest.StructuredParser.lean_rx`, which the digest
        asks the same question; no pattern is involved any more: None.)"""
        return None, {k: v for k, v in self._slots.items() if k in fields}

    def fold_mark(self, text: str) -> str:
        """The character that stands for a continuation line break (``\n\t``) in ``text``:
        one the text does not hold (``self.mark``; the patterns are compiled for it)."""
        mark = next(m for m in _MARKS if m not in text)
        if mark != self.mark:
            self.mark = mark
            self._compile(mark)
        return mark

    def folded(self, text: str) -> str:
        """``text`` with each continuation line break (``\n\t``) turned into ``self.mark``
        (:meth:`fold_mark`) and without its last line break: one record per line for the
        patterns."""
        t = text.replace("\n\t", self.fold_mark(text))
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
        statement), as :func:`boundary` decides between byte ranges: sessions interleave, so
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
            m = self.record_line(line)
            if m is not None:
                if not (first or prev_holds or open_at or line.endswith("  plan:")
                        or _DURATION_ONLY.search(line)):
                    best = i
                first = False  # (the record before the window's first is not known)
                prev_holds = _HOLDS_NEXT.search(line) is not None
                key = _session_key(m)
                waits = session_waits(m, line, prev_holds)
                if waits:
                    open_at.setdefault(key, i)
                elif waits is False:  # (a server event of the session partners nothing)
                    open_at.pop(key, None)
            i = j + 1
        return best

    def parse(self, text: str, first_line: int, acc, lean: bool = False) -> pd.DataFrame:
        """The raw records of ``text`` (whole records, starting at input line ``first_line``) as
        the raw-records frame of :mod:`toolkit.queries.pg_events`, from :meth:`scan_all`'s batch;
        its skipped lines go into ``acc``."""
        batch = self.scan_all(text, first_line, lean)
        batch.account(acc, count=False)  # (split_checked counts the records of each table)
        return raw_frame(batch.columns if len(batch) else {"source_line": []})

    def scan_all(self, text: str, first_line: int, lean: bool = False) -> RecordBatch:
        """Every record of ``text`` (whole records, starting at input line ``first_line``), both
        tables', as a :class:`~toolkit.queries.records.RecordBatch` whose columns are the
        raw-records columns (:data:`toolkit.queries.pg_events.RAW_COLUMNS`, time stamps in UTC,
        ``problem``: a bad time stamp's reason); lines that are no record (not the prefix, a
        foreign severity, a secondary line without its record) are its skipped runs. ``lean``:
        leave out the columns only server events use (pid, sqlstate, detail, hint, context,
        statement, query_id: nulls), for a reader of query events only."""
        t = self.folded(text)
        mark = self.mark
        rows = self.rx_fold.findall(t) if t or text else []
        lines = text.count("\n") + (1 if text and text[-1] != "\n" else 0)
        if not rows:
            return RecordBatch.empty(first_line, lines)
        skips: list[tuple[int, str, str, int]] = []
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
                skips.append((int(starts[i]), reason, msg, int(nlines[i])))
        foreign = codes == _FOREIGN
        if foreign.any():
            for i in np.flatnonzero(foreign):
                skips.append((int(starts[i]), f"severity {sev[i]!r} is not English: the server's "
                              "lc_messages is not 'C'/'en' (set lc_messages = 'C' to read such logs)",
                              str(messages[i]), int(nlines[i])))
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
                skips.append((int(starts[i]), f"{sev[i]} line without a record before it",
                              str(messages[i]), int(nlines[i])))
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

        problem = None  # a bad time stamp's reason: split_checked skips its record
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
            columns = {
                "source_line": starts[idx], "nlines": nl_total[idx], "timestamp": stamps,
                "session": session, "user": col("user"), "database": col("database"),
                "application": col("application"), "client": col("client"), "severity": pick(sev_t),
                "dur": col("dur"), "verb": col("verb"), "message": pick(messages),
                "parameters": params[idx], "problem": problem}
        else:
            columns = {
                "source_line": starts[idx], "nlines": nl_total[idx], "timestamp": stamps,
                "session": session, "pid": pid, "user": col("user"), "database": col("database"),
                "application": col("application"), "client": col("client"), "severity": pick(sev_t),
                "sqlstate": col("sqlstate"), "dur": col("dur"), "verb": col("verb"), "pname": col("pname"),
                "message": pick(messages), "detail": detail[idx], "hint": hint[idx],
                "context": context[idx], "statement": statement[idx], "parameters": params[idx],
                "query_id": col("query_id"), "problem": problem,
            }
        columns = {k: v for k, v in columns.items() if v is not None}
        if problem is None:
            columns.pop("problem", None)
        return RecordBatch.of(first_line, lines, columns, starts[idx], nl_total[idx], skips=skips)


    def scan_batch(self, text: str, first_line: int, fields: frozenset = QUERY_FIELDS) -> RecordBatch | None:
        """The query-event records of ``text`` (whole records from input line ``first_line``) as
        a :class:`~toolkit.queries.records.RecordBatch`, in one pass of the compiled scanner
        (:func:`toolkit.native.pgstderr.scan`, the prefix given as its program:
        :func:`~toolkit.queries.pg_prefix.prefix_program`), without building the
        records of the other table. Columns, as logged (text): the prefix ``fields`` the log has
        (``ts``, ``tz``, ``user``, ...; ``session``: ``%c`` where the line has it, else ``%p``),
        ``severity`` (``LOG``), ``dur`` (ms), ``verb``, ``message`` (the statement or plan, line
        breaks restored) and ``parameters`` (the DETAIL parameters text or None); ``verb_code``
        (int64: :data:`~toolkit.queries.pg_events.VERB_CODES`' position + 1, 0 no verb) and ``dur_ms`` (float64, NaN: no
        duration), the same two as numbers for the digest's column-wise rules; ``first_line``
        and ``nlines`` of each record (DETAIL and continuation lines included); ``other_lines``:
        the lines of all other records. None when the text holds a line that would be skipped
        (not the prefix, a foreign severity, a translated message, a DETAIL without its record,
        a time stamp or duration the reader refuses): the full scan (:meth:`parse`, the same
        rules with the reasons) then accounts for it.
        """
        if not text or self._program is None:
            return None
        slots = self._slots
        names = [name for name in fields if name in slots]
        # (the C pass reads each continuation line break as the one character the patterns
        # would see in the folded text, fold_mark's: no folded copy of the buffer is made)
        got = pgstderr.scan(text, self.fold_mark(text), self._program, tuple(slots[k] for k in names),
                            *(slots[k] if k in names else -1 for k in ("ts", "session", "pid")), first_line)
        if got is None:
            return None
        starts, nls, others, values, session, dur, verb, message, params, seconds, lines, vcode, dur_ms = got
        # (a time stamp in ASCII digits but no calendar time: the full parse says why it skips it)
        if not all(map(plain_stamp, seconds)):
            return None
        n = len(message)
        if not n:
            return RecordBatch.empty(first_line, lines, other_lines=others)
        columns: dict = dict(zip(names, values, strict=True))
        columns["session"] = session if session is not None else (None,) * n
        columns.update(severity=["LOG"] * n, dur=dur, verb=verb, message=message, parameters=params,
                       verb_code=np.frombuffer(vcode, np.int64), dur_ms=np.frombuffer(dur_ms, np.float64))
        return RecordBatch.of(first_line, lines, columns, np.frombuffer(starts, np.int64),
                              np.frombuffer(nls, np.int64), other_lines=others)

    def parse_queries(self, text: str, first_line: int) -> tuple[pd.DataFrame, int, int] | None:
        """``(query_events, lines in query events, lines in server events)`` of ``text``: what
        ``split_events(parse(text, lean=True), server=False)`` gives, from :meth:`scan_batch`
        (None where that is None)."""
        batch = self.scan_batch(text, first_line)
        if batch is None or "ts" not in self.lean_rx(QUERY_FIELDS)[1]:  # %n or no time stamp: parse() knows those
            return None
        if not len(batch):
            return schema.empty("query_events"), 0, batch.other_lines
        col = batch.column
        ts = col("ts")
        stamps = utc_times(ts, col("tz"), name=self.name, log_timezone=self.log_timezone, fmt=_ts_format(ts))
        if stamps.bad.any():  # a bad time stamp (the C pass checks the shape only): parse() skips it
            return None
        # the query-event columns as arrays (no raw-records frame: query_rows makes the one frame)
        raw = raw_columns({"source_line": batch.first_line, "nlines": batch.nlines, "timestamp": stamps.values,
                           "session": col("session"), "user": col("user"), "database": col("database"),
                           "application": col("application"), "client": col("client"),
                           "dur": col("dur"), "verb": col("verb"), "message": col("message"),
                           "parameters": col("parameters")}, made_once=_MADE_ONCE, names=QUERY_RAW)
        q, query_lines = query_rows(raw, col("verb_code"), col("dur_ms"))
        return q, query_lines, batch.other_lines


def stderr_prefix(src: Source, log_line_prefix: str | None) -> str:
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


def stderr_buffers(src: Source, parser: StderrParser, chunk_bytes: int) -> Iterator[tuple[int, str]]:
    return record_buffers(ahead(src.iter_chunks(chunk_bytes)), parser)


def record_buffers(chunks: Iterator[tuple[int, str]], parser: StderrParser) -> Iterator[tuple[int, str]]:
    """Chunks re-cut at record boundaries (:meth:`StderrParser.cut`)."""
    return recut(chunks, lambda buf, carried: parser.cut(buf, max(0, carried - 1)))



@contextlib.contextmanager
def gc_paused():
    """Millions of small tuples and strings, none in a cycle: the cyclic collector would only
    walk them again and again (a third of the parse time). Paused while parsing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ------------------------------------------------------------------- byte ranges (digest_file)

_SPLIT_WINDOW = 1 << 18
_STALE = 1 << 20


def boundary(fh, x: int, size: int, parser: StderrParser) -> int:
    """The first record start at or after byte ``x`` where a chunk may end (the rule of
    :meth:`StderrParser.cut`: not a plan, not a duration-only line, not right after a plan, a
    parse or a bind).
    It depends on ``x`` and the file only, so consecutive ranges meet at the same boundary."""
    if x <= 0:
        return 0
    if x >= size:
        return size
    # (each line is decoded and read by the parser's record_line, the readers' rule: a bytes
    # pattern's \d would not take other digits where the reader's does, and the two would cut
    # differently)
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
            m = parser.record_line(line)  # (no record, no boundary: as _settled)
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
                else:
                    waits = session_waits(m, line, prev_holds)
                    if waits:
                        open_at.setdefault(key, here)
                    elif waits is False:  # (a server event of the session partners nothing)
                        open_at.pop(key, None)
            if j < 0:
                break
            i = j + 1
        if not block:
            return size
        buf, offset = buf[i:], offset + i


def range_buffers(path: str, start: int, end: int, *, chunk_size: int = CHUNK_BYTES,
                  errors: str = "skip", log_line_prefix: str | None = None,
                  log_timezone: str | None = None, first_line: int | None = None):
    """``(source, parser, buffers)`` for the records that start in bytes ``[start, end)`` of a
    plain stderr log (see :func:`split_postgres_stderr`): ``buffers`` yields ``(first line,
    text)`` of whole records, and counts the lines read in the source's accounting."""
    src = open_source(path, errors=errors)
    if src.compression is not None:
        raise LogFormatError(f"{src.name}: byte ranges need an uncompressed file")
    # a log in an envelope (syslog, ...): its lines unwrapped; boundary() finds no record start in
    # the raw lines, so the first range takes the whole file
    src, log_line_prefix = unwrap(src, log_line_prefix, log_timezone)
    # an empty log has no prefix to find: no records, as when it is read whole
    prefix = stderr_prefix(src, log_line_prefix) if src.head(1) else (log_line_prefix or KNOWN_PREFIXES[0])
    parser = StderrParser(prefix, src.name, log_timezone)
    acc = src.accounting
    acc.format = "postgres-stderr"
    pieces = range_pieces(path, start, end, acc, lambda fh, at, size: boundary(fh, at, size, parser),
                          first_line=first_line, chunk_size=chunk_size)
    return src, parser, record_buffers(((first, plain_text(src, text)) for first, text in pieces), parser)
