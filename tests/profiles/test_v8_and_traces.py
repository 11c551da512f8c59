"""V8 .cpuprofile files and Chrome traces as DevTools, Node and Hermes write them (real files of
speedscope's repository, in tests/fixtures/third_party/speedscope, MIT)."""

from __future__ import annotations

import shutil

import pytest
from conftest import FIXTURES

import toolkit as tk
from toolkit import formats

SS = FIXTURES / "third_party" / "speedscope"


def self_us(prof) -> dict[str, float]:
    f = prof.functions()
    return {k: round(v * 1e6, 3) for k, v in zip(f["function"], f["self_s"], strict=True) if v > 0}


def test_a_cpuprofile_reads_with_speedscopes_self_times(tmp_path):
    # GIVEN Chrome 65's .cpuprofile of a tiny program, named .json (the suffix says nothing)
    path = tmp_path / "profile.json"
    shutil.copy(SS / "Chrome-65-simple.cpuprofile", path)
    # WHEN detected and read
    prof = tk.read_profile(path)
    # THEN it is a V8 profile: 29 samples, each lasting until the next (speedscope's figures)
    assert formats.detect(path).name == "cpuprofile" and prof.samples == 29
    assert self_us(prof) == {"d": 33285.0, "(anonymous)": 1060.0}
    assert prof.functions().set_index("function").loc["b", "total_s"] == pytest.approx(0.017002)
    assert prof.functions().set_index("function").loc["d", "line"] == 14  # 0-based lineNumber 13


def test_the_older_head_tree_form_reads_the_same_way():
    prof = tk.read_profile(SS / "node-10.11.0-example.cpuprofile")
    assert self_us(prof) == {"d": 33202.0, "(anonymous)": 11575.0}


def test_devtools_exports_read_their_cpu_samples_not_zero_seconds():
    # GIVEN Chrome 69's Performance export: Profile and ProfileChunk events beside 927 X events
    prof = tk.read_profile(SS / "Chrome-69-simple.json")
    # THEN the samples are the profile (before: 0 functions, 0 s, silently)
    assert prof.samples == 2051 and prof.duration_s == pytest.approx(0.27645, abs=1e-6)
    assert self_us(prof)["gamma"] == 20018.0
    assert prof.source["skip_reasons"] == {
        "an event beside the trace's sampled CPU data (the samples are the profile)": 1304}


def test_a_trace_without_its_closing_bracket_reads_like_the_whole_one():
    whole = tk.read_profile(SS / "trace-event-simple.json")
    for cut in ("trace-event-simple-partial.json", "trace-event-simple-partial-trailing-comma.json"):
        assert self_us(tk.read_profile(SS / cut)) == self_us(whole) == {
            "gamma": 5.0, "epsilon": 4.0, "beta": 3.0, "alpha": 2.0}


def test_ends_that_do_not_nest_are_matched_as_chrome_does_and_said():
    # GIVEN ends with nothing open and ends naming another frame than the innermost open one
    prof = tk.read_profile(SS / "trace-event-too-many-end-events.json")
    # THEN the trace is read, not refused, and the notes count what was matched how
    assert self_us(prof) == {"beta": 4.0, "alpha": 1.0}
    assert any("2 end events closed nothing" in n for n in prof.notes)
    # AND a frame that never ends closes at its thread's last event
    prof = tk.read_profile(FIXTURES / "profiles" / "unbalanced.chrometrace.json")
    assert self_us(prof) == {"main": 10.0, "work": 10.0}
    assert any("1 frames never ended" in n for n in prof.notes)


def test_x_events_beginning_together_nest_the_longer_outside():
    prof = tk.read_profile(SS / "trace-event-x-events-matching-start.json")
    assert self_us(prof) == {"alpha": 12.0, "beta": 4.0, "gamma": 4.0}
    assert prof.notes == ["times are the gaps between trace events"]
