"""Each http.* rule fires on the endpoint / client / upstream planted in the sample and on no other."""

from __future__ import annotations

import pandas as pd

import toolkit as tk
from toolkit import schema
from toolkit.findings import RULES
from toolkit.http import detectors


def _by_rule(found: pd.DataFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _, r in found.iterrows():
        target = r.get("endpoint") if isinstance(r.get("endpoint"), str) else r.get("client")
        if not isinstance(target, str):
            target = r.get("upstream")
        out.setdefault(r["rule"], []).append(target)
    return {k: sorted(v) for k, v in out.items()}


def test_each_rule_fires_on_its_planted_problem_only(perf_requests):
    found = tk.http.findings(perf_requests)
    schema.validate(found, "findings")
    got = _by_rule(found)
    # the imbalance names the degraded server of the "app" pool (its port is random per run)
    assert got.pop("http.upstream_imbalance") == [_degraded_app_server(perf_requests)]
    assert got == {
        "http.slow_endpoint": ["/api/reports/{id}/export"],
        "http.large_payload": ["/api/downloads/{id}"],
        "http.uncompressed": ["/api/config"],
        "http.pagination_latency": ["/api/items"],
        "http.cache_miss": ["/api/exchange-rates", "/api/prices"],
        "http.rate_limit": ["127.0.0.66"],
        "http.keepalive": ["127.0.0.30"],
    }
    assert set(found["rule"]) == {r for r in RULES if r.startswith("http.")}
    assert found["file"].str.endswith("access.log.gz").all() and found["line"].notna().all()


def _degraded_app_server(df: pd.DataFrame) -> str:
    users = df[df["path"].fillna("").str.startswith("/api/users/") & df["upstream_addr"].notna()]
    return users.groupby("upstream_addr")["upstream_time_s"].median().idxmax()


def test_evidence_is_specific(perf_requests):
    found = tk.http.findings(perf_requests).set_index("rule")
    assert "p95" in found.loc["http.slow_endpoint", "evidence"]
    rate = found.loc["http.rate_limit", "evidence"]
    n429 = int((perf_requests["status"] == 429).sum())
    assert f"whole log: {n429} x 429" in rate
    assert "Spearman" in found.loc["http.pagination_latency", "evidence"]
    assert "batch-sync/2.3" in found.loc["http.keepalive", "evidence"]


def test_clean_endpoints_stay_clean(perf_requests):
    # GIVEN only the endpoints without a planted problem (the clean half of the sample)
    planted = ("/api/reports/", "/api/downloads/", "/api/config", "/api/items", "/api/prices",
               "/api/exchange-rates")
    clean = perf_requests[~perf_requests["path"].fillna("").str.startswith(planted)
                          & ~perf_requests["client"].isin(["127.0.0.66", "127.0.0.30"])]
    found = tk.http.findings(clean)
    # THEN nothing fires but the degraded upstream, which serves the clean endpoints too
    assert set(found["rule"]) == {"http.upstream_imbalance"}


def test_rules_without_their_columns_report_nothing(combined_requests):
    # combined has no latency, cache, connection or upstream columns
    found = tk.http.findings(combined_requests)
    assert set(found["rule"]) <= {"http.large_payload", "http.rate_limit"}
    assert _by_rule(found) == {"http.large_payload": ["/api/downloads/{id}"], "http.rate_limit": ["127.0.0.66"]}


def test_thresholds_can_be_overridden(perf_requests):
    found = tk.http.findings(perf_requests, slow_endpoint_p95_s=0.2)
    slow = found[found["rule"] == "http.slow_endpoint"]["endpoint"].tolist()
    assert slow == ["/api/reports/{id}/export", "/api/items"]
    assert detectors.findings(perf_requests.iloc[:0]).empty
