"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free port on 127.0.0.1.

    with postgres_server(settings={"log_min_duration_statement": "0"}) as pg:
        with pg.connect() as conn:
            conn.execute("SELECT 1")
    # pg.logdir now holds postgresql.log, postgresql.csv and postgresql.json

The server is always stopped and its directory removed, also when the test fails. As root the
cluster runs as the ``postgres`` user (PostgreSQL refuses root), in a directory under /tmp that
user can reach (pytest's tmp_path is private to root). Needs initdb/pg_ctl and psycopg.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from helpers.programs import require_program

LOGGING = {
    "logging_collector": "on",
    "log_destination": "'stderr,csvlog,jsonlog'",
    "log_filename": "'postgresql.log'",
    "log_rotation_age": "0",
    "log_rotation_size": "0",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
    "log_timezone": "'UTC'",
    "lc_messages": "'C'",
}


def _server_user() -> str:
    """Debian's package makes the ``postgres`` user; elsewhere any unprivileged user will do."""
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, base: Path, settings: dict[str, str]):
        self.base = base
        self.data = base / "data"
        self.logdir = base / "log"
        self.port = free_port()
        self.settings = settings
        self.as_user = _server_user() if os.geteuid() == 0 else None
        self.initdb = require_program("initdb")
        self.pg_ctl = require_program("pg_ctl")

    def _run(self, *cmd: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True,
                              user=self.as_user, timeout=60)

    def setup(self) -> None:
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self._run(self.initdb, "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        conf = {"listen_addresses": "'127.0.0.1'", "port": str(self.port),
                "unix_socket_directories": f"'{self.base}'", "log_directory": f"'{self.logdir}'",
                "fsync": "off", "shared_buffers": "'16MB'", "max_connections": "20",
                **LOGGING, **self.settings}
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write("".join(f"\n{k} = {v}" for k, v in conf.items()) + "\n")

    def start(self) -> None:
        self._run(self.pg_ctl, "-D", self.data, "-l", self.base / "pg_ctl.log", "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop", check=False)

    def dsn(self, db: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} dbname={db} user=postgres"

    def connect(self, db: str = "postgres", **kwargs):
        import psycopg

        return psycopg.connect(self.dsn(db), autocommit=True, **kwargs)

    def log(self, suffix: str = "log") -> Path:
        return self.logdir / f"postgresql.{suffix}"


@contextlib.contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[Postgres]:
    """Start a throwaway cluster with ``settings`` added to postgresql.conf; stop it after."""
    base = Path(tempfile.mkdtemp(prefix="tk-pg-", dir="/tmp"))
    pg = Postgres(base, settings or {})
    try:
        pg.setup()
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
