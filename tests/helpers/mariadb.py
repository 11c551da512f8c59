"""A throwaway MariaDB server for tests: its own datadir, socket and free port on 127.0.0.1.

    with mariadb_server(tmp_path) as server:
        conn = server.connect()
        ...
    # server.slow_log now holds the slow query log (long_query_time=0: every statement)

The server is always stopped, also when the test fails. Needs Debian's mariadb-server
(``mariadb-install-db``, ``mariadbd``) and pymysql.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from helpers.programs import require_program


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    def __init__(self, base: Path, extra_args: tuple[str, ...] = ()):
        self.base = Path(base)
        self.datadir = self.base / "data"
        self.socket = self.base / "mysqld.sock"
        self.slow_log = self.base / "slow.log"
        self.error_log = self.base / "error.log"
        self.port = free_port()
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None

    def install(self) -> None:
        install = require_program("mariadb-install-db")
        subprocess.run([install, "--no-defaults", f"--datadir={self.datadir}", f"--user={getpass.getuser()}",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        mariadbd = require_program("mariadbd")
        args = [mariadbd, "--no-defaults", f"--datadir={self.datadir}", "--bind-address=127.0.0.1",
                f"--port={self.port}", f"--socket={self.socket}", f"--pid-file={self.base}/mysqld.pid",
                f"--log-error={self.error_log}", "--skip-log-bin", "--innodb-buffer-pool-size=16M",
                "--slow-query-log=1", f"--slow-query-log-file={self.slow_log}",
                "--long-query-time=0", "--log-slow-verbosity=query_plan,explain", *self.extra_args]
        if os.geteuid() == 0:
            args.append("--user=root")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self.error_log.read_text()[-2000:]}")
            try:
                self.connect().close()
                return
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("mariadbd did not accept connections within 60 s")

    def connect(self, database: str | None = None, **kwargs):
        import pymysql

        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="",
                               database=database, **kwargs)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()  # SIGTERM: a clean shutdown
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def mariadb_server(base: Path, extra_args: tuple[str, ...] = ()) -> Iterator[MariaDB]:
    """Install, start, yield and always stop a MariaDB server under ``base``."""
    server = MariaDB(base, extra_args)
    server.install()
    server.start()
    try:
        yield server
    finally:
        server.stop()
