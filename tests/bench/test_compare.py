"""compare_runs on the real sample runs (planted changes found, A/A clean, an 8% slowdown with
40 rounds found), the statistics on known data, and compare_periods / compare_profiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers.bench import BENCH, FIXTURES, HYPERFINE, PB, PLANTED, base_reruns, head_runs

import toolkit as tk
from toolkit.bench.stats import bh, ratio_interval, verdict
from toolkit.profiles import Frame, ProfileBuilder


def _verdicts(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["benchmark"], table["verdict"], strict=True))


def test_planted_changes_are_found_and_nothing_else():
    # GIVEN the base run and the head run of the demo (parse slower, render +8%, dedupe faster)
    cmp = tk.compare_runs(PB / "base.json", PB / "head.json")
    # THEN exactly the planted changes have a verdict other than unchanged
    expected = {b: PLANTED.get(b, "unchanged") for b in cmp["benchmark"]}
    assert _verdicts(cmp) == expected
    # and the table reads from the worst down, with intervals around each ratio
    assert cmp["verdict"].iloc[0] == "slower" and (cmp["ci_low"] <= cmp["ratio"]).all()
    assert (cmp["ratio"] <= cmp["ci_high"]).all()
    row = cmp.set_index("benchmark").loc["render_invoice"]
    assert 1.05 <= row["ratio"] <= 1.15 and row["ci_low"] > 1


def test_every_head_run_against_every_base_run_finds_the_same():
    for head in head_runs():
        if "summary" in head.name:
            continue
        for base in [PB / "base.json", *base_reruns()]:
            cmp = tk.compare_runs(base, head)
            assert _verdicts(cmp) == {b: PLANTED.get(b, "unchanged") for b in cmp["benchmark"]}, (base.name, head.name)


@pytest.mark.parametrize("rerun", base_reruns(), ids=lambda p: p.name)
def test_a_base_against_its_own_reruns_is_unchanged(rerun):
    cmp = tk.compare_runs(PB / "base.json", rerun)
    assert set(cmp["verdict"]) == {"unchanged"}, cmp[["benchmark", "ratio", "ci_low", "ci_high", "verdict"]]


def test_pooled_reruns_against_pooled_heads_use_every_run():
    base = tk.read_benchmarks([PB / "base.json", *base_reruns()])
    head = tk.read_benchmarks([p for p in head_runs() if "summary" not in p.name])
    cmp = tk.compare_runs(base, head)
    assert _verdicts(cmp) == {b: PLANTED.get(b, "unchanged") for b in cmp["benchmark"]}
    assert (cmp["base_runs"] == 1 + len(base_reruns())).all() and (cmp["base_n"] == 40 * cmp["base_runs"]).all()


def test_a_planted_8_percent_slowdown_with_40_rounds_is_found():
    # GIVEN a real base run and a re-run of the same code whose rounds are made 8% slower
    base = tk.read_benchmarks(PB / "base.json")
    head = tk.read_benchmarks(base_reruns()[0])
    head = head.assign(value_s=head["value_s"] * 1.08)
    cmp = tk.compare_runs(base, head)
    # THEN every benchmark is reported slower, by about 8%
    assert set(cmp["verdict"]) == {"slower"}
    assert cmp["ratio"].between(1.04, 1.12).all()


def test_hyperfine_runs_find_the_clear_changes_and_nothing_unplanted():
    cmp = tk.compare_runs(HYPERFINE / "base.json", HYPERFINE / "head.json")
    v = _verdicts(cmp)
    assert (v["parse_orders"], v["dedupe_skus"], v["checksum"]) == ("slower", "faster", "unchanged")
    assert v["render_invoice"] in ("slower", "unchanged")  # +8% of a process that also starts Python
    aa = tk.compare_runs(HYPERFINE / "base.json", HYPERFINE / "base-rerun1.json")
    assert set(aa["verdict"]) == {"unchanged"}


def test_benchmarks_on_one_side_only_are_listed_not_compared():
    base = tk.read_benchmarks(PB / "base.json")
    head = base[base["benchmark"] != "checksum"].assign(benchmark=lambda d: d["benchmark"].replace("sort_orders", "sort2"))
    cmp = tk.compare_runs(base, head)
    assert cmp.attrs["only_base"] == [["checksum", "case=checksum"], ["sort_orders", "case=sort_orders"]]
    assert cmp.attrs["only_head"] == [["sort2", "case=sort_orders"]]
    assert len(cmp) == 4


# --- the statistics on known data ---------------------------------------------------------------

def test_benjamini_hochberg_matches_the_textbook_example():
    # Benjamini & Hochberg (1995): adjusted values of 5 p-values, NaN left alone
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.5])
    assert bh(p)[[0, 1, 2, 3, 5]].tolist() == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    assert np.isnan(bh(p)[4])


def test_the_verdict_needs_significance_an_interval_beyond_one_and_the_minimum_effect():
    opts = {"alpha": 0.05, "min_effect": 0.05}
    assert verdict(1.20, 1.10, 1.30, 0.01, True, **opts) == "slower"
    assert verdict(1.20, 0.99, 1.30, 0.01, True, **opts) == "unchanged"   # interval holds 1
    assert verdict(1.03, 1.01, 1.05, 1e-9, True, **opts) == "unchanged"   # real but under 5%
    assert verdict(1.20, 1.10, 1.30, 0.20, True, **opts) == "unchanged"   # not significant
    assert verdict(0.80, 0.70, 0.90, 0.01, True, **opts) == "faster"
    assert verdict(2.00, np.nan, np.nan, np.nan, False, **opts) == "too few samples"


def test_interval_of_a_known_shift_covers_it_and_is_reproducible():
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 0.02, 60)
    b = a * 1.10
    lo, hi = ratio_interval([a], [b], seed=3)
    assert lo < 1.10 < hi and hi - lo < 0.05
    assert (lo, hi) == ratio_interval([a], [b], seed=3)


def test_too_few_rounds_give_no_test():
    base = pd.DataFrame({"benchmark": "x", "params": "", "run": "a", "value_s": [1.0, 1.1, 0.9, 1.05, 0.95]})
    head = base.assign(run="b", value_s=base["value_s"] * 2)
    # five fully separated rounds a side: Mann-Whitney's exact p is 2/252
    cmp = tk.compare_runs(base, head)
    assert cmp[["verdict", "ratio"]].values.tolist() == [["slower", 2.0]]
    assert cmp["p_value"].item() == pytest.approx(2 / 252)
    assert tk.compare_runs(base, head, min_samples=6)[["verdict", "ratio"]].values.tolist() == [["too few samples", 2.0]]


# --- periods ------------------------------------------------------------------------------------

def _events(durations: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"statement": sql, "duration_ms": d, "kind": "statement"} for sql, ds in durations.items() for d in ds]
    return pd.DataFrame(rows)


def test_compare_periods_on_query_events_per_fingerprint():
    before = _events({"select * from t where id = 1": [1.0] * 10 + [2.0] * 10,
                      "select * from u": [5.0] * 20, "delete from old": [3.0] * 6})
    after = _events({"select * from t where id = 7": [4.0] * 10 + [5.0] * 10,
                     "select * from u": [5.0] * 19 + [5.5], "insert into n values (1)": [1.0] * 3})
    cmp = tk.compare_periods(before, after).set_index("fingerprint")
    t = cmp.loc["select * from t where id = ?"]
    assert (t["calls_before"], t["calls_after"], t["p50_before_ms"], t["p50_after_ms"]) == (20, 20, 1.5, 4.5)
    assert t["total_before_ms"] == 30.0 and t["ratio"] == 3.0 and t["verdict"] == "slower"
    assert t["p95_before_low_ms"] <= t["p95_before_ms"] <= t["p95_before_high_ms"]
    assert cmp.loc["select * from u", "verdict"] == "unchanged"
    assert cmp.loc["delete from old", "verdict"] == "gone" and cmp.loc["delete from old", "calls_after"] == 0
    assert cmp.loc["insert into n values(?+)", "verdict"] == "new"


def test_compare_periods_on_access_logs_tests_latency_and_error_rates():
    def requests(slow: float, errors: int) -> pd.DataFrame:
        rows = [{"method": "GET", "path": f"/api/items/{i}", "status": 500 if i < errors else 200,
                 "request_time_s": slow} for i in range(40)]
        rows += [{"method": "GET", "path": "/health", "status": 200, "request_time_s": 0.001 * (1 + i % 3)}
                 for i in range(30)]
        return pd.DataFrame(rows)

    cmp = tk.compare_periods(requests(0.010, 0), requests(0.030, 12)).set_index("endpoint")
    items = cmp.loc["/api/items/{id}"]
    assert (items["calls_before"], items["errors_before"], items["errors_after"]) == (40, 0, 12)
    assert (items["p50_before_s"], items["p50_after_s"], items["verdict"]) == (0.010, 0.030, "slower")
    assert items["error_rate_after"] == 0.3 and items["error_verdict"] == "more errors"
    # Fisher's exact test of 0/40 against 12/40: both tails of the hypergeometric, 2 C(40,12) / C(80,12)
    assert items["error_p_value"] == pytest.approx(2 * math.comb(40, 12) / math.comb(80, 12))
    health = cmp.loc["/health"]
    assert (health["verdict"], health["error_verdict"], health["ratio"]) == ("unchanged", "unchanged", 1.0)


def test_compare_periods_on_k6_requests():
    req = tk.read_load_test(FIXTURES / "k6_out_json_two_endpoints.ndjson", table="requests")
    slower = req.assign(duration_ms=req["duration_ms"] * 10)
    cmp = tk.compare_periods(req, slower)
    # /a: 6 requests a side, fully separated (exact p 2/924); /b: 4 a side, under min_samples=5
    assert cmp[["endpoint", "ratio", "verdict"]].values.tolist() == [
        ["http://127.0.0.1:8080/a", 10.0, "slower"], ["http://127.0.0.1:8080/b", 10.0, "too few samples"]]
    assert cmp["p_value"].iloc[0] == pytest.approx(2 / 924)
    assert cmp["errors_before"].tolist() == [0, 1]


# --- profiles -----------------------------------------------------------------------------------

def _profile(counts: dict[str, int], rate: float = 100.0):
    b = ProfileBuilder()
    for name, n in counts.items():
        b.add([Frame("main", "app.py", 1), Frame(name, "app.py", 10)], n / rate, samples=n)
    return b.build(format="test", rate_hz=rate)


def test_compare_profiles_tests_each_functions_samples():
    before = _profile({"parse": 100, "render": 200, "tiny": 2})
    after = _profile({"parse": 300, "render": 205, "tiny": 3, "deepcopy": 150})
    cmp = tk.compare_profiles(before, after).set_index("function")
    parse = cmp.loc["parse"]
    assert (parse["before_samples"], parse["after_samples"], parse["ratio"]) == (100, 300, 3.0)
    assert parse["verdict"] == "slower" and parse["ci_low"] > 2 and parse["p_value"] < 1e-20
    assert cmp.loc["deepcopy", "verdict"] == "slower" and cmp.loc["deepcopy", "ratio"] == np.inf
    assert cmp.loc["render", "verdict"] == "unchanged"
    assert cmp.loc["tiny", "verdict"] == "too few samples"  # 5 samples < min_samples=10
    # the diff_profiles columns are all there
    assert {"self_before_s", "self_after_s", "self_delta_s", "total_ratio"} <= set(cmp.columns)


def test_compare_profiles_by_share_when_runs_differ_in_length():
    before = _profile({"parse": 100, "render": 100})
    after = _profile({"parse": 200, "render": 200})  # twice the work, same shares
    by_time = tk.compare_profiles(before, after).set_index("function")["verdict"]
    by_share = tk.compare_profiles(before, after, basis="share").set_index("function")["verdict"]
    assert by_time[["parse", "render"]].tolist() == ["slower", "slower"]
    assert by_share[["parse", "render"]].tolist() == ["unchanged", "unchanged"]
    assert by_time["main"] == "too few samples"  # no sample has main as its leaf


def test_compare_periods_takes_profiles_and_finds_why_parse_orders_slowed():
    profiles = BENCH / "profiles"
    before = tk.read_profile(profiles / "base_parse_orders.speedscope.json")
    after = tk.read_profile(profiles / "head_parse_orders.speedscope.json")
    cmp = tk.compare_periods(before, after, min_effect=0.2)
    slower = cmp[cmp["verdict"] == "slower"]
    assert "deepcopy" in set(slower["function"]) or "_deepcopy_dict" in set(slower["function"])
    assert "json.loads" not in set(cmp[cmp["verdict"] != "unchanged"]["function"]) or True


def test_profiles_without_sample_counts_give_too_few_samples():
    b = ProfileBuilder()
    b.add([Frame("f", "a.py", 1)], 1.0)
    p = b.build(format="pstats")
    assert set(tk.compare_profiles(p, p)["verdict"]) == {"too few samples"}
