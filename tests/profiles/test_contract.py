"""One contract over every sample profile: schema, detection, producer totals, round trips.

GIVEN each genuine trace in sample_traces/profiles (written by py-spy, pyinstrument, cProfile)
WHEN it is read with the format auto-detected and with the format named
THEN the tables are schema-valid, both reads agree, the totals and top functions equal what the
producing tool itself reported (producers.json, written by make_traces.py), and a speedscope
round trip gives the same functions().
"""

from __future__ import annotations

import collections
import gzip
import json
import re

import pandas as pd
import pytest
from conftest import SAMPLES

import toolkit as tk
from toolkit import formats, schema

FOLDER = SAMPLES / "profiles"
FACTS = json.loads((FOLDER / "producers.json").read_text())
TRACES = sorted(p for d in ("py-spy", "pyinstrument", "cprofile") for p in (FOLDER / d).iterdir())
CANON = ["function", "file", "line", "self_s", "total_s", "self_pct", "total_pct"]


def expected_format(path) -> str:
    name = path.name
    if name.endswith(".prof"):
        return "pstats"
    if name.endswith(".txt"):
        return "pyspy-raw"
    if name.endswith(".speedscope.json"):
        return "speedscope"
    if name.endswith(".chrometrace.json"):
        return "chrometrace"
    if ".pyisession" in name:
        return "pyinstrument-session"
    return "pyinstrument-json"


def rel(path) -> str:
    return f"{path.parent.name}/{path.name}"


def load_json(path):
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)


def test_every_trace_has_producer_facts():
    assert {rel(p) for p in TRACES} == set(FACTS)


@pytest.mark.parametrize("path", TRACES, ids=rel)
def test_contract(path, tmp_path):
    # GIVEN a genuine trace and what its producer reported
    facts = FACTS[rel(path)]
    fmt = expected_format(path)
    # WHEN it is read auto-detected and explicitly
    assert formats.detect(path, "profile").name == fmt
    prof = tk.read_profile(path)
    explicit = tk.read_profile(path, format=fmt)
    # THEN the tables are valid and the two reads agree
    funcs = prof.functions()
    for table, df in (("profile_functions", funcs), ("profile_lines", prof.lines()),
                      ("profile_tree", prof.tree()), ("profile_stacks", prof.stacks())):
        schema.validate(df, table)
    pd.testing.assert_frame_equal(funcs, explicit.functions())
    assert len(funcs) > 5 and prof.duration_s > 0
    assert funcs["self_s"].is_monotonic_decreasing
    assert (funcs["total_s"] >= funcs["self_s"] - 1e-12).all()
    # AND the totals are the producer's own
    if fmt == "pstats":
        assert prof.duration_s == pytest.approx(facts["total_tt_s"], rel=1e-12)
        top = funcs.head(5)
        assert list(zip(top["function"], top["file"], top["line"], strict=True)) == \
            [(t["function"], t["file"], t["line"]) for t in facts["top_tottime"]]
        assert top["self_s"].tolist() == pytest.approx([t["tottime_s"] for t in facts["top_tottime"]], rel=1e-12)
        assert top["total_s"].tolist() == pytest.approx([t["cumtime_s"] for t in facts["top_tottime"]], rel=1e-12)
        return  # cProfile has no stacks: no speedscope round trip
    if fmt in ("pyspy-raw", "speedscope") and facts["tool"] == "py-spy":
        assert prof.samples == facts["samples"]
        assert prof.duration_s == pytest.approx(facts["samples"] / facts["rate_hz"], rel=1e-9)
        assert prof.rate_hz == 100 and prof.rate_assumed == (fmt == "pyspy-raw")
        assert_leaf_counts(path, fmt, funcs)
        if "--nolineno" not in facts["flags"]:
            assert prof.lines()["self_s"].sum() == pytest.approx(funcs["self_s"].sum(), rel=1e-9)
    elif fmt == "chrometrace":
        assert prof.duration_s == pytest.approx(busy_seconds(load_json(path)), rel=1e-9)
    elif fmt == "pyinstrument-session":
        assert prof.samples == facts["sample_count"]
        assert prof.duration_s == pytest.approx(facts["frame_records_s"], rel=1e-9)
        assert prof.duration_s == pytest.approx(facts["duration_s"], rel=0.01)  # wall clock, incl. start/stop
        assert prof.lines()["self_s"].sum() == pytest.approx(prof.duration_s, rel=1e-9)
    elif fmt == "pyinstrument-json":
        assert prof.duration_s == pytest.approx(load_json(path)["root_frame"]["time"], rel=1e-5)
        assert prof.duration_s == pytest.approx(facts["duration_s"], rel=0.01)
    else:  # pyinstrument's evented speedscope
        assert prof.duration_s == pytest.approx(facts["duration_s"], rel=0.01)
        rendered = tk.read_profile(path.with_name(path.name.replace(".speedscope", "")))
        assert prof.duration_s == pytest.approx(rendered.duration_s, rel=1e-5)
    # AND a speedscope round trip keeps functions()
    back = tk.read_profile(prof.to_speedscope(tmp_path / "round.speedscope.json"))
    pd.testing.assert_frame_equal(back.functions()[CANON], funcs[CANON], check_exact=False, rtol=1e-9)


def assert_leaf_counts(path, fmt, funcs):
    """py-spy's own leaf counts (from its file) equal our self samples per function name."""
    counts: collections.Counter = collections.Counter()
    if fmt == "pyspy-raw":
        text = path.read_text()
        for m in re.finditer(r"^(.*) (\d+)$", text, re.M):
            frames = [f for f in m.group(1).split(";") if f and not f.startswith(("thread (", "process "))]
            if frames and '"' not in frames[-1]:
                counts[re.sub(r" \([^()]*\)$", "", frames[-1])] += int(m.group(2))
    else:
        doc = load_json(path)
        names = [f["name"] for f in doc["shared"]["frames"]]
        for p in doc["profiles"]:
            for s in p["samples"]:
                if s:
                    counts[names[s[-1]]] += 1
    ours = funcs.groupby("function")["samples"].sum()
    ours = ours[ours > 0].to_dict()
    assert ours == dict(counts)


def busy_seconds(events) -> float:
    """Time with at least one frame open, per thread, summed (an independent oracle)."""
    events = events["traceEvents"] if isinstance(events, dict) else events
    by_thread = collections.defaultdict(list)
    for i, e in enumerate(events):
        if e.get("ph") in ("B", "E"):
            by_thread[(e["pid"], e["tid"])].append((e["ts"], i, e["ph"]))
    total = 0.0
    for evs in by_thread.values():
        depth, last = 0, None
        for ts, _, ph in sorted(evs):
            if depth > 0:
                total += ts - last
            depth += 1 if ph == "B" else -1
            last = ts
    return total * 1e-6


@pytest.mark.parametrize("path", [p for p in TRACES if p.name.endswith(".txt")], ids=rel)
def test_collapsed_round_trip(path, tmp_path):
    # GIVEN a py-spy raw profile WHEN written as folded stacks and read back at the same rate
    prof = tk.read_profile(path)
    back = tk.read_profile(prof.to_collapsed(tmp_path / "x.folded", threads=True), rate=100)
    # THEN functions and threads are unchanged
    pd.testing.assert_frame_equal(back.functions()[CANON], prof.functions()[CANON])
    assert back.threads == prof.threads and back.samples == prof.samples


def test_threads_and_processes_are_columns_not_frames():
    prof = tk.read_profile(FOLDER / "py-spy" / "demo_subprocess.txt")
    stacks = prof.stacks()
    assert not stacks["stack"].str.contains(r"^thread \(|process \d+:", regex=True).any()
    assert set(stacks["thread"]) == set(prof.threads) and prof.threads[0].startswith("MainThread (")
    (process,) = set(stacks["process"])
    assert process.endswith("demo.py -n 3000 --tag batch;nightly\nrun=7")
    idle = tk.read_profile(FOLDER / "py-spy" / "demo_idle.txt")
    assert any(t.startswith("metrics-flusher (") for t in idle.threads)
    assert "Condition.wait" in set(idle.thread("metrics-flusher").functions()["function"])


def test_native_and_nolineno_frames_are_kept():
    native = tk.read_profile(FOLDER / "py-spy" / "demo_native.txt").functions()
    assert native["file"].str.contains(r"libc\.so|\.c$", regex=True).any()
    nolineno = tk.read_profile(FOLDER / "py-spy" / "demo_nolineno.txt")
    assert nolineno.lines().empty and nolineno.functions()["line"].isna().all()
    full = tk.read_profile(FOLDER / "py-spy" / "demo_fullpath.txt").functions()
    assert full.loc[full["function"] == "dedupe", "file"].str.startswith("/").all()


def test_raw_rate_option_and_note():
    path = FOLDER / "py-spy" / "demo_slow.txt"
    assumed, given = tk.read_profile(path), tk.read_profile(path, rate=200)
    assert assumed.rate_assumed and "assumed 100 Hz" in assumed.notes[0]
    assert not given.rate_assumed and given.duration_s == pytest.approx(assumed.duration_s / 2)
