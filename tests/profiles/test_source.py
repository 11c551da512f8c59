"""A profile's lines with the program's source (toolkit.profiles.source), the busiest thread,
and call paths as lists (a function whose name holds ';' stays one function)."""

from __future__ import annotations

from pathlib import Path

import pytest

import toolkit as tk
from toolkit.profiles import Frame, ProfileBuilder
from toolkit.profiles.source import find_source, with_code

PROFILES = Path(__file__).resolve().parents[2] / "sample_traces" / "profiles"


def test_the_hot_line_of_a_profile_recorded_elsewhere_is_found_in_a_checkout():
    # GIVEN py-spy's profile of the demo, recorded with the program at a path of another machine
    prof = tk.read_profile(PROFILES / "py-spy/demo_slow.speedscope.json")
    lines = prof.lines().assign(file="/elsewhere/checkout/demo.py")
    # WHEN its lines are joined to the source in the checkout
    shown = with_code(lines.head(1), [PROFILES])
    # THEN the hottest line is the list membership test of dedupe
    assert shown["line"].iloc[0] == 77
    assert shown["code"].iloc[0] == 'if order["id"] not in seen:  # O(n) scan of a list: the hot spot'
    assert find_source("<frozen importlib._bootstrap>", [PROFILES]) is None
    assert with_code(lines.head(1), [])["code"].tolist() == [""]


def test_the_busiest_thread_is_the_one_with_the_most_time():
    prof = tk.read_profile(PROFILES / "py-spy/demo_slow.speedscope.json")
    assert prof.threads == ["559", "metrics-flusher (596)"]
    busiest = prof.busiest_thread()
    assert busiest.threads == ["559"] and busiest.duration_s == pytest.approx(5.04)
    single = tk.read_profile(PROFILES / "cprofile/demo_slow.prof")
    assert single.busiest_thread() is single


def test_a_call_path_keeps_a_function_whose_name_holds_a_semicolon():
    b = ProfileBuilder()
    b.add([Frame('process 7:"python -c \'a(); b()\'"', "", 0), Frame("main", "app.py", 1)], 1.0, samples=10)
    prof = b.build(format="pyspy-raw", rate_hz=10.0)
    hot = prof.hot_paths(1)
    assert prof.call_path(int(hot["node_id"].iloc[0])) == ['process 7:"python -c \'a(); b()\'"', "main"]
