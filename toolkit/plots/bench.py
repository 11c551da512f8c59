"""Benchmark and load-test figures: distributions base vs head, the ratio forest plot, a
benchmark's history with its change points, load-test latency over time.

The tables come from :mod:`toolkit.bench` (``compare_runs``, ``run_medians``,
``change_points``, ``read_load_test(..., table="timeseries")``); these functions only draw.

    >>> import toolkit as tk
    >>> cmp = tk.compare_runs(base, head)            # doctest: +SKIP
    >>> tk.plots.ratio_forest(cmp)                   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

VERDICT_COLOURS = {"slower": "#d62728", "faster": "#2ca02c", "unchanged": "#7f7f7f", "too few samples": "#bcbd22",
                   "new": "#ff7f0e", "gone": "#17becf"}


def _label(row: pd.Series) -> str:
    params = row.get("params")
    return f"{row['benchmark']} [{params}]" if isinstance(params, str) and params else str(row["benchmark"])


def ratio_forest(comparison: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """One row per benchmark (or fingerprint, endpoint, function): the ratio head / base with its
    confidence interval, coloured by verdict; the line at 1 is "no change" and the shaded band the
    ``min_effect`` the comparison used (from ``comparison.attrs["options"]``). Log scale."""
    df = comparison[np.isfinite(comparison["ratio"].astype(float))].iloc[::-1]
    names = [_label(r) if "benchmark" in df else str(r.iloc[0]) for _, r in df.iterrows()]
    effect = (comparison.attrs.get("options") or {}).get("min_effect", 0.05)
    fig = go.Figure()
    fig.add_vrect(x0=1 / (1 + effect), x1=1 + effect, fillcolor="#dddddd", opacity=0.5, line_width=0,
                  annotation_text=f"±{effect:.0%}", annotation_position="top left")
    fig.add_vline(x=1, line_color="#333333", line_width=1)
    for verdict, part in df.groupby("verdict", sort=False):
        idx = [names[i] for i in np.flatnonzero(df["verdict"].to_numpy() == verdict)]
        ratio = part["ratio"].astype(float)
        low = part["ci_low"].astype(float)
        high = part["ci_high"].astype(float)
        fig.add_scatter(
            x=ratio, y=idx, mode="markers", name=str(verdict),
            marker=dict(color=VERDICT_COLOURS.get(verdict, "#1f77b4"), size=10),
            error_x=dict(type="data", symmetric=False, array=(high - ratio).fillna(0),
                         arrayminus=(ratio - low).fillna(0), thickness=2),
            customdata=np.column_stack([low, high, part.get("q_value", pd.Series(np.nan, index=part.index))]),
            hovertemplate="%{y}<br>ratio %{x:.3f} (interval %{customdata[0]:.3f} - %{customdata[1]:.3f})"
                          "<br>q %{customdata[2]:.2g}<extra>" + str(verdict) + "</extra>")
    fig.update_layout(title=title or "Head / base: ratio of medians with its confidence interval",
                      xaxis_title="ratio head / base (log scale; > 1 is slower)", yaxis_title="",
                      xaxis_type="log", height=max(300, 32 * len(df) + 160), legend_title_text="verdict")
    return fig


def benchmark_distributions(base: pd.DataFrame, head: pd.DataFrame, comparison: pd.DataFrame | None = None, *,
                            benchmarks: list[str] | None = None, title: str | None = None) -> go.Figure:
    """Every round of each benchmark, base beside head (box with the points), in seconds; a
    facet per benchmark so each has its own scale. With ``comparison`` (``compare_runs``) the
    facet title carries the ratio, its interval and the verdict, and its benchmarks' order."""
    order = list(comparison["benchmark"]) if comparison is not None else sorted(set(base["benchmark"]))
    if benchmarks:
        order = [b for b in order if b in set(benchmarks)]
    order = list(dict.fromkeys(order))[:16]
    cols = min(3, max(1, len(order)))
    rows = -(-len(order) // cols) if order else 1
    from plotly.subplots import make_subplots

    def caption(name: str) -> str:
        if comparison is None:
            return name
        r = comparison[comparison["benchmark"] == name].iloc[0]
        return f"{name}<br>x{r['ratio']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] {r['verdict']}"

    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[caption(n) for n in order], vertical_spacing=0.12)
    for i, name in enumerate(order):
        r, c = i // cols + 1, i % cols + 1
        for side, df, colour in (("base", base, "#1f77b4"), ("head", head, "#d62728")):
            v = df.loc[df["benchmark"] == name, "value_s"].astype(float)
            fig.add_box(y=v, name=side, marker_color=colour, boxpoints="all", jitter=0.4, pointpos=0,
                        showlegend=i == 0, legendgroup=side, row=r, col=c,
                        hovertemplate=f"{name}<br>{side}: %{{y:.4g}} s<extra></extra>")
        fig.update_yaxes(title_text="s per call" if c == 1 else None, row=r, col=c)
    fig.update_layout(title=title or "Every round, base vs head", height=330 * rows + 120,
                      font=dict(size=11))
    fig.update_annotations(font_size=11)
    return fig


def benchmark_history(medians: pd.DataFrame, change_points: pd.DataFrame | None = None, *,
                      benchmark: str | None = None, params: str | None = None, title: str | None = None) -> go.Figure:
    """A benchmark's median per run (``tk.bench.run_medians``) with the inter-quartile range as
    error bars, in run order; each change point (``tk.bench.change_points``) a vertical line at the
    first run of the new level, labelled with its ratio. Without ``benchmark``: every benchmark,
    each scaled to its first run's median (so they share an axis)."""
    m = medians if benchmark is None else medians[(medians["benchmark"] == benchmark)
                                                  & ((medians["params"].fillna("") == (params or "")) if params is not None
                                                     else True)]
    fig = go.Figure()
    scaled = benchmark is None
    for (name, p), g in m.groupby(["benchmark", "params"], sort=True, dropna=False):
        g = g.sort_values("position")
        base = g["median"].iloc[0] if scaled else 1.0
        label = f"{name} [{p}]" if isinstance(p, str) and p else name
        fig.add_scatter(x=g["position"], y=g["median"] / base, mode="lines+markers", name=label,
                        error_y=dict(type="data", symmetric=False, array=(g["q3"] - g["median"]) / base,
                                     arrayminus=(g["median"] - g["q1"]) / base, thickness=1),
                        customdata=np.column_stack([g["run"].astype(str), g["median"], g["n"]]),
                        hovertemplate=label + "<br>run %{customdata[0]}<br>median %{customdata[1]:.4g} s"
                                      "<br>%{customdata[2]} rounds<extra></extra>")
    if change_points is not None and len(change_points):
        cps = change_points if benchmark is None else change_points[change_points["benchmark"] == benchmark]
        for _, cp in cps.iterrows():
            fig.add_vline(x=cp["position"] - 0.5, line_dash="dash",
                          line_color=VERDICT_COLOURS.get(cp["verdict"], "#333333"),
                          annotation_text=f"x{cp['ratio']:.2f} {cp['verdict']}"
                                          + (f" ({cp['benchmark'].rsplit('.', 1)[-1]})" if benchmark is None else ""),
                          annotation_textangle=-90, annotation_position="top left")
    ticks = m.drop_duplicates("position").sort_values("position")
    fig.update_layout(
        title=title or (f"History of {benchmark}" if benchmark else "History: median per run, scaled to the first run"),
        xaxis=dict(title="run (in commit order)", tickmode="array", tickvals=ticks["position"],
                   ticktext=[str(r)[:10] for r in ticks["run"]]),
        yaxis_title="median (s per call)" if not scaled else "median / first run's median",
        legend=dict(orientation="h", y=-0.25))
    return fig


def load_test_latency(timeseries: pd.DataFrame, *, endpoint: str = "(all)", title: str | None = None) -> go.Figure:
    """Latency percentiles (p50, p95, p99 where written) over the test, one colour per run and
    one dash per percentile, x = seconds since the run's first point so that runs overlay;
    requests per second on the right axis (dotted)."""
    ts = timeseries[timeseries["endpoint"] == endpoint]
    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    for i, (run, g) in enumerate(ts.groupby("run", sort=False)):
        colour = palette[i % len(palette)]
        x = (g["timestamp"] - g["timestamp"].min()).dt.total_seconds()
        for col, dash in (("p50_ms", "solid"), ("p95_ms", "dash"), ("p99_ms", "dot")):
            if g[col].notna().any():
                fig.add_scatter(x=x, y=g[col], mode="lines+markers", name=f"{run} {col[:-3]}",
                                line=dict(color=colour, dash=dash),
                                hovertemplate=f"{run}<br>%{{x:.0f}} s: {col[:-3]} %{{y:.1f}} ms<extra></extra>")
        fig.add_scatter(x=x, y=g["rps"], mode="lines", name=f"{run} req/s", yaxis="y2", opacity=0.5,
                        line=dict(color=colour, dash="dot", width=1),
                        hovertemplate=f"{run}<br>%{{x:.0f}} s: %{{y:.1f}} req/s<extra></extra>")
    fig.update_layout(title=title or f"Load test latency over time ({endpoint})",
                      xaxis_title="seconds since the run's start", yaxis_title="latency (ms)",
                      yaxis2=dict(title="requests / s", overlaying="y", side="right", showgrid=False),
                      legend=dict(orientation="h", y=-0.25), hovermode="x unified")
    return fig

