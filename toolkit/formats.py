"""The one registry of input formats, and detection: the suffix first, then the content.

Every reader module registers its formats with :func:`register` when imported; nothing else in
the toolkit dispatches on format. :func:`detect` never guesses: when no format claims an input
it raises :class:`UnknownFormatError` saying what each sniffer saw, and when two formats claim
it, the error names both. A suffix that says something (``.speedscope.json``, ``-slow.log``,
``.prof``) is asked first; ``.log``, ``.txt`` and no suffix say nothing, so content decides.

Example::

    >>> import toolkit.formats as f
    >>> fmt = f.detect("sample_traces/profiles/py-spy/slow.txt")   # doctest: +SKIP
    >>> fmt.name, fmt.kind                                         # doctest: +SKIP
    ('pyspy-raw', 'profile')
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import pandas as pd

from .errors import ParseError, UnknownFormatError
from .sources import COMPRESSION_SUFFIXES, HEAD_BYTES, Source, open_source

KINDS = ("profile", "queries", "access_log", "benchmark", "load_test")

# Suffixes every kind of text file carries: a format registered with one of them is not preferred
# for it (nginx error logs, MariaDB error logs and access logs are *.log too), and no reader is
# picked for such a file when its content fits no format.
GENERIC_SUFFIXES = (".log", ".txt")

# The priority of a format whose sniffer reads the user's own declaration beside the file (a
# NAME.log_format sidecar): it wins over formats that only recognise the content. Below it,
# priority never settles a tie: two formats that accept the same content are an error.
DECLARED = 2

# Modules that register formats when imported, per kind: a reader of one kind imports only
# that kind's modules (reading a query log needs no profile, access-log or benchmark reader).
READER_MODULES_BY_KIND = {
    "profile": ("toolkit.profiles.pyspy", "toolkit.profiles.speedscope", "toolkit.profiles.chrometrace",
                "toolkit.profiles.cpuprofile", "toolkit.profiles.pyinstrument", "toolkit.profiles.pstats"),
    "queries": ("toolkit.queries.postgres", "toolkit.queries.mysql"),
    "access_log": ("toolkit.http.accesslog",),
    "benchmark": ("toolkit.bench.pytest_benchmark", "toolkit.bench.asv", "toolkit.bench.hyperfine"),
    "load_test": ("toolkit.bench.locust", "toolkit.bench.k6", "toolkit.bench.wrk"),
}
READER_MODULES = tuple(m for kind in KINDS for m in READER_MODULES_BY_KIND[kind])


@dataclasses.dataclass(frozen=True)
class Head:
    """What a sniffer sees: the first 64 KiB, decompressed, as bytes and as text."""

    data: bytes
    text: str
    name: str


class TableReader(Protocol):
    """Reads one table of a format: ``(source, **options) -> DataFrame``."""

    def __call__(self, source: Any, **options: Any) -> pd.DataFrame: ...


class ChunkReader(Protocol):
    """The main table piece by piece (bounded memory); the last frame's ``attrs["source"]``
    holds the final accounting."""

    def __call__(self, source: Any, *, chunk_size: int, **options: Any) -> Iterator[pd.DataFrame]: ...


class RangeReader(Protocol):
    """The main table of the records that start in bytes ``[start, end)`` of a plain file."""

    def __call__(self, path: str, start: int, end: int, *, chunk_size: int,
                 **options: Any) -> Iterator[pd.DataFrame]: ...


class StreamDigest(Protocol):
    """Digests a file (or bytes ``[start, end)`` of it) without building the DataFrame:
    ``(accumulator, accounting)``; ``supports(by)`` says for which groupings it can."""

    def __call__(self, source: Any, *, by: Any = None, chunk_size: int | None = None,
                 **options: Any) -> tuple[Any, dict[str, Any]]: ...

    def supports(self, by: Any) -> bool: ...


@dataclasses.dataclass(frozen=True)
class Extras:
    """What a format offers beyond its main reader; every field optional.

    ``tables``: its other tables by the name ``read(..., table=name)`` takes (``"server_events"``,
    ``"timeseries"``, ``"requests"``, ...). ``chunks``: the main table piece by piece.
    ``split``: the main table of a byte range (worker processes). ``digest``: the streaming
    digest of the format's records.
    """

    tables: Mapping[str, TableReader] = dataclasses.field(default_factory=dict)
    chunks: ChunkReader | None = None
    split: RangeReader | None = None
    digest: StreamDigest | None = None


@dataclasses.dataclass(frozen=True)
class Sniffed:
    """A sniffer's answer with what it saw: true when the content is the format's.

    A sniffer may return a plain bool; returning ``Sniffed(False, "line 3 ... is not ...")``
    lets :func:`detect` tell the user why a format was ruled out.
    """

    ok: bool
    saw: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclasses.dataclass(frozen=True)
class Format:
    """A registered format.

    ``read(source, **options)`` parses; ``sniff(head)`` says whether content looks like it;
    ``sniff`` may return a bool or a :class:`Sniffed` (with what it saw).
    ``extras`` (:class:`Extras`) holds its other tables and its chunked, byte-range and
    streaming-digest ways. ``priority`` :data:`DECLARED` marks a sniffer that reads the user's
    declaration beside the file; it wins over content alone. Other priorities do not settle ties.
    """

    name: str
    kind: str
    read: TableReader
    sniff: Callable[[Head], bool | Sniffed] | None = None
    suffixes: tuple[str, ...] = ()
    description: str = ""
    priority: int = 0
    extras: Extras = Extras()


_REGISTRY: dict[str, Format] = {}
_loaded: set[str] = set()  # the kinds whose reader modules are imported


def register(name: str, kind: str, read: TableReader, *,
             sniff: Callable[[Head], bool | Sniffed] | None = None,
             suffixes: tuple[str, ...] = (), description: str = "", priority: int = 0,
             extras: Extras | None = None) -> Format:
    """Add a format to the registry (re-registering a name replaces it)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if extras is not None and not isinstance(extras, Extras):
        raise TypeError(f"extras must be a toolkit.formats.Extras, not {type(extras).__name__}")
    fmt = Format(name, kind, read, sniff, tuple(s.lower() for s in suffixes), description,
                 priority, extras or Extras())
    _REGISTRY[name] = fmt
    return fmt


def _load(kind: str | None = None) -> None:
    """Import the reader modules of ``kind`` (None: of every kind), once."""
    for k in KINDS if kind is None else (kind,):
        if k not in _loaded:
            _loaded.add(k)
            for module in READER_MODULES_BY_KIND.get(k, ()):
                importlib.import_module(module)


def formats(kind: str | None = None) -> list[Format]:
    """Every registered format, optionally of one kind: by kind (in the order of
    :data:`KINDS`), each kind's in registration order."""
    _load(kind)
    if kind is not None:
        return [f for f in _REGISTRY.values() if f.kind == kind]
    # (the kinds' modules may have been imported in another order: one kind read before)
    return sorted(_REGISTRY.values(), key=lambda f: KINDS.index(f.kind))


def get(name: str) -> Format:
    """The format called ``name``; UnknownFormatError lists the known names otherwise."""
    if name not in _REGISTRY:
        _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFormatError(None, _REGISTRY, f"no format named {name!r}") from None


def formats_table(kind: str | None = None) -> pd.DataFrame:
    """The registry as a table: name, kind, suffixes, description."""
    rows = [{"name": f.name, "kind": f.kind, "suffixes": " ".join(f.suffixes),
             "description": f.description} for f in formats(kind)]
    return pd.DataFrame(rows, columns=["name", "kind", "suffixes", "description"])


def _bare_name(name: str) -> str:
    lower = name.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower


def _claims(fmt: Format, bare: str) -> bool:
    """The format names a suffix of ``bare`` that says something (not ``.log`` or ``.txt``)."""
    return any(bare.endswith(s) for s in fmt.suffixes if s not in GENERIC_SUFFIXES)


def ask(fmt: Format, head: Head) -> Sniffed:
    """``fmt``'s sniffer's answer on ``head``, with what it saw; a sniffer that crashes has not
    recognised the content (detection goes on) and says so."""
    if fmt.sniff is None:
        return Sniffed(False, "recognised only when named (no sniffer)")
    try:
        answer = fmt.sniff(head)
    except Exception as exc:  # a sniffer must not crash detection; treat as "not mine"
        return Sniffed(False, f"its sniffer failed ({type(exc).__name__}: {exc})")
    if isinstance(answer, Sniffed):
        return answer
    return Sniffed(bool(answer), "" if answer else "not its content")


def _accepted(candidates: list[Format], head: Head, seen: dict[str, Sniffed]) -> list[Format]:
    hits = []
    for fmt in candidates:
        if fmt.name not in seen:
            seen[fmt.name] = ask(fmt, head)
        if seen[fmt.name].ok:
            hits.append(fmt)
    declared = [f for f in hits if f.priority >= DECLARED]
    return declared if len(declared) == 1 else hits


def seen_text(seen: Mapping[str, Sniffed]) -> str:
    """What the sniffers that said more than "no" saw, one clause per format (the others are
    in the error's list of formats tried)."""
    return "; ".join(f"{name}: {s.saw}" for name, s in seen.items()
                     if not s.ok and s.saw and s.saw != "not its content")


def detect(obj: Any, kind: str | None = None) -> Format:
    """The format of ``obj`` (anything :func:`open_source` takes).

    Order: formats whose suffix says something (``.speedscope.json``, ``-slow.log``; not
    ``.log``, ``.txt`` or none, which every kind of log carries) and whose sniffer accepts the
    content; then every format's sniffer; then, when content matched none and exactly one format
    claims such a suffix, that one (its reader says what is wrong). Two formats that accept the
    same content are an :class:`UnknownFormatError` naming both (unless one is declared beside
    the file, see :data:`DECLARED`); content no format accepts is one saying what each sniffer
    saw (``err.seen``: format name -> :class:`Sniffed`).

    Sniffers see the first 64 KiB (:meth:`Source.head`: whole documents start there); when none
    accepts it and a line runs past it, they see again the first 64 KiB of complete lines, lines
    longer than that passed over (:meth:`Source.head_lines`): the readers skip a line over the
    line limit, so a file that starts with one is still the log it is.
    """
    src = obj if isinstance(obj, Source) else open_source(obj)
    data = src.head()
    head = Head(data, data.decode("utf-8", "replace"), src.name)
    candidates = formats(kind)
    tried = [f.name for f in candidates]
    if not data:
        if src.head_error and src.compression:
            raise ParseError(f"truncated or corrupt {src.compression} stream: nothing could be "
                             f"decompressed ({src.head_error})", src.name,
                             expected=f"a complete {src.compression} file")
        raise UnknownFormatError(src.name, tried, "the input is empty")
    bare = _bare_name(os.path.basename(src.name)) if src.path or src.name != "<input>" else ""
    by_suffix = [f for f in candidates if bare and _claims(f, bare)]
    seen: dict[str, Sniffed] = {}
    found = _detect_in(head, by_suffix, candidates, src.name, tried, seen)
    if found is None and len(data) == HEAD_BYTES:
        text = src.head_lines()
        if text.strip():
            lines = Head(text.encode("utf-8", "surrogatepass"), text, src.name)
            seen = {}
            found = _detect_in(lines, by_suffix, candidates, src.name, tried, seen)
    if found is not None:
        return found
    if len(by_suffix) == 1:
        return by_suffix[0]
    what = "binary content" if b"\x00" in data[:4096] else "content"
    said = seen_text(seen)
    err = UnknownFormatError(src.name, tried, f"{what} matched no known format" + (f": {said}" if said else ""))
    err.seen = seen
    raise err


def _detect_in(head: Head, by_suffix: list[Format], candidates: list[Format], name: str,
               tried: list[str], seen: dict[str, Sniffed]) -> Format | None:
    for group in (by_suffix, candidates):
        hits = _accepted(group, head, seen)
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(f.name for f in hits)
            saw = "; ".join(f"{f.name}: {seen[f.name].saw}" for f in hits if seen[f.name].saw)
            err = UnknownFormatError(name, tried, f"ambiguous: content fits {names}"
                                     + (f" ({saw})" if saw else "") + "; name the format explicitly")
            err.seen = dict(seen)
            raise err
    return None


def read(obj: Any, *, kind: str | None = None, format: str | None = None,
         table: str | None = None, **options: Any) -> Any:
    """Detect (unless ``format`` is given) and read ``obj``.

    ``table`` picks one of the format's other tables (``extras.tables``) instead of its main reader.
    """
    # Open once: a file object can be read only once, and detection must not consume it.
    src = obj if isinstance(obj, Source) else open_source(obj)
    fmt = get(format) if format else detect(src, kind)
    if kind is not None and fmt.kind != kind:
        raise UnknownFormatError(src.name, [fmt.name],
                                 f"format {fmt.name!r} is a {fmt.kind} format, not {kind}")
    reader = fmt.read
    if table is not None:
        if table not in fmt.extras.tables:
            raise UnknownFormatError(src.name, [fmt.name],
                                     f"format {fmt.name!r} has no {table} table")
        reader = fmt.extras.tables[table]
    try:
        return reader(src, **options)
    except ParseError as exc:
        if exc.path is None:  # raised below the reader (the profile builder, a shared helper)
            raise ParseError(exc.message, src.name, exc.line, exc.expected) from exc
        raise
