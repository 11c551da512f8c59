"""Digests and endpoint tables of many logs on a Dask cluster, straight from the text.

:func:`digest_files` and :func:`endpoint_files` map the local workers' byte-range digests over
the partitions of :mod:`.partitions` (files, globs, folders, fsspec URLs; each plain file cut by
the same rules) and merge their states up a tree: no DataFrame is built on the workers, so they
run at about the speed per byte of :func:`toolkit.queries.digest.digest_file` and
:func:`toolkit.endpoints` on one path: 3-5x the frame path's on 1 GB of logs
(:func:`toolkit.distributed.reductions.digest` of ``read_queries(..., engine="dask")``;
benchmarks/RESULTS.md, Fleet).

- query logs: :func:`toolkit.queries.digest.digest_range` per range, the ranges of one file
  merged by :func:`toolkit.queries.digest.merge_ranges` (its line numbers renumbered);
- access logs: :func:`toolkit.http.endpoints.range_partial` per range, merged by
  :meth:`~toolkit.http.endpoints.EndpointAccumulator.merge` with the ranges' accounting added
  as :func:`toolkit.endpoints` adds it (``jobs`` > 1).

A file that cannot be cut (compressed, remote) is digested whole on one worker, by its format's
direct digest where it has one (``extras.digest``: PostgreSQL stderr, csvlog and jsonlog, the
MySQL slow log, as ``digest_file`` does). A compressed or remote access log is scanned whole by
one worker (as ``endpoints(path)`` scans it). Only query logs of a format without a range reader
fall back to the frame path: such a file is read whole into a frame on a worker and folded into
the same state (so mixed inputs give one table).

The tree: each node joins its children's *runs* (the state and accounting of consecutive ranges
of one file) in input order; the ranges of a file are joined first (line numbers and examples
depend on the ranges before), then whole files are merged in file order. One file's table and
``attrs["source"]`` equal the local ``digest_file(path)`` / ``endpoints(path)``; several files'
accounting is their per-file accounting summed (:func:`.frames.sum_accounting`), as the frame
path's is.

    >>> import toolkit as tk
    >>> from toolkit.distributed import direct
    >>> direct.digest_files("logs/*/postgresql.log")          # doctest: +SKIP
    >>> direct.endpoint_files("logs/", log_format="combined")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .. import formats
from ..errors import InputError, ParseError
from ..sources import CHUNK_BYTES, Accounting, open_source
from . import partitions as P
from . import require
from .cluster import compute_with_progress, delayed_tree
from .frames import Reading, open_path, read_partition, sum_accounting

SPLIT_EVERY = 8


@dataclasses.dataclass
class Run:
    """Consecutive ranges of one input file (``key``: its index in the input) folded into
    ``state``, with their ``accounting`` (line numbers from 1 at the run's first byte when
    ``relative``); ``key`` None: several complete files merged (accounting a dict)."""

    key: int | None
    state: Any
    accounting: Any
    relative: bool = False
    path: str | None = None
    fmt: Any = None


@dataclasses.dataclass(frozen=True)
class Ops:
    """How runs of one kind are joined: ``join(a, b)`` two runs of one file (b right after a),
    ``close(run)`` a complete file's (state, accounting dict), ``merge(a, b)`` two states of
    different files (b later) into a."""

    join: Callable[[Run, Run], Run]
    close: Callable[[Run], tuple[Any, dict[str, Any]]]
    merge: Callable[[Any, Any], Any]


def _node(ops: Ops, root: bool, *children: list[Run]) -> list[Run]:
    runs: list[Run] = []
    for child in children:
        for run in child:
            if runs and run.key is not None and runs[-1].key == run.key:
                runs[-1] = ops.join(runs[-1], run)
            else:
                runs.append(run)
    # the runs between the first and the last hold whole files: merged now, in order, so a
    # node ships one state for them (the root: every run is whole)
    todo = list(range(len(runs)) if root else range(1, len(runs) - 1))
    if not todo:
        return runs
    if root and len(runs) == 1 and runs[0].key is not None:
        state, accounting = ops.close(runs[0])  # one file: its own accounting, as a local read's
        return [Run(None, state, accounting)]
    state, parts = None, []
    for i in todo:
        s, a = (runs[i].state, runs[i].accounting) if runs[i].key is None else ops.close(runs[i])
        state = s if state is None else ops.merge(state, s)
        parts.append(a)
    blob = Run(None, state, sum_accounting(parts))
    return runs[:todo[0]] + [blob] + runs[todo[-1] + 1:]


def _reduce(parts: list[list[tuple[int, P.Segment]]], leaf: Callable[..., list[Run]], ops: Ops,
            split_every: int, **compute_options: Any) -> tuple[Any, dict[str, Any]]:
    """Map ``leaf`` over the partitions and join the runs up a tree of ``split_every``; the
    final (state, accounting)."""
    import dask

    tree = delayed_tree(parts, leaf, functools.partial(_node, ops, False), split_every)
    top = dask.delayed(_node, pure=True)(ops, True, tree)
    (run,) = compute_with_progress(top, **compute_options)
    return run.state, run.accounting


def _plan(paths: Any, fmt_of: Callable[[str], Any], cuts: Callable[[str, int, Any], list[tuple[int, int]] | None],
          partition_bytes: int | None) -> list[list[tuple[int, P.Segment]]]:
    """The input's partitions (:func:`.partitions.segments` cut by ``cuts(path, parts, fmt)``,
    None: read whole; grouped by :func:`.partitions.pack`), each segment with its file's number
    in the input. No file at all is an InputError."""
    require()
    files = P.expand(paths)
    if not files:
        raise InputError(f"{paths}: no file to read")
    partition_bytes = partition_bytes or P.default_partition_bytes([P.file_size(f) for f in files])
    parts = P.pack(P.segments(files, fmt_of, cuts, partition_bytes), partition_bytes)
    key = -1
    out = []
    for part in parts:
        keyed = []
        for seg in part:
            key += seg.start == 0  # every file's first segment starts at 0 (a file named twice: twice)
            keyed.append((key, seg))
        out.append(keyed)
    return out


# -- digest -------------------------------------------------------------------------------------
def digest_files(paths: Any, by: Any = None, *, format: str | None = None, fold_parse_bind: bool = True,
                 chunk_size: int | None = None, reader_options: dict[str, Any] | None = None,
                 partition_bytes: int | None = None, split_every: int = SPLIT_EVERY,
                 **fingerprint_options: Any) -> pd.DataFrame:
    """The digest (:func:`toolkit.digest`'s table) of every query log in ``paths`` on the Dask
    cluster: each byte range digested from its text (:func:`toolkit.queries.digest.digest_range`),
    the states merged up a tree. ``format`` as for :func:`toolkit.read_queries` (detected per file
    when None); ``reader_options`` go to the readers (``log_line_prefix=``, ``errors=``);
    ``partition_bytes`` as for the frame path. Files of a format without a byte-range reader, and
    compressed or remote files, are read whole into frames on a worker (the frame path) and folded
    into the same state (a compressed file of a format with a direct digest: that digest, whole)."""
    from ..queries.digest import DigestAccumulator, digest_range, merge_into, merge_ranges

    options = dict(reader_options or {})
    errors = options.pop("errors", "skip")
    fixed = formats.get(format).name if format else None

    def fmt_of(path: str) -> str:
        if fixed is not None:
            return fixed
        return formats.detect(open_path(path, "skip"), "queries").name

    def cuts(path: str, n: int, fmt: str) -> list[tuple[int, int]] | None:
        # even cuts, each end moved to a record start by the range reader (as digest_file's)
        return P.even_cuts(path, n) if formats.get(fmt).extras.split is not None else None

    parts = _plan(paths, fmt_of, cuts, partition_bytes)
    relative = errors != "raise"  # (digest_range numbers a range's lines from 1 unless raising)
    reading = Reading("query_events", errors, tuple(sorted(options.items())), chunk_size or CHUNK_BYTES)

    def leaf(part: list[tuple[int, P.Segment]]) -> list[Run]:
        runs = []
        for key, seg in part:
            fmt = formats.get(seg.fmt)
            if seg.whole and fmt.extras.digest is not None and fold_parse_bind and fmt.extras.digest.supports(by):
                # a compressed or remote file of a format with a direct digest: that digest, whole
                src = open_source(open_path(seg.path, errors), errors=errors)
                acc, accounting = fmt.extras.digest(src, by=by, chunk_size=chunk_size, errors=errors,
                                                    **options, **fingerprint_options)
                acc.fper = None
                runs.append(Run(key, acc, dict(accounting), path=seg.path))
                continue
            if seg.whole:  # the frame path for this file
                frame = read_partition([seg], reading)
                acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
                acc.add(frame)
                acc.fper = None
                runs.append(Run(key, acc, dict(frame.attrs.get("source", {})), path=seg.path))
                continue
            acc, accounting = digest_range((seg.path, seg.fmt, seg.start, seg.end, chunk_size, by,
                                            fold_parse_bind, {**options, "errors": errors},
                                            fingerprint_options))
            if isinstance(acc, tuple):  # a ParseError's fields
                raise ParseError(*acc[1:])
            if accounting is not None:
                accounting["path"] = seg.path
            runs.append(Run(key, acc, accounting, relative=relative, path=seg.path))
        return runs

    def join(a: Run, b: Run) -> Run:
        acc, accounting = merge_ranges([(a.state, a.accounting), (b.state, b.accounting)],
                                       by, fold_parse_bind, fingerprint_options)
        acc.fper = None
        if accounting and a.relative:
            accounting["relative_lines"] = True
        return Run(a.key, acc, accounting or None, relative=a.relative, path=a.path)

    def close(run: Run) -> tuple[Any, dict[str, Any]]:
        accounting = dict(run.accounting or {"path": run.path, "lines_read": 0, "records": 0})
        accounting.pop("relative_lines", None)
        return run.state, accounting

    def merge(a: Any, b: Any) -> Any:
        merge_into(a, b)
        return a

    state, accounting = _reduce(parts, leaf, Ops(join, close, merge), split_every)
    acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
    merge_into(acc, state)
    out = acc.result()
    out.attrs["source"] = accounting
    return out


# -- endpoints ----------------------------------------------------------------------------------
def endpoint_files(paths: Any, *, routes: Sequence[str] | None = None, log_format: Any = None,
                   chunk_size: int = CHUNK_BYTES, partition_bytes: int | None = None,
                   split_every: int = SPLIT_EVERY) -> pd.DataFrame:
    """The endpoint table (:func:`toolkit.endpoints`'s) of every access log in ``paths`` on the
    Dask cluster: each byte range (at line starts) scanned and folded by
    :func:`toolkit.http.endpoints.range_partial`, the accumulators merged up a tree in input
    order. ``log_format`` in every form :func:`toolkit.read_access_log` takes (detected per file
    when None). A compressed or remote file is scanned whole by one worker, folded the same way
    (no access log falls back to the frame path)."""
    from ..http.accesslog import check_matched, resolve_format
    from ..http.endpoints import NEEDED, EndpointAccumulator, byte_ranges, range_partial
    from ..http.scanner import scan

    def narrow(fmt: Any) -> Any:
        return fmt if isinstance(fmt, str) else fmt.only(NEEDED, joined=True)

    fixed = narrow(resolve_format(P.expand(paths)[0], log_format)[1]) if log_format is not None else None

    def fmt_of(path: str) -> Any:
        return fixed if fixed is not None else narrow(resolve_format(open_path(path, "skip"), None)[1])

    # cuts at line starts (as endpoints(path, jobs=n)'s)
    parts = _plan(paths, fmt_of, lambda path, n, fmt: byte_ranges(path, n), partition_bytes)
    def label(fmt: Any) -> str:
        return f"access_log:{fmt if isinstance(fmt, str) else fmt.name}"

    def leaf(part: list[tuple[int, P.Segment]]) -> list[Run]:
        runs = []
        for key, seg in part:
            acc = EndpointAccumulator(routes)
            if seg.whole:  # compressed or remote: scanned whole here, as endpoints(path) scans it
                src = open_source(open_path(seg.path, "skip"))
                src.accounting.format = label(seg.fmt)
                for batch in scan(src, seg.fmt, chunk_size):
                    acc.add(batch)
                runs.append(Run(key, acc, src.accounting, path=seg.path, fmt=seg.fmt))
                continue
            acc, accounting = range_partial(seg.path, seg.fmt, routes, seg.start, seg.end, chunk_size)
            accounting.format = label(seg.fmt)
            runs.append(Run(key, acc, accounting, relative=True, path=seg.path, fmt=seg.fmt))
        return runs

    def join(a: Run, b: Run) -> Run:
        a.state.merge(b.state)
        a.accounting.add(b.accounting, a.accounting.lines_read)
        return a

    def close(run: Run) -> tuple[Any, dict[str, Any]]:
        if isinstance(run.accounting, Accounting):
            check_matched(run.accounting, run.fmt)  # a wrong format is an error, not an empty table
            return run.state, run.accounting.as_dict()
        return run.state, run.accounting

    def merge(a: EndpointAccumulator, b: EndpointAccumulator) -> EndpointAccumulator:
        a.merge(b)
        return a

    state, accounting = _reduce(parts, leaf, Ops(join, close, merge), split_every)
    out = state.result()
    out.attrs["source"] = accounting
    return out
