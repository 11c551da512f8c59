"""Make the PostgreSQL sample logs with a throwaway cluster (see README.md beside this file).

    /work/venv/bin/python sample_traces/queries/postgresql/generate.py

Creates a cluster with the machine's ``initdb`` in a temporary directory (as the ``postgres``
user when run as root: PostgreSQL refuses to run as root), listening on 127.0.0.1 only on a
free port, and runs it three times, each time into its own log directory, with stderr, csvlog
and jsonlog written at once by the logging collector:

- ``app/``: Debian's ``log_line_prefix``, auto_explain in text format, the application-like
  workload (../workload/workload.py), a checkpoint, autovacuum;
- ``app-json/``: pgBadger's recommended prefix with ``%l`` and ``%a``/``%h``, auto_explain in
  JSON format, log_timezone America/New_York, some phases of the workload, and a phase with
  ``log_statement = 'all'`` + ``log_duration = on`` (statements and durations on separate lines);
- ``pgbench/``: Debian's prefix, pgbench's own traffic only (``-M prepared``, bounded by ``-t``);
- ``report/``: Debian's prefix, the workload's tables and one dashboard query that runs for
  more than half a second (a correlated subquery per customer over ``orders``, which has no index
  on ``customer_id``): the slow SELECT that the ``queries.slow_query`` rule looks for.

Each run's pg_stat_statements (dbid of the run's database) is saved as pg_stat_statements.csv.
Logs over 200 KB are gzipped. Everything is stopped at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE.parent / "workload" / "workload.py"
PGBIN = Path("/usr/lib/postgresql/15/bin")
DEBIAN_PREFIX = "%m [%p] %q%u@%d "
PGBADGER_PREFIX = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "
GZIP_OVER = 0  # gzip every log: one naming scheme (postgresql.log.gz, .csv.gz, .json.gz)

COMMON = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "40",
    "shared_buffers": "'32MB'",
    "logging_collector": "on",
    "log_destination": "'stderr,csvlog,jsonlog'",
    "log_filename": "'postgresql.log'",
    "log_rotation_age": "0",
    "log_rotation_size": "0",
    "log_min_duration_statement": "0",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_checkpoints": "on",
    "log_temp_files": "0",
    "log_lock_waits": "on",
    "deadlock_timeout": "'100ms'",
    "log_autovacuum_min_duration": "0",
    "autovacuum_naptime": "1",
    "lc_messages": "'C'",
    "shared_preload_libraries": "'pg_stat_statements,auto_explain'",
    "auto_explain.log_min_duration": "'5ms'",
    "auto_explain.log_analyze": "on",
    "pg_stat_statements.track": "top",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, base: Path):
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.as_user = "postgres" if os.geteuid() == 0 else None
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(base, pw.pw_uid, pw.pw_gid)

    def run(self, *cmd: str | Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True,
                              user=self.as_user, env={**os.environ, **(env or {})}, timeout=600)

    def initdb(self) -> None:
        self.run(PGBIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C")
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write("\ninclude 'run.conf'\n")

    def configure(self, logdir: Path, **settings: str) -> None:
        logdir.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(logdir, pw.pw_uid, pw.pw_gid)
        conf = {**COMMON, "port": str(self.port), "unix_socket_directories": f"'{self.base}'",
                "log_directory": f"'{logdir}'", **settings}
        (self.data / "run.conf").write_text("".join(f"{k} = {v}\n" for k, v in conf.items()))

    def start(self) -> None:
        self.run(PGBIN / "pg_ctl", "-D", self.data, "-l", self.base / "pg_ctl.log", "-w", "start")

    def stop(self) -> None:
        self.run(PGBIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def dsn(self, db: str) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={db} user=postgres application_name=workload"

    def sql(self, db: str, query: str):
        import psycopg

        with psycopg.connect(self.dsn(db), autocommit=True, application_name="generate.py") as conn:
            cur = conn.execute(query)
            return cur.fetchall() if cur.description else None


@contextlib.contextmanager
def running(cluster: Cluster, logdir: Path, **settings: str):
    cluster.configure(logdir, **settings)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def save_pg_stat_statements(cluster: Cluster, db: str, out: Path) -> None:
    import psycopg

    out.parent.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(cluster.dsn(db), autocommit=True, application_name="generate.py") as conn:
        conn.execute("SET log_min_duration_statement = -1")
        conn.execute("SET auto_explain.log_min_duration = -1")
        rows = conn.execute(
            "SELECT s.calls, round(s.total_exec_time::numeric, 3), s.rows, s.query "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = current_database() ORDER BY s.total_exec_time DESC").fetchall()
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["calls", "total_exec_time_ms", "rows", "query"])
        w.writerows(rows)


def create_db(cluster: Cluster, db: str) -> None:
    import psycopg

    with psycopg.connect(cluster.dsn("postgres"), autocommit=True, application_name="generate.py") as conn:
        conn.execute("SET log_min_duration_statement = -1")
        conn.execute(f"DROP DATABASE IF EXISTS {db}")
        conn.execute(f"CREATE DATABASE {db}")
    with psycopg.connect(cluster.dsn(db), autocommit=True, application_name="generate.py") as conn:
        conn.execute("SET log_min_duration_statement = -1")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")


def workload(cluster: Cluster, db: str, phases: str | None = None) -> None:
    cmd = [sys.executable, str(WORKLOAD), "postgresql", cluster.dsn(db)]
    if phases:
        cmd += ["--phases", phases]
    subprocess.run(cmd, check=True, timeout=300)


def log_statement_phase(cluster: Cluster, db: str) -> None:
    """log_statement = 'all' with log_duration: statement and duration on separate lines."""
    import psycopg

    with psycopg.connect(cluster.dsn(db), autocommit=True) as conn:
        conn.execute("SET log_min_duration_statement = -1")
        conn.execute("SET log_statement = 'all'")
        conn.execute("SET log_duration = on")
        conn.execute("SELECT count(*) FROM customers WHERE country = 'US'")
        conn.execute("SELECT name FROM customers WHERE id = %s", (7,))
        conn.execute("UPDATE settings SET value = 'USD' WHERE name = 'currency'")


def collect(logdir: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("postgresql.*"):
        old.unlink()
    for name in ("postgresql.log", "postgresql.csv", "postgresql.json"):
        data = (logdir / name).read_bytes()
        if len(data) > GZIP_OVER:
            with gzip.GzipFile(out / (name + ".gz"), "wb", mtime=0) as fh:
                fh.write(data)
        else:
            (out / name).write_bytes(data)


def run_app(cluster: Cluster, base: Path) -> None:
    """app: Debian's prefix, text plans, the whole workload, a checkpoint, autovacuum."""
    with running(cluster, base / "logs" / "app", log_line_prefix=f"'{DEBIAN_PREFIX}'",
                 log_timezone="'UTC'", **{"auto_explain.log_format": "text"}):
        create_db(cluster, "app")
        workload(cluster, "app")
        cluster.sql("postgres", "CHECKPOINT")
        time.sleep(2.5)  # let autovacuum visit the freshly loaded tables
        save_pg_stat_statements(cluster, "app", HERE / "app" / "pg_stat_statements.csv")
    collect(base / "logs" / "app", HERE / "app")


def run_app_json(cluster: Cluster, base: Path) -> None:
    """app-json: pgBadger's prefix, JSON plans, New York time, log_statement + log_duration."""
    with running(cluster, base / "logs" / "app-json", log_line_prefix=f"'{PGBADGER_PREFIX}'",
                 log_timezone="'America/New_York'", **{"auto_explain.log_format": "json"}):
        create_db(cluster, "shop")
        workload(cluster, "shop", "setup,n_plus_one,missing_index,prepared,errors,multi_line")
        log_statement_phase(cluster, "shop")
        save_pg_stat_statements(cluster, "shop", HERE / "app-json" / "pg_stat_statements.csv")
    collect(base / "logs" / "app-json", HERE / "app-json")


def run_pgbench(cluster: Cluster, base: Path) -> None:
    """pgbench: its own traffic only (the initialisation is not logged)."""
    with running(cluster, base / "logs" / "pgbench", log_line_prefix=f"'{DEBIAN_PREFIX}'",
                 log_timezone="'UTC'", **{"auto_explain.log_format": "text"}):
        create_db(cluster, "bench")
        quiet_env = {"PGOPTIONS": "-c log_min_duration_statement=-1 -c auto_explain.log_min_duration=-1 "
                                  "-c log_temp_files=-1"}
        cluster.run("pgbench", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                    "-i", "-s", "1", "-q", "bench", env=quiet_env)
        res = cluster.run("pgbench", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                          "-M", "prepared", "-c", "2", "-j", "2", "-t", "150", "bench")
        (HERE / "pgbench").mkdir(exist_ok=True)
        (HERE / "pgbench" / "pgbench-output.txt").write_text(res.stdout)
        save_pg_stat_statements(cluster, "bench", HERE / "pgbench" / "pg_stat_statements.csv")
    collect(base / "logs" / "pgbench", HERE / "pgbench")


def run_report(cluster: Cluster, base: Path) -> None:
    """report: one slow dashboard SELECT (> 500 ms) after the workload's setup."""
    import psycopg

    with running(cluster, base / "logs" / "report", log_line_prefix=f"'{DEBIAN_PREFIX}'",
                 log_timezone="'UTC'", **{"auto_explain.log_format": "text"}):
        create_db(cluster, "dash")
        workload(cluster, "dash", "setup")
        with psycopg.connect(cluster.dsn("dash"), autocommit=True, application_name="dashboard") as conn:
            conn.execute("""
                SELECT c.id, c.name,
                       (SELECT sum(o.total) FROM orders o WHERE o.customer_id = c.id) AS revenue
                FROM customers c
                WHERE c.id <= %s
                ORDER BY revenue DESC NULLS LAST
                LIMIT 10""", (150,))
        save_pg_stat_statements(cluster, "dash", HERE / "report" / "pg_stat_statements.csv")
    collect(base / "logs" / "report", HERE / "report")


RUNS = {"app": run_app, "app-json": run_app_json, "pgbench": run_pgbench, "report": run_report}


def main(argv: list[str] | None = None) -> None:
    """Make the runs named in ``argv`` (default: all)."""
    names = (argv if argv is not None else sys.argv[1:]) or list(RUNS)
    unknown = set(names) - set(RUNS)
    if unknown:
        raise SystemExit(f"unknown runs {sorted(unknown)}; known: {', '.join(RUNS)}")
    base = Path(tempfile.mkdtemp(prefix="pg-sample-"))
    cluster = Cluster(base)
    try:
        cluster.initdb()
        for name in names:
            RUNS[name](cluster, base)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
