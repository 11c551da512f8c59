"""The readers on output the installed tools write now (a second, differently configured source
than the committed samples): hyperfine on a trivial command, wrk for one second against a
throwaway HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from helpers.programs import require_program

import toolkit as tk


def test_hyperfine_now(tmp_path):
    hyperfine = require_program("hyperfine")
    out = tmp_path / "now.json"
    subprocess.run([hyperfine, "-N", "--runs", "5", "--warmup", "1", "--style", "none", "--export-json", str(out),
                    f"{sys.executable} -c pass"], check=True, capture_output=True, timeout=60)
    doc = json.loads(out.read_text())["results"][0]
    df = tk.read_benchmarks(out)
    assert len(df) == 5 and df["benchmark"].iloc[0] == f"{sys.executable} -c pass"
    assert np.median(df["value_s"]) == pytest.approx(doc["median"], rel=1e-12)


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"ok" if self.path != "/fail" else b"no"
        self.send_response(200 if self.path != "/fail" else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.server
def test_wrk_now(tmp_path):
    wrk = require_program("wrk")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/fail"
        run = subprocess.run([wrk, "-t1", "-c2", "-d1s", "--latency", url], capture_output=True, text=True,
                             timeout=30, check=True)
    finally:
        server.shutdown()
    path = tmp_path / "wrk.txt"
    path.write_text(run.stdout)
    row = tk.read_load_test(path).iloc[0]
    # every response was a 503: wrk counts them all as Non-2xx, the reader as failures
    assert row["endpoint"] == "/fail" and row["requests"] > 10 and row["failures"] == row["requests"]
    assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
