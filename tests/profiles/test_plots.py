"""Flame graphs, differential flame graphs and the top-functions chart: the pruning they rely on
(node counts, the exact seconds an "other" node carries), ids, hover text and colours."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit.plots.flame import (
    collapse_imports,
    diff_flame,
    diff_tree,
    flame,
    package_of,
    prune_tree,
    subtitle,
)
from toolkit.plots.functions import top, top_functions
from toolkit.profiles import Frame, ProfileBuilder

STDLIB_JSON = "/usr/lib/python3.11/json/decoder.py"


def tree_of(rows: list[tuple[int, int | None, str, str, float]]) -> pd.DataFrame:
    """A profile_tree from (node_id, parent_id, function, file, self_s); depth and total_s are
    computed so the tree is consistent (total = self + children's totals)."""
    df = pd.DataFrame(rows, columns=["node_id", "parent_id", "function", "file", "self_s"])
    parent = dict(zip(df["node_id"], df["parent_id"], strict=True))
    depth = {}
    for nid in df["node_id"]:
        d, p = 0, parent[nid]
        while p is not None and not pd.isna(p):
            d, p = d + 1, parent[p]
        depth[nid] = d
    total = dict(zip(df["node_id"], df["self_s"], strict=True))
    for nid in sorted(depth, key=depth.get, reverse=True):
        p = parent[nid]
        if p is not None and not pd.isna(p):
            total[p] += total[nid]
    return pd.DataFrame({
        "node_id": df["node_id"].astype("int64"),
        "parent_id": pd.array([None if pd.isna(p) else int(p) for p in df["parent_id"]], dtype="Int64"),
        "depth": [depth[n] for n in df["node_id"]], "function": df["function"], "file": df["file"],
        "line": pd.array([10 * (i + 1) for i in range(len(df))], dtype="Int64"),
        "self_s": df["self_s"].astype(float), "total_s": [total[n] for n in df["node_id"]],
    })


@pytest.fixture
def small_tree() -> pd.DataFrame:
    # main 10 s: handle 9.9 s (parse 9.0 s, tiny_a 0.004 s -> tiny_b 0.003 s), tiny_c 0.002 s;
    # a second root `idle` 0.001 s.
    return tree_of([
        (0, None, "main", "app/server.py", 0.091),
        (1, 0, "handle", "app/server.py", 0.9),
        (2, 1, "parse", STDLIB_JSON, 9.0),
        (3, 1, "tiny_a", "app/util.py", 0.004),
        (4, 3, "tiny_b", "app/util.py", 0.003),
        (5, 0, "tiny_c", "/venv/lib/python3.11/site-packages/yaml/reader.py", 0.002),
        (6, None, "idle", "threading.py", 0.001),
    ])


def random_tree(nodes: int, seed: int = 1) -> pd.DataFrame:
    """A random call tree (parents before children) with heavy-tailed self times."""
    rng = np.random.default_rng(seed)
    i = np.arange(1, nodes)
    parent = np.concatenate([[-1], (rng.random(nodes - 1) * i).astype(np.int64)])
    depth = np.zeros(nodes, dtype=np.int64)
    for k in range(1, nodes):
        depth[k] = depth[parent[k]] + 1
    self_s = rng.pareto(1.5, nodes) * 1e-3
    total = self_s.copy()
    for k in range(nodes - 1, 0, -1):
        total[parent[k]] += total[k]
    return pd.DataFrame({
        "node_id": np.arange(nodes, dtype=np.int64) + 1000,
        "parent_id": pd.array([None if p < 0 else int(p) + 1000 for p in parent], dtype="Int64"),
        "depth": depth, "function": [f"f{k % 300}" for k in range(nodes)], "file": "app/x.py",
        "line": pd.array(np.arange(nodes) % 500 + 1, dtype="Int64"), "self_s": self_s, "total_s": total,
    })


def assert_totals_consistent(pruned: pd.DataFrame, total: str = "total_s", self_: str = "self_s") -> None:
    """Every row's total equals its own time plus its children's totals."""
    children = pruned.groupby("parent_id")[total].sum()
    expect = pruned[self_] + pruned["node_id"].map(children).fillna(0.0)
    np.testing.assert_allclose(pruned[total].to_numpy(), expect.to_numpy(), rtol=1e-9, atol=1e-12)


def test_docstring_examples_run():
    for name in ("toolkit.plots.flame", "toolkit.plots.functions", "toolkit.magic", "toolkit.profiles.files"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name


# ---- package_of -------------------------------------------------------------------------------

@pytest.mark.parametrize("file, package", [
    ("/usr/lib/python3.11/json/decoder.py", "stdlib"),
    ("/root/.pyenv/versions/3.11.7/lib/python3.11/threading.py", "stdlib"),
    ("<frozen importlib._bootstrap>", "stdlib"),
    ("json/decoder.py", "stdlib"),             # py-spy's shortened path
    ("threading.py", "stdlib"),
    ("/work/venv/lib/python3.11/site-packages/pandas/core/frame.py", "pandas"),
    ("/usr/lib/python3/dist-packages/yaml/reader.py", "yaml"),
    ("/venv/lib/python3.11/site-packages/six.py", "six"),
    ("/venv/lib/python3.11/site-packages/__editable___perf_toolkit_0_1_0_finder.py", "site-packages"),
    ("libc.so.6", "native"),
    ("~", "builtins"),
    ("", ""),
    (None, ""),
    ("demo.py", "app"),
    ("/srv/shop/orders/views.py", "app"),
    ("<ipython-input-3-abc>", "app"),
])
def test_package_of(file, package):
    assert package_of(file) == package


# ---- prune_tree -------------------------------------------------------------------------------

def test_prune_folds_small_children_into_one_other_per_parent(small_tree):
    # GIVEN a 10.001 s tree whose tiny paths are each under 0.1% of the total
    before = small_tree.copy()
    # WHEN pruned at 0.1%
    p = prune_tree(small_tree, min_fraction=0.001)
    # THEN main, handle, parse are kept; tiny_a+tiny_b (under handle), tiny_c (under main) and the
    # root `idle` become three other nodes carrying exactly their subtrees' seconds
    kept = p[~p["is_other"]]
    assert kept["function"].tolist() == ["main", "handle", "parse"]
    others = p[p["is_other"]].set_index("parent_id")
    assert len(others) == 3
    assert others.loc[1, "total_s"] == pytest.approx(0.007) and others.loc[1, "folded_nodes"] == 2
    assert others.loc[0, "total_s"] == pytest.approx(0.002) and others.loc[0, "folded_nodes"] == 1
    root_other = p[p["is_other"] & p["parent_id"].isna()]
    assert root_other["total_s"].tolist() == [pytest.approx(0.001)]
    assert (others["self_s"] == others["total_s"]).all()  # an other node is a leaf
    assert p.loc[p["is_other"], "function"].eq("other").all()
    assert p.loc[p["is_other"] & p["parent_id"].eq(1), "depth"].tolist() == [2]
    # ids unique, other ids new, totals add up, seconds preserved
    assert p["node_id"].is_unique and p.loc[p["is_other"], "node_id"].min() > small_tree["node_id"].max()
    assert_totals_consistent(p)
    assert p["self_s"].sum() == pytest.approx(small_tree["self_s"].sum(), rel=1e-12)
    info = p.attrs["pruned"]
    assert info == {"nodes_in": 7, "nodes_kept": 3, "other_nodes": 3, "nodes_folded": 4,
                    "seconds_folded": pytest.approx(0.010), "total_s": pytest.approx(10.001),
                    "min_fraction": 0.001, "threshold_s": pytest.approx(0.010001), "capped": False}
    # the input is untouched
    pd.testing.assert_frame_equal(small_tree, before)


def test_prune_with_zero_fraction_keeps_everything(small_tree):
    p = prune_tree(small_tree, min_fraction=0, max_nodes=None)
    assert len(p) == 7 and not p["is_other"].any() and p.attrs["pruned"]["seconds_folded"] == 0.0


def test_prune_never_keeps_a_child_of_a_folded_parent():
    # GIVEN a parent just under the threshold with one heavy-enough child (inconsistent input:
    # the child's total exceeds the parent's), the child cannot float without its parent
    t = tree_of([(0, None, "root", "a.py", 1.0), (1, 0, "mid", "a.py", 0.0), (2, 1, "leaf", "a.py", 0.05)])
    t.loc[1, "total_s"] = 0.04
    p = prune_tree(t, min_fraction=0.045)
    assert p.loc[~p["is_other"], "function"].tolist() == ["root"]
    other = p[p["is_other"]].iloc[0]
    assert other["parent_id"] == 0 and other["folded_nodes"] == 2 and other["total_s"] == pytest.approx(0.04)


def test_prune_100k_nodes_to_max_nodes_keeps_every_second():
    # GIVEN a random 100,000-node tree
    t = random_tree(100_000)
    # WHEN pruned to at most 2,000 rows
    p = prune_tree(t, min_fraction=0.0001, max_nodes=2000)
    info = p.attrs["pruned"]
    # THEN at most 2,000 rows, heaviest kept, and the seconds still add up exactly
    assert len(p) <= 2000 and len(p) == info["nodes_kept"] + info["other_nodes"] and info["capped"]
    assert info["nodes_kept"] + info["nodes_folded"] == 100_000
    assert p.loc[p["is_other"], "folded_nodes"].sum() == info["nodes_folded"]
    assert p.loc[p["is_other"], "total_s"].sum() == pytest.approx(info["seconds_folded"], rel=1e-12)
    assert p["self_s"].sum() == pytest.approx(t["self_s"].sum(), rel=1e-9)
    assert_totals_consistent(p)
    assert p["node_id"].is_unique
    # every kept node is at least as heavy as any folded subtree top
    kept_min = p.loc[~p["is_other"], "total_s"].min()
    top_dropped = t[~t["node_id"].isin(p["node_id"]) & t["parent_id"].isin(p.loc[~p["is_other"], "node_id"])]
    assert top_dropped["total_s"].max() <= kept_min


def test_prune_rejects_cycles():
    t = tree_of([(0, None, "a", "a.py", 1.0), (1, 0, "b", "a.py", 1.0)])
    t.loc[0, "parent_id"] = 1
    with pytest.raises(ValueError, match="cycle"):
        prune_tree(t)


# ---- flame --------------------------------------------------------------------------------------

def test_flame_ids_hover_colours_and_cut(small_tree):
    fig = flame(small_tree, min_fraction=0.001)
    ic = fig.data[0]
    # one box per kept path + 3 other nodes + the explicit root; ids unique
    assert len(ic.ids) == 3 + 3 + 1 and len(set(ic.ids)) == len(ic.ids)
    assert ic.ids[0] == "all" and ic.parents[0] == ""
    labels = list(ic.labels)
    assert labels[1:4] == ["main", "handle", "parse"]
    assert sorted(labels[4:]) == ["other (1 nodes)", "other (1 nodes)", "other (2 nodes)"]
    # parse: stdlib file, self 9 s = 89.99% of 10.001 s
    parse = ic.customdata[labels.index("parse")]
    assert parse[0] == "json/decoder.py:30" and parse[1] == "stdlib"  # the stdlib by module, as tables show it
    assert parse[2] == pytest.approx(9.0) and parse[3] == pytest.approx(89.99, abs=0.01)
    assert parse[4] == pytest.approx(9.0) and parse[5] == pytest.approx(89.99, abs=0.01)
    handle = ic.customdata[labels.index("handle")]
    assert handle[4] == pytest.approx(9.907) and handle[1] == "app"
    other2 = ic.customdata[labels.index("other (2 nodes)")]
    assert other2[0] == "2 call paths folded here" and other2[4] == pytest.approx(0.007)
    for text in ("self: %{customdata[2]", "total: %{customdata[4]", "%)", "package: %{customdata[1]}"):
        assert text in ic.hovertemplate
    # widths: remainder of self seconds, so plotly's totals are the tree's totals
    assert ic.branchvalues == "remainder" and list(ic.values[1:4]) == pytest.approx([0.091, 0.9, 9.0])
    colours = dict(zip(labels, ic.marker.colors, strict=True))
    assert colours["parse"] == "#F58518" and colours["handle"] == "#4C78A8"
    assert colours["other (2 nodes)"] == "#BAB0AC"
    # the cut is stated, not hidden
    sub = fig.layout.title.subtitle.text
    assert sub == ("3 of 7 call paths shown; 4 folded into 3 'other' nodes (0.01 s, 0.1% of the time; "
                   "each path < 0.1% of the total)")
    assert "s" in fig.layout.title.text and "total seconds" in fig.layout.title.text
    assert "stdlib" in fig.layout.annotations[0].text and fig.layout.meta["pruned"]["nodes_folded"] == 4


def test_flame_of_a_real_profile_draws_every_path():
    # GIVEN a Profile built from stacks (main->work 0.02 s, main 0.01 s, main->log->write 0.001 s)
    b = ProfileBuilder()
    b.add([Frame("main", "app.py", 3), Frame("work", "app.py", 9)], 0.02, samples=2)
    b.add([Frame("main", "app.py", 4)], 0.01, samples=1)
    b.add([Frame("main", "app.py", 5), Frame("log", "/usr/lib/python3.11/logging/__init__.py", 1),
           Frame("write", "/usr/lib/python3.11/logging/__init__.py", 2)], 0.001, samples=1)
    prof = b.build(format="example", rate_hz=1000.0)
    # WHEN drawn with nothing folded
    fig = flame(prof, min_fraction=0)
    ic = fig.data[0]
    # THEN every call path of prof.tree() is one box
    assert len(ic.ids) == len(prof.tree()) + 1 == 5
    assert "all 4 call paths shown" == fig.layout.title.subtitle.text
    work = ic.customdata[list(ic.labels).index("work")]
    assert work[4] == pytest.approx(0.02) and work[5] == pytest.approx(100 * 0.02 / 0.031, abs=0.01)
    assert ic.customdata[list(ic.labels).index("write")][1] == "stdlib"


def test_flame_states_time_outside_the_call_tree():
    # GIVEN a Profile with 0.05 s of samples whose stack is empty (py-spy writes such lines)
    b = ProfileBuilder()
    b.add([Frame("main", "app.py", 3)], 0.15, samples=15)
    b.add([], 0.05, samples=5)
    prof = b.build(format="example", rate_hz=100.0)
    assert prof.duration_s == pytest.approx(0.2)
    fig = flame(prof, min_fraction=0)
    ic = fig.data[0]
    # THEN percentages are of the duration, as in functions(), and the subtitle says why 75% < 100%
    main = ic.customdata[list(ic.labels).index("main")]
    assert main[4] == pytest.approx(0.15) and main[5] == pytest.approx(75.0)
    assert main[5] == pytest.approx(prof.functions().set_index("function").loc["main", "total_pct"])
    assert fig.layout.title.subtitle.text == ("all 1 call paths shown;<br>the profile's duration is 0.2 s, "
                                              "0.05 s of it outside the call tree (percentages are of the duration)")


def test_flame_of_100k_nodes_stays_within_a_few_thousand_boxes():
    fig = flame(random_tree(100_000), min_fraction=0.0001, max_nodes=2000)
    assert len(fig.data[0].ids) <= 2000
    assert fig.layout.meta["pruned"]["nodes_folded"] > 90_000
    assert "folded into" in fig.layout.title.subtitle.text
    assert "to stay within the node limit" in fig.layout.title.subtitle.text


def test_flame_of_an_empty_tree():
    from toolkit import schema
    fig = flame(schema.empty("profile_tree"))
    assert list(fig.data[0].ids) == ["all"] and fig.layout.title.subtitle.text == "all 0 call paths shown"


def test_flame_orientation():
    t = tree_of([(0, None, "a", "a.py", 1.0)])
    assert flame(t, orientation="flame").data[0].tiling.flip == "y"
    with pytest.raises(ValueError):
        flame(t, orientation="sideways")


# ---- diff ---------------------------------------------------------------------------------------

@pytest.fixture
def before_after() -> tuple[pd.DataFrame, pd.DataFrame]:
    before = tree_of([(0, None, "main", "app.py", 0.5), (1, 0, "slow_sort", "app.py", 8.0),
                      (2, 0, "dump", STDLIB_JSON, 1.5)])
    after = tree_of([(10, None, "main", "app.py", 0.5), (11, 10, "sorted_fast", "app.py", 0.2),
                     (12, 10, "dump", STDLIB_JSON, 1.6)])
    return before, after


def test_diff_tree_matches_paths(before_after):
    d = diff_tree(*before_after).set_index("function")
    assert d.loc["main", ["total_before_s", "total_after_s", "delta_total_s"]].tolist() == \
        pytest.approx([10.0, 2.3, -7.7])
    assert d.loc["slow_sort", ["total_before_s", "total_after_s"]].tolist() == [8.0, 0.0]
    assert d.loc["sorted_fast", "total_before_s"] == 0.0 and np.isinf(d.loc["sorted_fast", "ratio"])
    assert d.loc["dump", "delta_total_s"] == pytest.approx(0.1)
    # size="max": each path as wide as its larger side; totals recomputed over the subtree
    assert d.loc["main", "total_s"] == pytest.approx(0.5 + 8.0 + 0.2 + 1.6)
    assert d.loc["slow_sort", "parent_id"] == d.loc["main", "node_id"]


def test_diff_tree_lists_paths_depth_first_with_siblings_by_name(before_after):
    d = diff_tree(*before_after)
    assert d["function"].tolist() == ["main", "dump", "slow_sort", "sorted_fast"]
    assert d["parent_id"].tolist()[1:] == [0, 0, 0]


def test_diff_flame_colours_by_change(before_after):
    fig = diff_flame(*before_after, min_fraction=0)
    ic = fig.data[0]
    labels = list(ic.labels)
    assert len(set(ic.ids)) == len(ic.ids) == 5
    colours = dict(zip(labels, ic.marker.colors, strict=True))
    assert colours["slow_sort"] == pytest.approx(-8.0) and colours["sorted_fast"] == pytest.approx(0.2)
    assert ic.marker.cmid == 0 and ic.marker.showscale
    assert ic.marker.colorscale[0][1] != ic.marker.colorscale[-1][1]  # diverging: two ends differ
    slow = ic.customdata[labels.index("slow_sort")]
    assert slow[1:] == [8.0, 0.0, -8.0, "0x"]
    assert ic.customdata[labels.index("sorted_fast")][4] == "new"
    for text in ("before:", "after:", "delta:"):
        assert text in ic.hovertemplate
    assert fig.layout.title.subtitle.text == "10 s before -> 2.3 s after (-7.7 s); all 4 call paths shown"
    assert "colour = change" in fig.layout.title.text
    # a custom title keeps the totals in the subtitle
    assert diff_flame(*before_after, title="mine").layout.title.subtitle.text.startswith("10 s before")
    assert "total (s)" in ic.marker.colorbar.title.text


def test_diff_flame_of_profiles_uses_their_trees():
    b1, b2 = ProfileBuilder(), ProfileBuilder()
    b1.add([Frame("main", "app.py", 1), Frame("slow", "app.py", 5)], 0.9, samples=90)
    b2.add([Frame("main", "app.py", 1), Frame("slow", "app.py", 5)], 0.1, samples=10)
    fig = diff_flame(b1.build(rate_hz=100.0), b2.build(rate_hz=100.0), min_fraction=0)
    slow = fig.data[0].customdata[list(fig.data[0].labels).index("slow")]
    assert slow[1:4] == pytest.approx([0.9, 0.1, -0.8])
    assert fig.layout.title.subtitle.text == "0.9 s before -> 0.1 s after (-0.8 s); all 2 call paths shown"
    # time outside the call tree (an empty stack) is stated
    b2 = ProfileBuilder()
    b2.add([Frame("main", "app.py", 1)], 0.1, samples=10)
    b2.add([], 0.2, samples=20)
    fig = diff_flame(b1.build(rate_hz=100.0), b2.build(rate_hz=100.0), min_fraction=0)
    assert fig.layout.title.subtitle.text.endswith(
        ";<br>profile durations 0.9 s -> 0.3 s (the difference is outside the call trees)")


# ---- top functions ------------------------------------------------------------------------------

@pytest.fixture
def functions_table() -> pd.DataFrame:
    return pd.DataFrame({"function": ["parse", "handle", "main", "dump"],
                         "file": [STDLIB_JSON, "/srv/app/server.py", "/srv/app/server.py", "app.py"],
                         "line": [10, 20, 1, 7], "self_s": [6.0, 3.0, 0.5, 0.5],
                         "total_s": [6.0, 9.0, 10.0, 0.5]})


def test_top_table(functions_table):
    t = top(functions_table, n=3)
    assert t["function"].tolist() == ["parse", "handle", "main"]
    assert t["label"].tolist() == ["parse  json/decoder.py:10", "handle  app/server.py:20", "main  app/server.py:1"]
    assert t["self_pct"].tolist() == pytest.approx([60.0, 30.0, 5.0])
    assert t.attrs["top"] == {"functions": 4, "shown": 3, "by": "self_s", "shown_s": 9.5, "total_s": 10.0}
    assert top(functions_table, n=2, by="total_s")["function"].tolist() == ["main", "handle"]


def test_top_functions_chart(functions_table):
    fig = top_functions(functions_table, n=3)
    bars = {trace.name: trace for trace in fig.data}
    assert set(bars) == {"stdlib", "app"}
    assert list(bars["stdlib"].x) == [6.0] and list(bars["app"].x) == [3.0, 0.5]
    assert fig.layout.xaxis.title.text == "self time (s)" and fig.layout.yaxis.title.text
    assert fig.layout.title.text == "Top 3 of 4 functions by self time"
    assert "95.0% of all self time" in fig.layout.title.subtitle.text
    # heaviest at the top of the chart
    assert list(fig.layout.yaxis.categoryarray)[-1] == "parse  json/decoder.py:10"
    hover = bars["app"].customdata[0]
    assert hover == ["app/server.py:20", "app", 3.0, 30.0, 9.0, 90.0]  # the file as tables show it
    assert "total: %{customdata[4]" in bars["app"].hovertemplate


def test_top_functions_escapes_markup_like_names():
    # cProfile names builtins "<method 'writerows' of '_csv.writer' objects>" (file "~", line 0);
    # plotly.js would read them as markup and mix up the category axis
    f = pd.DataFrame({"function": ["<method 'writerows' of '_csv.writer' objects>", "<listcomp>", "<listcomp>"],
                      "file": ["~", "demo.py", "demo.py"], "line": [0, 46, 98],
                      "self_s": [3.0, 2.0, 1.0], "total_s": [3.0, 2.0, 1.0]})
    fig = top_functions(f)
    assert list(fig.layout.yaxis.categoryarray)[::-1] == [
        "&lt;method 'writerows' of '_csv.writer' objects&gt;  ~", "&lt;listcomp&gt;  demo.py:46",
        "&lt;listcomp&gt;  demo.py:98"]


def test_top_functions_hover_shows_calls_when_counted(functions_table):
    fig = top_functions(functions_table.assign(calls=[8000, 1, 1, 3]), n=2)
    bars = {trace.name: trace for trace in fig.data}
    assert bars["stdlib"].customdata[0][6] == 8000 and "calls: %{customdata[6]:,}" in bars["stdlib"].hovertemplate


def test_top_functions_of_a_profile_and_duplicate_labels():
    b = ProfileBuilder()
    b.add([Frame("run", "a/x.py", 1)], 0.3, samples=3)
    b.add([Frame("run", "b/x.py", 1)], 0.2, samples=2)
    fig = top_functions(b.build(rate_hz=10.0), by="total_s")
    assert fig.layout.xaxis.title.text == "total time (s)"
    assert sorted(fig.data[0].y) == ["run  a/x.py:1", "run  b/x.py:1"]
    assert [row[6] for row in fig.data[0].customdata] == [3, 2]  # leaf samples
    assert "samples (self)" in fig.data[0].hovertemplate


def test_plots_are_reachable_as_tk_plots(small_tree):
    # tk.plots binds the function flame, not the submodule of the same name
    fig = tk.plots.flame(small_tree, min_fraction=0.001)
    assert list(fig.data[0].ids) == list(flame(small_tree, min_fraction=0.001).data[0].ids)
    assert tk.plots.top_functions is top_functions and tk.plots.diff_flame is diff_flame


# ---- every sample trace draws ----------------------------------------------------------------

def _sample_profiles():
    folder = Path(__file__).resolve().parents[2] / "sample_traces" / "profiles"
    return sorted(p for d in ("py-spy", "pyinstrument", "cprofile") for p in (folder / d).glob("*") if p.is_file())


@pytest.mark.parametrize("path", _sample_profiles(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_trace_draws_with_its_seconds_kept(path):
    # GIVEN a genuine profile from sample_traces/profiles
    prof = tk.read_profile(path)
    tree = prof.tree()
    # WHEN drawn
    fig = flame(prof)
    ic = fig.data[0]
    # THEN ids are unique, the boxes hold exactly the call tree's seconds (folding keeps them),
    # and the top-functions chart's heaviest bar is functions()' first row
    assert len(set(ic.ids)) == len(ic.ids) <= 2000
    assert sum(ic.values) == pytest.approx(float(tree["self_s"].sum()), rel=1e-9, abs=1e-12)
    info = fig.layout.meta["pruned"]
    # every call path is drawn or folded, once the import machinery's frames are hidden
    shown = collapse_imports(tree)
    assert info["nodes_kept"] + info["nodes_folded"] == len(shown)
    # (a stack that starts inside the import system keeps that one frame as its root)
    below_roots = shown[shown["parent_id"].notna()]
    assert not below_roots["file"].astype(str).str.contains("importlib._bootstrap").any()
    bars = top_functions(prof, n=5)
    heaviest = max((x, y) for trace in bars.data for x, y in zip(trace.x, trace.y, strict=True))
    assert heaviest[0] == pytest.approx(float(prof.functions().loc[0, "self_s"]))


# ---- deep trees ---------------------------------------------------------------------------------

def chain(depth: int, leaf_s: float = 1.0) -> pd.DataFrame:
    """A call tree ``depth`` frames deep, children listed before their parents (any order must
    do), all the time in the deepest frame."""
    ids = np.arange(depth, dtype=np.int64)[::-1]
    return pd.DataFrame({
        "node_id": ids + 7, "parent_id": pd.array([None if i == 0 else int(i) + 6 for i in ids], dtype="Int64"),
        "depth": ids, "function": [f"f{i}" for i in ids], "file": "app/x.py",
        "line": pd.array(ids + 1, dtype="Int64"), "self_s": np.where(ids == depth - 1, leaf_s, 0.0),
        "total_s": np.full(depth, leaf_s)})


def test_prune_a_20000_deep_chain_keeps_its_top_and_folds_the_rest_into_one_other():
    # GIVEN a 20,000-frame chain (rows deepest first)
    t = chain(20_000)
    # WHEN pruned to 2,000 rows
    p = prune_tree(t, min_fraction=0.001, max_nodes=2000)
    info = p.attrs["pruned"]
    # THEN the top 1,999 frames are kept, the 18,001 below are one 'other' under the last kept
    kept = p[~p["is_other"]]
    assert sorted(kept["depth"]) == list(range(1999)) and info["capped"]
    other = p[p["is_other"]].iloc[0]
    assert len(p) == 2000 and other["folded_nodes"] == 18_001 and other["depth"] == 1999
    assert other["parent_id"] == kept.loc[kept["depth"] == 1998, "node_id"].iloc[0]
    assert other["self_s"] == other["total_s"] == 1.0 and info["seconds_folded"] == 1.0
    assert_totals_consistent(p)


def test_diff_tree_of_two_deep_chains_matches_path_by_path():
    # GIVEN chains 5,000 and 3,000 deep: the shorter is the top of the longer
    d = diff_tree(chain(5000, 2.0), chain(3000, 1.0)).set_index("function")
    # THEN the shared 3,000 frames are one path each, with both sides' seconds
    assert len(d) == 5000 and d["depth"].tolist() == list(range(5000))
    assert d.loc["f2999", ["self_before_s", "self_after_s", "total_before_s", "total_after_s"]].tolist() == \
        [0.0, 1.0, 2.0, 1.0]
    assert d.loc["f4999", ["self_before_s", "total_after_s"]].tolist() == [2.0, 0.0]
    assert d.loc["f0", "total_s"] == 3.0  # size="max" per path, summed over the subtree


# ---- import machinery and subtitles -------------------------------------------------------------

def test_import_machinery_is_hidden_and_its_seconds_stay_with_the_importer():
    # GIVEN py-spy's profile of the demo, whose stacks pass through importlib while it imports
    prof = tk.read_profile(Path(__file__).resolve().parents[2] / "sample_traces/profiles/py-spy/demo_slow.speedscope.json")
    tree = prof.tree()
    # WHEN the import machinery is hidden (as flame() does by default, and pyinstrument does)
    shown = collapse_imports(tree)
    # THEN the 77 importlib frames are gone, the tree is 16 frames deep instead of 40, and not a
    # sample is lost: the same seconds in all, the same seconds in each root
    assert shown.attrs["imports_hidden"] == 77
    assert (len(tree), len(shown)) == (143, 66)
    assert (tree["depth"].max(), shown["depth"].max()) == (40, 16)
    assert shown["self_s"].sum() == pytest.approx(tree["self_s"].sum())
    roots = shown[shown["parent_id"].isna()].set_index("function")["total_s"]
    assert roots.to_dict() == pytest.approx(tree[tree["parent_id"].isna()].set_index("function")["total_s"].to_dict())
    # AND every node's total is its own seconds plus its children's
    kids = shown.groupby("parent_id")["total_s"].sum()
    expected = shown["self_s"] + shown["node_id"].map(kids).fillna(0.0)
    assert np.allclose(shown["total_s"], expected)
    # AND the figure says what it hid; hide_imports=False draws every frame
    assert "77 import-machinery frames hidden" in flame(prof).layout.title.subtitle.text
    assert len(flame(prof, hide_imports=False, min_fraction=0).data[0].ids) == len(tree) + 1


def test_a_long_subtitle_wraps_inside_the_figure():
    text, lines = subtitle(["x" * 60, "y" * 60, "z" * 30], width=100)
    assert text == "x" * 60 + ";<br>" + "y" * 60 + "; " + "z" * 30
    assert lines == 2
