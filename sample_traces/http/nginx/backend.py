"""A small HTTP backend for the nginx sample: endpoints with planted performance problems.

Run by generate.py; one process serves several ports (one thread each), so nginx sees an
upstream pool of two instances per group:

- pool "app"      (APP1, APP2): APP2 is a degraded instance that adds 40 ms to every response
  (the load-balancing imbalance);
- pool "catalog"  (CAT1, CAT2): two identical instances (balanced).

    python backend.py PORT:DELAY_MS [PORT:DELAY_MS ...]
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONFIG = json.dumps({"features": {f"flag_{i}": i % 3 == 0 for i in range(600)},
                     "limits": {f"plan_{i}": i * 10 for i in range(200)}}).encode()
DOWNLOAD = hashlib.sha256(b"seed").digest() * (450_000 // 32)  # incompressible binary
PRICES = json.dumps({f"SKU-{i:05d}": round(i * 1.37, 2) for i in range(120)}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay_s = 0.0

    def log_message(self, *args):  # nginx writes the log we want
        pass

    def _send(self, status, body, ctype="application/json", headers=()):
        time.sleep(self.delay_s)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        path = urlsplit(self.path).path
        if path == "/api/orders":
            time.sleep(random.uniform(0.010, 0.020))
            return self._send(201, b'{"created": true}')
        return self._send(404, b'{"error": "not found"}')

    def do_GET(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path.startswith("/api/users/"):
            time.sleep(random.uniform(0.003, 0.012))
            return self._send(200, json.dumps({"id": parts[-1], "name": "user"}).encode())
        if url.path.startswith("/api/orders/"):
            time.sleep(random.uniform(0.004, 0.014))
            return self._send(200, json.dumps({"order": parts[-1], "items": [1, 2, 3]}).encode())
        if url.path.startswith("/api/reports/") and url.path.endswith("/export"):
            time.sleep(random.uniform(0.8, 1.4))  # builds the report synchronously
            return self._send(200, b'{"report": "ready"}')
        if url.path == "/api/items":
            offset = int(q.get("offset", ["0"])[0])
            time.sleep(0.004 + offset * 0.00002)  # OFFSET scans and discards `offset` rows
            return self._send(200, json.dumps({"items": list(range(50)), "offset": offset}).encode())
        if url.path == "/api/feed":
            time.sleep(random.uniform(0.008, 0.016))  # keyset pagination: flat
            return self._send(200, json.dumps({"page": q.get("page", ["1"])[0], "items": list(range(20))}).encode())
        if url.path == "/api/search":
            time.sleep(random.uniform(0.002, 0.006))
            return self._send(200, b'{"results": []}')
        if url.path.startswith("/api/downloads/"):
            time.sleep(0.01)
            return self._send(200, DOWNLOAD, "application/octet-stream")
        if url.path == "/api/config":
            time.sleep(0.005)
            return self._send(200, CONFIG)
        if url.path == "/api/products":
            time.sleep(random.uniform(0.010, 0.020))
            return self._send(200, CONFIG[:40_000])
        if url.path.startswith("/api/products/"):
            time.sleep(random.uniform(0.020, 0.030))
            return self._send(200, json.dumps({"product": parts[-1], "desc": "x" * 2000}).encode(),
                              headers=[("Cache-Control", "max-age=60")])
        if url.path == "/api/prices":
            time.sleep(random.uniform(0.015, 0.025))
            # A session cookie on a public response: nginx will not cache it, every GET misses.
            return self._send(200, PRICES, headers=[("Set-Cookie", "sid=abc; Path=/")])
        if url.path == "/api/exchange-rates":
            time.sleep(random.uniform(0.015, 0.025))
            return self._send(200, PRICES[:800])
        return self._send(404, b'{"error": "not found"}')


def serve(port: int, delay_ms: float) -> ThreadingHTTPServer:
    handler = type("H", (Handler,), {"delay_s": delay_ms / 1000})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    for spec in sys.argv[1:]:
        port, delay = spec.split(":")
        serve(int(port), float(delay))
    print("ready", flush=True)
    sys.stdin.read()  # runs until generate.py closes our stdin
