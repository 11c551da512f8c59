"""Figures of slow-query evidence: the digest, latency per fingerprint, a timeline, calls vs mean.

Plots only draw: pass a digest (:func:`toolkit.digest`) or query events (with a ``fingerprint``
column, added with :func:`toolkit.fingerprint` when missing).

    >>> import toolkit as tk
    >>> events = tk.read_queries("sample_traces/queries/postgresql/app/postgresql.log.gz")  # doctest: +SKIP
    >>> tk.plots.digest_bar(tk.digest(events))                                              # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2",
            "#FF9DA6", "#9D755D", "#BAB0AC")
OTHER = "other"


def _short(text: object, n: int = 70) -> str:
    """SQL shortened to ``n`` characters for a label, with ``&``, ``<`` and ``>`` escaped: plotly
    reads labels as HTML-like text, and ``WHERE a<b`` must not become a tag."""
    s = " ".join(str(text).split())
    s = s if len(s) <= n else s[: n - 1] + "…"
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _need(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")


def _with_fingerprint(events: pd.DataFrame) -> pd.DataFrame:
    if "fingerprint" in events.columns:
        return events
    from ..queries.fingerprint import fingerprint

    uniq = {s: fingerprint(s) for s in pd.unique(events["statement"].dropna())}
    return events.assign(fingerprint=events["statement"].map(uniq))


def _executed(events: pd.DataFrame) -> pd.DataFrame:
    ev = events[events["statement"].notna() & events["duration_ms"].notna()]
    if "kind" in ev.columns:  # parse/bind rows are steps of one execution, not queries
        kind = ev["kind"].astype("object")
        ev = ev[kind.isna() | kind.isin(["statement", "execute", "query"])]
    return _with_fingerprint(ev)


def _top_fingerprints(ev: pd.DataFrame, n: int) -> list[str]:
    return ev.groupby("fingerprint")["duration_ms"].sum().sort_values(ascending=False).head(n).index.tolist()


def digest_bar(digest: pd.DataFrame, n: int = 15, *, title: str | None = None) -> go.Figure:
    """Horizontal bars: the ``n`` fingerprints with the most total time (the digest's order),
    costliest on top; hover shows calls, mean, p95, max and share of all logged time."""
    _need(digest, ["fingerprint", "calls", "total_ms", "mean_ms", "p95_ms", "max_ms", "pct_total"], "digest")
    top = digest.sort_values("total_ms", ascending=False, kind="stable").head(n)
    labels = [f"{i}. {_short(fp, 60)}" for i, fp in enumerate(top["fingerprint"], 1)]
    custom = top[["calls", "mean_ms", "p95_ms", "max_ms", "pct_total"]].to_numpy()
    fig = go.Figure(go.Bar(
        x=top["total_ms"], y=labels, orientation="h", marker_color=_PALETTE[0],
        customdata=custom, text=[f"{p:.1f} %" for p in top["pct_total"]], textposition="auto",
        hovertext=[_short(fp, 300) for fp in top["fingerprint"]],
        hovertemplate="%{hovertext}<br>total %{x:,.1f} ms (%{customdata[4]:.1f} % of all)"
                      "<br>calls %{customdata[0]:,}<br>mean %{customdata[1]:,.2f} ms, p95 "
                      "%{customdata[2]:,.2f} ms, max %{customdata[3]:,.2f} ms<extra></extra>"))
    shown = float(top["pct_total"].sum())
    fig.update_layout(
        title=title or f"Where the database time goes: top {len(top)} of {len(digest)} fingerprints "
                       f"({shown:.0f} % of logged time)",
        xaxis_title="total time (ms)", yaxis_title="query fingerprint",
        height=max(300, 60 + 28 * len(top)), margin={"l": 10}, yaxis={"autorange": "reversed"})
    return fig


def latency_box(events: pd.DataFrame, n: int = 10, *, fingerprints: list[str] | None = None,
                title: str | None = None, log: bool = True) -> go.Figure:
    """One box per fingerprint (the ``n`` with most total time, or ``fingerprints``) of the
    duration of each execution, every point shown; hover names session and input line."""
    ev = _executed(events)
    chosen = fingerprints if fingerprints is not None else _top_fingerprints(ev, n)
    fig = go.Figure()
    for i, fp in enumerate(chosen):
        g = ev[ev["fingerprint"] == fp]
        fig.add_trace(go.Box(
            x=g["duration_ms"], name=_short(fp, 50), orientation="h", boxpoints="all", jitter=0.4,
            pointpos=0, marker={"size": 4, "color": _PALETTE[i % len(_PALETTE)]},
            line={"color": _PALETTE[i % len(_PALETTE)]},
            customdata=g[["session", "source_line"]].astype("object").to_numpy(),
            hovertext=[_short(fp, 200)] * len(g),
            hovertemplate="%{hovertext}<br>%{x:,.3f} ms<br>session %{customdata[0]}, "
                          "line %{customdata[1]}<extra></extra>"))
    fig.update_layout(
        title=title or f"Latency per query fingerprint (top {len(chosen)} by total time)",
        xaxis_title="duration per execution (ms)" + (", log scale" if log else ""),
        yaxis_title="query fingerprint", showlegend=False,
        height=max(300, 80 + 45 * len(chosen)), yaxis={"autorange": "reversed"})
    if log:
        fig.update_xaxes(type="log")
    return fig


def timeline(events: pd.DataFrame, n: int = 8, *, title: str | None = None, log: bool = True) -> go.Figure:
    """Every executed statement as a point: time (x) against duration (y), coloured by
    fingerprint (the ``n`` with most total time; the rest grey as "other")."""
    ev = _executed(events)
    chosen = _top_fingerprints(ev, n)
    fig = go.Figure()
    groups = [(fp, ev[ev["fingerprint"] == fp]) for fp in chosen]
    rest = ev[~ev["fingerprint"].isin(chosen)]
    if len(rest):
        groups.append((OTHER, rest))
    for i, (fp, g) in enumerate(groups):
        colour = "#BAB0AC" if fp == OTHER else _PALETTE[i % len(_PALETTE)]
        fig.add_trace(go.Scattergl(
            x=g["timestamp"], y=g["duration_ms"], mode="markers", name=_short(fp, 45),
            marker={"size": 5, "color": colour, "opacity": 0.8},
            customdata=g[["session", "source_line"]].astype("object").to_numpy(),
            hovertext=[_short(s, 200) for s in g["statement"]],
            hovertemplate="%{hovertext}<br>%{x}<br>%{y:,.3f} ms<br>session %{customdata[0]}, "
                          "line %{customdata[1]}<extra></extra>"))
    fig.update_layout(title=title or f"Statements over time ({len(ev):,} executions)",
                      xaxis_title="time (UTC, when the statement finished)",
                      yaxis_title="duration (ms)" + (", log scale" if log else ""),
                      legend_title="fingerprint", height=450)
    if log:
        fig.update_yaxes(type="log")
    return fig


def calls_vs_mean(digest: pd.DataFrame, n: int | None = None, *, title: str | None = None) -> go.Figure:
    """Each fingerprint as a bubble: calls (x) against mean time (y), both log scales, bubble
    area proportional to total time. Top right: frequent and slow; bottom right: cheap but so
    frequent they add up (N+1 and caching candidates)."""
    _need(digest, ["fingerprint", "calls", "total_ms", "mean_ms", "pct_total"], "digest")
    d = digest if n is None else digest.sort_values("total_ms", ascending=False).head(n)
    biggest = float(d["total_ms"].max()) if len(d) else 1.0
    fig = go.Figure(go.Scatter(
        x=d["calls"], y=d["mean_ms"], mode="markers",
        marker={"size": d["total_ms"], "sizemode": "area", "sizeref": 2.0 * biggest / 45 ** 2,
                "sizemin": 4, "color": _PALETTE[0], "opacity": 0.7, "line": {"width": 1, "color": "white"}},
        customdata=d[["total_ms", "pct_total"]].to_numpy(),
        hovertext=[_short(fp, 200) for fp in d["fingerprint"]],
        hovertemplate="%{hovertext}<br>%{x:,} calls, mean %{y:,.3f} ms<br>total %{customdata[0]:,.1f} ms "
                      "(%{customdata[1]:.1f} %)<extra></extra>"))
    fig.update_layout(title=title or "Calls against mean time per fingerprint (bubble area = total time)",
                      xaxis_title="calls (log scale)", yaxis_title="mean time per call (ms, log scale)",
                      height=450)
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return fig
