"""A notebook's outputs made safe to share: sanitized HTML and Markdown, no script or widget
output, redaction of every kind of output text, an export whose CSP runs only our scripts."""

from __future__ import annotations

import nbformat
import pytest
from helpers.pages import csp_of, executable_scripts, markup

from toolkit.report.html import PAGE_SCRIPT
from toolkit.report.notebooks import export_html
from toolkit.report.outputs import PLOTLY_MIME, clean_notebook, sanitize_html
from toolkit.report.redact import Redactor

HOSTILE_HTML = ("<div><style>.x { color: red; }</style><table class=\"dataframe\"><tr style=\"text-align: right;\">"
                "<th colspan=\"2\">h</th></tr><tr><td onclick=\"go()\">SELECT 1</td></tr></table></div>"
                "<img src=x onerror=\"go()\"><script>go()</script><!-- c --><a href=\"http://evil\">out</a>"
                "<a href=\"#here\">in</a><meta http-equiv=\"refresh\" content=\"0,url=http://evil\">"
                "<iframe src=\"http://evil\"></iframe><form action=\"http://evil\"><input></form>"
                "<p id=\"figure-1\">clobber</p>")


def test_html_keeps_tables_and_formatting_and_shows_the_rest_as_text():
    out = sanitize_html(HOSTILE_HTML)
    # tables, classes, spans, layout CSS and an in-page link stay markup
    assert ('<table class="dataframe"><tbody><tr style="text-align: right;"><th colspan="2">h</th></tr>'
            "<tr><td>SELECT 1</td></tr></tbody></table>") in out
    assert "<style>.x { color: red; }</style>" in out and '<a href="#here">in</a>' in out
    # everything that runs, loads, posts or navigates is text; handlers, ids and comments go
    for tag in ("<img", "<script", "<meta", "<iframe", "<form", "<input", 'href="http'):
        assert tag not in out, tag
    assert "&lt;img src=x onerror=\"go()\"&gt;&lt;script&gt;go()&lt;/script&gt;" in out
    assert "onclick" not in out and "<!--" not in out and 'id="figure-1"' not in out
    assert "<a>out</a>" in out


def _notebook(outputs: list, *, markdown_cell: str = "## ours <b>trusted</b>") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 'postgresql://u:Tr0ub4dor@db/app'\nlog = '/data/app.log'",
                                       metadata={"tags": ["injected-parameters"]})
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = outputs
    nb.cells = [params, code, nbformat.v4.new_markdown_cell(markdown_cell)]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def _display(data: dict) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data,
                                  metadata={"filenames": {"image/png": "http://evil/x.png"}})


def test_cleaning_renders_markdown_drops_scripts_and_redacts_every_output_kind():
    # GIVEN outputs of every kind carrying markup and literal values
    outputs = [
        _display({"text/markdown": "**bold** <img src=x onerror=go()> [l](http://evil) from 10.0.0.1",
                  "text/plain": "md"}),
        _display({"application/javascript": "go()", "application/vnd.jupyter.widget-view+json": {"model_id": "1"},
                  "text/vnd.mermaid": "graph TD; A-->B", "text/plain": "widget"}),
        _display({"text/html": "<p>SELECT * FROM t WHERE email = 'bob@example.com' AND id = 42</p>"}),
        _display({PLOTLY_MIME: {"data": [{"type": "bar", "x": ["/r?token=abc", "b"], "y": [1, 2]}],
                                "layout": {"title": {"text": "from 10.0.0.1"}}, "config": {}}}),
        nbformat.v4.new_output("execute_result", data={"text/plain": "{'client': '10.0.0.2', 'n': 3}"},
                               execution_count=1),
        nbformat.v4.new_output("stream", name="stdout", text="Authorization: Bearer abcdefgh12345\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad value 'x' for email a@b.example",
                               traceback=["ValueError: password=hunter2"]),
    ]
    nb = _notebook(outputs)
    # WHEN cleaned with a redactor
    clean_notebook(nb, Redactor())
    params, code, md = nb.cells
    md_out, widget, html_out, fig, result, stream, error = code.outputs
    # THEN Markdown became sanitized HTML (its own markup kept, the data's shown as text)
    assert md_out.data == {"text/html": "<p><strong>bold</strong> &lt;img src=x onerror=go()&gt; "
                                        "<a>l</a> from client-1</p>\n", "text/plain": "md"}
    assert "filenames" not in md_out.metadata
    # JavaScript, widget and Mermaid outputs are gone, their plain-text fallback stays
    assert widget.data == {"text/plain": "widget"}
    # a statement cell gets the SQL rules; figures, plain text, streams and errors the text rules
    assert html_out.data["text/html"] == "<p>SELECT * FROM t WHERE email = ? AND id = ?</p>"
    assert fig.data[PLOTLY_MIME]["data"][0]["x"] == ["/r?token=?", "b"]
    assert fig.data[PLOTLY_MIME]["layout"]["title"]["text"] == "from client-1"
    assert result.data["text/plain"] == "{'client': 'client-2', 'n': 3}"
    assert stream.text == "Authorization: [redacted]\n"
    assert error.evalue == "bad value 'x' for email [email]" and error.traceback == ["ValueError: password=[redacted]"]
    # the injected parameters lose credentials but keep their paths; our Markdown is as written
    assert params.source == "x = 'postgresql://db/app'\nlog = '/data/app.log'"
    assert md.source == "## ours <b>trusted</b>"
    assert "widgets" not in nb.metadata


def test_cleaning_without_a_redactor_sanitizes_but_keeps_values():
    nb = _notebook([_display({"text/html": "<p>bob@example.com</p><script>go()</script>"}),
                    nbformat.v4.new_output("stream", name="stdout", text="password=hunter2\n")])
    clean_notebook(nb)
    html_out, stream = nb.cells[1].outputs
    assert html_out.data["text/html"] == "<p>bob@example.com</p>&lt;script&gt;go()&lt;/script&gt;"
    assert stream.text == "password=hunter2\n"


@pytest.mark.parametrize("redact", [True, False])
def test_an_export_runs_only_plotly_and_the_page_script(tmp_path, redact):
    # GIVEN an executed notebook whose outputs hold a script, a widget and a figure
    fig = {"data": [{"type": "bar", "x": ["</script><script>go()</script>"], "y": [1]}], "layout": {}}
    nb = _notebook([_display({"application/javascript": "go()", "text/html": "<script>go()</script>"}),
                    _display({PLOTLY_MIME: fig, "text/plain": "Figure"})])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    # WHEN exported
    page = export_html(path, tmp_path / "nb.html", redact=redact).read_text()
    # THEN the only scripts are ours, each allowed by its hash; the output's script is text
    assert executable_scripts(page) == [PAGE_SCRIPT]
    assert "'unsafe-inline'" not in csp_of(page).split("style-src")[0]
    assert "&lt;script&gt;go()&lt;/script&gt;" in markup(page)
    assert "<title>nb</title>" in page


def test_an_export_without_figures_runs_no_script(tmp_path):
    path = tmp_path / "plain.ipynb"
    nbformat.write(_notebook([_display({"text/html": "<b>x</b>"})]), path)
    page = export_html(path, tmp_path / "plain.html").read_text()
    assert executable_scripts(page) == []
    assert "script-src 'none'" in csp_of(page)
