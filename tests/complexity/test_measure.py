"""measure_scaling: timed region, calibration, gc, budget, memory, bad input (fake clock)."""

from __future__ import annotations

import gc
import math

import pytest
from helpers.fake_clock import FakeClock

import toolkit as tk
from toolkit import schema
from toolkit.complexity import BudgetWarning
from toolkit.errors import MeasurementError, ToolkitError


def test_times_per_call_equal_the_cost_and_table_is_tidy():
    # GIVEN a call that costs exactly 2 us * n on a fake clock
    clock = FakeClock()
    fn = clock.function(lambda n: 2e-6 * n)
    # WHEN measured over four sizes, 3 repeats
    df = tk.measure_scaling(fn, [1000, 10, 100, 10000], lambda n: n, repeat=3, timer=clock,
                            min_time=0.01)
    # THEN one row per (size, repeat), sizes ascending, time of ONE call, scaling schema
    schema.validate(df, "scaling")
    assert df["n"].tolist() == [10] * 3 + [100] * 3 + [1000] * 3 + [10000] * 3
    assert df["repeat"].tolist() == [0, 1, 2] * 4
    for n, t in zip(df["n"], df["time_s"], strict=True):
        assert t == pytest.approx(2e-6 * n, rel=1e-9)
    # AND enough calls per measurement to last min_time (20 us calls -> >= 500 calls)
    number = df.groupby("n")["number"].first().to_dict()
    assert number[10] >= 500 and number[10] * 2e-5 >= 0.01
    assert number[10000] == 1  # one 20 ms call already beats the 10 ms target
    assert df.attrs["stopped"] is None


def test_input_is_built_outside_the_timed_region_and_warm_up_is_untimed():
    clock = FakeClock()
    calls = []

    def make_input(n):
        clock.advance(5.0)  # an expensive input builder must not show in the times
        return n

    def fn(n):
        calls.append(n)
        clock.advance(1.0 if len(calls) == 1 else 1e-3)  # first call cold (imports, caches)

    df = tk.measure_scaling(fn, [1, 10, 100, 1000], make_input, repeat=2, timer=clock,
                            min_time=1e-3, budget_s=100)
    assert df["time_s"].tolist() == pytest.approx([1e-3] * 8)


def test_gc_is_disabled_while_timing_and_restored_after():
    seen = []
    clock = FakeClock()

    def fn(n):
        seen.append(gc.isenabled())
        clock.advance(1e-3)

    assert gc.isenabled()
    tk.measure_scaling(fn, [1, 10, 100, 1000], lambda n: n, repeat=2, timer=clock, min_time=1e-3)
    # every call but each size's warm-up runs with gc disabled
    assert seen.count(True) == 4 and seen.count(False) > 4
    assert gc.isenabled()


def test_budget_stops_the_sweep_cleanly_and_says_so():
    # GIVEN a quadratic call: 1 ms at n=10 .. 10 s at n=1000 (fake seconds)
    clock = FakeClock()
    fn = clock.function(lambda n: 1e-5 * n * n)
    # WHEN the budget per size is 1 s with 5 repeats
    with pytest.warns(BudgetWarning, match=r"stopped at n=300"):
        df = tk.measure_scaling(fn, [10, 30, 100, 300, 1000], lambda n: n, repeat=5, timer=clock,
                                budget_s=1.0, min_time=1e-3)
    # THEN the sizes measured are kept whole, the stop is recorded with its reason
    assert sorted(set(df["n"])) == [10, 30, 100]
    assert (df.groupby("n").size() == 5).all()
    stop = df.attrs["stopped"]
    assert stop["n"] == 300 and "budget of 1 s" in stop["reason"] and "0.9 s" in stop["reason"]
    # AND a fit on it carries the stop as a visible note
    with pytest.raises(tk.FitError, match="only 3 distinct sizes"):
        tk.fit_complexity(df)


def test_budget_running_out_during_repeats_drops_the_partial_size():
    # GIVEN calls of 0.24 s at n=100 whose input takes 0.3 s to build: the estimate (4 x 0.24 s)
    # fits the 1 s budget, but input + warm-up + 2 repeats already use it up
    clock = FakeClock()
    fn = clock.function(lambda n: 0.1 if n < 100 else 0.24)

    def make_input(n):
        clock.advance(0.3 if n == 100 else 0.0)
        return n

    with pytest.warns(BudgetWarning):
        df = tk.measure_scaling(fn, [1, 10, 100], make_input, repeat=4, timer=clock,
                                budget_s=1.0, min_time=1e-3)
    assert sorted(set(df["n"])) == [1, 10]
    assert df.attrs["stopped"]["n"] == 100
    assert "after 2 of 4 repeats" in df.attrs["stopped"]["reason"]


def test_fixed_number_and_fresh_input_for_mutating_functions():
    built = []

    def make_input(n):
        built.append(n)
        return list(range(n))

    clock = FakeClock()

    def fn(xs):  # mutates its input: must get a fresh one every call
        assert len(xs) > 0
        xs.clear()
        clock.advance(1e-3)

    df = tk.measure_scaling(fn, [5, 50], make_input, repeat=2, number=3, fresh_input=True,
                            timer=clock)
    assert df["number"].tolist() == [3] * 4
    assert built.count(5) == 1 + 2 * 3  # warm-up input + 3 calls x 2 repeats


def test_peak_memory_is_measured_in_a_separate_call():
    df = tk.measure_scaling(lambda n: [0] * n, [1000, 10000, 100000], lambda n: n,
                            repeat=2, memory=True, min_time=1e-4)
    peak = df.groupby("n")["peak_bytes"].first()
    # a list of n pointers is at least 8*n bytes
    for n, b in peak.items():
        assert 8 * n <= b < 8 * n + 4096
    assert str(df["peak_bytes"].dtype) == "Int64"


@pytest.mark.parametrize("sizes, match", [
    ([0, 10, 100, 1000], "not positive"),
    ([-5, 10, 100], "not positive"),
    ([1.5, 10, 100], "not a whole number"),
    ([10, 10, 100], "repeat"),
    ([], "empty"),
    (["a", 10], "not a number"),
    ([float("nan"), 10], "not a whole number"),
])
def test_bad_sizes_are_refused(sizes, match):
    with pytest.raises(MeasurementError, match=match):
        tk.measure_scaling(len, sizes, lambda n: [0] * n)


def test_failing_input_builder_or_function_names_the_size():
    def make_input(n):
        if n == 100:
            raise ValueError("no fixture for 100")
        return n

    with pytest.raises(MeasurementError, match=r"make_input\(100\) raised ValueError: no fixture") as err:
        tk.measure_scaling(lambda n: None, [10, 100, 1000], make_input)
    assert isinstance(err.value, ToolkitError) and isinstance(err.value.__cause__, ValueError)

    def fn(n):
        return 1 / (n - 10)

    with pytest.raises(MeasurementError, match=r"raised ZeroDivisionError"):
        tk.measure_scaling(fn, [1, 10, 100], lambda n: n)


def test_bad_options_are_refused():
    with pytest.raises(MeasurementError, match="repeat"):
        tk.measure_scaling(len, [1, 10], lambda n: [0] * n, repeat=0)
    with pytest.raises(MeasurementError, match="positive"):
        tk.measure_scaling(len, [1, 10], lambda n: [0] * n, budget_s=0)
    with pytest.raises(MeasurementError, match="callables"):
        tk.measure_scaling(len, [1, 10], [1, 2])


def test_real_measurement_of_sum_is_linear_in_n():
    # A real clock, generous margins: sum over 100..100,000 ints grows about 1000x.
    df = tk.measure_scaling(sum, [100, 1000, 10000, 100000], lambda n: list(range(n)), repeat=3,
                            min_time=0.002)
    med = df.groupby("n")["time_s"].median()
    ratio = med[100000] / med[100]
    assert 100 < ratio < 5000, ratio
    assert math.isfinite(df["time_s"].sum()) and (df["time_s"] > 0).all()
