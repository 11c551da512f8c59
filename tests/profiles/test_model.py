"""The Profile's tables and filters on a small profile whose every number is known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

import toolkit as tk
from toolkit import schema
from toolkit.profiles import Frame, ProfileBuilder, diff_profiles, merge_profiles

LIB = "/usr/lib/python3.11/site-packages/lib/x.py"


def make(weights=(3, 1, 2, 4)):
    """main -> fib -> fib -> fib (recursion) 3 samples; main -> io (library) 1; main alone 2 on
    another thread; main -> helper -> lib 4."""
    b = ProfileBuilder()
    main, main2 = Frame("main", "app.py", 10, 8), Frame("main", "app.py", 12, 8)
    fib = [Frame("fib", "app.py", 21, 20), Frame("fib", "app.py", 22, 20), Frame("fib", "app.py", 23, 20)]
    b.add([main, *fib], weights[0] / 100, weights[0], "MainThread (1)")
    b.add([main2, Frame("io", LIB, 5)], weights[1] / 100, weights[1], "MainThread (1)")
    b.add([main], weights[2] / 100, weights[2], "worker (2)")
    b.add([main, Frame("helper", "app.py", 31), Frame("inner", LIB, 7), Frame("deep", LIB, 9)],
          weights[3] / 100, weights[3], "MainThread (1)")
    return b.build(format="test", rate_hz=100.0, has_lines=True)


def by_function(df):
    return df.set_index("function")


def test_functions_self_total_recursion_once_and_first_line():
    f = by_function(make().functions())
    assert f.loc["fib", "self_s"] == pytest.approx(0.03) and f.loc["fib", "total_s"] == pytest.approx(0.03)
    assert f.loc["main", "self_s"] == pytest.approx(0.02) and f.loc["main", "total_s"] == pytest.approx(0.10)
    assert f.loc["main", "line"] == 8 and f.loc["helper", "line"] == 31  # first line, else lowest seen
    assert f.loc["deep", "self_pct"] == pytest.approx(40.0) and f.loc["main", "total_pct"] == pytest.approx(100.0)
    assert f["samples"].sum() == 10


def test_lines_tree_stacks_hot_paths():
    prof = make()
    lines = prof.lines()
    assert lines[["function", "line", "self_s"]].values.tolist()[0] == ["deep", 9, pytest.approx(0.04)]
    assert lines["self_s"].sum() == pytest.approx(prof.duration_s)
    tree = prof.tree()
    schema.validate(tree, "profile_tree")
    root = tree[tree["parent_id"].isna()]
    assert root["function"].tolist() == ["main"] and root["total_s"].iloc[0] == pytest.approx(0.10)
    assert tree["node_id"].is_unique and (tree["parent_id"].dropna() < tree.loc[tree["parent_id"].notna(), "node_id"]).all()
    assert set(tree["path"]) >= {"main;fib;fib;fib", "main;helper;inner;deep"}
    stacks = prof.stacks()
    assert stacks.loc[0, "stack"] == "main (app.py:10);helper (app.py:31);inner (" + LIB + ":7);deep (" + LIB + ":9)"
    assert set(stacks["thread"]) == {"MainThread (1)", "worker (2)"}
    hot = prof.hot_paths(2)
    assert hot["path"].tolist() == ["main;helper;inner;deep", "main;fib;fib;fib"]


def test_filters_return_new_profiles():
    prof = make()
    before = prof.functions()
    focused = prof.focus("helper")
    assert focused.duration_s == pytest.approx(0.04)
    assert focused.tree()["function"].iloc[0] == "helper"
    collapsed = by_function(prof.without_library().functions())
    assert "deep" not in collapsed.index and collapsed.loc["inner", "self_s"] == pytest.approx(0.04)
    dropped = by_function(prof.without_library("drop").functions())
    assert dropped.loc["helper", "self_s"] == pytest.approx(0.04) and "io" not in dropped.index
    assert dropped.loc["main", "self_s"] == pytest.approx(0.03)
    rec = prof.collapse_recursion()
    assert "main;fib;fib" not in set(rec.tree()["path"]) and by_function(rec.functions()).loc["fib", "self_s"] == \
        pytest.approx(0.03)
    worker = prof.thread("worker")
    assert worker.duration_s == pytest.approx(0.02) and worker.samples == 2
    pd.testing.assert_frame_equal(prof.functions(), before)  # the input is never changed
    with pytest.raises(tk.InputError):
        prof.focus("nope")


def test_diff_at_function_and_path_level():
    before, after = make(), make(weights=(3, 1, 2, 1))
    d = by_function(diff_profiles(before, after))
    assert d.index[0] == "deep"
    assert d.loc["deep", "self_delta_s"] == pytest.approx(-0.03) and d.loc["deep", "self_ratio"] == pytest.approx(0.25)
    assert d.loc["fib", "self_ratio"] == pytest.approx(1.0)
    p = diff_profiles(before, after, level="path").set_index("path")
    assert p.loc["main;helper", "total_delta_s"] == pytest.approx(-0.03)
    assert p.loc["main", "total_after_s"] == pytest.approx(0.07)


def test_merge_adds_samples_and_weights():
    a, b = make(), make(weights=(1, 1, 1, 1))
    m = merge_profiles(a, b)
    assert m.samples == 14 and m.duration_s == pytest.approx(0.14) and m.rate_hz == 100
    assert by_function(m.functions()).loc["deep", "self_s"] == pytest.approx(0.05)


def test_speedscope_export_is_a_valid_speedscope_file(tmp_path):
    import json
    prof = tk.read_profile(SAMPLES / "profiles" / "py-spy" / "demo_slow.txt")
    doc = json.loads(open(prof.to_speedscope(tmp_path / "x.json")).read())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    for p in doc["profiles"]:
        assert p["type"] == "sampled" and len(p["samples"]) == len(p["weights"])
        assert max(max(s) for s in p["samples"] if s) < len(doc["shared"]["frames"])
    assert np.isclose(sum(sum(p["weights"]) for p in doc["profiles"]), prof.duration_s)


def test_collapsed_export_works_with_flamegraph_tools(tmp_path):
    import subprocess

    from helpers.programs import find_program
    prof = tk.read_profile(SAMPLES / "profiles" / "cprofile" / "demo_slow.prof")
    path = prof.to_collapsed(tmp_path / "x.folded")
    lines = open(path).read().splitlines()
    assert all(line.rsplit(" ", 1)[1].isdigit() for line in lines)
    tool = find_program("flamegraph.pl") or find_program("inferno-flamegraph")
    if tool:
        svg = subprocess.run([tool, path], capture_output=True, check=True).stdout
        assert b"<svg" in svg[:1000]


def test_dropping_library_frames_of_a_real_pyspy_profile_leaves_the_application():
    # GIVEN py-spy's short file names (json/decoder.py, threading.py, <frozen ...>)
    prof = tk.read_profile(SAMPLES / "profiles" / "py-spy" / "demo_slow.txt")
    # WHEN library and standard-library frames are dropped
    app = prof.without_library("drop").functions()
    # THEN no standard-library file is left, and no time is lost
    assert "demo.py" in set(app["file"])
    assert not app["file"].str.contains(r"^json/|^threading\.py|^csv\.py|^<frozen", regex=True).any()
    assert app["self_s"].sum() == pytest.approx(prof.functions()["self_s"].sum())
    assert app["function"].iloc[0] == "dedupe"



# ---- deep and wide profiles: the tree stays exact and linear ------------------------------------

def reference_tree(stacks: list[tuple[list[str], float]]) -> dict[tuple[str, ...], tuple[float, float]]:
    """Call path (function names root first) -> (self, total) seconds, the obvious way."""
    out: dict[tuple[str, ...], list[float]] = {}
    for names, w in stacks:
        for k in range(1, len(names) + 1):
            out.setdefault(tuple(names[:k]), [0.0, 0.0])[1] += w
        out[tuple(names)][0] += w
    return {k: (v[0], v[1]) for k, v in out.items()}


def tree_paths(tree: pd.DataFrame) -> dict[tuple[str, ...], tuple[float, float]]:
    """The same from tree(), following parent_id (not the shortened path column)."""
    parent = dict(zip(tree["node_id"], tree["parent_id"], strict=True))
    name = dict(zip(tree["node_id"], tree["function"], strict=True))
    out = {}
    for nid, s, t in zip(tree["node_id"], tree["self_s"], tree["total_s"], strict=True):
        chain, k = [], nid
        while k is not pd.NA:
            chain.append(name[k])
            k = parent[k]
        out[tuple(reversed(chain))] = (s, t)
    return out


def test_tree_of_many_deep_stacks_matches_a_plain_trie():
    # GIVEN 300 random stacks up to 400 frames deep over 12 functions: wide levels near the
    # roots (built level by level) and a few very deep stacks (walked frame by frame)
    rng = np.random.default_rng(5)
    stacks = []
    b = ProfileBuilder()
    for _ in range(300):
        depth = int(rng.integers(1, 40)) if rng.random() < 0.9 else int(rng.integers(100, 400))
        names = [f"f{int(x)}" for x in rng.integers(0, 12, depth)]
        w = float(rng.integers(1, 9)) / 100
        stacks.append((names, w))
        b.add([Frame(n, "app.py", 1) for n in names], w, samples=int(w * 100))
    tree = b.build(format="test", rate_hz=100.0).tree()
    # THEN every call path has the self and total seconds of a trie built by hand, parents come
    # before their children, and depth counts the ancestors
    want = reference_tree(stacks)
    got = tree_paths(tree)
    assert got.keys() == want.keys()
    for path, (s, t) in want.items():
        assert got[path] == pytest.approx((s, t)), path
    parent = tree["parent_id"].dropna().astype(int)
    assert (parent.to_numpy() < tree.loc[parent.index, "node_id"].to_numpy()).all()
    assert tree["depth"].tolist() == [len(p) - 1 for p in tree_paths(tree)]
    # numbered level by level, then by parent, whichever way a level was built
    order = tree.assign(p=tree["parent_id"].fillna(-1)).sort_values(["depth", "p"], kind="stable")
    assert order["node_id"].tolist() == tree["node_id"].tolist()


def test_paths_past_64_functions_are_shortened_around_a_digest_of_the_whole_path():
    # GIVEN two profiles sharing a 100-frame stack, and one that differs only in frame 50
    frames = [Frame(f"f{i}", "app.py", i) for i in range(100)]
    other = [*frames[:50], Frame("g", "app.py", 50), *frames[51:]]
    a, b, c = ProfileBuilder(), ProfileBuilder(), ProfileBuilder()
    a.add(frames, 0.3, samples=30)
    b.add(frames, 0.1, samples=10)
    c.add(other, 0.2, samples=20)
    pa, pb, pc = (x.build(format="test", rate_hz=100.0) for x in (a, b, c))
    tree = pa.tree()
    # THEN paths up to 64 functions are whole; deeper ones keep the first 16 and last 32
    assert tree["path"].iloc[63] == ";".join(f"f{i}" for i in range(64))
    deep = tree["path"].iloc[99]
    head, rest = deep.split(";…", 1)
    assert head == ";".join(f"f{i}" for i in range(16))
    assert rest.split("…;", 1)[1] == ";".join(f"f{i}" for i in range(68, 100))
    assert rest.startswith("52 more #")
    # the same path reads the same in any profile, a different middle differently
    assert pb.tree()["path"].iloc[99] == deep != pc.tree()["path"].iloc[99]
    assert pa.hot_paths(1)["path"].tolist() == [deep]
    d = diff_profiles(pa, pb, level="path").set_index("path")
    assert d.loc[deep, "self_delta_s"] == pytest.approx(-0.2)
    assert len(diff_profiles(pa, pc, level="path")) == 100 + 50


def test_stacks_beyond_the_frame_limit_are_a_parse_error_naming_the_file(tmp_path, monkeypatch):
    # GIVEN a limit of 1,000 frames in distinct stacks, and a Chrome trace 100 frames deep with
    # time at every depth: 100 distinct stacks of 1 to 100 frames, 5,050 frames
    monkeypatch.setattr(tk.sources, "DEFAULT_LIMITS", tk.sources.Limits(stack_frames=1000))
    events = ([{"ph": "B", "name": f"f{i}", "ts": i, "pid": 1, "tid": 1} for i in range(100)]
              + [{"ph": "E", "ts": 100 + i, "pid": 1, "tid": 1} for i in range(100)])
    path = tmp_path / "deep.trace.json"
    path.write_text(json.dumps(events))
    # WHEN read THEN a ParseError names the file and the limit, before holding more
    with pytest.raises(tk.ParseError) as err:
        tk.read_profile(path)
    assert str(err.value).startswith(f"{path}: the profile's distinct stacks hold more than 1000 frames")
    # and 44 levels (990 frames) are within it
    path.write_text(json.dumps(events[:44] + events[100:144]))
    assert len(tk.read_profile(path).tree()) == 44
