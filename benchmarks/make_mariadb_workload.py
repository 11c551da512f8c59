#!/usr/bin/env python3
"""A second MariaDB benchmark log, from a real server configured unlike the samples' workload.

    python benchmarks/make_mariadb_workload.py [--seconds 30] [--threads 4]

Writes ``benchmarks/data/mariadb-sysbench-slow.log`` (git-ignored): a throwaway MariaDB server
(tests/helpers/mariadb.py: mariadb-install-db in /tmp, 127.0.0.1 on a free port, stopped and
removed at the end) with

- ``long_query_time = 0`` (every statement) and ``log_slow_verbosity = query_plan,explain``
  (MariaDB's extra header lines: Full_scan, Tmp_table, Filesort, ...; and the ``# explain:`` rows);
- ``log_slow_admin_statements`` (the administrator commands of sysbench's connections);

running sysbench's ``oltp_read_write`` (Debian's sysbench 1.0) with ``--db-ps-mode=disable``: every
statement is sent as text with its literals (point selects, ranges, sums, ordered and distinct
ranges, updates, deletes, inserts in transactions), so the log holds hundreds of thousands of
distinct statement texts, as a busy server with a text-protocol driver writes them. Prints the
log's size, lines and the commands run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.mariadb import mariadb_server  # noqa: E402
from make_pg_workload import describe  # noqa: E402

OUT = ROOT / "benchmarks" / "data" / "mariadb-sysbench-slow.log"
SERVER_ARGS = ("--log-slow-verbosity=query_plan,explain", "--log-slow-admin-statements=ON",
               "--max-connections=64")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--table-size", type=int, default=20000)
    args = ap.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mariadb-bench-") as base, \
            mariadb_server(Path(base), SERVER_ARGS) as server:
        conn = server.connect()
        conn.cursor().execute("CREATE DATABASE sbtest")
        conn.close()
        common = ["--db-driver=mysql", "--mysql-host=127.0.0.1", f"--mysql-port={server.port}",
                  "--mysql-user=root", "--mysql-password=", "--mysql-db=sbtest", "--tables=4",
                  f"--table-size={args.table_size}", "--db-ps-mode=disable"]
        commands = [
            ["sysbench", "oltp_read_write", *common, "prepare"],
            ["sysbench", "oltp_read_write", *common, f"--threads={args.threads}", f"--time={args.seconds}",
             "--report-interval=0", "run"],
        ]
        for cmd in commands:
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, capture_output=True, timeout=args.seconds + 600)
        server.stop()  # the log is complete once the server has stopped
        shutil.copyfile(server.slow_log, OUT)
    print(describe(OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
