"""Access-log throughput and peak memory: perf-toolkit beside GoAccess on the same file, same run.

    python benchmarks/http.py --workload combined --size-mb 150 --rounds 3
    python benchmarks/http.py --workload timed --size-mb 150 --rounds 3

Two workloads, each logged by a real nginx with its own settings:

- ``combined``: the nginx sample (sample_traces/http/nginx/combined.log.gz, written by
  sample_traces/http/nginx/generate.py: API sessions through a two-server upstream);
- ``timed``: a second nginx run recorded here by :func:`record_timed` (``--record`` redoes it): a
  custom ``log_format`` with ``$request_time``, ``$upstream_response_time`` and
  ``$upstream_cache_status`` (fields in another order than combined), and another
  workload: clients without pauses over many distinct product ids, a proxy cache (HIT / MISS /
  EXPIRED), static files, 404s and 429s from a rate limit.

Builds ``benchmarks/data/http_<workload>_<N>MB.log`` by repeating the recorded log with timestamps
shifted by its span per copy, then runs, each in its own process, back to back on that file, for
``--rounds`` rounds (GoAccess and every variant in each round):

1. ``goaccess FILE --log-format=... -o out.json`` (Debian's GoAccess 1.7);
2. ``tk.endpoints(FILE, log_format=...)``: the big-file path (the scanner over byte ranges, a
   worker per core for a file over 64 MB);
3. ``tk.endpoints(tk.read_access_log(FILE, log_format=...))``: the notebook path (the whole
   table in memory, then the endpoints).

Wall time, throughput (MB/s of log) and peak RSS (``wait4`` of the child) are printed as a
Markdown table for benchmarks/RESULTS.md. The machine's CPU is shared: run it when quiet, and
read the figures as a ratio between tools run in the same minute.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and this file would be "http".
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import http.client  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NGINX_DIR = ROOT / "sample_traces" / "http" / "nginx"
DATA = ROOT / "benchmarks" / "data"
_TIME = re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}) \+0000\]")

# The second workload's format: timings and cache status, fields in another order than combined.
TIMED_FORMAT = ('$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time '
                '$upstream_response_time $upstream_cache_status "$http_referer" "$http_user_agent"')
WORKLOADS = {
    "combined": {"log_format": "combined", "goaccess": ["--log-format=COMBINED"]},
    "timed": {"log_format": TIMED_FORMAT,
              # %T: request time in seconds; the upstream time and cache status skipped (%^)
              "goaccess": ['--log-format=%h [%d:%t %^] "%r" %s %b %T %^ %^ "%R" "%u"',
                           "--date-format=%d/%b/%Y", "--time-format=%T"]},
}

_TIMED_CONF = """
worker_processes 1;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    log_format timed '{fmt}';
    access_log {tmp}/timed.log timed;
    keepalive_requests 10000;
    proxy_cache_path {tmp}/cache levels=1:2 keys_zone=cat:4m max_size=50m;
    limit_req_zone $binary_remote_addr zone=burst:1m rate=200r/s;
    limit_req_status 429;
    upstream catalog {{ server 127.0.0.1:{cat1}; server 127.0.0.1:{cat2}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /static/ {{ }}
        location /api/products/ {{ proxy_cache cat; proxy_cache_valid 200 2s; proxy_pass http://catalog; }}
        location /api/prices {{ proxy_cache cat; proxy_cache_valid 200 1s; proxy_pass http://catalog; }}
        location /api/search {{ limit_req zone=burst burst=5 nodelay; proxy_pass http://catalog; }}
        location /api/ {{ proxy_pass http://catalog; }}
    }}
}}
"""


def _sample_generator():
    """sample_traces/http/nginx/generate.py (the sample's recorder) as a module: its port helpers."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("nginx_sample_generate", NGINX_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _client(port: int, addr: str, seconds: float, seed: int) -> None:
    """Requests without pauses for ``seconds``: many distinct product ids (cache MISS then HIT),
    prices (cached 1 s: EXPIRED), searches (rate-limited: 429), static files and 404s."""
    rnd = random.Random(seed)
    agent = rnd.choice(["Mozilla/5.0 (Macintosh) bench-timed", "okhttp/4.12", "curl/8.5.0"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(addr, 0))
    end = time.time() + seconds
    while time.time() < end:
        target = rnd.choices([f"/api/products/{rnd.randint(1, 8)}?ref={rnd.getrandbits(24):06x}",
                              f"/api/products/{rnd.randint(1, 8)}", "/api/prices",
                              f"/api/search?q=term{rnd.randint(1, 500)}", f"/api/users/{rnd.randint(1, 100000)}",
                              f"/api/items?offset={rnd.randrange(0, 100000, 25)}&limit=25",
                              "/static/app.js", f"/static/img/{rnd.randint(1, 50)}.png"],
                             [10, 20, 10, 8, 25, 10, 10, 7])[0]
        try:
            conn.request("GET", target, headers={"User-Agent": agent, "Referer": "http://shop.example/"})
            conn.getresponse().read()
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(addr, 0))


def record_timed(seconds: float = 60.0) -> Path:
    """Run a throwaway nginx (TIMED_FORMAT, a proxy cache, a rate limit) in front of the
    sample's backend.py and drive 30 clients at it for ``seconds``: benchmarks/data/http_timed.log."""
    out = DATA / "http_timed.log"
    tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    for d in ("www/static/img", "cache", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    (tmp / "www/static/app.js").write_text("function f(){return 1;}\n" * 400)
    for i in range(1, 41):  # ids 41-50 are missing: 404
        (tmp / f"www/static/img/{i}.png").write_bytes(os.urandom(256 * i))
    sample = _sample_generator()
    ports = {k: sample.free_port() for k in ("port", "cat1", "cat2")}
    (tmp / "nginx.conf").write_text(_TIMED_CONF.format(tmp=tmp, fmt=TIMED_FORMAT, **ports))
    backend = subprocess.Popen([sys.executable, str(NGINX_DIR / "backend.py"), f"{ports['cat1']}:0",
                                f"{ports['cat2']}:15"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    nginx = None
    try:
        backend.stdout.readline()
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(tmp), "-c",
                                  str(tmp / "nginx.conf"), "-e", str(tmp / "error.log"), "-g", "daemon off;"])
        sample.wait_port(ports["port"])
        clients = [threading.Thread(target=_client, args=(ports["port"], f"127.0.1.{i + 1}", seconds, i))
                   for i in range(30)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(20)
        backend.stdin.close()
        backend.wait(10)
    DATA.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp / "timed.log", out)
    shutil.rmtree(tmp)
    return out


def recorded(workload: str) -> bytes:
    """The log a real nginx wrote for ``workload``."""
    if workload == "combined":
        return gzip.decompress((NGINX_DIR / "combined.log.gz").read_bytes())
    path = DATA / "http_timed.log"
    if not path.exists():
        record_timed()
    return path.read_bytes()


def build_log(size_mb: int, workload: str = "combined") -> Path:
    """Repeat the recorded log, shifting each copy's timestamps past the previous copy's."""
    out = DATA / f"http_{workload}_{size_mb}MB.log"
    if out.exists() and out.stat().st_size >= size_mb * 1_000_000:
        return out
    DATA.mkdir(parents=True, exist_ok=True)
    lines = recorded(workload).decode("utf-8", "surrogateescape").splitlines(keepends=True)
    fmt = "%d/%b/%Y:%H:%M:%S"
    parts, stamps = [], []
    for line in lines:
        m = _TIME.search(line)
        parts.append((line[:m.start(1)], line[m.end(1):]))
        stamps.append(datetime.strptime(m.group(1), fmt))
    t0 = min(stamps)
    offsets = [(s - t0).total_seconds() for s in stamps]
    span = max(offsets) + 1
    target = size_mb * 1_000_000
    written = 0
    with open(out, "w", encoding="utf-8", errors="surrogateescape") as fh:
        copy = 0
        while written < target:
            base = t0 + timedelta(seconds=copy * span)
            cache: dict[float, str] = {}
            chunk = []
            for (head, tail), off in zip(parts, offsets, strict=True):
                stamp = cache.get(off)
                if stamp is None:
                    stamp = cache[off] = (base + timedelta(seconds=off)).strftime(fmt)
                chunk.append(head + stamp + tail)
            text = "".join(chunk)
            fh.write(text)
            written += len(text.encode("utf-8", "surrogateescape"))
            copy += 1
    return out


def run(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds (user + sys, children included), peak RSS in MB, stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


OURS_BIG = ("import sys, toolkit as tk; e = tk.endpoints(sys.argv[1], log_format=sys.argv[2]); "
            "print(int(e['requests'].sum()), e.attrs['source']['lines_skipped'])")
OURS_NOTEBOOK = ("import sys, toolkit as tk; df = tk.read_access_log(sys.argv[1], log_format=sys.argv[2]); "
                 "e = tk.endpoints(df); print(int(e['requests'].sum()), df.attrs['source']['lines_skipped'])")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="combined")
    ap.add_argument("--size-mb", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every tool, back to back")
    ap.add_argument("--record", action="store_true", help="record the timed workload's nginx log again")
    args = ap.parse_args()
    goaccess = shutil.which("goaccess")
    if not goaccess:
        raise SystemExit("goaccess is not installed (apt-get install goaccess)")
    if args.record:
        record_timed()
    spec = WORKLOADS[args.workload]
    log = build_log(args.size_mb, args.workload)
    # the toolkit's bytecode written once (where PYTHONDONTWRITEBYTECODE is set, every timed
    # process would compile the sources again: about 0.09 CPU s a user's installed toolkit never pays)
    compileall.compile_dir(ROOT / "toolkit", quiet=1)
    mb = log.stat().st_size / 1e6
    with open(log, "rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
    print(f"log: {log} ({mb:.0f} MB, {lines} lines)", file=sys.stderr)
    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        variants = [
            ("GoAccess", [goaccess, str(log), *spec["goaccess"], "-o", f"{tmp}/out.json", "--no-progress"]),
            ("big-file: `tk.endpoints(path)`", [py, "-c", OURS_BIG, str(log), spec["log_format"]]),
            ("notebook: `tk.read_access_log` + `tk.endpoints(df)`",
             [py, "-c", OURS_NOTEBOOK, str(log), spec["log_format"]]),
        ]
        for rnd in range(1, args.rounds + 1):
            load = os.getloadavg()[0]
            for name, cmd in variants:
                wall, cpu, rss, out = run(cmd)
                if name == "GoAccess":
                    general = json.loads(Path(f"{tmp}/out.json").read_text())["general"]
                    out = f"{general['valid_requests']} valid, {general['failed_requests']} failed"
                rows.append((rnd, load, name, wall, cpu, rss, out.strip()))
                print(f"round {rnd} (load {load:.1f}) {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB; "
                      f"{out.strip()}", file=sys.stderr)
    print(f"\nInput: {mb:.0f} MB, {lines:,} lines ({log.name}); {os.cpu_count()} CPUs shared with other jobs.\n")
    print("| round | load (1 min) | tool | wall s | x GoAccess (wall) | CPU s | x GoAccess (CPU) | peak RSS MB | RSS / log |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = {}
    for rnd, load, name, wall, cpu, rss, _out in rows:
        if name == "GoAccess":
            base[rnd] = (wall, cpu)
        bw, bc = base[rnd]
        print(f"| {rnd} | {load:.1f} | {name} | {wall:.2f} | {bw / wall:.2f} | {cpu:.2f} | {bc / cpu:.2f} "
              f"| {rss:.0f} | {rss / mb:.2f} |")
    print("\nTotals (last round): " + "; ".join(f"{name}: {out}" for rnd, _l, name, *_, out in rows
                                              if rnd == args.rounds)
          + " (ours: requests in the endpoint table, lines skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
