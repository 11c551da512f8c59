"""tk.findings: one ranked table across all evidence, the same whichever way it is asked; the
checklist; the rules listed in README.md."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit import rules as R
from toolkit.findings import checklist, rules_table
from toolkit.ranking import to_frame
from toolkit.report.analyze import analyze

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_traces"


@pytest.fixture
def rule():
    made = []

    def make(id="test.rule", practice="caching", severity="medium"):
        made.append(id)
        return R.rule(id, practice, "demo", severity=severity, fix="do it")

    yield make
    for id in made:
        R.RULES.pop(id, None)


def test_tk_findings_is_the_function_and_toolkit_findings_the_module():
    # in a fresh interpreter, whatever is imported first
    code = ("import toolkit.findings, toolkit as tk, sys, types; "
            "from toolkit.findings import checklist; "
            "assert callable(tk.findings) and not isinstance(tk.findings, types.ModuleType); "
            "assert isinstance(sys.modules['toolkit.findings'], types.ModuleType); "
            "assert type(sys.modules['toolkit.findings']) is types.ModuleType; "
            "assert 'pandas' not in sys.modules, 'import toolkit must stay light'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr
    assert importlib.import_module("toolkit.findings").findings is tk.findings


def test_findings_dispatches_each_kind_of_evidence_to_its_rules():
    # GIVEN one piece of each kind of evidence that has a planted problem
    prof = tk.read_profile(SAMPLES / "profiles/py-spy/demo_slow.speedscope.json")
    requests = tk.read_access_log(SAMPLES / "http/nginx/access.jsonl.gz")
    n = np.array([100, 300, 1000, 3000, 10000])
    fit = tk.fit_complexity(n, 1e-6 + 1e-9 * n**2)
    # WHEN findings are asked of all of it at once
    table = tk.findings(prof, requests, fit)
    # THEN every domain's rules ran, and the table is the canonical one, ranked by saving
    tk.schema.validate(table, "findings")
    prefixes = {r.split(".")[0] for r in table["rule"]}
    assert prefixes == {"profiles", "http", "complexity"}
    rates = table["saving_s_per_hour"]
    assert rates.dropna().is_monotonic_decreasing and rates.isna().sum() == 1  # the fit has no hourly figure
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table.iloc[-1]["rule"] == "complexity.superlinear"


def test_findings_are_ranked_by_saving_with_severity_breaking_ties(rule):
    low, high = rule("test.low", severity="low"), rule("test.high", severity="high")
    rows = [R.finding(low, "small", "e", key="a", saving_s=1.0, span_s=3600),
            R.finding(low, "big", "e", key="b", saving_s=60.0, span_s=3600),
            R.finding(high, "tie high", "e", key="c", saving_s=1.0, span_s=3600),
            R.finding(high, "unknown", "e", key="d"),
            R.finding(low, "round trips", "e", key="e", round_trips=7200, span_s=3600)]
    table = to_frame(rows)
    # 60 s; 3.6 s of round trips (7,200 x 0.5 ms); 1 s high before 1 s low; no estimate last
    assert table["title"].tolist() == ["big", "round trips", "tie high", "small", "unknown"]
    assert table["saving_s_per_hour"].tolist()[:4] == [60.0, 3.6, 1.0, 1.0]
    assert table.top(2)["title"].tolist() == ["big", "round trips"]


def test_each_rule_is_capped_with_an_and_n_more_row(rule):
    flood, other = rule("test.flood"), rule("test.other")
    rows = [R.finding(flood, f"f{i}", "e", key=f"k{i}", saving_s=float(i), span_s=3600) for i in range(12)]
    rows.append(R.finding(other, "o", "e", key="o", saving_s=0.5, span_s=3600))
    table = to_frame(rows, per_rule=5)
    # THEN 5 of the flood (the biggest savings), the other rule's one, then one row for the 7 others
    assert table["title"].tolist() == ["f11", "f10", "f9", "f8", "f7", "o", "… and 7 more test.flood findings"]
    more = table.iloc[-1]
    assert (more["more"], more["saving_s_per_hour"]) == (7, float(sum(range(7))))
    assert pd.isna(more["rank"]) and len(table.top(50)) == 6
    assert "f6; f5; f4" in more["evidence"]
    # capping again, with another capped table of the same rule (other keys), adds the folded counts up
    others = [R.finding(flood, f"g{i}", "e", key=f"g{i}", saving_s=i / 100, span_s=3600) for i in range(8)]
    again = to_frame(list(table.to_dict("records")) + list(to_frame(others, per_rule=5).to_dict("records")),
                     per_rule=5)
    assert again.iloc[-1]["more"] == 5 + 7 + 3 and len(again) == 7


def test_counts_count_an_and_n_more_row_as_its_n_by_severity(rule):
    flood, low = rule("test.flood", severity="high"), rule("test.low", severity="low")
    rows = [R.finding(flood, f"f{i}", "e", key=f"k{i}", saving_s=float(i), span_s=3600) for i in range(12)]
    rows.append(R.finding(low, "l", "e", key="l"))
    table = to_frame(rows, per_rule=5)
    # 7 rows (5 shown, the low one, one "and 7 more"), 13 findings
    assert len(table) == 7
    assert table.counts() == {"findings": 13, "high": 12, "medium": 0, "low": 1}
    assert to_frame([]).counts() == {"findings": 0, "high": 0, "medium": 0, "low": 0}


def test_the_markdown_view_travels_with_tk_findings_and_shows_no_machine_path(rule):
    r = rule("test.where")
    table = to_frame([R.finding(r, "t", "seen", file="/home/someone/checkout/app/orders.py", line=12)])
    shown = tk.findings.markdown(table)._repr_markdown_()
    assert "line 12 of app/orders.py" in shown and "/home/someone" not in shown
    assert "(app/orders.py:12)" in repr(tk.findings.markdown(table))


def test_the_same_finding_in_two_files_is_one_row_naming_both(rule):
    r = rule("test.dup")
    a = to_frame([R.finding(r, "same", "x", key="q", file="a.log", line=1, saving_s=2.0, span_s=60)])
    b = to_frame([R.finding(r, "same again", "x", key="q", file="b.log", line=9, saving_s=1.0, span_s=60),
                  R.finding(r, "other", "y", key="z", file="b.log", line=3, saving_s=0.5, span_s=60)])
    table = tk.findings(a, b)
    assert table["title"].tolist() == ["same", "other"]
    assert table["also_in"].tolist() == ["b.log", ""]
    assert len(tk.findings(a, b, dedupe=False)) == 3


def test_one_program_profiled_by_several_profilers_is_one_hot_function():
    slow = sorted((SAMPLES / "profiles").glob("*/demo_slow.*"))
    profiles = [tk.read_profile(p) for p in slow]
    table = tk.findings(*profiles)
    assert table["function"].tolist() == ["dedupe"]
    assert len(table.loc[0, "also_in"].split(", ")) == len(slow) - 1


def test_unknown_evidence_is_a_clear_type_error():
    with pytest.raises(TypeError, match="tk.findings cannot use a dict"):
        tk.findings({"not": "evidence"})


def test_checklist_marks_practices_with_findings_clean_or_uncheckable(rule):
    r = rule("test.pool", "connection pooling", severity="high")
    table = to_frame([R.finding(r, "churn", "57 connections", file="x.log")])
    check = checklist(table).set_index("practice")
    assert check.loc["connection pooling", "status"] == "findings"
    assert check.loc["connection pooling", "findings"] == 1
    assert check.loc["connection pooling", "worst"] == "high"
    assert check.loc["compression", "status"] == "clean"  # http.uncompressed exists, found nothing
    assert list(check.index) == sorted(R.PRACTICES, key=lambda p: R.AREAS.index(R.PRACTICES[p]))


def test_every_rule_names_a_checklist_practice_and_readme_lists_it_with_its_thresholds():
    rules = rules_table()
    assert len(rules) >= 26
    assert set(rules["practice"]) <= set(R.PRACTICES)
    readme = (ROOT / "README.md").read_text()
    for row in rules.itertuples():
        assert f"`{row.rule}`" in readme, f"README.md does not list {row.rule}"
        if row.thresholds:
            assert row.thresholds in readme, f"README.md lacks {row.rule}'s thresholds {row.thresholds}"


def test_findings_of_an_empty_table_is_empty_with_the_right_columns():
    table = tk.findings(pd.DataFrame(columns=["rule", "severity", "evidence"]))
    assert list(table.columns)[:9] == tk.schema.columns("findings")
    assert table.empty


def test_findings_markdown_escapes_the_data_and_keeps_the_detectors_code_spans():
    # GIVEN a finding whose title, evidence and file name carry markup from the inputs
    from nbconvert.filters.markdown import markdown2html

    from toolkit.findings import markdown

    r = R.Rule("markdown_test.rule", "caching", "d", severity="low", fix="cache `it`")  # not registered
    found = to_frame([R.finding(r, "N+1 in <img src=x onerror=go()>", "seen [here](http://evil) by "
                                "`SELECT '<script>'` *twice*", file="logs/<b>_x.log", line=3)])
    view = markdown(found, "markdown_test.rule")
    # WHEN rendered by a real Markdown renderer
    html = markdown2html(view._repr_markdown_())
    # THEN only our own markup is there: bold title, italic checklist, code spans of quoted SQL
    assert re.findall(r"<(\w+)", html) == ["p", "strong", "em", "p", "code", "p", "strong", "code"]
    assert "&lt;img src=x onerror=go()&gt;" in html and "[here](http://evil)" in html
    assert "<code>SELECT '&lt;script&gt;'</code>" in html and "*twice*" in html
    assert "line 3 of logs/&lt;b&gt;_x.log" in html
    # AND the plain text says the same without markup
    assert repr(view).startswith("[low] N+1 in <img src=x onerror=go()> (logs/<b>_x.log:3)")
    assert markdown(found, "no.such.rule")._repr_markdown_() == "*No finding.*"


# --------------------------------------------------------------------------- one engine

FOLDERS = ["profiles", "queries/postgresql/app", "queries/postgresql/app-json", "queries/postgresql/report",
           "queries/postgresql/pgbench", "queries/mariadb", "http/nginx", "http/apache"]


def _detectors(kind: str):
    from toolkit.http import detectors as http
    from toolkit.profiles import detectors as profiles
    from toolkit.queries import detectors as queries

    return {"profiles": profiles, "queries": queries, "requests": http}[kind].findings


def _inputs(a):
    """(kind, path, arguments) of every analysed input of an Analysis."""
    out = [("profiles", p, (prof,)) for p, prof in a.profiles.items()]
    out += [("queries", p, (ev, a.server_events.get(p))) for p, ev in a.queries.items()]
    out += [("requests", p, (req,)) for p, req in a.requests.items()]
    return out


def _rows(table):
    return list(zip(table["rule"], table["key"], table["title"], table["more"], strict=True))


@pytest.mark.parametrize("folder", FOLDERS)
def test_analyze_tk_findings_and_each_domains_detectors_agree(folder):
    # GIVEN a sample folder as perf-toolkit analyze reads it
    a = analyze([SAMPLES / folder])
    inputs = _inputs(a)
    assert inputs
    # WHEN the same evidence goes through tk.findings, and through each domain's detectors
    # (every row, then one table of them)
    direct = tk.findings(*[x for _k, _p, args in inputs for x in args if x is not None])
    per_domain = tk.findings(*[_detectors(k)(*args, per_rule=None) for k, _p, args in inputs])
    # THEN the three tables have the same findings in the same order
    assert _rows(a.findings) == _rows(direct) == _rows(per_domain)
    # and for one input, a domain's detectors give what tk.findings gives
    for kind, _path, args in inputs:
        assert _rows(_detectors(kind)(*args)) == _rows(tk.findings(*[x for x in args if x is not None]))


def test_the_findings_figure_counts_the_folded_rows(rule):
    flood = rule("test.flood", "caching", severity="low")
    rows = [R.finding(flood, f"f{i}", "e", key=f"k{i}", saving_s=float(i), span_s=60) for i in range(9)]
    fig = tk.plots.findings_by_area(to_frame(rows, per_rule=5))
    low = next(bar for bar in fig.data if bar.name == "low")
    assert list(low.x) == [9] and fig.layout.title.text == "9 findings by checklist area"
