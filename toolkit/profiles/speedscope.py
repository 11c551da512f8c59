"""speedscope files of any producer, sampled and evented.

Format: https://github.com/jlfwong/speedscope/blob/v1.22.2/src/lib/file-format-spec.ts
``{"$schema", "shared": {"frames": [{name, file?, line?, col?}]}, "profiles": [...]}``.

- ``sampled`` (py-spy, one profile per thread)::

    {"type":"sampled","name":"Thread 12738 \\"\\"","unit":"seconds","startValue":0.0,
     "endValue":1.02,"samples":[[20,4,3,...,0], ...],"weights":[0.01, ...]}

  ``samples`` are frame indexes root first; ``weights`` must be as many as ``samples``.
  py-spy names profiles ``Thread ID "NAME"``: the thread column becomes ``NAME (ID)``.
  The rate is 1 / weight when every weight is equal (py-spy), and the sample count is kept.
- ``evented`` (pyinstrument ``-r speedscope``)::

    {"type":"evented","unit":"seconds","events":[{"type":"O","at":0.0,"frame":0}, ...,
     {"type":"C","at":0.48,"frame":3}]}

  Opens and closes must nest; time between events belongs to the open stack. pyinstrument
  puts a function's own time in a child frame ``[self]`` with no file: it is folded into the
  parent, giving the self times pyinstrument reports.

Values are read by :mod:`toolkit.schema`: a sample whose weight is not a finite number >= 0, or
whose stack names a frame index that is not one (``1.5``, ``-1``, ``true``, beyond the frames), is
skipped and counted (``records`` + ``lines_skipped`` = samples + events; ``lines_read`` counts
the file's lines); an event with such a value is a ParseError (the others nest around it); a
frame's ``file`` or ``line`` of the wrong type or out of range becomes null.

Example::

    >>> prof = read_speedscope("sample_traces/profiles/py-spy/demo_slow.speedscope.json")  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import formats, schema
from ..errors import ParseError
from ..sources import Source, open_source
from ._io import MAX_FIGURE, UNIT_SECONDS, line_number, load_json
from .model import Frame, ProfileBuilder

_PYSPY_THREAD = re.compile(r'^Thread (?P<id>\S+) "(?P<name>.*)"$', re.S)
_SELF_FRAMES = ("[self]",)


def _thread_name(name: Any) -> str | None:
    if name is None:
        return None
    m = _PYSPY_THREAD.match(str(name))
    if m:
        return f"{m.group('name')} ({m.group('id')})" if m.group("name") else m.group("id")
    return str(name)


def _frames(doc: dict, src: Source, b: ProfileBuilder) -> tuple[list[int], list[bool]]:
    shared = doc.get("shared")
    frames = shared.get("frames") if isinstance(shared, dict) else None
    if not isinstance(frames, list):
        raise ParseError("no shared.frames list", src.name, expected="a speedscope file")
    ids, is_self = [], []
    for i, f in enumerate(frames):
        if not isinstance(f, dict) or "name" not in f:
            raise ParseError(f"frame {i} has no name", src.name, expected="frames like {name, file?, line?}")
        name = f["name"]
        if isinstance(name, (list, dict)):
            raise ParseError(f"frame {i}: {schema.text_value(name, 'name')[1]}", src.name,
                             expected="frames like {name, file?, line?}")
        # optional details of the wrong type or out of range are left out: the frame stays
        file = schema.text_value(f.get("file"), "file")[0] or None
        ids.append(b.frame(Frame(str(name), file, line_number(f.get("line"))[0])))
        is_self.append(name in _SELF_FRAMES and not file)
    return ids, is_self


def _unit(p: dict, src: Source, i: int, notes: list[str]) -> float:
    unit = p.get("unit", "none")
    if isinstance(unit, str) and unit in UNIT_SECONDS:
        return UNIT_SECONDS[unit]
    notes.append(f"profile {i} has unit {unit!r}: its weights are kept as they are, not seconds")
    return 1.0


def _sampled(p: dict, i: int, src: Source, b: ProfileBuilder, ids: list[int], is_self: list[bool],
             factor: float) -> tuple[int, list[float]]:
    samples, weights = p.get("samples"), p.get("weights")
    if not isinstance(samples, list) or not isinstance(weights, list):
        raise ParseError(f"sampled profile {i} lacks samples or weights", src.name,
                         expected="samples and weights lists")
    if len(samples) != len(weights):
        raise ParseError(f"sampled profile {i} has {len(samples)} samples but {len(weights)} weights",
                         src.name, expected="as many weights as samples")
    thread = _thread_name(p.get("name"))
    # Group identical stacks first (a dict of tuples, one C-level pass), then sum with numpy.
    codes: dict[tuple, int] = {}
    try:
        inv = np.fromiter((codes.setdefault(s, len(codes)) for s in map(tuple, samples)), dtype=np.int64,
                          count=len(samples))
    except TypeError as exc:
        raise ParseError(f"sampled profile {i}: samples must be lists of frame indexes ({exc})",
                         src.name) from None
    # a weight that is not a finite number >= 0 (text, null, NaN, 1e400) skips its sample, with a reason
    checked = schema.float_values(weights, "weight", lo=0.0, hi=MAX_FIGURE)
    absent = np.isnan(checked.values) & ~checked.bad  # (null, or JSON's NaN: a column's missing value)
    why = checked.reasons
    if absent.any():
        why = why.copy()
        for k in np.flatnonzero(absent).tolist():
            why[k] = "weight is missing" if weights[k] is None else "weight is not a finite number"
    # a frame index that is not one of the shared frames' (a fraction, a negative index, true,
    # beyond them) skips its sample; true and 1.0 group with 1 above, so such samples are found
    # one by one, and only when the file holds any (a C-level look at every index first)
    nframes = len(ids)
    not_a_frame = "a sample refers to a frame that is not in shared.frames"
    if set(map(type, itertools.chain.from_iterable(samples))) <= {int}:
        for stack, k in codes.items():
            if not all(0 <= j < nframes for j in stack):
                why[inv == k] = not_a_frame
    else:
        ok = np.fromiter((all(j.__class__ is int and 0 <= j < nframes for j in s) for s in samples), dtype=bool,
                         count=len(samples))
        why[~ok] = not_a_frame
    bad = why != None  # noqa: E711
    keep = ~bad
    for reason, n in zip(*np.unique(why[bad].astype(str), return_counts=True), strict=True):
        src.accounting.skip(None, f"sampled profile {i}: {reason}", str(reason), count=int(n))
    w = np.where(keep, checked.values, 0.0) * factor
    wsum = np.bincount(inv, weights=w, minlength=len(codes))
    nsum = np.bincount(inv[keep], minlength=len(codes))
    for stack, k in codes.items():
        if nsum[k]:  # (int(): a stack may be keyed by an equal true or 1.0 whose samples were left out)
            b.add_ids(tuple(ids[int(j)] for j in stack if not is_self[int(j)]), float(wsum[k]), int(nsum[k]),
                      thread)
    return int(keep.sum()), list(np.unique(w[keep][:10000]))


def _evented(p: dict, i: int, src: Source, b: ProfileBuilder, ids: list[int], is_self: list[bool],
             factor: float) -> int:
    events = p.get("events")
    if not isinstance(events, list):
        raise ParseError(f"evented profile {i} has no events list", src.name, expected="events")
    thread = _thread_name(p.get("name"))
    open_: list[int] = []
    stack: list[int] = []  # the open frames' ids, [self] frames left out (kept in step with open_)
    last = None
    for n, ev in enumerate(events):
        # an event cannot be left out (the others nest around it): a bad one is a ParseError
        at, why_at = schema.float_value(ev.get("at") if isinstance(ev, dict) else None, "at",
                                         lo=-MAX_FIGURE, hi=MAX_FIGURE)
        fr, why_fr = schema.int_value(ev.get("frame") if isinstance(ev, dict) else None, "frame",
                                      lo=0, hi=len(ids) - 1)
        if at is None or fr is None:
            why = why_at or why_fr or "a field is missing"
            raise ParseError(f"evented profile {i}: event {n} is not {{type, at, frame}} with a known frame "
                             f"({why})", src.name)
        kind = ev.get("type")
        if last is not None:
            if at < last:
                raise ParseError(f"evented profile {i}: event {n} goes back in time ({at} < {last})", src.name,
                                 expected="non-decreasing 'at'")
            if open_ and at > last:
                b.add_ids(tuple(stack), (at - last) * factor, 0, thread)
        last = at
        if kind == "O":
            open_.append(fr)
            if not is_self[fr]:
                stack.append(ids[fr])
        elif kind == "C":
            if not open_ or open_[-1] != fr:
                top = open_[-1] if open_ else None
                raise ParseError(f"evented profile {i} is unbalanced: event {n} closes frame {fr} while "
                                 f"{'frame ' + str(top) if top is not None else 'nothing'} is open",
                                 src.name, expected="closes matching the last open frame")
            open_.pop()
            if not is_self[fr]:
                stack.pop()
        else:
            raise ParseError(f"evented profile {i}: event {n} has type {kind!r}", src.name, expected="O or C")
    if open_:
        raise ParseError(f"evented profile {i} is unbalanced: {len(open_)} frames still open at the end",
                         src.name, expected="every O closed by a C")
    return len(events)


def _profiles(doc: dict, src: Source, b: ProfileBuilder, notes: list[str]) -> Iterator[dict]:
    profiles = doc.get("profiles")
    if not isinstance(profiles, list):
        raise ParseError("no profiles list", src.name, expected="a speedscope file")
    ids, is_self = _frames(doc, src, b)
    if any(is_self):
        notes.append("pyinstrument's [self] frames folded into their parents")
    for i, p in enumerate(profiles):
        if not isinstance(p, dict):
            raise ParseError(f"profile {i} is not an object", src.name)
        factor = _unit(p, src, i, notes)
        if p.get("type") == "sampled":
            n, distinct = _sampled(p, i, src, b, ids, is_self, factor)
            yield {"type": "sampled", "samples": n, "weights": distinct}
        elif p.get("type") == "evented":
            yield {"type": "evented", "events": _evented(p, i, src, b, ids, is_self, factor)}
        else:
            raise ParseError(f"profile {i} has type {p.get('type')!r}", src.name, expected="sampled or evented")


def read_speedscope(source: Any, *, errors: str = "skip") -> Any:
    """Read a speedscope JSON file (sampled and/or evented profiles) into a :class:`Profile`."""
    src = open_source(source, errors=errors)
    src.accounting.format = "speedscope"
    doc = load_json(src, "speedscope file")
    if not isinstance(doc, dict):
        raise ParseError(f"the top level is a {type(doc).__name__}", src.name, expected="a speedscope object")
    b = ProfileBuilder()
    notes: list[str] = []
    parts = list(_profiles(doc, src, b, notes))
    sampled = [p for p in parts if p["type"] == "sampled"]
    src.accounting.records = sum(p.get("samples", 0) + p.get("events", 0) for p in parts)
    exporter = str(doc.get("exporter") or "")
    producer = exporter.split("@")[0].split(" ")[0] or None
    if producer is None and any((f.file or "").endswith(".py") for f in b._frames):
        producer = "py-spy" if sampled else None
    rate = None
    samples = None
    if sampled and len(sampled) == len(parts):
        samples = sum(p["samples"] for p in sampled)
        distinct = {round(w, 12) for p in sampled for w in p["weights"]}
        if len(distinct) == 1 and next(iter(distinct)) > 0 and doc.get("exporter") != "perf-toolkit":
            rate = schema.float_value(1.0 / next(iter(distinct)))[0]  # (None for a tiny weight's inf)
    has_lines = producer in ("py-spy",) or (bool(sampled) and exporter.startswith("py-spy"))
    return b.build(format="speedscope", producer=producer, path=src.path, rate_hz=rate, samples=samples,
                   has_lines=has_lines, notes=notes, source=src.accounting.as_dict(),
                   name=doc.get("name"), exporter=exporter or None)


def sniff(head: formats.Head) -> bool:
    text = head.text.lstrip()
    if not text.startswith("{"):
        return False
    if "speedscope.app/file-format-schema" in text[:2000]:
        return True
    return '"shared"' in text and '"profiles"' in text and '"frames"' in text and '"traceEvents"' not in text


formats.register("speedscope", "profile", read_speedscope, sniff=sniff, suffixes=(".speedscope.json",),
                 description="speedscope JSON, sampled or evented, any producer (py-spy, pyinstrument, ...)",
                 priority=1)
