"""Flame (icicle) graphs of a profile's call tree, and differential flame graphs of two profiles.

The figures only draw. The work happens in pure DataFrame -> DataFrame functions that live here
because only the flame graphs need them, and that are tested on their own:

- :func:`prune_tree` folds the call paths below a fraction of the total into one explicit
  ``other`` node per parent, so a 100,000-node profile draws as at most ``max_nodes`` nodes and
  the folded seconds stay visible (and add up exactly);
- :func:`diff_tree` matches two call trees path by path (before / after seconds per call path);
- :func:`collapse_imports` hides the import machinery's frames, as pyinstrument does.

:func:`~toolkit.profiles.files.package_of` (the package a frame's file belongs to, which gives
each box its colour) and :func:`~toolkit.profiles.files.short_file` live with the profiles.

Example::

    >>> import toolkit as tk
    >>> prof = tk.read_profile("sample_traces/profiles/py-spy/demo_slow.speedscope.json")  # doctest: +SKIP
    >>> tk.plots.flame(prof)                                   # doctest: +SKIP
    >>> tk.plots.diff_flame(prof, tk.read_profile("...fixed..."))  # doctest: +SKIP

Input is a Profile (anything with ``.tree()``) or its ``tree()`` DataFrame: ``node_id``,
``parent_id`` (null for roots), ``depth``, ``function``, ``file``, ``line``, ``self_s``,
``total_s`` (seconds).
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..profiles.files import package_of, short_file, where

TREE_COLUMNS = ["node_id", "parent_id", "depth", "function", "file", "line", "self_s", "total_s"]
OTHER = "other"

# Package -> colour. The application and the standard library keep fixed colours so figures of
# different profiles read the same; installed packages take the next free palette colour.
PACKAGE_COLOURS = {"app": "#4C78A8", "stdlib": "#F58518", "native": "#B279A2", "builtins": "#EECA3B",
                  OTHER: "#BAB0AC", "": "#FFFFFF"}
PALETTE = ["#54A24B", "#E45756", "#72B7B2", "#FF9DA6", "#9D755D", "#8CD17D", "#B6992D",
            "#499894", "#D37295", "#79706E", "#A0CBE8", "#FFBE7D"]

def _tree_of(profile_or_tree: Any) -> pd.DataFrame:
    if isinstance(profile_or_tree, pd.DataFrame):
        tree = profile_or_tree
    elif hasattr(profile_or_tree, "tree"):
        tree = profile_or_tree.tree()
    else:
        raise TypeError(f"expected a Profile or its tree() DataFrame, got {type(profile_or_tree).__name__}")
    missing = [c for c in TREE_COLUMNS if c not in tree.columns]
    if missing:
        raise ValueError(f"tree DataFrame lacks columns {missing}; expected {TREE_COLUMNS}")
    return tree


def _positions(tree: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parent position per row (-1 for roots and orphans), depth per row, and the rows in an
    order that puts every parent before its children.

    Depths come from the parent links (not the ``depth`` column), by pointer jumping: each
    round doubles how far every row has looked up, so a 50,000-deep tree takes 17 rounds over
    all rows rather than 50,000 rounds, one per level.
    """
    ids = pd.Index(tree["node_id"].to_numpy(dtype="int64"))
    parent = pd.array(tree["parent_id"], dtype="Int64")
    n = len(tree)
    ppos = np.full(n, -1, dtype=np.int64)
    has = ~np.asarray(parent.isna())
    if has.any():
        ppos[has] = ids.get_indexer(np.asarray(parent[has], dtype="int64"))
    level = (ppos >= 0).astype(np.int64)  # rows between a row and `up` (its root when up < 0)
    up = ppos.copy()
    for _ in range(n.bit_length() + 1):
        going = np.flatnonzero(up >= 0)
        if not going.size:
            break
        nxt = up[going]
        level[going] += level[nxt]
        up[going] = up[nxt]
    if (up >= 0).any():
        bad = tree["node_id"].to_numpy()[up >= 0][:5].tolist()
        raise ValueError(f"tree has a cycle in parent_id (node_id {bad} never reach a root)")
    return ppos, level, np.argsort(level, kind="stable")


def _self_to_total(column: str, columns: pd.Index) -> str:
    """The column an ``other`` node's value is summed from: a self column takes the matching
    total column (the folded subtrees' whole time is the other node's own time)."""
    if column.startswith("self"):
        total = "total" + column[len("self"):]
        if total in columns:
            return total
    return column


# The import system's own frames (CPython's frozen importlib, or its source when not frozen):
# pyinstrument hides them by default, and so do the flame graphs here. What remains of an
# import is the chain of ``<module>`` frames, one per module imported.
IMPORT_MACHINERY = re.compile(r"^<frozen importlib\._bootstrap(?:_external)?>$|"
                              r"[/\\]importlib[/\\]_bootstrap(?:_external)?\.py$")


def collapse_imports(tree: pd.DataFrame) -> pd.DataFrame:
    """The call tree without the import machinery's frames (:data:`IMPORT_MACHINERY`:
    ``_find_and_load``, ``exec_module``, ``_call_with_frames_removed``...), as pyinstrument
    shows it: their children hang from the frame that ran the import (siblings that become the
    same frame are merged), their own seconds count as that frame's own; a root made of them
    stays. ``attrs["imports_hidden"]`` counts the frames hidden. Same columns as ``tree``
    (extra columns are not kept).

        >>> t = pd.DataFrame({"node_id": [0, 1, 2], "parent_id": pd.array([None, 0, 1], "Int64"),
        ...     "depth": [0, 1, 2], "function": ["<module>", "_find_and_load", "<module>"],
        ...     "file": ["app.py", "<frozen importlib._bootstrap>", "lib.py"], "line": [1, 1, 1],
        ...     "self_s": [0.0, 0.5, 2.0], "total_s": [2.5, 2.5, 2.0]})
        >>> collapse_imports(t)[["function", "file", "depth", "self_s", "total_s"]].values.tolist()
        [['<module>', 'app.py', 0, 0.5, 2.5], ['<module>', 'lib.py', 1, 2.0, 2.0]]
    """
    files = tree["file"].astype("string").fillna("")
    hidden = files.str.contains(IMPORT_MACHINERY).to_numpy(dtype=bool)
    if not hidden.any():
        out = tree[TREE_COLUMNS].copy()
        out.attrs["imports_hidden"] = 0
        return out
    ppos, _, order = _positions(tree)
    funcs, file_vals, lines = tree["function"].tolist(), tree["file"].tolist(), tree["line"].tolist()
    self_s = tree["self_s"].to_numpy(dtype=float)
    total_s = tree["total_s"].to_numpy(dtype=float)
    new_of = np.full(len(tree), -1, dtype=np.int64)   # row -> row of the new tree it went into
    rows: list[list[Any]] = []                         # new rows: parent, depth, f, file, line, self, total
    key_of: dict[tuple[int, Any, Any, Any], int] = {}
    count = 0
    for i in order.tolist():
        parent = int(new_of[ppos[i]]) if ppos[i] >= 0 else -1
        if hidden[i] and parent >= 0:  # its time stays with the frame that imported
            new_of[i] = parent
            rows[parent][5] += self_s[i]
            count += 1
            continue
        key = (parent, funcs[i], file_vals[i], lines[i])
        j = key_of.get(key)
        if j is None:
            j = key_of[key] = len(rows)
            rows.append([parent, 0 if parent < 0 else rows[parent][1] + 1, funcs[i], file_vals[i], lines[i],
                         0.0, 0.0])
        rows[j][5] += self_s[i]
        rows[j][6] += total_s[i]
        new_of[i] = j
    out = pd.DataFrame(rows, columns=["parent_id", "depth", "function", "file", "line", "self_s", "total_s"])
    out.insert(0, "node_id", np.arange(len(out), dtype="int64"))
    out["parent_id"] = pd.array([None if p < 0 else p for p in out["parent_id"]], dtype="Int64")
    out["line"] = pd.array(out["line"], dtype=tree["line"].dtype) if len(out) else out["line"]
    out.attrs["imports_hidden"] = count
    return out


def _prepared(profile_or_tree: Any, collapse: bool) -> pd.DataFrame:
    tree = _tree_of(profile_or_tree)
    return collapse_imports(tree) if collapse else tree


def prune_tree(tree: pd.DataFrame, min_fraction: float = 0.001, max_nodes: int | None = 2000,
               weight: str = "total_s") -> pd.DataFrame:
    """Fold the call paths below ``min_fraction`` of the total into one ``other`` node per parent.

    ``tree`` has the ``profile_tree`` columns (``node_id``, ``parent_id``, ``depth``,
    ``function``, ``file``, ``line``, ``self_s``, ``total_s``; extra columns are kept). A node is
    kept when its ``weight`` (default ``total_s``, seconds) is at least ``min_fraction`` of the
    whole profile (the sum of ``self_s``) and its parent is kept; when more than ``max_nodes``
    rows would remain, only the heaviest nodes are kept so that kept + ``other`` rows stay within
    ``max_nodes``. The dropped children of each kept node (and dropped roots) become one ``other``
    row (``function`` = ``"other"``) whose seconds columns are the sums of the folded subtrees'
    totals, so every parent's total still equals its self time plus its children's totals.

    Returns a new DataFrame: the kept rows (input order), then the ``other`` rows (new
    ``node_id`` values above the input's), with two added columns: ``is_other`` (bool) and
    ``folded_nodes`` (input nodes a row stands for: 1, or the folded count). ``attrs["pruned"]``
    says what was cut: ``nodes_in``, ``nodes_kept``, ``other_nodes``, ``nodes_folded``,
    ``seconds_folded``, ``total_s``, ``min_fraction``, ``threshold_s``, ``capped`` (True when
    ``max_nodes`` cut deeper than ``min_fraction``). The input is not changed.

        >>> t = pd.DataFrame({"node_id": [0, 1, 2], "parent_id": pd.array([None, 0, 0], "Int64"),
        ...     "depth": [0, 1, 1], "function": ["main", "hot", "tiny"], "file": "a.py",
        ...     "line": [1, 5, 9], "self_s": [0.0, 9.99, 0.01], "total_s": [10.0, 9.99, 0.01]})
        >>> p = prune_tree(t, min_fraction=0.01)
        >>> p["function"].tolist(), float(p.loc[p.is_other, "total_s"].sum())
        (['main', 'hot', 'other'], 0.01)
    """
    if weight not in tree.columns:
        raise ValueError(f"weight column {weight!r} not in the tree")
    n = len(tree)
    src = tree.reset_index(drop=True)
    grand = float(pd.to_numeric(src["self_s"], errors="coerce").clip(lower=0).sum()) if n else 0.0
    threshold = float(min_fraction) * grand
    w = pd.to_numeric(src[weight], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    ppos, level, _ = _positions(src)

    def select(candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keep candidates whose ancestors are all kept; anchor every dropped node to its
        nearest kept ancestor (-1: dropped at root level). Pointer jumping, as in _positions."""
        dropped = ~candidate
        up = ppos.copy()
        for _ in range(n.bit_length() + 1):  # dropped |= any ancestor dropped
            going = np.flatnonzero(up >= 0)
            if not going.size:
                break
            nxt = up[going]
            dropped[going] |= dropped[nxt]
            up[going] = up[nxt]
        kept = ~dropped
        anchor = np.where(kept, -2, ppos)  # -2: kept, no anchor
        for _ in range(n.bit_length() + 1):  # climb while the anchor is dropped too
            going = np.flatnonzero(dropped & (anchor >= 0))
            going = going[dropped[anchor[going]]]
            if not going.size:
                break
            anchor[going] = anchor[anchor[going]]
        return kept, anchor

    def rows_after(kept: np.ndarray, anchor: np.ndarray) -> int:
        return int(kept.sum()) + len(np.unique(anchor[~kept])) if n else 0

    candidate = (w >= threshold) & (w > 0) if threshold > 0 else np.ones(n, dtype=bool)
    kept, anchor = select(candidate)
    capped = bool(max_nodes is not None and n and rows_after(kept, anchor) > max_nodes)
    if capped:
        # heaviest first, ancestors before descendants on ties: a prefix of this order is a
        # connected top of the tree, so kept + others <= 2k + 1
        rank = np.lexsort((level, -w))
        eligible = rank[candidate[rank]]

        def top(k: int) -> tuple[np.ndarray, np.ndarray]:
            cand = np.zeros(n, dtype=bool)
            cand[eligible[:k]] = True
            return select(cand)

        lo, hi = max(0, (max_nodes - 1) // 2), min(len(eligible), max_nodes)
        best = top(lo)
        while lo < hi:  # largest k whose result fits
            mid = (lo + hi + 1) // 2
            trial = top(mid)
            if rows_after(*trial) <= max_nodes:
                lo, best = mid, trial
            else:
                hi = mid - 1
        kept, anchor = best

    out = src.loc[kept].copy()
    out["is_other"] = False
    out["folded_nodes"] = 1
    dropped = ~kept
    seconds_cols = [c for c in src.columns if c.endswith("_s") and pd.api.types.is_numeric_dtype(src[c])]
    others = pd.DataFrame()
    if dropped.any():
        # the top of each folded subtree: a dropped node whose parent is kept, or a dropped root
        p = ppos
        top_rows = dropped & np.where(p < 0, True, kept[np.maximum(p, 0)])
        top_anchor = anchor[top_rows]
        sums = {c: pd.Series(pd.to_numeric(src.loc[top_rows, _self_to_total(c, src.columns)],
                                           errors="coerce").fillna(0.0).to_numpy(dtype=float))
                .groupby(top_anchor).sum() for c in seconds_cols}
        counts = pd.Series(np.ones(int(dropped.sum()), dtype=np.int64)).groupby(anchor[dropped]).sum()
        anchors = counts.index.to_numpy()
        node_ids = src["node_id"].to_numpy(dtype="int64")
        next_id = int(node_ids.max()) + 1
        parent_ids = pd.array([None if a < 0 else int(node_ids[a]) for a in anchors], dtype="Int64")
        depth_src = pd.to_numeric(src["depth"], errors="coerce").fillna(0).to_numpy(dtype="int64")
        others = pd.DataFrame({
            "node_id": np.arange(next_id, next_id + len(anchors), dtype="int64"),
            "parent_id": parent_ids,
            "depth": np.array([0 if a < 0 else depth_src[a] + 1 for a in anchors], dtype="int64"),
            "function": OTHER,
            "is_other": True,
            "folded_nodes": counts.to_numpy(),
        })
        for c in seconds_cols:
            others[c] = sums[c].reindex(anchors, fill_value=0.0).to_numpy()
        others = others.reindex(columns=out.columns)
        for c in out.columns:  # keep the input's dtypes (nullable where the other row has no value)
            try:
                others[c] = others[c].astype(out[c].dtype)
            except (TypeError, ValueError):
                pass
    result = pd.concat([out, others], ignore_index=True) if len(others) else out.reset_index(drop=True)
    result["is_other"] = result["is_other"].astype(bool)
    result["folded_nodes"] = result["folded_nodes"].astype("int64")
    result.attrs = dict(tree.attrs)
    folded_seconds = float(others[weight].sum()) if len(others) else 0.0
    result.attrs["pruned"] = {
        "nodes_in": n, "nodes_kept": int(kept.sum()), "other_nodes": len(others),
        "nodes_folded": int(dropped.sum()), "seconds_folded": folded_seconds, "total_s": grand,
        "min_fraction": float(min_fraction), "threshold_s": threshold, "capped": capped,
    }
    return result


def _subtree_totals(values: np.ndarray, ppos: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Sum ``values`` over each node's subtree (the node included): one pass over the rows,
    deepest level first, each level in row order, whatever the depth."""
    total = values.astype(float).tolist()
    up = ppos.tolist()
    for row in np.lexsort((np.arange(len(up)), -np.asarray(level))).tolist():
        if up[row] >= 0:
            total[up[row]] += total[row]
    return np.asarray(total, dtype=float)


def diff_tree(before: Any, after: Any, size: str = "max") -> pd.DataFrame:
    """Match two call trees path by path: seconds before and after for every call path.

    A call path is the sequence of (function, file) from the root, so line numbers and threads
    do not split a path; paths present on one side only get 0 seconds on the other. Returns a
    tree (``node_id``, ``parent_id``, ``depth``, ``function``, ``file``, ``line``) with
    ``self_before_s``, ``total_before_s``, ``self_after_s``, ``total_after_s``,
    ``delta_total_s`` (after - before, seconds), ``ratio`` (after / before total; inf when new),
    and the size to draw: ``self_s`` = the ``size`` side's self seconds (``"before"``,
    ``"after"``, or ``"max"`` of the two so that vanished and new paths both stay visible) and
    ``total_s`` = its sum over the subtree.

        >>> b = pd.DataFrame({"node_id": [0, 1], "parent_id": pd.array([None, 0], "Int64"),
        ...     "depth": [0, 1], "function": ["main", "slow"], "file": "a.py", "line": [1, 5],
        ...     "self_s": [1.0, 9.0], "total_s": [10.0, 9.0]})
        >>> a = b.assign(self_s=[1.0, 1.0], total_s=[2.0, 1.0])
        >>> diff_tree(b, a)[["function", "total_before_s", "total_after_s", "delta_total_s"]].values.tolist()
        [['main', 10.0, 2.0, -8.0], ['slow', 9.0, 1.0, -8.0]]
    """
    if size not in ("before", "after", "max"):
        raise ValueError("size must be 'before', 'after' or 'max'")
    # Each row gets the id of its call path, shared by both sides: (its parent's path id, its
    # frame) numbers paths parents first, one dict lookup per row (no path strings, whose
    # total length grows with the square of the depth).
    path_of: dict[tuple[int, Any], int] = {}
    path_parent: list[int] = []
    path_depth: list[int] = []
    rows = []
    for name, obj in (("before", before), ("after", after)):
        t = _tree_of(obj).reset_index(drop=True)
        ppos, level, order = _positions(t)
        frames = list(zip(t["function"].astype("string").fillna("").tolist(),
                          t["file"].astype("string").fillna("").tolist(), strict=True))
        up, depth, path = ppos.tolist(), level.tolist(), [0] * len(t)
        for row in order.tolist():
            key = (path[up[row]] if up[row] >= 0 else -1, frames[row])
            found = path_of.get(key)
            if found is None:
                found = path_of[key] = len(path_parent)
                path_parent.append(key[0])
                path_depth.append(depth[row])
            path[row] = found
        rows.append(pd.DataFrame({"path": np.asarray(path, dtype=np.int64), "side": name,
                                  "function": t["function"].astype("string"),
                                  "file": t["file"].astype("string"),
                                  "line": pd.array(t["line"], dtype="Int64"),
                                  "self_s": pd.to_numeric(t["self_s"]).astype(float),
                                  "total_s": pd.to_numeric(t["total_s"]).astype(float)}))
    npaths = len(path_parent)
    # rows in the order of their call paths, siblings sorted by name (as flamegraph.pl does):
    # a depth-first walk, parents before their children
    frame_of = {path: frame for (_, frame), path in path_of.items()}
    children: dict[int, list[int]] = {}
    for path, up in enumerate(path_parent):
        children.setdefault(up, []).append(path)
    order: list[int] = []
    todo = [-1]
    while todo:
        path = todo.pop()
        if path >= 0:
            order.append(path)
        kids = children.get(path, ())
        todo.extend(sorted(kids, key=lambda k: "\x1e".join(frame_of[k]), reverse=True))
    rank = np.empty(npaths, dtype=np.int64)
    rank[order] = np.arange(npaths)
    both = pd.concat(rows, ignore_index=True)
    both["path"] = rank[both["path"].to_numpy()] if npaths else both["path"]
    first = both.groupby("path", sort=True).agg(function=("function", "first"), file=("file", "first"),
                                                 line=("line", "min")).reindex(range(npaths))
    ppos = np.asarray([path_parent[p] for p in order], dtype=np.int64)
    ppos = np.where(ppos >= 0, rank[np.maximum(ppos, 0)], -1) if npaths else ppos
    out = pd.DataFrame({
        "node_id": np.arange(npaths, dtype="int64"),
        "parent_id": pd.array([None if p < 0 else int(p) for p in ppos], dtype="Int64"),
        "depth": np.asarray(path_depth, dtype="int64")[order] if npaths else np.zeros(0, dtype="int64"),
        "function": first["function"].to_numpy(), "file": first["file"].to_numpy(),
        "line": pd.array(first["line"], dtype="Int64"),
    })
    for name, side in both.groupby("side", sort=False):
        for c in ("self", "total"):
            out[f"{c}_{name}_s"] = np.bincount(side["path"].to_numpy(), weights=side[f"{c}_s"].to_numpy(),
                                               minlength=npaths)
    for c in ("self_before_s", "total_before_s", "self_after_s", "total_after_s"):
        if c not in out:
            out[c] = 0.0
    out = out[[*out.columns[:6], "self_before_s", "total_before_s", "self_after_s", "total_after_s"]]
    out["delta_total_s"] = out["total_after_s"] - out["total_before_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["total_after_s"] / out["total_before_s"]
    if size == "max":
        out["self_s"] = np.maximum(out["self_before_s"], out["self_after_s"])
    else:
        out["self_s"] = out[f"self_{size}_s"]
    out["total_s"] = _subtree_totals(out["self_s"].to_numpy(), ppos, out["depth"].to_numpy())
    return out


# ---- drawing ---------------------------------------------------------------------------------

def _labels(tree: pd.DataFrame) -> list[str]:
    return [f"other ({n:,} nodes)" if o else (str(f) if f is not None and f is not pd.NA else "?")
            for f, o, n in zip(tree["function"], tree["is_other"], tree["folded_nodes"], strict=True)]


def _cut_text(p: dict[str, Any]) -> str:
    if not p["nodes_folded"]:
        return f"all {p['nodes_in']:,} call paths shown"
    pct = 100 * p["seconds_folded"] / p["total_s"] if p["total_s"] else 0.0
    shown = p["nodes_in"] - p["nodes_folded"]
    why = (f"beyond the {shown:,} heaviest, to stay within the node limit" if p.get("capped")
           else f"each path < {100 * p['min_fraction']:.2g}% of the total")
    return (f"{shown:,} of {p['nodes_in']:,} call paths shown; "
            f"{p['nodes_folded']:,} folded into {p['other_nodes']:,} 'other' nodes "
            f"({p['seconds_folded']:.3g} s, {pct:.1f}% of the time; {why})")


def _imports_text(hidden: int) -> str:
    return (f"{hidden:,} import-machinery frames hidden (their time is the importing frame's own)"
            if hidden else "")


# A duration and a call tree that differ by less than this share are the same (rounding).
_SAME_SHARE = 0.001


def _outside_text(duration: float, drawn: float) -> str:
    """Say so when the profile's duration differs from the seconds its call tree holds."""
    if abs(duration - drawn) <= max(_SAME_SHARE * abs(duration), 1e-9):
        return ""
    if duration > drawn:
        return (f"the profile's duration is {duration:.3g} s, {duration - drawn:.3g} s of it outside the "
                "call tree (percentages are of the duration)")
    return (f"the call tree holds {drawn:.3g} s, {drawn - duration:.3g} s more than the profile's "
            f"duration of {duration:.3g} s (percentages are of the duration)")


def _outside_pair(before: Any, after: Any, before_drawn: float, after_drawn: float) -> str:
    """Say so when two Profiles' durations differ from the seconds their call trees hold."""
    durations = [None if isinstance(p, pd.DataFrame) else getattr(p, "duration_s", None) for p in (before, after)]
    if any(d is None for d in durations):
        return ""
    b, a = (float(d) for d in durations)
    if not (_outside_text(b, before_drawn) or _outside_text(a, after_drawn)):
        return ""
    return f"profile durations {b:.3g} s -> {a:.3g} s (the difference is outside the call trees)"


SUBTITLE_CHARS = 115  # about what fits on one line of a figure 900 pixels wide


def subtitle(parts: list[str], width: int = SUBTITLE_CHARS) -> tuple[str, int]:
    """Subtitle parts joined with "; " and broken into lines of about ``width`` characters
    (``<br>``), so a long subtitle wraps inside the figure instead of running off its edge;
    returns the text and its number of lines.

        >>> subtitle(["a" * 10, "b" * 10], width=15)
        ('aaaaaaaaaa;<br>bbbbbbbbbb', 2)
    """
    lines: list[str] = []
    for part in (p for p in parts if p):
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += "; " + part
        else:
            if lines:
                lines[-1] += ";"
            lines.append(part)
    return "<br>".join(lines), len(lines)


def _title(title: str, parts: list[str]) -> tuple[dict[str, Any], int]:
    """A figure title with its wrapped subtitle, and the top margin they need (pixels)."""
    text, n = subtitle(parts)
    return {"text": title, "subtitle": {"text": text}}, 60 + 16 * n


def _ids(tree: pd.DataFrame) -> tuple[list[str], list[str]]:
    ids = ["n" + str(int(i)) for i in tree["node_id"]]
    parents = ["all" if p is pd.NA or p is None else "n" + str(int(p)) for p in tree["parent_id"]]
    return ids, parents


def _tiling(orientation: str) -> dict[str, Any]:
    if orientation == "flame":  # root at the bottom, as in Brendan Gregg's flame graphs
        return {"orientation": "v", "flip": "y"}
    if orientation == "icicle":
        return {"orientation": "v"}
    raise ValueError("orientation must be 'icicle' or 'flame'")


def flame(profile_or_tree: Any, *, min_fraction: float = 0.001, max_nodes: int = 2000,
          orientation: str = "icicle", title: str | None = None, height: int = 600,
          hide_imports: bool = True) -> go.Figure:
    """An icicle / flame graph of a profile's call tree, coloured by package.

    Each box is one call path (ids unique per path); its width is the path's total seconds.
    Hover shows the function, file:line, package, self and total seconds and percent of the
    profile. Paths below ``min_fraction`` of the total (or beyond the ``max_nodes`` heaviest) are
    folded by :func:`prune_tree` into grey ``other (N nodes)`` boxes, and the subtitle says how
    many paths and seconds were folded. Percentages are of the Profile's ``duration_s`` (as in
    ``functions()``); when that differs from the seconds in its call tree (samples with an empty
    stack, or cProfile's estimated tree) the subtitle says by how much.
    ``orientation="flame"`` puts the root at the bottom. With ``hide_imports`` (default) the
    import machinery's frames are hidden, as pyinstrument does (:func:`collapse_imports`), so a
    deep import reads as the chain of modules it loaded; the subtitle counts them.

        >>> fig = flame(prof, min_fraction=0.005)               # doctest: +SKIP
    """
    tree = _prepared(profile_or_tree, hide_imports)
    pruned = prune_tree(tree, min_fraction=min_fraction, max_nodes=max_nodes - 1 if max_nodes else None)
    info = pruned.attrs["pruned"]
    total = info["total_s"]
    ids, parents = _ids(pruned)
    packages = [OTHER if o else package_of(f) for f, o in zip(pruned["file"], pruned["is_other"], strict=True)]
    pkg_order = (pd.Series(pruned["self_s"].to_numpy(dtype=float)).groupby(packages).sum()
                 .sort_values(ascending=False).index.tolist())
    free = iter(PALETTE * (1 + len(pkg_order) // len(PALETTE)))
    colour_of = {p: PACKAGE_COLOURS[p] if p in PACKAGE_COLOURS else next(free) for p in pkg_order}
    self_s = pruned["self_s"].to_numpy(dtype=float)
    total_s = pruned["total_s"].to_numpy(dtype=float)
    # percentages of the profile's duration, as in functions(): a Profile may hold time outside
    # its call tree (samples with an empty stack; cProfile's tree is estimated from callers)
    duration = None if isinstance(profile_or_tree, pd.DataFrame) else getattr(profile_or_tree, "duration_s", None)
    base = float(duration) if duration else total
    pct = 100 / base if base else 0.0
    wheres = [f"{n:,} call paths folded here" if o else where(short_file(f), ln)
              for f, ln, o, n in zip(pruned["file"], pruned["line"], pruned["is_other"],
                                     pruned["folded_nodes"], strict=True)]
    custom = [[w, pk, round(float(s), 6), round(float(s * pct), 2), round(float(t), 6), round(float(t * pct), 2)]
              for w, pk, s, t in zip(wheres, packages, self_s, total_s, strict=True)]
    labels = _labels(pruned)
    # an explicit root so several roots (threads, processes) share one box holding the total
    ids, parents, labels = ["all", *ids], ["", *parents], [f"all ({total:.3g} s)", *labels]
    custom = [["whole profile", "", 0.0, 0.0, round(total, 6), round(total * pct, 2)], *custom]
    colours = ["#E8E8E8", *[colour_of[p] for p in packages]]
    values = [0.0, *np.clip(self_s, 0, None).tolist()]
    fig = go.Figure(go.Icicle(
        ids=ids, parents=parents, labels=labels, values=values, branchvalues="remainder",
        customdata=custom, marker={"colors": colours}, tiling=_tiling(orientation),
        hovertemplate=("<b>%{label}</b><br>%{customdata[0]}<br>package: %{customdata[1]}<br>"
                       "self: %{customdata[2]:.4g} s (%{customdata[3]:.1f}%)<br>"
                       "total: %{customdata[4]:.4g} s (%{customdata[5]:.1f}%)<extra></extra>"),
        sort=False,
    ))
    key = "  ".join(f"<span style='color:{colour_of[p]}'>\u25a0</span> {html.escape(p or 'no file')}"
                    for p in pkg_order)
    heading, top = _title(title or f"Flame graph: {total:.3g} s of samples (box width = total seconds)",
                          [_cut_text(info), _imports_text(tree.attrs.get("imports_hidden", 0)),
                           _outside_text(base, total)])
    fig.update_layout(
        title=heading, height=height, margin={"t": top, "l": 10, "r": 10, "b": 40},
        annotations=[{"text": "colour = package: " + key, "showarrow": False, "xref": "paper",
                      "yref": "paper", "x": 0, "y": -0.01, "xanchor": "left", "yanchor": "top"}],
    )
    fig.layout.meta = {"pruned": info}
    return fig


def diff_flame(before: Any, after: Any, *, size: str = "max", min_fraction: float = 0.001,
               max_nodes: int = 2000, orientation: str = "icicle", title: str | None = None,
               height: int = 600, hide_imports: bool = True) -> go.Figure:
    """A differential flame graph: call paths of two profiles coloured by the change in time.

    Paths are matched by :func:`diff_tree`; box width is the ``size`` side's seconds (``"max"``
    of before and after by default, so removed and new paths both show); colour is
    ``delta_total_s`` (after - before) on a diverging scale centred on 0: red took longer, blue
    got faster. Hover shows before, after, delta and ratio. Small paths are folded as in
    :func:`flame` and the subtitle says so; the import machinery is hidden as in :func:`flame`.

        >>> fig = diff_flame(slow_profile, fixed_profile)        # doctest: +SKIP
    """
    d = diff_tree(_prepared(before, hide_imports), _prepared(after, hide_imports), size=size)
    pruned = prune_tree(d, min_fraction=min_fraction, max_nodes=max_nodes - 1 if max_nodes else None)
    info = pruned.attrs["pruned"]
    ids, parents = _ids(pruned)
    labels = _labels(pruned)
    tb = pruned["total_before_s"].to_numpy(dtype=float)
    ta = pruned["total_after_s"].to_numpy(dtype=float)
    delta = ta - tb
    before_total, after_total = float(d["self_before_s"].sum()), float(d["self_after_s"].sum())
    ratio = [("new" if a > 0 else "-") if b == 0 else f"{a / b:.3g}x" for b, a in zip(tb, ta, strict=True)]
    wheres = [f"{n:,} call paths folded here" if o else where(short_file(f), ln)
              for f, ln, o, n in zip(pruned["file"], pruned["line"], pruned["is_other"],
                                     pruned["folded_nodes"], strict=True)]
    custom = [[w, round(float(b), 6), round(float(a), 6), round(float(x), 6), r]
              for w, b, a, x, r in zip(wheres, tb, ta, delta, ratio, strict=True)]
    ids, parents, labels = ["all", *ids], ["", *parents], ["all", *labels]
    all_ratio = f"{after_total / before_total:.3g}x" if before_total else "new"
    custom = [["whole profile", round(before_total, 6), round(after_total, 6),
               round(after_total - before_total, 6), all_ratio], *custom]
    colours = [after_total - before_total, *delta.tolist()]
    span = float(np.max(np.abs(colours))) if len(colours) else 1.0
    values = [0.0, *np.clip(pruned["self_s"].to_numpy(dtype=float), 0, None).tolist()]
    fig = go.Figure(go.Icicle(
        ids=ids, parents=parents, labels=labels, values=values, branchvalues="remainder",
        customdata=custom, tiling=_tiling(orientation), sort=False,
        marker={"colors": colours, "colorscale": "RdBu_r", "cmid": 0.0, "cmin": -span or -1, "cmax": span or 1,
                "showscale": True, "colorbar": {"title": {"text": "Δ total (s)<br>after - before"}}},
        hovertemplate=("<b>%{label}</b><br>%{customdata[0]}<br>before: %{customdata[1]:.4g} s<br>"
                       "after: %{customdata[2]:.4g} s<br>delta: %{customdata[3]:+.4g} s "
                       "(%{customdata[4]})<extra></extra>"),
    ))
    heading, top = _title(title or f"Differential flame graph (width = {size} seconds, colour = change)",
                          [f"{before_total:.3g} s before -> {after_total:.3g} s after "
                           f"({after_total - before_total:+.3g} s)", _cut_text(info),
                           _outside_pair(before, after, before_total, after_total)])
    fig.update_layout(
        title=heading, height=height, margin={"t": top, "l": 10, "r": 10, "b": 10},
    )
    fig.layout.meta = {"pruned": info}
    return fig

