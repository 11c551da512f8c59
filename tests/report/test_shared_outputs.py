"""Shared outputs on hostile inputs written by the real programs (PostgreSQL in three log
formats, MariaDB, nginx, a recorded profile; see helpers/hostile.py): in real Chromium no
payload runs, loads, posts or navigates from the analyze report or from any curated notebook's
export, and no planted secret appears in a default (redacted) output, terminal included."""

from __future__ import annotations

import pytest
from helpers.hostile import PAGE_CHECKS, SECRETS, Listener, leaked, write_inputs
from helpers.pages import markup
from helpers.programs import require_program

from toolkit.cli import main
from toolkit.errors import ToolkitError
from toolkit.report.notebooks import export_html, run_notebook

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.slow]

# the payload kinds each output shows (as text), by where the payload was planted
REPORT_KINDS = ("sql", "error", "mysql", "url", "ua", "function", "file", "filename")
# curated notebooks that read inputs, their parameters on the hostile inputs, and the payload
# kinds they show (03 reads no input: its stored export is opened by test_browser.py)
NOTEBOOKS = {
    "00_tour": ({"PROFILE": "profiles/planted.speedscope.json", "QUERY_LOG": "postgresql/postgresql.log",
                 "ACCESS_LOG": "nginx/access.log", "LOG_FORMAT": "@nginx/access.log_format"}, ("function", "url")),
    "01_hot_paths": ({"PROFILE": "profiles/planted.speedscope.json",
                      "FIXED_PROFILE": "profiles/planted.speedscope.json", "OTHER_PROFILES": []}, ("function",)),
    # (its statements show as fingerprints, literals replaced: the SQL payload is in a literal)
    "02_slow_queries": ({"QUERY_LOG": "postgresql/postgresql.log", "CLEAN_QUERY_LOG": "mariadb/mariadb-slow.log"},
                        ("error",)),
    "04_http_endpoints": ({"ACCESS_LOG": "nginx/access.log", "LOG_FORMAT": "@nginx/access.log_format"}, ("url", "ua")),
    # its tables cut long cells: the file name's payload shows only as far as "<img src=x onerror="
    "06_backend_audit": ({"INPUTS": "."}, ()),
}


def _param(root, value):
    """A parameter naming a hostile input: its path (``@`` kept in front: a file holding a format)."""
    if not isinstance(value, str):
        return value
    return "@" + str(root / value[1:]) if value.startswith("@") else str(root / value)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    nginx = require_program("nginx")
    for program in ("initdb", "pg_ctl", "mariadbd", "mariadb-install-db"):
        require_program(program)
    pytest.importorskip("psycopg")
    pytest.importorskip("pymysql")
    root = tmp_path_factory.mktemp("hostile")
    with Listener() as listener:
        paths = write_inputs(root / "in", listener.port, nginx=nginx, tmp=root)
        yield {"root": root / "in", "out": root, "paths": paths, "listener": listener}


@pytest.fixture(scope="module")
def notebook_runs(hostile):
    """Each input-reading curated notebook run on the hostile inputs, exported unredacted (the
    payloads intact); a cell that fails on them still leaves its export (and is recorded)."""
    runs = {}
    for name, (params, _) in NOTEBOOKS.items():
        html, ipynb = hostile["out"] / f"{name}.html", hostile["out"] / f"{name}.ipynb"
        params = {k: _param(hostile["root"], v) for k, v in params.items()}
        try:
            run_notebook(name, html, params, executed=ipynb, redact=False)
            failure = None
        except ToolkitError as exc:
            failure = str(exc)
        runs[name] = {"html": html, "ipynb": ipynb, "failure": failure}
    return runs


def _assert_nothing_ran(result, listener, title: str, kinds) -> None:
    values = result.values
    assert values["title"] == title                    # no payload set document.title
    assert values["pwned"] == "undefined"              # ... or window.__pwned
    assert values["url"] == result.url                 # no meta refresh or location change
    assert values["injected"] == 0                     # no <img src=x>, <iframe>, <form>, <base>, <meta>, <link>
    assert values["handlers"] == 0                     # no element with an on* attribute
    assert values["links_out"] == 0                    # no <a href> to the listener
    assert result.console_errors == []                 # not even a CSP violation: nothing tried to run
    assert result.page_errors == []
    assert result.foreign_requests == []
    assert listener.requests == []
    assert result.drawn == result.figures
    # the payloads did reach the page, as text
    assert '<img src=x onerror="document.title=' in result.text
    for kind in kinds:
        assert f"PWNED-{kind}" in result.text, kind


def test_the_inputs_carry_every_secret_and_payload(hostile):
    # GIVEN the hostile inputs: the test below can only pass by redacting, not by missing input
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in hostile["paths"].values())
    assert sorted(leaked(text)) == sorted(SECRETS)
    for kind in REPORT_KINDS:
        assert f"PWNED-{kind}" in text or f"PWNED-{kind}" in str(hostile["paths"]["named"]), kind


def test_no_payload_runs_in_the_analyze_report(hostile, chromium, capsys):
    # GIVEN the report of every hostile input, unredacted so the payloads stay whole
    report = hostile["out"] / "report-unredacted.html"
    assert main(["analyze", str(hostile["root"]), "-o", str(report), "-q", "--no-redact"]) == 0
    capsys.readouterr()
    # WHEN it is opened in Chromium
    result = chromium.open(report, evaluate=PAGE_CHECKS)
    # THEN nothing ran, loaded, posted or navigated, and every payload shows as text
    _assert_nothing_ran(result, hostile["listener"], "perf-toolkit report", REPORT_KINDS)
    assert result.figures >= 3


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_no_payload_runs_in_a_curated_notebook_export(name, notebook_runs, hostile, chromium):
    # GIVEN a curated notebook run on the hostile inputs and exported
    run = notebook_runs[name]
    # WHEN its export is opened in Chromium
    result = chromium.open(run["html"], evaluate=PAGE_CHECKS)
    # THEN nothing ran and the payloads of the fields it shows are text
    _assert_nothing_ran(result, hostile["listener"], name, NOTEBOOKS[name][1])
    assert run["failure"] is None


def test_the_default_report_and_terminal_hold_no_planted_secret(hostile, capsys):
    # GIVEN every hostile input
    report = hostile["out"] / "report.html"
    # WHEN perf-toolkit analyze writes its default report and summary
    assert main(["analyze", str(hostile["root"]), "-o", str(report)]) == 0
    terminal = capsys.readouterr()
    page = markup(report.read_text())
    # THEN no secret appears, raw, URL-encoded or HTML-escaped
    assert leaked(terminal.out + terminal.err) == []
    assert leaked(page) == []
    # AND what was redacted is still there as a shape (it is redaction, not missing data)
    assert "client-1" in page and "[redacted]" in page and "[token]" in page
    assert "ALTER ROLE app PASSWORD ?" in page


def test_the_unredacted_report_does_show_them(hostile):
    page = markup((hostile["out"] / "report-unredacted.html").read_text())
    assert {"e-mail", "password in ALTER ROLE / IDENTIFIED BY", "JWT in a path"} <= set(leaked(page))


def test_a_default_notebook_export_holds_no_planted_secret(hostile, notebook_runs, tmp_path, capsys):
    # GIVEN 02_slow_queries run the way a user shares it: perf-toolkit notebook, default options
    # (REDACT=True: its tables and findings are redacted as they are shown, and the export's net)
    params = ["--param", f"QUERY_LOG={hostile['root'] / 'postgresql/postgresql.log'}",
              "--param", f"CLEAN_QUERY_LOG={hostile['root'] / 'mariadb/mariadb-slow.log'}"]
    out = tmp_path / "02.html"
    code = main(["notebook", "02_slow_queries", *params, "-o", str(out)])
    terminal = capsys.readouterr()
    assert code == 0, terminal.err
    # THEN no secret is in the export or on the terminal
    assert leaked(markup(out.read_text())) == []
    assert leaked(terminal.out + terminal.err) == []
    # AND the other notebooks' runs (REDACT=False), exported with the default redaction, hold none
    for name, run in notebook_runs.items():
        page = markup(export_html(run["ipynb"], tmp_path / f"{name}.html").read_text())
        assert leaked(page) == [], name
