"""Endpoint templating and the endpoint table: exact percentiles, rates, streaming == in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT

import toolkit as tk
from toolkit import schema
from toolkit.http import template_paths


def test_templating_numeric_uuid_hex_and_routes_first():
    paths = pd.Series(["/users/42", "/users/42/orders", "/o/3f2b8c1e-9a4d-4f7e-8c1a-0b2d4e6f8a9c",
                       "/blob/d3ac0f21ddb6", "/v2/items", "/static/app.js", "/cafebabe", "/deadbeef1",
                       None])
    assert template_paths(paths).tolist() == [
        "/users/{id}", "/users/{id}/orders", "/o/{id}", "/blob/{id}", "/v2/items", "/static/app.js",
        "/cafebabe", "/{id}", "(malformed request)"]
    routed = template_paths(pd.Series(["/users/alice/orders", "/users/42"]), routes=["/users/{name}/orders"])
    assert routed.tolist() == ["/users/{name}/orders", "/users/{id}"]


def _requests(times, sizes=None, statuses=None, path="/a/1", cache=None):
    n = len(times)
    df = pd.DataFrame({
        "timestamp": pd.date_range("2026-01-01", periods=n, freq="100ms", tz="UTC"),
        "method": "GET", "path": path, "url": path,
        "status": statuses if statuses is not None else [200] * n,
        "body_bytes_sent": sizes if sizes is not None else [100] * n,
        "request_time_s": times,
    })
    if cache is not None:
        df["upstream_cache_status"] = cache
    return schema.coerce(df, "http_requests")


def test_exact_percentiles_on_known_data():
    # GIVEN latencies 0.001 .. 0.100 s (100 requests) on one endpoint
    times = np.arange(1, 101) / 1000
    table = tk.endpoints(_requests(times, sizes=list(range(100, 10_100, 100))))
    row = table.iloc[0]
    # THEN linear-interpolated percentiles (numpy / pandas default): p50 between 0.050 and 0.051
    assert (row["endpoint"], row["method"], row["requests"]) == ("/a/{id}", "GET", 100)
    assert row["p50_s"] == 0.0505 and row["p90_s"] == 0.0901 and row["p95_s"] == 0.09505
    assert row["p99_s"] == 0.09901 and row["max_s"] == 0.1
    assert row["total_s"] == pytest.approx(5.05) and row["mean_s"] == pytest.approx(0.0505)
    assert row["time_pct"] == 100.0
    assert row["p50_bytes"] == 5050 and row["p95_bytes"] == 9505
    assert row["rps"] == pytest.approx(100 / 9.9)  # over the log's span: 99 x 100 ms
    schema.validate(table, "endpoints")


def test_error_rates_cache_ratio_and_share():
    a = _requests([0.1] * 4, statuses=[200, 404, 500, 503], cache=["HIT", "MISS", "HIT", None])
    b = _requests([0.3] * 2, path="/b")
    table = tk.endpoints(pd.concat([a, b], ignore_index=True)).set_index("endpoint")
    assert table.loc["/a/{id}", "errors_4xx_pct"] == 25.0 and table.loc["/a/{id}", "errors_5xx_pct"] == 50.0
    assert table.loc["/a/{id}", "cache_hit_pct"] == pytest.approx(100 * 2 / 3)  # of requests with a status
    assert pd.isna(table.loc["/b", "cache_hit_pct"])
    assert table.loc["/b", "time_pct"] == pytest.approx(60.0)
    assert list(table.index) == ["/b", "/a/{id}"]  # by total time


def test_streaming_from_the_file_equals_the_table(perf_requests):
    in_memory = tk.endpoints(perf_requests)
    streamed = tk.endpoints(NGINX_SAMPLES / "access.log.gz", log_format=PERF_FORMAT, chunk_size=50_000)
    # one scanner: the same table, the example URLs (with their query) included
    pd.testing.assert_frame_equal(streamed, in_memory)
    assert streamed["example"].str.contains("?", regex=False).any()
    assert streamed.attrs["source"]["records"] == len(perf_requests)


def test_sample_endpoint_table(perf_requests):
    flat = tk.endpoints(perf_requests)
    assert flat["requests"].sum() == len(perf_requests)
    # the TLS bytes and the garbage sent to the HTTP port: one row, no method
    malformed = flat[flat["endpoint"] == "(malformed request)"]
    assert malformed["requests"].tolist() == [2] and malformed["method"].isna().all()
    table = flat.set_index(["method", "endpoint"])
    slowest = table["p95_s"].idxmax()
    assert slowest == ("GET", "/api/reports/{id}/export")
    assert table.loc[("GET", "/api/products/{id}"), "cache_hit_pct"] > 80
    assert table.loc[("GET", "/api/prices"), "cache_hit_pct"] == 0
    # exact: equal to pandas on the same rows
    rows = perf_requests[perf_requests["path"] == "/api/items"]
    assert table.loc[("GET", "/api/items"), "p99_s"] == round(rows["request_time_s"].quantile(0.99), 6)


def test_worker_processes_give_the_same_table(perf_requests):
    one = tk.endpoints(NGINX_SAMPLES / "access.log.gz", log_format=PERF_FORMAT, chunk_size=50_000)
    two = tk.endpoints(NGINX_SAMPLES / "access.log.gz", log_format=PERF_FORMAT, chunk_size=50_000, jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert two.attrs["source"]["records"] == len(perf_requests) == two.attrs["source"]["lines_read"]


def test_weighted_quantiles_equal_numpy_on_the_expanded_data():
    from toolkit.http.endpoints import _merge_counts, weighted_quantiles
    rng = np.random.default_rng(3)
    data = rng.integers(0, 50, 1001) / 1000  # many repeats, as millisecond latencies have
    pair = None
    for part in np.array_split(data, 7):  # chunk by chunk, as the streaming reader feeds it
        pair = _merge_counts(pair, part)
    assert pair[1].sum() == len(data) and len(pair[0]) <= 50
    qs = [0, 0.01, 0.5, 0.9, 0.95, 0.99, 1]
    np.testing.assert_allclose(weighted_quantiles(*pair, qs), np.quantile(data, qs), rtol=0, atol=1e-12)
