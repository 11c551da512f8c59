"""V8 CPU profiles: ``.cpuprofile`` files of Node (``--cpu-prof``), Chrome DevTools and Deno.

Format: the ``Profiler.Profile`` type of the V8 inspector protocol,
https://chromedevtools.github.io/devtools-protocol/1-3/Profiler/#type-Profile (protocol 1.3),
as Node writes it (https://nodejs.org/docs/v20.20.0/api/cli.html#--cpu-prof)::

    {"nodes":[{"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"",
      "lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2,3]}, ...],
     "startTime":1146532467,"endTime":1147040001,"samples":[3,3,5,...],"timeDeltas":[87,1223,...]}

- ``nodes`` form a tree by ``children`` (ids); DevTools' trace chunks give ``parent`` instead
  (both are read). ``lineNumber`` and ``columnNumber`` are 0-based: ``line`` is 1-based here,
  the function's first line (V8 records no executing line in ``callFrame``).
- ``samples[i]`` is the node on top of the stack at sample ``i``; ``timeDeltas[i]`` is its time
  after the previous sample (the first: after ``startTime``), in microseconds. A delta can be
  negative (samples recorded out of order): the clock is held at its latest value, as
  speedscope does (https://github.com/jlfwong/speedscope/pull/305).
- Each sample lasts until the next one; the last lasts nothing. These are speedscope's
  weights (https://github.com/jlfwong/speedscope/blob/3613918de0dd55a263d0d04f85b0c8c2039c7bee/src/import/chrome.ts,
  ``importFromChromeCPUProfile``), so self times equal what speedscope shows.
- ``(root)`` and ``(idle)`` are not functions: a sample on them is time in no function (counted
  in ``duration_s``, like py-spy's ``--idle`` samples). ``(program)`` (V8 running no
  JavaScript) and ``(garbage collector)`` are kept as functions at the root.
- A function without a name is ``(anonymous FILE:LINE)`` (speedscope's label).
- The older form of V8's C++ API (v8-profiler-node8, Chrome before the protocol's flat nodes)
  nests nodes under ``head`` (each with its own ``functionName``, ``url``, ``lineNumber``) and
  gives ``timestamps`` (us) instead of deltas, with ``startTime`` in seconds: it is converted
  as speedscope's ``v8cpuFormatter.ts`` does.

Example::

    >>> prof = read_cpuprofile("tests/fixtures/third_party/speedscope/node-10.11.0-example.cpuprofile")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import formats
from ..errors import ParseError
from ..sources import Source, open_source
from ._io import load_json
from .model import Frame, ProfileBuilder

NOT_FUNCTIONS = ("(root)", "(idle)")


def _frame(call: dict) -> Frame | None:
    name = str(call.get("functionName") or "")
    url = str(call.get("url") or "")
    if name in NOT_FUNCTIONS or url == "native dummy.js":  # V8's placeholder script
        return None
    line = call.get("lineNumber")
    line = int(line) + 1 if isinstance(line, (int, float)) and line >= 0 else None
    if not name:
        name = f"(anonymous {url.rsplit('/', 1)[-1]}:{line})" if url else "(anonymous)"
    return Frame(name, url or None, line, line)


def _parents(nodes: list, src: Source, what: str) -> dict[int, tuple[int | None, dict]]:
    """node id -> (parent id, callFrame)."""
    parent: dict[int, int | None] = {}
    calls: dict[int, dict] = {}
    for n, node in enumerate(nodes):
        try:
            nid = int(node["id"])
            call = node["callFrame"]
            if not isinstance(call, dict):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise ParseError(f"{what}: node {n} has no id or callFrame", src.name,
                             expected="nodes like {id, callFrame: {functionName, url, lineNumber}}") from None
        calls[nid] = call
        parent.setdefault(nid, None)
        if isinstance(node.get("parent"), int):
            parent[nid] = node["parent"]
        for child in node.get("children") or ():
            if isinstance(child, int):
                parent[child] = nid
    return {nid: (parent.get(nid), calls[nid]) for nid in calls}


def _weights(samples: list, deltas: list, src: Source, what: str) -> np.ndarray:
    """Each sample's weight in microseconds: the time to the next sample, with the clock held
    at its latest value when a delta goes back (speedscope's reading)."""
    if len(deltas) < len(samples):
        raise ParseError(f"{what}: {len(samples)} samples but {len(deltas)} timeDeltas", src.name,
                         expected="one time delta per sample")
    try:
        # a delta past the last sample (v8-profiler-node8 writes one more timestamp) times nothing
        elapsed = np.cumsum(np.asarray(deltas[:len(samples)], dtype=np.float64))
    except (TypeError, ValueError):
        raise ParseError(f"{what}: timeDeltas must be numbers", src.name) from None
    n = len(samples)
    times = np.empty(n)
    latest = elapsed[0] if n else 0.0
    previous = object()
    start = 0.0
    # speedscope reads the clock only where the sampled node changes; a run of one node keeps
    # the time its first sample had
    for i in range(n):
        if samples[i] != previous:
            start = latest = max(elapsed[i], latest)
            previous = samples[i]
        times[i] = start
    if n:
        times[-1] = max(elapsed[-1], latest)
    w = np.zeros(n)
    if n > 1:
        w[:-1] = np.diff(times)
    return w


def add_cpu_profile(profile: dict, src: Source, b: ProfileBuilder, *, thread: str | None = None,
                    process: str | None = None, what: str = "cpuprofile") -> tuple[int, int]:
    """Add one V8 CPU profile (``{nodes, samples, timeDeltas}``) to ``b``; returns the number of
    samples and how many of them are of a node the profile does not list (Chrome writes a few:
    their time is kept, in no function). Used by :mod:`toolkit.profiles.chrometrace` for the CPU data of
    DevTools traces (``Profile`` / ``ProfileChunk`` events)."""
    nodes, samples, deltas = profile.get("nodes"), profile.get("samples"), profile.get("timeDeltas")
    if not isinstance(nodes, list) or not isinstance(samples, list) or not isinstance(deltas, list):
        raise ParseError(f"{what}: no nodes, samples and timeDeltas lists", src.name,
                         expected="a V8 CPU profile {nodes, samples, timeDeltas}")
    tree = _parents(nodes, src, what)
    weights = _weights(samples, deltas, src, what)
    stacks: dict[int, tuple[int, ...]] = {}

    def stack(nid: int) -> tuple[int, ...]:
        """The frame ids root first of ``nid`` (memoised along the way up)."""
        chain: list[int] = []
        node: int | None = nid
        while node is not None and node not in stacks:
            if node not in tree or node in chain:  # a parent the profile does not list, or a cycle
                base: tuple[int, ...] = ()
                break
            chain.append(node)
            node = tree[node][0]
        else:
            base = () if node is None else stacks[node]
        for cid in reversed(chain):
            frame = _frame(tree[cid][1])
            base = base if frame is None else (*base, b.frame(frame))
            stacks[cid] = base
        return stacks[nid]

    per_node: dict[Any, list[float]] = {}
    for nid, w in zip(samples, weights.tolist(), strict=True):
        acc = per_node.get(nid)
        if acc is None:
            per_node[nid] = [w, 1]
        else:
            acc[0] += w
            acc[1] += 1
    unknown = 0
    for nid, (w, count) in per_node.items():
        known = isinstance(nid, int) and nid in tree
        unknown += 0 if known else int(count)
        b.add_ids(stack(nid) if known else (), w * 1e-6, int(count), thread, process)
    return len(samples), unknown


def _from_tree(doc: dict, src: Source) -> dict:
    """The older ``{head, samples, timestamps}`` form as ``{nodes, samples, timeDeltas}``."""
    nodes: list[dict] = []
    todo = [doc["head"]]
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            raise ParseError("a node of the head tree is not an object", src.name, expected="a V8 CPU profile")
        children = [c for c in node.get("children") or () if isinstance(c, dict)]
        nodes.append({"id": node.get("id"), "children": [c.get("id") for c in children],
                      "callFrame": {k: node.get(k) for k in ("functionName", "url", "lineNumber")}})
        todo.extend(reversed(children))
    stamps = doc.get("timestamps")
    if not isinstance(stamps, list):
        raise ParseError("a head tree without timestamps", src.name, expected="a V8 CPU profile")
    try:
        previous = float(doc.get("startTime") or 0) * 1e6
        deltas = []
        for t in stamps:
            deltas.append(float(t) - previous)
            previous = float(t)
    except (TypeError, ValueError):
        raise ParseError("timestamps must be numbers", src.name, expected="a V8 CPU profile") from None
    return {"nodes": nodes, "samples": doc.get("samples"), "timeDeltas": deltas}


def unknown_note(unknown: int) -> list[str]:
    """The note for samples of nodes a profile does not list (none when there are none)."""
    return [f"{unknown} samples are of nodes the profile does not list: their time is counted, in no "
            "function"] if unknown else []


def read_cpuprofile(source: Any, *, errors: str = "skip") -> Any:
    """Read a V8 ``.cpuprofile`` (Node ``--cpu-prof``, Chrome DevTools, Deno) into a
    :class:`Profile`: ``samples`` is the sample count, ``duration_s`` the time from the first
    sample to the last (idle included, in no function)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "cpuprofile"
    doc = load_json(src, "V8 CPU profile")
    if not isinstance(doc, dict):
        raise ParseError(f"the top level is a {type(doc).__name__}", src.name, expected="a V8 CPU profile object")
    if "nodes" not in doc and isinstance(doc.get("head"), dict):
        doc = {**doc, **_from_tree(doc, src)}
    b = ProfileBuilder()
    n, unknown = add_cpu_profile(doc, src, b)
    src.accounting.records = n
    notes = ["each sample lasts until the next (speedscope's weights); (idle) and (root) time is counted "
             "in the duration, in no function"] + unknown_note(unknown)
    return b.build(format="cpuprofile", producer="V8", path=src.path, samples=n, notes=notes,
                   source=src.accounting.as_dict(), start_time_us=doc.get("startTime"),
                   end_time_us=doc.get("endTime"))


def sniff(head: formats.Head) -> formats.Sniffed:
    """An object whose ``nodes`` list starts with a node ``{id, callFrame: {functionName, ...}}``
    (the first node is ``(root)`` when V8 wrote it), or the older ``head`` tree with
    ``timestamps``."""
    text = head.text.lstrip()
    if not text.startswith("{"):
        return formats.Sniffed(False)
    at = text.find('"nodes"')
    if 0 <= at <= 200:
        first = text[at: at + 600]
        if '"callFrame"' not in first or '"functionName"' not in first or '"id"' not in first:
            return formats.Sniffed(False, "a nodes list without V8 call frames")
        return formats.Sniffed(True, "V8 CPU profile nodes")
    at = text.find('"head"')
    if 0 <= at <= 200:  # the older tree form; a heap profile's head has a callFrame instead
        first = text[at: at + 600]
        if '"functionName"' in first and '"callFrame"' not in first and '"timestamps"' in text:
            return formats.Sniffed(True, "a V8 CPU profile tree (head, timestamps)")
    return formats.Sniffed(False)


formats.register("cpuprofile", "profile", read_cpuprofile, sniff=sniff, suffixes=(".cpuprofile",),
                 description="V8 CPU profile (.cpuprofile: Node --cpu-prof, Chrome DevTools, Deno)")
