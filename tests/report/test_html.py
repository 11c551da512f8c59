"""The offline HTML builder: everything escaped, plotly.js once, no network allowed."""

from __future__ import annotations

import json
import re

import pandas as pd
import plotly.graph_objects as go

from toolkit.report.html import CSP, Document, figure_dict, format_cell, script_json

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
    # GIVEN a figure whose category labels carry a closing </script> and a comment opener
    doc = Document("t")
    doc.figure(_figure(PAYLOAD))
    page = doc.to_html()
    # THEN the only </script> closings are the two the builder wrote (plotly.js and the figure)
    assert page.count("</script>") == 2
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    payload = scripts[1]
    assert "<" not in payload and "<!--" not in payload
    # AND the figure JSON decodes back to entity-escaped labels (plotly draws &lt; as <)
    data = json.loads(re.search(r"var f = (\{.*\});", payload).group(1))
    assert data["data"][0]["x"][0] == ("&lt;/script>&lt;script>window.__pwned=1&lt;/script>"
                                       "&lt;!--&lt;img src=x onerror=alert(1)>")
    assert data["layout"]["title"]["text"] == "t"


def test_plotly_js_is_embedded_once_and_only_with_figures():
    from toolkit.report.html import plotly_js

    marker = plotly_js()[:200]
    empty = Document("no figures")
    empty.text("hello")
    assert marker not in empty.to_html()
    two = Document("two figures")
    two.figure(_figure())
    two.figure(_figure())
    page = two.to_html()
    assert page.count(marker) == 1
    assert page.count("Plotly.newPlot(") == 2
    assert 'id="figure-1"' in page and 'id="figure-2"' in page


def test_page_forbids_network_and_loads_nothing_external():
    doc = Document("t")
    doc.figure(_figure())
    page = doc.to_html()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP
    head_and_markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", head_and_markup)
    assert "<link" not in head_and_markup


def test_table_top_rows_with_caption_and_contents():
    doc = Document("t")
    doc.heading("Queries")
    doc.heading("Queries")  # anchors stay unique
    doc.table(pd.DataFrame({"n": range(50)}), max_rows=10, caption="by total")
    page = doc.to_html()
    assert "first 10 of 50 rows" in page and "by total" in page
    assert page.count("<tr>") == 11  # header + 10 rows
    assert 'href="#queries"' in page and 'href="#queries-2"' in page


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
