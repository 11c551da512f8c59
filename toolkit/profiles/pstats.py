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

``marshal`` must not meet hostile or huge input: the file is size-checked and its structure
validated before use, and anything else is a ParseError.

Example::

    >>> prof = read_pstats("sample_traces/profiles/cprofile/demo_slow.prof")  # doctest: +SKIP
"""

from __future__ import annotations

import marshal
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pandas as pd

from .. import formats
from ..errors import ParseError
from ..sources import Source, open_source
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
        stats = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as exc:
        raise ParseError(f"not a pstats file: marshal cannot load it ({exc})", src.name,
                         expected="cProfile output (python -m cProfile -o FILE)") from None
    if not isinstance(stats, dict):
        raise ParseError("not a pstats file: the top level is not a dict", src.name)
    for key, value in stats.items():
        ok = (isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], str) and isinstance(key[1], int)
              and isinstance(key[2], str) and isinstance(value, tuple) and len(value) == 5
              and all(isinstance(v, (int, float)) for v in value[:4]) and isinstance(value[4], dict))
        if not ok:
            raise ParseError(f"not a pstats file: entry {key!r} is not (file, line, function) -> "
                             "(cc, nc, tt, ct, callers)", src.name)
    src.accounting.records = len(stats)
    return stats


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
