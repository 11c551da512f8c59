#!/usr/bin/env python3
"""Produce the MariaDB slow query logs in this folder with a real, throwaway MariaDB server.

    /work/venv/bin/python sample_traces/queries/mariadb/make_samples.py

Writes
  app-slow.log.gz   the shared application-like workload (``../workload/workload.py``: N+1 loop,
                    OFFSET pagination, SELECT *, a missing index, repeated identical queries, a sort
                    spilling to disk, a lock wait and a deadlock, errors, prepared statements, a
                    multi-line statement, connection churn) run through pymysql, with a server
                    restart between its first and second half so the slow log holds mariadbd's
                    start banner twice;
  clean-slow.log.gz a well-indexed workload on one connection (``clean_workload.py``) where the
                    detectors must stay quiet.

The server: ``mariadb-install-db`` into a temporary datadir, ``mariadbd`` on 127.0.0.1 with a
free port and its own socket, ``slow_query_log=1 long_query_time=0`` (every statement is
logged) and ``log_slow_verbosity=query_plan,explain`` (MariaDB's extra header lines and the
EXPLAIN rows). The server is stopped and the datadir removed at the end. Logs above 200 kB are
stored gzip-compressed (the readers open them directly).
"""

from __future__ import annotations

import getpass
import gzip
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_PLAIN_BYTES = 200_000
  # larger logs are stored gzip-compressed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """mariadbd in ``base`` (datadir, socket, pid file, error log) writing ``slow_log``."""

    def __init__(self, base: Path, slow_log: Path):
        self.base = base
        self.slow_log = slow_log
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={base / 'data'}",
                        f"--user={getpass.getuser()}", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True, timeout=300)

    def start(self) -> None:
        args = ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.base / 'data'}",
                "--bind-address=127.0.0.1", f"--port={self.port}", f"--socket={self.base / 'sock'}",
                f"--pid-file={self.base / 'pid'}", f"--log-error={self.base / 'error.log'}",
                "--skip-log-bin", "--innodb-buffer-pool-size=32M",
                "--slow-query-log=1", f"--slow-query-log-file={self.slow_log}",
                "--long-query-time=0", "--log-slow-verbosity=query_plan,explain",
                "--innodb-lock-wait-timeout=5"]
        if os.geteuid() == 0:
            args.append("--user=root")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            if self.proc.poll() is not None:
                raise SystemExit((self.base / "error.log").read_text()[-3000:])
            try:
                self.connect().close()
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("mariadbd did not start")

    def connect(self, database: str | None = None, **kw):
        import pymysql

        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="",
                               database=database, **kw)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=120)
            self.proc = None


FIRST_HALF = "setup,n_plus_one,pagination,select_star,missing_index,repeated"
SECOND_HALF = "big_sort,lock_wait,errors,prepared,multi_line,churn"


def _run_shared_workload(server: Server) -> None:
    conn = server.connect()
    conn.cursor().execute("CREATE DATABASE app")
    conn.close()
    script = HERE.parent / "workload" / "workload.py"
    dsn = f"host=127.0.0.1 port={server.port} user=root password= database=app"
    for i, phases in enumerate((FIRST_HALF, SECOND_HALF)):
        if i:  # the restart: mariadbd writes its start banner into the slow log again
            server.stop()
            server.start()
        subprocess.run([sys.executable, str(script), "mariadb", dsn, "--phases", phases],
                       check=True, timeout=600)


def _run_clean(server: Server) -> None:
    import pymysql

    spec = importlib.util.spec_from_file_location("clean_workload", HERE / "clean_workload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run_clean(server.connect, paramstyle=pymysql.paramstyle)


def _store(log: Path, name: str) -> Path:
    data = log.read_bytes()
    if len(data) > MAX_PLAIN_BYTES:
        out = HERE / f"{name}.gz"
        with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
    else:
        out = HERE / name
        out.write_bytes(data)
    return out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mariadb-samples-") as tmp:
        base = Path(tmp)
        for name, run in (("app-slow.log", _run_shared_workload), ("clean-slow.log", _run_clean)):
            for old in (HERE / name, HERE / f"{name}.gz"):
                old.unlink(missing_ok=True)
            server_dir = base / name.split("-")[0]
            server_dir.mkdir()
            server = Server(server_dir, base / name)
            server.start()
            try:
                run(server)
            finally:
                server.stop()
            out = _store(base / name, name)
            print(f"wrote {out.name} ({(base / name).stat().st_size} bytes uncompressed)", file=sys.stderr)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
