"""py-spy raw files do not record their sampling rate: it comes from rate= (--rate), from a
NAME.rate file beside the file, or is assumed (100 Hz, py-spy's default) and said everywhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import toolkit as tk
from toolkit.cli import main
from toolkit.errors import ParseError
from toolkit.report.analyze import analyze

RAW = Path(__file__).resolve().parents[2] / "sample_traces" / "profiles" / "py-spy" / "demo_slow.txt"


@pytest.fixture
def raw(tmp_path) -> Path:
    path = tmp_path / "demo_slow.txt"
    shutil.copy(RAW, path)
    return path


def test_the_rate_comes_from_a_rate_file_beside_the_profile(raw):
    assumed = tk.read_profile(raw)
    assert assumed.rate_assumed and assumed.rate_hz == 100.0
    samples = assumed.samples
    # GIVEN the rate it was recorded at, written beside it
    (raw.parent / "demo_slow.txt.rate").write_text("250\n")
    prof = tk.read_profile(raw)
    # THEN the counts are seconds at 250 Hz, and the profile says where the rate came from
    assert (prof.rate_hz, prof.rate_assumed, prof.samples) == (250.0, False, samples)
    assert prof.duration_s == pytest.approx(samples / 250)
    assert "rate 250 Hz from demo_slow.txt.rate" in prof.notes
    # AND rate= still wins
    assert tk.read_profile(raw, rate=50).rate_hz == 50.0


def test_a_rate_file_without_a_rate_is_a_parse_error_naming_it(raw):
    (raw.parent / "demo_slow.txt.rate").write_text("fast\n")
    with pytest.raises(ParseError, match=r"demo_slow.txt.rate:1: expected a sampling rate in Hz"):
        tk.read_profile(raw)


def test_analyze_passes_the_rate_and_the_terminal_says_when_it_is_assumed(raw, capsys):
    a = analyze([raw], pyspy_rate=200.0, run_findings=False)
    assert a.profiles[str(raw)].rate_hz == 200.0
    assert main(["analyze", str(raw), "--no-report", "-q"]) == 0
    assert "pyspy-raw: 22 record(s), rate assumed 100 Hz (--rate or a .rate file sets it)" in capsys.readouterr().out
    assert main(["analyze", str(raw), "--no-report", "-q", "--rate", "200"]) == 0
    assert "rate assumed" not in capsys.readouterr().out
    assert main(["analyze", str(raw), "--no-report", "--rate", "0"]) == 2
