"""Flame figure for a generated 100,000-node profile: build time and HTML size.

Targets (issue 3): the figure built in under 2 s; its HTML without plotly.js under 2 MB.

    python benchmarks/profiles_plots.py [--nodes 100000] [--repeat 3]

The profile is generated (random call tree with heavy-tailed self times, depth up to ~40, a
few hundred distinct functions over app / stdlib / site-packages files) as the canonical
``profile_tree`` DataFrame, and also through the real Profile when ``toolkit.profiles`` can build
one from collapsed stacks (so ``tk.plots.flame(profile)`` is timed end to end).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from toolkit.plots.flame import flame, prune_tree

FILES = (["app/handlers.py", "app/serialize.py", "app/models.py", "app/parse.py"]
         + [f"/usr/lib/python3.11/{m}.py" for m in ("json/decoder", "re/_parser", "threading", "copy")]
         + [f"/venv/lib/python3.11/site-packages/{p}/core.py" for p in ("sqlalchemy", "pydantic", "jinja2")])


def generate_tree(nodes: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """A random call tree of ``nodes`` call paths (canonical profile_tree columns, seconds)."""
    rng = np.random.default_rng(seed)
    parent = np.full(nodes, -1, dtype=np.int64)
    depth = np.zeros(nodes, dtype=np.int64)
    # preferential attachment towards recent, shallow nodes gives a bushy tree of depth ~10-40
    for i in range(1, nodes):
        p = int(rng.integers(max(0, i - 50), i)) if rng.random() < 0.7 else int(rng.integers(0, i))
        if depth[p] >= 40:
            p = 0
        parent[i] = p
        depth[i] = depth[p] + 1
    self_s = rng.pareto(1.2, nodes) * 1e-3
    total = self_s.copy()
    for i in range(nodes - 1, 0, -1):
        total[parent[i]] += total[i]
    fn = rng.integers(0, 400, nodes)
    return pd.DataFrame({
        "node_id": np.arange(nodes, dtype=np.int64),
        "parent_id": pd.array([None if p < 0 else int(p) for p in parent], dtype="Int64"),
        "depth": depth, "function": [f"func_{f}" for f in fn],
        "file": [FILES[f % len(FILES)] for f in fn], "line": pd.array(fn * 7 + 1, dtype="Int64"),
        "self_s": self_s, "total_s": total,
    })


def generate_profile(nodes: int = 100_000, seed: int = 0):
    """The same kind of tree as a real :class:`toolkit.Profile`: one stack per call path (root to
    node) weighted by the node's self time, fed through ``ProfileBuilder`` as readers do."""
    from toolkit.profiles import Frame, ProfileBuilder

    tree = generate_tree(nodes, seed)
    parent = tree["parent_id"].fillna(-1).to_numpy(dtype="int64")
    frames = [Frame(f"func_{i % 5000}", FILES[i % len(FILES)], int(i % 700) + 1) for i in range(nodes)]
    b = ProfileBuilder()
    ids = [b.frame(f) for f in frames]
    stacks: list[tuple[int, ...]] = []
    for i in range(nodes):
        stacks.append((ids[i],) if parent[i] < 0 else stacks[parent[i]] + (ids[i],))
    for s, w in zip(stacks, tree["self_s"].to_numpy(), strict=True):
        b.add_ids(s, float(w), 1)
    return b.build(format="generated", rate_hz=1000.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tree = generate_tree(args.nodes)
    print("load average (1/5/15 min): {:.1f} {:.1f} {:.1f} on {} cores (shared machine)".format(
        *os.getloadavg(), os.cpu_count()))
    print(f"tree: {len(tree):,} nodes, {tree['self_s'].sum():.1f} s, max depth {tree['depth'].max()}")
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        fig = flame(tree)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    pruned = prune_tree(tree, max_nodes=1999)
    prune_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    page = fig.to_html(include_plotlyjs=False)
    html_s = time.perf_counter() - t0
    info = fig.layout.meta["pruned"]
    print(f"prune_tree alone: {prune_s:.3f} s -> {len(pruned):,} rows")
    print(f"flame(): best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
          f"over {args.repeat} runs; figure nodes {len(fig.data[0].ids):,} "
          f"({info['nodes_kept']:,} kept + {info['other_nodes']:,} other + root; "
          f"{info['nodes_folded']:,} folded = {info['seconds_folded']:.2f} s)")
    print(f"to_html(include_plotlyjs=False): {len(page.encode()) / 1e6:.2f} MB in {html_s:.2f} s")

    # baseline: the same figure with nothing folded (every one of the 100,000 paths drawn)
    t0 = time.perf_counter()
    full = flame(tree, min_fraction=0, max_nodes=None)
    full_s = time.perf_counter() - t0
    full_html = full.to_html(include_plotlyjs=False)
    print(f"baseline, nothing folded: flame(min_fraction=0, max_nodes=None) {full_s:.2f} s, "
          f"{len(full.data[0].ids):,} boxes, HTML without plotly.js {len(full_html.encode()) / 1e6:.1f} MB")

    t0 = time.perf_counter()
    prof = generate_profile(args.nodes)
    build_s = time.perf_counter() - t0
    runs = []
    for _ in range(args.repeat):
        prof = generate_profile(args.nodes)  # fresh each time: nothing cached in the model
        t0 = time.perf_counter()
        ptree = prof.tree()
        t1 = time.perf_counter()
        fig = flame(ptree)
        t2 = time.perf_counter()
        runs.append((t2 - t0, t1 - t0, t2 - t1))
    runs.sort()
    total, tree_s, draw_s = runs[len(runs) // 2]
    page = fig.to_html(include_plotlyjs=False)
    print(f"Profile from {args.nodes:,} stacks (ProfileBuilder, {build_s:.2f} s, {len(ptree):,} tree nodes): "
          f"flame end to end, median of {args.repeat}: {total:.2f} s = prof.tree() {tree_s:.2f} s + "
          f"flame(tree) {draw_s:.2f} s (best end to end {runs[0][0]:.2f} s); {len(fig.data[0].ids):,} boxes, "
          f"HTML without plotly.js {len(page.encode()) / 1e6:.2f} MB")

if __name__ == "__main__":
    main()
