"""The offline HTML builder: everything escaped, plotly.js once, no network allowed."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pandas as pd
import plotly.graph_objects as go
from helpers.pages import (
    FIGURE_BLOCK,
    csp_of,
    executable_scripts,
    figure_targets,
    figures,
    markup,
    sha256_source,
)

from toolkit.report.html import (
    CSP,
    PAGE_SCRIPT,
    Card,
    Document,
    figure_dict,
    format_cell,
    plotly_js,
    plotly_js_packed,
    script_json,
)

PAYLOAD = "</script><script>window.__pwned=1</script><!--<img src=x onerror=alert(1)>"


def _figure(label: str = "a") -> go.Figure:
    return go.Figure(go.Bar(x=[label, "b"], y=[1, 2], text=[label, "b"]),
                     layout={"title": {"text": "t"}})


def test_table_cells_headings_and_notes_are_escaped():
    # GIVEN input text containing markup in a cell, a column name, a heading and a note
    doc = Document(f"title {PAYLOAD}")
    doc.heading(f"h {PAYLOAD}")
    doc.table(pd.DataFrame({f"col{PAYLOAD}": [PAYLOAD, 1.5]}))
    doc.note(PAYLOAD)
    # WHEN the page is built
    page = doc.to_html()
    # THEN no tag from the input survives: no figure, so the only <script> would be planted
    assert "<script" not in page
    assert "<img" not in page
    # <title>, <h1>, <h2>, its contents entry, column name, cell, note
    assert page.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") == 7
    assert "<!--" not in page


def test_figure_json_cannot_close_its_script_and_labels_show_as_text():
    # GIVEN a figure whose category labels and title carry a closing </script> and a comment opener
    doc = Document("t")
    fig = _figure(PAYLOAD)
    fig.update_layout(title={"text": f"t {PAYLOAD}"})
    doc.figure(fig)
    page = doc.to_html()
    # THEN the only </script> closings are the three the builder wrote (packed plotly.js, the
    # page script and the figure's inert JSON block)
    assert page.count("</script>") == 3
    block = FIGURE_BLOCK.search(page).group(3)
    assert "<" not in block and "<!--" not in block
    # AND the figure JSON decodes back to entity-escaped labels (plotly draws &lt; as <)
    data = figures(page)[0]
    assert data["data"][0]["x"][0] == ("&lt;/script>&lt;script>window.__pwned=1&lt;/script>"
                                       "&lt;!--&lt;img src=x onerror=alert(1)>")
    assert data["layout"]["title"]["text"].startswith("t &lt;/script>&lt;script>")


def test_plotly_js_and_the_page_script_are_embedded_once_and_only_with_figures():
    empty = Document("no figures")
    empty.text("hello")
    assert plotly_js_packed()[:200] not in empty.to_html()
    assert "<script" not in empty.to_html()
    two = Document("two figures")
    two.figure(_figure())
    two.figure(_figure())
    page = two.to_html()
    assert page.count(plotly_js_packed()[:200]) == 1
    assert page.count(PAGE_SCRIPT) == 1
    # plotly.js is there packed (gzip + base64: a third of its size), never as plain script text
    assert plotly_js()[:200] not in page
    assert gzip.decompress(base64.b64decode(plotly_js_packed())).decode() == plotly_js()
    assert len(plotly_js_packed()) < 0.45 * len(plotly_js())
    # each figure is data for the one page script: a div and an inert JSON block naming it
    assert figure_targets(page) == ["figure-1", "figure-2"]
    assert 'id="figure-1"' in page and 'id="figure-2"' in page


def test_csp_runs_only_the_two_hashed_scripts_and_forbids_network_forms_and_base():
    doc = Document("t")
    doc.figure(_figure())
    page = doc.to_html()
    policy = csp_of(page)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    # GIVEN the page's own scripts: exactly the page script, allowed by its hash, and the scripts
    # it creates ('strict-dynamic': the plotly.js it unpacks from the inert data block)
    scripts = executable_scripts(page)
    assert scripts == [PAGE_SCRIPT]
    assert directives["script-src"].split() == [sha256_source(PAGE_SCRIPT), "'strict-dynamic'"]
    # THEN nothing else may run inline, nothing may be fetched, posted or re-based
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["default-src"] == "'none'"
    assert directives["form-action"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["img-src"] == "data:"
    assert policy == CSP.replace("script-src 'none'", "script-src " + directives["script-src"])
    head_and_markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", head_and_markup)
    assert "<link" not in head_and_markup
    # AND no inline event handler anywhere in our markup
    assert not re.search(r"<[^>]+\son\w+\s*=", markup(page), flags=re.I)


def test_table_top_rows_with_caption_and_contents():
    doc = Document("t")
    doc.heading("Queries")
    doc.heading("Queries")  # anchors stay unique
    doc.table(pd.DataFrame({"n": range(50)}), max_rows=10, caption="by total", more="numbers")
    page = doc.to_html()
    assert "first 10 of 50 rows; and 40 more numbers" in page and "by total" in page
    assert page.count("<tr>") == 11  # header + 10 rows
    assert 'href="#queries"' in page and 'href="#queries-2"' in page


def test_sections_are_collapsed_and_the_contents_lists_sections_not_items():
    # GIVEN a first screen, then two sections with headings of their own inside
    doc = Document("t")
    doc.heading("First screen")
    doc.contents()
    with doc.section("Profiles", count="3 profiles"):
        doc.heading("a.txt", 3)
        doc.heading("b.txt", 3)
    with doc.section("Inputs", count="9", open=True):
        doc.text("all of them")
    page = doc.to_html()
    # THEN each section is a <details>, closed unless asked, its heading and count in the summary
    assert '<details class="section"><summary><h2 id="profiles">Profiles</h2><span class="count">3 profiles' in page
    assert '<details class="section" open><summary><h2 id="inputs">Inputs</h2>' in page
    # AND the contents, placed after the first screen, name the sections only, with their counts
    toc = re.search(r'<nav class="toc">.*?</nav>', page).group(0)
    assert re.findall(r'href="#([^"]+)"', toc) == ["profiles", "inputs"]
    assert "3 profiles" in toc
    assert page.index('id="first-screen"') < page.index('<nav class="toc">') < page.index('id="profiles"')


def test_cards_escape_their_text_and_link_inside_the_page():
    doc = Document("t")
    doc.cards([Card(title=f"N+1 {PAYLOAD}", badge="high", tag="saves 5 min", link="input-a",
                    lines=[("Evidence:", PAYLOAD), ("Fix:", "batch"), ("Where:", "")])])
    page = doc.to_html()
    assert "<script" not in page and "<img" not in page
    assert '<li class="sev-high">' in page and '<span class="sev sev-high">high</span>' in page
    assert '<a href="#input-a">details</a>' in page
    assert "Where:" not in page  # an empty line is left out


def test_cells_format_numbers_and_nulls():
    assert format_cell(1234567) == ("1,234,567", True)
    assert format_cell(0.1234) == ("0.123", True)
    assert format_cell(0.00612) == ("0.0061", True)
    assert format_cell(0.00012) == ("1.20e-04", True)
    assert format_cell(float("nan")) == ("", False)
    assert format_cell(None) == ("", False)
    assert format_cell(pd.NA) == ("", False)
    assert format_cell("x" * 500, max_chars=10)[0] == "x" * 9 + "…"


def test_script_json_is_still_json():
    obj = {"a": "</script><!-- & \u2028"}
    assert json.loads(script_json(obj)) == obj



def test_plot_formatting_tags_survive_and_everything_else_is_escaped():
    fig = go.Figure(go.Bar(x=["<module>", "b"], y=[1, 2],
                           hovertext=["<b>f</b><br>1 ms<BR/>x", "<a href='javascript:x()'>y</a><span>z</span>"]))
    d = figure_dict(fig)["data"][0]
    assert d["x"][0] == "&lt;module>"
    assert d["hovertext"] == ["<b>f</b><br>1 ms<BR/>x", "&lt;a href='javascript:x()'>y&lt;/a><span>z</span>"]
