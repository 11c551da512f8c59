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

Values are read by :mod:`toolkit.schema`. Session: a frame record that is not
``[[str, ...], seconds]`` with finite seconds >= 0 is skipped and counted (``records`` +
``lines_skipped`` = frame records); a frame_info's line that is not a number becomes null;
``start_time``, ``duration``, ``sample_count`` and the like of the wrong type are left out
(None). JSON tree: a node without a text ``function`` and a finite ``time`` is a ParseError
(the tree cannot be read around it); ``records`` counts the nodes.

Example::

    >>> prof = read_pyinstrument_session("sample_traces/profiles/pyinstrument/demo_slow.pyisession.gz")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import formats, schema
from ..errors import ParseError
from ..sources import Source, open_source
from ._io import MAX_FIGURE, line_number, load_json
from .model import Frame, ProfileBuilder, Sample


def _frame_info(info: str) -> Frame | str:
    """A Frame, or the thread name for ``<thread>`` pseudo-frames."""
    head, *attrs = info.split("\x01")
    parts = head.split("\x00")
    function = parts[0]
    file = parts[1] if len(parts) > 1 else None
    if file == "<thread>":
        return f"{function} ({parts[2]})" if len(parts) > 2 else function
    # line numbers that are not one (other digits, beyond a C int) are left out: the frame stays
    first = line_number(parts[2])[0] if len(parts) > 2 else None
    line = first
    for a in attrs:
        if a.startswith("c") and a[1:]:
            function = f"{a[1:]}.{function}"
        elif a.startswith("l") and a[1:]:
            line = line_number(a[1:])[0]
            line = first if line is None else line
    return Frame(function, file or None, line, first)


def _record_problem(rec: Any) -> str | None:
    """Why a frame record is not ``[[frame_info (str), ...], seconds]`` (None: it is)."""
    # (lists as loaded from a file; Session.to_json() in this process gives tuples)
    if not isinstance(rec, (list, tuple)) or len(rec) != 2:
        return "a frame record is not [[frame_info, ...], seconds]"
    if not isinstance(rec[0], (list, tuple)) or not all(isinstance(i, str) for i in rec[0]):
        return "a frame record's stack is not a list of frame_info strings"
    seconds, why = schema.float_value(rec[1], "seconds", lo=0.0, hi=MAX_FIGURE)
    if seconds is None:
        return why or "a frame record has no seconds"
    return None


def _session_records(doc: dict, src: Source) -> Iterator[Sample]:
    records = doc.get("frame_records")
    if not isinstance(records, list):
        raise ParseError("no frame_records list", src.name, expected="a pyinstrument session")
    stack = doc.get("start_call_stack")
    stem = [i for i in stack if isinstance(i, str)] if isinstance(stack, (list, tuple)) else []
    cache: dict[str, Frame | str] = {}
    for rec in records:
        why = _record_problem(rec)
        if why is not None:  # the record is left out, counted with the reason
            src.accounting.skip(None, why, repr(rec)[:200])
            continue
        infos, seconds = rec[0], schema.float_value(rec[1])[0]
        frames = [cache[i] if i in cache else cache.setdefault(i, _frame_info(i)) for i in infos]
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
    count = schema.int_value(doc.get("sample_count"), "sample_count", lo=0)[0]
    return b.build(format="pyinstrument-session", producer="pyinstrument", path=src.path,
                   rate_hz=None, samples=count if count is not None else src.accounting.records,
                   has_lines=True, source=src.accounting.as_dict(),
                   notes=["pyinstrument samples at an interval (min_interval) and weights each sample by "
                          "the time since the previous one"], **_metadata(doc, interval_s="min_interval"))


def _metadata(doc: dict, **more: str) -> dict[str, Any]:
    """The session's figures and description (metadata: one of the wrong type or out of range
    is left out, None): start_time (epoch s), session_duration_s, cpu_time_s, target, ``more``."""
    keys = {"start_time": "start_time", "session_duration_s": "duration", "cpu_time_s": "cpu_time", **more}
    out: dict[str, Any] = {name: schema.float_value(doc.get(key), key, lo=-MAX_FIGURE, hi=MAX_FIGURE)[0]
                           for name, key in keys.items()}
    out["target"] = schema.text_value(doc.get("target_description"), "target_description")[0]
    return out


_JSON_FRAME = "pyinstrument -r json frames {function, file_path, line_no, time, children}"


def _json_node(node: Any, src: Source) -> tuple[Frame, float, list]:
    """``(frame, time, children)`` of one node of the tree; a ParseError when it is not a frame
    (the tree cannot be read around a node: its time is its children's)."""
    if not isinstance(node, dict) or "function" not in node:
        raise ParseError("a frame lacks function or time", src.name, expected=_JSON_FRAME)
    name, why = schema.text_value(node["function"], "function")
    time, why_t = schema.float_value(node.get("time"), "time", lo=-MAX_FIGURE, hi=MAX_FIGURE)
    children = node.get("children") or []
    if why or why_t or name is None or time is None or not isinstance(children, list):
        detail = why or why_t or ("children is not a list" if not isinstance(children, list) else "")
        raise ParseError("a frame lacks function or time" + (f" ({detail})" if detail else ""), src.name,
                         expected=_JSON_FRAME)
    cls = schema.text_value(node.get("class_name"), "class_name")[0]
    if cls:
        name = f"{cls}.{name}"
    # optional details of the wrong type or out of range are left out: the frame stays
    line = line_number(node.get("line_no"), "line_no", lo=1)[0]
    return Frame(name, schema.text_value(node.get("file_path"), "file_path")[0] or None, line, line), time, children


def _json_records(root: dict, src: Source) -> Iterator[Sample]:
    todo: list[tuple[Any, tuple[Frame, ...]]] = [(root, ())]
    while todo:
        node, parents = todo.pop()
        frame, time, children = _json_node(node, src)
        stack = (*parents, frame)
        own = time
        for child in children:
            if isinstance(child, dict) and child.get("function") == "[self]" and not child.get("file_path"):
                continue  # its time stays in `own`: the parent's self time
            own -= _json_node(child, src)[1]
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
    meta = _metadata(doc)
    meta["sample_count"] = schema.int_value(doc.get("sample_count"), "sample_count", lo=0)[0]
    return b.build(format="pyinstrument-json", producer="pyinstrument", path=src.path,
                   source=src.accounting.as_dict(),
                   notes=["pyinstrument's processed tree: short frames may be dropped; prefer the session "
                          "(.pyisession) for raw samples and lines"], **meta)


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
