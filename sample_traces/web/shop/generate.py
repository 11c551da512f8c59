"""Make the join samples: the shop app (app.py) behind nginx, on PostgreSQL, profiled by py-spy,
under a bounded load on 127.0.0.1. See README.md beside this file.

    python sample_traces/web/shop/generate.py        # with flask, waitress, SQLAlchemy, psycopg,
                                                     # google-cloud-sqlcommenter, opentelemetry-api,
                                                     # py-spy installed in this interpreter

1. a throwaway PostgreSQL 15 cluster (the machine's initdb, as ../../queries/postgresql does),
   Debian's log_line_prefix, every statement logged (log_min_duration_statement = 0);
2. app.py --seed fills the tables (not logged: PGOPTIONS turns statement logging off for it);
3. py-spy record --idle --format chrometrace -- python app.py (waitress, 2 threads);
4. a throwaway nginx in front (timed.log_format: $request_id, $request_time, $msec);
5. the load: two clients on keep-alive connections, seeded random mix of endpoints with think
   time, for PHASE_S seconds on release 1; then POST /deploy/2 (the release that adds the N+1);
   then PHASE_S seconds more;
6. everything stopped; postgresql.log.gz, access.log.gz, profile.chrometrace.json.gz and
   run.json (versions, py-spy's start time, the deploy time) written here.
"""

from __future__ import annotations

import gzip
import http.client
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "queries" / "postgresql"))
from generate import DEBIAN_PREFIX, Cluster, create_db, free_port, running  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# py-spy installed beside this interpreter (pip install py-spy), else on PATH
PYSPY = next((str(p) for p in (Path(sys.executable).parent / "py-spy",) if p.exists()), None) or "py-spy"
PHASE_S = 12.0
CLIENTS = 2
# endpoint mix: (weight, path maker)
MIX = (
    (40, lambda r: f"/customers/{r.randrange(1, 301)}/orders"),
    (25, lambda r: f"/orders/{r.randrange(1, 3500)}"),
    (15, lambda r: f"/products/search?q={r.choice(('oak', 'lamp', 'blue', 'steel%20mug', 'desk'))}"),
    (6, lambda r: "/reports/top-customers"),
    (14, lambda r: "/health"),
)


def _nginx_sample_helpers():
    """The nginx samples' generate.py (its wait_port), loaded by path: both scripts are "generate"."""
    spec = importlib.util.spec_from_file_location("nginx_generate", HERE.parents[1] / "http" / "nginx" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wait_port = _nginx_sample_helpers().wait_port


def client(port: int, seed: int, until: float, counts: dict) -> None:
    rng = random.Random(seed)
    weights = [w for w, _ in MIX]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < until:
        path = rng.choices(MIX, weights)[0][1](rng)
        conn.request("GET", path, headers={"User-Agent": f"shop-load/1.0 client-{seed}"})
        resp = conn.getresponse()
        resp.read()
        counts[resp.status] = counts.get(resp.status, 0) + 1
        time.sleep(rng.uniform(0.02, 0.08))  # think time
    conn.close()


def load(port: int, seed: int, seconds: float) -> dict:
    counts: dict = {}
    until = time.time() + seconds
    threads = [threading.Thread(target=client, args=(port, seed * 10 + i, until, counts)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def post(port: int, path: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, headers={"User-Agent": "deploy-script/1.0"})
    conn.getresponse().read()
    conn.close()


def versions() -> dict:
    from importlib.metadata import version

    def out(*cmd: str) -> str:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout + r.stderr).strip()

    pkgs = ("flask", "werkzeug", "waitress", "sqlalchemy", "psycopg", "google-cloud-sqlcommenter",
            "opentelemetry-api")
    return {"python": sys.version.split()[0], "postgres": out("/usr/lib/postgresql/15/bin/postgres", "--version"),
            "nginx": out(NGINX, "-v"), "py-spy": out(PYSPY, "--version"),
            **{p: version(p) for p in pkgs}}


def gz(src: Path, dst: Path) -> None:
    with open(src, "rb") as fh, gzip.GzipFile(dst, "wb", mtime=0) as out:
        shutil.copyfileobj(fh, out)


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="tk-shop-", dir="/tmp"))
    os.chmod(base, 0o755)
    cluster = Cluster(base)
    procs: list[subprocess.Popen] = []
    try:
        cluster.initdb()
        logdir = base / "logs"
        with running(cluster, logdir, log_line_prefix=f"'{DEBIAN_PREFIX}'", log_timezone="'UTC'",
                     **{"auto_explain.log_min_duration": "'20ms'", "auto_explain.log_format": "text"}):
            create_db(cluster, "shop")
            dsn = cluster.dsn("shop").replace("application_name=workload", "application_name=shop")
            quiet = {**os.environ, "PGOPTIONS": "-c log_min_duration_statement=-1 -c auto_explain.log_min_duration=-1"}
            subprocess.run([sys.executable, HERE / "app.py", "--seed", "--dsn", dsn, "--port", "0"],
                           check=True, env=quiet, timeout=600)
            cluster.sql("shop", "ANALYZE")
            app_port, nginx_port = free_port(), free_port()
            profile = base / "profile.chrometrace.json"
            profile_start = time.time()
            spy = subprocess.Popen([PYSPY, "record", "--idle", "--rate", "100", "--format", "chrometrace",
                                    "--output", str(profile), "--", sys.executable, str(HERE / "app.py"),
                                    "--dsn", dsn, "--port", str(app_port)])
            procs.append(spy)
            wait_port(app_port, 20)
            prefix = base / "nginx"
            for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (prefix / d).mkdir(parents=True, exist_ok=True)
            conf = (HERE / "nginx.conf.in").read_text()
            for key, value in (("@PREFIX@", str(prefix)), ("@HERE@", str(HERE)), ("@APP_PORT@", str(app_port)),
                               ("@NGINX_PORT@", str(nginx_port))):
                conf = conf.replace(key, value)
            (prefix / "nginx.conf").write_text(conf)
            nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"])
            procs.append(nginx)
            wait_port(nginx_port)
            first = load(nginx_port, 1, PHASE_S)
            deploy_at = time.time()
            post(nginx_port, "/deploy/2")
            second = load(nginx_port, 2, PHASE_S)
            nginx.send_signal(signal.SIGQUIT)  # graceful: the access log is complete
            nginx.wait(20)
            children = Path(f"/proc/{spy.pid}/task/{spy.pid}/children").read_text().split()
            for pid in children:
                os.kill(int(pid), signal.SIGINT)  # the app; py-spy then writes the profile
            spy.wait(60)
        gz(logdir / "postgresql.log", HERE / "postgresql.log.gz")
        gz(prefix / "access.log", HERE / "access.log.gz")
        gz(profile, HERE / "profile.chrometrace.json.gz")
        run = {"profile_start": profile_start, "deploy_at": deploy_at, "phase_s": PHASE_S, "clients": CLIENTS,
               "status_counts": {"release 1": first, "release 2": second}, "versions": versions()}
        (HERE / "run.json").write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
        print(json.dumps(run, indent=2))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
