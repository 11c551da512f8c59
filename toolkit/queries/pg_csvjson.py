"""PostgreSQL csvlog and jsonlog as raw log records (see :mod:`toolkit.queries.pg_events`).

Reference (PostgreSQL 15): https://www.postgresql.org/docs/15/runtime-config-logging.html,
"Using CSV-Format Log Output" and "Using JSON-Format Log Output". A real csvlog line::

    2026-11-26 05:09:21.826 UTC,"postgres","app",11999,"127.0.0.1:33268",6b07bf01.2edf,3,"DROP TABLE",
    2026-11-26 05:09:21 UTC,3/0,0,LOG,00000,"duration: 0.250 ms  statement: DROP TABLE IF EXISTS orders",
    ,,,,,,,,"workload","client backend",,-9023723664155138933

(one line in the file). Quoted fields hold raw newlines, so a record may span lines; empty
fields are nulls. A jsonlog line is one object; keys whose value is NULL are left out (a key of
the wrong JSON type, e.g. a list as ``message``, skips its line with the reason)::

    {"timestamp":"2026-11-26 05:09:21.105 UTC","pid":11948,"session_id":"6b07bf01.2eac",
     "line_num":1,...,"error_severity":"LOG","message":"starting PostgreSQL 15.18 ...",...}

Both are read a chunk at a time; :func:`_structured_raw` turns their columns into the raw-records
frame the stderr reader makes too, so all three formats share one builder.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pandas as pd

from .. import schema
from ..errors import ParseError
from ..sources import Source, load_json, recut
from .pg_events import raw_frame, split_message
from .pg_time import utc_times


def ahead(chunks: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The same chunks, each handed out only once the next one is read: so the source's
    ``lines_read`` is final when the last chunk is processed (streaming readers report it)."""
    prev = None
    for item in chunks:
        if prev is not None:
            yield prev
        prev = item
    if prev is not None:
        yield prev


CSV_COLUMNS_14 = ("log_time", "user_name", "database_name", "process_id", "connection_from",
                  "session_id", "session_line_num", "command_tag", "session_start_time",
                  "virtual_transaction_id", "transaction_id", "error_severity", "sql_state_code",
                  "message", "detail", "hint", "internal_query", "internal_query_pos", "context",
                  "query", "query_pos", "location", "application_name", "backend_type",
                  "leader_pid", "query_id")
# 25: the 14+ columns without leader_pid (written empty outside parallel workers), as in the
# csvlog lines of pgBadger's t/fixtures/csv_statement_without_duration.log (log_time quoted too)
CSV_COLUMNS = {23: CSV_COLUMNS_14[:23], 24: CSV_COLUMNS_14[:24], 25: CSV_COLUMNS_14[:24] + CSV_COLUMNS_14[25:],
               26: CSV_COLUMNS_14}
_CSV_RECORD_START = re.compile(r'\n(?="?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [^,\s]*,)')


def _csv_buffers(src: Source, chunk_bytes: int) -> Iterator[tuple[int, str]]:
    """Chunks re-cut where a csvlog record starts (a quoted field may hold raw newlines)."""
    def cut(buf: str, carried: int) -> int:
        end = -1
        for m in _CSV_RECORD_START.finditer(buf, max(0, len(buf) - 1_000_000)):
            end = m.end()
        return end

    return recut(ahead(src.iter_chunks(chunk_bytes)), cut)


def _host(value: str) -> str:
    # connection_from is host:port, or [local]; IPv6 hosts have colons too
    if value and value[-1].isdigit() and ":" in value:
        return value.rsplit(":", 1)[0]
    return value


def iter_csv_raw(src: Source, log_timezone: str | None, chunk_bytes: int) -> Iterator[pd.DataFrame]:
    acc = src.accounting
    ncols: int | None = None
    for first, text in _csv_buffers(src, chunk_bytes):
        reader = csv.reader(io.StringIO(text))
        rows, starts, nls = [], [], []
        prev = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rest = text.count("\n", 0) - prev + (0 if text.endswith("\n") else 1)
                acc.skip(first + prev, f"truncated or malformed CSV record: {exc}", "", count=max(rest, 1))
                break
            line = reader.line_num
            count = line - prev
            if not row:
                acc.skip(first + prev, "blank line", "", count=count)
            else:
                if ncols is None and len(row) in CSV_COLUMNS:
                    ncols = len(row)
                if len(row) != (ncols or 26):
                    acc.skip(first + prev, f"expected {ncols or 26} csvlog columns, found {len(row)}",
                             ",".join(row)[:200], count=count)
                else:
                    rows.append(row)
                    starts.append(first + prev)
                    nls.append(count)
            prev = line
        if not rows:
            continue
        c = dict(zip(CSV_COLUMNS[ncols], zip(*rows, strict=True), strict=True))
        yield _structured_raw(c, starts, nls, src.name, log_timezone,
                              ts="log_time", user="user_name", db="database_name", pid="process_id",
                              client=[_host(v) for v in c["connection_from"]], session="session_id",
                              sev="error_severity", state="sql_state_code", query="query",
                              app="application_name")


def _structured_raw(c: dict, starts, nls, name, log_timezone, *, ts, user, db, pid, client,
                    session, sev, state, query, app) -> pd.DataFrame:
    """Raw records from csvlog/jsonlog columns (dict of name -> sequence)."""
    n = len(starts)

    def get(key):
        v = c.get(key)
        return [None] * n if v is None else [None if x == "" else x for x in v]

    stamps = [s or "" for s in get(ts)]
    local = [s.rsplit(" ", 1)[0] for s in stamps]
    zones = [s.rsplit(" ", 1)[1] if " " in s else "" for s in stamps]
    detail = get("detail")
    params = [None] * n
    for i, d in enumerate(detail):
        if d and d.startswith(("parameters: ", "Parameters: ")):
            params[i] = d[12:]
            detail[i] = None
    messages = ["" if m is None else m for m in get("message")]
    client = [None if x == "" else x for x in client]
    durs, verbs, pnames, rests = split_message(messages)
    sev_v = get(sev)
    stamps = utc_times(local, zones, name=name, log_timezone=log_timezone)
    return raw_frame({
        "source_line": starts, "nlines": nls, "timestamp": stamps.values, "problem": stamps.reasons,
        "session": get(session), "pid": [None if p is None else str(p) for p in get(pid)],
        "user": get(user), "database": get(db), "application": get(app), "client": client,
        "severity": sev_v, "sqlstate": [None if s in (None, "", "00000") else s for s in get(state)],
        "dur": durs, "verb": verbs, "pname": pnames,
        "message": [r if v else m for r, v, m in zip(rests, verbs, messages, strict=True)]
        if any(verbs) or any(durs) else messages,
        "detail": detail, "hint": get("hint"), "context": get("context"), "statement": get(query),
        "parameters": params,
        "query_id": [None if q in (None, "", 0, "0") else str(q) for q in get("query_id")],
    })


# ---------------------------------------------------------------------------------- jsonlog

JSON_KEYS = ("timestamp", "user", "dbname", "pid", "remote_host", "session_id", "error_severity",
             "state_code", "message", "detail", "hint", "context", "statement", "application_name",
             "query_id")
# The keys PostgreSQL writes as JSON numbers (elog.c, write_jsonlog); the others are strings.
JSON_NUMBERS = ("pid", "query_id")
_JSON_TEXT = tuple(k for k in JSON_KEYS if k not in JSON_NUMBERS)


def _json_values(obj: dict) -> tuple[list | None, str | None]:
    """The :data:`JSON_KEYS` values of one jsonlog record (numbers as their decimal text), or
    None and the reason when one has the wrong JSON type (a list where a string belongs, a
    string or a fraction where an integer belongs): the record is skipped then."""
    for key in _JSON_TEXT:
        v = obj.get(key)
        if v is not None and not isinstance(v, str):
            return None, schema.text_value(v, key)[1]
    values = [obj.get(k) for k in JSON_KEYS]
    for key in JSON_NUMBERS:
        v = obj.get(key)
        if v is not None:
            n, why = schema.int_value(v, key)
            if why is not None:
                return None, why
            values[JSON_KEYS.index(key)] = str(n)
    return values, None


def iter_json_raw(src: Source, log_timezone: str | None, chunk_bytes: int) -> Iterator[pd.DataFrame]:
    acc = src.accounting
    for first, text in ahead(src.iter_chunks(chunk_bytes)):
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        cols: dict[str, list] = {k: [] for k in JSON_KEYS}
        starts = []
        for k, line in enumerate(lines):
            try:
                obj = load_json(line, src.name, first + k)
            except ParseError:
                obj = None
            if not isinstance(obj, dict) or "error_severity" not in obj:
                acc.skip(first + k, "blank line" if not line.strip() else
                         "not a jsonlog record (a JSON object with error_severity)", line)
                continue
            values, why = _json_values(obj)
            if why is not None:
                acc.skip(first + k, why, line)
                continue
            starts.append(first + k)
            for key, v in zip(JSON_KEYS, values, strict=True):
                cols[key].append(v)
        if not starts:
            continue
        # fractional rows of the message are in the JSON string, one line per record
        yield _structured_raw(cols, starts, [1] * len(starts), src.name, log_timezone,
                              ts="timestamp", user="user", db="dbname", pid="pid",
                              client=cols["remote_host"], session="session_id",
                              sev="error_severity", state="state_code", query="statement",
                              app="application_name")


