"""Requests broken down by cache status, client and upstream (toolkit.http.breakdown), on the
nginx sample whose planted problems are known (sample_traces/http/README.md): a cookie that
keeps /api/prices out of the cache, a client hammering /api/search, a batch client without
keep-alive, a degraded server in the app pool."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.http.breakdown import by_cache_status, by_client, by_upstream

NGINX = Path(__file__).resolve().parents[2] / "sample_traces" / "http" / "nginx" / "access.log.gz"


@pytest.fixture(scope="module")
def requests():
    return tk.read_access_log(NGINX)


def test_the_cache_answers_per_endpoint(requests):
    table = by_cache_status(requests).set_index("endpoint")
    assert table.loc["/api/products/{id}", ["HIT", "MISS", "no cache"]].tolist() == [192, 8, 0]
    assert table.loc["/api/products/{id}", "hit_pct"] == 96.0
    assert table.loc["/api/prices", ["HIT", "MISS"]].tolist() == [0, 226]       # never stored
    assert table.loc["/api/exchange-rates", "no cache"] == 186                   # no cache at all
    assert len(table) == 10 and table.columns.name is None


def test_each_clients_rate_429s_and_connections(requests):
    table = by_client(requests).set_index("client")
    assert table.index[0] == "127.0.0.66"
    assert table.loc["127.0.0.66"].tolist() == [450, 324, 290, 3, 150.0]        # the hammering client
    assert table.loc["127.0.0.30", ["requests", "connections", "requests_per_connection"]].tolist() == [220, 220, 1.0]


def test_each_upstreams_share_and_speed(requests):
    table = by_upstream(requests)
    assert table["requests"].tolist() == [592, 592, 341, 340]
    assert table["share_pct"].tolist() == [31.7, 31.7, 18.3, 18.2]
    slow, fast = table.set_index("upstream").loc[["127.0.0.1:34719", "127.0.0.1:51025"], "upstream_p50_s"]
    assert (slow, fast) == pytest.approx((0.088, 0.048))


def test_a_request_that_tried_several_servers_counts_for_the_last():
    rows = pd.DataFrame({"upstream_addr": ["10.0.0.1:80, 10.0.0.2:80", "10.0.0.1:80 : 10.0.0.3:80", "10.0.0.1:80"],
                         "path": ["/a", "/a", "/b"], "upstream_time_s": [0.1, 0.2, 0.3]})
    assert by_upstream(rows)["upstream"].tolist() == ["10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80"]


def test_a_log_without_what_a_breakdown_needs_gives_an_empty_table():
    common = tk.read_access_log(Path(__file__).resolve().parents[2] / "sample_traces/http/apache/common.log",
                                log_format="common")
    assert by_cache_status(common).empty and by_upstream(common).empty
    assert not by_client(common).empty and "connections" not in by_client(common).columns
