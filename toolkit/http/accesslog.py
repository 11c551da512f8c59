"""Access logs (nginx ``log_format``, Apache ``LogFormat``, JSON lines) as the ``http_requests`` table.

Formats: nginx 1.22 ``log_format`` (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format),
Apache 2.4 ``LogFormat`` (https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats), and
JSON lines as written by nginx's ``escape=json`` formats (one object per line).

A real line of the ``combined`` format (nginx 1.22, sample_traces/http/nginx/combined.log.gz)::

    127.0.0.12 - - [26/Nov/2026:05:15:04 +0000] "GET /api/users/517 HTTP/1.1" 200 29 "-" "Mozilla/5.0 ..."

and of a request that is not HTTP (TLS bytes sent to the plain HTTP port; kept as a row with
``malformed`` True, ``method``/``path`` null)::

    127.0.0.99 - - [26/Nov/2026:05:15:40 +0000] "\\x16\\x03\\x01\\x02\\x00..." 400 157 "-" "-"

Values: text becomes a number or a time in :mod:`toolkit.schema`. A line whose time (the best
time field) is not a valid time or lies outside the years 1678-2261 is skipped, counted with the
reason; a number that is not one of its kind (``-``, ``1.2.3``, a status beyond int64) is null,
the line kept: nothing else on it is wrong.

Reading is the access-log scanner's (:mod:`toolkit.http.scanner`): ONE C pass over each piece of
~16 MiB (:mod:`toolkit.native.accesslog`: lines matched by the compiled log_format, values coded
into their distinct values), columns converted on their distinct values only; this module
concatenates its batches. Every input line is a row or a counted skip (``df.attrs["source"]``).

Example::

    >>> import toolkit as tk
    >>> df = tk.read_access_log("sample_traces/http/nginx/combined.log.gz")   # doctest: +SKIP
    >>> df[["timestamp", "method", "path", "status"]].head()                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .. import engines, formats, schema
from ..errors import LogFormatError
from ..sources import CHUNK_BYTES, Source, open_source
from . import apache, conf, dialects
from .logformat import CompiledFormat, compile_log_format
from .scanner import (
    JSON_FORMAT,
    Coded,
    columns_of,
    json_record,
    scan,
    with_json_keys,
)

# The table readers scan pieces of 8 MiB: a piece's regex tuples are their largest transient
# memory (~7x the piece), and the table is the same for any piece size.
READ_CHUNK_BYTES = 1 << 23


def compile_format(log_format: str | CompiledFormat, *, escape: str | None = None,
                   variables: tuple[str, ...] = ()) -> CompiledFormat:
    """An nginx or Apache format (name, format string or pasted directive) -> CompiledFormat.

    Apache is recognised by its ``%`` directives (``%h %l %u %t \\"%r\\" %>s %b``) or by the
    names ``common`` / ``combined_apache`` / a pasted ``LogFormat`` line.
    """
    if isinstance(log_format, CompiledFormat):
        return log_format
    if not isinstance(log_format, str) or not log_format.strip():
        raise LogFormatError(f"log_format must be a non-empty string, not {log_format!r}")
    # comment lines of a pasted config excerpt (or of a NAME.log_format file) are not the format
    text = "\n".join(ln for ln in log_format.splitlines() if not ln.lstrip().startswith("#")).strip()
    if not text:
        raise LogFormatError("log_format holds only comments")
    if apache.looks_like_apache(text):
        return apache.compile_apache_format(text)
    return compile_log_format(text, escape=escape, variables=variables)


# ----------------------------------------------------------------------------------- reading

def iter_chunks(source: Any, log_format: str | CompiledFormat | None = None, *, name: str | None = None,
                errors: str = "skip", chunk_size: int = CHUNK_BYTES, escape: str | None = None,
                variables: tuple[str, ...] = (), columns: set[str] | None = None,
                json_keys: Mapping[str, str] | None = None) -> Iterator[pd.DataFrame]:
    """Stream an access log as DataFrames of up to ``chunk_size`` bytes of input each
    (canonical ``http_requests`` columns plus one per other variable; only ``columns`` plus
    ``timestamp``, ``method``, ``malformed`` and ``source_line`` when given): the scanner's
    batches (:mod:`toolkit.http.scanner`) as frames. ``log_format`` and ``name`` as in
    :func:`read_access_log`; the format is resolved and checked on the log's first lines before
    any line is read. The source's accounting is complete when the iterator is exhausted."""
    src, fmt = resolve_format(source, log_format, name=name, escape=escape, variables=variables,
                              errors=errors, json_keys=json_keys)
    if columns is not None and not isinstance(fmt, str):
        fmt = fmt.only(columns)
    src.accounting.format = f"access_log:{fmt if isinstance(fmt, str) else fmt.name}"
    for batch in scan(src, fmt, chunk_size):
        if len(batch):
            yield batch.frame()
    check_matched(src.accounting, fmt)


def read_resolved(source: Any, fmt: CompiledFormat | str, *, errors: str = "skip",
                  chunk_size: int = READ_CHUNK_BYTES) -> pd.DataFrame:
    """The ``http_requests`` table of a log in the format ``fmt`` (a resolved one: see
    :func:`resolve_format`), with its accounting in ``attrs["source"]``."""
    src = open_source(source, errors=errors)
    src.accounting.format = f"access_log:{fmt if isinstance(fmt, str) else fmt.name}"
    df = table_of(scan(src, fmt, chunk_size), fmt, lambda: check_matched(src.accounting, fmt))
    df.attrs["source"] = src.accounting.as_dict()
    # rows kept without a time or a path (a JSON line lacking the key, a request line that is
    # not HTTP): counted, so that a null in a time series or an endpoint table is never silent
    df.attrs["source"]["rows_without"] = rows_without(df)
    return df


def rows_without(df: pd.DataFrame) -> dict[str, int]:
    """The rows of an ``http_requests`` table without a time and without a path."""
    return {c: int(df[c].isna().sum()) for c in ("timestamp", "path")}


def table_of(batches: Iterator[Any], fmt: CompiledFormat | str,
             scanned: Any = None) -> pd.DataFrame:
    """The ``http_requests`` table of the scanner's batches (of one log, or of one byte range:
    the Dask engine's partitions), concatenated column by column (each column's pieces freed
    once joined, so the peak is about one table, not two). ``scanned()`` runs once the batches
    are exhausted (the whole-log reader checks that the format matched). No ``attrs``."""
    pieces: dict[str, list[tuple[int, Any]]] = {}  # column -> (batch number, array) in file order
    sizes: list[int] = []
    for batch in batches:
        if not len(batch):
            continue
        for name, values in {**batch.columns, "source_line": batch.source_line}.items():
            # a text column of repeated values is kept as its codes (4 bytes a row) and distinct
            # values, the rows' strings taken once the whole column is known: no object array
            # per piece to join (and to leave as holes in the heap)
            coded = batch.coded.get(name)
            if coded is not None and 2 * len(coded.uniques) < len(coded.codes):
                values = Coded(coded.codes.astype(np.int32) if len(coded.uniques) < 1 << 31 else coded.codes,
                               coded.uniques)
            pieces.setdefault(name, []).append((len(sizes), values))
        sizes.append(len(batch))
    if scanned is not None:
        scanned()
    if not sizes and not isinstance(fmt, str):
        # no request: the format's columns all the same (a log's parts concatenate)
        empty = {g: np.empty(0, dtype=object) for g in fmt.groups if g != "_line"}
        pieces = {k: [(0, v)] for k, v in columns_of(empty, fmt, False).items()}
        pieces["source_line"] = [(0, np.empty(0, dtype=np.int64))]
        sizes = [0]
    columns = {name: _joined(pieces.pop(name), sizes) for name in list(pieces)}
    return _canonical(columns, sum(sizes))


def _joined(parts: list[tuple[int, Any]], sizes: list[int]) -> pd.Series:
    """One column from its batches' arrays; a batch without it (a JSON key absent from a whole
    piece of the log) gets nulls of the column's type, as its rows would in one piece (False for
    ``malformed``: no request line, none that is malformed)."""
    have = dict(parts)
    parts.clear()
    if len(have) == len(sizes) and all(isinstance(v, Coded) for v in have.values()):
        return pd.Series(_taken(list(have.values())), dtype=object, copy=False)
    have = {i: np.asarray(v) if isinstance(v, Coded) else v for i, v in have.items()}
    series = [pd.Series(v, dtype=object, copy=False) if isinstance(v, np.ndarray) and v.dtype == object
              else pd.Series(v, copy=False) for v in have.values()]
    dtype = series[0].dtype
    pieces = iter(series)
    series = [next(pieces) if i in have else pd.Series([None] * n, dtype=dtype) for i, n in enumerate(sizes)]
    return series[0] if len(series) == 1 else pd.concat(series, ignore_index=True)


def _taken(parts: list[Coded]) -> np.ndarray:
    """The rows' values of a column's coded pieces (in order): their distinct values side by side,
    each piece's codes moved past the pieces before, one gather into the column."""
    shift = np.cumsum([0] + [len(p.uniques) for p in parts[:-1]])
    dtype = np.int32 if shift[-1] + len(parts[-1].uniques) < 1 << 31 else np.int64
    codes = np.concatenate([p.codes.astype(dtype, copy=False) + dtype(k) for p, k in zip(parts, shift, strict=True)])
    uniques = np.concatenate([p.uniques for p in parts])
    return uniques[codes]


def _same_family(have: Any, want: Any) -> bool:
    """Whether a column of dtype ``have`` already fits the canonical dtype ``want`` (int64 fits
    Int64, an object column of strings fits a string column: coerce leaves them as they are)."""
    for test in (ptypes.is_integer_dtype, ptypes.is_float_dtype, ptypes.is_bool_dtype):
        if test(want):
            return test(have)
    if ptypes.is_string_dtype(want):
        return ptypes.is_string_dtype(have) or ptypes.is_object_dtype(have)
    return have == want


def _canonical(columns: dict[str, pd.Series], rows: int) -> pd.DataFrame:
    """``http_requests`` from joined columns, without a copy of the whole table: canonical
    columns first in their dtypes (an absent one null), ``malformed`` and the format's other
    variables after (what :func:`toolkit.schema.coerce` gives, which copies every column)."""
    template = schema.empty("http_requests")
    out: dict[str, Any] = {}
    for name, dtype in template.dtypes.items():
        col = columns.pop(name, None)
        if col is None:
            col = pd.Series(np.nan if dtype == np.float64 else pd.NA, index=range(rows), dtype=dtype)
        elif not _same_family(col.dtype, dtype):  # a JSON column with pieces of other types
            col = col.astype(dtype)
        out[name] = col
    if "malformed" not in columns:  # no request line: none is malformed
        columns["malformed"] = pd.Series(np.zeros(rows, dtype=bool))
    out.update(columns)
    return schema.validate(pd.DataFrame(out, copy=False), "http_requests")


def read_nginx(source: Any, log_format: str | CompiledFormat = "combined", *, errors: str = "skip",
               escape: str | None = None, variables: tuple[str, ...] = (),
               chunk_size: int = READ_CHUNK_BYTES) -> pd.DataFrame:
    """Read an access log written with ``log_format`` (nginx or Apache) into ``http_requests``.

    Columns: the canonical ones (timestamp UTC, client, method, url, path, query, protocol,
    status, body_bytes_sent, bytes_sent, request_time_s, upstream_time_s, referer, user_agent,
    source_line) plus ``request`` (raw request line), ``malformed`` (the request line is not
    ``METHOD target [HTTP/x]``) and one column per other variable, named after it
    (``upstream_cache_status``, ``connection_requests``, ``gzip_ratio``, ...).
    """
    fmt = compile_format(log_format, escape=escape, variables=variables)
    return read_resolved(source, fmt, errors=errors, chunk_size=chunk_size)


def read_json_lines(source: Any, *, errors: str = "skip", chunk_size: int = READ_CHUNK_BYTES) -> pd.DataFrame:
    """Read a JSON-lines access log (one object per line, keys named after nginx variables,
    e.g. nginx ``log_format x escape=json '{"status":"$status",...}'``) into ``http_requests``.

    Lines that are not a JSON object are counted as skipped. Values may be strings or numbers.
    A real line (nginx 1.22, sample_traces/http/nginx/access.jsonl.gz; an empty variable is
    ``""`` under ``escape=json``, not ``-``, and becomes null)::

        {"time":"2026-11-26T05:15:40+00:00","msec":"1795670140.346","remote_addr":"127.0.0.99",
         "request":"PROPFIND / HTTP/1.1","status":"405","body_bytes_sent":"157","request_time":"0.000",
         "upstream_response_time":"","upstream_addr":"","upstream_cache_status":"", ...}
    """
    return read_resolved(source, JSON_FORMAT, errors=errors, chunk_size=chunk_size)


# ----------------------------------------------------------------------------------- public API

def read_access_log(path: Any, log_format: str | CompiledFormat | None = None, *, name: str | None = None,
                    format: str | None = None, errors: str = "skip", escape: str | None = None,
                    variables: tuple[str, ...] = (), chunk_size: int = READ_CHUNK_BYTES,
                    json_keys: Mapping[str, str] | None = None, engine: str | None = None,
                    **engine_options: Any) -> pd.DataFrame:
    """Read an HTTP access log into the ``http_requests`` table (see :mod:`toolkit.schema`).

    ``log_format``:

    - ``None``: detected from the content: combined, common, nginx's default ``main``, either
      with extra trailing fields (columns ``extra_1``, ...), vhost combined
      (:mod:`toolkit.http.dialects`), JSON lines, or a ``NAME.log_format`` file beside the log;
    - a name (``"combined"``, ``"main"``, ``"common"``, ``"vhost_combined"``), an nginx
      ``log_format`` string or pasted directive, an Apache ``LogFormat`` string or line;
    - the text of an nginx.conf / httpd.conf, or ``"@path"`` of a file holding any of these: its
      ``log_format`` / ``LogFormat`` directives are found (multi-line, strings concatenated) and
      the one ``name=`` names is used, else the one whose fields match the log's first lines.

    A format that no line of the log matches is a :class:`LogFormatError` showing the first line
    and what was expected, never an empty table (:func:`check_matched`).

    ``json_keys`` (JSON lines only): the log's own key names, each to the column it fills
    (``{"when": "timestamp", "uri": "url", "took": "request_time_s"}``), over the names known
    already (nginx variables, Caddy's, Traefik's: :data:`toolkit.http.scanner.JSON_KEYS`).

    Example::

        >>> df = read_access_log("sample_traces/http/nginx/access.log.gz",          # doctest: +SKIP
        ...                      log_format="@/etc/nginx/nginx.conf", name="perf")

    ``engine="dask"``: ``path`` may be files, globs, folders or fsspec URLs, read as one
    ``dask.dataframe.DataFrame`` (``log_format`` / ``name`` as here, detected per file when
    None; ``format`` is not taken; ``engine_options`` such as ``partition_bytes`` go to
    :func:`toolkit.distributed.frames.read`): see :mod:`toolkit.distributed`.
    """
    if engines.check_engine(engine):
        if format is not None:
            raise ValueError("engine='dask' takes log_format (and name), not format")
        options = {k: v for k, v in (("name", name), ("escape", escape), ("variables", variables or None),
                                     ("json_keys", json_keys)) if v is not None}
        return engines.engine(engine).read(path, "http_requests", log_format=log_format, errors=errors,
                                           chunk_size=chunk_size, **options, **engine_options)
    if engine_options:
        raise TypeError(f"read_access_log got unexpected options {sorted(engine_options)} "
                        "(they are the Dask engine's: engine='dask')")
    if log_format is None and name is None and json_keys is None:
        return formats.read(path, kind="access_log", format=format, errors=errors, chunk_size=chunk_size)
    src, fmt = resolve_format(path, log_format, name=name, escape=escape, variables=variables, errors=errors,
                              json_keys=json_keys)
    return read_resolved(src, fmt, errors=errors, chunk_size=chunk_size)


def head_lines(src: Source, limit: int = 50) -> list[str]:
    """The first ``limit`` non-empty complete lines of a source, as detection sees them."""
    text = src.head_lines()
    return _head_lines(formats.Head(text.encode(), text, src.name), limit)


def resolve_format(source: Any, log_format: str | CompiledFormat | None = None, *, name: str | None = None,
                   escape: str | None = None, variables: tuple[str, ...] = (), errors: str = "skip",
                   json_keys: Mapping[str, str] | None = None) -> tuple[Source, CompiledFormat | str]:
    """:func:`format_of`, and the caller's ``json_keys`` for a JSON-lines log
    (:class:`toolkit.http.scanner.JsonKeys`: key -> column, over the scanner's JSON_KEYS; a
    LogFormatError for a log that is not JSON lines)."""
    if json_keys is not None and log_format is None and name is None:
        # the keys say what the log is: JSON lines whose names detection need not know
        src = open_source(source, errors=errors)
        lines = head_lines(src, 5)
        if lines and json_record(lines[0]) is None:
            raise LogFormatError(f"{src.name}: json_keys applies to JSON access logs; the first line is not a "
                                 f"JSON object: {lines[0][:200]!r}{_dialect_hint(lines)}")
        return src, with_json_keys(JSON_FORMAT, json_keys, src.name)
    src, fmt = format_of(source, log_format, name=name, escape=escape, variables=variables, errors=errors)
    return src, with_json_keys(fmt, json_keys, src.name)


def format_of(source: Any, log_format: str | CompiledFormat | None = None, *, name: str | None = None,
              escape: str | None = None, variables: tuple[str, ...] = (),
              errors: str = "skip") -> tuple[Source, CompiledFormat | str]:
    """``source`` opened, and the format to scan it with (a CompiledFormat, or the scanner's
    ``JSON_FORMAT``), from what a user passes as ``log_format`` / ``name`` (see
    :func:`read_access_log`): every reader and aggregate of access logs (``read_access_log``,
    ``endpoints``, the time series, the CLI's ``--log-format``) resolves it here, so they accept
    the same forms. A single format is compiled before the source is opened.

    Raises :class:`LogFormatError` for a format that does not compile, a ``name`` the
    configuration does not define, and a configuration none of whose formats fits the log's first
    lines (the message lists them and shows the first line). A single format that matches no line
    at all is found while reading (:func:`check_matched`)."""
    if isinstance(log_format, CompiledFormat):
        return open_source(source, errors=errors), log_format
    if log_format is None:
        if name is not None:
            raise LogFormatError(f"name={name!r} picks one log_format of a configuration: pass the "
                                 "configuration as log_format (its text, or '@path/to/nginx.conf')")
        src = open_source(source, errors=errors)
        return src, detected_format(src)
    if not isinstance(log_format, str):
        raise LogFormatError(f"log_format must be a string, not {log_format!r}")
    text = conf.format_option(log_format) or ""
    defined = conf.log_formats(text)
    if name is not None:
        defined = {name: conf.named_format(defined, name)}
    if len(defined) <= 1:  # one format: compiled (or its error) before the source is opened
        fmt = compile_format(next(iter(defined.values()), text), escape=escape, variables=variables)
        return open_source(source, errors=errors), fmt
    compiled = []
    for candidate in defined.values():
        try:
            compiled.append(compile_format(candidate, escape=escape, variables=variables))
        except LogFormatError:
            continue  # a format of the configuration this reader cannot read is not this log's
    src = open_source(source, errors=errors)
    lines = head_lines(src)
    for fmt in compiled:
        if dialects.fits(fmt, lines):
            return src, fmt
    first = repr(lines[0][:300]) if lines else "(none: the log is empty)"
    raise LogFormatError(f"{src.name}: the log's first lines fit none of the formats the configuration "
                         f"defines ({', '.join(defined)}); its first line is {first}"
                         f"{_dialect_hint(lines)}")


def _dialect_hint(lines: list[str]) -> str:
    """What the lines are written in, when detection knows it: the end of a wrong format's message."""
    found = dialects.infer(lines)
    if found is not None:
        return (f". It is written in {found[1].name!r} ({found[1].source[:200]}): leave log_format "
                "out to have it detected")
    if _sniff_json_lines(lines):
        return ". It is JSON lines: leave log_format out to have it detected"
    return ". Pass the nginx log_format (or Apache LogFormat) that wrote it"


def check_matched(acc: Any, fmt: CompiledFormat | str) -> None:
    """After a whole log was scanned with ``fmt``: a LogFormatError when not one line matched it
    while some were tried (a wrong format, never an empty table), showing the first line that did
    not match, what was expected, and what the log is written in when detection knows it."""
    if isinstance(fmt, str) or acc.records:
        return
    # a line skipped for its time matched the format: the format is right, the times are not
    unmatched = ("does not match log format", "empty line", "binary data")
    if any(not reason.startswith(unmatched) for reason in acc.skip_reasons):
        return
    tried = [x for x in acc.skipped if x["reason"].startswith(unmatched[0])]
    if not tried:
        return  # empty, or only binary lines: the accounting says so
    first = tried[0]
    raise LogFormatError(f"{acc.path or '<input>'}: no line matches log format {fmt.name!r} "
                         f"(expected: {fmt.source[:200]}); line {first['line']} is {first['text'][:300]!r}"
                         f"{_dialect_hint([x['text'] for x in tried])}")


def detected_format(src: Source) -> CompiledFormat | str:
    """The format of an access log found from its content (:func:`read_access_log` with
    ``log_format=None``): a dialect of :mod:`toolkit.http.dialects`, JSON lines, or the
    ``NAME.log_format`` beside it. An UnknownFormatError names what was tried otherwise."""
    detected = formats.detect(src, "access_log")
    if detected.name == "access-json":
        return JSON_FORMAT
    lines = head_lines(src)
    if detected.name in ("combined", "common"):
        found = dialects.infer(lines)
        if found is not None:
            return found[1]
    sidecar = _matching_sidecar(src.path, lines)
    if sidecar is not None:
        return sidecar
    return compile_format(detected.name)


def _head_lines(head, limit: int = 50) -> list[str]:
    lines = head.text.split("\n")
    if len(head.data) >= (1 << 16) - 1 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a full head may be cut
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:limit]


def _sniff_dialect(base: str):
    def sniff(head) -> bool | formats.Sniffed:
        lines = _head_lines(head)
        found = dialects.infer(lines)
        if found is None and base == "combined" and (i := dialects.haproxy_line(lines)) is not None:
            return formats.Sniffed(False, f"line {i + 1} is HAProxy's: {dialects.HAPROXY_REFUSED}")
        return found is not None and found[0] == base
    return sniff


_JSON_NOT_ACCESS = {"error_severity", "traceEvents", "profiles", "frame_records", "root_frame"}


def _sniff_json_lines(lines: list[str]) -> bool:
    """JSON lines of access records: most lines JSON objects (docker compose's prefix passed
    over), none of another JSON format, and at least one with a status and a request key (a
    log may hold the server's other messages between them, as Caddy's does)."""
    if not lines:
        return False
    objs = [obj for ln in lines if (obj := json_record(ln)) is not None]
    if len(objs) < max(1, int(0.8 * len(lines))) or any(_JSON_NOT_ACCESS & set(obj) for obj in objs):
        return False
    return any(any(k in obj for k in _STATUS_KEYS) and any(k in obj for k in _REQUEST_KEYS) for obj in objs)


_STATUS_KEYS = ("status", "status_code", "response_status", "DownstreamStatus")
_REQUEST_KEYS = ("request", "request_uri", "uri", "url", "path", "request.uri", "RequestPath")


def _sniff_json(head) -> bool:
    return _sniff_json_lines(_head_lines(head))


def _read_dialect(source: Any, **options: Any) -> pd.DataFrame:
    """combined / common and their dialects (:mod:`toolkit.http.dialects`), format from the head."""
    src = open_source(source, errors=options.get("errors", "skip"))
    fmt = dialects.infer_format(head_lines(src)) or compile_format("combined")
    return read_nginx(src, fmt, **options)


def sidecar_formats(path: Any) -> list[tuple[str, CompiledFormat]]:
    """The ``*.log_format`` files beside ``path`` (each holding an nginx ``log_format`` directive
    or string, or an Apache ``LogFormat`` line), compiled; unreadable or invalid ones are ignored.

    Putting the format next to the log (``access.log`` + ``perf.log_format``) lets detection and
    ``tk.read_access_log(path)`` read a custom format without ``log_format=``.
    """
    import os
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        return []
    folder = os.path.dirname(os.path.abspath(path))
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".log_format"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                out.append((name, compile_format(fh.read(8192))))
        except (OSError, UnicodeDecodeError, LogFormatError):
            continue
    return out


def _matching_sidecar(path: Any, lines: list[str]) -> CompiledFormat | None:
    for _name, fmt in sidecar_formats(path):
        if dialects.fits(fmt, lines):
            return fmt
    return None


def _sniff_sidecar(head) -> bool:
    return _matching_sidecar(head.name, _head_lines(head)) is not None


def _read_custom(source: Any, log_format: str | CompiledFormat | None = None, **options: Any) -> pd.DataFrame:
    if log_format is None:
        src = open_source(source, errors=options.get("errors", "skip"))
        log_format = _matching_sidecar(src.path, head_lines(src))
        if log_format is None:
            raise LogFormatError("a custom nginx / Apache format needs log_format= (paste it from nginx.conf "
                                 "or httpd.conf), or a NAME.log_format file beside the log")
        source = src
    return read_nginx(source, log_format, **options)


formats.register("combined", "access_log", _read_dialect, sniff=_sniff_dialect("combined"),
                 priority=1,
                 description="nginx / Apache combined access log (also nginx's main, vhost combined, "
                             "and extra trailing fields)")
formats.register("common", "access_log", _read_dialect, sniff=_sniff_dialect("common"),
                 description="Apache / NCSA common log format (also with extra trailing fields)")
formats.register("access-json", "access_log", read_json_lines, sniff=_sniff_json,
                 description="JSON-lines access log (nginx escape=json log_format)")
# Highest priority: a log whose own format file sits beside it and matches its lines.
formats.register("nginx", "access_log", _read_custom, sniff=_sniff_sidecar, priority=2,
                 description="nginx / Apache access log in a custom format: log_format= or a "
                             "NAME.log_format file beside the log")
