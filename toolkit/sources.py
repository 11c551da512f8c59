"""One way to open any input, and the accounting every reader exposes.

An input is a path (``str`` without a line break, or ``os.PathLike``), content (``bytes``, or a
``str`` that contains a line break), or a binary file object. Compression is recognised by its
magic bytes, not by the suffix: gzip (``1f 8b``), bzip2 (``BZh``), xz (``fd 37 7a 58 5a 00``)
and zstd (``28 b5 2f fd``). Text is UTF-8; undecodable bytes become U+FFFD and are counted,
never fatal. CRLF and lone CR both end a line. Line numbers are 1-based.

Every input is read with bounded memory and time, whatever it holds (:class:`Limits`):

- a line longer than ``Limits.line_bytes`` (16 MiB) is left out, counted in the accounting as a
  skipped line with its reason, and never handed to a reader; the piece before it and the piece
  after it are separate chunks, so a record that spans it ends there (:func:`recut` and the
  readers treat a gap in the line numbers between two chunks as the end of the text);
- whole documents (JSON profiles, pstats, plans) are read whole up to ``Limits.document_bytes``
  (256 MiB), and :func:`load_json` turns any JSON failure, nesting too deep included, into a
  :class:`ParseError`;
- compressed input is expanded piece by piece (zstd too, whose blocks are fed a little at a time
  so one call never expands more than a few MiB); more than ``Limits.expanded_bytes`` (64 GiB)
  of output, or more than ``Limits.expansion_ratio`` (200) times the compressed bytes read once
  past 64 MiB, is a :class:`ParseError` (a decompression bomb), not an exhausted memory;
- a FIFO or character device named as a path is opened without blocking and read once, up to
  ``Limits.document_bytes`` (``/dev/zero`` is refused once past it); a block device or a socket
  is refused; folders walked by :func:`iter_files` pass over every non-regular file, with the
  reason; a file object is read up to ``Limits.document_bytes``;
- a profile's distinct stacks hold at most ``Limits.stack_frames`` frames
  (:class:`toolkit.profiles.ProfileBuilder` says so with a :class:`ParseError`).

Raise a limit for one input with ``open_source(path, limits=Limits(line_bytes=64 << 20))`` (and
hand that Source to any reader), or for the whole session by assigning
``toolkit.sources.DEFAULT_LIMITS``; :func:`read_range` and the worker processes of the byte-range
readers use ``DEFAULT_LIMITS``.

Example::

    >>> src = open_source(b"a\\r\\nb\\rc")
    >>> [(n, line) for n, line in src.iter_lines()]
    [(1, 'a'), (2, 'b'), (3, 'c')]
    >>> src.accounting.lines_read
    3
"""

from __future__ import annotations

import bz2
import collections
import contextlib
import contextvars
import dataclasses
import gzip
import io
import json
import lzma
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np

from .errors import InputError, ParseError

CHUNK_BYTES = 1 << 24  # 16 MiB: large enough for buffer-level regexes, small enough to stream
HEAD_BYTES = 1 << 16
MAX_EXAMPLES = 20
# Detection reads on past over-long lines for complete ones, but not further than this.
SCAN_BYTES = 1 << 28
# The expansion ratio is checked only past this much output: a small file may expand a lot for
# nothing (a header, one repeated line), while a bomb's output is far beyond it.
RATIO_FLOOR_BYTES = 1 << 26
# zstd expands a whole block per call, and an RLE block of 4 bytes stands for 128 KiB: feeding
# 1 KiB at a time keeps one call's output under 32 MiB.
_ZSTD_FEED = 1 << 10


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much one input may make the toolkit read or hold; each is a clear error or a counted
    skip, never an exhausted memory.

    ``line_bytes``: a longer line is skipped with its reason (16 MiB: a 10 MB single statement
    is an ordinary line). ``document_bytes``: the most a whole-document reader (JSON profiles,
    pstats, plans), a file object or a FIFO may hold (256 MiB). ``expanded_bytes``: the most a
    compressed input may expand to (64 GiB). ``expansion_ratio``: decompressed bytes per
    compressed byte, checked once past 64 MiB of output (200: the bundled logs and profiles
    expand 5-41 times; a gzip bomb about 1000 times, zstd, xz and bzip2 bombs far more).
    ``stack_frames``: the most frames a profile's distinct stacks may hold together (2**25,
    about 300 MB of stacks): an evented profile 50,000 frames deep with time at every depth
    has 50,000 distinct stacks of up to 50,000 frames, a billion frames from a few MB of input.
    """

    line_bytes: int = 1 << 24
    document_bytes: int = 1 << 28
    expanded_bytes: int = 1 << 36
    expansion_ratio: float = 200.0
    stack_frames: int = 1 << 25


DEFAULT_LIMITS = Limits()


def default_limits() -> Limits:
    """``DEFAULT_LIMITS`` as it is now (assigning it applies to every later input)."""
    return DEFAULT_LIMITS


def _limits(limits: Limits | None) -> Limits:
    return limits if limits is not None else DEFAULT_LIMITS


def long_line_reason(limit: int) -> str:
    """The skip reason of a line longer than ``limit`` bytes (one reason per limit)."""
    return f"line longer than {limit} bytes (Limits.line_bytes): left out"


_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclasses.dataclass
class Accounting:
    """What happened to every input line: exposed by readers as ``df.attrs["source"]``.

    ``errors="skip"`` records a skipped line and goes on; ``errors="raise"`` makes
    :meth:`skip` raise a :class:`ParseError` naming the file and line.
    """

    path: str | None = None
    format: str | None = None
    compression: str | None = None
    errors: str = "skip"
    lines_read: int = 0
    records: int = 0
    lines_skipped: int = 0
    replaced_bytes: int = 0
    skip_reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    skipped: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def skip(self, line: int | None, reason: str, text: str = "", count: int = 1) -> None:
        """Count ``count`` input lines starting at ``line`` as skipped for ``reason``."""
        if self.errors == "raise":
            raise ParseError(reason, self.path, line)
        self.lines_skipped += count
        self.skip_reasons[reason] += count
        if len(self.skipped) < MAX_EXAMPLES:
            self.skipped.append({"line": line, "reason": reason, "text": text[:200]})

    def add(self, other: Accounting, line_offset: int = 0) -> None:
        """Count in the accounting of another part of the same input (a byte range read in a
        worker process, its lines numbered from 1): its lines, records, skipped lines with their
        reasons and examples (line numbers shifted by ``line_offset``) and replaced bytes. In
        raise mode its first skipped line raises, as :meth:`skip` would have."""
        shifted = [{**x, "line": None if x["line"] is None else x["line"] + line_offset} for x in other.skipped]
        if self.errors == "raise" and other.lines_skipped:
            first = shifted[0] if shifted else {"line": None, "reason": next(iter(other.skip_reasons), "")}
            raise ParseError(first["reason"], self.path, first["line"])
        self.lines_read += other.lines_read
        self.records += other.records
        self.lines_skipped += other.lines_skipped
        self.skip_reasons.update(other.skip_reasons)
        self.replaced_bytes += other.replaced_bytes
        self.skipped.extend(shifted[:max(0, MAX_EXAMPLES - len(self.skipped))])

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-able) for ``df.attrs["source"]``."""
        d = dataclasses.asdict(self)
        d["skip_reasons"] = dict(self.skip_reasons)
        d.pop("errors")
        return d


def check_errors_mode(errors: str) -> str:
    if errors not in ("skip", "raise"):
        raise ValueError(f"errors must be 'skip' or 'raise', not {errors!r}")
    return errors


def _compression_of(start: bytes) -> str | None:
    for magic, name in _MAGIC:
        if start.startswith(magic):
            return name
    return None


class Source:
    """An opened input. Create with :func:`open_source`."""

    def __init__(self, obj: Any, *, name: str | None = None, errors: str = "skip",
                 limits: Limits | None = None):
        self.limits = _limits(limits)
        self._path: str | None = None
        self._data: bytes | None = None
        if isinstance(obj, os.PathLike) or (isinstance(obj, str) and "\n" not in obj and "\r" not in obj):
            self._path = os.fspath(obj)
            self._data = self._check_path(self._path)
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            self._data = bytes(obj)
        elif isinstance(obj, str):
            self._data = obj.encode("utf-8", "surrogatepass")
        elif hasattr(obj, "read"):
            name = name or getattr(obj, "name", None)
            self._data = _read_capped(obj, self.limits.document_bytes, f"{name or 'a file object'}: a file object")
        else:
            raise InputError(f"cannot read input of type {type(obj).__name__}; "
                             "give a path, bytes, str content or a binary file object")
        self.name = name or self._path or "<input>"
        self.accounting = Accounting(path=self.name, errors=check_errors_mode(errors))
        self._long_lines: set[int] = set()  # over-long lines already counted (a second pass adds none)
        try:
            with self._raw() as fh:
                start = fh.read(8)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read ({exc.strerror or exc})") from exc
        self.compression = _compression_of(start)
        self.accounting.compression = self.compression

    def _check_path(self, path: str) -> bytes | None:
        """Refuse what cannot be read; a FIFO or character device's content (read now, once)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a directory, not a file")
        if not os.access(path, os.R_OK):
            raise InputError(f"{path}: permission denied")
        if stat.S_ISREG(st.st_mode):
            return None
        kind = special_file_kind(st.st_mode)
        if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise InputError(f"{path}: is {kind}, not a regular file")
        # O_NONBLOCK: opening a FIFO that no process writes to would wait for a writer forever;
        # once open, reads may block again (a writer that is there is waited for, as cat does).
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise InputError(f"{path}: is {kind} that cannot be opened ({exc.strerror or exc})") from None
        os.set_blocking(fd, True)
        with open(fd, "rb", buffering=0) as fh:
            return _read_capped(fh, self.limits.document_bytes, f"{path}: is {kind}, not a regular file, and")

    @property
    def path(self) -> str | None:
        """The file system path of a regular file, or None (content held in memory)."""
        return self._path if self._data is None else None

    def _raw(self) -> BinaryIO:
        if self._data is None:
            return open(self._path, "rb")
        return io.BytesIO(self._data)

    @contextlib.contextmanager
    def _open(self) -> Iterator[BinaryIO]:
        """The decompressed stream; closes the file under it too (GzipFile(fileobj=) would not).
        Its ``consumed`` attribute counts the compressed bytes read."""
        with self._raw() as raw:
            counted = _Counted(raw)
            with self._decompressor(counted) as fh:
                fh.consumed = counted  # type: ignore[attr-defined]
                yield fh

    def _decompressor(self, raw: BinaryIO) -> BinaryIO:
        if self.compression == "gzip":
            return gzip.GzipFile(fileobj=raw)
        if self.compression == "bzip2":
            return bz2.BZ2File(raw)
        if self.compression == "xz":
            return lzma.LZMAFile(raw)
        if self.compression == "zstd":
            return _ZstdReader(raw)
        return raw

    def _blocks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """Decompressed bytes in blocks of at most ``size``; a truncated or corrupt stream, or one
        that expands beyond the limits, is a ParseError."""
        expanded = 0
        try:
            with self._open() as fh:
                while True:
                    block = fh.read(size)
                    if not block:
                        break
                    if self.compression is not None:
                        expanded += len(block)
                        self._check_expansion(expanded, fh.consumed.count)
                    yield block
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise self._stream_error(exc) from exc
        except ParseError:
            raise
        except Exception as exc:  # zstandard.ZstdError is not an OSError
            if type(exc).__name__ == "ZstdError":
                raise self._stream_error(exc) from exc
            raise

    def _blocks_into(self, win: _Window, size: int) -> Iterator[int]:
        """:meth:`_blocks` of a plain file, each read straight into ``win.room(size)``: the
        lengths, for :func:`_line_pieces` (the same blocks: a read fills its room or ends)."""
        try:
            with self._open() as fh:
                while True:
                    with win.room(size) as view:
                        got = fh.readinto(view)
                    if not got:
                        break
                    yield got
        except (OSError, ValueError) as exc:  # as _blocks reports them
            raise self._stream_error(exc) from exc

    def _check_expansion(self, expanded: int, consumed: int) -> None:
        lim = self.limits
        if expanded > lim.expanded_bytes:
            raise ParseError(f"the {self.compression} stream expands to more than {lim.expanded_bytes} bytes "
                             "(Limits.expanded_bytes)", self.name, expected="a smaller input, or a raised limit")
        if expanded > RATIO_FLOOR_BYTES and expanded > lim.expansion_ratio * max(consumed, 1):
            raise ParseError(f"the {self.compression} stream expands more than {lim.expansion_ratio:g} times "
                             f"({consumed} bytes gave {expanded}): a decompression bomb? "
                             "(Limits.expansion_ratio)", self.name, expected="an ordinary compressed log or profile")

    def _stream_error(self, exc: Exception) -> ParseError:
        if self.compression is None:
            return ParseError(f"cannot read: {exc}", self.name)
        return ParseError(f"truncated or corrupt {self.compression} stream: {exc}", self.name,
                          expected=f"a complete {self.compression} file")

    def read_bytes(self) -> bytes:
        """The whole decompressed content, as bytes (no decoding, no newline handling), for the
        readers of whole documents; more than ``limits.document_bytes`` is a ParseError."""
        cap = self.limits.document_bytes
        if self.compression is None and self.path is not None and os.path.getsize(self.path) > cap:
            raise self._too_large(cap)
        parts, total = [], 0
        for block in self._blocks():
            total += len(block)
            if total > cap:
                raise self._too_large(cap)
            parts.append(block)
        return b"".join(parts)

    def _too_large(self, cap: int) -> ParseError:
        return ParseError(f"more than {cap} bytes, the most a whole document may hold "
                          "(Limits.document_bytes)", self.name, expected="a smaller document, or a raised limit")

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first ``size`` decompressed bytes (for sniffing); never raises on truncation: a
        truncated or corrupt stream gives what can be decompressed before the damage (gzip's
        reader gives nothing from a stream cut inside its first block, so zlib salvages it),
        and :attr:`head_error` says what was wrong."""
        out = bytearray()
        self.head_error: str | None = None
        try:
            with self._open() as fh:
                while len(out) < size:
                    block = fh.read(size - len(out))
                    if not block:
                        break
                    out += block
        except Exception as exc:  # a truncated stream still has a readable head
            self.head_error = str(exc) or type(exc).__name__
            if self.compression == "gzip" and len(out) < size:
                out = bytearray(self._salvage_gzip(size))
        return bytes(out)

    def _salvage_gzip(self, size: int) -> bytes:
        """What zlib decompresses of a damaged gzip stream before the damage (at most ``size``)."""
        dec = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip header, no trailer needed
        out = bytearray()
        try:
            with self._raw() as raw:
                while len(out) < size:
                    block = raw.read(1 << 16)
                    if not block:
                        break
                    out += dec.decompress(block, size - len(out))
        except zlib.error:
            pass
        return bytes(out[:size])

    def head_lines(self, size: int = HEAD_BYTES, scan: int = SCAN_BYTES) -> str:
        """Up to ``size`` bytes of complete lines from the start, decoded (``\\n`` line breaks):
        lines longer than ``size`` are passed over, so that a line too long for :meth:`head`
        does not hide the lines after it. Reads at most ``scan`` bytes; never raises on
        truncation. For detection and for readers that set themselves up from the first lines."""
        out: list[str] = []
        total = 0
        blocks = _take(self._head_blocks(), scan)
        for _first, text, _n in _line_pieces(blocks, Accounting(), 1, size - 1, lambda line, example: None):
            out.append(text)
            total += len(text)
            if total >= size:
                break
        text = "".join(out)
        if len(text) >= size:  # whole lines only
            text = text[:text.rfind("\n", 0, size - 1) + 1]
        return text

    def _head_blocks(self) -> Iterator[bytes]:
        try:
            yield from self._blocks(HEAD_BYTES)
        except ParseError:  # a truncated or refused stream: what came before it is still a head
            return

    def _decode(self, data: bytes) -> str:
        return decode(data, self.accounting)

    def _long_line(self, line: int, example: str) -> None:
        if line not in self._long_lines:
            self._long_lines.add(line)
            self.accounting.skip(line, long_line_reason(self.limits.line_bytes), example)

    def iter_chunks(self, size: int = CHUNK_BYTES) -> Iterator[tuple[int, str]]:
        """Decoded text in pieces that end at a line break: ``(first_line_number, text)``.

        Line breaks are normalised to ``\\n``. The last piece may lack a final ``\\n``. A line
        longer than ``limits.line_bytes`` is left out and counted as skipped (with its number
        and first bytes); the pieces around it are separate, and the next piece's first line
        number says a line is missing. ``accounting.lines_read`` (every line, left-out ones
        included) is final once exhausted.
        """
        lines = 0
        win = _Window()
        # A big plain file is read straight into the window, as read_range does; a small one
        # (a window as big as a chunk would be mostly empty) and a compressed one are copied in.
        direct = False
        if self.compression is None and self.path is not None:
            with contextlib.suppress(OSError):  # gone since opened: _blocks says so (a ParseError)
                direct = os.path.getsize(self.path) >= size
        blocks = self._blocks_into(win, size) if direct else self._blocks(size)
        for first, text, n in _line_pieces(blocks, self.accounting, 1, self.limits.line_bytes,
                                           self._long_line, win):
            lines = first - 1 + n
            if text:
                yield first, text
        self.accounting.lines_read = lines

    def read_text(self) -> str:
        """The whole content decoded, line breaks normalised to ``\\n``: a whole document (up
        to ``limits.document_bytes``), so no line limit applies."""
        text = self._decode(self.read_bytes())
        self.accounting.lines_read = text.count("\n") + (0 if not text or text.endswith("\n") else 1)
        return text

    def iter_lines(self) -> Iterator[tuple[int, str]]:
        """``(line_number, line)`` pairs, 1-based, without the line break (over-long lines left
        out as in :meth:`iter_chunks`)."""
        for first, text in self.iter_chunks():
            parts = text.split("\n")
            if parts and parts[-1] == "":
                parts.pop()
            for i, line in enumerate(parts):
                yield first + i, line

    def __repr__(self) -> str:
        return f"Source({self.name!r}, compression={self.compression!r})"


def special_file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: ``"a FIFO (named pipe)"``, ``"a socket"``..."""
    for test, kind in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return kind
    return "not a regular file"


def _read_capped(fh: Any, cap: int, what: str) -> bytes:
    """All of a stream that can be read only once, refused past ``cap`` bytes (``/dev/zero``)."""
    parts, total = [], 0
    while True:
        try:
            block = fh.read(min(CHUNK_BYTES, cap + 1 - total))
        except OSError as exc:
            raise InputError(f"{what} cannot be read ({exc.strerror or exc})") from None
        if not block:
            break
        if isinstance(block, str):
            block = block.encode("utf-8")
        total += len(block)
        if total > cap:
            raise InputError(f"{what} gives more than {cap} bytes (Limits.document_bytes): refused; "
                             "save it to a file and give its path (files are read piece by piece)")
        parts.append(bytes(block))
    return b"".join(parts)


# Who wants to hear of the bytes read from inputs (a progress bar): see watch_reads().
_READ_WATCHER: contextvars.ContextVar[Callable[[int], None] | None] = contextvars.ContextVar(
    "perf_toolkit_read_watcher", default=None)


@contextlib.contextmanager
def watch_reads(callback: Callable[[int], None]) -> Iterator[None]:
    """Within the ``with`` block, ``callback(n)`` hears of every ``n`` bytes a Source reads
    from its input (compressed bytes for a compressed file): what a progress bar over the
    inputs' sizes on disk counts.

        >>> seen = []
        >>> with watch_reads(seen.append):
        ...     _ = open_source(b"a\\nb\\n").read_bytes()
        >>> sum(seen)
        4
    """
    token = _READ_WATCHER.set(callback)
    try:
        yield
    finally:
        _READ_WATCHER.reset(token)


class _Counted(io.RawIOBase):
    """A binary file that counts the bytes read through it (for the expansion ratio, and for
    a :func:`watch_reads` watcher)."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.count = 0
        self._watcher = _READ_WATCHER.get()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        if self._watcher is not None and data:
            self._watcher(len(data))
        return data

    def readinto(self, b: Any) -> int:
        # Straight into the caller's buffer (Source._blocks_into), counted as read() counts.
        n = self._raw.readinto(b)
        self.count += n
        if self._watcher is not None and n:
            self._watcher(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """zstd frames one after another; unlike zstandard's stream_reader, a stream that ends
    inside a frame is an EOFError, as gzip, bz2 and xz report it. Compressed bytes are fed
    ``_ZSTD_FEED`` at a time, so a read never expands far beyond what it asks for."""

    def __init__(self, raw: BinaryIO):
        import zstandard

        self._zstd = zstandard
        self._raw = raw
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._pending = memoryview(b"")
        self._buf = bytearray()
        self._off = 0  # where the unread part of _buf starts (compacted once past half of it)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) - self._off < size:
            if not self._pending:
                self._pending = memoryview(self._raw.read(1 << 20))
                if not self._pending:
                    if self._in_frame:
                        raise EOFError("compressed file ended before the end of a zstd frame")
                    break
            piece, self._pending = self._pending[:_ZSTD_FEED], self._pending[_ZSTD_FEED:]
            self._in_frame = True
            self._buf += self._dobj.decompress(piece)
            if self._dobj.eof:  # a frame ended: what follows it starts the next one
                self._in_frame = False
                self._pending = memoryview(self._dobj.unused_data + bytes(self._pending))
                self._dobj = self._zstd.ZstdDecompressor().decompressobj()
        end = len(self._buf) if size < 0 else min(self._off + size, len(self._buf))
        out = bytes(self._buf[self._off:end])
        self._off = end
        if self._off > len(self._buf) >> 1:  # small reads from a big expansion: no memmove per read
            del self._buf[:self._off]
            self._off = 0
        return out

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(obj: Any, *, name: str | None = None, errors: str = "skip",
                limits: Limits | None = None) -> Source:
    """Open ``obj`` (path, bytes, str content, binary file object, or a Source) for reading.

    ``limits`` (:class:`Limits`, default ``DEFAULT_LIMITS``) bounds what it may make a reader
    hold. Raises :class:`InputError` for a missing, directory or unreadable path, a socket or
    block device, and a FIFO, character device or file object that gives more than
    ``limits.document_bytes``.
    """
    if isinstance(obj, Source):
        obj.accounting.errors = check_errors_mode(errors)
        if limits is not None:
            obj.limits = limits
        return obj
    return Source(obj, name=name, errors=errors, limits=limits)


def _take(blocks: Iterator[bytes], budget: int) -> Iterator[bytes]:
    for block in blocks:
        if budget <= 0:
            return
        yield block[:budget]
        budget -= len(block)


def _first_break(data: bytes | bytearray, start: int = 0, stop: int | None = None) -> int:
    """The index of the first CR or LF in ``data[start:stop]``, or -1."""
    lf, cr = data.find(b"\n", start, stop), data.find(b"\r", start, stop)
    return lf if cr < 0 else cr if lf < 0 else min(lf, cr)


# Counting line breaks is the largest cost of reading left once the copies are gone: str.count
# and bytes.count test one byte at a time (about 0.4 s/GB), numpy's vectorised compare over
# cache-sized slices about 5 times less (64 KiB-1 MiB slices measured alike). Small pieces are
# counted by bytes.count.
_COUNT_SLICE = 1 << 18


def _count_lf(data: bytes | bytearray, lo: int, hi: int) -> int:
    """How many ``\n`` bytes ``data[lo:hi]`` holds (no copy of it is made)."""
    if hi - lo < _COUNT_SLICE:
        return data.count(b"\n", lo, hi)
    arr = np.frombuffer(data, np.uint8, hi - lo, lo)
    return sum(int(np.count_nonzero(arr[i:i + _COUNT_SLICE] == 10)) for i in range(0, hi - lo, _COUNT_SLICE))


def _piece(data: bytes | bytearray, lo: int, hi: int, crs: bool, accounting: Accounting) -> tuple[str, int]:
    """``data[lo:hi]`` (whole lines) decoded as :func:`decode` does, and how many ``\n`` the
    text holds. Decoded from a memoryview slice (no copy of the bytes); without a CR in
    ``data`` the line breaks are counted in the bytes (decoding neither adds nor removes one)."""
    with memoryview(data) as whole:
        view = whole[lo:hi]
        try:
            if crs:
                text = decode(view, accounting)
                return text, text.count("\n")
            return _decode_utf8(view, accounting), _count_lf(data, lo, hi)
        finally:
            view.release()


def _after_break(data: bytes | bytearray, end: int, size: int | None = None) -> tuple[int, bool]:
    """Where what follows the line break at ``data[end]`` starts, and whether an LF starting the
    next block belongs to this break (a CR as the last byte of ``data[:size]``: maybe half of a
    CRLF)."""
    size = len(data) if size is None else size
    if data[end] == 13:
        if end + 1 == size:
            return end + 1, True
        if data[end + 1] == 10:
            return end + 2, False
    return end + 1, False


class _Window:
    """One buffer, reused for the whole input, holding the carried part of the last block
    (``buf[:carried]``) followed by the next block. Gluing them as ``carry + block`` made a new
    16 MiB bytes object per block, whose fresh pages cost more system time than the copy
    itself (see the #12 reading-layer figures in benchmarks/RESULTS.md)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.carried = 0

    def room(self, size: int) -> memoryview:
        """Where the next ``size`` bytes go: right after the carried ones."""
        end = self.carried + size
        if end > len(self.buf):  # room for this and a little more (carries vary in length)
            grown = bytearray(end + (end >> 2))
            grown[:self.carried] = self.buf[:self.carried]
            self.buf = grown
        return memoryview(self.buf)[self.carried:end]

    def put(self, block: bytes | memoryview) -> int:
        """Append ``block`` after the carried bytes; the end of the data in ``buf``."""
        with self.room(len(block)) as view:
            view[:] = block
        return self.carried + len(block)

    def carry(self, lo: int, hi: int) -> None:
        """Keep ``buf[lo:hi]`` for the next block, at the front."""
        if lo:
            self.buf[:hi - lo] = bytes(self.buf[lo:hi])  # bytes(): the two ranges may overlap
        self.carried = hi - lo


def _line_pieces(blocks: Iterable[bytes | int], accounting: Accounting, line: int, limit: int,
                 long_line: Callable[[int, str], None], win: _Window | None = None
                 ) -> Iterator[tuple[int, str, int]]:
    """Raw blocks -> ``(first line, text, lines)``: decoded pieces of whole lines (the last may
    lack its break), one or more per block. A line longer than ``limit`` bytes is never held:
    it is reported to ``long_line(number, first 200 characters)`` and passed over while its
    bytes stream by; the piece after it starts at the next line's number. The last item is
    ``(lines read + 1, "", 0)``: for every item, ``first - 1 + lines`` is the number of lines
    read (left-out ones included) up to its end. A maker of blocks that holds ``win`` may read
    a block straight into ``win.room(n)`` and give its length (an int) instead of the bytes."""
    win = _Window() if win is None else win
    skipping: tuple[int, str] | None = None  # an over-long line whose end is still to come
    eat_lf = False  # the last byte passed over was a CR: an LF right after it ends the same line
    for block in blocks:
        # The data: buf[:size], the carried bytes (none after a break at a block's end or
        # while skipping) then this block; start: of the text not yet handed out.
        size = win.carried + block if isinstance(block, int) else win.put(block)
        buf, start = win.buf, 0
        if eat_lf and size > win.carried:  # nothing is carried after a break at a block's end
            eat_lf = False
            if buf[0] == 10:
                start = 1
        if skipping is not None:  # nothing is carried while skipping either
            end = _first_break(buf, start, size)
            if end < 0:
                continue  # all of the block belongs to the over-long line
            long_line(*skipping)
            skipping = None
            line += 1
            start, eat_lf = _after_break(buf, end, size)
        # One memchr pass says whether this data holds a CR at all: without one (nearly every
        # log) the CR searches, the CR test on the decoded text and the count after it go.
        crs = buf.find(b"\r", start, size) >= 0
        pos = start  # pos: of the line looked at
        while size - pos > limit:  # a line starting at pos may be over-long: look
            k = buf.rfind(b"\n", pos, pos + limit + 1)
            if crs:
                k = max(k, buf.rfind(b"\r", pos, pos + limit + 1))
            if k >= 0:
                pos = k + 1
                continue
            if pos > start:  # the whole lines before the over-long one
                text, n = _piece(buf, start, pos, crs, accounting)
                yield line, text, n
                line += n
            end = _first_break(buf, pos + limit + 1, size)
            example = bytes(buf[pos:min(pos + 200, size if end < 0 else end)]).decode("utf-8", "replace")
            if end < 0:
                skipping = (line, example)
                win.carry(0, 0)
                break
            long_line(line, example)
            line += 1
            start, eat_lf = _after_break(buf, end, size)
            pos = start
        else:
            # A CR at the very end may be the first half of a CRLF split across blocks: keep it.
            stop = size - 1 if crs and size > start and buf[size - 1] == 13 else size
            cut = buf.rfind(b"\n", start, stop)
            if crs:
                cut = max(cut, buf.rfind(b"\r", start, stop))
            if cut < start:
                win.carry(start, size)
            else:
                text, n = _piece(buf, start, cut + 1, crs, accounting)
                win.carry(cut + 1, size)
                yield line, text, n
                line += n
    if skipping is not None:
        long_line(*skipping)
        line += 1
    elif win.carried:
        text = decode(bytes(win.buf[:win.carried]), accounting)
        n = text.count("\n") + (0 if text.endswith("\n") else 1)
        yield line, text, n
        line += n
    yield line, "", 0


def recut(chunks: Iterator[tuple[int, str]], cut: Callable[[str, int], int]) -> Iterator[tuple[int, str]]:
    """Re-cut ``(first_line, text)`` chunks so each ends at a record boundary.

    ``cut(buf, carried)`` returns where the last complete record in ``buf`` ends (``carried``: how
    many leading characters were carried over from the previous chunk); 0 or less carries the
    whole buffer on to the next chunk. The last chunk is not cut (a record pair across the cut
    would be split for nothing). Line numbers follow the text. A gap in the line numbers (a line
    left out as over-long, see :meth:`Source.iter_chunks`) ends the carried text there: it is
    handed out on its own, and its last record ends where the left-out line was.
    """
    carry, carry_line = "", 1
    chunks = iter(chunks)
    item = next(chunks, None)
    while item is not None:
        first, text = item
        item = next(chunks, None)
        if carry and first != carry_line + carry.count("\n"):
            yield carry_line, carry
            carry = ""
        buf = carry + text if carry else text
        start_line = carry_line if carry else first
        if item is None:  # the last chunk: nothing follows that a record could pair with
            carry = ""
            yield start_line, buf
            break
        end = cut(buf, len(carry))
        if end <= 0:
            carry, carry_line = buf, start_line
            continue
        head = buf[:end]
        yield start_line, head
        carry, carry_line = buf[end:], start_line + head.count("\n")
    if carry:
        yield carry_line, carry


def decode(data: bytes | memoryview, accounting: Accounting) -> str:
    """UTF-8 text of ``data`` with line breaks normalised to ``\n``; each undecodable byte
    becomes U+FFFD and is counted in ``accounting.replaced_bytes``."""
    text = _decode_utf8(data, accounting)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _decode_utf8(data: bytes | memoryview, accounting: Accounting) -> str:
    """:func:`decode` without the line-break normalisation (for bytes known to hold no CR)."""
    try:
        return str(data, "utf-8")
    except UnicodeDecodeError:
        # surrogateescape maps each undecodable byte to one lone surrogate: count, replace.
        text, n = _SURROGATE.subn("\ufffd", str(data, "utf-8", "surrogateescape"))
        accounting.replaced_bytes += n
        return text


def read_range(fh: BinaryIO, accounting: Accounting, lo: int, hi: int, first_line: int,
               chunk_size: int = CHUNK_BYTES, line_bytes: int | None = None) -> Iterator[tuple[int, str]]:
    """Bytes ``[lo, hi)`` of a plain file as ``(first line, text)`` pieces of whole lines of about
    ``chunk_size`` (the last may lack its line break), decoded as :class:`Source` does; counts the
    lines in ``accounting.lines_read``. A line longer than ``line_bytes`` (default
    ``DEFAULT_LIMITS.line_bytes``) is left out and counted as skipped, as
    :meth:`Source.iter_chunks` does. The byte-range readers of the query logs share it."""
    limit = line_bytes if line_bytes is not None else default_limits().line_bytes

    win = _Window()

    def blocks() -> Iterator[int]:
        # Read straight into the window, after the carried bytes (a fresh 16 MiB bytes object
        # per read, then one more for carry + block, cost their pages again at every block).
        fh.seek(lo)
        left = hi - lo
        while left > 0:
            with win.room(min(left, chunk_size)) as view:
                got = fh.readinto(view)
            if not got:
                break
            left -= got
            yield got

    def long_line(line: int, example: str) -> None:
        accounting.skip(line, long_line_reason(limit), example)

    counted = first_line - 1
    for first, text, n in _line_pieces(blocks(), accounting, first_line, limit, long_line, win):
        accounting.lines_read += first - 1 + n - counted
        counted = first - 1 + n
        if text:
            yield first, text


def lines_before(fh: BinaryIO, offset: int) -> int:
    """How many ``\n`` the first ``offset`` bytes of a binary file hold (for numbering the lines
    of a byte range); leaves the file positioned at ``offset`` (or its end)."""
    return count_before(fh, offset, b"\n")


def range_pieces(path: str, start: int, end: int, accounting: Accounting,
                 cut: Callable[[BinaryIO, int, int], int], *, first_line: int | None = None,
                 chunk_size: int = CHUNK_BYTES) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` pieces of whole lines (:func:`read_range`) of the records that start
    in bytes ``[start, end)`` of a plain file: both ends moved by the format's ``cut(fh, offset,
    size)`` to a record start, so ranges that tile the file read every record once.
    ``first_line`` numbers the range's first line (None: the lines before it are counted). The
    ends are found now (a bad file fails here, not at the first piece); the file is closed when
    the pieces are done. The byte-range readers of every query log share it."""
    size = os.path.getsize(path)
    fh = open(path, "rb")
    try:
        lo, hi = cut(fh, start, size), cut(fh, end, size)
        line0 = 1 + lines_before(fh, lo) if first_line is None else first_line
    except BaseException:
        fh.close()
        raise

    def pieces() -> Iterator[tuple[int, str]]:
        with fh:
            yield from read_range(fh, accounting, lo, hi, line0, chunk_size)

    return pieces()


def count_before(fh: BinaryIO, offset: int, byte: bytes) -> int:
    """How many times ``byte`` occurs in the first ``offset`` bytes of a binary file; leaves the
    file positioned at ``offset`` (or its end)."""
    fh.seek(0)
    count, left = 0, offset
    while left > 0:
        block = fh.read(min(left, CHUNK_BYTES))
        if not block:
            break
        count += block.count(byte)
        left -= len(block)
    return count


def expanded_size(path: str | os.PathLike, limit: int | None = None) -> int:
    """The size of a file's content once decompressed, in bytes: the size on disk for a plain
    file; a compressed one is expanded (piece by piece, nothing kept) and counted, stopping
    once past ``limit`` (then the result is only known to exceed ``limit``). For deciding
    whether an input is large enough to stream: ``expanded_size(path, n) > n``. A corrupt or
    truncated stream counts what it gives before its error. A FIFO or device is 0: measuring it
    would use up what it gives (it is read whole, up to ``Limits.document_bytes``).

        >>> expanded_size("sample_traces/http/nginx/combined.log.gz")   # doctest: +SKIP
    """
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.stat(path).st_mode):
            return 0
    src = Source(path)
    if src.compression is None:
        return os.path.getsize(src.path) if src.path is not None else len(src._data or b"")
    total = 0
    try:
        for block in src._blocks(CHUNK_BYTES):
            total += len(block)
            if limit is not None and total > limit:
                break
    except ParseError:
        pass
    return total


def read_json_document(src: Source, what: str) -> Any:
    """The whole input parsed as one JSON document (a profile, a benchmark result); a ParseError
    names the file, line and what is wrong (an empty file, the size cap and the nesting limit of
    :func:`load_json` included). Counts the input's lines in the accounting."""
    data = src.read_bytes()
    if not data.strip():
        raise ParseError(f"the file is empty, not a {what}", src.name, expected=what)
    src.accounting.lines_read = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return load_json(data, src.name, what=what)


def load_json(text: str | bytes, source_name: str | None = None, line: int | None = None, *,
              what: str = "JSON") -> Any:
    """``json.loads`` for input text, with every failure a :class:`ParseError` naming the
    source, the line and what was expected: invalid or truncated JSON, text that is not UTF-8,
    nesting deeper than Python's recursion limit (a 100,000-level ``[[[...`` is a ParseError,
    not a RecursionError), and more than ``DEFAULT_LIMITS.document_bytes``. ``line``: the line
    the text starts on (for one JSON value per line); otherwise the error names the line in
    the text where parsing failed.

        >>> load_json('{"a": [1, 2]}')
        {'a': [1, 2]}
    """
    cap = DEFAULT_LIMITS.document_bytes
    if len(text) > cap:
        raise ParseError(f"{len(text)} bytes of JSON is more than the {cap} a document may hold "
                         "(Limits.document_bytes)", source_name, line, expected=f"a smaller {what}")
    try:
        return json.loads(text)
    except RecursionError:
        raise ParseError("JSON nested deeper than Python's recursion limit", source_name, line,
                         expected=what) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source_name, line,
                         expected=f"{what} (UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        where = line if line is not None else exc.lineno
        # the decoder reached the end: the text stops inside a value (an unterminated string
        # always runs to the end, since a string cannot hold a raw line break)
        if exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string"):
            msg = f"JSON ends early (truncated file?): {exc.msg} at column {exc.colno}"
            expected = f"a complete {what}"
        else:
            msg = f"invalid JSON: {exc.msg} at column {exc.colno}"
            expected = what
        raise ParseError(msg, source_name, where, expected=expected) from None
    except ValueError as exc:  # e.g. integers with too many digits
        raise ParseError(f"invalid JSON: {exc}", source_name, line, expected=what) from None


def iter_files(paths: list[str | os.PathLike], skipped: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """Files under ``paths`` (files as given, folders walked) in a stable order; hidden files
    and folders are passed over. A missing path raises :class:`InputError`.

    Nothing is dropped silently: a folder that cannot be listed (permission denied, removed while
    walking) and a FIFO, device or socket found in a folder (reading one could wait forever or
    never end) are passed over with ``(path, reason)`` appended to ``skipped``; without
    ``skipped`` an unlistable folder is an InputError. A special file named in ``paths`` is
    yielded (:class:`Source` reads a FIFO or character device with a size cap)."""
    def failed(exc: OSError) -> None:
        where = os.fspath(exc.filename or "?")
        reason = (exc.strerror or str(exc)).lower()
        if skipped is None:
            raise InputError(f"{where}: cannot list the folder ({reason})")
        skipped.append((where, f"folder not read: {reason}"))

    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, onerror=failed):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
                for f in sorted(files):
                    if f.startswith("."):
                        continue
                    full = os.path.join(root, f)
                    try:
                        mode = os.stat(full).st_mode
                    except OSError:
                        yield full  # a dangling link: Source says what is wrong with it
                        continue
                    if stat.S_ISREG(mode):
                        yield full
                    elif skipped is not None:
                        skipped.append((full, f"{special_file_kind(mode)}, not a regular file: not read"))
        elif os.path.exists(path):
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")
