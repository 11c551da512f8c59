"""Contract tests: every benchmark / load-test sample is read into a valid table, auto-detection
picks the same reader as naming the format, and the figures equal what the tool itself printed
or stored (pytest-benchmark compare's table, hyperfine's JSON summary, asv's result and compare,
locust's CSV totals, wrk's report)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from helpers.bench import BENCH, FIXTURES, PB, asv_commits

import toolkit as tk
from toolkit import formats, schema

SAMPLES = {
    "pytest-benchmark": sorted(PB.rglob("*.json")),
    "hyperfine": sorted((BENCH / "hyperfine").rglob("*.json")),
    "asv": sorted((BENCH / "asv" / "results").glob("*/*-*.json")),
}
LOAD_TESTS = {
    "locust-csv": sorted((BENCH / "locust").glob("*_stats.csv")),
    "locust-html": sorted((BENCH / "locust").glob("*.html*")),
    "wrk": sorted((BENCH / "wrk").glob("*.txt")),
}
ALL = [(fmt, p) for fmt, paths in SAMPLES.items() for p in paths]
ALL_LOAD = [(fmt, p) for fmt, paths in LOAD_TESTS.items() for p in paths]


def test_every_tool_has_samples():
    assert all(SAMPLES.values()) and all(LOAD_TESTS.values())
    assert len(SAMPLES["asv"]) == 12  # one result file per commit of the history


@pytest.mark.parametrize("fmt, path", ALL, ids=[f"{f}:{p.name}" for f, p in ALL])
def test_benchmark_sample_is_valid_and_detected(fmt, path):
    # GIVEN a result file written by the tool WHEN it is read with and without naming the format
    df = tk.read_benchmarks(path)
    # THEN detection chose the tool, the table is canonical and every benchmark became rows
    assert formats.detect(path).name == fmt
    schema.validate(df, "benchmark_samples")
    pd.testing.assert_frame_equal(df, tk.read_benchmarks(path, format=fmt))
    assert (df["tool"] == fmt).all() and df["value_s"].gt(0).all()
    src = df.attrs["source"]
    assert src["lines_skipped"] == 0 and src["records"] == df.groupby(["benchmark", "params"]).ngroups


@pytest.mark.parametrize("fmt, path", ALL_LOAD, ids=[f"{f}:{p.name}" for f, p in ALL_LOAD])
def test_load_test_sample_is_valid_and_detected(fmt, path):
    df = tk.read_load_test(path)
    assert formats.detect(path).name == fmt
    schema.validate(df, "load_test_endpoints")
    assert df["requests"].gt(0).all() and (df["failures"] <= df["requests"] + df.get("socket_errors", 0)).all()


def _pb_stats(path):
    return {b["name"]: b["stats"] for b in json.loads(path.read_text())["benchmarks"]}


@pytest.mark.parametrize("path", [p for p in SAMPLES["pytest-benchmark"] if "summary" not in p.name], ids=lambda p: p.name)
def test_pytest_benchmark_rounds_give_the_tools_own_statistics(path):
    df = tk.read_benchmarks(path)
    for name, stats in _pb_stats(path).items():
        v = df.loc[df["benchmark"] == name].sort_values("round")["value_s"].to_numpy()
        assert len(v) == stats["rounds"] == 40
        assert np.median(v) == pytest.approx(stats["median"], rel=1e-12)
        assert (v.min(), v.max()) == (stats["min"], stats["max"])
        assert v.mean() == pytest.approx(stats["mean"], rel=1e-12)
    # the load average the sample runs recorded is a column
    assert df["extra_loadavg_1m_before"].notna().all()


def test_pytest_benchmark_compare_table_shows_the_same_medians():
    # GIVEN pytest-benchmark's own `compare base.json head.json` output (compare.txt)
    text = (PB / "compare.txt").read_text()
    unit = {"us": 1e6, "ms": 1e3, "s": 1.0, "ns": 1e9}[re.search(r"\(time in (\w+)\)", text).group(1)]
    rows = re.findall(r"^(\w+) \((?:[^)]*/)?(base|head)-01\)\s+([\d,.]+) \([^)]*\)\s+([\d,.]+) \([^)]*\)\s+"
                      r"([\d,.]+) \([^)]*\)\s+([\d,.]+) \([^)]*\)\s+(\d+)", text, re.M)
    assert len(rows) == 12
    for name, side, _min, _max, _mean, median, rounds in rows:
        df = tk.read_benchmarks(PB / side / f"{side}-01.json")
        ours = df.loc[df["benchmark"] == name, "value_s"]
        # THEN our median of the rounds, in its unit and decimals, is the one it printed
        assert f"{ours.median() * unit:,.4f}" == median
        assert len(ours) == int(rounds)


def test_summary_only_file_is_marked_and_never_tested():
    path = PB / "head-summary-only.json"
    df = tk.read_benchmarks(path)
    stats = _pb_stats(path)
    assert "data" not in next(iter(stats.values()))
    assert df["summary_only"].all() and df["round"].isna().all() and len(df) == len(stats)
    assert dict(zip(df["benchmark"], df["value_s"], strict=True)) == {k: s["median"] for k, s in stats.items()}
    cmp = tk.compare_runs(PB / "base", path)
    assert set(cmp["verdict"]) == {"too few samples"} and cmp["ratio"].notna().all()


@pytest.mark.parametrize("path", SAMPLES["hyperfine"], ids=lambda p: p.name)
def test_hyperfine_times_give_its_json_summary(path):
    doc = json.loads(path.read_text())
    df = tk.read_benchmarks(path)
    for res in doc["results"]:
        params = ", ".join(f"{k}={v}" for k, v in sorted((res.get("parameters") or {}).items()))
        v = df[(df["benchmark"] == res["command"]) & (df["params"] == params)]["value_s"].to_numpy()
        assert len(v) == len(res["times"])
        assert np.median(v) == pytest.approx(res["median"], rel=1e-12)
        assert v.mean() == pytest.approx(res["mean"], rel=1e-12)
        assert (v.min(), v.max()) == pytest.approx((res["min"], res["max"]))
    assert (df["exit_code"] == 0).all() and df["user_s"].gt(0).all()


def test_hyperfine_parameter_scan_is_one_benchmark_per_value():
    df = tk.read_benchmarks(BENCH / "hyperfine" / "scan.json")
    assert sorted(df["params"].unique()) == ["repeat=1000", "repeat=2000", "repeat=500"]
    med = df.groupby("params")["value_s"].median()
    assert med["repeat=500"] < med["repeat=1000"] < med["repeat=2000"]


def test_asv_result_is_the_median_of_its_samples_and_units_come_from_benchmarks_json():
    path = SAMPLES["asv"][0]
    doc = json.loads(path.read_text())
    cols = doc["result_columns"]
    df = tk.read_benchmarks(path)
    assert df["run"].iloc[0] == doc["commit_hash"][:8] and (df["commit"] == doc["commit_hash"]).all()
    assert (df["unit"] == "seconds").all() and df["commit_date"].notna().all()
    checked = 0
    for name, row in doc["results"].items():
        entry = dict(zip(cols, row, strict=False))
        for i, result in enumerate(entry["result"]):
            params = ", ".join(f"n={v}" for v in [entry["params"][0][i]]) if entry["params"] else ""
            v = df[(df["benchmark"] == name) & (df["params"] == params)]["value_s"].to_numpy()
            assert len(v) == len(entry["samples"][i]) == 40  # two passes of 20 (--append-samples)
            assert np.median(v) == pytest.approx(result, rel=1e-6)
            checked += 1
    assert checked == 5  # 3 Shop benchmarks + time_checksum for n=100 and n=400


def test_asv_compare_ratio_is_our_ratio_of_medians():
    # GIVEN asv's own `asv compare` across the commit that makes parse_orders slower
    path = next((BENCH / "asv").glob("compare_*_*.txt"))
    before, after = map(int, re.findall(r"\d+", path.stem))
    text = path.read_text()
    commits = [c for c, _ in asv_commits()]
    base = tk.read_benchmarks(next((BENCH / "asv" / "results").glob(f"*/{commits[before - 1][:8]}-*.json")))
    head = tk.read_benchmarks(next((BENCH / "asv" / "results").glob(f"*/{commits[after - 1][:8]}-*.json")))
    # its tables: | Change | Before | After | Ratio | Benchmark (Parameter) |
    rows = re.findall(r"^\|\s*[+\-!x]?\s*\|\s*\S+\s*\|\s*\S+\s*\|\s*~?([\d.]+)\s*\|\s*(bench_shop\.[\w.]+)"
                      r"(?:\((\d+)\))?\s*\|$", text, re.M)
    assert len(rows) == 5  # 3 Shop benchmarks + time_checksum for n=100 and n=400
    for ratio, name, n in rows:
        params = f"n={n}" if n else ""
        after, before = (df.loc[(df["benchmark"] == name) & (df["params"] == params), "value_s"].median()
                         for df in (head, base))
        assert after / before == pytest.approx(float(ratio), abs=0.0051)
    assert ("3.58", "bench_shop.Shop.time_parse_orders", "") in rows


@pytest.mark.parametrize("path", LOAD_TESTS["locust-csv"], ids=lambda p: p.name)
def test_locust_endpoints_add_up_to_its_aggregated_row(path):
    raw = pd.read_csv(path)
    agg = raw[raw["Name"] == "Aggregated"].iloc[0]
    df = tk.read_load_test(path)
    assert df["requests"].sum() == agg["Request Count"] == df.attrs["totals"]["requests"]
    assert df["failures"].sum() == agg["Failure Count"]
    assert len(df) == len(raw) - 1 and "Aggregated" not in set(df["endpoint"])
    failures = tk.read_load_test(path, table="failures")
    assert failures["occurrences"].sum() == agg["Failure Count"] > 0
    ts = tk.read_load_test(path, table="timeseries")
    schema.validate(ts, "load_test_timeseries")
    # the history's running total ends at (or just before) the final count
    assert 0 < ts["requests"].max() <= agg["Request Count"]
    # the HTML report of the same run is compared, and the reader says which it read
    assert any("HTML report beside it counts" in n for n in df.attrs["notes"])


@pytest.mark.parametrize("path", LOAD_TESTS["locust-html"], ids=lambda p: p.name)
def test_locust_html_report_is_the_final_stats(path):
    df = tk.read_load_test(path)
    totals = df.attrs["totals"]
    assert df["requests"].sum() == totals["requests"] and df["failures"].sum() == totals["failures"]
    assert df.attrs["notes"][0].startswith("read the HTML report")
    ts = tk.read_load_test(path, table="timeseries")
    assert len(ts) >= 2 and (ts["endpoint"] == "(all)").all()


@pytest.mark.parametrize("path", LOAD_TESTS["wrk"], ids=lambda p: p.name)
def test_wrk_figures_are_the_printed_ones(path):
    text = path.read_text()
    df = tk.read_load_test(path)
    row = df.iloc[0]
    assert len(df) == 1 and row["tool"] == "wrk"
    assert row["requests"] == int(re.search(r"(\d+) requests in", text).group(1))
    assert row["rps"] == float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    assert row["failures"] == (int(non2xx.group(1)) if non2xx else 0)
    assert row["endpoint"] == re.search(r"@ http://[^/]+(/\S*)", text).group(1)
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)$", text, re.M)
        if m:
            assert row[f"p{pct}_ms"] == pytest.approx(float(m.group(1)) * units[m.group(2)])
    assert pd.isna(row["p95_ms"])  # wrk prints no 95th percentile


def test_k6_summary_export_with_sub_metrics_gives_one_row_per_name():
    df = tk.read_load_test(FIXTURES / "k6_summary_export_per_endpoint.json")
    assert df[["endpoint", "requests", "failures", "p50_ms", "p95_ms", "rps"]].values.tolist() == [
        ["/api/orders", 300, 1, 9.0, 30.0, 30.0], ["/api/report", 100, 5, 90.0, 200.0, 10.0]]
    assert df.attrs["totals"]["requests"] == 400 and df.attrs["totals"]["failures"] == 6


def test_k6_handle_summary_without_sub_metrics_is_one_total_row():
    df = tk.read_load_test(FIXTURES / "k6_handle_summary_totals_only.json")
    assert df[["endpoint", "requests", "failures", "p50_ms", "p99_ms", "rps"]].values.tolist() == [
        ["(all)", 1000, 0, 15.75, 23.0, 50.0]]
    assert "totals only" in df.attrs["notes"][0]


def test_k6_out_json_gives_exact_percentiles_a_time_series_and_requests():
    path = FIXTURES / "k6_out_json_two_endpoints.ndjson"
    df = tk.read_load_test(path)
    a, b = df.iloc[0], df.iloc[1]
    assert (a["endpoint"], a["method"], a["requests"], a["failures"], a["p50_ms"], a["max_ms"]) == \
        ("http://127.0.0.1:8080/a", "GET", 6, 0, 35.0, 60.0)
    assert (b["method"], b["requests"], b["failures"], b["p50_ms"]) == ("POST", 4, 1, 250.0)
    src = df.attrs["source"]
    # every line accounted for: 20 request lines (duration + failed), 13 others, 1 skipped
    assert src["lines_read"] == 34 and src["records"] == 10 and src["lines_skipped"] == 1
    assert src["other_lines"] == {"metric declarations": 2, "points of other metrics": 11, "blank lines": 0}
    ts = tk.read_load_test(path, table="timeseries")
    total = ts[ts["endpoint"] == "(all)"]
    assert total["requests"].tolist() == [3, 5, 2] and total["failures_per_s"].tolist() == [0.0, 1.0, 0.0]
    req = tk.read_load_test(path, table="requests")
    assert len(req) == 10 and req["failed"].sum() == 1 and req.loc[req["failed"], "status"].item() == "500"


def test_a_folder_of_runs_is_one_table_with_its_files_accounted():
    df = tk.read_benchmarks(BENCH / "asv" / "results")
    assert df["run"].nunique() == 12
    skipped = {p["path"].rsplit("/", 1)[-1] for p in df.attrs["skipped_files"]}
    assert skipped == {"benchmarks.json", "machine.json"}
    assert df.attrs["source"]["files"] == 12 and df.attrs["source"]["lines_skipped"] == 0


def test_the_public_names_resolve():
    import toolkit.bench

    for name in ("read_benchmarks", "read_load_test", "compare_runs", "compare_periods", "compare_profiles"):
        assert callable(getattr(tk, name)) and name in tk.__all__
    assert all(callable(getattr(toolkit.bench, name)) for name in toolkit.bench.__all__)
    assert {"ratio_forest", "benchmark_distributions", "benchmark_history", "load_test_latency"} <= set(tk.plots.__all__)
