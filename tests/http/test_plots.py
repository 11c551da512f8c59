"""The HTTP figures draw the aggregates of toolkit.http.timeseries, with titles and units."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT

import toolkit as tk
from toolkit.http import timeseries


def _labelled(fig: go.Figure) -> None:
    assert fig.layout.title.text
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert all(trace.hovertemplate for trace in fig.data)


def test_status_codes_stack_every_request(perf_requests):
    fig = tk.plots.status_codes(perf_requests, freq="5s")
    _labelled(fig)
    assert sum(sum(bar.y) for bar in fig.data) == len(perf_requests)
    assert {bar.name for bar in fig.data} == {str(s) for s in perf_requests["status"].unique()}


def test_latency_over_time_of_one_endpoint(perf_requests):
    fig = tk.plots.request_latency(perf_requests, endpoint="/api/reports/{id}/export", freq="5s")
    _labelled(fig)
    table = timeseries.latency_over_time(perf_requests, endpoint="/api/reports/{id}/export", freq="5s")
    assert table["requests"].sum() == (perf_requests["path"].fillna("").str.match(r"/api/reports/\d+/export")).sum()
    p50 = next(t for t in fig.data if t.name == "p50")
    assert list(p50.y) == table["p50_s"].tolist()


def test_endpoint_heatmap_rows_are_the_heaviest_endpoints(perf_requests):
    fig = tk.plots.endpoint_heatmap(perf_requests, value="p95_s", top=5)
    _labelled(fig)
    assert list(fig.data[0].y)[0] == "GET /api/reports/{id}/export"
    assert len(fig.data[0].y) == 5


def test_payload_sizes_largest_median_first(perf_requests):
    fig = tk.plots.payload_sizes(perf_requests)
    _labelled(fig)
    assert fig.data[0].name == "GET /api/downloads/{id}"
    assert fig.layout.xaxis.type == "log"


def test_time_series_of_a_log_path_equal_those_of_its_table(perf_requests):
    # GIVEN the perf sample as a path (the scanner reads only the columns each series needs)
    path = NGINX_SAMPLES / "access.log.gz"
    # THEN every series equals the one of the whole table, bin for bin
    pairs = [(timeseries.latency_over_time, {"freq": "5s", "endpoint": "/api/reports/{id}/export"}),
             (timeseries.endpoint_matrix, {"value": "p95_s", "top": 5}),
             (timeseries.status_over_time, {"freq": "10s"}),
             (timeseries.payload_sizes, {"top": 4})]
    for series, options in pairs:
        from_path = series(path, log_format=PERF_FORMAT, **options)
        pd.testing.assert_frame_equal(from_path, series(perf_requests, **options))
    assert timeseries.status_over_time(path, log_format=PERF_FORMAT).to_numpy().sum() == len(perf_requests)
