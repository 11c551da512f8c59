"""notebooks/05_regressions.ipynb on other inputs than its defaults (as `perf-toolkit notebook`
runs it on a user's files): hyperfine's runs, no profiles, no history, no load test."""

from __future__ import annotations

import nbformat
import pytest
from helpers.bench import ROOT

from toolkit.report.notebooks import run_notebook


@pytest.mark.slow
def test_regressions_notebook_runs_on_hyperfine_runs_without_the_optional_evidence(tmp_path):
    params = {"BASE": "sample_traces/bench/hyperfine/base", "HEAD": "sample_traces/bench/hyperfine/head",
              "BASE_PROFILE": None, "HEAD_PROFILE": None, "HISTORY": None, "LOAD_BASE": None, "LOAD_HEAD": None,
              "MIN_EFFECT": 0.1}
    html = run_notebook("05_regressions", tmp_path / "05.html", params, executed=tmp_path / "05.ipynb", base=ROOT)
    nb = nbformat.read(tmp_path / "05.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "base: 4 benchmarks, 180 rounds from 3 run(s), tool hyperfine" in text
    assert "No profiles given" in text and "No history given." in text and "No load tests given." in text
    assert "Alternate runs as sets: 0 of 4 benchmarks got a verdict." in text
    assert html.stat().st_size > 0
