"""Bad input gives a ParseError naming the file and what is wrong; empty gives empty tables.

Fixtures in tests/fixtures/profiles are hand-made edge cases named for the case they cover
(``truncated.speedscope.json`` is the first 3,000 bytes of a real py-spy file).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import FIXTURES

import toolkit as tk
from toolkit import schema

F = FIXTURES / "profiles"


@pytest.mark.parametrize(("name", "fmt", "message"), [
    ("truncated.speedscope.json", "speedscope", "JSON ends early"),
    ("mismatched_weights.speedscope.json", None, "has 3 samples but 2 weights"),
    ("unbalanced_evented.speedscope.json", None, "unbalanced: event 2 closes frame 0 while frame 1 is open"),
    ("not_pstats.prof", "pstats", "not a pstats file"),
    ("json_not_pstats.prof", "pstats", "not a pstats file"),
])
def test_bad_input_is_a_parse_error_naming_file_and_problem(name, fmt, message):
    # GIVEN a broken file WHEN it is read THEN a ParseError says which file and what is wrong
    with pytest.raises(tk.ParseError) as err:
        tk.read_profile(F / name, format=fmt)
    assert message in str(err.value)
    assert err.value.path == os.fspath(F / name)


@pytest.mark.parametrize("fmt", ["speedscope", "chrometrace", "pyinstrument-session", "pyinstrument-json",
                                 "pstats", "pyspy-raw"])
def test_random_bytes_are_a_parse_error_for_every_reader(fmt, tmp_path):
    path = tmp_path / "random.bin"
    path.write_bytes(bytes(range(256)) * 8 + os.urandom(512))
    with pytest.raises(tk.ParseError) as err:
        tk.read_profile(path, format=fmt)
    assert str(path) in str(err.value)


def test_random_bytes_are_not_detected_as_a_profile(tmp_path):
    path = tmp_path / "random.bin"
    path.write_bytes(b"\x00\x01\x02garbage" * 100)
    with pytest.raises(tk.UnknownFormatError):
        tk.read_profile(path)


EMPTY_SPEEDSCOPE = (b'{"$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": []},'
                    b' "profiles": [{"type": "sampled", "name": "t", "unit": "seconds", "startValue": 0,'
                    b' "endValue": 0, "samples": [], "weights": []}]}')


@pytest.mark.parametrize("make", [lambda: tk.read_profile(F / "empty.folded", format="pyspy-raw"),
                                  lambda: tk.read_profile(EMPTY_SPEEDSCOPE)], ids=["folded", "speedscope"])
def test_empty_profile_gives_empty_tables_with_the_columns(make):
    prof = make()
    assert prof.duration_s == 0 and prof.samples == 0
    for table, df in (("profile_functions", prof.functions()), ("profile_lines", prof.lines()),
                      ("profile_tree", prof.tree()), ("profile_stacks", prof.stacks())):
        assert df.empty
        assert list(df.columns)[: len(schema.columns(table))] == schema.columns(table)
        schema.validate(df, table)
    assert prof.hot_paths().empty


def test_folded_lines_without_counts_are_counted_as_skipped_or_raise():
    # GIVEN a folded file with a garbage line and an empty-stack line
    prof = tk.read_profile(F / "mixed.folded", rate=100)
    src = prof.source
    # THEN every line is a record or skipped, and the empty stack counts in the duration
    assert src["lines_read"] == 4 and src["records"] == 3 and src["lines_skipped"] == 1
    assert src["skipped"][0]["line"] == 4
    assert prof.duration_s == pytest.approx(0.06)
    assert prof.functions()["self_s"].sum() == pytest.approx(0.04)
    with pytest.raises(tk.ParseError, match=r"mixed.folded:4: no sample count"):
        tk.read_profile(F / "mixed.folded", errors="raise")


def test_complete_events_and_thread_names_in_a_trace_events_object():
    prof = tk.read_profile(F / "complete_events.trace.json")
    f = prof.functions().set_index("function")
    assert f.loc["handle", "self_s"] == pytest.approx(0.0005) and f.loc["handle", "total_s"] == pytest.approx(0.001)
    assert f.loc["query", "self_s"] == pytest.approx(0.0005)
    assert prof.threads == ["worker (8)"]


def test_pyinstrument_self_frames_fold_into_the_parent():
    prof = tk.read_profile(F / "balanced_evented.speedscope.json")
    f = prof.functions().set_index("function")
    assert "[self]" not in f.index
    assert f.loc["main", "self_s"] == pytest.approx(0.015) and f.loc["work", "self_s"] == pytest.approx(0.015)
    assert prof.duration_s == pytest.approx(0.030)


def test_any_flamegraph_folded_file_is_read_as_collapsed_stacks(tmp_path):
    # GIVEN a FlameGraph stackcollapse-perf.pl style file (no file names, kernel [k] frames)
    path = F / "perf_stackcollapse.txt"
    # WHEN named .txt, its frames are not py-spy's: detection does not guess, and says how
    with pytest.raises(tk.UnknownFormatError, match=r"pyspy-raw: line 1 ends in a count but its frames are not py-spy's .*named \.folded"):
        tk.read_profile(path, rate=99)
    # WHEN named .folded, or the format is named, it is read
    folded = tmp_path / "perf.folded"
    folded.write_bytes(path.read_bytes())
    assert tk.read_profile(folded, rate=99).samples == 60
    prof = tk.read_profile(path, format="pyspy-raw", rate=99)
    # THEN frames keep their names, and counts / rate give seconds
    assert prof.format == "pyspy-raw" and prof.samples == 60
    f = prof.functions().set_index("function")
    assert f.loc["do_idle", "self_s"] == pytest.approx(40 / 99)
    assert f.loc["ExecScan", "total_s"] == pytest.approx(15 / 99)
    assert f.loc["__x64_sys_recvfrom_[k]", "file"] is pd.NA or pd.isna(f.loc["__x64_sys_recvfrom_[k]", "file"])
    assert prof.lines().empty
