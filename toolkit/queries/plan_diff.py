"""Two plans of one query side by side: which nodes changed method, estimate, rows and time.

Input: two ``plan_nodes`` tables (from :func:`toolkit.read_plan`, :func:`toolkit.explain`, or
one ``plan_id`` of :func:`toolkit.queries.plan_nodes`). Nodes are aligned by what they work on,
not by their place in the tree, because a new index or a changed join order moves nodes around:

1. a scan aligns with the scan of the same relation and alias (``Seq Scan on orders`` with
   ``Index Scan using orders_customer_idx on orders``); a ``Bitmap Index Scan`` belongs to the
   relation of the ``Bitmap Heap Scan`` above it;
2. a join aligns with the join over the same set of relations, whatever its method
   (``Hash Join`` over {orders, customers} with ``Nested Loop`` over the same two);
3. any other node (Sort, Aggregate, Limit, Hash, Materialize, ...) aligns with the node of the
   same type over the same relations, the n-th with the n-th in depth-first order.

Nodes without a counterpart are listed with ``status`` "only before" / "only after".

    >>> a = read_plan('[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Alias": "t", '
    ...               '"Plan Rows": 5, "Actual Rows": 500, "Actual Loops": 1, "Actual Total Time": 9.0}}]')
    >>> b = read_plan('[{"Plan": {"Node Type": "Index Scan", "Relation Name": "t", "Alias": "t", '
    ...               '"Index Name": "t_k", "Plan Rows": 480, "Actual Rows": 500, "Actual Loops": 1, '
    ...               '"Actual Total Time": 0.4}}]')
    >>> d = diff_plans(a, b)
    >>> d.loc[0, "change"], float(d.loc[0, "delta_ms"])
    ('Seq Scan -> Index Scan using t_k; rows estimated 5 -> 480; misestimate fixed', -8.6)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .plans import read_plan

_JOINS = ("Nested Loop", "Hash Join", "Merge Join")
_FIELDS = ("node_type", "index", "plan_rows", "actual_rows", "actual_loops", "misestimate",
           "misestimated", "actual_total_ms", "self_ms", "never_executed")


def _is_scan(node_type: str) -> bool:
    return "Scan" in node_type


def _is_join(node_type: str) -> bool:
    return any(j in node_type for j in _JOINS)


def _plan(plan: Any) -> pd.DataFrame:
    nodes = plan if isinstance(plan, pd.DataFrame) else read_plan(plan)
    if nodes.empty:
        raise ValueError("an empty plan cannot be compared")
    if nodes["plan_id"].nunique() > 1:
        nodes = nodes[nodes["plan_id"] == nodes["plan_id"].iloc[0]]
    return nodes.sort_values("node_id").reset_index(drop=True)


def _keys(nodes: pd.DataFrame) -> pd.DataFrame:
    """Per node: ``key`` (what it aligns by) and ``node`` (a readable name for it)."""
    parent = dict(zip(nodes["node_id"], nodes["parent_id"], strict=True))
    by_id = nodes.set_index("node_id")
    own: dict[int, str | None] = {}
    for nid, row in by_id.iterrows():
        rel = row["relation"] if pd.notna(row["relation"]) else None
        if rel is None and row["node_type"] == "Bitmap Index Scan" and pd.notna(parent[nid]):
            up = by_id.loc[int(parent[nid])]
            rel = up["relation"] if pd.notna(up["relation"]) else None
        if rel is not None and pd.notna(row["alias"]) and row["alias"] != rel:
            rel = f"{rel} {row['alias']}"
        own[nid] = rel
    below: dict[int, set[str]] = {nid: ({own[nid]} if own[nid] else set()) for nid in by_id.index}
    for nid in sorted(by_id.index, reverse=True):  # children come after parents depth-first
        p = parent[nid]
        if pd.notna(p):
            below[int(p)] |= below[nid]
    keys, names, seen = [], [], {}
    for nid, row in by_id.iterrows():
        t = row["node_type"]
        rels = ", ".join(sorted(below[nid])) or "-"
        if t == "Bitmap Index Scan":
            base, name = ("bitmap index", rels), f"bitmap index scan of {rels}"
        elif _is_scan(t) and own[nid]:
            base, name = ("scan", own[nid]), f"scan of {own[nid]}"
        elif _is_join(t):
            base, name = ("join", rels), f"join of {rels}"
        else:
            base, name = (t, rels), f"{t} over {rels}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        keys.append((*base, n))
        names.append(name if n == 0 else f"{name} #{n + 1}")
    return nodes.assign(key=keys, node=names)


def diff_plans(before: Any, after: Any) -> pd.DataFrame:
    """Align two plans of one query and say what changed, node by node.

    ``before`` / ``after``: ``plan_nodes`` tables or anything :func:`toolkit.read_plan` reads.
    Returns one row per aligned node, in ``before``'s order then the nodes only ``after`` has:
    ``node`` (what it works on: "scan of orders", "join of customers, orders"), ``status``
    (both / only before / only after), ``node_type_before`` / ``_after``, ``index_before`` /
    ``_after``, ``method_changed`` (node type or index differs), ``plan_rows_*`` (estimated rows
    per loop), ``actual_rows_*``, ``actual_loops_*``, ``misestimate_*`` (the larger of
    actual/estimate and its inverse), ``misestimated_*``, ``actual_total_ms_*`` (with children),
    ``self_ms_*``, ``delta_ms`` (self time after - before), and ``change``: a short text
    ("Seq Scan -> Index Scan using t_k; rows estimated 5 -> 480").
    """
    a, b = _keys(_plan(before)), _keys(_plan(after))
    merged = a[["key", "node", *_FIELDS]].merge(b[["key", "node", *_FIELDS]], on="key", how="outer",
                                                suffixes=("_before", "_after"), sort=False)
    order_a = {k: i for i, k in enumerate(a["key"])}
    order_b = {k: i for i, k in enumerate(b["key"])}
    merged["_o"] = [(0, order_a[k]) if k in order_a else (1, order_b[k]) for k in merged["key"]]
    merged = merged.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    in_a, in_b = merged["node_type_before"].notna(), merged["node_type_after"].notna()
    merged["node"] = merged["node_before"].fillna(merged["node_after"])
    merged["status"] = np.where(in_a & in_b, "both", np.where(in_a, "only before", "only after"))
    same_type = merged["node_type_before"].astype("object") == merged["node_type_after"].astype("object")
    same_index = merged["index_before"].astype("object").fillna("") == merged["index_after"].astype("object").fillna("")
    merged["method_changed"] = (in_a & in_b & ~(same_type & same_index)).astype(bool)
    merged["delta_ms"] = (merged["self_ms_after"].fillna(0.0) - merged["self_ms_before"].fillna(0.0)).round(6)
    merged["change"] = [_change(r) for r in merged.to_dict("records")]
    cols = ["node", "status", "method_changed", "change", "delta_ms"] + [
        f"{f}_{side}" for f in _FIELDS for side in ("before", "after")]
    return merged[cols]


def _method(node_type: Any, index: Any) -> str:
    return str(node_type) + (f" using {index}" if isinstance(index, str) and index else "")


def _change(r: dict) -> str:
    if r["status"] == "only before":
        return f"{_method(r['node_type_before'], r['index_before'])} is gone"
    if r["status"] == "only after":
        return f"new {_method(r['node_type_after'], r['index_after'])}"
    parts = []
    if r["method_changed"]:
        parts.append(f"{_method(r['node_type_before'], r['index_before'])} -> "
                     f"{_method(r['node_type_after'], r['index_after'])}")
    pa, pb = r["plan_rows_before"], r["plan_rows_after"]
    if pd.notna(pa) and pd.notna(pb) and _factor(pa, pb) >= 2:
        parts.append(f"rows estimated {pa:,.0f} -> {pb:,.0f}")
    aa, ab = r["actual_rows_before"], r["actual_rows_after"]
    if pd.notna(aa) and pd.notna(ab) and _factor(aa, ab) >= 2:
        parts.append(f"actual rows {aa:,.0f} -> {ab:,.0f}")
    if bool(r["misestimated_before"]) != bool(r["misestimated_after"]):
        parts.append("misestimate fixed" if r["misestimated_before"] else "now misestimated")
    return "; ".join(parts) or "unchanged"


def _factor(x: float, y: float) -> float:
    lo, hi = sorted((max(float(x), 1.0), max(float(y), 1.0)))
    return hi / lo
