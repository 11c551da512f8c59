"""Hostile inputs made by the real programs, for the tests of shared outputs: a PostgreSQL
server (stderr, csvlog and jsonlog), a MariaDB server (slow log) and nginx (access log) are
sent statements and requests that carry script payloads and planted secrets, and a profile is
recorded of functions whose names and files carry them. Whatever the readers make of it, no
payload may run in a report or an exported notebook, and no secret may appear in a default
(redacted) output.

    >>> with Listener() as listener:                                        # doctest: +SKIP
    ...     paths = write_inputs(tmp_path, listener.port)
    ...     ...                                   # open the outputs in Chromium
    ...     assert listener.requests == []

Each payload names its field kind (``PWNED-sql``, ``PWNED-ua``...) and, if it ran, would set
``document.title``, set ``window.__pwned`` and send a request to the :class:`Listener` on
127.0.0.1, or navigate there.
"""

from __future__ import annotations

import base64
import http.server
import socket
import threading
import urllib.parse
from pathlib import Path

# --- secrets -------------------------------------------------------------------------------------
PASSWORD = "hunter2-S3cret"
URI_PASSWORD = "Tr0ub4dor-Pw"
KEYWORD_PASSWORD = "Tr0ub4dor-Kw"
EMAIL = "alice.secret@example.com"
CARD = "4111 1111 1111 1111"
QUERY_TOKEN = "tok_9f8e7d6c5b4a"
API_KEY = "AKIAIOSFODNN7EXAMPLE"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA"
SESSION_ID = "7c1d2e3f4a5b6c7d8e9f"
CSRF = "csrf_5e6f7a8b9c0d1e2f"
BASIC_USER = "carol.basic"
BASIC_PASSWORD = "pa55-basic-w0rd"
BEARER = "brr_1a2b3c4d5e6f7a8b9c0d"
PROFILE_TOKEN = "sk_live_4f3e2d1c0b9a8f7e6d5c"

# the planted secrets, by what they are (the basic-auth password is in the base64 header)
SECRETS = {
    "password in ALTER ROLE / IDENTIFIED BY": PASSWORD,
    "password in a connection URI": URI_PASSWORD,
    "password in a libpq connection string": KEYWORD_PASSWORD,
    "e-mail": EMAIL,
    "card number": CARD,
    "?token=": QUERY_TOKEN,
    "api_key": API_KEY,
    "JWT in a path": JWT,
    "session id": SESSION_ID,
    "csrf cookie": CSRF,
    "basic-auth user": BASIC_USER,
    "basic-auth header": base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode(),
    "bearer token": BEARER,
    "token in a profile's names": PROFILE_TOKEN,
}


def secret_forms(value: str) -> set[str]:
    """``value`` as it could appear in a page or a terminal: raw, without separators (a card
    number), URL-encoded, HTML-escaped."""
    import html

    return {value, value.replace(" ", ""), urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
            html.escape(value, quote=True), value.replace("@", "%40")}


def leaked(text: str) -> list[str]:
    """The names of the planted secrets found in ``text``."""
    return [name for name, value in SECRETS.items() if any(f in text for f in secret_forms(value))]


# --- payloads ------------------------------------------------------------------------------------
def payload(kind: str, port: int, *, spaces: bool = True) -> str:
    """Markup that would run, load, navigate or post if an output inserted it unescaped: an
    ``<img onerror>``, a ``<script>`` after a ``</script>``, an attribute breakout, a meta
    refresh, Markdown link and image, an iframe, a form, a ``<base>`` and a stylesheet, each
    aimed at ``127.0.0.1:port``. ``spaces=False`` for a request target (``/`` separates)."""
    url = f"http://127.0.0.1:{port}/{kind}"
    # no ";": profilers join frames with it (a payload must not change a stack's shape)
    text = (f"<img src=x onerror=\"document.title='PWNED-{kind}',window.__pwned=1,fetch('{url}-img')\">"
            f"</script><script>document.title='PWNED-{kind}',window.__pwned=2,location='{url}-script'</script>"
            f"\"><svg onload=\"document.title='PWNED-{kind}',window.__pwned=3\">"
            f"<meta http-equiv=\"refresh\" content=\"0,url={url}-meta\">"
            f"[md]({url}-link) ![md]({url}-image) "
            f"<iframe src=\"{url}-iframe\"></iframe><form action=\"{url}-form\"><button>go</button></form>"
            f"<base href=\"{url}-base/\"><link rel=\"stylesheet\" href=\"{url}-css\">")
    return text if spaces else text.replace(" ", "/").replace('"', "'")


# the JavaScript a page is checked with: did anything run, load or appear as an element?
PAGE_CHECKS = {
    "title": "document.title",
    "pwned": "typeof window.__pwned",
    "url": "location.href",
    "injected": ("document.querySelectorAll('iframe, form, base, object, embed, link, "
                 "meta[http-equiv=\"refresh\"], img:not([src^=\"data:\"])').length"),
    "handlers": ("Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
                 ".some(a => a.name.toLowerCase().startsWith('on'))).length"),
    "links_out": ("Array.from(document.querySelectorAll('a[href]')).filter(a => "
                  "a.getAttribute('href').includes('127.0.0.1')).length"),
}


class Listener:
    """An HTTP server on 127.0.0.1 that records every request it gets (a payload that ran)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                seen.append(f"{self.command} {self.path}")
                self.send_response(204)
                self.end_headers()

            do_GET = do_POST = do_HEAD = _record

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def __enter__(self) -> Listener:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- inputs --------------------------------------------------------------------------------------
PG_SETTINGS = {"log_min_duration_statement": "0", "log_connections": "on",
               "log_disconnections": "on", "log_min_error_statement": "error"}
# a line another process wrote into the stderr log (no log_line_prefix): read as a skipped line
PG_FOREIGN_LINE = (f"pgbouncer: could not connect to server: host=db.internal port=5432 user=report "
                   f"password={KEYWORD_PASSWORD} dbname=app application_name={EMAIL}\n")


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgres_logs(folder: Path, port: int) -> dict[str, Path]:
    """postgresql.log / .csv / .json of a server sent the planted statements."""
    import psycopg

    from helpers.postgres import postgres_server

    folder.mkdir(parents=True, exist_ok=True)
    sql_payload = _sql_literal(payload("sql", port))
    error_payload = _sql_literal(payload("error", port))
    with postgres_server(PG_SETTINGS) as pg:
        with pg.connect(application_name="planted") as conn:
            run = conn.execute
            run("CREATE ROLE app LOGIN")
            run(f"ALTER ROLE app PASSWORD {_sql_literal(PASSWORD)}")
            run("CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, card text NOT NULL, note text)")
            run(f"INSERT INTO users VALUES (1, {_sql_literal(EMAIL)}, {_sql_literal(CARD)}, {sql_payload})")
            for _ in range(3):
                run(f"SELECT * FROM users WHERE email = {_sql_literal(EMAIL)} AND note <> {sql_payload}")
            run("SELECT id FROM users WHERE email = %s", (EMAIL,), prepare=True)
            run(f"SELECT {_sql_literal(f'postgresql://report:{URI_PASSWORD}@db.internal:5432/app')} AS dsn")
            run(f"SELECT count(*) FROM users WHERE note = {_sql_literal(JWT)} /* api_key={API_KEY} */")
            for statement in (f"SELECT {error_payload}::int",
                              f"INSERT INTO users VALUES (2, {_sql_literal(EMAIL)}, 'x', NULL)",
                              f"INSERT INTO users VALUES (3, 'b@example.org', NULL, {_sql_literal(CARD)})",
                              f"SELECT * FROM {sql_payload.replace(chr(39), chr(34))}"):
                try:
                    run(statement)
                except psycopg.Error:
                    pass
        pg.stop()
        paths = {}
        for suffix in ("log", "csv", "json"):
            paths[suffix] = folder / f"postgresql.{suffix}"
            paths[suffix].write_bytes(pg.log(suffix).read_bytes())
    with open(paths["log"], "a", encoding="utf-8") as fh:
        fh.write(PG_FOREIGN_LINE)
    return paths


def mariadb_log(folder: Path, port: int, base: Path) -> Path:
    """A MariaDB slow log (every statement) of the planted statements; MySQL's double-quoted
    strings are literals."""
    from helpers.mariadb import mariadb_server

    folder.mkdir(parents=True, exist_ok=True)
    with mariadb_server(base) as server:
        conn = server.connect()
        cur = conn.cursor()
        cur.execute("CREATE DATABASE shop")
        cur.execute("CREATE TABLE shop.users (id INT PRIMARY KEY, email TEXT, note TEXT)")
        cur.execute("INSERT INTO shop.users VALUES (1, %s, %s)", (EMAIL, payload("mysql", port)))
        for _ in range(3):
            cur.execute(f'SELECT * FROM shop.users WHERE email = "{EMAIL}" AND note <> "{CARD}"')
        cur.execute(f"CREATE USER 'app'@'localhost' IDENTIFIED BY '{PASSWORD}'")
        cur.execute(f'SELECT "{JWT}" AS token, "api_key={API_KEY}" AS k')
        conn.commit()
        conn.close()
        # the server writes a statement's slow-log entry after answering it: stop it (a clean
        # shutdown finishes every connection's last entry) before the log is read
        server.stop()
        log = server.slow_log.read_bytes()
    path = folder / "mariadb-slow.log"
    path.write_bytes(log)
    return path


NGINX_FORMAT = ("log_format planted '$remote_addr - $remote_user [$time_local] \"$request\" $status "
                "$body_bytes_sent \"$http_referer\" \"$http_user_agent\" rt=$request_time c=$connection "
                "n=$connection_requests "
                "auth=\"$http_authorization\" cookie=\"$http_cookie\"';")


# a line in the combined format (another server's) among the custom ones: read as a skipped
# line, whose example text would show the basic-auth user and the query's token
NGINX_FOREIGN_LINE = (f'203.0.113.9 - {BASIC_USER} [10/Oct/2025:13:55:36 +0000] "GET /x?token={QUERY_TOKEN} '
                      'HTTP/1.1" 200 5 "-" "curl/8.0"\n')


def nginx_log(folder: Path, port: int, nginx: str, prefix: Path) -> Path:
    """An access log (a custom format that logs Authorization and Cookie) of requests with
    payloads in the target, the referer and the user agent, and secrets in the query, the
    path, basic auth, a bearer token and cookies, and one line of another server's log; plus the
    format beside it."""
    from helpers.nginx import run_nginx

    folder.mkdir(parents=True, exist_ok=True)
    basic = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    url_payload = payload("url", port, spaces=False)
    requests = [
        (f"/search/{url_payload}?q={url_payload}", {"User-Agent": payload("ua", port),
                                                    "Referer": payload("referer", port)}),
        (f"/api/reset/{JWT}", {"Authorization": f"Bearer {BEARER}"}),
        (f"/api/orders?token={QUERY_TOKEN}&api_key={API_KEY}&email={EMAIL}", {"Authorization": f"Basic {basic}"}),
        (f"/account;jsessionid={SESSION_ID}", {"Cookie": f"sessionid={SESSION_ID}; csrftoken={CSRF}"}),
    ]
    with run_nginx(nginx, prefix, NGINX_FORMAT, "planted") as nginx_port:
        (prefix / "www" / "index.html").write_text("ok")
        # 24 requests, one connection each: the keep-alive rule fires and quotes the first user agent
        for target, headers in requests * 6:
            with socket.create_connection(("127.0.0.1", nginx_port), 5) as s:
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                s.sendall(f"GET {target} HTTP/1.1\r\nHost: shop\r\n{head}Connection: close\r\n\r\n".encode())
                while s.recv(65536):
                    pass
    path = folder / "access.log"
    path.write_bytes((prefix / "access.log").read_bytes())
    with open(path, "a", encoding="utf-8") as fh:  # a line of another server's log: a skipped line
        fh.write(NGINX_FOREIGN_LINE)
    (folder / "access.log_format").write_text(NGINX_FORMAT + "\n")
    return path


def profile(folder: Path, port: int) -> Path:
    """A pyinstrument profile (exported as speedscope) of functions whose names carry a
    payload and a token and whose file path carries a payload, as generated code can."""
    import time

    import toolkit as tk

    folder.mkdir(parents=True, exist_ok=True)

    def busy() -> int:
        end, n = time.perf_counter() + 0.15, 0
        while time.perf_counter() < end:
            n += 1
        return n

    def outer() -> int:
        return busy() + busy()

    name = payload("function", port)
    busy.__code__ = busy.__code__.replace(co_name=f"handler_{PROFILE_TOKEN}", co_qualname=f"handler_{PROFILE_TOKEN}",
                                          co_filename=f"/srv/app/{payload('file', port).replace('/', '|')}.py")
    outer.__code__ = outer.__code__.replace(co_name=name, co_qualname=name)
    prof = tk.profile(outer)
    path = folder / "planted.speedscope.json"
    prof.to_speedscope(path)
    return path


def write_inputs(root: Path, port: int, *, nginx: str, tmp: Path) -> dict[str, Path]:
    """Every kind of planted input under ``root``; a file name carries a payload too."""
    pg = postgres_logs(root / "postgresql", port)
    out = {"postgres-stderr": pg["log"], "postgres-csvlog": pg["csv"], "postgres-jsonlog": pg["json"],
           "mysql-slow": mariadb_log(root / "mariadb", port, tmp / "mariadb"),
           "access-log": nginx_log(root / "nginx", port, nginx, tmp / "nginx"),
           "profile": profile(root / "profiles", port)}
    named = root / "named" / "<img src=x onerror=\"document.title='PWNED-filename',window.__pwned=4\">.log"
    named.parent.mkdir()
    named.write_bytes(pg["log"].read_bytes())
    out["named"] = named
    return out
