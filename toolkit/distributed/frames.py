"""Logs as Dask DataFrames: ``dask.dataframe.from_map`` over the one scanner per format.

:func:`read` plans the partitions (:mod:`.partitions`) and maps :func:`read_partition` over
them: each partition is the concatenation of its segments' tables, read by the same readers as
the pandas path (a whole file by the format's reader, a byte range by its range reader), so its
columns and dtypes are the pandas table's (``meta`` is the empty table of the same format).
Every partition frame carries its segments' accounting in ``attrs["source"]``;
:func:`compute` and the reductions (:mod:`.reductions`) sum it across partitions
(:func:`sum_accounting`), so the computed result accounts for every input line as pandas' does.

Columns: those of ``query_events``, ``server_events`` or ``http_requests`` (see
:mod:`toolkit.schema`). Query events also carry the ``tag_<key>`` columns (and ``trace_id``,
``span_id``) that ``read_queries`` adds from sqlcommenter / marginalia comments
(:func:`toolkit.queries.sqlcomment.add_comment_columns`). A Dask frame's columns must be known
before any partition is read, so a first pass (:func:`tag_columns`, one task per partition)
looks for the tags in the text itself: every ``/*...*/`` comment of the input that is wholly
tags names a column, in the order the keys first appear. The rule: a key that appears only
outside a statement (an error's message, say) still gives a column, null in every row; on one
file whose tags are all in its statements the columns are pandas' own, in the same order.

    >>> import toolkit as tk
    >>> ddf = tk.read_access_log("logs/*.log", engine="dask")        # doctest: +SKIP
    >>> requests = compute(ddf)                                      # doctest: +SKIP
    >>> requests.attrs["source"]["lines_read"]                       # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .. import formats, schema
from ..queries.sqlcomment import add_comment_columns, parse_comment, tag_column
from ..sources import CHUNK_BYTES, MAX_EXAMPLES, Accounting, lines_before, open_source
from . import partitions as P
from . import require

TABLES = ("query_events", "server_events", "http_requests")
_WHOLE_META_BYTES = 8 << 20
_SUMMED = ("lines_read", "records", "lines_skipped", "replaced_bytes", "record_lines")


@dataclasses.dataclass(frozen=True)
class Reading:
    """What every partition of one frame reads: the ``table``, the ``errors`` mode, the
    readers' other options and the range readers' piece size."""

    table: str
    errors: str = "skip"
    options: tuple[tuple[str, Any], ...] = ()
    chunk_size: int = CHUNK_BYTES


def open_path(path: str, errors: str):
    """A local path as is; a remote URL opened with fsspec (read whole by the reader)."""
    if P.is_remote(path):
        import fsspec

        return open_source(fsspec.open(path, "rb").open(), name=path, errors=errors)
    return path


def _query_segment(seg: P.Segment, reading: Reading) -> pd.DataFrame:
    options = dict(reading.options)
    fmt = formats.get(seg.fmt)
    if seg.whole:
        table = None if reading.table == "query_events" else reading.table
        if seg.fmt.startswith("postgres-"):
            # one process: a Dask worker is a daemon, which cannot start the reader's pool
            options.setdefault("workers", 1)
        return formats.read(open_path(seg.path, reading.errors), kind="queries", format=seg.fmt,
                            table=table, errors=reading.errors, **options)
    frames = list(fmt.extras.split(seg.path, seg.start, seg.end, chunk_size=reading.chunk_size,
                                   errors=reading.errors, **options))
    if not frames:  # no record starts in the range (the one before reads it to its end)
        out = schema.empty("query_events")
        out.attrs["source"] = {"path": seg.path, "format": seg.fmt, "lines_read": 0, "records": 0}
        return out
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["source"] = frames[-1].attrs.get("source", {})  # (the range's, complete at its end)
    return out


def _http_segment(seg: P.Segment, reading: Reading) -> pd.DataFrame:
    from ..http.accesslog import read_resolved, rows_without, table_of
    from ..http.scanner import scan_range

    if seg.whole:
        return read_resolved(open_path(seg.path, reading.errors), seg.fmt, errors=reading.errors,
                             chunk_size=reading.chunk_size)
    with open(seg.path, "rb") as fh:
        before = lines_before(fh, seg.start)  # the range's lines are numbered from 1
    batches, ranged = scan_range(seg.path, seg.fmt, seg.start, seg.end, reading.chunk_size)
    df = table_of(batches, seg.fmt)
    df["source_line"] = df["source_line"] + before
    acc = Accounting(path=seg.path, errors=reading.errors,
                     format=f"access_log:{seg.fmt if isinstance(seg.fmt, str) else seg.fmt.name}")
    ranged.records = len(df)
    acc.add(ranged, before)
    df.attrs["source"] = {**acc.as_dict(), "rows_without": rows_without(df)}
    return df


def read_partition(segs: list[P.Segment], reading: Reading, like: pd.DataFrame | None = None) -> pd.DataFrame:
    """One partition: its segments' tables, in order, in the dtypes of ``like``, with their
    accounting summed."""
    read = _http_segment if reading.table == "http_requests" else _query_segment
    frames = [read(seg, reading) for seg in segs]
    sources = [f.attrs.get("source", {}) for f in frames]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if reading.table == "query_events":
        out = add_comment_columns(out)
    if like is not None:
        out = conform(out, like)
    out.attrs = {"source": sum_accounting(sources)}
    return out


def sum_accounting(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The accounting of several files or ranges as one: counts summed, skip reasons added,
    skipped examples joined (each naming its ``path``, at most MAX_EXAMPLES), ``paths`` the
    files in order (``path`` too when there is one), ``files`` how many, ``format`` the formats
    seen (joined by ", ")."""
    out: dict[str, Any] = {"paths": [], "format": None}
    reasons: Counter = Counter()
    others: Counter = Counter()
    without: Counter = Counter()
    skipped: list[dict[str, Any]] = []
    fmts: list[str] = []
    for part in parts:
        for p in part.get("paths") or ([part["path"]] if part.get("path") else []):
            if not out["paths"] or out["paths"][-1] != p:
                out["paths"].append(p)
        for f in (part.get("format") or "").split(", "):
            if f and f not in fmts:
                fmts.append(f)
        for k in _SUMMED:
            if k in part:
                out[k] = out.get(k, 0) + part[k]
        reasons.update(part.get("skip_reasons", {}))
        others.update(part.get("lines_in_other_table", {}))
        without.update(part.get("rows_without", {}))
        path = part.get("path")
        skipped.extend({**x, "path": x.get("path", path)} for x in part.get("skipped", []))
    out["format"] = ", ".join(fmts) or None
    out["files"] = len(dict.fromkeys(out["paths"]))
    if out["files"] == 1:  # one file: the key its pandas read has (findings name the file by it)
        out["path"] = out["paths"][0]
    out["skip_reasons"] = dict(reasons)
    out["skipped"] = skipped[:MAX_EXAMPLES]
    if others:
        out["lines_in_other_table"] = dict(others)
    if without:
        out["rows_without"] = dict(without)
    for k in ("lines_read", "records", "lines_skipped"):
        out.setdefault(k, 0)
    return out


def _meta(parts: list[list[P.Segment]], reading: Reading) -> pd.DataFrame:
    """The empty table with the columns and dtypes of a pandas read: the whole-file reader's on
    the first file (a small one), else on its first 64 KiB (a range reader may give an equal
    column another dtype, e.g. string for object; every partition is conformed to these)."""
    seg = parts[0][0]
    if seg.size <= _WHOLE_META_BYTES:  # exact: a column all null in the head may have
        whole = dataclasses.replace(seg, start=0, end=None)  # another dtype than in the file
        return read_partition([whole], reading).iloc[:0]
    src = open_source(open_path(seg.path, "skip"))
    head = next(iter(src.iter_chunks(1 << 16)), (1, ""))[1].encode()
    if reading.table == "http_requests":
        from ..http.accesslog import read_resolved

        return read_resolved(head, seg.fmt).iloc[:0]
    table = None if reading.table == "query_events" else reading.table
    return formats.read(head, kind="queries", format=seg.fmt, table=table,
                        **dict(reading.options)).iloc[:0]


def conform(df: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``meta``'s tag columns (:func:`tag_columns`; one its rows lack: all null) in
    its order, every other column of ``meta`` (one the range lacks: all null, in ``meta``'s
    order), and ``meta``'s dtypes where a reader gave an equal column another one (a missing
    value in an object column is None, as the readers leave it)."""
    tags = [c for c in meta.columns if _is_tag(c)]
    if tags or any(_is_tag(c) for c in df.columns):
        attrs = df.attrs
        df = df.assign(**{c: pd.Series(pd.NA, index=df.index, dtype=meta[c].dtype)
                          for c in tags if c not in df.columns})
        df = df[[c for c in df.columns if not _is_tag(c)] + tags]
        df.attrs = attrs
    missing = [c for c in meta.columns if c not in df.columns]
    if missing:  # e.g. a slow-log header no record of this range has: null, as pandas' concat leaves it
        attrs = df.attrs
        df = df.assign(**{c: pd.Series(pd.NA, index=df.index, dtype=meta[c].dtype) for c in missing})
        df = df[[c for c in meta.columns] + [c for c in df.columns if c not in meta.columns]]
        df.attrs = attrs
    for c, dtype in meta.dtypes.items():
        if c in df.columns and df[c].dtype != dtype:
            col = df[c]
            df[c] = col.astype(object).where(col.notna(), None) if pd.api.types.is_object_dtype(dtype) else col.astype(dtype)
    return df


_COMMENT_OPEN, _COMMENT_CLOSE = "/*", "*/"
_COMMENT_BYTES = 1 << 16  # a comment longer than this across a piece's end is not looked for


def _comment_keys(text: str, keys: dict[str, None]) -> str:
    """Add the tag keys of the whole comments in ``text`` to ``keys`` (in order); the text of a
    comment still open at its end is returned (the next piece's text continues it)."""
    pos = 0
    while (i := text.find(_COMMENT_OPEN, pos)) >= 0:
        j = text.find(_COMMENT_CLOSE, i + 2)
        if j < 0:
            return text[i:] if len(text) - i <= _COMMENT_BYTES else ""
        keys.update(dict.fromkeys(parse_comment(text[i:j + 2])))
        pos = j + 2
    return ""


def _segment_keys(part: list[P.Segment], errors: str) -> list[str]:
    """The tag keys of the comments in a partition's segments, in order of appearance (a byte
    range's text runs on past its end until a comment open there closes)."""
    keys: dict[str, None] = {}
    for seg in part:
        if seg.whole:
            src = open_source(open_path(seg.path, errors), errors="skip")
            carry = ""
            for _first, text in src.iter_chunks():
                carry = _comment_keys(carry + text, keys)
            continue
        with open(seg.path, "rb") as fh:
            fh.seek(seg.start)
            text = fh.read(min(seg.end, seg.size) - seg.start).decode("utf-8", "replace")
            carry = _comment_keys(text, keys)
            if carry:
                carry = _comment_keys(carry + fh.read(_COMMENT_BYTES).decode("utf-8", "replace"), keys)
    return list(keys)


def tag_columns(parts: list[list[P.Segment]], errors: str = "skip", **compute_options: Any) -> list[str]:
    """The ``tag_<key>`` columns (then ``trace_id``, ``span_id`` when a key is ``traceparent``)
    that :func:`toolkit.queries.sqlcomment.add_comment_columns` can add to the partitions' query
    events: the keys of every comment in the text that is wholly tags, in order of first
    appearance (a pass over the bytes on the cluster, one task per partition; see the module)."""
    import dask

    found = dask.compute(*[dask.delayed(_segment_keys, pure=True)(part, errors) for part in parts],
                         **compute_options)
    keys = dict.fromkeys(k for part in found for k in part)
    columns = list(dict.fromkeys(tag_column(k) for k in keys))
    return columns + (["trace_id", "span_id"] if "traceparent" in keys else [])


def _is_tag(column: str) -> bool:
    """A column :func:`toolkit.queries.sqlcomment.add_comment_columns` adds."""
    return column.startswith("tag_") or column in ("trace_id", "span_id")


def _with_tags(meta: pd.DataFrame, tags: list[str]) -> pd.DataFrame:
    """``meta`` with exactly the tag columns ``tags`` (string dtype) after its table's columns."""
    base = [c for c in meta.columns if not _is_tag(c)]
    out = meta[base].copy()
    for c in tags:
        out[c] = pd.Series(dtype="string")
    return out


def read(paths: Any, table: str, *, format: str | None = None, log_format: Any = None,
         errors: str = "skip", partition_bytes: int | None = None,
         chunk_size: int = CHUNK_BYTES, **options: Any):
    """``paths`` (files, globs, folders, fsspec URLs; see :func:`.partitions.expand`) as one
    Dask DataFrame of ``table`` (``query_events``, ``server_events`` or ``http_requests``).

    ``format`` names the query log format (detected per file when None); ``log_format`` the
    access log's (in every form :func:`toolkit.read_access_log` takes; detected per file when
    None). ``partition_bytes``: about how much input one partition reads (None: see
    :func:`.partitions.default_partition_bytes`). ``options`` go to the readers
    (``log_line_prefix=``, ...)."""
    if table not in TABLES:
        raise ValueError(f"table must be one of {TABLES}, not {table!r}")
    dd = require()
    files = P.expand(paths)
    partition_bytes = partition_bytes or P.default_partition_bytes([P.file_size(f) for f in files])
    if table == "http_requests":
        from ..http.accesslog import resolve_format
        from ..http.endpoints import byte_ranges

        # a format given is resolved once (on the first file); None: detected per file
        fixed = resolve_format(files[0], log_format, **options)[1] if log_format is not None or options else None

        def fmt_of(path: str):
            return fixed if fixed is not None else resolve_format(open_path(path, "skip"), None)[1]

        def cuts(path: str, parts: int, fmt: Any):
            return byte_ranges(path, parts)
        options = {}
    else:
        def fmt_of(path: str) -> str:
            if format is not None:
                return formats.get(format).name
            return formats.detect(open_path(path, "skip"), "queries").name

        def cuts(path: str, parts: int, fmt: Any):
            # only the query events have a range reader (the server events are read whole)
            if table == "query_events" and formats.get(fmt).extras.split is not None:
                return P.even_cuts(path, parts)
            return None
    segs = P.segments(files, fmt_of, cuts, partition_bytes)
    parts = P.pack(segs, partition_bytes)
    reading = Reading(table, errors, tuple(sorted(options.items())), chunk_size)
    import dask

    # the readers' dtypes kept (Dask would turn object columns into Arrow strings)
    with dask.config.set({"dataframe.convert-string": False}):
        meta = _meta(parts, reading)
        if table == "query_events":
            meta = _with_tags(meta, tag_columns(parts, errors))
        return dd.from_map(read_partition, parts, reading=reading, meta=meta, like=meta,
                           divisions=None, label=f"read-{table.replace('_', '-')}",
                           enforce_metadata=False)


def compute(ddf: Any, **compute_options: Any) -> pd.DataFrame:
    """A Dask frame of this module computed to pandas, its partitions' accounting summed into
    ``attrs["source"]`` (as one pandas read of the same files has it), index 0..n-1."""
    import dask

    pieces = dask.compute(*ddf.to_delayed(), **compute_options)
    out = pd.concat(pieces, ignore_index=True) if pieces else ddf._meta.copy()
    out.attrs = {"source": sum_accounting(p.attrs.get("source", {}) for p in pieces)}
    return out
