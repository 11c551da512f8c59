"""Write the Apache sample logs with a real Apache httpd (Debian's apache2) serving static files.

    /work/venv/bin/python sample_traces/http/apache/generate.py

Starts a throwaway httpd in the foreground (its own ServerRoot and config in a temp dir,
127.0.0.1 only), sends a bounded set of requests (keep-alive, 404, HEAD, POST, a quote and UTF-8
in the URL, quotes in the User-Agent, a large file, a malformed request line), stops it and
writes common.log, combined.log and timed.log (LogFormat in timed.log_format) beside this file.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HTTPD = shutil.which("apache2") or "/usr/sbin/apache2"


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="perf-httpd-"))
    os.chmod(tmp, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("<h1>hello</h1>\n")
    (tmp / "www" / "app.js").write_text("function f(){return 1;}\n" * 400)
    (tmp / "www" / "big.bin").write_bytes(os.urandom(350_000))
    conf = (HERE / "httpd.conf.in").read_text().replace("@PREFIX@", str(tmp)).replace("@PORT@", str(port))
    conf = conf.replace("@HERE@", str(HERE))
    (tmp / "httpd.conf").write_text(conf)
    proc = subprocess.Popen([HTTPD, "-f", str(tmp / "httpd.conf"), "-DFOREGROUND"])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        requests = [("GET", "/"), ("GET", "/app.js"), ("GET", "/missing.css"), ("HEAD", "/app.js"),
                    ("GET", "/big.bin"), ("POST", "/index.html"), ("GET", "/index.html?q=1&page=2")]
        for i in range(30):
            method, path = requests[i % len(requests)]
            conn.putrequest(method, path)
            conn.putheader("User-Agent", 'sample "quoted" agent caf\u00e9'.encode() if i == 3 else b"sample/1.0")
            conn.putheader("X-Request-ID", f"req-{i:03d}")
            if method == "POST":
                conn.putheader("Content-Length", "2")
                conn.endheaders(b"{}")
            else:
                conn.endheaders()
            conn.getresponse().read()
        conn.close()
        for raw in (b'GET /index.html?q="x"&n=caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
                    b"\x16\x03\x01\x00\x05hello\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), 5) as s:
                s.sendall(raw)
                s.settimeout(3)
                try:
                    while s.recv(65536):
                        pass
                except OSError:
                    pass
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    for name in ("common.log", "combined.log", "timed.log"):
        shutil.copy(tmp / name, HERE / name)
        print(name, (HERE / name).read_bytes().count(b"\n"), "lines")
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
