"""Each http.* rule fires on the endpoint / client / upstream planted in the sample and on no other."""

from __future__ import annotations

import pandas as pd
import pytest

import toolkit as tk
from toolkit import schema
from toolkit.http import detectors
from toolkit.rules import RULES


def _by_rule(found: pd.DataFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _, r in found.iterrows():
        target = r.get("endpoint") if isinstance(r.get("endpoint"), str) else r.get("client")
        if not isinstance(target, str):
            target = r.get("upstream")
        if r["rule"] == "http.error_rate":
            target = f"{target} {r['error_class']}"
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
        # the page's missing stylesheet: every request for it is a 404
        "http.error_rate": ["/static/missing.css 4xx"],
    }
    # the sample's clients read fast: nothing for http.slow_client (tested below)
    assert set(found["rule"]) == {r for r in RULES if r.startswith("http.")} - {"http.slow_client"}
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
    assert _by_rule(found) == {"http.large_payload": ["/api/downloads/{id}"], "http.rate_limit": ["127.0.0.66"],
                               "http.error_rate": ["/static/missing.css 4xx"]}


def test_thresholds_can_be_overridden(perf_requests):
    found = tk.http.findings(perf_requests, slow_endpoint_p95_s=0.2)
    slow = found[found["rule"] == "http.slow_endpoint"]["endpoint"].tolist()
    assert slow == ["/api/reports/{id}/export", "/api/items"]
    assert detectors.findings(perf_requests.iloc[:0]).empty


def _requests(rows, step_s=0.5):
    t0 = pd.Timestamp("2026-01-01T10:00:00Z")
    df = pd.DataFrame([{"timestamp": t0 + pd.Timedelta(seconds=step_s * i), "client": "192.0.2.1", "method": "GET",
                        "protocol": "HTTP/1.1", "source_line": i + 1, **r} for i, r in enumerate(rows)])
    df["url"] = df["path"]
    return schema.coerce(df, "http_requests")


def test_error_rate_counts_5xx_and_4xx_per_endpoint_with_the_window():
    # GIVEN /api/pay answering 22 of 100 requests with 500 (a burst), and /api/ok with 1 in 1000
    rows = [{"path": "/api/pay", "status": 500 if 40 <= i < 62 else 200, "request_time_s": 0.05,
             "body_bytes_sent": 100} for i in range(100)]
    rows += [{"path": "/api/ok", "status": 502 if i == 500 else 200, "request_time_s": 0.01,
              "body_bytes_sent": 50} for i in range(1000)]
    found = detectors.error_rates(_requests(rows))
    # THEN one finding, for /api/pay, with its count, share and window (requests 40..61: 20.0 .. 30.5 s)
    assert len(found) == 1
    f = found[0]
    assert (f["endpoint"], f["errors"], f["error_pct"], f["severity"]) == ("/api/pay", 22, 22.0, "high")
    assert "22 of 100 requests (22.0 %) answered 5xx (500 x 22) between 2026-01-01 10:00:20 and " \
           "2026-01-01 10:00:30" in f["evidence"]
    # each failed request costs its own time and a retry at the endpoint's median (50 ms)
    assert f["saving_s"] == pytest.approx(22 * 0.05 * 2)


def test_caching_advice_only_where_a_cache_saves_time_or_bytes():
    # GIVEN two hot GET URLs never served from cache: a 1 ms, 12-byte one and a 30 ms one
    rows = []
    for _ in range(60):
        rows.append({"path": "/api/fast", "status": 200, "request_time_s": 0.001, "body_bytes_sent": 12,
                     "upstream_cache_status": "MISS", "upstream_addr": "10.0.0.1:80"})
        rows.append({"path": "/api/rates", "status": 200, "request_time_s": 0.030, "body_bytes_sent": 800,
                     "upstream_cache_status": "MISS", "upstream_addr": "10.0.0.1:80"})
    found = detectors.cache_misses(_requests(rows))
    # THEN only the one a cache would speed up; its 60 requests fall in one minute: with a 60 s
    # cache, one miss is left and 59 are saved
    assert [f["endpoint"] for f in found] == ["/api/rates"]
    assert found[0]["saving_s"] == pytest.approx(59 * 0.030)
    # both floors are options
    assert len(detectors.cache_misses(_requests(rows), min_latency_s=0.0005)) == 2


def test_slow_client_is_told_apart_from_a_slow_application():
    # GIVEN downloads the application answers in 10 ms that take 2 s to send, and an export the
    # application itself takes 1.2 s for
    rows = [{"path": "/files/big", "status": 200, "request_time_s": 2.0, "upstream_time_s": 0.010,
             "body_bytes_sent": 250_000} for _ in range(6)]
    rows += [{"path": "/api/export", "status": 200, "request_time_s": 1.2, "upstream_time_s": 1.19,
              "body_bytes_sent": 100} for _ in range(6)]
    found = detectors.findings(_requests(rows))
    got = dict(zip(found["rule"], found["endpoint"], strict=True))
    # THEN the download is a slow client, the export a slow endpoint; neither is both
    assert got == {"http.slow_client": "/files/big", "http.slow_endpoint": "/api/export"}
    slow_client = found[found["rule"] == "http.slow_client"].iloc[0]
    assert slow_client["saving_s"] == pytest.approx(6 * 1.99)
