"""complexity.superlinear: fires on superlinear evidence with a meaningful share, never on linear,
ambiguous or minor evidence; and the figures draw what the fit computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import toolkit as tk
from toolkit import schema
from toolkit.findings import rules_table

N = np.repeat(np.array([100, 200, 400, 800, 1600, 3200, 6400]), 3)


def noisy(t, seed=0, sd=0.03):
    return t * np.exp(np.random.default_rng(seed).normal(0, sd, len(t)))


def test_rule_is_registered_in_the_checklist():
    rules = rules_table().set_index("rule")
    assert rules.loc["complexity.superlinear", "practice"] == "regular performance testing"
    assert "min_share_pct=10.0" in rules.loc["complexity.superlinear", "thresholds"]


def test_quadratic_callable_fires_with_numbers_file_and_line():
    def handler(xs):  # pragma: no cover - only its location matters
        return xs
    df = pd.DataFrame({"n": N, "repeat": 0, "time_s": noisy(1e-6 + 2e-9 * N ** 2)})
    df.attrs.update(function="handler", file="/srv/app/handler.py", line=12)
    out = tk.complexity.findings(df)
    schema.validate(out, "findings")
    row = out.iloc[0]
    assert len(out) == 1 and row["rule"] == "complexity.superlinear" and row["severity"] == "high"
    assert (row["file"], row["line"]) == ("/srv/app/handler.py", 12)
    assert "O(n^2)" in row["title"] and "n=100..6,400" in row["evidence"]
    assert "predicted" in row["evidence"] and "n=64,000" in row["evidence"]


@pytest.mark.parametrize("formula", [
    lambda n: 1e-6 + 1e-8 * n,                 # linear
    lambda n: 1e-6 + 1e-9 * n * np.log(n),     # n log n
    lambda n: 1e-6 + 1e-9 * np.log(n),         # log n
    lambda n: 1e-6 + 0 * n,                    # constant
])
def test_no_finding_on_n_log_n_or_better(formula):
    assert tk.complexity.findings(tk.fit_complexity(N, noisy(formula(N)))).empty


def test_no_finding_when_a_cheaper_class_cannot_be_ruled_out():
    # n^2 vs n log n over a narrow, noisy range: the fit may lean quadratic but says it cannot tell
    n = np.repeat([100, 150, 250, 400, 600, 1000], 2)
    fit = tk.fit_complexity(n, noisy(1e-6 + 1e-9 * n ** 1.5, seed=3, sd=0.2))
    if fit.best in ("O(n^2)", "O(n^3)"):
        assert fit.ambiguous
    assert tk.complexity.findings(fit).empty


def _table(rows, n_min=100, n_max=6400):
    t = pd.DataFrame(rows)
    t.attrs.update(n_min=n_min, n_max=n_max)
    return t


BASE = {"file": "app.py", "line": 10, "ambiguous": "", "exponent": 2.0, "exponent_lo": 1.8,
        "exponent_hi": 2.2, "self_s": 0.5, "share_pct_smallest": 2.0, "growth_x": 4096.0}


def test_per_function_table_fires_only_on_superlinear_functions_with_a_share():
    t = _table([
        {**BASE, "function": "join", "complexity": "O(n^2)", "share_pct": 80.0, "samples": 900},
        {**BASE, "function": "tiny_quadratic", "complexity": "O(n^2)", "share_pct": 3.0},
        {**BASE, "function": "parse", "complexity": "O(n)", "exponent": 1.0, "exponent_lo": 0.9,
         "share_pct": 15.0},
        {**BASE, "function": "noisy", "complexity": "O(n^3)", "exponent_lo": 0.2, "share_pct": 15.0},
        {**BASE, "function": "unsure", "complexity": "O(n^2)", "ambiguous": "O(n log n)", "share_pct": 40.0},
        {**BASE, "function": "unfitted", "complexity": None, "exponent": np.nan, "exponent_lo": np.nan,
         "share_pct": 40.0},
        {**BASE, "function": "sparse", "complexity": "O(n^2)", "share_pct": 40.0, "samples": 6},
    ])
    out = tk.complexity.findings(t)
    assert out["function"].tolist() == ["join"]
    assert out.loc[0, "line"] == 10 and out.loc[0, "file"] == "app.py"
    assert "80% of the call's self time at n=6,400 (was 2% at n=100)" in out.loc[0, "evidence"]
    assert "x4,096" in out.loc[0, "evidence"]
    # a lower share threshold admits the small one too
    assert len(tk.complexity.findings(t, min_share_pct=1)) == 2


def test_findings_takes_lists_and_refuses_other_things():
    fit = tk.fit_complexity(N, noisy(1e-6 + 1e-12 * N ** 3))
    # the same fit twice is one finding (one row per function); without dedupe, two
    assert len(tk.complexity.findings([fit, fit])) == 1
    assert len(tk.complexity.findings([fit, fit], dedupe=False)) == 2
    with pytest.raises(TypeError, match="ComplexityFit"):
        tk.complexity.findings("not evidence")


def test_complexity_fit_figure_draws_points_classes_and_band():
    fit = tk.fit_complexity(N, noisy(1e-6 + 2e-9 * N ** 2))
    fig = tk.plots.complexity_fit(fit)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names[0].startswith("95% band of O(n^2)")
    assert "O(n^2) (best)" in names and "measurements" in names and "median per size" in names
    assert len([n for n in names if n.startswith("O(")]) == len(fit.table)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "seconds" in fig.layout.yaxis.title.text and "n" in fig.layout.xaxis.title.text
    assert "O(n^2)" in fig.layout.title.text
    band = fig.data[0]
    assert len(band.x) == 2 * 60 and all(h for h in fig.data[-1].hovertemplate)


def test_comparison_figure_has_one_curve_and_points_per_fit():
    before = tk.fit_complexity(N, noisy(1e-6 + 2e-9 * N ** 2))
    after = tk.fit_complexity(N, noisy(1e-6 + 1e-8 * N))
    fig = tk.plots.scaling_comparison({"before": before, "after": after})
    assert len(fig.data) == 4
    assert "before O(n^2)" in fig.layout.title.text and "after O(n)" in fig.layout.title.text


def test_function_scaling_needs_the_per_size_data():
    with pytest.raises(ValueError, match="per_size"):
        tk.plots.function_scaling(pd.DataFrame({"function": ["f"]}))
