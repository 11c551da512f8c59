"""Small inputs for the report tests: an Analysis whose every kind of evidence carries a
planted ``<script>`` (and an ``<img onerror>``) and literal values that must be redacted."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit import findings as F
from toolkit import schema
from toolkit.profiles import Frame, ProfileBuilder
from toolkit.report.analysis import Analysis, InputResult

# Runs only if the page interprets input text as markup: sets window.__pwned.
PAYLOAD = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"
SECRET_EMAIL = "alice@example.com"
CLIENT_IP = "203.0.113.77"


def planted_profile():
    b = ProfileBuilder()
    main = Frame("main", "app.py", 1)
    evil = Frame(f"handler{PAYLOAD}", f"views/{PAYLOAD}.py", 7)
    b.add([main, evil, Frame("render", "app.py", 30)], 0.30, samples=30)
    b.add([main, evil], 0.10, samples=10)
    b.add([main, Frame("sleep", "app.py", 50)], 0.60, samples=60)
    return b.build(format="pyspy-raw", rate_hz=100.0, path="planted.txt")


def planted_queries() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01T10:00:00Z")
    rows = []
    for i in range(12):
        rows.append({"timestamp": t0 + pd.Timedelta(seconds=i), "duration_ms": 10.0 + i,
                     "statement": f"SELECT * FROM users WHERE email = '{SECRET_EMAIL}' "
                                  f"AND note = '{PAYLOAD}' AND id = {1000 + i}",
                     "kind": "statement", "database": "app", "user": "web", "session": "s1",
                     "client": f"{CLIENT_IP}(5{i:04d})", "parameters": None, "source_line": i + 1})
    rows.append({"timestamp": t0, "duration_ms": 500.0, "statement": "UPDATE t SET a = $1 WHERE b = $2",
                 "kind": "execute", "database": "app", "user": "web", "session": "s2",
                 "client": "198.51.100.2(40000)", "parameters": "$1 = 'secret-token', $2 = '77'",
                 "source_line": 40})
    return schema.coerce(pd.DataFrame(rows), "query_events")


def planted_server_events() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01T10:00:00Z")
    rows = [
        {"timestamp": t0, "event": "error", "sqlstate": "23505", "session": "s1",
         "message": 'duplicate key value violates unique constraint "users_email_key"',
         "detail": f"Key (email)=({SECRET_EMAIL}) already exists.", "statement":
         f"INSERT INTO users VALUES ('{SECRET_EMAIL}')", "source_line": 50},
        {"timestamp": t0, "event": "checkpoint_complete", "duration_ms": 120.0, "source_line": 60},
        {"timestamp": t0, "event": "temp_file", "size_bytes": 1 << 20, "source_line": 61},
    ]
    return schema.coerce(pd.DataFrame(rows), "server_events")


def planted_requests() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01T10:00:00Z")
    rows = []
    for i in range(60):
        path = "/users/42" if i % 2 else f"/search/{PAYLOAD}"
        rows.append({"timestamp": t0 + pd.Timedelta(seconds=i), "client": CLIENT_IP if i % 3 else "192.0.2.9",
                     "method": "GET", "url": f"{path}?q={SECRET_EMAIL}&token=abc{i}", "path": path,
                     "query": f"q={SECRET_EMAIL}&token=abc{i}", "protocol": "HTTP/1.1",
                     "status": 200 if i % 10 else 500, "body_bytes_sent": 1000 + i,
                     "request_time_s": 0.01 * (1 + i % 7), "referer": "-",
                     "user_agent": f"curl/8.0 {PAYLOAD}", "source_line": i + 1})
    return schema.coerce(pd.DataFrame(rows), "http_requests")


def planted_findings() -> pd.DataFrame:
    r = F.rule("report_test.planted", "N+1 and ORM queries", "a test rule", severity="high",
               fix="batch the queries")
    low = F.rule("report_test.low", "monitoring", "another test rule", severity="low", fix="log it")
    return F.to_frame([
        F.finding(low, "a low one", "seen once", file="app.log", line=3),
        F.finding(r, f"N+1 in {PAYLOAD}", f"12 calls of SELECT ... WHERE email = '{SECRET_EMAIL}' "
                  f"from {CLIENT_IP}", file="queries.log", line=1),
    ])


def planted_analysis() -> Analysis:
    a = Analysis()
    a.profiles["planted.txt"] = planted_profile()
    a.queries["queries.log"] = planted_queries()
    a.server_events["queries.log"] = planted_server_events()
    a.requests["access.log"] = planted_requests()
    a.findings = planted_findings()
    a.inputs = [
        InputResult("planted.txt", "read", "pyspy-raw", "profile", records=3, lines_read=3),
        InputResult("queries.log", "read", "postgres-stderr", "queries", records=13, lines_read=70,
                    lines_skipped=2, source={
                        "skip_reasons": {"not a log line": 2},
                        "skipped": [{"line": 5, "reason": "not a log line",
                                     "text": f"garbage {PAYLOAD} from {CLIENT_IP}"}]}),
        InputResult("access.log", "read", "nginx-combined", "access_log", records=60, lines_read=60),
        InputResult(f"weird{PAYLOAD}.bin", "skipped", reason=f"unknown format {PAYLOAD}"),
        InputResult("broken.log", "failed", "postgres-stderr", "queries",
                    reason="broken.log:3: expected a log line prefix"),
    ]
    return a


@pytest.fixture
def analysis() -> Analysis:
    return planted_analysis()
