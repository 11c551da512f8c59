"""pyinstrument: the saved session (``.pyisession``, raw samples: preferred) and ``-r json``.

Formats (pyinstrument 5.1.3): https://github.com/joerick/pyinstrument/blob/v5.1.3/pyinstrument/session.py
(``Session.to_json``) and .../pyinstrument/renderers/jsonrenderer.py.

- Session: ``{"start_time", "duration", "min_interval", "max_interval", "sample_count",
  "start_call_stack", "target_description", "cpu_time", "sys_path", "sys_prefixes",
  "frame_records": [[[frame_info root..leaf], seconds], ...]}``. A frame_info is
  ``function\\x00file\\x00first_line`` then ``\\x01``-prefixed attributes, e.g.::

      "enrich\\x00demo.py\\x0047\\x01l49"          (l = executing line -> lines())
      "writerows\\x00.../csv.py\\x00156\\x01cDictWriter\\x01l157"   (c = class name)
      "MainThread\\x00<thread>\\x00140606068112256"  (a thread pseudo-frame -> thread column)

  The frames of ``start_call_stack`` (pyinstrument's own launcher) are trimmed from the root,
  as ``Session.root_frame()`` does. The total is the sum of the records, which is
  pyinstrument's root frame time; ``duration`` (wall clock) is kept in ``meta``.
- ``-r json``: the processed tree, ``{"duration", "sample_count", "root_frame": {"function",
  "file_path", "line_no", "time" (inclusive s), "children": [...]}}``: a frame's self time is
  its time minus its children's; ``[self]`` children are folded into the parent. No executing
  lines (``lines()`` is empty); tiny frames may already be dropped by pyinstrument.

Example::

    >>> prof = read_pyinstrument_session("sample_traces/profiles/pyinstrument/demo_slow.pyisession.gz")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import formats
from ..errors import ParseError
from ..sources import Source, open_source
from ._io import load_json
from .model import Frame, ProfileBuilder, Sample


def _frame_info(info: str) -> Frame | str:
    """A Frame, or the thread name for ``<thread>`` pseudo-frames."""
    head, *attrs = info.split("\x01")
    parts = head.split("\x00")
    function = parts[0]
    file = parts[1] if len(parts) > 1 else None
    if file == "<thread>":
        return f"{function} ({parts[2]})" if len(parts) > 2 else function
    first = int(parts[2]) if len(parts) > 2 and parts[2].lstrip("-").isdigit() else None
    line = first
    for a in attrs:
        if a.startswith("c") and a[1:]:
            function = f"{a[1:]}.{function}"
        elif a.startswith("l") and a[1:].lstrip("-").isdigit():
            line = int(a[1:])
    return Frame(function, file or None, line, first)


def _session_records(doc: dict, src: Source) -> Iterator[Sample]:
    records = doc.get("frame_records")
    if not isinstance(records, list):
        raise ParseError("no frame_records list", src.name, expected="a pyinstrument session")
    stem = [i for i in (doc.get("start_call_stack") or []) if isinstance(i, str)]
    cache: dict[str, Frame | str] = {}
    for n, rec in enumerate(records):
        try:
            infos, seconds = rec
            seconds = float(seconds)
            frames = [cache[i] if i in cache else cache.setdefault(i, _frame_info(i)) for i in infos]
        except (TypeError, ValueError, AttributeError):
            raise ParseError(f"frame record {n} is not [[frame_info, ...], seconds]", src.name,
                             expected="a pyinstrument session") from None
        if stem and list(infos[:len(stem)]) == stem:
            kept = [f for f in frames[:len(stem)] if isinstance(f, str)] + frames[len(stem):]
        else:
            kept = frames
        thread = next((f for f in kept if isinstance(f, str)), None)
        src.accounting.records += 1
        yield Sample([f for f in kept if isinstance(f, Frame)], seconds, 1, thread)


def read_pyinstrument_session(source: Any, *, errors: str = "skip") -> Any:
    """Read a pyinstrument session (``.pyisession``, ``Session.save``) into a :class:`Profile`.

    One record per sample with its executing lines; ``samples`` is pyinstrument's sample count.
    """
    src = open_source(source, errors=errors)
    src.accounting.format = "pyinstrument-session"
    doc = load_json(src, "pyinstrument session")
    if not isinstance(doc, dict):
        raise ParseError(f"the top level is a {type(doc).__name__}", src.name, expected="a pyinstrument session")
    return profile_from_session(doc, src)


def profile_from_session(doc: dict, src: Source | None = None) -> Any:
    """A Profile from a session dict (``Session.to_json()``, or a loaded ``.pyisession``)."""
    if src is None:
        src = open_source(b"{}", name="<pyinstrument session>")
        src.accounting.format = "pyinstrument-session"
    b = ProfileBuilder().feed(_session_records(doc, src))
    interval = doc.get("min_interval")
    count = doc.get("sample_count")
    return b.build(format="pyinstrument-session", producer="pyinstrument", path=src.path,
                   rate_hz=None, samples=int(count) if isinstance(count, int) else len(doc["frame_records"]),
                   has_lines=True, start_time=doc.get("start_time"), source=src.accounting.as_dict(),
                   notes=["pyinstrument samples at an interval (min_interval) and weights each sample by "
                          "the time since the previous one"],
                   session_duration_s=doc.get("duration"), interval_s=interval, cpu_time_s=doc.get("cpu_time"),
                   target=doc.get("target_description"))


def _json_records(root: dict, src: Source) -> Iterator[Sample]:
    todo: list[tuple[dict, tuple[Frame, ...]]] = [(root, ())]
    while todo:
        node, parents = todo.pop()
        try:
            name = str(node["function"])
            if node.get("class_name"):
                name = f"{node['class_name']}.{name}"
            line = node.get("line_no")
            line = int(line) if isinstance(line, (int, float)) and line > 0 else None
            frame = Frame(name, node.get("file_path") or None, line, line)
            time = float(node["time"])
            children = node.get("children") or []
        except (KeyError, TypeError, ValueError):
            raise ParseError("a frame lacks function or time", src.name,
                             expected="pyinstrument -r json frames {function, file_path, line_no, time, children}") \
                from None
        stack = (*parents, frame)
        own = time
        for child in children:
            if child.get("function") == "[self]" and not child.get("file_path"):
                continue  # its time stays in `own`: the parent's self time
            own -= float(child.get("time", 0.0))
            todo.append((child, stack))
        src.accounting.records += 1
        if own > 1e-12:
            yield Sample(stack, own)


def read_pyinstrument_json(source: Any, *, errors: str = "skip") -> Any:
    """Read pyinstrument ``-r json`` output (the processed tree) into a :class:`Profile`."""
    src = open_source(source, errors=errors)
    src.accounting.format = "pyinstrument-json"
    doc = load_json(src, "pyinstrument JSON")
    if not isinstance(doc, dict) or "root_frame" not in doc:
        raise ParseError("no root_frame", src.name, expected="pyinstrument -r json output")
    b = ProfileBuilder()
    if doc["root_frame"]:
        b.feed(_json_records(doc["root_frame"], src))
    return b.build(format="pyinstrument-json", producer="pyinstrument", path=src.path,
                   start_time=doc.get("start_time"), source=src.accounting.as_dict(),
                   notes=["pyinstrument's processed tree: short frames may be dropped; prefer the session "
                          "(.pyisession) for raw samples and lines"],
                   session_duration_s=doc.get("duration"), sample_count=doc.get("sample_count"),
                   cpu_time_s=doc.get("cpu_time"), target=doc.get("target_description"))


def sniff_session(head: formats.Head) -> bool:
    t = head.text.lstrip()
    return t.startswith("{") and '"frame_records"' in t and '"sample_count"' in t


def sniff_json(head: formats.Head) -> bool:
    t = head.text.lstrip()
    return t.startswith("{") and '"root_frame"' in t[:4000] and '"frame_records"' not in t


formats.register("pyinstrument-session", "profile", read_pyinstrument_session, sniff=sniff_session,
                 suffixes=(".pyisession",), description="pyinstrument saved session (raw samples, lines)",
                 priority=1)
formats.register("pyinstrument-json", "profile", read_pyinstrument_json, sniff=sniff_json,
                 description="pyinstrument -r json (processed call tree)", priority=1)
