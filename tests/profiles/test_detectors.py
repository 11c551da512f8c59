"""profiles.hot_function fires on every slow demo profile (dedupe) and on no fixed one.

The -t/--idle/--nolineno/-s/--native variants are the slow program on a 3,000-order input,
where the quadratic dedupe is not yet dominant; they test readers, not this rule.
"""

from __future__ import annotations

import pytest
from conftest import SAMPLES

import toolkit as tk
from toolkit import schema
from toolkit.findings import rules_table
from toolkit.profiles import Frame, ProfileBuilder, detectors

FOLDER = SAMPLES / "profiles"
SLOW = sorted(FOLDER.glob("*/demo_slow.*"))
FIXED = sorted(FOLDER.glob("*/demo_fixed.*"))


def rel(p):
    return f"{p.parent.name}/{p.name}"


def test_every_producer_and_format_is_covered():
    assert len(SLOW) == len(FIXED) == 7  # cProfile 1, py-spy 3, pyinstrument 3


@pytest.mark.parametrize("path", SLOW, ids=rel)
def test_hot_function_fires_on_the_slow_demo(path):
    # GIVEN the slow demo's profile WHEN the rules run
    found = detectors.findings(tk.read_profile(path))
    # THEN exactly one finding names dedupe, with numbers, the profile and the source line
    schema.validate(found, "findings")
    assert found["rule"].tolist() == ["profiles.hot_function"]
    row = found.iloc[0]
    assert row["function"] == "dedupe" and row["source_file"].endswith("demo.py")
    assert row["share_pct"] >= 60 and row["area"] == "code" and row["practice"] == "profiling"
    assert row["file"] == str(path) and row["source_line"] > 0
    assert "dedupe (" in row["evidence"] and "% of" in row["evidence"] and path.name in row["evidence"]


@pytest.mark.parametrize("path", FIXED, ids=rel)
def test_hot_function_is_silent_on_the_fixed_demo(path):
    assert detectors.findings(tk.read_profile(path)).empty


def test_threshold_is_an_option_and_waiting_is_not_work():
    b = ProfileBuilder()
    b.add([Frame("main", "a.py", 1), Frame("work", "a.py", 5)], 0.25, 25)
    b.add([Frame("main", "a.py", 1), Frame("other", "a.py", 9)], 0.75, 75)
    b.add([Frame("Thread.run", "threading.py", 9), Frame("Condition.wait", "threading.py", 320)], 5.0, 500)
    prof = b.build(rate_hz=100.0)
    found = detectors.findings(prof)
    assert found["function"].tolist() == ["other"]  # 75% of busy time; the waiting thread left out
    assert detectors.findings(prof, min_share_pct=20)["function"].tolist() == ["other", "work"]
    assert detectors.findings(prof, min_share_pct=20, min_samples=50)["function"].tolist() == ["other"]
    assert "profiles.hot_function" in rules_table()["rule"].tolist()
