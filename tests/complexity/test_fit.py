"""fit_complexity on synthetic times from known formulas (seeded noise): exact, repeatable checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit.complexity.fit import CLASSES
from toolkit.errors import FitError

GROWTH = {
    "O(1)": lambda n: 0.0 * n,
    "O(log n)": np.log,
    "O(n)": lambda n: n,
    "O(n log n)": lambda n: n * np.log(n),
    "O(n^2)": lambda n: n ** 2.0,
    "O(n^3)": lambda n: n ** 3.0,
}


def synthetic(cls: str, sizes, *, repeat=5, noise=0.05, seed=0, overhead=1e-6, growth=20.0):
    """Times a + b*g(n) with the growth term ``growth`` x the overhead at the largest size."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.asarray(sizes, dtype=float), repeat)
    g = GROWTH[cls]
    top = g(np.array([float(max(sizes))]))[0]
    term = g(n) / top * growth * overhead if cls != "O(1)" else 0.0
    return n, (overhead + term) * np.exp(rng.normal(0.0, noise, len(n)))


SIZES = np.geomspace(10, 10_000, 10).round().astype(int)


@pytest.mark.parametrize("cls", list(GROWTH))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_class_is_recovered_from_noisy_synthetic_times(cls, seed):
    # GIVEN times from a known class over three decades with 5% multiplicative noise
    n, t = synthetic(cls, SIZES, seed=seed)
    # WHEN fitted
    fit = tk.fit_complexity(n, t)
    # THEN that class wins without doubt
    assert fit.best == cls, fit
    assert fit.ambiguous == (), fit


def test_exponential_recursion_with_a_non_binary_base():
    # fib's call count grows as 1.618^n: the exponential candidate fits its base
    n = np.arange(2, 25, 2)
    rng = np.random.default_rng(3)
    t = (2e-7 + 1e-8 * 1.618 ** n) * np.exp(rng.normal(0, 0.05, len(n)))
    fit = tk.fit_complexity(n, t)
    assert fit.best == "O(2^n)" and not fit.ambiguous
    base = fit.table.set_index("class").loc["O(2^n)", "base"]
    assert base == pytest.approx(1.618, abs=0.05)
    assert fit.predict(30) == pytest.approx(2e-7 + 1e-8 * 1.618 ** 30, rel=0.3)


def test_exponential_is_no_candidate_beyond_n_64():
    n, t = synthetic("O(n)", SIZES)
    assert "O(2^n)" not in tk.fit_complexity(n, t).table["class"].tolist()
    n2, t2 = synthetic("O(n)", [4, 8, 16, 32, 64])
    assert set(tk.fit_complexity(n2, t2).table["class"]) == set(CLASSES)


def test_exact_quadratic_parameters_exponent_and_prediction():
    n = np.array([100, 300, 1000, 3000, 10000])
    fit = tk.fit_complexity(n, 2e-6 + 3e-9 * n ** 2)
    row = fit.table.iloc[0]
    assert row["class"] == "O(n^2)"
    assert row["a"] == pytest.approx(2e-6, rel=1e-4) and row["b"] == pytest.approx(3e-9, rel=1e-6)
    assert fit.exponent == pytest.approx(2.0, abs=0.01)
    assert fit.predict(20000) == pytest.approx(2e-6 + 3e-9 * 4e8, rel=1e-6)
    assert fit.predict([1, 2]).shape == (2,)
    assert fit.predict(1000, cls="O(n)") > 0


def test_table_lists_every_candidate_with_non_negative_parameters_and_weights():
    n, t = synthetic("O(n log n)", SIZES, seed=4)
    table = tk.fit_complexity(n, t).table
    assert sorted(table["class"]) == sorted(c for c in CLASSES if c != "O(2^n)")
    assert (table["a"] >= 0).all() and (table["b"] >= 0).all()
    assert table["weight"].sum() == pytest.approx(1.0)
    assert table["delta_bic"].iloc[0] == 0 and table["delta_bic"].is_monotonic_increasing
    assert {"rel_error_pct", "implied_exponent", "max_gap_pct", "bic", "rss_log"} <= set(table.columns)


def test_exponent_confidence_interval_covers_the_true_exponent():
    # pure power law (no constant): the log-log slope is the exponent
    rng = np.random.default_rng(7)
    n = np.repeat(np.geomspace(100, 100_000, 8), 5)
    t = 1e-9 * n ** 1.0 * np.exp(rng.normal(0, 0.05, len(n)))
    fit = tk.fit_complexity(n, t)
    lo, hi = fit.exponent_ci
    assert lo < 1.0 < hi and hi - lo < 0.2


def test_n_versus_n_log_n_over_one_noisy_decade_is_reported_as_ambiguous():
    # GIVEN n log n data over one decade with 15% noise: the two curves differ by a few percent
    n, t = synthetic("O(n log n)", [100, 200, 400, 700, 1000], noise=0.15, seed=5, growth=5.0)
    fit = tk.fit_complexity(n, t)
    # THEN the fit says it cannot tell them apart, and why
    pair = {fit.best, *fit.ambiguous}
    assert {"O(n)", "O(n log n)"} <= pair
    assert "ΔBIC" in fit.reason and "%" in fit.reason and "wider range" in fit.reason
    assert not fit.confident
    assert "cannot tell apart" in repr(fit)


def test_free_exponent_between_classes_is_noted():
    n = np.geomspace(100, 100_000, 8)
    fit = tk.fit_complexity(n, 1e-9 * n ** 1.5)
    assert fit.exponent == pytest.approx(1.5, abs=0.01)
    assert any("between the candidate classes" in x for x in fit.notes)


def test_accepts_a_scaling_table_and_all_points():
    n, t = synthetic("O(n^2)", SIZES, seed=1)
    df = pd.DataFrame({"n": n.astype(int), "repeat": 0, "time_s": t})
    df.attrs["stopped"] = {"n": 20000, "reason": "budget"}
    fit = tk.fit_complexity(df, points="all")
    assert fit.best == "O(n^2)"
    assert len(fit.points) == len(df) and "all points" in fit.criterion
    assert any("stopped at n=20000" in x for x in fit.notes)
    assert tk.fit_complexity(df).points["n"].tolist() == sorted(set(df["n"]))


def test_curves_band_and_displays():
    n, t = synthetic("O(n)", SIZES, seed=2)
    fit = tk.fit_complexity(n, t)
    curves = fit.curves()
    assert set(curves["class"]) == set(fit.table["class"]) and len(curves) == 60 * len(fit.table)
    band = fit.band()
    assert (band["lo"] < band["time_s"]).all() and (band["time_s"] < band["hi"]).all()
    # most measurements fall inside the 95% prediction band
    inside = ((t >= np.interp(n, band["n"], band["lo"])) & (t <= np.interp(n, band["n"], band["hi"])))
    assert inside.mean() > 0.8
    assert "O(n)" in repr(fit) and "<table" in fit._repr_html_()
    assert set(fit._repr_mimebundle_()) == {"text/plain", "text/html"}


@pytest.mark.parametrize("sizes, times, match", [
    ([1, 10, 100], [1, 2, 3], "only 3 distinct sizes"),
    ([10, 10, 20, 30, 40, 50], [1] * 6, "one decade"),
    ([10, 100, 1000, 10000], [1, 2, 3], "different lengths"),
    ([10, 100, 1000, 10000], [1, float("nan"), 3, 4], "NaN"),
    ([10, 100, 1000, 10000], [1, 2, math.inf, 4], "infinite"),
    ([10, 100, 1000, 10000], [1, -2, 3, 4], "negative"),
    ([10, 100, 1000, 10000], [1, 0, 3, 4], "resolution"),
    ([0, 10, 100, 1000], [1, 2, 3, 4], "positive"),
    ([-1, 10, 100, 1000], [1, 2, 3, 4], "positive"),
    (["a", 10, 100, 1000], [1, 2, 3, 4], "numbers"),
])
def test_bad_input_is_refused_with_a_clear_fit_error(sizes, times, match):
    with pytest.raises(FitError, match=match):
        tk.fit_complexity(sizes, times)


def test_other_refusals():
    with pytest.raises(FitError, match="times is missing"):
        tk.fit_complexity([1, 10, 100, 1000])
    with pytest.raises(FitError, match="columns n and time_s"):
        tk.fit_complexity(pd.DataFrame({"size": [1]}))
    with pytest.raises(FitError, match="points"):
        tk.fit_complexity([1, 10, 100, 1000], [1, 2, 3, 4], points="mean")
    with pytest.raises(FitError, match="unknown classes"):
        tk.fit_complexity([1, 10, 100, 1000], [1, 2, 3, 4], classes=["O(n!)"])


def test_the_input_table_is_not_mutated():
    n, t = synthetic("O(n)", SIZES, seed=6)
    df = pd.DataFrame({"n": n.astype(int), "repeat": 0, "time_s": t})
    before = df.copy()
    tk.fit_complexity(df)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("cls", ["O(log n)", "O(n)", "O(n^2)"])
def test_answer_does_not_depend_on_units_or_input_order(cls):
    # GIVEN the same measurements in seconds and in milliseconds, shuffled
    n, t = synthetic(cls, SIZES, seed=8)
    order = np.random.default_rng(1).permutation(len(n))
    a = tk.fit_complexity(n, t)
    b = tk.fit_complexity(n[order], (t * 1000)[order])
    # THEN the same class, exponent and alternatives; predictions scale with the unit
    assert (a.best, a.ambiguous) == (b.best, b.ambiguous)
    assert a.exponent == pytest.approx(b.exponent)
    assert b.predict(5000) == pytest.approx(1000 * a.predict(5000), rel=1e-3)
