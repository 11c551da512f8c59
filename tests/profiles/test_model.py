"""The Profile's tables and filters on a small profile whose every number is known."""

from __future__ import annotations

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

