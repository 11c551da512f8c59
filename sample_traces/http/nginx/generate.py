"""Write the sample access logs with a real nginx proxying backend.py, under a bounded load.

    /work/venv/bin/python sample_traces/http/nginx/generate.py

Starts a throwaway nginx (its own prefix and config in a temp dir, listening on 127.0.0.1 only)
and backend.py (four ports), drives a bounded load from several loopback source addresses
(127.0.0.x), sends a few malformed requests over raw sockets, stops everything and writes
access.log.gz (custom log_format "perf"), combined.log.gz and access.jsonl.gz beside this file.
Random choices are seeded; timings are real, so each run differs in the details.
"""

from __future__ import annotations

import gzip
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


class Client:
    """One simulated client: its own loopback address, keep-alive unless told otherwise."""

    def __init__(self, port: int, addr: str, keepalive: bool = True, agent: str = "perf-sample/1.0"):
        self.port, self.addr, self.keepalive, self.agent = port, addr, keepalive, agent
        self.conn = None

    def get(self, path: str, method: str = "GET", body: bytes | None = None) -> int:
        for _attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                                       source_address=(self.addr, 0))
            headers = {"User-Agent": self.agent, "X-Request-ID": uuid.uuid4().hex[:16],
                       "Accept-Encoding": "gzip"}
            if not self.keepalive:
                headers["Connection"] = "close"
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                if not self.keepalive or resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
        return 0


def user_session(port: int, addr: str, n: int, seed: int, keepalive: bool = True) -> None:
    rnd = random.Random(seed)
    c = Client(port, addr, keepalive,
               agent="Mozilla/5.0 (X11; Linux x86_64) perf-sample" if keepalive else "batch-sync/2.3")
    choices = [
        (18, lambda: f"/api/users/{rnd.randint(1, 5000)}"),
        (8, lambda: f"/api/orders/{uuid.UUID(int=rnd.getrandbits(128), version=4)}"),
        (3, lambda: ("POST", "/api/orders")),
        (2, lambda: f"/api/reports/{rnd.randint(100, 999)}/export"),
        (10, lambda: f"/api/items?offset={rnd.randrange(0, 10001, 50)}&limit=50"),
        (8, lambda: f"/api/feed?page={rnd.randint(1, 50)}"),
        (5, lambda: f"/api/search?q=term{rnd.randint(1, 99)}"),
        (2, lambda: f"/api/downloads/{rnd.getrandbits(48):012x}"),
        (6, lambda: f"/api/config?tenant={rnd.randint(1, 40)}"),
        (5, lambda: f"/api/products?category=c{rnd.randint(1, 40)}&sort={rnd.choice(['price', 'name'])}"),
        (10, lambda: f"/api/products/{rnd.randint(1, 8)}"),
        (10, lambda: "/api/prices"),
        (8, lambda: "/api/exchange-rates"),
        (3, lambda: "/static/app.js"),
        (1, lambda: "/static/missing.css"),
    ]
    weights = [w for w, _ in choices]
    for _ in range(n):
        target = rnd.choices(choices, weights)[0][1]()
        if isinstance(target, tuple):
            c.get(target[1], target[0], body=b'{"sku": "SKU-00001", "qty": 1}')
        else:
            c.get(target)
        time.sleep(rnd.uniform(0.02, 0.12))


def hammer(port: int, addr: str, n: int, seed: int) -> None:
    """A misbehaving client: search requests as fast as it can, on 3 connections."""
    rnd = random.Random(seed)
    clients = [Client(port, addr, agent="python-requests/2.31.0") for _ in range(3)]

    def run(c: Client) -> None:
        for _ in range(n // 3):
            c.get(f"/api/search?q=term{rnd.randint(1, 99)}")

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


MALFORMED = [
    bytes.fromhex("16030102000100") + b"\x00" * 16 + b"\x03\x03" + os.urandom(8),  # TLS ClientHello to the HTTP port
    b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x00\x01\x02garbage\r\n\r\n",
    b'GET /api/search?q="quoted"&name=caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    b"GET /api/users/" + b"9" * 6000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"PROPFIND / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /\r\n",
    b"GET /api/users/1 HTTP/1.1\r\nHost: x\r\nUser-Agent: evil\"agent\r\nConnection: close\r\n\r\n",
]


def malformed(port: int) -> None:
    for payload in MALFORMED:
        with socket.create_connection(("127.0.0.1", port), 5, source_address=("127.0.0.99", 0)) as s:
            s.sendall(payload)
            s.settimeout(2)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="perf-nginx-"))
    ports = {k: free_port() for k in ("NGINX", "APP1", "APP2", "CAT1", "CAT2")}
    for d in ("logs", "www/static", "cache", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    (tmp / "www/static/app.js").write_text("function hello(){return 'world';}\n" * 200)
    conf = (HERE / "nginx.conf.in").read_text().replace("@PREFIX@", str(tmp)).replace("@HERE@", str(HERE))
    for k, v in ports.items():
        conf = conf.replace(f"@{k}_PORT@", str(v))
    (tmp / "nginx.conf").write_text(conf)

    backend = subprocess.Popen([sys.executable, str(HERE / "backend.py"),
                                f"{ports['APP1']}:0", f"{ports['APP2']}:40",
                                f"{ports['CAT1']}:0", f"{ports['CAT2']}:0"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    nginx = None
    try:
        backend.stdout.readline()
        nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"),
                                  "-e", str(tmp / "error.log"), "-g", "daemon off;"])
        wait_port(ports["NGINX"])
        port = ports["NGINX"]
        users = [threading.Thread(target=user_session, args=(port, f"127.0.0.{11 + i}", 220, i))
                 for i in range(8)]
        users.append(threading.Thread(target=user_session, args=(port, "127.0.0.30", 220, 30, False)))
        for t in users:
            t.start()
        time.sleep(8)
        hammer(port, "127.0.0.66", 450, 66)
        for t in users:
            t.join()
        malformed(port)
        time.sleep(0.5)
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(20)
        backend.stdin.close()
        backend.wait(10)
    for name in ("access.log", "combined.log", "access.jsonl"):
        data = (tmp / "logs" / name).read_bytes()
        with gzip.GzipFile(HERE / f"{name}.gz", "wb", mtime=0) as fh:
            fh.write(data)
        lines = data.count(b"\n")
        print(f"{name}: {lines} lines, {len(data)} bytes")
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
