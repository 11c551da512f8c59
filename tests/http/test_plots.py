"""The HTTP figures draw the aggregates of toolkit.http.timeseries, with titles and units."""

from __future__ import annotations

import plotly.graph_objects as go

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
