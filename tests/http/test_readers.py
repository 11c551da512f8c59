"""Readers on small known inputs: nginx log_format compilation, escapes, Apache, JSON lines,
and bad input (errors before any line is read; every bad line counted)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit.errors import LogFormatError, ParseError
from toolkit.http import compile_format

LINE = ('10.0.0.1 - - [26/Nov/2026:05:08:45 +0000] "GET /api/users/7?x=1 HTTP/1.1" 200 29 "-" "curl/8" '
        'rt=0.250 urt="0.010, 0.020 : 0.030" ua="10.0.0.2:80, 10.0.0.3:80 : 10.0.0.4:80" cs=- gz=3.50\n')
FMT = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
       '"$http_user_agent" rt=$request_time urt="$upstream_response_time" ua="$upstream_addr" '
       'cs=$upstream_cache_status gz=$gzip_ratio')


def test_every_variable_becomes_a_typed_column():
    df = tk.read_access_log(LINE.encode(), log_format=FMT)
    row = df.iloc[0]
    assert row["timestamp"] == pd.Timestamp("2026-11-26 05:08:45", tz="UTC")
    assert (row["client"], row["method"], row["path"], row["query"], row["protocol"]) == \
        ("10.0.0.1", "GET", "/api/users/7", "x=1", "HTTP/1.1")
    assert row["url"] == "/api/users/7?x=1"
    assert row["status"] == 200 and row["body_bytes_sent"] == 29
    assert row["request_time_s"] == 0.25
    # the list is kept raw and summed over the tries (", ") and upstream groups (" : ")
    assert row["upstream_response_time"] == "0.010, 0.020 : 0.030"
    assert row["upstream_time_s"] == pytest.approx(0.060)
    assert row["upstream_addr"] == "10.0.0.2:80, 10.0.0.3:80 : 10.0.0.4:80"
    assert pd.isna(row["upstream_cache_status"]) and pd.isna(row["referer"])  # "-" is null
    assert row["gzip_ratio"] == 3.5
    assert df["source_line"].tolist() == [1]


def test_pasted_directive_with_escape_json_is_decoded():
    directive = ("log_format j escape=json\n  '{\"t\":\"$time_iso8601\",\"r\":\"$request\",'\n"
                 "  '\"s\":$status,\"ua\":\"$http_user_agent\"}';")
    line = ('{"t":"2026-11-26T05:08:45+00:00","r":"GET /q?a=\\"b\\" HTTP/1.1","s":200,'
            '"ua":"say \\"hi\\" \\\\ caf\u00e9"}\n')
    df = tk.read_access_log(line.encode(), log_format=directive)
    assert df.attrs["source"]["lines_skipped"] == 0
    assert df.loc[0, "query"] == 'a="b"'
    assert df.loc[0, "user_agent"] == 'say "hi" \\ café'
    assert df.loc[0, "timestamp"] == pd.Timestamp("2026-11-26 05:08:45", tz="UTC")


def test_escape_default_hex_runs_decode_as_utf8():
    line = b'1.2.3.4 "GET /s?q=\\x22x\\x22&n=caf\\xC3\\xA9 HTTP/1.1" 200 "a\\x5Cb"\n'
    df = tk.read_access_log(line, log_format='$remote_addr "$request" $status "$http_user_agent"')
    assert df.loc[0, "query"] == 'q="x"&n=café'
    assert df.loc[0, "user_agent"] == "a\\b"


@pytest.mark.parametrize("bad,message", [
    ("$remote_addr $no_such_variable", "unknown nginx variable $no_such_variable"),
    ('$remote_addr "$request $status', "unbalanced double quotes"),
    ("just text", "no $variables"),
    ("", "non-empty"),
    ('%h %Z "%r"', "unknown Apache LogFormat directive %Z"),
])
def test_bad_log_format_fails_before_reading(bad, message, tmp_path):
    missing = tmp_path / "not-read.log"  # never opened: the format is checked first
    with pytest.raises(LogFormatError, match=message.replace("$", r"\$")):
        tk.read_access_log(missing, log_format=bad)


def test_map_variables_can_be_declared():
    fmt = compile_format("$remote_addr $my_mapped", variables=("my_mapped",))
    assert [f.column for f in fmt.fields] == ["client", "my_mapped"]


def test_apache_common_with_escapes(fixtures):
    df = tk.read_access_log(fixtures / "http" / "apache_common.log")
    assert df.attrs["source"]["format"] == "access_log:common"
    assert df["status"].tolist() == [200, 201, 404]
    assert df["body_bytes_sent"].tolist() == [2326, 0, 209]  # %b writes "-" for no body
    assert df.loc[0, "remote_user"] == "frank"
    assert df.loc[0, "timestamp"] == pd.Timestamp("2000-10-10 20:55:36", tz="UTC")  # -0700 -> UTC
    assert df.loc[1, "path"] == "/api/users/42/orders"
    assert df.loc[2, "query"] == 'q="quoted"&u=café'


def test_apache_custom_logformat_D_and_T(fixtures):
    fmt = 'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\" %D %T" timed'
    df = tk.read_access_log(fixtures / "http" / "apache_custom_D_T.log", log_format=fmt)
    assert df["request_time_s"].tolist() == [0.0015, 2.5]  # %D microseconds win over %T seconds
    assert df["request_time"].tolist() == [0.0, 2.0]
    assert df["status"].tolist() == [200, 500]
    assert df.loc[1, "user_agent"] == 'agent "with" quotes'
    assert df.loc[1, "referer"] == "http://x/"


def test_apache_ms_time_and_header():
    line = b'1.2.3.4 [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 87 abc-123\n'
    df = tk.read_access_log(line, log_format="%a %t \"%r\" %>s %{ms}T %{X-Request-ID}i")
    assert df.loc[0, "request_time_s"] == 0.087
    assert df.loc[0, "http_x_request_id"] == "abc-123"


def test_json_lines_with_numbers_and_bad_lines():
    data = (b'{"time":"2026-11-26T05:08:45+00:00","remote_addr":"1.2.3.4","request":"GET /a HTTP/1.1",'
            b'"status":200,"request_time":0.5,"body_bytes_sent":10}\n'
            b'not json\n\n'
            b'{"time":"2026-11-26T05:08:46+00:00","remote_addr":"1.2.3.4","request":"POST /b HTTP/1.1",'
            b'"status":"503","request_time":"1.25","body_bytes_sent":"0"}\n')
    df = tk.read_access_log(data)
    assert df["status"].tolist() == [200, 503]
    assert df["request_time_s"].tolist() == [0.5, 1.25]
    assert df["source_line"].tolist() == [1, 4]
    src = df.attrs["source"]
    assert src["lines_skipped"] == 2 and src["skip_reasons"] == {"not a JSON object": 1, "empty line": 1}


def test_non_matching_lines_are_counted_with_reason():
    good = LINE
    data = (good + "garbage line\n" + "\n" + "bin\x00ary\n" + good).encode()
    df = tk.read_access_log(data, log_format=FMT)
    src = df.attrs["source"]
    assert len(df) == 2 and df["source_line"].tolist() == [1, 5]
    assert src["lines_read"] == 5 and src["lines_skipped"] == 3
    assert src["skip_reasons"] == {"does not match log format 'nginx'": 1, "empty line": 1,
                                   "binary data (NUL bytes)": 1}
    assert [s["line"] for s in src["skipped"]] == [2, 3, 4]


def test_errors_raise_names_file_and_line(tmp_path):
    log = tmp_path / "x.log"
    log.write_text(LINE + "oops\n")
    with pytest.raises(ParseError, match=r"x\.log:2: does not match"):
        tk.read_access_log(log, log_format=FMT, errors="raise")


def test_random_bytes_nul_bytes_and_huge_url_do_not_crash():
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    huge = ('1.2.3.4 - - [26/Nov/2026:05:08:45 +0000] "GET /' + "a" * 1_000_000 + ' HTTP/1.1" 200 5 "-" "-"\n')
    data = noise + b"\n" + b"\x00" * 1000 + b"\n" + huge.encode() + os.urandom(1000)
    df = tk.read_access_log(data, log_format="combined")
    src = df.attrs["source"]
    assert len(df) + src["lines_skipped"] == src["lines_read"]
    assert (df["path"].str.len() == 1_000_001).sum() == 1


def test_empty_input_is_an_empty_table():
    df = tk.read_access_log(b"", log_format="combined")
    assert len(df) == 0 and df.attrs["source"]["lines_read"] == 0
    tk.schema.validate(df, "http_requests")


def test_small_chunks_give_the_same_rows(perf_requests):
    from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT
    small = tk.read_access_log(NGINX_SAMPLES / "access.log.gz", log_format=PERF_FORMAT, chunk_size=10_000)
    pd.testing.assert_frame_equal(small, perf_requests)
