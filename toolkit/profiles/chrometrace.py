"""Chrome trace event files: py-spy's ``--format chrometrace`` and the ``traceEvents`` object.

Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
(Trace Event Format, "Duration Events" and "Complete Events"); py-spy's writer:
https://github.com/benfred/py-spy/blob/v0.4.3/src/chrometrace.rs. py-spy writes a bare JSON
array of begin/end pairs, ``ts`` in microseconds, no ``X`` events, no wrapper::

    [{"args":{"filename":"<frozen importlib._bootstrap>","line":1176},"cat":"py-spy",
      "name":"_find_and_load","ph":"B","pid":12770,"tid":139995145341824,"ts":19073}, ...]

Other producers wrap events as ``{"traceEvents": [...]}`` (Chrome 114+ DevTools exports add
``metadata``) and use ``X`` (complete) events with ``dur``; those become a begin and an end
(of two at one ``ts``, the longer opens first). ``M`` ``thread_name`` metadata names threads.
Events are ordered by ``ts`` per (pid, tid), keeping file order among equal times (an end and
the next begin share a timestamp). Time between two events belongs to the stack open between
them; thread and process become columns. Hermes traces put the frame's ``url``, ``line`` and
``column`` in ``args``.

Events that do not nest perfectly are matched the way Chrome's importers do (DevTools'
``TracingModel``, the trace viewer's ``endSlice``), not refused: an ``E`` closes the innermost
open frame (first, among ends at the same ``ts``, the one whose name is that frame's, as
speedscope does); an ``E`` with nothing open is skipped and counted; frames still open at the
end close at their thread's last event. ``notes`` say how many of each were seen.

The array form may lack its closing ``]`` (the format allows a trace cut while it was being
written; a trailing comma too): it is read as if closed. A cut inside an event is still a
ParseError.

A trace object may also carry the format's own ``samples`` (``{ts, pid, tid, sf}``) over
``stackFrames`` (``{id: {name, category, parent}}``, Hermes writes these): then those samples
are the profile.

DevTools Performance exports (Chrome 65 to current) and Node traces carry sampled CPU data:
a ``CpuProfile`` event (Chrome 65) with ``args.data.cpuProfile``, or a ``Profile`` event and
``ProfileChunk`` events with the same ``id`` whose ``args.data.cpuProfile`` (``nodes``,
``samples``) and ``args.data.timeDeltas`` add up to one V8 CPU profile per id. When a trace
holds such data, the profile is those samples (one thread per profile, named from the thread's
``thread_name``; weights as in :mod:`toolkit.profiles.cpuprofile`), and the trace's duration
events are counted as skipped (its thousands of ``X`` events are the browser's tasks, not a
profile). Without it, the duration events are the profile.

``profile.meta["timeline"]`` keeps when each stack ran (duration events only): ``start_s``
(seconds after the trace's ``ts`` 0; py-spy's 0 is when it started recording),
``duration_s``, ``thread``, ``process`` and ``frames`` (a tuple of :class:`Frame`, root first).

Values are read by :mod:`toolkit.schema`: an event without a finite ``ts`` is a ParseError (it
cannot be placed); one whose ``pid`` / ``tid`` / ``args`` / ``dur`` has the wrong type or
range is skipped with the reason (``records`` + ``lines_skipped`` = events); a bad ``line`` or
``filename`` becomes null.

Example::

    >>> prof = read_chrometrace("sample_traces/profiles/py-spy/demo_slow.chrometrace.json")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .. import formats, schema
from ..errors import ParseError
from ..sources import Source, load_json, open_source
from ._io import MAX_FIGURE, line_number
from .cpuprofile import add_cpu_profile, unknown_note
from .model import Frame, ProfileBuilder

CPU_EVENTS = ("CpuProfile", "Profile", "ProfileChunk")

# One event as the sort keeps it: (ts, rank, -dur, order, "B" | "E", frame, name). At one ts,
# ends (rank 0) come before begins (rank 1: what ends there began earlier; py-spy writes an end
# and the next begin at one ts); of X events beginning together the longer opens first; a
# zero-length frame (an X with dur 0, or a B and then its E at one ts) ends right after it
# begins (order: the begin's file position + 0.5).
Event = tuple[float, int, float, float, str, Frame | None, str]


def _document(src: Source) -> Any:
    """The trace as JSON: an array (its closing ``]`` optional) or an object."""
    data = src.read_bytes()
    if not data.strip():
        raise ParseError("the file is empty, not a Chrome trace", src.name, expected="a Chrome trace")
    src.accounting.lines_read = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    text = data.strip()
    if text.startswith(b"[") and not text.endswith(b"]"):
        # the format lets a writer stop without closing the array (a trace cut while written)
        try:
            doc = load_json(text.rstrip(b", \t\r\n") + b"]", src.name, what="Chrome trace")
        except ParseError:
            doc = load_json(data, src.name, what="Chrome trace")  # the error of the file as it is
    else:
        doc = load_json(data, src.name, what="Chrome trace")
    return doc


def _events(doc: Any, src: Source) -> list:
    """The trace's events: the array, or the object's ``traceEvents``."""
    if isinstance(doc, dict):
        events = doc.get("traceEvents")
        if not isinstance(events, list):
            raise ParseError("an object without a traceEvents list", src.name, expected="a Chrome trace")
        return events
    if isinstance(doc, list):
        return doc
    raise ParseError(f"the top level is a {type(doc).__name__}", src.name, expected="a JSON array of events")


def _frame(ev: dict) -> Frame:
    """The event's frame; a ``line`` or ``filename`` that cannot be read becomes null."""
    args = ev.get("args") if isinstance(ev.get("args"), dict) else {}
    file = schema.text_value(args.get("filename") or args.get("file") or args.get("url"), "filename")[0] or None
    return Frame(str(ev.get("name", "")), file, line_number(args.get("line"))[0])


def _cpu_profiles(events: list, src: Source) -> dict[str, dict]:
    """The V8 CPU profiles inside the trace, by id: ``{nodes, samples, timeDeltas, pid, tid}``
    (chunks joined in ``ts`` order, as speedscope's importFromChromeTimeline does)."""
    found: dict[str, dict] = {}
    cpu = [ev for ev in events if isinstance(ev, dict) and ev.get("name") in CPU_EVENTS
           and _event_problem(ev) is None]
    cpu.sort(key=lambda ev: ev.get("ts") if isinstance(ev.get("ts"), (int, float)) else 0)
    for ev in cpu:
        key = str(ev.get("id") or f"{ev.get('pid')}:{ev.get('tid')}")
        data = (ev.get("args") or {}).get("data") if isinstance(ev.get("args"), dict) else None
        if not isinstance(data, dict):
            continue  # Chrome writes some of these events without data
        if ev["name"] == "CpuProfile" and isinstance(data.get("cpuProfile"), dict):
            whole = data["cpuProfile"]
            found[key] = {"nodes": list(whole.get("nodes") or []), "samples": list(whole.get("samples") or []),
                          "timeDeltas": list(whole.get("timeDeltas") or data.get("timeDeltas") or []),
                          "pid": ev.get("pid"), "tid": ev.get("tid")}
        elif ev["name"] == "Profile":
            found[key] = {"nodes": [], "samples": [], "timeDeltas": [], "pid": ev.get("pid"), "tid": ev.get("tid")}
        elif key in found:
            chunk = data.get("cpuProfile") if isinstance(data.get("cpuProfile"), dict) else {}
            found[key]["nodes"] += list(chunk.get("nodes") or [])
            found[key]["samples"] += list(chunk.get("samples") or [])
            found[key]["timeDeltas"] += list(data.get("timeDeltas") or [])
    return {k: v for k, v in found.items() if v["samples"]}


def _thread_names(events: list) -> dict[tuple[Any, Any], str]:
    # an event whose pid / tid is not a number or a string is skipped (and counted) by its reader
    return {(ev.get("pid"), ev.get("tid")): str((ev.get("args") or {}).get("name", ""))
            for ev in events if isinstance(ev, dict) and ev.get("ph") == "M" and ev.get("name") == "thread_name"
            and _event_problem(ev) is None}


def _thread_label(key: tuple[Any, Any], names: dict[tuple[Any, Any], str]) -> str | None:
    if names.get(key):
        return f"{names[key]} ({key[1]})"
    return str(key[1]) if key[1] is not None else None


def _count_beside_samples(events: list, src: Source) -> None:
    """Every event of a trace whose profile is its samples: a record (metadata, CPU data) or
    counted as skipped."""
    acc = src.accounting
    for ev in events:
        if not isinstance(ev, dict) or "ph" not in ev:
            acc.skip(None, "not a trace event object", repr(ev)[:200])
        elif (why := _event_problem(ev)) is not None:  # left out of the profiles and the names
            acc.skip(None, why, repr(ev)[:200])
        elif ev.get("name") in CPU_EVENTS or ev["ph"] == "M":
            acc.records += 1
        else:
            acc.skip(None, "an event beside the trace's sampled CPU data (the samples are the profile)")


def _read_samples(events: list, profiles: dict[str, dict], src: Source, b: ProfileBuilder) -> tuple[int, int]:
    """The trace's V8 CPU profiles into ``b``; returns the number of samples, and of those of
    nodes the profiles do not list."""
    names = _thread_names(events)
    _count_beside_samples(events, src)
    samples = unknown = 0
    for key, prof in profiles.items():
        pid_tid = (prof["pid"], prof["tid"])
        n, lost = add_cpu_profile(prof, src, b, thread=_thread_label(pid_tid, names),
                                  process=str(prof["pid"]) if prof["pid"] is not None else None,
                                  what=f"CPU profile {key}")
        samples, unknown = samples + n, unknown + lost
    return samples, unknown


def _read_stack_samples(doc: dict, events: list, src: Source, b: ProfileBuilder) -> int:
    """The trace format's own ``samples`` (``{ts, pid, tid, sf, weight}``) over ``stackFrames``
    (``{id: {name, category, parent}}``): per thread, each sample lasts until the next (the last
    lasts nothing), as speedscope reads them. Returns the number of samples."""
    frames = doc.get("stackFrames") if isinstance(doc.get("stackFrames"), dict) else {}
    names = _thread_names(events)
    _count_beside_samples(events, src)
    per_thread: dict[tuple[Any, Any], list[tuple[float, Any]]] = {}
    for n, sample in enumerate(doc["samples"]):
        try:
            key = (sample.get("pid"), str(sample.get("tid")))
            per_thread.setdefault(key, []).append((float(sample["ts"]), sample.get("sf")))
        except (AttributeError, KeyError, TypeError, ValueError):
            src.accounting.skip(None, f"sample {n} has no numeric ts", repr(sample)[:200])
    cache: dict[Any, tuple[int, ...]] = {}

    def stack(sf: Any) -> tuple[int, ...]:
        if sf not in cache:
            chain, node = [], sf
            while node is not None and str(node) in frames and len(chain) <= len(frames):
                entry = frames[str(node)]
                chain.append(b.frame(Frame(str(entry.get("name", "")))))
                node = entry.get("parent")
            cache[sf] = tuple(reversed(chain))
        return cache[sf]

    count = 0
    tids = {str(k[1]): k for k in names}
    for (pid, tid), lst in per_thread.items():
        thread = _thread_label(tids.get(tid, (pid, tid)), names) or tid
        for i, (ts, sf) in enumerate(lst):
            weight = (lst[i + 1][0] - ts) if i + 1 < len(lst) else 0.0
            b.add_ids(stack(sf), weight * 1e-6, 1, thread, str(pid))
        count += len(lst)
    src.accounting.records += count
    return count


def _duration_events(events: list, src: Source) -> tuple[dict[tuple[Any, Any], list[Event]], str | None]:
    """B, E and X events per (pid, tid), sorted; other events counted."""
    per_thread: dict[tuple[Any, Any], list[Event]] = {}
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
        if ph == "M":
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
        name = str(ev.get("name", ""))
        lst = per_thread.setdefault((ev.get("pid"), ev.get("tid")), [])
        if ph == "X":
            dur, why = schema.float_value(ev.get("dur", ev.get("tdur", 0.0)), "dur", lo=0.0, hi=MAX_FIGURE)
            if why is not None:
                acc.skip(None, why, repr(ev)[:200])
                continue
            dur = dur or 0.0
            frame = _frame(ev)
            lst.append((ts, 1, -dur, n, "B", frame, name))
            lst.append((ts + dur, 0, 0.0, n, "E", frame, name) if dur > 0 else (ts, 1, 0.0, n + 0.5, "E", frame, name))
        elif ph == "B":
            lst.append((ts, 1, 0.0, n, "B", _frame(ev), name))
        else:
            lst.append((ts, 0, 0.0, n, "E", None, name))
        acc.records += 1
    for lst in per_thread.values():
        _pair_zero_length(lst)
        lst.sort(key=lambda e: e[:4])
    return per_thread, producer


def _pair_zero_length(lst: list[Event]) -> None:
    """An E at the ts of an earlier unpaired B of its name closes that B at once (in place)."""
    begins: dict[tuple[float, str], list[float]] = {}
    for i, (ts, rank, _, order, ph, _, name) in enumerate(lst):
        if ph == "B":
            begins.setdefault((ts, name), []).append(order)
        elif rank == 0 and begins.get((ts, name)) and begins[(ts, name)][0] < order:
            lst[i] = (ts, 1, 0.0, begins[(ts, name)].pop(0) + 0.5, ph, None, name)


def _replay(lst: list[Event], b: ProfileBuilder, thread: str | None, process: str | None,
            timeline: list, counts: dict[str, int]) -> None:
    """Time between events to the stack open between them; ends matched as Chrome does."""
    stack: list[int] = []
    open_frames: list[tuple[Frame, str]] = []
    last = None
    i = 0
    while i < len(lst):
        ts, _, _, _, ph, frame, name = lst[i]
        if last is not None and stack and ts > last:
            b.add_ids(tuple(stack), (ts - last) * 1e-6, 0, thread, process)
            timeline.append((last, ts - last, thread, process, tuple(f for f, _ in open_frames)))
        last = ts
        if ph == "B":
            stack.append(b.frame(frame))
            open_frames.append((frame, name))
        elif not stack:
            counts["unopened"] += 1
        else:
            top = open_frames[-1][1]
            if name and name != top:
                # among the ends at this ts, close the open frame's own first
                j = i + 1
                while j < len(lst) and lst[j][0] == ts and lst[j][4] == "E" and lst[j][6] != top:
                    j += 1
                if j < len(lst) and lst[j][0] == ts and lst[j][4] == "E":
                    lst[i], lst[j] = lst[j], lst[i]
                else:
                    counts["mismatched"] += 1
            stack.pop()
            open_frames.pop()
        i += 1
    counts["still_open"] += len(stack)


def read_chrometrace(source: Any, *, errors: str = "skip") -> Any:
    """Read a Chrome trace (array or ``{"traceEvents": [...]}``) into a :class:`Profile`."""
    src = open_source(source, errors=errors)
    src.accounting.format = "chrometrace"
    doc = _document(src)
    events = _events(doc, src)
    b = ProfileBuilder()
    if isinstance(doc, dict) and isinstance(doc.get("samples"), list) and doc["samples"]:
        samples = _read_stack_samples(doc, events, src, b)
        return b.build(format="chrometrace", producer=None, path=src.path, samples=samples,
                       notes=["the trace's samples over its stackFrames; each sample lasts until the next"],
                       source=src.accounting.as_dict())
    profiles = _cpu_profiles(events, src)
    if profiles:
        samples, unknown = _read_samples(events, profiles, src, b)
        return b.build(format="chrometrace", producer="V8", path=src.path, samples=samples,
                       notes=[f"the trace's sampled CPU data ({len(profiles)} profile"
                              f"{'s' if len(profiles) != 1 else ''}); each sample lasts until the next"]
                       + unknown_note(unknown),
                       source=src.accounting.as_dict())
    per_thread, producer = _duration_events(events, src)
    names = _thread_names(events)
    # when each stack was sampled: (start us, duration us, thread, process, frames root first);
    # toolkit.correlation attributes these to the requests running at the time
    timeline: list[tuple[float, float, str | None, str | None, tuple[Frame, ...]]] = []
    counts = {"unopened": 0, "mismatched": 0, "still_open": 0}
    for key, lst in per_thread.items():
        _replay(lst, b, _thread_label(key, names), str(key[0]) if key[0] is not None else None, timeline, counts)
    notes = ["times are the gaps between trace events"]
    if counts["unopened"]:
        notes.append(f"{counts['unopened']} end events closed nothing on their thread: ignored, as Chrome does")
    if counts["mismatched"]:
        notes.append(f"{counts['mismatched']} end events named another frame than the innermost open one: "
                     "they closed it, as Chrome does")
    if counts["still_open"]:
        notes.append(f"{counts['still_open']} frames never ended: closed at their thread's last event")
    times = pd.DataFrame(timeline, columns=["start_s", "duration_s", "thread", "process", "frames"])
    times[["start_s", "duration_s"]] *= 1e-6
    return b.build(format="chrometrace", producer=producer, path=src.path, has_lines=producer == "py-spy",
                   notes=notes, source=src.accounting.as_dict(), unmatched_events=counts,
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


_ARRAY_EVENT = re.compile(r'^\[\s*\{[^{}]*"(?:ph|ts|pid|name|cat)"\s*:')
_PHASE = re.compile(r'"ph"\s*:\s*"[A-Za-z]"')


def sniff(head: formats.Head) -> formats.Sniffed:
    """A JSON array whose first object is a trace event (``"ph": "X"``-like phases among the
    first events), or an object with a ``traceEvents`` list near its start."""
    text = head.text.lstrip()
    if text.startswith("["):
        if _ARRAY_EVENT.match(text) and len(_PHASE.findall(text[:8000])) >= 1 and '"ts"' in text[:8000]:
            return formats.Sniffed(True, "an array of trace events")
        return formats.Sniffed(False)
    if text.startswith("{"):
        at = text.find('"traceEvents"')
        if at >= 0 and re.match(r'"traceEvents"\s*:\s*\[', text[at:at + 40]):
            return formats.Sniffed(True, "a traceEvents list")
    return formats.Sniffed(False)


formats.register("chrometrace", "profile", read_chrometrace, sniff=sniff,
                 suffixes=(".chrometrace.json", ".trace.json"),
                 description="Chrome trace events (py-spy --format chrometrace, DevTools Performance exports "
                             "with their CPU samples, Node and Hermes traces)")
