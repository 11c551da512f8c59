"""cProfile / profile output (the files ``pstats.Stats`` reads).

Format: https://github.com/python/cpython/blob/v3.11.7/Lib/pstats.py (``Stats.load_stats``,
``dump_stats``) and Lib/cProfile.py: ``marshal`` of a dict::

    {("demo.py", 60, "dedupe"): (cc, nc, tt, ct, {("demo.py", 91, "run"): (cc, nc, tt, ct)}),
     ("~", 0, "<method 'append' of 'list' objects>"): (...), ...}

cc primitive calls, nc all calls, tt own seconds, ct cumulative seconds; the inner dict holds
the same numbers per caller. Builtins have file ``~`` and line 0. ``functions()`` is exact:
``self_s = tt``, ``total_s = ct`` (plus ``calls`` and ``primitive_calls``), and ``duration_s``
is the sum of tt (pstats' ``total_tt``). cProfile records no stacks, so ``tree()`` and
``stacks()`` are estimated from the caller graph (each edge's share of the callee's time, as
snakeviz and gprof2dot do; cycles cut), and the Profile says so in ``notes``.

``marshal`` must not meet hostile or huge input: CPython's ``marshal.loads`` crashes the
interpreter on some damaged files, so :func:`unmarshal` reads the types a pstats file holds with
every length and reference checked; the file is size-checked and its structure validated before
use, and anything else is a ParseError. Its numbers are checked by
:mod:`toolkit.schema` (a line beyond a C int, a call count beyond int64, a boolean, a time that
is not a finite number >= 0): such an entry is left out and counted (``records`` + ``lines_skipped`` =
entries).

Example::

    >>> prof = read_pstats("sample_traces/profiles/cprofile/demo_slow.prof")  # doctest: +SKIP
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pandas as pd

from .. import formats, schema
from ..errors import ParseError
from ..sources import Source, open_source
from ._io import MAX_FIGURE, line_number
from .model import Frame, ProfileBuilder, Sample

MAX_BYTES = 512 << 20
MAX_NODES = 200_000
MAX_DEPTH = 128

Key = tuple[str, int, str]


def _load(src: Source) -> dict[Key, tuple]:
    data = src.read_bytes()
    if len(data) > MAX_BYTES:
        raise ParseError(f"{len(data)} bytes is larger than the {MAX_BYTES} bytes allowed for a pstats file",
                         src.name, expected="a cProfile output file")
    if not data or data[:1] not in (b"{", b"\xfb"):
        raise ParseError("not a pstats file: it does not start with a marshalled dict", src.name,
                         expected="cProfile output (python -m cProfile -o FILE)")
    try:
        stats = unmarshal(data)
    except ValueError as exc:
        raise ParseError(f"not a pstats file: marshal cannot load it ({exc})", src.name,
                         expected="cProfile output (python -m cProfile -o FILE)") from None
    if not isinstance(stats, dict):
        raise ParseError("not a pstats file: the top level is not a dict", src.name)
    good: dict[Key, tuple] = {}
    for key, value in stats.items():
        ok = (isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], str) and isinstance(key[1], int)
              and isinstance(key[2], str) and isinstance(value, tuple) and len(value) == 5
              and all(isinstance(v, (int, float)) for v in value[:4]) and isinstance(value[4], dict))
        if not ok:
            raise ParseError(f"not a pstats file: entry {key!r} is not (file, line, function) -> "
                             "(cc, nc, tt, ct, callers)", src.name)
        why = _entry_problem(key, value)
        if why is not None:  # a value out of range: the entry is left out, counted
            src.accounting.skip(None, why, repr(key)[:200])
            continue
        good[key] = value
    src.accounting.records = len(good)
    return good


# marshal's type codes (CPython Python/marshal.c, format version 4) that pstats files use; the
# high bit (FLAG_REF) asks the reader to remember the object for later TYPE_REF ('r') codes.
_FLAG_REF = 0x80
_STRINGS = {ord("u"): 4, ord("t"): 4, ord("a"): 4, ord("A"): 4, ord("z"): 1, ord("Z"): 1}  # -> size bytes
_PENDING = object()
_MAX_NESTING = 16


def unmarshal(data: bytes) -> Any:
    """The object ``marshal.dumps`` wrote in ``data``, for the types a pstats file holds (dicts,
    tuples, str, int, float, None, booleans, references); ValueError for anything else.

    CPython's own ``marshal.loads`` is not safe on damaged input: a pstats file with one line cut
    out crashes the interpreter (a segmentation fault, not an exception). This reader checks every
    length against the bytes left and every reference against the objects read, so damaged
    input is a ValueError at worst. Trailing bytes are ignored, as marshal does."""
    view = memoryview(data)
    pos = 0
    refs: list[Any] = []

    def take(n: int) -> memoryview:
        nonlocal pos
        if n < 0 or pos + n > len(view):
            raise ValueError("the data ends early")
        pos += n
        return view[pos - n:pos]

    def int32() -> int:
        return struct.unpack("<i", take(4))[0]

    def load(depth: int) -> Any:
        nonlocal pos
        if depth > _MAX_NESTING:
            raise ValueError("objects nested too deep")
        code = take(1)[0]
        kind, flag = code & ~_FLAG_REF, code & _FLAG_REF
        if kind == ord("r"):
            n = int32()
            if not 0 <= n < len(refs) or refs[n] is _PENDING:
                raise ValueError("a reference to an object that was not read")
            return refs[n]
        slot = len(refs)
        if flag:
            refs.append(_PENDING)
        if kind in _STRINGS:
            size = take(1)[0] if _STRINGS[kind] == 1 else int32()
            value: Any = bytes(take(size)).decode("utf-8", "replace")
        elif kind == ord("i"):
            value = int32()
        elif kind == ord("l"):  # 15-bit digits, least significant first; the count's sign is the sign
            n = int32()
            if abs(n) > 1000:
                raise ValueError("an integer of more than 1000 digits")
            digits = struct.unpack(f"<{abs(n)}H", take(2 * abs(n)))
            if any(d >= 1 << 15 for d in digits):
                raise ValueError("a bad digit in an integer")
            value = sum(d << (15 * k) for k, d in enumerate(digits)) * (-1 if n < 0 else 1)
        elif kind == ord("g"):
            value = struct.unpack("<d", take(8))[0]
        elif kind == ord("f"):
            value = float(bytes(take(take(1)[0])).decode("ascii", "replace"))
        elif kind in (ord("("), ord(")")):
            n = take(1)[0] if kind == ord(")") else int32()
            if not 0 <= n <= len(view) - pos:  # every item takes a byte at least
                raise ValueError("a tuple longer than the data")
            value = tuple(load(depth + 1) for _ in range(n))
        elif kind == ord("{"):
            value = {}
            if flag:
                refs[slot] = value  # (marshal remembers a dict before its items)
            while True:
                if pos < len(view) and view[pos] == ord("0"):  # TYPE_NULL ends a dict
                    pos += 1
                    break
                key = load(depth + 1)
                try:
                    value[key] = load(depth + 1)
                except TypeError:
                    raise ValueError("a dict key that is not hashable") from None
        elif kind in (ord("N"), ord("T"), ord("F")):
            value = {ord("N"): None, ord("T"): True, ord("F"): False}[kind]
        else:
            raise ValueError(f"type code {chr(kind)!r} is not one a pstats file holds")
        if flag:
            refs[slot] = value
        return value

    return load(0)


def _numbers_problem(numbers: tuple) -> str | None:
    """Why ``(cc, nc, tt, ct)`` cannot be read: call counts whole numbers >= 0 within int64,
    times finite numbers >= 0 (:mod:`toolkit.schema`)."""
    for what, v in zip(("primitive calls", "calls"), numbers[:2], strict=True):
        why = schema.int_value(v, what, lo=0)[1] if v is not None else f"{what} is missing"
        if why:
            return why
    for what, v in zip(("own time", "cumulative time"), numbers[2:4], strict=True):
        why = schema.float_value(v, what, lo=0.0, hi=MAX_FIGURE)[1] if v is not None else f"{what} is missing"
        if why:
            return why
    return None


def _entry_problem(key: Key, value: tuple) -> str | None:
    """Why one stats entry cannot be read (None: it can), checked once here so the tables never
    meet a number they cannot hold: the line, the figures, and every caller's key and figures."""
    why = line_number(key[1])[1] or _numbers_problem(value[:4])
    if why:
        return why
    for caller, edge in value[4].items():
        if not (isinstance(caller, tuple) and len(caller) == 3 and isinstance(caller[0], str)
                and isinstance(caller[2], str)) or line_number(caller[1])[1]:
            return "a caller is not (file, line, function)"
        if not isinstance(edge, tuple) or len(edge) != 4 or not all(isinstance(v, (int, float)) for v in edge):
            return "a caller's figures are not (cc, nc, tt, ct)"
        why = _numbers_problem(edge)
        if why:
            return "a caller's " + why
    return None


def _frame(key: Key) -> Frame:
    file, line, function = key
    return Frame(function, file, line, line if line > 0 else None)


def _records(stats: dict[Key, tuple]) -> Iterator[Sample]:
    """Estimated stacks: walk down from the roots, giving each callee the share of its time
    that its caller's edge accounts for."""
    callees: dict[Key, list[tuple[Key, float, float]]] = defaultdict(list)
    for callee, (_, _, _, _, callers) in stats.items():
        for caller, edge in callers.items():
            if isinstance(edge, tuple) and len(edge) == 4:
                callees[caller].append((callee, float(edge[2]), float(edge[3])))
    # A root is called from the top level: more calls (nc) than its callers' edges account for.
    # Edge tuples are (nc, cc, tt, ct), as pstats.print_call_line reads them.
    todo: list[tuple[tuple[Key, ...], float, float]] = []
    for key, (_, nc, tt, ct, callers) in stats.items():
        edges = [e for c, e in callers.items() if isinstance(e, tuple) and len(e) == 4 and c != key]
        if nc > sum(e[0] for e in edges) or not edges:
            top = max(float(ct) - sum(float(e[3]) for e in edges), 0.0) if edges else float(ct)
            if top > 0:
                todo.append(((key,), float(tt) * top / float(ct) if ct else float(tt), top))
    nodes = 0
    while todo:
        path, own, total = todo.pop()
        key = path[-1]
        nodes += 1
        ct = float(stats[key][3])
        share = total / ct if ct > 0 else 0.0
        children = [] if nodes > MAX_NODES or len(path) >= MAX_DEPTH else callees.get(key, [])
        given = 0.0
        for callee, ett, ect in children:
            if callee in path or ect * share <= 0:
                continue  # recursion: cProfile's ct already holds it once
            todo.append(((*path, callee), ett * share, ect * share))
            given += ect * share
        if not children or nodes > MAX_NODES:
            own = max(total - given, own)
        if own > 0:
            yield Sample([_frame(k) for k in path], own)


def read_pstats(source: Any, *, errors: str = "skip") -> Any:
    """Read a cProfile/profile stats file into a :class:`Profile` (see the module doc)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "pstats"
    return profile_from_stats(_load(src), src)


def profile_from_stats(stats: dict[Key, tuple], src: Source | None = None) -> Any:
    """A Profile from a stats dict (``cProfile.Profile().create_stats(); p.stats``)."""
    table = pd.DataFrame(
        [{"function": k[2], "file": k[0], "line": k[1], "self_s": float(v[2]), "total_s": float(v[3]),
          "calls": int(v[1]), "primitive_calls": int(v[0])} for k, v in stats.items()],
        columns=["function", "file", "line", "self_s", "total_s", "calls", "primitive_calls"])
    b = ProfileBuilder().feed(_records(stats))
    return b.build(format="pstats", producer="cProfile", path=src.path if src else None, function_table=table,
                   duration_s=float(table["self_s"].sum()), source=src.accounting.as_dict() if src else {},
                   notes=["cProfile records no stacks: tree() and stacks() are estimated from the caller "
                          "graph; functions() holds cProfile's exact times"])


def sniff(head: formats.Head) -> bool:
    d = head.data
    # marshal: TYPE_DICT '{' (0x7b, |0x80 with FLAG_REF), then a key that is a tuple '(' / small ')'
    return len(d) > 2 and d[0] in (0x7B, 0xFB) and d[1] in (0x28, 0x29, 0xA8, 0xA9)


formats.register("pstats", "profile", read_pstats, sniff=sniff, suffixes=(".prof", ".pstats", ".cprofile"),
                 description="cProfile / profile output (pstats)")
