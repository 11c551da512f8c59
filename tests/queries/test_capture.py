"""capture_queries: SQLAlchemy (SQLite, PostgreSQL) and DB-API (sqlite3, psycopg, PyMySQL) statements
with their call sites and requests; the log detectors run unchanged and the N+1 names the line."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest

import toolkit as tk
from toolkit.errors import InputError
from toolkit.queries import capture
from toolkit.queries.callsite import short_path

ROOT = Path(__file__).resolve().parents[2]
APP_PATH = ROOT / "notebooks" / "orm_shop.py"


def _app():
    spec = importlib.util.spec_from_file_location("orm_shop", APP_PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # SQLAlchemy resolves the annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


def _line_of(marker: str) -> int:
    lines = APP_PATH.read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if marker in text)


LOOP_LINE = _line_of("# lazy load: a query per order")


@pytest.fixture(scope="module")
def app():
    return _app()


def _capture(app, engine, fn):
    from sqlalchemy.orm import Session

    with Session(engine) as session, tk.capture_queries(engine) as q:
        totals = fn(session)
    return q, totals


def test_lazy_loading_on_sqlite_is_captured_with_the_loops_line_and_the_n_plus_one_names_it(app):
    # GIVEN the ORM app on SQLite: 60 orders of 4 items, item i costing i cents
    engine = app.make_engine("sqlite://")
    # WHEN its lazy report runs under capture
    q, totals = _capture(app, engine, app.order_totals)
    ev = q.events
    # THEN 1 + 60 statements, every item query issued from the loop's line in _totals
    assert sum(totals.values()) == sum(range(1, 241)) == 28920
    assert len(ev) == len(q) == 61
    assert ev["source_line"].tolist() == list(range(1, 62))
    loads = ev.iloc[1:]
    assert set(loads["file"]) == {short_path(str(APP_PATH))} == {"notebooks/orm_shop.py"}
    assert set(loads["line"]) == {LOOP_LINE}
    assert set(loads["function"]) == {"_totals"}
    assert ev.loc[0, "function"] == "order_totals"
    assert loads["parameters"].tolist() == [f"$1 = '{i}'" for i in range(1, 61)]
    assert (ev["duration_ms"] > 0).all() and ev["timestamp"].is_monotonic_increasing
    assert ev["kind"].eq("statement").all() and ev["error"].isna().all()
    tk.schema.validate(ev, "query_events")
    # AND the unchanged detectors find the N+1, at the loop's file and line
    found = tk.findings(ev, min_total_ms=0.0)
    n1 = found[found["rule"] == "queries.n_plus_one"]
    assert len(n1) == 1
    assert (n1.iloc[0]["file"], n1.iloc[0]["line"]) == ("notebooks/orm_shop.py", LOOP_LINE)
    assert n1.iloc[0]["repeats"] == 60
    assert f"Issued by `_totals` at notebooks/orm_shop.py:{LOOP_LINE}." in n1.iloc[0]["evidence"]


def test_the_fixes_cost_two_and_one_round_trips_and_no_n_plus_one(app):
    engine = app.make_engine("sqlite://")
    q_lazy, lazy = _capture(app, engine, app.order_totals)
    q_in, eager = _capture(app, engine, app.order_totals_fixed)
    q_join, joined = _capture(app, engine, app.order_totals_joined)
    assert lazy == eager == joined
    assert (len(q_lazy), len(q_in), len(q_join)) == (61, 2, 1)
    assert "IN (" in q_in.events.loc[1, "statement"].replace("\n", " ").upper()
    assert "LEFT OUTER JOIN" in q_join.events.loc[0, "statement"].upper()
    assert tk.findings(q_in.events, min_total_ms=0.0).query("rule == 'queries.n_plus_one'").empty


def test_log_events_keep_the_log_file_and_line_in_the_n_plus_one(fixtures):
    # GIVEN a database log (no call sites): the finding still points into the log
    log = fixtures / "queries" / "postgres" / "sqlcommenter.log"
    found = tk.findings(tk.read_queries(log), min_total_ms=0.0)
    n1 = found[found["rule"] == "queries.n_plus_one"]
    assert len(n1) == 1 and n1.iloc[0]["file"] == str(log) and n1.iloc[0]["line"] == 3
    assert "Issued by" not in n1.iloc[0]["evidence"]


def test_dbapi_sqlite_cursor_wrapper_records_execute_executemany_errors_and_requests():
    conn = sqlite3.connect(":memory:")
    with tk.capture_queries(conn) as q:
        db = q.connection
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        cur = db.cursor()
        cur.executemany("INSERT INTO t (name) VALUES (?)", [("a",), ("it's",), (None,)])
        with capture.request("r-42", "/items"):
            rows = db.execute("SELECT id, name FROM t WHERE id > ?", (1,)).fetchall()
        with pytest.raises(sqlite3.OperationalError):
            db.execute("SELECT * FROM missing")
    ev = q.events
    assert rows == [(2, "it's"), (3, None)]
    assert ev["statement"].tolist() == ["CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
                                        "INSERT INTO t (name) VALUES (?)",
                                        "SELECT id, name FROM t WHERE id > ?", "SELECT * FROM missing"]
    assert ev.loc[1, "parameters"] == "$1 = 'a' | $1 = 'it''s' | $1 = NULL"
    assert ev.loc[1, "rows_sent"] == 3  # sqlite3's rowcount of executemany
    assert ev["request_id"].tolist()[2] == "r-42" and ev["endpoint"].tolist()[2] == "/items"
    assert ev["request_id"].isna().sum() == 3
    assert ev.loc[3, "error"] == "OperationalError: no such table: missing"
    assert set(ev["file"]) == {"tests/queries/test_capture.py"}
    assert ev["session"].nunique() == 1
    # the wrapper outlives the block but records nothing more
    db.execute("SELECT 1")
    assert len(q) == 4


def test_wsgi_middleware_sets_the_request_id_from_the_header_for_the_whole_call():
    conn = sqlite3.connect(":memory:")

    def app(environ, start_response):
        q.connection.execute("SELECT 1")
        start_response("200 OK", [])
        return [b"ok"]

    with tk.capture_queries(conn) as q:
        wrapped = capture.WSGIMiddleware(app)
        body = wrapped({"HTTP_X_REQUEST_ID": "abc123", "PATH_INFO": "/a"}, lambda *a: None)
        wrapped({"PATH_INFO": "/b"}, lambda *a: None)
    assert body == [b"ok"]
    assert q.events["request_id"].tolist() == ["abc123", "req-1"]
    assert q.events["endpoint"].tolist() == ["/a", "/b"]


def test_what_cannot_be_captured_is_a_clear_error():
    with pytest.raises(InputError, match="connect first"):
        with tk.capture_queries("sqlite://"):
            pass
    with pytest.raises(InputError, match="not a int"):
        with tk.capture_queries(42):
            pass


@pytest.mark.server
def test_postgres_engine_and_psycopg_connection_are_captured_with_backend_pids(app):
    from helpers.postgres import postgres_server

    with postgres_server() as pg:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/postgres"
        engine = app.make_engine(url)
        q, totals = _capture(app, engine, app.order_totals)
        ev = q.events
        with engine.connect() as c:
            pids = {str(c.connection.dbapi_connection.info.backend_pid)}
        engine.dispose()
        assert sum(totals.values()) == 28920 and len(ev) == 61
        assert set(ev["session"]) == pids  # the server's own session id, as its log has it
        assert set(ev["database"]) == {"postgres"} and set(ev["user"]) == {"postgres"}
        assert set(ev.iloc[1:]["line"]) == {LOOP_LINE}
        assert ev.iloc[1:]["rows_sent"].tolist() == [4] * 60
        n1 = tk.findings(ev, min_total_ms=0.0).query("rule == 'queries.n_plus_one'")
        assert n1.iloc[0]["line"] == LOOP_LINE
        # a plain psycopg connection through the cursor wrapper
        with pg.connect() as conn, tk.capture_queries(conn) as q2:
            with q2.connection.cursor() as cur:
                cur.execute("SELECT g FROM generate_series(1, %s) g", (7,))
                assert len(cur.fetchall()) == 7
            pid = conn.info.backend_pid
        assert q2.events.loc[0, ["session", "rows_sent", "parameters"]].tolist() == [str(pid), 7, "$1 = '7'"]
