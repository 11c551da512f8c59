"""HTTP figures: latency percentiles over time, endpoint x time heatmap, status codes over time,
payload size distribution per endpoint. Aggregation lives in :mod:`toolkit.http.timeseries`.

    >>> import toolkit as tk
    >>> requests = tk.read_access_log("sample_traces/http/nginx/combined.log.gz")   # doctest: +SKIP
    >>> tk.plots.status_codes(requests)                                             # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..http import timeseries as ts

_STATUS_COLOURS = {2: "#2ca02c", 3: "#1f77b4", 4: "#ff7f0e", 5: "#d62728"}


def request_latency(requests: pd.DataFrame, *, endpoint: str | None = None, freq: str | None = None,
                    title: str | None = None, routes=None) -> go.Figure:
    """p50 / p90 / p99 / max of ``request_time_s`` per time bin (lines), requests per bin (bars,
    right axis); ``endpoint`` limits it to one templated endpoint (``"/api/items"``)."""
    t = ts.latency_over_time(requests, freq=freq, endpoint=endpoint, routes=routes)
    fig = go.Figure()
    fig.add_bar(x=t["timestamp"], y=t["requests"], name="requests", yaxis="y2", opacity=0.25,
                marker_color="#7f7f7f", hovertemplate="%{x|%H:%M:%S}<br>%{y} requests<extra></extra>")
    for col, colour in (("p50_s", "#1f77b4"), ("p90_s", "#ff7f0e"), ("p99_s", "#d62728"), ("max_s", "#9467bd")):
        fig.add_scatter(x=t["timestamp"], y=t[col], mode="lines+markers", name=col[:-2], line_color=colour,
                        hovertemplate=f"%{{x|%H:%M:%S}}<br>{col[:-2]} %{{y:.3f}} s<extra></extra>")
    fig.update_layout(
        title=title or f"Latency over time{' of ' + endpoint if endpoint else ''}",
        xaxis_title="time (UTC)", yaxis_title="request time (s)",
        yaxis2=dict(title="requests per bin", overlaying="y", side="right", showgrid=False),
        legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    return fig


def endpoint_heatmap(requests: pd.DataFrame, *, value: str = "requests", freq: str | None = None,
                     top: int = 15, title: str | None = None, routes=None) -> go.Figure:
    """Endpoints (rows, heaviest by total time first) x time bins: request count or a latency
    percentile (``value="p95_s"``)."""
    m = ts.endpoint_matrix(requests, value=value, freq=freq, top=top, routes=routes)
    unit = "requests" if value == "requests" else f"{value[:-2]} (s)"
    fig = go.Figure(go.Heatmap(
        z=m.to_numpy(dtype=float), x=list(m.columns), y=list(m.index), colorscale="Viridis",
        colorbar=dict(title=unit),
        hovertemplate="%{y}<br>%{x|%H:%M:%S}<br>" + unit + ": %{z}<extra></extra>"))
    fig.update_layout(title=title or f"Endpoints over time: {unit}", xaxis_title="time (UTC)",
                      yaxis_title="endpoint", yaxis=dict(autorange="reversed"),
                      height=max(300, 28 * len(m) + 150))
    return fig


def status_codes(requests: pd.DataFrame, *, freq: str | None = None, title: str | None = None) -> go.Figure:
    """Stacked requests per time bin by status code, coloured by class (2xx green ... 5xx red)."""
    m = ts.status_over_time(requests, freq=freq)
    fig = go.Figure()
    shades: dict[int, int] = {}
    for code in m.columns:
        cls = int(code) // 100
        shades[cls] = shades.get(cls, 0) + 1
        fig.add_bar(x=m.index, y=m[code], name=str(code), marker_color=_STATUS_COLOURS.get(cls, "#8c564b"),
                    marker_opacity=max(0.45, 1.0 - 0.18 * (shades[cls] - 1)),
                    hovertemplate=f"%{{x|%H:%M:%S}}<br>status {code}: %{{y}}<extra></extra>")
    fig.update_layout(barmode="stack", title=title or "Status codes over time", xaxis_title="time (UTC)",
                      yaxis_title="requests per bin", legend_title="status")
    return fig


def payload_sizes(requests: pd.DataFrame, *, top: int = 12, title: str | None = None, routes=None) -> go.Figure:
    """Distribution of response body sizes (bytes, log axis) per endpoint, largest median first."""
    long = ts.payload_sizes(requests, top=top, routes=routes)
    fig = go.Figure()
    for endpoint, rows in long.groupby("endpoint", observed=True, sort=True):
        fig.add_box(x=rows["body_bytes_sent"], name=str(endpoint), orientation="h", boxpoints=False,
                    hovertemplate=f"{endpoint}<br>%{{x:,}} bytes<extra></extra>")
    fig.add_vline(x=300_000, line_dash="dash", line_color="#d62728",
                  annotation_text="300 KB (Sentry large payload)", annotation_position="top")
    fig.update_layout(title=title or "Response body size per endpoint", xaxis_title="body bytes sent (log scale)",
                      yaxis_title="endpoint", xaxis_type="log", showlegend=False,
                      yaxis=dict(autorange="reversed"), height=max(300, 30 * long["endpoint"].nunique() + 150))
    return fig
