"""A throwaway nginx writes a log with our format strings; the reader reads back exactly what
was sent (escape=default and escape=json, quotes and UTF-8 in the URL and headers)."""

from __future__ import annotations

import http.client
import socket

import pytest
from helpers.nginx import run_nginx
from helpers.programs import require_program

import toolkit as tk

pytestmark = pytest.mark.server

FORMATS = {
    "default": ("log_format t '$remote_addr [$time_local] \"$request\" $status $body_bytes_sent "
                "$bytes_sent rt=$request_time \"$http_user_agent\" \"$http_x_trace\" c=$connection "
                "n=$connection_requests $msec';"),
    "json": ("log_format t escape=json '{\"ts\":\"$time_iso8601\",\"request\":\"$request\",\"status\":$status,"
             "\"ua\":\"$http_user_agent\",\"trace\":\"$http_x_trace\",\"rt\":$request_time}';"),
}


@pytest.mark.parametrize("escape", sorted(FORMATS))
def test_reader_reads_back_what_nginx_wrote(tmp_path, escape):
    nginx = require_program("nginx")
    directive = FORMATS[escape]
    with run_nginx(nginx, tmp_path, directive, "t") as port:
        (tmp_path / "www" / "a.json").write_text('{"x": 1}' * 100)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        sent = [("/a.json", 'ua "quoted" caf\u00e9'), ("/a.json?q=%22x%22&n=1", "plain"),
                ("/missing", "plain")]
        for path, ua in sent:
            conn.putrequest("GET", path)
            conn.putheader("User-Agent", ua.encode("utf-8"))
            conn.putheader("X-Trace", "t-1")
            conn.endheaders()
            conn.getresponse().read()
        conn.close()
        # a raw quote inside the request target (sent as is by a broken client)
        with socket.create_connection(("127.0.0.1", port), 5) as s:
            s.sendall(b'GET /a.json?q="raw" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            while s.recv(65536):
                pass
    log = tmp_path / "access.log"
    df = tk.read_access_log(log, log_format=directive)
    src = df.attrs["source"]
    assert src["lines_skipped"] == 0 and len(df) == 4 == src["lines_read"]
    assert df["status"].tolist() == [200, 200, 404, 200]
    assert df["path"].tolist() == ["/a.json", "/a.json", "/missing", "/a.json"]
    assert df["query"].tolist()[1:] == ["q=%22x%22&n=1", None, 'q="raw"']
    assert df["user_agent"].tolist()[0] == 'ua "quoted" caf\u00e9'
    assert (df["request_time_s"] >= 0).all() and df["timestamp"].notna().all()
    assert df["http_x_trace"].tolist() == ["t-1"] * 3 + [None]  # a header not sent is "-" / ""
    if escape == "default":
        assert df["body_bytes_sent"].iloc[0] == 800 and (df["bytes_sent"] > df["body_bytes_sent"]).all()
        assert df["connection_requests"].tolist()[:3] == [1, 2, 3]  # one keep-alive connection
