#!/usr/bin/env python3
"""A second PostgreSQL benchmark log, from a real server configured unlike the samples.

    python benchmarks/make_pg_workload.py [--seconds 30] [--clients 4]

Writes ``benchmarks/data/pg-simple.log`` (git-ignored): a throwaway cluster (tests/helpers/postgres.py:
initdb in /tmp, 127.0.0.1 on a free port, stopped and removed at the end) with

- a second log_line_prefix: ``%t [%p]: user=%u,db=%d,app=%a,client=%h `` (no milliseconds);
- ``log_statement = 'all'`` + ``log_duration = on`` (each statement on one line, its duration on a
  later one) instead of log_min_duration_statement;
- auto_explain in JSON format for 2% of the statements (``auto_explain.sample_rate``);
- lock waits (``log_lock_waits``, ``deadlock_timeout = 10ms``) and errors with their STATEMENT line;

running ``pgbench -M simple`` (the simple protocol: every statement carries its literals, so tens of
thousands of distinct statement texts) with several clients on a scale-2 database, plus a few
statements that fail. Prints the log's size, lines and the commands run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.postgres import postgres_server  # noqa: E402

OUT = ROOT / "benchmarks" / "data" / "pg-simple.log"
PREFIX = "%t [%p]: user=%u,db=%d,app=%a,client=%h "
SETTINGS = {
    "log_line_prefix": f"'{PREFIX}'",
    "log_destination": "'stderr'",
    "log_statement": "'all'",
    "log_duration": "on",
    "log_min_duration_statement": "-1",
    "log_lock_waits": "on",
    "deadlock_timeout": "'10ms'",
    "shared_preload_libraries": "'auto_explain'",
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_format": "'json'",
    "auto_explain.log_analyze": "on",
    "auto_explain.sample_rate": "0.02",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with postgres_server(SETTINGS) as pg:
        env_args = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"]
        commands = [
            ["pgbench", *env_args, "-i", "-s", "2", "-q", "postgres"],
            ["pgbench", *env_args, "-M", "simple", "-n", "-c", str(args.clients), "-j", "2",
             "-T", str(args.seconds), "postgres"],
        ]
        for cmd in commands:
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, capture_output=True, timeout=args.seconds + 300)
        with pg.connect() as conn:  # errors with their STATEMENT line
            for sql in ("SELECT * FROM no_such_table", "SELECT 1/0", "INSERT INTO pgbench_branches VALUES ('x')"):
                try:
                    conn.execute(sql)
                except Exception:
                    pass
        pg.stop()  # the log is complete once the server has stopped
        shutil.copyfile(pg.log(), OUT)
    print(f"{describe(OUT)}; prefix {PREFIX!r}")
    return 0


def describe(path: Path) -> str:
    """``path: size MB, lines`` of a log just made (the workload scripts print it)."""
    with open(path, "rb") as fh:
        lines = sum(1 for _ in fh)
    return f"{path}: {path.stat().st_size / 1e6:.1f} MB, {lines} lines"


if __name__ == "__main__":
    sys.exit(main())
