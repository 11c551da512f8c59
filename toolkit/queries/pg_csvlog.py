"""The PostgreSQL csvlog scanner: text of whole records -> record batches.

Reference (PostgreSQL 15): https://www.postgresql.org/docs/15/runtime-config-logging.html,
"Using CSV-Format Log Output". A real csvlog line::

    2026-11-26 05:09:21.826 UTC,"postgres","app",11999,"127.0.0.1:33268",6b07bf01.2edf,3,"DROP TABLE",
    2026-11-26 05:09:21 UTC,3/0,0,LOG,00000,"duration: 0.250 ms  statement: DROP TABLE IF EXISTS orders",
    ,,,,,,,,"workload","client backend",,-9023723664155138933

(one line in the file). Quoted fields hold raw newlines, so a record may span lines. The batches
(:class:`~toolkit.queries.records.RecordBatch`) hold the columns under the names the jsonlog
scanner uses too (:data:`STRUCTURED`), as logged ('' where a field is empty);
:func:`toolkit.queries.pg_csvjson.structured_raw` builds the raw-records frame from either.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from ..sources import Source, recut
from .records import RecordBatch, ahead

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
# The structured logs' batch columns: batch name -> csvlog column (jsonlog: pg_jsonlog.JSON_NAMES)
STRUCTURED = {"ts": "log_time", "user": "user_name", "database": "database_name", "pid": "process_id",
              "client": "connection_from", "session": "session_id", "severity": "error_severity",
              "sqlstate": "sql_state_code", "message": "message", "detail": "detail", "hint": "hint",
              "context": "context", "statement": "query", "application": "application_name",
              "query_id": "query_id"}
# A line that may start a record: the log_time (maybe quoted) and a comma. Inside a quoted
# field (a message of several lines) such a line is text: see record_starts.
CSV_RECORD_START = re.compile(r'\n(?="?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [^,\s]*,)')


def record_starts(buf: str, quotes: int = 0) -> Iterator[int]:
    """The offsets in ``buf`` where a csvlog record starts after a line break, given ``quotes``
    (the number of ``"`` before ``buf`` since a record start; 0: ``buf`` starts at one): a line
    that looks like a record start and lies outside every quoted field, i.e. after an even
    number of quotes (a quote inside a field is written doubled, so the count is odd exactly
    inside a quoted field). So a cut there never falls inside a quoted field."""
    pos = 0
    for m in CSV_RECORD_START.finditer(buf):
        quotes += buf.count('"', pos, m.end())
        pos = m.end()
        if quotes % 2 == 0:
            yield pos


def last_record_start(buf: str) -> int:
    """The last of :func:`record_starts` in ``buf`` (which starts at a record start); -1: none."""
    end = -1
    for end in record_starts(buf):  # noqa: B007 (the last one is wanted)
        pass
    return end


def csv_recut(chunks: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` chunks of a csvlog that start at a record start, re-cut so each
    ends where a record starts (:func:`record_starts`)."""
    return recut(chunks, lambda buf, carried: last_record_start(buf))


def csv_buffers(src: Source, chunk_bytes: int) -> Iterator[tuple[int, str]]:
    """Chunks re-cut where a csvlog record starts (a quoted field may hold raw newlines)."""
    return csv_recut(ahead(src.iter_chunks(chunk_bytes)))


def _host(value: str) -> str:
    # connection_from is host:port, or [local]; IPv6 hosts have colons too
    if value and value[-1].isdigit() and ":" in value:
        return value.rsplit(":", 1)[0]
    return value


def scan_csv(text: str, first: int, ncols: int | None = None) -> tuple[RecordBatch, int | None]:
    """The records of ``text`` (whole csvlog records from input line ``first``) and the log's
    column count (23, 24 or 26: the server version's, fixed by the first record; ``ncols`` carries
    it from the buffers before). A blank line, a record of another column count and a malformed
    rest are skipped lines with their reason. ``client`` is the host without the port."""
    reader = csv.reader(io.StringIO(text))
    rows, starts, nls = [], [], []
    skips: list[tuple[int, str, str, int]] = []
    prev = 0
    lines = text.count("\n") + (1 if text and text[-1] != "\n" else 0)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rest = lines - prev
            skips.append((first + prev, f"truncated or malformed CSV record: {exc}", "", max(rest, 1)))
            prev = lines
            break
        line = reader.line_num
        count = line - prev
        if not row:
            skips.append((first + prev, "blank line", "", count))
        else:
            if ncols is None and len(row) in CSV_COLUMNS:
                ncols = len(row)
            if len(row) != (ncols or 26):
                skips.append((first + prev, f"expected {ncols or 26} csvlog columns, found {len(row)}",
                              ",".join(row)[:200], count))
            else:
                rows.append(row)
                starts.append(first + prev)
                nls.append(count)
        prev = line
    if not rows:
        return RecordBatch.empty(first, max(lines, prev), skips=skips), ncols
    c = dict(zip(CSV_COLUMNS[ncols], zip(*rows, strict=True), strict=True))
    columns = {name: c[col] for name, col in STRUCTURED.items() if col in c}
    columns["client"] = [_host(v) for v in columns["client"]]
    return RecordBatch.of(first, max(lines, prev), columns, starts, nls, skips=skips), ncols


def csv_batches(src: Source, chunk_bytes: int) -> Iterator[RecordBatch]:
    """The record batches of a csvlog, a buffer of whole records at a time."""
    ncols: int | None = None
    for first, text in csv_buffers(src, chunk_bytes):
        batch, ncols = scan_csv(text, first, ncols)
        yield batch
