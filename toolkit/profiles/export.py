"""Writing a Profile for other tools: speedscope JSON and collapsed (folded) stacks.

- :func:`to_speedscope` writes the speedscope file format
  (https://github.com/jlfwong/speedscope/blob/v1.22.2/src/lib/file-format-spec.ts): one
  ``sampled`` profile per thread, unit seconds, one sample per unique stack weighted by its
  seconds. Frames carry the function's first line where known, so reading the file back gives
  the same :meth:`Profile.functions`.
- :func:`to_collapsed` writes Brendan Gregg's folded format (``frame;frame;leaf COUNT``, root
  first), the input of ``flamegraph.pl`` and ``inferno-flamegraph``; frames look like py-spy's
  (``name (file:line)``).

Example::

    >>> prof.to_speedscope("out.speedscope.json")     # doctest: +SKIP
    >>> prof.to_collapsed("out.folded")               # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"

# The functions below take a toolkit.profiles.model.Profile (annotated Any): model imports this
# module for its to_speedscope / to_collapsed methods, so this one does not import model.


def frame_label(function: str, file: str | None, line: int | None) -> str:
    """py-spy's frame text: ``name (file:line)``, ``name (file)`` or ``name``; ``;`` removed."""
    if file and line is not None and line >= 0:
        text = f"{function} ({file}:{line})"
    elif file:
        text = f"{function} ({file})"
    else:
        text = function
    return text.replace(";", ":").replace("\n", " ")


def to_speedscope(profile: Any, path: str | os.PathLike, name: str | None = None) -> str:
    """Write ``profile`` as a speedscope file at ``path``; returns the path as str."""
    frames = []
    for f in profile._frames:
        fr: dict[str, Any] = {"name": f.function}
        if f.file is not None:
            fr["file"] = f.file
        line = f.first_line if f.first_line is not None else f.line
        if line is not None:
            fr["line"] = int(line)
        frames.append(fr)
    by_thread: dict[Any, list[int]] = {}
    for i, t in enumerate(profile._threads):
        by_thread.setdefault(t, []).append(i)
    profiles = []
    for t, idx in by_thread.items():
        weights = [float(profile._weights[i]) for i in idx]
        profiles.append({"type": "sampled", "name": "" if t is None else str(t), "unit": "seconds",
                         "startValue": 0.0, "endValue": sum(weights),
                         "samples": [list(profile._stacks[i]) for i in idx], "weights": weights})
    doc = {"$schema": SPEEDSCOPE_SCHEMA, "shared": {"frames": frames}, "profiles": profiles,
           "name": name or os.path.basename(profile.path or "profile"), "activeProfileIndex": 0,
           "exporter": "perf-toolkit"}
    out = os.fspath(path)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    return out


def _thread_frame(thread: str) -> str:
    """py-spy -t's root frame: ``thread (ID): NAME`` for our ``NAME (ID)``, else ``thread (ID)``."""
    m = re.match(r"^(?P<name>.*) \((?P<id>[^()\s]+)\)$", thread, re.S)
    text = f"thread ({m.group('id')}): {m.group('name')}" if m else f"thread ({thread})"
    return text.replace(";", ":").replace("\n", " ")


def to_collapsed(profile: Any, path: str | os.PathLike, *, unit: str | None = None,
                 threads: bool = False) -> str:
    """Write folded stacks at ``path``; returns the path as str.

    ``unit``: ``"samples"`` (default for sampled profiles; read back with the same ``rate=``)
    or ``"us"`` (microseconds, the default otherwise; read back with ``rate=1e6``).
    ``threads=True`` adds a root frame ``thread (NAME)`` like ``py-spy record -t``.
    """
    if unit is None:
        unit = "samples" if profile.samples is not None and profile.rate_hz else "us"
    if unit not in ("samples", "us"):
        raise ValueError("unit must be 'samples' or 'us'")
    labels = [frame_label(f.function, f.file, f.line) for f in profile._frames]
    counts: dict[str, int] = {}
    for s, w, c, t in zip(profile._stacks, profile._weights.tolist(), profile._counts.tolist(),
                          profile._threads, strict=True):
        n = int(c) if unit == "samples" else int(round(w * 1e6))
        if n <= 0:
            continue
        parts = [labels[i] for i in s]
        if threads and t is not None:
            parts.insert(0, _thread_frame(str(t)))
        key = ";".join(parts)
        counts[key] = counts.get(key, 0) + n
    out = os.fspath(path)
    with open(out, "w", encoding="utf-8") as fh:
        for key, n in counts.items():
            fh.write(f"{key} {n}\n")
    return out
