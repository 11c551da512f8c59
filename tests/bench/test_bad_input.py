"""Bad benchmark and load-test input: a clear ToolkitError naming the file (and line), nothing
else escapes; partial damage is skipped and counted."""

from __future__ import annotations

import json

import pytest
from helpers.bench import FIXTURES, PB

import toolkit as tk
from toolkit.errors import ParseError, ToolkitError, UnknownFormatError


def test_a_truncated_pytest_benchmark_file_names_the_file_and_line():
    path = FIXTURES / "pytest_benchmark_truncated.json"
    with pytest.raises(ParseError, match=r"pytest_benchmark_truncated\.json:113: JSON ends early \(truncated file\?\): Unterminated string"
                                         r".*expected a complete pytest-benchmark --benchmark-json output") as err:
        tk.read_benchmarks(path, format="pytest-benchmark")
    assert err.value.line == 113
    # detected too: the head is a pytest-benchmark file's
    with pytest.raises(ParseError, match="pytest_benchmark_truncated"):
        tk.read_benchmarks(path)


def test_json_of_another_shape_is_refused_with_what_was_expected(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"benchmarks": "not a list", "machine_info": {}}))
    with pytest.raises(ParseError, match=r"other\.json: no benchmarks list \(expected pytest-benchmark"):
        tk.read_benchmarks(path)
    with pytest.raises(ParseError, match="no results list"):
        tk.read_benchmarks(path, format="hyperfine")
    with pytest.raises(ParseError, match="no results / commit_hash"):
        tk.read_benchmarks(path, format="asv")


def test_an_unknown_file_lists_the_formats_tried(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text('{"hello": "world"}\n')
    with pytest.raises(UnknownFormatError) as err:
        tk.read_benchmarks(path)
    assert {"pytest-benchmark", "asv", "hyperfine"} <= set(err.value.tried)


def test_a_damaged_benchmark_entry_is_skipped_and_counted(tmp_path):
    doc = json.loads((PB / "base" / "base-01.json").read_text())
    doc["benchmarks"][1]["stats"]["data"][3] = "oops"
    del doc["benchmarks"][2]["stats"]
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(doc))
    df = tk.read_benchmarks(path)
    src = df.attrs["source"]
    assert df["benchmark"].nunique() == len(doc["benchmarks"]) - 2
    assert src["skip_reasons"] == {"rounds that are not numbers": 1, "a benchmark without name or stats": 1}
    with pytest.raises(ParseError, match="damaged.json"):
        tk.read_benchmarks(path, errors="raise")


def test_a_csv_that_is_not_locusts_is_refused():
    with pytest.raises(ParseError, match=r"locust_wrong_header_stats\.csv: the header is 'when,what'"):
        tk.read_load_test(FIXTURES / "locust_wrong_header_stats.csv", format="locust-csv")


def test_wrk_text_without_its_summary_is_refused(tmp_path):
    path = tmp_path / "wrk.txt"
    path.write_text("Running 5s test @ http://127.0.0.1:1/\n  connection refused\n")
    with pytest.raises(ParseError, match=r"wrk\.txt: no 'Running \.\.\. test @ URL' or 'N requests in' line"):
        tk.read_load_test(path, format="wrk")


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02garbage", b"{", b"[1, 2]", "é".encode("latin-1")])
def test_garbage_raises_only_toolkit_errors(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    for reader in (tk.read_benchmarks, tk.read_load_test):
        with pytest.raises(ToolkitError):
            reader(path)
    for fmt in ("pytest-benchmark", "asv", "hyperfine"):
        with pytest.raises(ToolkitError):
            tk.read_benchmarks(path, format=fmt)
    for fmt in ("k6-summary", "k6-json", "wrk", "locust-html", "locust-csv"):
        with pytest.raises(ToolkitError):
            tk.read_load_test(path, format=fmt)


def test_an_empty_folder_says_no_results(tmp_path):
    with pytest.raises(ToolkitError, match="no benchmark results found"):
        tk.read_benchmarks(tmp_path)
