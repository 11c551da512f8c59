"""render(analysis): findings first, a section per evidence kind, every input's fate,
literals redacted by default, one failed piece shown as a note without losing the rest."""

from __future__ import annotations

import re

from helpers.pages import figures, markup

from toolkit.profiles import Frame, ProfileBuilder
from toolkit.report import render, write_report
from toolkit.report.analysis import Analysis, InputResult

SECRET_EMAIL = "alice@example.com"
CLIENT_IP = "203.0.113.77"


def _h2(page: str) -> list[str]:
    return re.findall(r"<h2 id=\"[^\"]+\">([^<]+)</h2>", page)


def test_findings_come_first_then_one_section_per_evidence_kind(analysis, tmp_path):
    out = render(analysis, tmp_path / "report.html")
    page = out.read_text()
    assert _h2(page) == ["Summary", "Findings", "Profiles", "Queries", "HTTP", "Inputs"]
    # the high finding precedes the low one and is coloured as high
    assert page.index("report_test.planted") < page.index("report_test.low")
    assert '<tr class="sev-high"><td class="num">1</td><td><span class="sev sev-high">high</span>' in page
    assert "queries.log:1" in page  # file:line of the evidence
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
    assert "broken.log:3: expected a log line prefix" in section
    assert "unknown format &lt;script&gt;" in section
    assert "5 (3 read, 1 skipped, 1 failed)" in page
    # per-input accounting: the skip reasons and the first skipped line
    assert "queries.log: 2 of 70 lines skipped" in section
    assert "not a log line" in section


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
    assert "first 15 of 3,001 rows" in page
    flame = figures(page)[0]
    assert len(flame["data"][0]["ids"]) <= 401
    assert len(markup(page)) < 1_000_000
