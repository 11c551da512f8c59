"""Curated notebooks on a user's files: papermill runs them with parameters (paths made
absolute), nbconvert exports offline HTML where plotly's JSON outputs are drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from toolkit.cli import main
from toolkit.errors import InputError, ToolkitError
from toolkit.report import notebooks
from toolkit.report.html import CSP

PAYLOAD = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"


def make_notebook(path: Path, *, body: str | None = None) -> Path:
    """A tiny notebook shaped like the curated ones: imports, a `parameters` cell, a cell that
    reads the file parameter and shows a plotly figure through the JSON mimetype only."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import plotly.graph_objects as go\nimport plotly.io as pio\n"
                                  "pio.renderers.default = 'plotly_mimetype'"),
        nbformat.v4.new_code_cell("n = 3\nlabel = 'a'\nlog = 'data/default.log'",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body or (
            "lines = open(log).read().splitlines()\n"
            "print(f'n={n} lines={len(lines)}')\n"
            "go.Figure(go.Bar(x=[label, 'other'], y=[n, len(lines)]),"
            " layout={'title': {'text': 'demo'}}).show()")),
        nbformat.v4.new_markdown_cell("## The end"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """One kernel run for the module: the CLI on a tiny notebook with a relative path."""
    root = tmp_path_factory.mktemp("nb")
    nb = make_notebook(root / "tiny.ipynb")
    user = tmp_path_factory.mktemp("user")
    (user / "mine.log").write_text("a\nb\nc\nd\n")
    out = user / "out.html"
    kept = user / "executed.ipynb"
    import os
    cwd = os.getcwd()
    os.chdir(user)  # the user's working folder: "mine.log" is relative to it
    try:
        code = main(["notebook", str(nb), "--param", "n=7", "--param", f"label={PAYLOAD}",
                     "--param", "log=mine.log", "-o", str(out), "--keep-ipynb", str(kept)])
    finally:
        os.chdir(cwd)
    return {"code": code, "html": out, "executed": kept, "user": user}


def test_cli_runs_the_notebook_with_parameters_and_absolute_paths(exported):
    assert exported["code"] == 0
    nb = nbformat.read(exported["executed"], as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n = 7" in injected.source
    assert f"log = \"{(exported['user'] / 'mine.log').resolve()}\"" in injected.source
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "n=7 lines=4" in printed


def test_export_draws_plotly_json_offline_with_plotly_js_once(exported):
    page = exported["html"].read_text()
    assert f'content="{CSP}"' in page
    assert page.count("Plotly.newPlot(") == 1
    from toolkit.report.html import plotly_js
    assert page.count(plotly_js()[:200]) == 1
    # no CDN script or stylesheet is left in the template
    markup = page.replace(plotly_js(), "")
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']?https?:""", markup)
    # the planted label reaches the figure only as escaped JSON text
    fig_json = re.search(r"var f = (\{.*\});", markup).group(1)
    assert "<" not in fig_json
    assert json.loads(fig_json)["data"][0]["x"][0].startswith("&lt;script&gt;")


def test_unknown_parameter_is_refused_before_running(tmp_path):
    nb = make_notebook(tmp_path / "tiny.ipynb")
    with pytest.raises(InputError, match="has no parameter typo; its parameters: n, label, log"):
        notebooks.run_notebook(nb, tmp_path / "x.html", {"typo": 1})
    assert not (tmp_path / "x.html").exists()


def test_unknown_notebook_lists_the_curated_ones():
    with pytest.raises(InputError, match="no notebook 'nope'; curated notebooks"):
        notebooks.find_notebook("nope")


def test_a_failing_cell_still_writes_the_html_and_names_the_cell(tmp_path):
    nb = make_notebook(tmp_path / "bad.ipynb", body="raise ValueError('boom in the data')")
    out = tmp_path / "bad.html"
    with pytest.raises(ToolkitError, match="ValueError: boom in the data"):
        notebooks.run_notebook(nb, out)
    assert "boom in the data" in out.read_text()


@pytest.mark.parametrize("text, value", [("3", 3), ("0.5", 0.5), ("True", True), ("false", False),
                                         ("none", None), ("[1, 2]", [1, 2]), ("'q'", "q"),
                                         ("a b", "a b"), ("/x/y.log", "/x/y.log"), ("1e3", 1000.0)])
def test_param_values_are_literals_or_text(text, value):
    assert notebooks.parse_value(text) == value


def test_existing_paths_become_absolute_others_stay(tmp_path):
    (tmp_path / "a.log").write_text("x\n")
    out = notebooks.absolute_paths({"log": "a.log", "name": "not-a-file", "n": 3,
                                    "logs": ["a.log", "zz"]}, base=tmp_path)
    assert out == {"log": str(tmp_path / "a.log"), "name": "not-a-file", "n": 3,
                   "logs": [str(tmp_path / "a.log"), "zz"]}


def test_bad_param_syntax_is_a_usage_error(capsys):
    assert main(["notebook", "whatever", "--param", "no-equals-sign"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


CURATED = notebooks.notebooks_dir() / "01_hot_paths.ipynb"


@pytest.mark.skipif(not CURATED.exists(), reason="notebooks/01_hot_paths.ipynb not written yet")
def test_curated_notebook_runs_on_its_defaults_and_exports(tmp_path):
    out = notebooks.run_notebook("01_hot_paths", tmp_path / "hot.html")
    page = out.read_text()
    assert page.count("Plotly.newPlot(") >= 1
