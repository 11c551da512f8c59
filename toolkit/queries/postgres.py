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

Speed: stderr is parsed a 16 MiB chunk at a time, query events by one pass of the compiled
scanner over the whole chunk (:meth:`StderrParser.scan_batch`, C), the other records by one
regular expression over the chunk (continuation lines first folded into their record); columns
are built as lists and timestamps converted by pandas in one call; chunks are parsed in two worker processes
(``workers=2``, the default on a machine with two cores or more; ``workers=1`` parses in this
process). A reader of query events only (``read_queries``) takes
:meth:`StderrParser.parse_queries`: one pass that builds rows for the query records alone (the
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
import csv
import io
import itertools
import multiprocessing
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import formats, schema
from ..errors import LogFormatError, ParseError
from ..sources import (
    CHUNK_BYTES,
    MAX_EXAMPLES,
    Accounting,
    Source,
    load_json,
    open_source,
)
from .pg_csvjson import iter_csv_raw, iter_json_raw
from .pg_csvjson_digest import CSVLOG_DIGEST, JSONLOG_DIGEST, split_postgres_csvlog, split_postgres_jsonlog
from .pg_csvlog import CSV_COLUMNS
from .pg_digest import STDERR_DIGEST
from .pg_envelope import unwrap, unwrapped_head
from .pg_events import split_checked
from .pg_prefix import (
    SEVERITIES,
    detect_prefix,
)
from .pg_stderr import StderrParser, gc_paused, range_buffers, stderr_buffers, stderr_prefix

# ---------------------------------------------------------------------------------- readers

_FORMATS = ("postgres-stderr", "postgres-csvlog", "postgres-jsonlog")
_RAW = {
    "postgres-csvlog": lambda src, o: iter_csv_raw(src, o.get("log_timezone"), o["chunk_bytes"]),
    "postgres-jsonlog": lambda src, o: iter_json_raw(src, o.get("log_timezone"), o["chunk_bytes"]),
}


# The stderr reader's pieces: a worker holds about ten times its piece while parsing it (a
# tuple of strings per line, then the columns), and that worker's peak is the read's peak on a
# 60 MB log. 8 MiB pieces instead of 16 MiB: 60 MB less peak memory (358 -> 298 MB on
# benchmarks' pg-big.log), the same CPU time (benchmarks/RESULTS.md, "#12, PostgreSQL (session 23)").
STDERR_READ_CHUNK_BYTES = 8 << 20


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
            yield split_checked(raw, acc, server)
        return
    if not src.head(1):
        return
    prefix = stderr_prefix(src, opts.get("log_line_prefix"))
    args = (prefix, src.name, opts.get("log_timezone"), acc.errors, server)
    parser = StderrParser(prefix, src.name, opts.get("log_timezone"))
    buffers = stderr_buffers(src, parser, opts["chunk_bytes"])
    first = next(buffers, None)
    second = next(buffers, None)
    workers = _workers(opts.get("workers"))
    if second is None or workers == 1:
        for item in itertools.chain([first], [second] if second else [], buffers):
            yield _merge(acc, _stderr_part(*args, *item, parser=parser))
        return
    # Chunks go to worker processes; at most workers + 1 are in flight, so memory stays
    # bounded by a few chunks whatever the file size.
    # fork, not spawn or forkserver: a forked worker starts with the modules imported (spawn
    # re-imports pandas & co. in each worker, forkserver once per session: ~0.5 CPU s, a
    # quarter of a 30 MB read), and both of those re-run the caller's main module, so a script
    # without an ``if __name__ == "__main__":`` guard would fail. The workers only run the
    # scanner (re, numpy, pandas object columns); the threads a parent may hold (pyarrow's and
    # OpenBLAS's pools) re-create themselves in a forked child (their atfork handlers).
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
    its text the same way, see :meth:`StderrParser.cut`)."""
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
        parser = _PARSERS.get(key) or _PARSERS.setdefault(key, StderrParser(prefix, name, log_timezone))
    acc = Accounting(path=name, errors=errors)
    try:
        with gc_paused():
            q, s, c = _parse_part(parser, text, first, acc, server)
    except ParseError as exc:  # re-raised by _merge: its fields survive the process boundary
        return ("ParseError", exc.message, exc.path, exc.line, exc.expected)
    return q, s, c, (acc.lines_skipped, dict(acc.skip_reasons), acc.skipped)


def _parse_part(parser: StderrParser, text: str, first: int, acc: Accounting, server: bool) -> tuple:
    """``(query_events, server_events, line counts)`` of one buffer of whole records; a reader of
    query events only takes :meth:`StderrParser.parse_queries` where it can."""
    if not server:
        lean = parser.parse_queries(text, first)
        if lean is not None:
            q, query_lines, server_lines = lean
            return q, schema.empty("server_events"), {"query_events": query_lines,
                                                      "server_events": server_lines}
    return split_checked(parser.parse(text, first, acc, lean=not server), acc, server, english=True)


def _merge(acc: Accounting, part: tuple) -> tuple:
    if isinstance(part[0], str):  # ("ParseError", message, path, line, expected)
        raise ParseError(*part[1:])
    q, s, c, (skipped, reasons, examples) = part
    acc.lines_skipped += skipped
    acc.skip_reasons.update(reasons)
    acc.skipped.extend(examples[:max(0, MAX_EXAMPLES - len(acc.skipped))])
    return q, s, c


def _run(fmt: str, source: Any, table: str, errors: str, options: dict) -> pd.DataFrame:
    with gc_paused():
        return _run_all(fmt, source, table, errors, options)


def _run_all(fmt: str, source: Any, table: str, errors: str, options: dict) -> pd.DataFrame:
    src = open_source(source, errors=errors)
    src.accounting.format = fmt
    opts = {"chunk_bytes": STDERR_READ_CHUNK_BYTES if fmt == "postgres-stderr" else CHUNK_BYTES,
            **options, "table": table}
    src, opts["log_line_prefix"] = unwrap(src, opts.get("log_line_prefix"), opts.get("log_timezone"))
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


def _read(fmt: str, table: str, source: Any, errors: str, log_line_prefix: str | None,
          log_timezone: str | None, options: dict[str, Any]) -> pd.DataFrame:
    """The six readers below: one table of one format, with the same options."""
    if fmt != "postgres-stderr" and log_line_prefix is not None:
        raise LogFormatError(f"log_line_prefix applies to stderr logs only, not {fmt}")
    opts = {"log_line_prefix": log_line_prefix, "log_timezone": log_timezone, **options}
    return _run(fmt, source, table, errors, opts)


def read_postgres_stderr(source: Any, *, errors: str = "skip", log_line_prefix: str | None = None,
                         log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a PostgreSQL stderr log into the ``query_events`` table (query events).

    Options: ``errors`` ('skip' or 'raise'), ``log_line_prefix`` (the server's, when not a common
    one), ``log_timezone`` (IANA name, for zone abbreviations the reader does not know),
    ``chunk_bytes`` (16 MiB), ``workers`` (processes parsing chunks, default 2).
    ``df.attrs['source']`` accounts for every line: ``record_lines`` in this table,
    ``lines_in_other_table``, ``lines_skipped`` with reasons.

    Example::

        >>> df = read_postgres_stderr('postgresql.log', errors='skip')   # doctest: +SKIP
    """
    return _read("postgres-stderr", "query_events", source, errors, log_line_prefix, log_timezone, options)


def read_postgres_stderr_server_events(source: Any, *, errors: str = "skip",
                                       log_line_prefix: str | None = None,
                                       log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a PostgreSQL stderr log into the ``server_events`` table (server events).

    Options as :func:`read_postgres_stderr`.

    Example::

        >>> df = read_postgres_stderr_server_events('postgresql.log')   # doctest: +SKIP
    """
    return _read("postgres-stderr", "server_events", source, errors, log_line_prefix, log_timezone, options)


def read_postgres_csvlog(source: Any, *, errors: str = "skip", log_line_prefix: str | None = None,
                         log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a PostgreSQL csvlog into the ``query_events`` table (query events).

    Options: ``errors`` ('skip' or 'raise'), ``log_timezone`` (IANA name, for zone abbreviations
    the reader does not know), ``chunk_bytes`` (16 MiB); ``log_line_prefix`` is refused
    (:class:`~toolkit.errors.LogFormatError`: stderr only). ``df.attrs['source']`` accounts for
    every line: ``record_lines`` in this table, ``lines_in_other_table``, ``lines_skipped`` with
    reasons.

    Example::

        >>> df = read_postgres_csvlog('postgresql.csv', errors='skip')   # doctest: +SKIP
    """
    return _read("postgres-csvlog", "query_events", source, errors, log_line_prefix, log_timezone, options)


def read_postgres_csvlog_server_events(source: Any, *, errors: str = "skip",
                                       log_line_prefix: str | None = None,
                                       log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a PostgreSQL csvlog into the ``server_events`` table (server events).

    Options as :func:`read_postgres_csvlog`.

    Example::

        >>> df = read_postgres_csvlog_server_events('postgresql.csv')   # doctest: +SKIP
    """
    return _read("postgres-csvlog", "server_events", source, errors, log_line_prefix, log_timezone, options)


def read_postgres_jsonlog(source: Any, *, errors: str = "skip", log_line_prefix: str | None = None,
                          log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a PostgreSQL jsonlog (15+) into the ``query_events`` table (query events).

    Options as :func:`read_postgres_csvlog`.

    Example::

        >>> df = read_postgres_jsonlog('postgresql.json', errors='skip')   # doctest: +SKIP
    """
    return _read("postgres-jsonlog", "query_events", source, errors, log_line_prefix, log_timezone, options)


def read_postgres_jsonlog_server_events(source: Any, *, errors: str = "skip",
                                        log_line_prefix: str | None = None,
                                        log_timezone: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a PostgreSQL jsonlog (15+) into the ``server_events`` table (server events).

    Options as :func:`read_postgres_csvlog`.

    Example::

        >>> df = read_postgres_jsonlog_server_events('postgresql.json')   # doctest: +SKIP
    """
    return _read("postgres-jsonlog", "server_events", source, errors, log_line_prefix, log_timezone, options)


def iter_query_chunks(source: Any, format: str | None = None, *, table: str = "query_events",
                      errors: str = "skip", log_line_prefix: str | None = None,
                      log_timezone: str | None = None, chunk_bytes: int = CHUNK_BYTES,
                      workers: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield the ``query_events`` (or ``server_events``) table of a PostgreSQL log chunk by chunk.

    Memory stays bounded by ``chunk_bytes`` of text plus one chunk's rows, whatever the file
    size. Each frame's ``attrs["source"]`` is the accounting so far (final on the last frame).
    Chunks end where no session waits for a later record (see :meth:`StderrParser.cut`), so a
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
    src, log_line_prefix = unwrap(src, log_line_prefix, log_timezone)
    opts = {"log_line_prefix": log_line_prefix, "log_timezone": log_timezone,
            "chunk_bytes": chunk_bytes, "workers": workers, "table": table}
    counts = {"query_events": 0, "server_events": 0}
    records = 0
    parts = _iter_parts(fmt, src, opts)
    while True:
        with gc_paused():
            part = next(parts, None)
            if part is None:
                return
            q, s, c = part
            for k in counts:
                counts[k] += c[k]
            frame = _finish(src, table, [q if table == "query_events" else s], counts, records)
            records += len(frame)
        yield frame


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
        with gc_paused():
            q, _s, c = _parse_part(parser, text, first, acc, server=False)
        for k in counts:
            counts[k] += c[k]
        frame = _finish(src, "query_events", [q], counts, records)
        records += len(frame)
        yield frame


# ---------------------------------------------------------------------------------- sniffing

_ANY_SEVERITY = re.compile(r"\b(?:LOG|ERROR|FATAL|WARNING|STATEMENT|DETAIL|PANIC):  ")
_CSV_HEAD = re.compile(r'^"?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [^,\s"]*"?,')  # log_time may be quoted


def _sniff_stderr(head) -> bool:
    text = unwrapped_head(head).text
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
    first = unwrapped_head(head).text.lstrip().split("\n", 1)[0]
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
                 extras=formats.Extras(tables={"server_events": read_postgres_stderr_server_events},
                                       split=split_postgres_stderr, digest=STDERR_DIGEST))
# No suffixes for csvlog and jsonlog: .csv and .json files are mostly something else, and the
# sniffers recognise these logs by their first record.
formats.register("postgres-csvlog", "queries", read_postgres_csvlog, sniff=_sniff_csvlog,
                 priority=1,
                 description="PostgreSQL csvlog (23/24/26 columns)",
                 extras=formats.Extras(tables={"server_events": read_postgres_csvlog_server_events},
                                       split=split_postgres_csvlog, digest=CSVLOG_DIGEST))
formats.register("postgres-jsonlog", "queries", read_postgres_jsonlog, sniff=_sniff_jsonlog,
                 priority=1,
                 description="PostgreSQL jsonlog (15+)",
                 extras=formats.Extras(tables={"server_events": read_postgres_jsonlog_server_events},
                                       split=split_postgres_jsonlog, digest=JSONLOG_DIGEST))

__all__ = ["split_postgres_stderr", "read_postgres_stderr", "read_postgres_csvlog", "read_postgres_jsonlog",
           "read_postgres_stderr_server_events", "read_postgres_csvlog_server_events",
           "read_postgres_jsonlog_server_events", "iter_query_chunks"]
