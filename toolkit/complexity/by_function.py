"""Per-function scaling: profile a callable at each input size and fit every function's self time.

The function to fix is the one whose cost grows fastest *and* matters at the size you care
about, which at small n is often not the hottest one. So each function's self time per call is
fitted like a whole callable (:func:`~toolkit.complexity.fit_complexity`) and the table is
ranked by ``score = growth exponent x share of the call at the largest size``.

How it measures: for each size the input is built first (outside the profile) and a few timed
calls size the number of calls needed for ``min_profile_s`` seconds of samples; those calls run
under :func:`toolkit.profiles.run.profile` (pyinstrument, in-process, ``interval`` 0.1 ms by
default), ``repeat`` times per size, interleaved across sizes; each function's ``self_s`` is
divided by the number of calls, and a size's value is the median over its repeats (a function
absent from one profile had no samples there: 0 s). The fit sees every repeat, so it knows the
sampling noise. Frames of this harness and of the profiler are left out.
Garbage collection is disabled during the profiled calls (as in :func:`measure_scaling`): a
full collection's pause grows with the whole process's heap and would be charged to whichever
function happened to allocate when it struck, making a linear function look quadratic.
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ..errors import FitError, MeasurementError
from .fit import fit_complexity
from .measure import build_input, call_checked, callable_name, check_sizes

_HERE = os.path.dirname(os.path.abspath(__file__))
_TOOLKIT = os.path.dirname(_HERE)

COLUMNS = ["function", "file", "line", "complexity", "ambiguous", "exponent", "exponent_lo",
           "exponent_hi", "self_s", "share_pct", "share_pct_smallest", "growth_x", "score", "sizes",
           "samples", "note"]


def _repeat_calls(fn: Callable, arg: Any, number: int) -> None:
    for _ in range(number):
        fn(arg)


def _harness_frame(file: Any) -> bool:
    if not isinstance(file, str):
        return False
    return (os.path.abspath(file).startswith(_TOOLKIT + os.sep) or "pyinstrument" in file)


def _profile_once(fn: Callable, arg: Any, number: int, interval: float) -> tuple[pd.DataFrame, float]:
    from ..profiles.run import profile
    gc.collect(1)  # young generations only: a full collection costs ~0.1 s in a big process
    was_enabled = gc.isenabled()
    gc.disable()  # a collection's pause would be charged to whichever function allocated last
    try:
        t0 = time.perf_counter()
        prof = profile(_repeat_calls, fn, arg, number, interval=interval)
        wall = time.perf_counter() - t0
    finally:
        if was_enabled:
            gc.enable()
    funcs = prof.functions()
    keep = ~funcs["file"].map(_harness_frame).astype(bool)
    return funcs.loc[keep, ["function", "file", "line", "self_s"]].copy(), wall


def scaling_by_function(fn: Callable[[Any], Any], sizes: Iterable[int], make_input: Callable[[int], Any],
                        *, repeat: int = 3, min_profile_s: float = 0.05, interval: float = 0.0001,
                        budget_s: float = 10.0,
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
    - ``sizes``: how many sizes it was sampled at; ``samples``: profiler samples behind its
      self time at the sparsest size of the upper half of the range (median profile): its
      relative sampling noise is about 1/sqrt(samples), so a fit on a handful is a guess.

    ``attrs``: ``per_size`` (columns n, function, file, line, self_s, share_pct: medians over the
    repeats; one row per function and size), ``total`` (n, time_s: median profiled seconds per
    call, number), ``n_min``,
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
    if int(repeat) < 1:
        raise MeasurementError(f"repeat must be >= 1, got {repeat!r}")
    repeat = int(repeat)

    stopped = None
    plan: dict[int, tuple[Any, int]] = {}  # n -> (input, calls per profile)
    for n in ns:  # phase 1: build, warm up, time one call, size the profiled loop
        arg = build_input(make_input, n)
        gc_was = gc.isenabled()
        gc.disable()
        try:
            call_checked(fn, arg, n)  # warm-up
            calls, elapsed = 1, 0.0
            while True:  # time of one call, from enough calls to last a few milliseconds
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn(arg)
                elapsed = time.perf_counter() - t0
                if elapsed >= 0.005 or elapsed > budget_s or calls >= max_number:
                    break
                calls *= 4
            one = max(elapsed / calls, 1e-9)
        finally:
            if gc_was:
                gc.enable()
        if one * repeat > budget_s:
            stopped = {"n": n, "reason": f"one call took {one:.3g} s, so {repeat} profiles would exceed "
                                         f"the budget of {budget_s:g} s per size"}
            break
        plan[n] = (arg, max(1, min(max_number, math.ceil(min_profile_s / one),
                                   math.floor(budget_s / repeat / one))))

    # Phase 2: `repeat` profiles per size, interleaved across sizes like measure_scaling's
    # repeats, so a burst of load elsewhere does not bend one size's numbers.
    frames, totals = [], []
    order = list(plan)
    for r in range(repeat):
        for n in (order if r % 2 == 0 else order[::-1]):
            arg, number = plan[n]
            try:
                funcs, wall = _profile_once(fn, arg, number, interval)
            except Exception as exc:  # the user's function failing under the profiler
                if isinstance(exc, MeasurementError):
                    raise
                raise MeasurementError(f"profiling {callable_name(fn)}(make_input({n})) failed: "
                                       f"{type(exc).__name__}: {exc}") from exc
            funcs["self_s"] = funcs["self_s"] / number
            total = funcs["self_s"].sum()
            funcs["share_pct"] = 100.0 * funcs["self_s"] / total if total > 0 else 0.0
            funcs["n"], funcs["repeat"] = n, r
            frames.append(funcs)
            totals.append({"n": n, "repeat": r, "time_s": wall / number, "number": number})
    plan.clear()
    if stopped is not None:
        import warnings

        from .measure import BudgetWarning
        warnings.warn(f"scaling_by_function({callable_name(fn)}) stopped at n={stopped['n']}: {stopped['reason']}",
                      BudgetWarning, stacklevel=2)
    if not frames:
        raise MeasurementError(f"no size could be profiled: {stopped['reason'] if stopped else 'no sizes'}")

    raw = pd.concat(frames, ignore_index=True)
    raw["file"] = raw["file"].astype(object).where(raw["file"].notna(), "")
    raw["line"] = pd.to_numeric(raw["line"], errors="coerce")
    raw = (raw.groupby(["function", "file", "n", "repeat"], as_index=False, dropna=False)
              .agg(line=("line", "min"), self_s=("self_s", "sum"), share_pct=("share_pct", "sum")))
    # A function missing from one profile of a size had no samples there: 0 s, not unknown.
    keys = raw[["function", "file"]].drop_duplicates()
    runs = pd.DataFrame(totals)[["n", "repeat"]]
    full = keys.merge(runs, how="cross").merge(raw, on=["function", "file", "n", "repeat"], how="left")
    full["line"] = full.groupby(["function", "file"])["line"].transform("min")
    full[["self_s", "share_pct"]] = full[["self_s", "share_pct"]].fillna(0.0)
    per = (full.groupby(["function", "file", "n"], as_index=False, dropna=False)
               .agg(line=("line", "min"), self_s=("self_s", "median"), share_pct=("share_pct", "median")))
    n_min, n_max = min(t["n"] for t in totals), max(t["n"] for t in totals)
    calls_at = {t["n"]: t["number"] for t in totals}
    upper_from = math.sqrt(n_min * n_max)  # the upper half of the range sets the exponent
    rows = []
    for (function, file), part in per.groupby(["function", "file"], sort=False):
        if part["share_pct"].max() < min_share_pct:
            continue
        part = part.sort_values("n")
        seen = part[part["self_s"] > 0]
        points = full[(full["function"] == function) & (full["file"] == file) & (full["self_s"] > 0)]
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
               "score": 0.0, "sizes": len(seen), "note": "",
               # samples behind the sparsest size of the upper half: Poisson noise ~ 1/sqrt(k)
               "samples": int(min((r.self_s * calls_at[r.n] / interval
                                   for r in part.itertuples() if r.n >= upper_from), default=0))}
        slope = math.nan
        try:
            fit = fit_complexity(points["n"], points["self_s"])  # medians per size, repeat noise known
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
    table["samples"] = table["samples"].astype("Int64")
    table = table.sort_values(["score", "share_pct"], ascending=False, kind="stable").reset_index(drop=True)
    total_df = pd.DataFrame(totals).groupby("n", as_index=False).agg(time_s=("time_s", "median"),
                                                                      number=("number", "first"))
    try:
        total_fit = fit_complexity(pd.DataFrame(totals)["n"], pd.DataFrame(totals)["time_s"])
        total_cls, total_k = total_fit.best, total_fit.exponent
    except FitError:
        total_cls, total_k = None, math.nan
    table.attrs.update({
        "per_size": {c: per[c].tolist() for c in ["n", "function", "file", "line", "self_s", "share_pct"]},
        "total": {c: total_df[c].tolist() for c in total_df.columns},
        "n_min": int(n_min), "n_max": int(n_max), "function": callable_name(fn), "interval": interval,
        "total_complexity": total_cls, "total_exponent": total_k, "stopped": stopped,
    })
    return table


__all__ = ["scaling_by_function", "COLUMNS"]
