"""A tiny HTTP API over shop.py for the load-test samples (stdlib only, HTTP/1.1 keep-alive).

    SHOP_VERSION=head python app.py PORT

Listens on 127.0.0.1 only. Endpoints: ``GET /api/orders/{id}`` (parses and renders one order),
``GET /api/report`` (waits on a simulated downstream call: 15 ms in base, 35 ms in head: the
planted slowdown), ``GET /api/search?q=`` (filters the orders), ``POST /api/cart`` and
``GET /api/cart`` (every 50th request answers 500: the failures the load tools count).
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import shop

LINES = shop.make_orders(200)
ORDERS = shop.parse_orders(LINES)
REPORT_WAIT_S = 0.035 if shop.VERSION == "head" else 0.015
_cart_counter = itertools.count(1)
_cart_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm holds the body
    # until the client's delayed ACK (about 40 ms) on a kept-alive connection
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet: the load tools measure
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path.startswith("/api/orders/"):
            order = shop.parse_orders([LINES[int(path.rsplit("/", 1)[1]) % len(LINES)]])
            self._send(200, {"invoice": shop.render_invoice(order)})
        elif path == "/api/report":
            time.sleep(REPORT_WAIT_S)
            self._send(200, {"revenue": shop.total_revenue(ORDERS)})
        elif path == "/api/search":
            q = query.partition("=")[2] or "c1"
            self._send(200, {"ids": [o["id"] for o in ORDERS if o["customer"].startswith(q)][:20]})
        elif path == "/api/cart":
            self._cart()
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path == "/api/cart":
            self._cart()
        else:
            self._send(404, {"error": "not found"})

    def _cart(self) -> None:
        with _cart_lock:
            n = next(_cart_counter)
        if n % 50 == 0:
            self._send(500, {"error": "cart service unavailable"})
        else:
            self._send(200, {"items": n % 7})


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
