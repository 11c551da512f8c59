"""Per-function scaling: profile a callable at each input size and fit every function's self time.

The function to fix is the one whose cost grows fastest *and* matters at the size you care
about, which at small n is often not the hottest one. So each function's self time per call is
fitted like a whole callable (:func:`~toolkit.complexity.fit_complexity`) and the table is
ranked by ``score = growth exponent x share of the call at the largest size``.

How it measures: for each size the input is built first (outside the profile); one timed call
sizes the number of calls needed for ``min_profile_s`` seconds of samples; those calls run under
:func:`toolkit.profiles.run.profile` (pyinstrument, in-process); each function's ``self_s`` is
divided by the number of calls. Frames of this harness and of the profiler are left out.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ..errors import FitError, MeasurementError
from .fit import GROWTH, fit_complexity
from .measure import _build, _call, _name, check_sizes

_HERE = os.path.dirname(os.path.abspath(__file__))
_TOOLKIT = os.path.dirname(_HERE)

COLUMNS = ["function", "file", "line", "complexity", "ambiguous", "exponent", "exponent_lo",
           "exponent_hi", "self_s", "share_pct", "share_pct_smallest", "growth_x", "score", "sizes",
           "note"]


def _repeat_calls(fn: Callable, arg: Any, number: int) -> None:
    for _ in range(number):
        fn(arg)


def _harness_frame(file: Any) -> bool:
    if not isinstance(file, str):
        return False
    return (os.path.abspath(file).startswith(_TOOLKIT + os.sep) or "pyinstrument" in file)


def _profile_once(fn: Callable, arg: Any, number: int, interval: float) -> tuple[pd.DataFrame, float]:
    from ..profiles.run import profile
    t0 = time.perf_counter()
    prof = profile(_repeat_calls, fn, arg, number, interval=interval)
    wall = time.perf_counter() - t0
    funcs = prof.functions()
    keep = ~funcs["file"].map(_harness_frame).astype(bool)
    return funcs.loc[keep, ["function", "file", "line", "self_s"]].copy(), wall


def scaling_by_function(fn: Callable[[Any], Any], sizes: Iterable[int], make_input: Callable[[int], Any],
                        *, min_profile_s: float = 0.2, interval: float = 0.0005, budget_s: float = 10.0,
                        min_share_pct: float = 2.0, max_number: int = 100_000) -> pd.DataFrame:
    """Profile ``fn(make_input(n))`` at each size and rank functions by how fast their cost grows.

    Returns one row per function (``function``, ``file``, ``line``) that reaches
    ``min_share_pct`` of the call's self time at some size, ranked by ``score`` (descending):

    - ``complexity``: the fitted class of its self time per call (None when it was seen at fewer
      than 4 sizes or over less than a decade; ``note`` says so), ``ambiguous`` the classes it
      cannot be told from (comma-separated), ``exponent`` [``exponent_lo``, ``exponent_hi``] the
      free power-law exponent;
    - ``self_s``: self seconds per call at the largest size; ``share_pct``: its percent of all
      self time there; ``share_pct_smallest`` the same at the smallest size;
    - ``growth_x``: self time at the largest size / at the smallest one;
    - ``score``: growth exponent (the best class's local log-log slope, >= 0) x share (0-1) at
      the largest size: the function to fix first is on top;
    - ``sizes``: how many sizes it was sampled at.

    ``attrs``: ``per_size`` (columns n, function, file, line, self_s, share_pct; one row per
    function and size), ``total`` (n, time_s: profiled seconds per call, number), ``n_min``,
    ``n_max``, ``function``, ``interval``, ``total_complexity`` and ``total_exponent`` (the
    whole call's fit), ``stopped`` (like :func:`measure_scaling`).

    Example::

        >>> import toolkit as tk
        >>> def build(xs):
        ...     seen = []
        ...     return [x for x in xs if x not in seen and not seen.append(x)]
        >>> t = tk.scaling_by_function(build, [50, 100, 200, 400, 800], lambda n: list(range(n)))  # doctest: +SKIP
        >>> t.loc[0, ["function", "complexity"]].tolist()                                          # doctest: +SKIP
        ['build', 'O(n^2)']
    """
    ns = check_sizes(sizes)
    if not callable(fn) or not callable(make_input):
        raise MeasurementError("fn and make_input must be callables: scaling_by_function(fn, sizes, make_input)")
    if not (min_profile_s > 0 and interval > 0 and budget_s > 0):
        raise MeasurementError("min_profile_s, interval and budget_s must be positive seconds")

    frames, totals = [], []
    stopped = None
    for n in ns:
        arg = _build(make_input, n)
        t0 = time.perf_counter()
        _call(fn, arg, n)  # warm-up, and the time of one call
        one = max(time.perf_counter() - t0, 1e-9)
        number = max(1, min(max_number, math.ceil(min_profile_s / one)))
        if one * number > budget_s:
            stopped = {"n": n, "reason": f"one call took {one:.3g} s; profiling it would exceed the "
                                         f"budget of {budget_s:g} s per size"}
            break
        try:
            funcs, wall = _profile_once(fn, arg, number, interval)
        except Exception as exc:  # the user's function failing under the profiler
            if isinstance(exc, MeasurementError):
                raise
            raise MeasurementError(f"profiling {_name(fn)}(make_input({n})) failed: "
                                   f"{type(exc).__name__}: {exc}") from exc
        funcs["self_s"] = funcs["self_s"] / number
        total = funcs["self_s"].sum()
        funcs["share_pct"] = 100.0 * funcs["self_s"] / total if total > 0 else 0.0
        funcs["n"] = n
        frames.append(funcs)
        totals.append({"n": n, "time_s": wall / number, "number": number})
    if stopped is not None:
        import warnings

        from .measure import BudgetWarning
        warnings.warn(f"scaling_by_function({_name(fn)}) stopped at n={stopped['n']}: {stopped['reason']}",
                      BudgetWarning, stacklevel=2)
    if not frames:
        raise MeasurementError(f"no size could be profiled: {stopped['reason'] if stopped else 'no sizes'}")

    per = pd.concat(frames, ignore_index=True)
    per["file"] = per["file"].astype(object).where(per["file"].notna(), "")
    per["line"] = pd.to_numeric(per["line"], errors="coerce")
    per = (per.groupby(["function", "file", "n"], as_index=False, dropna=False)
              .agg(line=("line", "min"), self_s=("self_s", "sum"), share_pct=("share_pct", "sum")))
    n_min, n_max = min(t["n"] for t in totals), max(t["n"] for t in totals)
    rows = []
    for (function, file), part in per.groupby(["function", "file"], sort=False):
        if part["share_pct"].max() < min_share_pct:
            continue
        part = part.sort_values("n")
        seen = part[part["self_s"] > 0]
        at_max = part[part["n"] == n_max]
        at_min = part[part["n"] == n_min]
        row = {"function": function, "file": file or None,
               "line": int(part["line"].min()) if part["line"].notna().any() else None,
               "complexity": None, "ambiguous": "", "exponent": math.nan, "exponent_lo": math.nan,
               "exponent_hi": math.nan,
               "self_s": float(at_max["self_s"].sum()), "share_pct": float(at_max["share_pct"].sum()),
               "share_pct_smallest": float(at_min["share_pct"].sum()),
               "growth_x": (float(at_max["self_s"].sum() / at_min["self_s"].sum())
                            if at_min["self_s"].sum() > 0 else math.inf),
               "score": 0.0, "sizes": len(seen), "note": ""}
        slope = math.nan
        try:
            fit = fit_complexity(seen["n"], seen["self_s"])
        except FitError as exc:
            row["note"] = f"not fitted: {exc}"
        else:
            row.update(complexity=fit.best, ambiguous=", ".join(fit.ambiguous), exponent=fit.exponent,
                       exponent_lo=fit.exponent_ci[0], exponent_hi=fit.exponent_ci[1],
                       note="; ".join(fit.notes))
            slope = float(fit.table.loc[fit.table["best"], "implied_exponent"].iloc[0])
        row["score"] = max(slope, 0.0) * row["share_pct"] / 100 if math.isfinite(slope) else 0.0
        rows.append(row)

    table = pd.DataFrame(rows, columns=COLUMNS)
    table["line"] = table["line"].astype("Int64")
    table["sizes"] = table["sizes"].astype("Int64")
    table = table.sort_values(["score", "share_pct"], ascending=False, kind="stable").reset_index(drop=True)
    total_df = pd.DataFrame(totals)
    try:
        total_fit = fit_complexity(total_df["n"], total_df["time_s"])
        total_cls, total_k = total_fit.best, total_fit.exponent
    except FitError:
        total_cls, total_k = None, math.nan
    table.attrs.update({
        "per_size": {c: per[c].tolist() for c in ["n", "function", "file", "line", "self_s", "share_pct"]},
        "total": {c: total_df[c].tolist() for c in total_df.columns},
        "n_min": int(n_min), "n_max": int(n_max), "function": _name(fn), "interval": interval,
        "total_complexity": total_cls, "total_exponent": total_k, "stopped": stopped,
    })
    return table


def growth_rank(cls: str | None) -> int:
    """0 for O(1) .. 6 for O(2^n); -1 for None."""
    return GROWTH.get(cls, -1) if isinstance(cls, str) else -1


__all__ = ["scaling_by_function", "growth_rank", "COLUMNS"]
