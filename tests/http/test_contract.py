"""Contract over every sample access log: schema, accounting, detection, and the three logs
nginx wrote for the same requests agreeing with each other."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pytest
from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT

import toolkit as tk
from toolkit import formats, schema
from toolkit.errors import LogFormatError, UnknownFormatError

APACHE = NGINX_SAMPLES.parent / "apache"
SAMPLES = {
    "access.log.gz": {"log_format": PERF_FORMAT},
    "combined.log.gz": {"log_format": "combined"},
    "access.jsonl.gz": {"format": "access-json"},
    "../apache/common.log": {"log_format": "common"},
    "../apache/combined.log": {"log_format": "combined"},
    "../apache/timed.log": {"log_format": (APACHE / "timed.log_format").read_text()},
}


def _lines(name: str) -> int:
    path = NGINX_SAMPLES / name
    with (gzip.open(path, "rb") if name.endswith(".gz") else open(path, "rb")) as fh:
        return fh.read().count(b"\n")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_is_schema_valid_and_every_line_accounted(name):
    # GIVEN a log written by nginx; WHEN read with its format
    df = tk.read_access_log(NGINX_SAMPLES / name, **SAMPLES[name])
    # THEN the canonical table, and rows == lines - counted skips
    schema.validate(df, "http_requests")
    src = df.attrs["source"]
    assert src["lines_read"] == _lines(name)
    assert len(df) == src["records"] == src["lines_read"] - src["lines_skipped"]
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["timestamp"].notna().all()
    assert df["source_line"].is_monotonic_increasing


@pytest.mark.parametrize("name,fmt", [("combined.log.gz", "combined"), ("access.jsonl.gz", "access-json"),
                                      ("access.log.gz", "nginx"), ("../apache/common.log", "common"),
                                      ("../apache/combined.log", "combined"),
                                      ("../apache/timed.log", "nginx")])
def test_auto_detect_equals_explicit(name, fmt):
    # access.log.gz is found through perf.log_format, the format file beside it
    assert formats.detect(NGINX_SAMPLES / name).name == fmt
    auto = tk.read_access_log(NGINX_SAMPLES / name)
    explicit = tk.read_access_log(NGINX_SAMPLES / name, **SAMPLES[name])
    pd.testing.assert_frame_equal(auto, explicit)


def test_custom_format_without_its_format_file_is_not_guessed(tmp_path):
    # GIVEN the custom log alone in a folder: detection refuses rather than misreading it
    alone = tmp_path / "access.log.gz"
    shutil.copy(NGINX_SAMPLES / "access.log.gz", alone)
    with pytest.raises(UnknownFormatError):
        formats.detect(alone, "access_log")
    with pytest.raises(LogFormatError, match="log_format="):
        tk.read_access_log(alone, format="nginx")
    # AND with a matching NAME.log_format beside it, it reads
    (tmp_path / "mine.log_format").write_text(PERF_FORMAT)
    assert len(tk.read_access_log(alone)) == _lines("access.log.gz")


def test_the_three_logs_of_the_same_requests_agree(perf_requests, combined_requests):
    jsonl = tk.read_access_log(NGINX_SAMPLES / "access.jsonl.gz")
    assert len(perf_requests) == len(combined_requests) == len(jsonl)
    for other in (combined_requests, jsonl):
        assert other["status"].tolist() == perf_requests["status"].tolist()
        assert other["path"].tolist() == perf_requests["path"].tolist()
        assert other["client"].tolist() == perf_requests["client"].tolist()
        assert other["user_agent"].tolist() == perf_requests["user_agent"].tolist()
    # $msec (ms resolution, in access.log and access.jsonl) and $time_local (s) agree
    assert jsonl["timestamp"].equals(perf_requests["timestamp"])
    assert combined_requests["timestamp"].equals(perf_requests["timestamp"].dt.floor("s"))
    assert jsonl["request_time_s"].tolist() == perf_requests["request_time_s"].tolist()


def test_custom_format_columns_are_typed(perf_requests):
    df = perf_requests
    assert df["request_time_s"].dtype == "float64"
    assert str(df["connection_requests"].dtype) == "Int64"
    assert str(df["bytes_sent"].dtype) == "Int64"
    assert (df["bytes_sent"] >= df["body_bytes_sent"]).all()
    # $upstream_response_time kept raw, summed into upstream_time_s; "-" when nginx answered itself
    proxied = df["upstream_response_time"].notna()
    assert df.loc[proxied, "upstream_time_s"].notna().all()
    assert df.loc[~proxied, "upstream_time_s"].isna().all()
    assert set(df["upstream_cache_status"].dropna()) <= {"HIT", "MISS", "EXPIRED", "STALE", "UPDATING"}
    # the request line with a quote and UTF-8 bytes, escaped by nginx as \x22 and \xC3\xA9
    quoted = df[df["query"].fillna("").str.contains('"quoted"')]
    assert quoted["query"].tolist() == ['q="quoted"&name=café']
    assert 'evil"agent' in df["user_agent"].tolist()


def test_malformed_request_lines_are_rows_flagged(perf_requests):
    bad = perf_requests[perf_requests["malformed"]]
    # the TLS ClientHello and the binary garbage sent to the HTTP port
    assert len(bad) == 2
    assert bad["status"].tolist() == [400, 400]
    assert bad["method"].isna().all() and bad["path"].isna().all()
    assert bad["request"].str.startswith("\x16\x03\x01").any()


def test_apache_logs_of_the_same_requests_agree():
    # GIVEN the three logs a real Apache 2.4 wrote for the same 32 requests
    common, combined, timed = (tk.read_access_log(APACHE / n) for n in ("common.log", "combined.log", "timed.log"))
    for df in (combined, timed):
        for col in ("status", "path", "query", "body_bytes_sent", "timestamp"):
            assert df[col].tolist() == common[col].tolist()
    assert timed["user_agent"].tolist() == combined["user_agent"].tolist()
    # %b writes "-" for the HEAD responses' empty body; %O counts headers too
    assert (timed.loc[timed["method"] == "HEAD", "body_bytes_sent"] == 0).all()
    assert (timed["bytes_sent"] > timed["body_bytes_sent"]).all()
    # %D is microseconds; %k counts the requests before this one on the keep-alive connection
    assert (timed["request_time_s"] < 0.1).all() and (timed["request_time_s"] > 0).all()
    assert timed["keepalive_requests"].tolist()[:30] == list(range(30))
    # Apache escapes: \" and \xc3\xa9 in the User-Agent and in the request line
    assert combined["user_agent"].iloc[3] == 'sample "quoted" agent café'
    assert common["query"].iloc[-2] == 'q="x"&n=café'
    # TLS bytes sent to the plain port: a row, flagged, status 400
    last = common.iloc[-1]
    assert last["malformed"] and last["status"] == 400 and last["request"] == "\x16\x03\x01"
