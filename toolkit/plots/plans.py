"""A query plan as a picture: where the time went, node by node, misestimates in red.

Input is the ``plan_nodes`` table (:func:`toolkit.read_plan` / :func:`toolkit.queries.plan_nodes`).

    >>> import toolkit as tk
    >>> tk.plots.plan_tree(tk.read_plan("tests/fixtures/queries/plans/hash_agg.json"))  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_INDENT = "\u2003"  # an em space: indentation that survives plotly's label trimming
_NORMAL, _MISESTIMATED, _NEVER = "#4C78A8", "#E45756", "#D3D3D3"


def _one_plan(nodes: pd.DataFrame, plan_id: int | None) -> pd.DataFrame:
    if nodes.empty:
        raise ValueError("no plan nodes to draw")
    if plan_id is None:
        plan_id = int(nodes["plan_id"].iloc[0])
    return nodes[nodes["plan_id"] == plan_id].sort_values("node_id")


def _esc(text: object) -> str:
    """Plotly reads hover text as HTML-like markup: a condition like ``(a < b)`` is escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(row: pd.Series) -> str:
    where = row["relation"] if pd.notna(row["relation"]) else None
    label = row["node_type"] + (f" on {where}" if where else "")
    if pd.notna(row["index"]):
        label += f" using {row['index']}"
    return label


def _hover(row: pd.Series) -> str:
    parts = [f"<b>{_esc(_label(row))}</b>"]
    if pd.notna(row.get("subplan_name")):
        parts.append(_esc(row["subplan_name"]))
    if row["never_executed"]:
        parts.append("never executed")
    else:
        parts.append(f"time {row['wall_ms']:,.3f} ms with children, {row['self_ms']:,.3f} ms self")
        parts.append(f"rows: estimated {row['plan_rows']:,.0f}, actual {row['actual_rows']:,.0f} "
                     f"x {row['actual_loops']} loop(s)"
                     + (f" — off by {row['misestimate']:,.0f}x" if row["misestimated"] else ""))
    for col, name in (("filter", "Filter"), ("index_cond", "Index Cond"), ("join_cond", "Cond"),
                      ("sort_key", "Sort Key"), ("sort_method", "Sort Method")):
        if pd.notna(row.get(col)):
            parts.append(f"{name}: {_esc(row[col])}")
    if pd.notna(row.get("rows_removed_by_filter")) and row["rows_removed_by_filter"]:
        parts.append(f"rows removed by filter: {row['rows_removed_by_filter']:,}")
    if pd.notna(row.get("sort_space_kb")):
        parts.append(f"sort space: {row['sort_space_kb']:,} kB ({row['sort_space_type']})")
    return "<br>".join(parts)


def _colour(row: pd.Series) -> str:
    if row["never_executed"]:
        return _NEVER
    return _MISESTIMATED if row["misestimated"] else _NORMAL


def plan_tree(nodes: pd.DataFrame, plan_id: int | None = None, *, title: str | None = None) -> go.Figure:
    """An icicle of the plan: the root on top, each node as wide as its actual time with its
    children (self time + children, so the widths always add up), misestimated nodes (rows off
    by the threshold either way) red, never-executed nodes grey."""
    p = _one_plan(nodes, plan_id)
    ids = [str(i) for i in p["node_id"]]
    parents = ["" if pd.isna(x) else str(int(x)) for x in p["parent_id"]]
    fig = go.Figure(go.Icicle(
        ids=ids, parents=parents, labels=[_label(r) for _, r in p.iterrows()],
        values=p["self_ms"].fillna(0.0).clip(lower=0.0), branchvalues="remainder",
        marker={"colors": [_colour(r) for _, r in p.iterrows()]},
        hovertext=[_hover(r) for _, r in p.iterrows()], hoverinfo="text",
        texttemplate="%{label}<br>%{value:,.2f} ms self", tiling={"orientation": "v"},
        root={"color": "white"}))
    root = p.iloc[0]
    bad = int(p["misestimated"].sum())
    fig.update_layout(
        title=title or f"Plan: {_label(root)}, {root['wall_ms']:,.1f} ms"
                       f" ({len(p)} nodes; {bad} row misestimate{'s' if bad != 1 else ''} in red)",
        margin={"t": 60, "l": 10, "r": 10, "b": 10}, height=120 + 70 * int(p["depth"].max() + 1))
    return fig


def plan_bars(nodes: pd.DataFrame, plan_id: int | None = None, *, title: str | None = None) -> go.Figure:
    """The plan as EXPLAIN prints it, one indented row per node, with a bar of the node's own
    (self) time in ms; misestimated nodes red, never-executed grey."""
    p = _one_plan(nodes, plan_id)
    labels = [f"{_INDENT * int(r['depth'])}{'→ ' if r['depth'] else ''}{_label(r)}  #{r['node_id']}"
              for _, r in p.iterrows()]
    # plotly right-aligns tick labels, which hides indentation: draw them as left-aligned
    # annotations in the left margin instead
    margin = min(620, 40 + 7 * max(len(x) for x in labels))
    fig = go.Figure(go.Bar(
        x=p["self_ms"].fillna(0.0), y=labels, orientation="h",
        marker_color=[_colour(r) for _, r in p.iterrows()],
        hovertext=[_hover(r) for _, r in p.iterrows()], hoverinfo="text"))
    for label in labels:
        fig.add_annotation(text=label, x=0, xref="paper", y=label, yref="y", xanchor="left",
                           xshift=-margin + 10, showarrow=False, align="left")
    fig.update_layout(
        title=title or f"Self time per plan node ({int(p['misestimated'].sum())} row misestimates in red)",
        xaxis_title="self time (ms, summed over loops)", yaxis_title=None,
        yaxis={"autorange": "reversed", "showticklabels": False},
        height=max(250, 80 + 32 * len(p)), margin={"l": margin})
    return fig


def plan_diff(diff: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Two plans of one query side by side (the table of :func:`toolkit.diff_plans`): per aligned
    node, its self time before and after (ms); a node misestimated in a plan is drawn red there,
    and the hover says what changed (method, estimates, rows)."""
    d = diff.iloc[::-1]
    fig = go.Figure()
    for side, colour in (("before", "#9D9D9D"), ("after", _NORMAL)):
        bad = d[f"misestimated_{side}"].fillna(False).astype(bool)
        fig.add_trace(go.Bar(
            y=d["node"], x=d[f"self_ms_{side}"].fillna(0.0), name=side, orientation="h",
            marker_color=[_MISESTIMATED if b else colour for b in bad],
            hovertext=[f"<b>{_esc(n)}</b> ({side})<br>{_esc(t) if isinstance(t, str) else 'absent'}"
                       f"<br>{_esc(c)}" for n, t, c in zip(d["node"], d[f"node_type_{side}"], d["change"],
                                                          strict=True)],
            hoverinfo="text"))
    changed = int(d["method_changed"].sum())
    fig.update_layout(barmode="group", title=title or f"Plan before and after: self time per node "
                      f"({changed} method change{'s' if changed != 1 else ''}; misestimates in red)",
                      xaxis_title="self time (ms, summed over loops)", yaxis_title="plan node",
                      height=max(260, 90 + 46 * len(d)))
    return fig
