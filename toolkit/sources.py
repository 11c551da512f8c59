"""One way to open any input, and the accounting every reader exposes.

An input is a path (``str`` without a line break, or ``os.PathLike``), content (``bytes``, or a
``str`` that contains a line break), or a binary file object. Compression is recognised by its
magic bytes, not by the suffix: gzip (``1f 8b``), bzip2 (``BZh``), xz (``fd 37 7a 58 5a 00``)
and zstd (``28 b5 2f fd``). Text is UTF-8; undecodable bytes become U+FFFD and are counted,
never fatal. CRLF and lone CR both end a line. Line numbers are 1-based.

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
import dataclasses
import gzip
import io
import lzma
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from .errors import InputError, ParseError

CHUNK_BYTES = 1 << 24  # 16 MiB: large enough for buffer-level regexes, small enough to stream
HEAD_BYTES = 1 << 16
MAX_EXAMPLES = 20

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

    def __init__(self, obj: Any, *, name: str | None = None, errors: str = "skip"):
        self._path: str | None = None
        self._data: bytes | None = None
        if isinstance(obj, os.PathLike) or (isinstance(obj, str) and "\n" not in obj and "\r" not in obj):
            self._path = os.fspath(obj)
            if not os.path.exists(self._path):
                raise InputError(f"{self._path}: no such file")
            if os.path.isdir(self._path):
                raise InputError(f"{self._path}: is a directory, not a file")
            if not os.access(self._path, os.R_OK):
                raise InputError(f"{self._path}: permission denied")
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            self._data = bytes(obj)
        elif isinstance(obj, str):
            self._data = obj.encode("utf-8", "surrogatepass")
        elif hasattr(obj, "read"):
            data = obj.read()
            self._data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            name = name or getattr(obj, "name", None)
        else:
            raise InputError(f"cannot read input of type {type(obj).__name__}; "
                             "give a path, bytes, str content or a binary file object")
        self.name = name or self._path or "<input>"
        self.accounting = Accounting(path=self.name, errors=check_errors_mode(errors))
        try:
            with self._raw() as fh:
                start = fh.read(8)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read ({exc.strerror or exc})") from exc
        self.compression = _compression_of(start)
        self.accounting.compression = self.compression

    @property
    def path(self) -> str | None:
        """The file system path, or None for in-memory content."""
        return self._path

    def _raw(self) -> BinaryIO:
        if self._path is not None:
            return open(self._path, "rb")
        return io.BytesIO(self._data)

    @contextlib.contextmanager
    def _open(self) -> Iterator[BinaryIO]:
        """The decompressed stream; closes the file under it too (GzipFile(fileobj=) would not)."""
        with self._raw() as raw, self._decompressor(raw) as fh:
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
        """Decompressed bytes in blocks; a truncated or corrupt stream is a ParseError."""
        try:
            with self._open() as fh:
                while True:
                    block = fh.read(size)
                    if not block:
                        break
                    yield block
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise self._stream_error(exc) from exc
        except Exception as exc:  # zstandard.ZstdError is not an OSError
            if type(exc).__name__ == "ZstdError":
                raise self._stream_error(exc) from exc
            raise

    def _stream_error(self, exc: Exception) -> ParseError:
        if self.compression is None:
            return ParseError(f"cannot read: {exc}", self.name)
        return ParseError(f"truncated or corrupt {self.compression} stream: {exc}", self.name,
                          expected=f"a complete {self.compression} file")

    def read_bytes(self) -> bytes:
        """The whole decompressed content, as bytes (no decoding, no newline handling)."""
        return b"".join(self._blocks())

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first ``size`` decompressed bytes (for sniffing); never raises on truncation."""
        out = bytearray()
        try:
            with self._open() as fh:
                while len(out) < size:
                    block = fh.read(size - len(out))
                    if not block:
                        break
                    out += block
        except Exception:  # a truncated stream still has a readable head
            pass
        return bytes(out)

    def _decode(self, data: bytes) -> str:
        return decode(data, self.accounting)

    def iter_chunks(self, size: int = CHUNK_BYTES) -> Iterator[tuple[int, str]]:
        """Decoded text in pieces that end at a line break: ``(first_line_number, text)``.

        Line breaks are normalised to ``\\n``. The last piece may lack a final ``\\n``. A line
        longer than ``size`` is kept whole. ``accounting.lines_read`` is final once exhausted.
        """
        carry = b""
        line_no = 1
        lines = 0
        for block in self._blocks(size):
            data = carry + block
            # A CR at the very end may be the first half of a CRLF split across blocks: keep it.
            end = len(data) - 1 if data.endswith(b"\r") else len(data)
            cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1:]
            text = self._decode(data[:cut + 1])
            n = text.count("\n")
            yield line_no, text
            line_no += n
            lines += n
        if carry:
            text = self._decode(carry)
            n = text.count("\n")
            lines += n + (0 if text.endswith("\n") else 1)
            yield line_no, text
        self.accounting.lines_read = lines

    def read_text(self) -> str:
        """The whole content decoded, line breaks normalised to ``\\n``."""
        return "".join(text for _, text in self.iter_chunks())

    def iter_lines(self) -> Iterator[tuple[int, str]]:
        """``(line_number, line)`` pairs, 1-based, without the line break."""
        for first, text in self.iter_chunks():
            parts = text.split("\n")
            if parts and parts[-1] == "":
                parts.pop()
            for i, line in enumerate(parts):
                yield first + i, line

    def __repr__(self) -> str:
        return f"Source({self.name!r}, compression={self.compression!r})"


class _ZstdReader(io.RawIOBase):
    """zstd frames one after another; unlike zstandard's stream_reader, a stream that ends
    inside a frame is an EOFError, as gzip, bz2 and xz report it."""

    def __init__(self, raw: BinaryIO):
        import zstandard

        self._zstd = zstandard
        self._raw = raw
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            block = self._raw.read(1 << 20)
            if not block:
                if self._in_frame:
                    raise EOFError("compressed file ended before the end of a zstd frame")
                break
            while block:
                self._in_frame = True
                self._buf += self._dobj.decompress(block)
                if self._dobj.eof:
                    self._in_frame = False
                    block = self._dobj.unused_data
                    self._dobj = self._zstd.ZstdDecompressor().decompressobj()
                else:
                    block = b""
        out, self._buf = (self._buf, b"") if size < 0 else (self._buf[:size], self._buf[size:])
        return out

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(obj: Any, *, name: str | None = None, errors: str = "skip") -> Source:
    """Open ``obj`` (path, bytes, str content, binary file object, or a Source) for reading.

    Raises :class:`InputError` for a missing, directory or unreadable path.
    """
    if isinstance(obj, Source):
        obj.accounting.errors = check_errors_mode(errors)
        return obj
    return Source(obj, name=name, errors=errors)


def recut(chunks: Iterator[tuple[int, str]], cut: Callable[[str, int], int]) -> Iterator[tuple[int, str]]:
    """Re-cut ``(first_line, text)`` chunks so each ends at a record boundary.

    ``cut(buf, carried)`` returns where the last complete record in ``buf`` ends (``carried``: how
    many leading characters were carried over from the previous chunk); 0 or less carries the
    whole buffer on to the next chunk. The last chunk is not cut (a record pair across the cut
    would be split for nothing). Line numbers follow the text.
    """
    carry, carry_line = "", 1
    chunks = iter(chunks)
    item = next(chunks, None)
    while item is not None:
        first, text = item
        item = next(chunks, None)
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


def decode(data: bytes, accounting: Accounting) -> str:
    """UTF-8 text of ``data`` with line breaks normalised to ``\n``; each undecodable byte
    becomes U+FFFD and is counted in ``accounting.replaced_bytes``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # surrogateescape maps each undecodable byte to one lone surrogate: count, replace.
        text, n = _SURROGATE.subn("\ufffd", data.decode("utf-8", "surrogateescape"))
        accounting.replaced_bytes += n
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_range(fh: BinaryIO, accounting: Accounting, lo: int, hi: int, first_line: int,
               chunk_size: int = CHUNK_BYTES) -> Iterator[tuple[int, str]]:
    """Bytes ``[lo, hi)`` of a plain file as ``(first line, text)`` pieces of whole lines of about
    ``chunk_size`` (the last may lack its line break), decoded as :class:`Source` does; counts the
    lines in ``accounting.lines_read``. The byte-range readers of the query logs share it."""
    fh.seek(lo)
    left, line, carry = hi - lo, first_line, b""
    while left > 0:
        block = fh.read(min(left, chunk_size))
        if not block:
            break
        left -= len(block)
        data = carry + block
        cut = data.rfind(b"\n") + 1 if left > 0 else len(data)
        carry = data[cut:]
        if cut:
            text = decode(data[:cut], accounting)
            n = text.count("\n")
            accounting.lines_read += n + (0 if text.endswith("\n") else 1)
            yield line, text
            line += n
    if carry:
        text = decode(carry, accounting)
        accounting.lines_read += text.count("\n") + (0 if text.endswith("\n") else 1)
        yield line, text


def lines_before(fh: BinaryIO, offset: int) -> int:
    """How many ``\n`` the first ``offset`` bytes of a binary file hold (for numbering the lines
    of a byte range); leaves the file positioned at ``offset`` (or its end)."""
    fh.seek(0)
    count, left = 0, offset
    while left > 0:
        block = fh.read(min(left, CHUNK_BYTES))
        if not block:
            break
        count += block.count(b"\n")
        left -= len(block)
    return count


def iter_files(paths: list[str | os.PathLike],
               unreadable: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """Files under ``paths`` (files as given, folders walked) in a stable order; hidden files
    and folders are passed over. A missing path raises :class:`InputError`.

    A folder that cannot be listed (permission denied, removed while walking) is not dropped
    silently: ``(folder, reason)`` is appended to ``unreadable`` when given, else InputError."""
    def failed(exc: OSError) -> None:
        where = exc.filename or "?"
        reason = (exc.strerror or str(exc)).lower()
        if unreadable is None:
            raise InputError(f"{where}: cannot list the folder ({reason})")
        unreadable.append((os.fspath(where), reason))

    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, onerror=failed):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
                for f in sorted(files):
                    if not f.startswith("."):
                        yield os.path.join(root, f)
        elif os.path.exists(path):
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")
