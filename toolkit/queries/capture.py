"""Capture the queries an application sends, with the line of code and the request behind each.

    with tk.capture_queries(engine) as q:          # a SQLAlchemy 2 Engine, Connection or Session
        app.list_orders()
    q.events                                       # one row per statement, see below
    tk.findings(q.events)                          # the log detectors, unchanged

    with tk.capture_queries(psycopg.connect(dsn)) as q:   # a DB-API 2 connection
        cur = q.connection.cursor()                # use the wrapped connection
        cur.execute("SELECT ...", (1,))

SQLAlchemy (core and ORM, which runs through core) is hooked with its documented cursor events
(``before_cursor_execute``, ``after_cursor_execute``, ``handle_error``:
https://docs.sqlalchemy.org/en/20/core/events.html#sqlalchemy.events.ConnectionEvents), removed
again on exit. A DB-API 2 connection (psycopg 3, sqlite3, PyMySQL, any PEP 249 driver) cannot be
hooked in place (sqlite3's connection is read-only), so :attr:`Capture.connection` wraps it:
its cursors time ``execute`` / ``executemany``; everything else passes through.

``q.events`` is the ``query_events`` table (see :mod:`toolkit.schema`): ``timestamp`` when the
statement returned (UTC, as a server log stamps it), ``duration_ms`` measured at the client
(network round trip included), ``statement`` as sent, ``kind`` = "statement", ``parameters``
(``$1 = '7', $2 = NULL`` like PostgreSQL's log, or ``name = '7'`` for named ones), ``rows_sent``
(the cursor's rowcount where the driver knows it), ``session`` (the server's backend pid for
PostgreSQL, the thread id for MySQL/MariaDB, else a per-connection number), ``database``,
``user``, ``source_line`` (1 for the first statement captured, 2 for the next, ...), plus:

- ``file``, ``line``, ``function``: the first frame outside SQLAlchemy, the drivers, the
  standard library and this toolkit (:mod:`toolkit.queries.callsite`); ``file`` is relative to
  the working directory when it lies below it;
- ``request_id``, ``endpoint``: the request active in this context (:func:`request`, or the
  :class:`WSGIMiddleware` / :class:`ASGIMiddleware`), null outside requests;
- ``error``: the exception's type and message when the statement failed, else null.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from .. import schema
from ..errors import InputError
from .callsite import FrameFilter

# The request the current thread / task works for: (request_id, endpoint). Set by request() or
# a middleware; contextvars follow threads and asyncio tasks, so concurrent requests stay apart.
CURRENT_REQUEST: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "toolkit_current_request", default=(None, None))

EXTRA_COLUMNS = ("file", "line", "function", "request_id", "endpoint", "error")


@contextlib.contextmanager
def request(request_id: str, endpoint: str | None = None) -> Iterator[None]:
    """Tag every statement captured inside the block with ``request_id`` (and ``endpoint``)."""
    token = CURRENT_REQUEST.set((str(request_id), endpoint))
    try:
        yield
    finally:
        CURRENT_REQUEST.reset(token)


def _environ_request_id(environ: dict, header: str) -> str | None:
    return environ.get("HTTP_" + header.upper().replace("-", "_"))


class WSGIMiddleware:
    """Sets the current request from a header (nginx: ``proxy_set_header X-Request-Id
    $request_id;``) for the duration of each WSGI call; a request without the header gets a
    number of its own. ``endpoint`` is the path (templated later by :func:`toolkit.correlation.correlate`).

        app.wsgi_app = WSGIMiddleware(app.wsgi_app)      # Flask
    """

    def __init__(self, app: Any, header: str = "X-Request-Id"):
        self.app = app
        self.header = header
        self._numbers = itertools.count(1)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        rid = _environ_request_id(environ, self.header) or f"req-{next(self._numbers)}"
        token = CURRENT_REQUEST.set((rid, environ.get("PATH_INFO")))
        try:
            # the body may be produced lazily, still inside the request: consume it here
            body = self.app(environ, start_response)
            try:
                return list(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            CURRENT_REQUEST.reset(token)


class ASGIMiddleware:
    """The same for ASGI (Starlette, FastAPI, ...): HTTP scopes get the request id from the
    header, other scopes pass through."""

    def __init__(self, app: Any, header: str = "X-Request-Id"):
        self.app = app
        self.header = header.lower().encode("latin-1")
        self._numbers = itertools.count(1)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(self.header)
        rid = raw.decode("latin-1") if raw else f"req-{next(self._numbers)}"
        token = CURRENT_REQUEST.set((rid, scope.get("path")))
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_REQUEST.reset(token)


def format_parameters(params: Any) -> str | None:
    """Parameters as PostgreSQL logs them: ``$1 = '7', $2 = NULL`` (positional) or
    ``name = '7'`` (named); executemany's list of sets joined by `` | ``; long text cut.

        >>> format_parameters((7, None, "it's"))
        "$1 = '7', $2 = NULL, $3 = 'it''s'"
    """
    if params is None:
        return None

    def one(value: Any) -> str:
        if value is None:
            return "NULL"
        text = value if isinstance(value, str) else str(value)
        text = text if len(text) <= 200 else text[:199] + "…"
        return "'" + text.replace("'", "''") + "'"

    if isinstance(params, dict):
        out = ", ".join(f"{k} = {one(v)}" for k, v in params.items())
    elif isinstance(params, (list, tuple)):
        if params and all(isinstance(p, (list, tuple, dict)) for p in params):
            return " | ".join(filter(None, (format_parameters(p) for p in params)))[:2000] or None
        out = ", ".join(f"${i} = {one(v)}" for i, v in enumerate(params, 1))
    else:
        out = one(params)
    return out or None


class _SessionIds:
    """A session label per DB-API connection: the server's own id where the driver tells it
    (PostgreSQL backend pid, MySQL thread id), else a small number per connection object."""

    def __init__(self) -> None:
        self.by_id: dict[int, tuple[Any, str]] = {}
        self.numbers = itertools.count(1)

    def __call__(self, dbapi_conn: Any) -> str:
        key = id(dbapi_conn)
        known = self.by_id.get(key)
        if known is not None and known[0] is dbapi_conn:
            return known[1]
        label = None
        info = getattr(dbapi_conn, "info", None)
        pid = getattr(info, "backend_pid", None)
        if pid:
            label = str(pid)
        elif callable(getattr(dbapi_conn, "thread_id", None)):
            with contextlib.suppress(Exception):
                label = str(dbapi_conn.thread_id())
        if label is None:
            label = f"conn-{next(self.numbers)}"
        self.by_id[key] = (dbapi_conn, label)  # keep it alive: id() must not be reused
        return label


def _connection_facts(dbapi_conn: Any) -> tuple[str | None, str | None]:
    info = getattr(dbapi_conn, "info", None)
    db = getattr(info, "dbname", None) or getattr(dbapi_conn, "db", None)
    user = getattr(info, "user", None) or getattr(dbapi_conn, "user", None)
    if isinstance(db, bytes):
        db = db.decode("utf-8", "replace")
    if isinstance(user, bytes):
        user = user.decode("utf-8", "replace")
    return (str(db) if db else None), (str(user) if user else None)


class Capture:
    """What :func:`capture_queries` yields: ``events`` (the table), ``connection`` (the wrapped
    DB-API connection, or None for SQLAlchemy). ``len(q)`` is the number of statements."""

    def __init__(self, skip: Iterable[str] = ()):
        self._rows: list[tuple] = []
        self._lock = threading.Lock()
        self._frames = FrameFilter(skip)
        self._sessions = _SessionIds()
        self._events: pd.DataFrame | None = None
        self.connection: Any = None
        self.active = True  # False once the with-block ends: the wrapper then records nothing

    # called by the hooks, in the application's thread
    def record(self, statement: str, params: Any, started: float, dbapi_conn: Any, rows: Any,
               error: BaseException | None = None, frame: Any = None) -> None:
        ended = time.perf_counter()
        if not self.active:
            return
        wall = time.time()
        file, line, function = self._frames.caller(frame if frame is not None else sys._getframe(1))
        rid, endpoint = CURRENT_REQUEST.get()
        rowcount = rows if isinstance(rows, int) and rows >= 0 else None
        database, user = _connection_facts(dbapi_conn)
        err = None if error is None else f"{type(error).__name__}: {error}".strip()
        with self._lock:
            self._rows.append((wall, (ended - started) * 1e3, statement, format_parameters(params),
                               rowcount, self._sessions(dbapi_conn), database, user, file, line,
                               function, rid, endpoint, err))
            self._events = None

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def events(self) -> pd.DataFrame:
        """The captured statements as ``query_events`` plus the columns in the module docstring."""
        if self._events is None:
            self._events = _frame(self._rows)
        return self._events

    def __repr__(self) -> str:
        return f"<Capture of {len(self)} statements>"


def _frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["wall", "duration_ms", "statement", "parameters", "rows_sent", "session", "database",
            "user", "file", "line", "function", "request_id", "endpoint", "error"]
    df = pd.DataFrame(rows, columns=cols)
    df["timestamp"] = pd.to_datetime(df.pop("wall"), unit="s", utc=True)
    df["kind"] = "statement"
    df["source_line"] = range(1, len(df) + 1)
    df["line"] = df["line"].astype("Int64")
    for c in ("file", "function", "request_id", "endpoint", "error"):
        df[c] = df[c].astype("string")
    out = schema.coerce(df, "query_events")
    out.attrs["source"] = {"path": None, "format": "capture", "lines_read": len(df),
                           "records": len(df), "lines_skipped": 0, "skipped": []}
    return out


# --------------------------------------------------------------------------- SQLAlchemy

def _sqlalchemy_target(target: Any) -> Any:
    """An Engine or Connection to listen on, or None when ``target`` is not SQLAlchemy."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

    if isinstance(target, (Engine, Connection)):
        return target
    if isinstance(target, Session):
        bind = target.get_bind()
        return bind.engine if isinstance(bind, Connection) else bind
    return None


@contextlib.contextmanager
def _listen_sqlalchemy(target: Any, cap: Capture) -> Iterator[None]:
    from sqlalchemy import event

    starts: dict[int, list[float]] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        starts.setdefault(id(cursor), []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        stack = starts.get(id(cursor))
        if not stack:
            return
        started = stack.pop()
        if not stack:
            starts.pop(id(cursor), None)
        cap.record(statement, parameters, started, conn.connection.dbapi_connection,
                   getattr(cursor, "rowcount", None), frame=sys._getframe(1))

    def failed(context):
        cursor = context.cursor
        stack = starts.get(id(cursor)) if cursor is not None else None
        if not stack:
            return
        started = stack.pop()
        if not stack:
            starts.pop(id(cursor), None)
        conn = context.connection
        dbapi = conn.connection.dbapi_connection if conn is not None else None
        cap.record(context.statement or "", context.parameters, started, dbapi, None,
                   error=context.original_exception, frame=sys._getframe(1))

    hooks = (("before_cursor_execute", before), ("after_cursor_execute", after),
             ("handle_error", failed))
    for name, fn in hooks:
        event.listen(target, name, fn)
    try:
        yield
    finally:
        for name, fn in hooks:
            event.remove(target, name, fn)


# --------------------------------------------------------------------------- DB-API 2

class CapturedCursor:
    """A DB-API cursor whose ``execute`` and ``executemany`` are timed and recorded."""

    def __init__(self, cursor: Any, conn: Any, capture: Capture):
        self._cursor = cursor
        self._conn = conn
        self._capture = capture

    def _run(self, method: str, statement: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self._cursor, method)
        started = time.perf_counter()
        try:
            # driver-specific options (psycopg's prepare=...) pass through
            result = fn(statement, params, *args, **kwargs) if params is not None or args or kwargs \
                else fn(statement)
        except Exception as exc:
            self._capture.record(str(statement), params, started, self._conn, None, error=exc,
                                 frame=sys._getframe(2))
            raise
        self._capture.record(str(statement), params, started, self._conn,
                             getattr(self._cursor, "rowcount", None), frame=sys._getframe(2))
        # psycopg's execute returns the cursor itself, for chaining: keep chaining through us
        return self if result is self._cursor else result

    def execute(self, statement: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        return self._run("execute", statement, params, *args, **kwargs)

    def executemany(self, statement: Any, seq_of_params: Any, *args: Any, **kwargs: Any) -> Any:
        return self._run("executemany", statement, list(seq_of_params), *args, **kwargs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def __enter__(self) -> CapturedCursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        close = getattr(self._cursor, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class CapturedConnection:
    """A DB-API connection whose cursors (and ``execute`` shortcut, for sqlite3 and psycopg)
    are captured; every other attribute is the wrapped connection's."""

    def __init__(self, conn: Any, capture: Capture):
        self._conn = conn
        self._capture = capture

    def cursor(self, *args: Any, **kwargs: Any) -> CapturedCursor:
        return CapturedCursor(self._conn.cursor(*args, **kwargs), self._conn, self._capture)

    def execute(self, statement: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        cur = self.cursor()
        cur.execute(statement, params, *args, **kwargs)
        return cur

    def __enter__(self) -> CapturedConnection:
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._conn.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


# --------------------------------------------------------------------------- entry point

@contextlib.contextmanager
def capture_queries(target: Any, *, skip: Iterable[str] = ()) -> Iterator[Capture]:
    """Record every statement sent through ``target`` inside the block.

    ``target``: a SQLAlchemy 2 Engine, Connection or ORM Session (every statement of the engine,
    from any thread), or a DB-API 2 connection (use the yielded ``q.connection``). ``skip``
    names more packages whose frames are not "the application" (a data-access layer of your
    own), so ``file``/``line`` point at its callers. Yields a :class:`Capture`; see the module
    docstring for ``q.events``' columns.

        >>> import sqlite3, toolkit as tk
        >>> with tk.capture_queries(sqlite3.connect(":memory:")) as q:
        ...     _ = q.connection.execute("SELECT ? + 1", (41,))
        >>> q.events.loc[0, ["statement", "parameters", "source_line"]].tolist()
        ['SELECT ? + 1', "$1 = '41'", 1]
    """
    cap = Capture(skip)
    engine = _sqlalchemy_target(target)
    if engine is not None:
        with _listen_sqlalchemy(engine, cap):
            yield cap
        cap.active = False
        return
    if type(target).__module__.startswith("sqlalchemy"):
        raise InputError(f"capture_queries() takes an Engine, Connection or Session, not a "
                         f"SQLAlchemy {type(target).__name__}")
    if not callable(getattr(target, "cursor", None)):
        if target is None or isinstance(target, str):
            raise InputError("capture_queries() takes a SQLAlchemy Engine/Connection/Session or an "
                             f"open DB-API 2 connection, not {target!r}; connect first")
        raise InputError(f"capture_queries() takes a SQLAlchemy Engine/Connection/Session or a "
                         f"DB-API 2 connection (with .cursor()), not a {type(target).__name__}")
    cap.connection = CapturedConnection(target, cap)
    try:
        yield cap
    finally:
        cap.active = False

