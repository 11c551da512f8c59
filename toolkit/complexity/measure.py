"""Time a callable over input sizes: the ``scaling`` table.

What makes a timing trustworthy here (the same care :mod:`timeit` and pyperf take):

- the input is built by ``make_input(n)`` *before* the timed region, never inside it;
- one untimed warm-up call per size (caches, lazy imports, specialisation of the bytecode);
- the repeats are interleaved across sizes (all sizes once, then again in reverse order, ...),
  so a burst of load from another process spoils one repeat of several sizes rather than every
  repeat of one size: on a shared machine this matters more than anything else here;
- enough calls per measurement (``number``, calibrated per size like ``timeit.Timer.autorange``)
  that a measurement lasts at least ``min_time`` seconds, far above the timer's resolution; the
  table reports the time of *one* call;
- garbage collection is disabled inside a measurement (as timeit does) and run between them (a
  full collection once per sweep, the young generations before every measurement: a full one
  can take 0.1-0.3 s in a process with big libraries loaded), so one unlucky collection does
  not land in one repeat;
- a time budget per size: when a size would exceed it, the sweep stops cleanly, the sizes done
  are kept, and the stop is recorded in ``df.attrs["stopped"]`` and announced with a warning;
- peak memory (``memory=True``) comes from a separate, untimed call under :mod:`tracemalloc`,
  because tracing slows every allocation down.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import MeasurementError


class BudgetWarning(UserWarning):
    """A scaling sweep stopped early because a size exceeded its time budget."""


def check_sizes(sizes: Iterable[Any], *, error: type[Exception] = MeasurementError) -> list[int]:
    """Validate input sizes: positive integers, no duplicates; returned sorted ascending."""
    try:
        raw = list(sizes)
    except TypeError:
        raise error(f"sizes must be an iterable of positive integers, got {type(sizes).__name__}") from None
    if not raw:
        raise error("sizes is empty; give at least 4 positive integer sizes spanning a decade")
    out = []
    for s in raw:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer, float, np.floating)):
            raise error(f"size {s!r} is not a number; sizes must be positive integers")
        if isinstance(s, (float, np.floating)) and (not math.isfinite(s) or s != int(s)):
            raise error(f"size {s!r} is not a whole number; sizes must be positive integers")
        if s <= 0:
            raise error(f"size {s!r} is not positive; sizes must be positive integers")
        out.append(int(s))
    dupes = sorted({s for s in out if out.count(s) > 1})
    if dupes:
        raise error(f"sizes repeat {dupes}; give each size once and use repeat= for repetitions")
    return sorted(out)


def callable_name(fn: Callable) -> str:
    """How a function is named in messages: its qualified name where it has one."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def where(fn: Callable) -> tuple[str | None, int | None]:
    """(source file, first line) of a Python function, or (None, None) for builtins."""
    import inspect
    target = inspect.unwrap(fn) if callable(fn) else fn
    try:
        return inspect.getsourcefile(target), target.__code__.co_firstlineno
    except (TypeError, AttributeError, OSError):
        return None, None


def build_input(make_input: Callable[[int], Any], n: int) -> Any:
    """``make_input(n)``; a failure is a MeasurementError naming the size."""
    try:
        return make_input(n)
    except Exception as exc:  # the user's code: report which size and what it raised
        raise MeasurementError(
            f"make_input({n}) raised {type(exc).__name__}: {exc}; no measurement was made for "
            f"n={n} (sizes before it are not returned either, so nothing is fitted on a partial sweep)"
        ) from exc


def call_checked(fn: Callable, arg: Any, n: int) -> None:
    """``fn(arg)``; a failure is a MeasurementError naming the function and the size."""
    try:
        fn(arg)
    except Exception as exc:
        raise MeasurementError(f"{callable_name(fn)}(make_input({n})) raised {type(exc).__name__}: {exc}") from exc


def _timed(fn: Callable, args: list[Any], timer: Callable[[], float]) -> float:
    """Seconds for calling ``fn`` once on every element of ``args``, gc disabled.

    Only the young generations are collected first (cheap, and that is where the garbage of the
    previous measurement is); the full collection runs once per size, before its warm-up.
    """
    gc.collect(1)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = timer()
        for a in args:
            fn(a)
        t1 = timer()
    finally:
        if was_enabled:
            gc.enable()
    return t1 - t0


def _args(make_input: Callable[[int], Any], n: int, arg: Any, k: int, fresh: bool) -> list[Any]:
    """The arguments of one measurement of ``k`` calls: the same input, or ``k`` fresh ones."""
    return [build_input(make_input, n) for _ in range(k)] if fresh else [arg] * k


def measure_scaling(fn: Callable[[Any], Any], sizes: Iterable[int], make_input: Callable[[int], Any],
                    repeat: int = 5, *, min_time: float = 0.005, budget_s: float = 2.0,
                    number: int | None = None, max_number: int = 1_000_000, fresh_input: bool = False,
                    memory: bool = False, timer: Callable[[], float] = time.perf_counter,
                    warn: bool = True) -> pd.DataFrame:
    """Time ``fn(make_input(n))`` for each ``n`` in ``sizes``.

    Returns the ``scaling`` table, one row per (size, repetition):

    - ``n`` (int): the input size;
    - ``repeat`` (int): 0-based repetition;
    - ``time_s`` (float): seconds for ONE call (a measurement of ``number`` calls divided by it);
    - ``number`` (int): calls per measurement, calibrated so a measurement lasts >= ``min_time``;
    - ``peak_bytes`` (int, only with ``memory=True``): peak traced allocation of one separate call
      of that size (the same value on every repetition of the size).

    ``df.attrs``: ``function`` (name), ``file`` and ``line`` (where it is defined, when known),
    ``sizes`` (requested), ``min_time``, ``budget_s`` and
    ``stopped``: ``None`` when every size was measured, else ``{"n": size, "reason": text}`` for
    the first size that was not (a :class:`BudgetWarning` says the same).

    Options: ``number`` fixes the calls per measurement (no calibration); ``fresh_input=True``
    builds a new input for every call (still outside the timed region) for functions that
    mutate their input; ``budget_s`` bounds the seconds spent on one size (building its input,
    warm-up, calibration and repeats); ``timer`` is any monotonic clock in seconds:
    ``time.perf_counter`` (default, wall time: what a caller waits, I/O included) or
    ``time.process_time`` (this process's CPU time: immune to other processes taking the CPU on
    a shared machine, right for CPU-bound code, blind to I/O waits), or a fake one in tests.

    A failing ``make_input`` or ``fn`` raises :class:`~toolkit.errors.MeasurementError` naming the
    size; bad sizes (non-positive, fractional, repeated) too.

    Example::

        >>> import toolkit as tk
        >>> df = tk.measure_scaling(sorted, [10, 100, 1000, 10000], lambda n: list(range(n, 0, -1)),
        ...                         repeat=3, min_time=0.001)
        >>> df.columns.tolist()[:3], len(df)
        (['n', 'repeat', 'time_s'], 12)
    """
    ns = check_sizes(sizes)
    if not callable(fn) or not callable(make_input):
        raise MeasurementError("fn and make_input must be callables: measure_scaling(fn, sizes, make_input)")
    if int(repeat) < 1:
        raise MeasurementError(f"repeat must be >= 1, got {repeat!r}")
    repeat = int(repeat)
    if not (budget_s > 0) or not (min_time > 0):
        raise MeasurementError("budget_s and min_time must be positive numbers of seconds")
    if number is not None and int(number) < 1:
        raise MeasurementError(f"number must be >= 1, got {number!r}")

    stopped: dict[str, Any] | None = None
    spent: dict[int, float] = {}  # seconds spent on each size (its budget)
    inputs: dict[int, Any] = {}
    loops_of: dict[int, int] = {}
    first_call: dict[int, float] = {}

    gc.collect()  # once: a full collection can take 0.1-0.3 s in a process with big libraries loaded
    # Phase 1, ascending: build the input, warm up, calibrate; stop at the first size whose
    # single call already rules out `repeat` measurements within the budget.
    for n in ns:
        t_start = timer()
        arg = build_input(make_input, n)
        gc.collect(1)
        t0 = timer()
        call_checked(fn, arg, n)  # warm-up, untimed for the table; guides calibration and the budget
        one = max(timer() - t0, 0.0)
        if one * repeat > budget_s:
            stopped = {"n": n, "reason": f"one call took {one:.3g} s, so {repeat} repeats would exceed "
                                         f"the budget of {budget_s:g} s per size"}
            break
        if number is not None:
            loops = int(number)
        else:  # like timeit.Timer.autorange, but jumping towards the target from each estimate
            loops, elapsed = 1, one
            while elapsed < min_time and loops < max_number and timer() - t_start <= budget_s:
                per_call = elapsed / loops
                target = math.ceil(1.2 * min_time / per_call) if per_call > 0 else loops * 10
                loops = min(max(target, loops * 2), loops * 100, max_number)
                elapsed = _timed(fn, _args(make_input, n, arg, loops, fresh_input), timer)
        inputs[n], loops_of[n], first_call[n] = arg, loops, one
        spent[n] = timer() - t_start

    # Phase 2: the repeats, interleaved across sizes (ascending, then descending, ...), so a burst
    # of load from other processes lands on different sizes in different repeats instead of on
    # every repeat of one size; per-size medians then shrug it off.
    active = list(inputs)
    times: dict[int, list[float]] = {n: [] for n in active}
    for r in range(repeat):
        for n in (active if r % 2 == 0 else active[::-1]):
            if n not in active:
                continue
            if spent[n] > budget_s:
                stopped = {"n": n, "reason": f"the budget of {budget_s:g} s per size ran out after "
                                             f"{r} of {repeat} repeats (calls of {first_call[n]:.3g} s)"}
                active = [m for m in active if m < n]  # keep the sweep complete below n
                continue
            t_start = timer()
            total = _timed(fn, _args(make_input, n, inputs[n], loops_of[n], fresh_input), timer)
            if total < 0:
                raise MeasurementError(f"the timer went backwards while measuring n={n}; use a "
                                       "monotonic clock such as time.perf_counter")
            times[n].append(total / loops_of[n])
            spent[n] += timer() - t_start

    rows: list[dict[str, Any]] = []
    for n in active:
        peak = _peak_bytes(fn, inputs[n], n) if memory else None
        for r, t in enumerate(times[n]):
            row = {"n": n, "repeat": r, "time_s": t, "number": loops_of[n]}
            if memory:
                row["peak_bytes"] = peak
            rows.append(row)
    inputs.clear()

    if rows:
        df = schema.coerce(pd.DataFrame(rows), "scaling")
        df["number"] = df["number"].astype("Int64")
        if memory:
            df["peak_bytes"] = df["peak_bytes"].astype("Int64")
    else:
        df = schema.empty("scaling").assign(number=pd.Series([], dtype="Int64"))
        if memory:
            df["peak_bytes"] = pd.Series([], dtype="Int64")
    file, line = where(fn)
    df.attrs.update({"function": callable_name(fn), "file": file, "line": line, "sizes": ns, "min_time": min_time,
                     "budget_s": budget_s, "stopped": stopped})
    if stopped is not None and warn:
        done = sorted(set(df["n"].tolist()))
        warnings.warn(f"measure_scaling({callable_name(fn)}) stopped at n={stopped['n']}: {stopped['reason']}; "
                      f"measured sizes: {done or 'none'} (see df.attrs['stopped'])", BudgetWarning,
                      stacklevel=2)
    return df


def _peak_bytes(fn: Callable, arg: Any, n: int) -> int:
    """Peak bytes allocated during one call, traced by tracemalloc (outside any timing)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        gc.collect(1)
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        call_checked(fn, arg, n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    return max(int(peak - base), 0)
