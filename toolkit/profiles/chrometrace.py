"""Chrome trace event files: py-spy's ``--format chrometrace`` and the ``traceEvents`` object.

Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
(Trace Event Format, "Duration Events" and "Complete Events"); py-spy's writer:
https://github.com/benfred/py-spy/blob/v0.4.3/src/chrometrace.rs. py-spy writes a bare JSON
array of begin/end pairs, ``ts`` in microseconds, no ``X`` events, no wrapper::

    [{"args":{"filename":"<frozen importlib._bootstrap>","line":1176},"cat":"py-spy",
      "name":"_find_and_load","ph":"B","pid":12770,"tid":139995145341824,"ts":19073}, ...]

Other producers wrap events as ``{"traceEvents": [...]}`` and use ``X`` (complete) events with
``dur``; those become a begin and an end. ``M`` ``thread_name`` metadata names threads. Events
are ordered by ``ts`` per (pid, tid), keeping file order among equal times (an end and the next
begin share a timestamp). Time between two events belongs to the stack open between them;
thread and process become columns. An end that does not match the open frame is a ParseError.
``profile.meta["timeline"]`` keeps when each stack ran: ``start_s`` (seconds after the trace's
``ts`` 0; py-spy's 0 is when it started recording), ``duration_s``, ``thread``, ``process`` and
``frames`` (a tuple of :class:`Frame`, root first).
Values are read by :mod:`toolkit.schema`: an event without a finite ``ts`` is a ParseError (it
cannot be placed); one whose ``pid`` / ``tid`` / ``args`` / ``dur`` has the wrong type or
range is skipped with the reason (``records`` + ``lines_skipped`` = events); a bad ``line`` or
``filename`` becomes null.

Example::

    >>> prof = read_chrometrace("sample_traces/profiles/py-spy/demo_slow.chrometrace.json")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import formats, schema
from ..errors import ParseError
from ..sources import open_source
from ._io import MAX_FIGURE, line_number, load_json
from .model import Frame, ProfileBuilder


def read_chrometrace(source: Any, *, errors: str = "skip") -> Any:
    """Read a Chrome trace (array or ``{"traceEvents": [...]}``) into a :class:`Profile`."""
    src = open_source(source, errors=errors)
    src.accounting.format = "chrometrace"
    doc = load_json(src, "Chrome trace")
    if isinstance(doc, dict):
        events = doc.get("traceEvents")
        if not isinstance(events, list):
            raise ParseError("an object without a traceEvents list", src.name, expected="a Chrome trace")
    elif isinstance(doc, list):
        events = doc
    else:
        raise ParseError(f"the top level is a {type(doc).__name__}", src.name, expected="a JSON array of events")
    names: dict[tuple[Any, Any], str] = {}
    per_thread: dict[tuple[Any, Any], list[tuple[float, int, str, Frame | None]]] = {}
    producer = None
    acc = src.accounting
    for n, ev in enumerate(events):
        if not isinstance(ev, dict) or "ph" not in ev:
            acc.skip(None, "not a trace event object", repr(ev)[:200])
            continue
        ph = ev["ph"]
        why = _event_problem(ev)
        if why is not None:  # a field of the wrong type: the event is left out, with the reason
            acc.skip(None, why, repr(ev)[:200])
            continue
        key = (ev.get("pid"), ev.get("tid"))
        args = ev.get("args") or {}
        if ph == "M":
            if ev.get("name") == "thread_name":
                names[key] = str(args.get("name", ""))
            acc.records += 1
            continue
        if ph not in ("B", "E", "X"):
            acc.skip(None, f"event phase {ph!r} is not a duration event", repr(ev)[:200])
            continue
        ts, why = schema.float_value(ev.get("ts"), "ts", lo=-MAX_FIGURE, hi=MAX_FIGURE)
        if ts is None:  # the events nest by time: one without a time cannot be placed
            raise ParseError(f"event {n} has no numeric ts" + (f" ({why})" if why else ""), src.name,
                             expected="ts in microseconds")
        producer = producer or ("py-spy" if ev.get("cat") == "py-spy" else None)
        frame = None
        if ph in ("B", "X"):
            file = schema.text_value(args.get("filename") or args.get("file"), "filename")[0] or None
            frame = Frame(str(ev.get("name", "")), file, line_number(args.get("line"))[0])
        lst = per_thread.setdefault(key, [])
        if ph == "X":
            dur, why = schema.float_value(ev.get("dur", 0.0), "dur", lo=0.0, hi=MAX_FIGURE)
            if why is not None:
                acc.skip(None, why, repr(ev)[:200])
                continue
            lst.append((ts, len(lst), "B", frame))
            lst.append((ts + (dur or 0.0), -1, "E", frame))  # ordered by end time, before later begins
        else:
            lst.append((ts, len(lst), ph, frame))
        acc.records += 1
    b = ProfileBuilder()
    # when each stack was sampled: (start us, duration us, thread, process, frames root first);
    # toolkit.correlation attributes these to the requests running at the time
    timeline: list[tuple[float, float, str | None, str | None, tuple[Frame, ...]]] = []
    for key, lst in per_thread.items():
        lst.sort(key=lambda e: (e[0], e[1] if e[1] >= 0 else -1))
        thread = str(key[1]) if key[1] is not None else None
        if key in names and names[key]:
            thread = f"{names[key]} ({key[1]})"
        process = str(key[0]) if key[0] is not None else None
        stack: list[int] = []
        open_frames: list[Frame] = []
        last = None
        for ts, _, ph, frame in lst:
            if last is not None and stack and ts > last:
                b.add_ids(tuple(stack), (ts - last) * 1e-6, 0, thread, process)
                timeline.append((last, ts - last, thread, process, tuple(open_frames)))
            last = ts
            if ph == "B":
                stack.append(b.frame(frame))
                open_frames.append(frame)
            else:
                if not stack:
                    raise ParseError(f"unbalanced trace: an end event at ts={ts:g} on thread {key[1]} with no "
                                     "open begin", src.name, expected="each E after its B")
                stack.pop()
                open_frames.pop()
        if stack:
            raise ParseError(f"unbalanced trace: {len(stack)} begin events on thread {key[1]} never end "
                             f"(innermost {open_frames[-1].function!r}); truncated?", src.name,
                             expected="an E for every B")
    times = pd.DataFrame(timeline, columns=["start_s", "duration_s", "thread", "process", "frames"])
    times[["start_s", "duration_s"]] *= 1e-6
    return b.build(format="chrometrace", producer=producer, path=src.path, has_lines=producer == "py-spy",
                   notes=["times are the gaps between trace events"], source=src.accounting.as_dict(),
                   timeline=times.sort_values("start_s", kind="stable").reset_index(drop=True))


def _event_problem(ev: dict) -> str | None:
    """Why an event's fields cannot be read (None: they can): ``pid`` / ``tid`` that are not a
    number or a string, ``args`` that is not an object."""
    for key in ("pid", "tid"):
        v = ev.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int, float))):
            return f"{key} is {schema.json_kind(v)}, not a number or a string"
    args = ev.get("args")
    if args is not None and not isinstance(args, dict):
        return f"args is {schema.json_kind(args)}, not an object"
    return None


def sniff(head: formats.Head) -> bool:
    text = head.text.lstrip()
    if text.startswith("["):
        return '"ph"' in text[:4000] and ('"ts"' in text[:4000])
    return text.startswith("{") and '"traceEvents"' in text[:4000]


formats.register("chrometrace", "profile", read_chrometrace, sniff=sniff,
                 suffixes=(".chrometrace.json", ".trace.json"),
                 description="Chrome trace events (py-spy --format chrometrace, traceEvents objects)")
