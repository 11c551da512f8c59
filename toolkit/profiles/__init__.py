"""Profiles: py-spy, pyinstrument, cProfile, speedscope and Chrome traces as one Profile.

    >>> import toolkit as tk
    >>> prof = tk.read_profile("sample_traces/profiles/py-spy/demo_slow.speedscope.json")  # doctest: +SKIP
    >>> prof.functions().head()                                                             # doctest: +SKIP

``read_profile`` detects the format (suffix, then content) through :mod:`toolkit.formats`;
readers live in one module per producer and register there.
"""

from __future__ import annotations

import os
from typing import Any

from .model import Frame, Profile, ProfileBuilder, Sample, diff_profiles, is_library, merge_profiles

__all__ = ["Frame", "Profile", "ProfileBuilder", "Sample", "diff_profiles", "is_library",
           "merge_profiles", "read_profile"]


def read_profile(path: str | os.PathLike | Any, format: str | None = None, **opts: Any) -> Profile:
    """Read any supported profile into a :class:`Profile` (format auto-detected).

    Formats: ``pyspy-raw`` (py-spy raw / any FlameGraph folded file; ``rate=`` Hz, default 100),
    ``speedscope`` (sampled and evented, any producer), ``chrometrace`` (py-spy's array and the
    ``traceEvents`` object), ``pyinstrument-json``, ``pyinstrument-session``, ``pstats``.
    Options are passed to the reader (``errors="raise"``, ``rate=``...).
    """
    from .. import formats
    return formats.read(path, kind="profile", format=format, **opts)
