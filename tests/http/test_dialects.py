"""The access-log dialects read without options (toolkit.http.dialects), a wrong explicit format,
and log_format given as a configuration (an nginx.conf's text, @path, name=), on real logs:
nginx 1.22's main and combined + $request_time (tests/fixtures/third_party/produced-here, made by
its make.py), lnav's vhost combined and HAProxy samples."""

from __future__ import annotations

import doctest
import json

import pandas as pd
import pytest
from conftest import FIXTURES

import toolkit as tk
from toolkit.errors import LogFormatError, UnknownFormatError
from toolkit.http import dialects
from toolkit.http.timeseries import status_over_time

CORPUS = FIXTURES / "third_party"
MAIN_LOG = CORPUS / "produced-here/nginx1.22-main.log"
TIMED_LOG = CORPUS / "produced-here/nginx1.22-combined-request-time.log"
VHOST_LOG = CORPUS / "lnav/logfile_regexp_access_log.0"
CONF = """http {
    # nginx.org's packages ship main; timed is a user's own
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status '
                     '$body_bytes_sent "$http_referer" "$http_user_agent" $request_time';
    access_log /var/log/nginx/access.log main;
}
"""


def test_nginx_main_is_read_without_options_with_its_forwarded_for_column():
    # GIVEN a log nginx 1.22 wrote with the main format of nginx.org's nginx.conf
    df = tk.read_access_log(MAIN_LOG)
    # THEN every line is a request, and the extra field is $http_x_forwarded_for
    src = df.attrs["source"]
    assert (len(df), src["lines_skipped"], src["format"]) == (60, 0, "access_log:main")
    assert df["http_x_forwarded_for"].iloc[:3].tolist() == ["203.0.113.0", "203.0.113.1", "203.0.113.2"]
    assert df["user_agent"].iloc[2] == "curl/7.88.1" and df["status"].iloc[2] == 404
    # AND the streaming aggregate and the time series read it the same way
    assert int(tk.endpoints(MAIN_LOG)["requests"].sum()) == 60
    assert status_over_time(MAIN_LOG).to_numpy().sum() == 60  # (status x time: 45 x 200, 15 x 404)


def test_extra_trailing_fields_are_kept_as_extra_columns_never_guessed():
    df = tk.read_access_log(TIMED_LOG)
    assert (len(df), df.attrs["source"]["format"]) == (60, "access_log:combined+1")
    assert set(df["extra_1"]) == {"0.000"} and df["request_time_s"].isna().all()
    # AND two extra fields, one quoted with spaces inside, are two columns
    line = '1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" "x y" 0.25\n'
    two = tk.read_access_log((line * 3).encode())
    assert two["extra_1"].tolist() == ["x y"] * 3 and two["extra_2"].tolist() == ["0.25"] * 3


def test_a_line_with_other_extra_fields_is_skipped_and_counted_not_shifted():
    line = '1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" 0.25'
    df = tk.read_access_log(f"{line}\n{line}\n{line}\n{line}\n{line} 7\n".encode())
    src = df.attrs["source"]
    assert (len(df), src["lines_skipped"]) == (4, 1)
    assert src["skipped"][0]["line"] == 5 and src["skip_reasons"] == {"does not match log format 'combined+1'": 1}


def test_vhost_combined_is_read_with_server_name_port_and_ident():
    df = tk.read_access_log(VHOST_LOG)
    assert df.attrs["source"]["format"] == "access_log:vhost_combined+1" and len(df) == 2
    assert df["server_name"].tolist() == ["localhost", "localhost"]
    assert df["server_port"].tolist() == [443, 443]
    assert df["remote_logname"].tolist() == ["1j0vhgd", "cger1e"]
    assert df["client"].tolist() == ["178.20.184.42", "154.57.4.229"]
    assert df["extra_1"].tolist() == ["116075", "156302"]


def test_an_apache_logformat_from_a_conf_types_the_vhost_logs_duration():
    httpd = ('LogFormat "%h %l %u %t \\"%r\\" %>s %b" common\n'
             'LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\" %D" timed\n')
    df = tk.read_access_log(VHOST_LOG, log_format=httpd)
    assert df["request_time_s"].tolist() == [0.116075, 0.156302]
    assert df["bytes_sent"].tolist() == [17163, 16517]


def test_a_wrong_explicit_format_shows_the_first_line_and_what_was_expected():
    # GIVEN a main log read as combined
    with pytest.raises(LogFormatError) as err:
        tk.read_access_log(MAIN_LOG, log_format="combined")
    msg = str(err.value)
    # THEN the message names the file, the expected format, line 1 and what the log really is
    assert "nginx1.22-main.log: no line matches log format 'combined'" in msg
    assert '"$http_user_agent"' in msg and "line 1 is '127.0.0.1 - - [07/Dec/2026:12:30:08" in msg
    assert "It is written in 'main'" in msg
    # AND the streaming readers say the same, never an empty table
    with pytest.raises(LogFormatError, match="no line matches log format 'combined'"):
        tk.endpoints(MAIN_LOG, log_format="combined")
    with pytest.raises(LogFormatError, match="no line matches log format 'combined'"):
        status_over_time(MAIN_LOG, log_format="combined")


def test_a_format_that_matches_some_lines_reads_them_and_counts_the_rest():
    good = '1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl"\n'
    df = tk.read_access_log(("nope\n" + good).encode(), log_format="combined")
    assert len(df) == 1 and df.attrs["source"]["lines_skipped"] == 1


def test_a_conf_offers_its_directives_and_the_matching_one_is_used(tmp_path):
    # GIVEN an nginx.conf with two multi-line log_format directives
    main = tk.read_access_log(MAIN_LOG, log_format=CONF)
    timed = tk.read_access_log(TIMED_LOG, log_format=CONF)
    # THEN each log is read with the directive whose fields match it
    assert main.attrs["source"]["format"] == "access_log:main" and len(main) == 60
    assert timed.attrs["source"]["format"] == "access_log:timed" and len(timed) == 60
    assert set(timed["request_time_s"]) == {0.0}
    # AND a file named with @ and a name= work the same, in the library's every reader
    (tmp_path / "nginx.conf").write_text(CONF)
    at = f"@{tmp_path / 'nginx.conf'}"
    assert len(tk.read_access_log(TIMED_LOG, log_format=at, name="timed")) == 60
    assert int(tk.endpoints(TIMED_LOG, log_format=at)["requests"].sum()) == 60
    assert status_over_time(MAIN_LOG, log_format=at).to_numpy().sum() == 60


def test_a_name_the_conf_lacks_or_that_does_not_fit_is_an_error():
    with pytest.raises(LogFormatError, match="no log_format / LogFormat named 'perf'.*it defines: main, timed"):
        tk.read_access_log(MAIN_LOG, log_format=CONF, name="perf")
    with pytest.raises(LogFormatError, match="no line matches log format 'main'"):
        tk.read_access_log(TIMED_LOG, log_format=CONF, name="main")
    with pytest.raises(LogFormatError, match="fit none of the formats the configuration defines"):
        tk.read_access_log(VHOST_LOG, log_format=CONF)
    with pytest.raises(LogFormatError, match="name='main' picks one log_format of a configuration"):
        tk.read_access_log(MAIN_LOG, name="main")


def test_haproxy_http_logs_are_refused_saying_so():
    with pytest.raises(UnknownFormatError, match="HAProxy's HTTP log .option httplog. is not read"):
        tk.read_access_log(CORPUS / "lnav/logfile_haproxy.0")


def test_the_modules_examples_hold():
    assert doctest.testmod(dialects).failed == 0


# -- JSON access logs of the common servers ---------------------------------------------------

def test_caddys_structured_log_behind_docker_compose_is_read_and_its_other_messages_counted():
    # GIVEN Caddy 2's log (lnav's test file): 4 "handled request" entries among 35 server messages,
    # each line behind docker compose's "caddy  | "
    df = tk.read_access_log(CORPUS / "lnav/logfile_caddy_log.0")
    src = df.attrs["source"]
    # THEN the requests are rows, the messages counted skips, and the nested fields are columns
    assert (src["lines_read"], len(df)) == (39, 4)
    assert src["skip_reasons"] == {"a server message, not a request (no request, no status)": 35}
    assert df["path"].tolist() == ["/", "/", "/", "/index.html"]
    assert df["status"].tolist() == [304, 304, 304, 200]
    assert df["body_bytes_sent"].tolist() == [0, 0, 0, 188]
    assert df["request_time_s"].iloc[0] == 0.001674508 and df["client"].iloc[0] == "172.19.0.1"
    assert str(df["timestamp"].iloc[0]) == "2025-10-21 04:10:28.615000+00:00"  # ts, epoch float
    assert df["user_agent"].iloc[0].startswith("Mozilla/5.0 (X11; Ubuntu")


TRAEFIK = {"ClientAddr": "10.0.0.1:5555", "ClientHost": "10.0.0.1", "DownstreamContentSize": 123,
           "DownstreamStatus": 200, "Duration": 2500000, "RequestHost": "example.com", "RequestMethod": "GET",
           "RequestPath": "/api/x?y=1", "RequestProtocol": "HTTP/1.1", "RouterName": "api@docker",
           "StartUTC": "2024-05-01T10:00:00.123456789Z", "level": "info", "msg": "",
           "time": "2024-05-01T10:00:00Z", "request_User-Agent": "curl/8.5.0"}


def test_traefiks_json_access_log_maps_to_the_canonical_columns():
    df = tk.read_access_log((json.dumps(TRAEFIK) + "\n").encode())
    row = df.iloc[0]
    assert (row["client"], row["method"], row["path"], row["query"], row["status"]) == (
        "10.0.0.1", "GET", "/api/x", "y=1", 200)
    assert row["body_bytes_sent"] == 123 and row["request_time_s"] == 0.0025  # Duration in ns
    assert row["timestamp"] == pd.Timestamp("2024-05-01 10:00:00.123456789", tz="UTC")
    assert row["user_agent"] == "curl/8.5.0" and row["host"] == "example.com"


@pytest.mark.parametrize("date", ["01/May/2024:10:00:00 +0000", "2024-05-01T10:00:00+00:00", 1714557600,
                                  "1714557600.000"])
def test_an_nginx_json_date_key_is_typed_by_its_value(date):
    obj = {"date": date, "remote_addr": "1.2.3.4", "request": "GET /a HTTP/1.1", "status": "200"}
    df = tk.read_access_log((json.dumps(obj) + "\n").encode())
    assert df["timestamp"].tolist() == [pd.Timestamp("2024-05-01 10:00:00", tz="UTC")]


def test_a_json_row_without_time_or_path_is_kept_with_nulls_and_counted():
    rows = [{"time": "2024-05-01T10:00:00+00:00", "request": "GET /a HTTP/1.1", "status": 200},
            {"request": "GET /b HTTP/1.1", "status": 200}, {"time": "2024-05-01T10:00:01+00:00", "status": 500}]
    df = tk.read_access_log("".join(json.dumps(r) + "\n" for r in rows).encode())
    assert len(df) == 3 and df.attrs["source"]["lines_skipped"] == 0
    assert df["timestamp"].isna().tolist() == [False, True, False]
    assert df["path"].tolist()[:2] == ["/a", "/b"] and pd.isna(df["path"].iloc[2])
    assert df.attrs["source"]["rows_without"] == {"timestamp": 1, "path": 1}


def test_the_json_key_mapping_can_be_extended(monkeypatch):
    from toolkit.http import scanner
    monkeypatch.setitem(scanner.JSON_KEYS, "when", "time_iso8601")
    obj = {"when": "2024-05-01T10:00:00+00:00", "request": "GET /a HTTP/1.1", "status": 200}
    df = tk.read_access_log((json.dumps(obj) + "\n").encode(), format="access-json")
    assert df["timestamp"].tolist() == [pd.Timestamp("2024-05-01 10:00:00", tz="UTC")]
