"""scaling_by_function: ranking (deterministic, profiler replaced) and a real pyinstrument run on
the notebook's order-export endpoint (hidden quadratic found; the fixed one clean)."""

from __future__ import annotations

import importlib.util
import inspect
import warnings

import pandas as pd
import pytest

import toolkit as tk
from toolkit.complexity import BudgetWarning, by_function
from toolkit.errors import MeasurementError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _orders_app():
    spec = importlib.util.spec_from_file_location("orders_app", ROOT / "notebooks" / "orders_app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fake_profiles(monkeypatch, costs):
    """Replace the profiler: at size n (the input), function f has self seconds costs[f](n) per
    call; ``number`` calls are 'profiled'."""
    def fake(fn, arg, number, interval):
        rows = [{"function": f, "file": "app.py", "line": i + 1, "self_s": c(arg) * number}
                for i, (f, c) in enumerate(costs.items())]
        return pd.DataFrame(rows), sum(c(arg) for c in costs.values()) * number
    monkeypatch.setattr(by_function, "_profile_once", fake)


def test_the_fastest_growing_function_ranks_first_even_when_not_hottest_at_small_n(monkeypatch):
    # GIVEN a linear function that dominates small inputs and a quadratic one that is tiny there
    fake_profiles(monkeypatch, {"parse": lambda n: 1e-4 * n, "match": lambda n: 1e-8 * n * n,
                                "log": lambda n: 1e-4})
    sizes = [100, 200, 400, 800, 1600, 3200, 6400]
    # WHEN ranked by growth x share
    table = tk.scaling_by_function(lambda n: None, sizes, lambda n: n, min_share_pct=0.5)
    # THEN the quadratic one is on top, though it was 1% of the call at n=100
    assert table["function"].tolist()[:2] == ["match", "parse"]
    top = table.iloc[0]
    assert top["complexity"] == "O(n^2)" and top["exponent"] == pytest.approx(2.0, abs=0.01)
    assert top["share_pct_smallest"] == pytest.approx(100 * 1e-4 / (1e-2 + 1e-4 + 1e-4), rel=1e-6)
    assert top["share_pct"] > table.iloc[1]["share_pct"] * 0.5
    assert top["growth_x"] == pytest.approx(64 ** 2)
    assert table.set_index("function").loc["parse", "complexity"] == "O(n)"
    assert table.set_index("function").loc["log", "complexity"] == "O(1)"
    # AND the per-size data and the whole call's fit are kept for the figure
    per = pd.DataFrame(table.attrs["per_size"])
    assert len(per) == 3 * len(sizes) and table.attrs["n_max"] == 6400
    assert table.attrs["total_complexity"] in ("O(n^2)", "O(n log n)")
    fig = tk.plots.function_scaling(table)
    assert len(fig.data) == 4 and fig.layout.xaxis.type == "log"


def test_functions_seen_at_too_few_sizes_are_listed_unfitted(monkeypatch):
    fake_profiles(monkeypatch, {"main": lambda n: 1e-3 * n,
                                "rare": lambda n: 0.5 if n >= 800 else 0.0})
    table = tk.scaling_by_function(lambda n: None, [100, 200, 400, 800, 1600], lambda n: n)
    rare = table.set_index("function").loc["rare"]
    assert pd.isna(rare["complexity"]) and "not fitted" in rare["note"] and rare["sizes"] == 2


def test_failing_input_and_budget_are_reported():
    with pytest.raises(MeasurementError, match=r"make_input\(20\)"):
        tk.scaling_by_function(lambda x: None, [10, 20], lambda n: 1 / (n - 20))
    with pytest.raises(MeasurementError, match="sizes"):
        tk.scaling_by_function(len, [0, 10], lambda n: [0] * n)


def test_budget_stops_the_profiled_sweep_visibly(monkeypatch):
    fake_profiles(monkeypatch, {"f": lambda n: 1e-3 * n})
    calls = []

    def slow(n):
        calls.append(n)
        if n >= 1000:
            import time
            time.sleep(0.05)  # not a speed measurement: makes one call exceed a 0.04 s budget

    with pytest.warns(BudgetWarning, match="stopped at n=1000"):
        table = tk.scaling_by_function(slow, [10, 100, 1000], lambda n: n, budget_s=0.04)
    assert table.attrs["stopped"]["n"] == 1000


def test_real_profile_finds_the_hidden_quadratic_and_not_in_the_fix():
    app = _orders_app()
    sizes = [25, 50, 100, 200, 400, 800]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BudgetWarning)
        slow = tk.scaling_by_function(app.export_orders, sizes, app.make_request, min_profile_s=0.03)
        fixed = tk.scaling_by_function(app.export_orders_fixed, sizes, app.make_request, min_profile_s=0.03)
    top = slow.iloc[0]
    assert top["function"] == "join_customers"
    assert top["complexity"] in ("O(n^2)", "O(n^3)")
    # the hidden quadratic takes the largest share of the time at the largest size, and a larger
    # share there than at the smallest (about 72% vs 21% on a quiet machine; the exact share moves
    # with the machine's load, as pyinstrument samples wall-clock time, so no fixed bound)
    assert slow["share_pct"].idxmax() == slow.index[0]
    assert top["share_pct"] > top["share_pct_smallest"] + 10
    found = tk.complexity.findings(slow)
    join = found[found["function"] == "join_customers"].iloc[0]
    assert join["rule"] == "complexity.superlinear"
    assert join["file"].endswith("orders_app.py")
    assert join["line"] == inspect.getsourcelines(app.join_customers)[1]
    assert "n=25" in join["evidence"] and "n=800" in join["evidence"]
    assert tk.complexity.findings(fixed).empty
