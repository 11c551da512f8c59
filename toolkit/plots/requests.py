"""Requests joined to their queries (:mod:`toolkit.correlation`): where each endpoint's time goes,
and its queries per request over time.

    >>> import toolkit as tk
    >>> joined = tk.correlate.join(requests, events)            # doctest: +SKIP
    >>> tk.plots.request_breakdown(joined.breakdown)            # doctest: +SKIP
    >>> tk.plots.query_budget(joined.budget)                    # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_DB, _APP = "#E45756", "#4C78A8"


def _name(row: pd.Series) -> str:
    method = row.get("method")
    return f"{method} {row['endpoint']}" if isinstance(method, str) and method else str(row["endpoint"])


def request_breakdown(table: pd.DataFrame, *, n: int = 12, title: str | None = None) -> go.Figure:
    """One bar per endpoint (the ``n`` with the most total time): its mean request time split
    into time in the database (its queries' durations) and the rest (application, network,
    queueing); hover adds requests, p95, queries per request and N+1 loops."""
    t = table.sort_values("total_s", ascending=False).head(n).iloc[::-1]
    names = [_name(r) for _, r in t.iterrows()]
    mean_ms = t["total_s"] / t["requests"].clip(lower=1) * 1e3
    db = t["db_ms_mean"].fillna(0.0).clip(upper=mean_ms)
    hover = [f"<b>{name}</b><br>{r['requests']:,} requests, p50 {r['p50_s'] * 1e3:,.1f} ms, "
             f"p95 {r['p95_s'] * 1e3:,.1f} ms<br>{r['queries_mean']:.1f} queries per request (p95 "
             f"{r['queries_p95']:.0f}), {r['db_share_pct']:.0f}% of the time in the database"
             f"<br>N+1 loops in {r['requests_with_n_plus_one']:,} requests"
             for name, (_, r) in zip(names, t.iterrows(), strict=True)]
    fig = go.Figure([
        go.Bar(y=names, x=db, name="database", orientation="h", marker_color=_DB,
               hovertext=hover, hoverinfo="text"),
        go.Bar(y=names, x=mean_ms - db, name="application and the rest", orientation="h",
               marker_color=_APP, hovertext=hover, hoverinfo="text")])
    fig.update_layout(barmode="stack", title=title or "Where each endpoint's time goes (mean per request)",
                      xaxis_title="mean time per request (ms)", yaxis_title="endpoint",
                      height=max(260, 90 + 34 * len(t)), legend={"orientation": "h", "y": -0.25})
    return fig


def query_budget(budget: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Queries per request over time, one line per endpoint that queries the database (mean per
    period; hover adds p95, max and the number of requests)."""
    fig = go.Figure()
    for (endpoint, method), part in budget.groupby(["endpoint", "method"], sort=True, dropna=False):
        if not (part["queries_max"] > 0).any():
            continue
        name = f"{method} {endpoint}" if isinstance(method, str) and method else str(endpoint)
        hover = [f"<b>{name}</b><br>{p:%H:%M:%S}: {r} requests<br>queries per request: mean {m:.1f}, "
                 f"p95 {q:.0f}, max {x}" for p, r, m, q, x in
                 zip(part["period"], part["requests"], part["queries_mean"], part["queries_p95"],
                     part["queries_max"], strict=True)]
        fig.add_trace(go.Scatter(x=part["period"], y=part["queries_mean"], mode="lines+markers", name=name,
                                 hovertext=hover, hoverinfo="text"))
    fig.update_layout(title=title or "Query budget: queries per request over time",
                      xaxis_title="time (UTC, start of period)", yaxis_title="queries per request (mean)",
                      legend={"orientation": "h", "y": -0.3})
    return fig
