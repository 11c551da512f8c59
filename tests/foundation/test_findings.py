"""tk.findings: one table across all evidence; the checklist; the rules listed in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit import findings as F

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_traces"


def test_findings_dispatches_each_kind_of_evidence_to_its_rules():
    # GIVEN one piece of each kind of evidence that has a planted problem
    prof = tk.read_profile(SAMPLES / "profiles/py-spy/demo_slow.speedscope.json")
    requests = tk.read_access_log(SAMPLES / "http/nginx/access.jsonl.gz")
    n = np.array([100, 300, 1000, 3000, 10000])
    fit = tk.fit_complexity(n, 1e-6 + 1e-9 * n**2)
    # WHEN findings are asked of all of it at once
    table = tk.findings(prof, requests, fit)
    # THEN every domain's rules ran, and the table is the canonical one, most severe first
    tk.schema.validate(table, "findings")
    prefixes = {r.split(".")[0] for r in table["rule"]}
    assert prefixes == {"profiles", "http", "complexity"}
    order = table["severity"].map({"high": 0, "medium": 1, "low": 2})
    assert order.is_monotonic_increasing


def test_the_same_finding_in_two_files_is_one_row_naming_both():
    r = F.rule("test.dup", "caching", "demo")
    a = F.to_frame([F.finding(r, "same", "x", file="a.log", line=1)])
    b = F.to_frame([F.finding(r, "same", "x", file="b.log", line=9),
                    F.finding(r, "other", "y", file="b.log", line=3)])
    try:
        table = tk.findings(a, b)
        assert table["title"].tolist() == ["same", "other"]
        assert table["also_in"].tolist() == ["b.log", ""]
        assert len(tk.findings(a, b, dedupe=False)) == 3
    finally:
        F.RULES.pop("test.dup")


def test_unknown_evidence_is_a_clear_type_error():
    with pytest.raises(TypeError, match="tk.findings cannot use a dict"):
        tk.findings({"not": "evidence"})


def test_checklist_marks_practices_with_findings_clean_or_uncheckable():
    r = F.rule("test.pool", "connection pooling", "demo", severity="high")
    try:
        table = F.to_frame([F.finding(r, "churn", "57 connections", file="x.log")])
        check = F.checklist(table).set_index("practice")
        assert check.loc["connection pooling", "status"] == "findings"
        assert check.loc["connection pooling", "findings"] == 1
        assert check.loc["connection pooling", "worst"] == "high"
        assert check.loc["compression", "status"] == "clean"  # http.uncompressed exists, found nothing
        assert list(check.index) == sorted(F.PRACTICES, key=lambda p: F.AREAS.index(F.PRACTICES[p]))
    finally:
        F.RULES.pop("test.pool")


def test_every_rule_names_a_checklist_practice_and_readme_lists_it_with_its_thresholds():
    rules = F.rules_table()
    assert len(rules) >= 20
    assert set(rules["practice"]) <= set(F.PRACTICES)
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

    r = F.Rule("markdown_test.rule", "caching", "d", severity="low", fix="cache `it`")  # not registered
    found = F.to_frame([F.finding(r, "N+1 in <img src=x onerror=go()>", "seen [here](http://evil) by "
                                  "`SELECT '<script>'` *twice*", file="logs/<b>_x.log", line=3)])
    view = F.markdown(found, "markdown_test.rule")
    # WHEN rendered by a real Markdown renderer
    html = markdown2html(view._repr_markdown_())
    # THEN only our own markup is there: bold title, italic checklist, code spans of quoted SQL
    assert re.findall(r"<(\w+)", html) == ["p", "strong", "em", "p", "code", "p", "strong", "code"]
    assert "&lt;img src=x onerror=go()&gt;" in html and "[here](http://evil)" in html
    assert "<code>SELECT '&lt;script&gt;'</code>" in html and "*twice*" in html
    assert "line 3 of logs/&lt;b&gt;_x.log" in html
    # AND the plain text says the same without markup
    assert repr(view).startswith("[low] N+1 in <img src=x onerror=go()> (logs/<b>_x.log:3)")
    assert F.markdown(found, "no.such.rule")._repr_markdown_() == "*No finding.*"
