"""nginx helpers for the HTTP tests: the sample logs, and a throwaway nginx on loopback.

``run_nginx(tmp_path, log_format_directive)`` starts Debian's nginx with its own prefix and config
in ``tmp_path`` (127.0.0.1, a free port, static files only), yields the port, and stops it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

NGINX_SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces" / "http" / "nginx"
PERF_FORMAT = (NGINX_SAMPLES / "perf.log_format").read_text()

_CONF = """
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    default_type application/octet-stream;
    types {{ application/json json; text/html html; }}
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {log_format}
    access_log {prefix}/access.log {name};
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def run_nginx(nginx: str, prefix: Path, log_format: str, name: str) -> Iterator[int]:
    """Run nginx with ``log_format`` (a whole ``log_format name ...;`` directive) writing
    ``prefix/access.log``; files under ``prefix/www`` are served. Yields the port."""
    port = free_port()
    for d in ("www", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / d).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(_CONF.format(prefix=prefix, port=port, log_format=log_format, name=name))
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()  # SIGTERM: fast shutdown; the access log is flushed on every write
        proc.wait(10)
