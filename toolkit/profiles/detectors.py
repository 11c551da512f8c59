"""Checklist rules on profiles (practice "profiling"): ``findings(profile)``.

- ``profiles.hot_function``: one function's own (self) time is at least ``min_share`` (default
  30%) of the profile's busy time. Busy time leaves out functions that wait rather than work
  (``Condition.wait``, ``Event.wait``, ``sleep``, ``select``, lock ``acquire``, ...), so an
  idle background thread neither hides nor fakes a hot spot. Sampled profiles also need
  ``min_samples`` (default 20) samples in the function, so noise is not reported.

One finding per function (its name and source file's base name): the same program profiled by
several profilers, or in several formats, is one finding whose ``also_in`` names the other
profiles. The saving is the function's own time, as a share of an hour of the profiled
program's time (an upper bound: what the faster code still costs is not known).

Example::

    >>> from toolkit.profiles import detectors
    >>> detectors.findings(tk.read_profile("sample_traces/profiles/cprofile/demo_slow.prof"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .. import rules as R
from ..ranking import to_frame
from .files import short_file
from .model import Profile

HOT_FUNCTION = R.rule(
    "profiles.hot_function", "profiling",
    "one function's own time is a large share of the profile's busy time: the first place to optimise",
    severity="high",
    fix="Look at the hottest lines of the function (Profile.lines()): an O(n) lookup inside a loop "
        "(list membership, repeated scans) usually wants a set/dict; repeated work wants caching or "
        "hoisting out of the loop. Re-profile after the change and compare with tk.diff_profiles.",
    thresholds={"min_share_pct": 30.0, "min_samples": 20})

WAITING = re.compile(
    r"(^|[.\s])(wait|_wait|sleep|select|poll|epoll_wait|kevent|acquire|join|_wait_for_tstate_lock|accept|"
    r"recv|recv_into|clock_nanosleep|nanosleep|pthread_cond_wait|pthread_cond_timedwait|futex|"
    r"lock_PyThread_acquire_lock|PyThread_acquire_lock_timed)$|<method 'acquire' of|<built-in method time\.sleep>|"
    r"<method 'poll' of|<built-in method select")


def is_waiting(function: str) -> bool:
    """True for functions that block (waits, sleeps, lock acquires, select/poll)."""
    return bool(WAITING.search(function))


def _hot_function(prof: Profile, min_share_pct: float, min_samples: int) -> list[dict[str, Any]]:
    funcs = prof.functions()
    if funcs.empty:
        return []
    waiting = funcs["function"].map(is_waiting)
    busy = float(funcs.loc[~waiting, "self_s"].sum())
    if busy <= 0:
        return []
    rows = []
    for _, f in funcs[~waiting].iterrows():
        share = 100.0 * f["self_s"] / busy
        if share < min_share_pct:
            break  # sorted by self_s
        samples = f.get("samples")
        if prof.samples is not None and "samples" in funcs and pd.notna(samples) and samples < min_samples:
            continue
        # the file as the profiler wrote it is a path of the machine that ran the program
        file = short_file(f["file"])
        where = f"{f['function']} ({file}:{f['line']})" if pd.notna(f["line"]) else f"{f['function']} ({file})"
        name = os.path.basename(prof.path) if prof.path else "the profile"
        evidence = (f"{where} spends {f['self_s']:.3f} s in its own code: {share:.0f}% of {busy:.3f} s busy time "
                    f"({f['self_pct']:.0f}% of {prof.duration_s:.3f} s in all) in {name}")
        if prof.samples is not None and pd.notna(samples):
            evidence += f"; {int(samples)} samples"
        lines = prof.lines()
        hottest = lines[(lines["function"] == f["function"]) & (lines["file"] == f["file"])].head(1)
        source_line = f["line"]
        if not hottest.empty:
            source_line = hottest["line"].iloc[0]
            evidence += (f"; hottest line {int(source_line)} ({hottest['self_s'].iloc[0]:.3f} s, "
                         f"{100.0 * hottest['self_s'].iloc[0] / f['self_s']:.0f}% of the function)")
        if prof.format == "pstats" and "calls" in f and pd.notna(f["calls"]):
            evidence += f"; {int(f['calls'])} calls"
        base = os.path.basename(str(f["file"])) if pd.notna(f["file"]) else "?"
        rows.append(R.finding(HOT_FUNCTION, f"{f['function']} holds {share:.0f}% of the busy time", evidence,
                              key=f"{f['function']} ({base})", file=prof.path, line=None,
                              occurrences=None if pd.isna(samples) else int(samples),
                              saving_s=float(f["self_s"]), span_s=prof.duration_s,
                              saving=f"up to {share:.0f}% of the busy time: "
                                     f"{R.duration(R.per_hour(float(f['self_s']), prof.duration_s))} per "
                                     f"hour of the program's time ({f['self_s']:.3f} s of {prof.duration_s:.3f} s)",
                              function=f["function"], source_file=f["file"],
                              source_line=None if pd.isna(source_line) else int(source_line),
                              share_pct=share, self_s=float(f["self_s"])))
    return rows


def findings(evidence: Profile | Iterable[Profile], *, min_share_pct: float | None = None,
             min_samples: int | None = None, per_rule: int | None = R.PER_RULE, dedupe: bool = True,
             **_: Any) -> pd.DataFrame:
    """Run every profile rule on one Profile (or several) -> the ranked findings table (as
    :func:`toolkit.findings` builds it: one row per function across the profiles, ranked by
    saving, ``per_rule`` rows per rule then an "and N more" row; None keeps every row).

    Extra columns: ``function``, ``source_file``, ``source_line`` (the hottest line where the
    producer records lines, else the function's line), ``share_pct``, ``self_s``; ``file`` is
    the profile's path, ``also_in`` the other profiles that found the same function.
    """
    profiles = [evidence] if isinstance(evidence, Profile) else list(evidence)
    t = HOT_FUNCTION.thresholds
    share = t["min_share_pct"] if min_share_pct is None else min_share_pct
    samples = t["min_samples"] if min_samples is None else min_samples
    rows: list[dict[str, Any]] = []
    for prof in profiles:
        if isinstance(prof, Profile):
            rows += _hot_function(prof, share, samples)
    return to_frame(rows, per_rule=per_rule, dedupe=dedupe)
