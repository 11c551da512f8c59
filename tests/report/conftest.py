"""Small inputs for the report tests: an Analysis whose every kind of evidence carries a
planted ``<script>`` (and an ``<img onerror>``) and literal values that must be redacted."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit import rules as R
from toolkit import schema
from toolkit.profiles import Frame, ProfileBuilder
from toolkit.ranking import to_frame
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
    r = R.rule("report_test.planted", "N+1 and ORM queries", "a test rule", severity="high",
               fix="batch the queries")
    low = R.rule("report_test.low", "monitoring", "another test rule", severity="low", fix="log it")
    return to_frame([
        R.finding(low, "a low one", "seen once", file="app.log", line=3),
        R.finding(r, f"N+1 in {PAYLOAD}", f"12 calls of SELECT ... WHERE email = '{SECRET_EMAIL}' "
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


# --- notebooks and the browser: expensive, so run once per session ----------------------------

def make_notebook(path, *, body: str | None = None):
    """A tiny notebook shaped like the curated ones: imports, a ``parameters`` cell, a cell that
    reads the file parameter and shows two plotly figures through the JSON mimetype only, and
    a DataFrame."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import pandas as pd\nimport plotly.graph_objects as go\n"
                                  "import plotly.io as pio\npio.renderers.default = 'plotly_mimetype'"),
        nbformat.v4.new_code_cell("n = 3\nlabel = 'a'\nlog = 'data/default.log'",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body or (
            "lines = open(log).read().splitlines()\n"
            "print(f'n={n} lines={len(lines)}')\n"
            "go.Figure(go.Bar(x=[label, 'other'], y=[n, len(lines)]),"
            " layout={'title': {'text': 'demo'}}).show()\n"
            "go.Figure(go.Scatter(x=[1, 2], y=[3, 4], text=[label, 'x'], mode='markers+text')).show()\n"
            "pd.DataFrame({'name': [label], 'n': [n]})")),
        nbformat.v4.new_markdown_cell("## The end"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> dict:
    """The tiny notebook run by papermill with a planted label and a path relative to the
    user's folder, exported to HTML."""
    from toolkit.report.notebooks import run_notebook

    root = tmp_path_factory.mktemp("nb")
    nb = make_notebook(root / "tiny.ipynb")
    user = tmp_path_factory.mktemp("user")
    (user / "mine.log").write_text("a\nb\nc\nd\n")
    html = run_notebook(nb, user / "out.html", {"n": 7, "label": PAYLOAD, "log": "mine.log"},
                        executed=user / "executed.ipynb", base=user)
    return {"html": html, "executed": user / "executed.ipynb", "user": user}


@pytest.fixture(scope="session")
def curated_run(tmp_path_factory) -> dict:
    """notebooks/01_hot_paths.ipynb run on a profile named relative to the repository (a user's
    file), exported to HTML; skipped until the notebook exists."""
    from pathlib import Path

    from toolkit.errors import InputError
    from toolkit.report.notebooks import find_notebook, notebook_parameters, run_notebook

    try:
        path = find_notebook("01_hot_paths")
    except InputError:
        pytest.skip("notebooks/01_hot_paths.ipynb not written yet")
    root = Path(__file__).resolve().parents[2]
    params = {}
    if "PROFILE" in notebook_parameters(path):
        params["PROFILE"] = "sample_traces/profiles/py-spy/demo_slow.speedscope.json"
    out = tmp_path_factory.mktemp("curated")
    html = run_notebook(path, out / "hot.html", params, executed=out / "hot.ipynb", base=root)
    return {"html": html, "executed": out / "hot.ipynb", "params": params, "root": root}


@pytest.fixture(scope="session")
def sample_analysis():
    """``tk.analyze`` of the bundled sample_traces/ (what ``perf-toolkit analyze`` reads by default)."""
    from toolkit.report.analyze import analyze

    return analyze(None)


@pytest.fixture(scope="session")
def chromium():
    from helpers.browser import Chromium

    with Chromium() as browser:
        yield browser


@pytest.fixture
def notebook_maker():
    """:func:`make_notebook` for tests that need a notebook of their own."""
    return make_notebook
