"""render(analysis): a first screen (what was read, what failed and why, the findings to fix
first), then collapsed sections listed in the contents (findings, one per evidence kind, every
input's fate); literals redacted by default; one failed piece shown as a note without losing
the rest; cut to a bounded size whatever the number of inputs."""

from __future__ import annotations

import doctest
import re
import sys

import pandas as pd
from helpers.pages import figures, markup

from toolkit import schema
from toolkit.profiles import Frame, ProfileBuilder
from toolkit.report import render, write_report
from toolkit.report.analysis import Analysis, InputResult
from toolkit.report.render import MAX_INPUT_ROWS, MAX_SECTIONS, has_data

SECRET_EMAIL = "alice@example.com"
CLIENT_IP = "203.0.113.77"


def _h2(page: str) -> list[str]:
    return re.findall(r"<h2 id=\"[^\"]+\">([^<]+)</h2>", page)


def test_the_first_screen_says_what_was_read_and_what_to_fix_first(analysis, tmp_path):
    out = render(analysis, tmp_path / "report.html")
    page = out.read_text()
    # THEN the first screen, then one collapsed section per kind of evidence, then the inputs
    assert _h2(page) == ["What was read", "Fix these first", "Findings", "Profiles", "Queries", "HTTP", "Inputs"]
    first = page[:page.index('<nav class="toc">')]
    assert "3 of 5 inputs read: 1 profile, 1 query log, 1 access log; 1 skipped, 1 failed." in first
    # the failed input with its reason, its path not repeated in front of the line number
    assert "<li>broken.log: line 3: expected a log line prefix</li>" in first
    assert "1 skipped: unknown format &lt;script&gt;" in first
    # the findings to fix first: the high one first, with its evidence and fix, linking to the
    # section of the input it came from
    assert first.index("N+1 in") < first.index("a low one")
    card = first[first.index('<li class="sev-high">'):]
    assert "Evidence:" in card and "batch the queries" in card and "queries.log:1" in card
    assert '<a href="#input-queries-log">its section</a>' in card
    assert 'id="input-queries-log"' in page
    # AND every section below is collapsed; the findings table ranks them, high first
    assert page.count('<details class="section">') == 5 and "<details class=\"section\" open" not in page
    assert '<tr class="sev-high"><td class="num">1</td><td><span class="sev sev-high">high</span>' in page
    assert write_report is render


def test_literals_are_redacted_by_default_and_kept_on_request(analysis, tmp_path):
    redacted = markup(render(analysis, tmp_path / "r.html").read_text())
    for secret in (SECRET_EMAIL, CLIENT_IP, "secret-token", "token=abc", "id = 1003"):
        assert secret not in redacted, secret
    assert "client-1" in redacted
    assert "literal values redacted" in redacted
    kept = markup(render(analysis, tmp_path / "k.html", redact=False).read_text())
    assert SECRET_EMAIL in kept and CLIENT_IP in kept
    assert "NOT redacted" in kept


def test_every_skipped_or_failed_input_is_listed_with_its_reason(analysis, tmp_path):
    page = render(analysis, tmp_path / "r.html").read_text()
    section = page[page.index('id="inputs"'):]
    assert "line 3: expected a log line prefix" in section
    assert "unknown format &lt;script&gt;" in section
    assert "5 (3 read, 1 skipped, 1 failed)" in page
    # per-input accounting: the skip reasons and the first skipped line
    assert "<td>queries.log</td><td class=\"num\">2</td><td class=\"num\">70</td><td>not a log line</td>" in section
    assert "queries.log: 2 of 70 lines skipped" in section


class _BrokenProfile:
    format = "broken"
    duration_s = 1.0

    def functions(self):
        raise RuntimeError("functions exploded")

    def hot_paths(self, n=10):
        raise RuntimeError("hot paths exploded")

    def tree(self):
        raise RuntimeError("tree exploded")


def test_a_failing_piece_becomes_a_note_and_the_rest_is_written(analysis, tmp_path):
    analysis.profiles = {"broken.prof": _BrokenProfile(), **analysis.profiles}
    page = render(analysis, tmp_path / "r.html").read_text()
    assert "top functions could not be shown: RuntimeError: functions exploded" in page
    assert "hot paths could not be shown: RuntimeError: hot paths exploded" in page
    # the next profile and later sections still render
    assert "planted.txt" in page and _h2(page)[-1] == "Inputs"


def test_an_empty_analysis_still_gives_a_report(tmp_path):
    page = render(Analysis(), tmp_path / "empty.html").read_text()
    assert "No inputs." in page
    assert "The checklist rules were not run" in page
    assert "Plotly.newPlot" not in page  # no figure, so no plotly.js either
    assert "script-src 'none'" in page


def test_big_profiles_are_cut_to_top_rows_and_a_pruned_flame(tmp_path):
    # GIVEN a profile with 3,000 distinct call paths and 3,000 functions
    b = ProfileBuilder()
    for i in range(3000):
        b.add([Frame("main", "app.py", 1), Frame(f"f{i}", "mod.py", i + 1)], 0.001 * (1 + i % 5),
              samples=1 + i % 5)
    a = Analysis(profiles={"big.txt": b.build(format="pyspy-raw", rate_hz=1000.0)},
                 inputs=[InputResult("big.txt", "read", "pyspy-raw", "profile")])
    page = render(a, tmp_path / "big.html").read_text()
    assert "first 10 of 3,001 rows; and 2,991 more functions" in page
    flame = figures(page)[0]
    assert len(flame["data"][0]["ids"]) <= 251
    assert len(markup(page)) < 300_000


def _tiny_profile(i: int):
    b = ProfileBuilder()
    b.add([Frame("main", f"app{i}.py", 1), Frame(f"work{i}", f"app{i}.py", 9)], 0.5, samples=50)
    return b.build(format="pyspy-raw", rate_hz=100.0, path=f"p{i}.txt")


def _tiny_requests(n: int = 40, timed: bool = True) -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01T10:00:00Z")
    return schema.coerce(pd.DataFrame({
        "timestamp": [t0 + pd.Timedelta(seconds=i) for i in range(n)], "client": "192.0.2.1", "method": "GET",
        "url": "/a", "path": "/a", "query": None, "protocol": "HTTP/1.1", "status": 200, "body_bytes_sent": 10,
        "request_time_s": [0.01] * n if timed else None, "referer": "-", "user_agent": "ua",
        "source_line": range(1, n + 1)}), "http_requests")


def _many(n: int) -> Analysis:
    a = Analysis()
    for i in range(n):
        a.profiles[f"profiles/p{i}.txt"] = _tiny_profile(i)
        a.requests[f"http/access{i}.log"] = _tiny_requests()
        a.inputs += [InputResult(f"profiles/p{i}.txt", "read", "pyspy-raw", "profile", records=2, lines_read=2),
                     InputResult(f"http/access{i}.log", "read", "combined", "access_log", records=40, lines_read=40),
                     InputResult(f"notes/n{i}.md", "skipped", reason="source code or documentation, not evidence")]
    return a


def test_a_folder_of_hundreds_of_inputs_gives_a_report_of_bounded_size(tmp_path):
    # GIVEN 600 inputs read (300 profiles, 300 access logs) and 300 skipped, and 30 of each
    big = markup(render(_many(300), tmp_path / "big.html").read_text())
    small = markup(render(_many(30), tmp_path / "small.html").read_text())
    # THEN only the first few inputs of each kind have a section of their own, with figures
    assert big.count("<h3 ") == small.count("<h3 ") == 2 * MAX_SECTIONS + 2  # and one "N more" each
    assert len(figures(big)) == len(figures(small)) == 2 * MAX_SECTIONS
    assert "294 more profiles" in big and "294 more access logs" in big
    # AND long tables say what they cut
    assert f"first {MAX_INPUT_ROWS} of 294 rows; and 194 more profiles" in big
    assert f"first {MAX_INPUT_ROWS} of 900 rows; and 800 more inputs" in big
    # AND ten times the inputs is far from ten times the report (the first screen groups the
    # 300 skipped files in one line)
    assert "300 skipped: source code or documentation, not evidence (n0.md, n1.md, n2.md, … (297 more))" in big
    assert len(big) < 2 * len(small) and len(big) < 600_000


def test_a_figure_with_nothing_to_draw_is_left_out_with_a_sentence(tmp_path):
    # GIVEN an access log that logs no request time (Apache's common format)
    a = Analysis(requests={"common.log": _tiny_requests(timed=False)},
                 inputs=[InputResult("common.log", "read", "common", "access_log", records=40, lines_read=40)])
    page = render(a, tmp_path / "r.html").read_text()
    # THEN no empty latency figure, and the section says why
    assert figures(page) == []
    assert "This log has no request times ($request_time / %D): no latency figure." in page
    assert "request time</dt><dd>not logged" in page
    assert not has_data({"data": [{"type": "scatter", "x": [], "y": []}]})
    assert has_data({"data": [{"type": "bar", "x": {"dtype": "f8", "bdata": "AAAAAAAA8D8="}}]})


def test_the_modules_examples_hold():
    for module in ("toolkit.report.render", "toolkit.report.analysis"):
        assert doctest.testmod(sys.modules[module]).failed == 0, module
