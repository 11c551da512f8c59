"""Inputs as partitions: files, globs, folders and fsspec URLs -> byte ranges -> partitions.

A :class:`Segment` is one file's bytes ``start:end`` to read with one format. A plain local file
bigger than ``partition_bytes`` of a format with a byte-range reader is cut into ranges by the
rule the local worker processes use, so the Dask engine reads exactly the records they read:

- query logs (``extras.split``: PostgreSQL stderr, csvlog and jsonlog, the MySQL/MariaDB slow
  log): even cuts
  ``size * i // n`` that the format's range reader moves forward to the next record start (as
  :func:`toolkit.queries.digest.digest_file` with ``workers=n``);
- access logs: cuts moved to line starts by :func:`toolkit.http.endpoints.byte_ranges` (as
  :func:`toolkit.endpoints` with ``jobs=n``).

A compressed file, a remote (fsspec) file and a format without a range reader are one segment
read whole. Small files are packed, in order, into one partition until it holds about
``partition_bytes``, so 10,000 small logs make a few partitions, not 10,000 tasks.

    >>> segs = [Segment("a.log", 0, None, 10), Segment("b.log", 0, None, 10)]
    >>> [len(p) for p in pack(segs, partition_bytes=15)]
    [2]
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import InputError
from ..sources import iter_files, open_source

PARTITION_BYTES = 64 * 1024 * 1024  # one task's input at most: the local workers' 64 MB threshold
MIN_PARTITION_BYTES = 1024 * 1024
SPREAD = 16  # partitions a small input is spread over at least (so 16 workers all get some)


def default_partition_bytes(sizes: list[int]) -> int:
    """How much input one partition reads when the caller does not say: a 16th of the total,
    between 1 MiB (smaller tasks cost more to schedule than to run) and 64 MiB (a worker's
    memory stays bounded whatever the total)."""
    return int(min(PARTITION_BYTES, max(MIN_PARTITION_BYTES, sum(sizes) // SPREAD)))


@dataclasses.dataclass(frozen=True)
class Segment:
    """Bytes ``start:end`` of ``path`` (``end`` None: the whole file, read by the format's
    reader), ``size`` the file's size in bytes, ``fmt`` what reads it (a format name for query
    logs, the compiled access-log format for access logs)."""

    path: str
    start: int
    end: int | None
    size: int
    fmt: Any = None

    @property
    def whole(self) -> bool:
        return self.end is None

    @property
    def nbytes(self) -> int:
        return self.size if self.end is None else self.end - self.start


def is_remote(path: str) -> bool:
    """A URL for fsspec (``s3://``, ``gs://``, ``memory://`` ...), not a local path."""
    return "://" in path and not path.startswith("file://")


def expand(paths: Any) -> list[str]:
    """Every file ``paths`` names, in a stable order: a path or URL, a list of them, globs
    (``logs/*.log``, ``s3://bucket/**/*.log``) and folders (walked as
    :func:`toolkit.sources.iter_files` walks them). A name that matches nothing is an InputError."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for p in map(os.fspath, paths):
        if p.startswith("file://"):
            p = p[len("file://"):]
        if is_remote(p):
            out.extend(_remote_files(p))
        elif glob.has_magic(p):
            hits = sorted(glob.glob(p, recursive=True))
            if not hits:
                raise InputError(f"{p}: no file matches")
            out.extend(iter_files(hits))
        else:
            out.extend(iter_files([p]))
    return out


def _remote_files(url: str) -> list[str]:
    import fsspec

    fs, _, roots = fsspec.get_fs_token_paths(url)
    found: list[str] = []
    for root in roots:
        found.extend(sorted(fs.find(root)) if fs.isdir(root) else [root])
    if not found:
        raise InputError(f"{url}: no file matches")
    return [fs.unstrip_protocol(f) for f in found]


def file_size(path: str) -> int:
    if is_remote(path):
        import fsspec

        fs, _, (root,) = fsspec.get_fs_token_paths(path)
        return int(fs.size(root))
    return os.path.getsize(path)


def is_plain(path: str) -> bool:
    """A local file that is not compressed (its bytes can be read from any offset)."""
    return not is_remote(path) and open_source(path).compression is None


def even_cuts(path: str, parts: int) -> list[tuple[int, int]]:
    """The query logs' cut rule: ``parts`` even ranges; the format's range reader moves both
    ends to record starts (:func:`toolkit.queries.digest.digest_range`)."""
    size = os.path.getsize(path)
    cuts = [size * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def segments(files: Iterable[str], fmt_of: Callable[[str], Any],
             cuts: Callable[[str, int, Any], list[tuple[int, int]] | None],
             partition_bytes: int = PARTITION_BYTES) -> list[Segment]:
    """Each file as segments: a plain local file as about ``size / partition_bytes`` ranges
    (at least one) by ``cuts(path, parts, fmt)`` (None: not cut, the format has no range
    reader), any other file whole. ``fmt_of(path)`` gives what reads the file."""
    out: list[Segment] = []
    for path in files:
        size = file_size(path)
        fmt = fmt_of(path)
        parts = -(-size // partition_bytes)
        # (a plain file is read by its range reader even in one piece: the readers of whole
        # files may start process pools of their own, which a Dask worker process cannot)
        ranges = cuts(path, parts, fmt) if is_plain(path) else None
        if ranges:
            out.extend(Segment(path, lo, hi, size, fmt) for lo, hi in ranges)
        else:
            out.append(Segment(path, 0, None, size, fmt))
    return out


def pack(segs: list[Segment], partition_bytes: int = PARTITION_BYTES) -> list[list[Segment]]:
    """Segments in order, grouped into partitions of about ``partition_bytes`` (a segment is
    never split here; one bigger than that is a partition of its own)."""
    parts: list[list[Segment]] = []
    held = 0
    for seg in segs:
        if parts and held + seg.nbytes <= partition_bytes:
            parts[-1].append(seg)
            held += seg.nbytes
        else:
            parts.append([seg])
            held = seg.nbytes
    return parts
