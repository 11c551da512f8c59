"""Scaling figures: time against input size on log-log axes, with the fitted complexity classes.

    >>> import toolkit as tk
    >>> df = tk.measure_scaling(sorted, [100, 1000, 10000], lambda n: list(range(n)))   # doctest: +SKIP
    >>> tk.plots.complexity_fit(tk.fit_complexity(df))                                  # doctest: +SKIP

The figures only draw: the fit (:func:`toolkit.complexity.fit_complexity`) computes the curves
and the band, :func:`toolkit.complexity.scaling_by_function` the per-function table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..profiles.files import short_file

# One colour per class, growth order: cool for cheap, warm for expensive.
CLASS_COLOURS = {"O(1)": "#4c78a8", "O(log n)": "#72b7b2", "O(n)": "#54a24b", "O(n log n)": "#b79a20",
                 "O(n^2)": "#f58518", "O(n^3)": "#e45756", "O(2^n)": "#9d1f5a"}
_SERIES = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")


def _seconds(t: float) -> str:
    for unit, f in (("s", 1.0), ("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
        if abs(t) * f >= 1 or unit == "ns":
            return f"{t * f:.3g} {unit}"
    return f"{t:g} s"


def _axes(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", hovermode="closest",
                      legend={"title": {"text": ""}})
    fig.update_xaxes(type="log", title_text="input size n (log scale)")
    fig.update_yaxes(type="log", title_text="time per call, seconds (log scale)")
    return fig


def complexity_fit(fit: Any, classes: Sequence[str] | None = None, band: bool = True,
                   title: str | None = None) -> go.Figure:
    """Measured times and every fitted class on log-log axes, the best class bold with its band.

    ``fit`` is a :class:`~toolkit.complexity.ComplexityFit`; ``classes`` limits the curves drawn
    (default: all candidates); ``band`` draws the best class's prediction band (``fit.band()``).
    Points are every measurement (hover: n, time); the per-size medians are larger markers.
    """
    fig = go.Figure()
    classes = list(classes) if classes is not None else fit.table["class"].tolist()
    if band:
        b = fit.band()
        fig.add_trace(go.Scatter(x=np.concatenate([b["n"], b["n"][::-1]]),
                                 y=np.concatenate([b["hi"], b["lo"][::-1]]), fill="toself",
                                 fillcolor="rgba(120,120,120,0.18)", line={"width": 0},
                                 name=f"{fit.level:.0%} band of {fit.best}", hoverinfo="skip"))
    curves = fit.curves(classes=classes)
    weights = fit.table.set_index("class")["weight"]
    for cls, part in curves.groupby("class", sort=False):
        best = cls == fit.best
        label = f"{cls}{' (best)' if best else ''}"
        if cls in fit.ambiguous:
            label += " (cannot tell apart)"
        fig.add_trace(go.Scatter(
            x=part["n"], y=part["time_s"], mode="lines", name=label,
            line={"color": CLASS_COLOURS.get(cls, "#888"), "width": 3.5 if best else 1.5,
                  "dash": "solid" if best or cls in fit.ambiguous else "dot"},
            hovertemplate=(f"{cls}<br>n=%{{x:,.0f}}<br>fitted %{{y:.3g}} s<br>"
                           f"weight {weights.get(cls, float('nan')):.2f}<extra></extra>")))
    data = fit.data
    fig.add_trace(go.Scatter(x=data["n"], y=data["time_s"], mode="markers", name="measurements",
                             marker={"color": "rgba(40,40,40,0.45)", "size": 5},
                             hovertemplate="n=%{x:,.0f}<br>%{y:.3g} s per call<extra>measured</extra>"))
    if len(fit.points) < len(data):
        fig.add_trace(go.Scatter(x=fit.points["n"], y=fit.points["time_s"], mode="markers",
                                 name="median per size", marker={"color": "black", "size": 9,
                                                                 "symbol": "diamond"},
                                 hovertemplate="n=%{x:,.0f}<br>median %{y:.3g} s<extra></extra>"))
    lo, hi = fit.exponent_ci
    default = (f"Time per call against n: {fit.best}"
               + (f" (cannot tell from {', '.join(fit.ambiguous)})" if fit.ambiguous else "")
               + f"; exponent {fit.exponent:.2f} [{lo:.2f}, {hi:.2f}]")
    return _axes(fig, title or default)


def scaling_comparison(fits: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Several fits on one log-log figure (e.g. ``{"before": fit1, "after": fit2}``): each
    one's measurements and its best class's curve, labelled with the class."""
    fig = go.Figure()
    for i, (label, fit) in enumerate(fits.items()):
        colour = _SERIES[i % len(_SERIES)]
        pts = fit.points
        fig.add_trace(go.Scatter(x=pts["n"], y=pts["time_s"], mode="markers", name=f"{label}: measured",
                                 marker={"color": colour, "size": 8}, legendgroup=label,
                                 hovertemplate=f"{label}<br>n=%{{x:,.0f}}<br>%{{y:.3g}} s<extra></extra>"))
        curve = fit.curves(classes=[fit.best])
        fig.add_trace(go.Scatter(x=curve["n"], y=curve["time_s"], mode="lines", legendgroup=label,
                                 name=f"{label}: {fit.best}, exponent {fit.exponent:.2f}",
                                 line={"color": colour, "width": 2.5},
                                 hovertemplate=f"{label} {fit.best}<br>n=%{{x:,.0f}}<br>fitted %{{y:.3g}} s"
                                               "<extra></extra>"))
    default = "Time per call against n: " + " vs ".join(f"{k} {f.best}" for k, f in fits.items())
    return _axes(fig, title or default)


def function_scaling(table: pd.DataFrame, top: int = 8, title: str | None = None) -> go.Figure:
    """Per-function self time against n (log-log), one line per function, for the ``top`` rows of
    a :func:`~toolkit.complexity.scaling_by_function` table (its ranking order).

    The legend names each function's class and its share at the largest size; the dashed line is
    the whole callable's time per call.
    """
    per = pd.DataFrame(table.attrs.get("per_size", {}))
    if per.empty:
        raise ValueError("the table has no per-size data (attrs['per_size']); pass the result of "
                         "tk.scaling_by_function")
    fig = go.Figure()
    for i, row in enumerate(table.head(top).itertuples(index=False)):
        part = per[(per["function"] == row.function) & (per["file"] == row.file)].sort_values("n")
        colour = _SERIES[i % len(_SERIES)]
        cls = row.complexity if isinstance(row.complexity, str) else "not fitted"
        fig.add_trace(go.Scatter(
            x=part["n"], y=part["self_s"], mode="lines+markers", line={"color": colour, "width": 2},
            name=f"{row.function}: {cls}, {row.share_pct:.0f}% at n={int(table.attrs.get('n_max', 0)):,}",
            customdata=np.stack([part["share_pct"]], axis=-1),
            hovertemplate=(f"{row.function}<br>{short_file(row.file)}:{row.line}<br>n=%{{x:,.0f}}<br>self %{{y:.3g}} s"
                           " per call<br>%{customdata[0]:.1f}% of the call<extra></extra>")))
    total = pd.DataFrame(table.attrs.get("total", {}))
    if not total.empty:
        fig.add_trace(go.Scatter(x=total["n"], y=total["time_s"], mode="lines", name="whole call (profiled)",
                                 line={"color": "#444", "dash": "dash"},
                                 hovertemplate="whole call<br>n=%{x:,.0f}<br>%{y:.3g} s<extra></extra>"))
    fig = _axes(fig, title or "Self time per call of each function against n: the steepest line is the one to fix")
    fig.update_yaxes(title_text="self time per call, seconds (log scale)")
    return fig
