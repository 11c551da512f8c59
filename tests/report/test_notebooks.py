"""Curated notebooks on a user's files: papermill runs them with parameters (paths made
absolute), nbconvert exports offline HTML where plotly's JSON outputs are drawn."""

from __future__ import annotations

import re

import nbformat
import pytest
from helpers.pages import FIGURE_BLOCK, csp_of, executable_scripts, figures, markup

from toolkit.cli import main
from toolkit.errors import InputError
from toolkit.report import notebooks
from toolkit.report.html import PAGE_SCRIPT, csp, plotly_js_packed


def _outputs_text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_parameters_are_injected_and_paths_made_absolute(tiny_run):
    nb = nbformat.read(tiny_run["executed"], as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n = 7" in injected.source
    assert f"log = \"{(tiny_run['user'] / 'mine.log').resolve()}\"" in injected.source
    assert "n=7 lines=4" in _outputs_text(nb)


def test_export_draws_plotly_json_offline_with_plotly_js_once(tiny_run):
    page = tiny_run["html"].read_text()
    # only plotly.js and the page script run, each allowed by its hash; nothing else may
    assert executable_scripts(page) == [PAGE_SCRIPT]
    assert csp_of(page) == csp([PAGE_SCRIPT])
    assert len(figures(page)) == 2
    assert page.count(plotly_js_packed()[:200]) == 1
    rest = markup(page)
    # no CDN script or stylesheet is left in the template, no inline event handler
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']?https?:""", rest)
    assert not re.search(r"<[^>]+\son\w+\s*=", rest, flags=re.I)
    # the planted label reaches the figure only as escaped JSON text, and the table escapes it
    block = FIGURE_BLOCK.search(rest).group(3)
    assert "<" not in block
    assert figures(page)[0]["data"][0]["x"][0].startswith("&lt;script>window.__pwned=1&lt;/script>")
    assert "<script>window.__pwned" not in rest


def test_cli_failing_cell_exits_2_names_the_cell_and_still_writes_html(tmp_path, monkeypatch, capsys,
                                                                     notebook_maker):
    # GIVEN a notebook whose last cell fails after reading the user's file
    nb = notebook_maker(tmp_path / "bad.ipynb", body="print('lines', len(open(log).read().splitlines()))\n"
                                                     "raise ValueError('boom in the data')")
    user = tmp_path / "user"
    user.mkdir()
    (user / "mine.log").write_text("1\n2\n")
    monkeypatch.chdir(user)  # "mine.log" is relative to the user's working folder
    # WHEN the command runs it
    code = main(["notebook", str(nb), "--param", "log=mine.log", "-o", "out.html"])
    # THEN it fails with the cell and the error named, and the HTML shows what ran
    assert code == 2
    err = capsys.readouterr().err
    # execution count 4: papermill runs its injected parameters cell after the defaults
    assert "bad.ipynb: cell 4 failed with ValueError: boom in the data" in err
    page = (user / "out.html").read_text()
    assert "lines 2" in page and "boom in the data" in page


def test_unknown_parameter_is_refused_before_running(tmp_path, notebook_maker):
    nb = notebook_maker(tmp_path / "tiny.ipynb")
    with pytest.raises(InputError, match="has no parameter typo; its parameters: n, label, log"):
        notebooks.run_notebook(nb, tmp_path / "x.html", {"typo": 1})
    assert not (tmp_path / "x.html").exists()


def test_unknown_notebook_lists_the_curated_ones():
    with pytest.raises(InputError, match="no notebook 'nope'; curated notebooks"):
        notebooks.find_notebook("nope")


def test_names_with_or_without_suffix_find_the_curated_notebook():
    if not notebooks.available():
        pytest.skip("no curated notebook yet")
    name = notebooks.available()[0]
    assert notebooks.find_notebook(name) == notebooks.find_notebook(name + ".ipynb")
    assert notebooks.find_notebook(name).parent == notebooks.notebooks_dir()


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


@pytest.mark.slow
def test_curated_notebook_runs_on_a_users_file_and_exports(curated_run):
    nb = nbformat.read(curated_run["executed"], as_version=4)
    if curated_run["params"]:
        injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
        assert str(curated_run["root"] / curated_run["params"]["PROFILE"]) in injected.source
    page = curated_run["html"].read_text()
    assert len(figures(page)) >= 1
    assert page.count(plotly_js_packed()[:200]) == 1


def test_list_names_each_curated_notebook_with_its_parameters(capsys):
    assert main(["notebook", "--list"]) == 0
    out = capsys.readouterr().out
    for name in notebooks.available():
        assert out.count(f"{name}: ") == 1
    if not notebooks.available():
        assert "no curated notebooks" in out


def test_redact_is_set_by_the_export_not_by_a_parameter(tmp_path, monkeypatch, capsys, notebook_maker):
    # GIVEN a notebook with a REDACT parameter
    nb = notebook_maker(tmp_path / "r.ipynb", body="print(REDACT)")
    text = nb.read_text().replace("log = 'data/default.log'", "log = 'data/default.log'\\nREDACT = False")
    nb.write_text(text)
    # THEN --param REDACT=... is refused (the export decides) before anything runs
    with pytest.raises(InputError, match="REDACT follows the export's redaction"):
        notebooks.run_notebook(nb, tmp_path / "x.html", {"REDACT": False})
    # AND the command passes redact=True by default, False with --no-redact
    seen = []
    monkeypatch.setattr(notebooks, "run_notebook", lambda *a, **kw: seen.append(kw["redact"]) or tmp_path / "o.html")
    assert main(["notebook", str(nb)]) == 0 and main(["notebook", str(nb), "--no-redact"]) == 0
    assert seen == [True, False]


@pytest.mark.slow
def test_an_export_injects_redact_true_and_redacts_what_the_notebook_shows(tmp_path, notebook_maker):
    # GIVEN a notebook with a REDACT parameter that shows a table with a literal e-mail
    nb = notebook_maker(tmp_path / "r.ipynb", body=(
        "import toolkit as tk\n"
        "tk.report.redact_display(REDACT)\n"
        "email = 'bob' + '@example.com'  # the literal is in no cell source\n"
        "df = pd.DataFrame({'statement': [f\"SELECT 1 FROM t WHERE e = '{email}'\"]})\n"
        "print('literal kept in the variable:', email in df.statement[0])\n"
        "df"))
    nb.write_text(nb.read_text().replace("log = 'data/default.log'", "log = 'data/default.log'\\nREDACT = False"))
    # WHEN run and exported the default way
    html = notebooks.run_notebook(nb, tmp_path / "r.html", executed=tmp_path / "run.ipynb")
    # THEN the notebook ran with REDACT=True, computed on the literal and showed it redacted
    executed = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "REDACT = True" in injected.source
    shown = next(o for o in executed.cells[3].outputs if o.get("output_type") == "execute_result")
    assert "SELECT ? FROM t WHERE e = ?" in shown["data"]["text/html"]
    page = html.read_text()
    assert "literal kept in the variable: True" in page and "bob@example.com" not in page


def test_notebook_help_with_a_name_lists_its_parameters_with_what_each_is(capsys):
    assert main(["notebook", "04_http_endpoints", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: perf-toolkit notebook" in out
    assert "parameters of 04_http_endpoints (set with --param NAME=VALUE" in out
    assert '  ACCESS_LOG  default "../sample_traces/http/nginx/access.log.gz"' in out
    assert "an access log or a folder of them (nginx, Apache, JSON lines)" in out
    # every curated notebook documents every parameter, with the same names for the same things
    for name in notebooks.available():
        params = notebooks.parameter_help(notebooks.find_notebook(name))
        assert params and all(p["help"] for p in params.values()), name
        assert all(key.isupper() for key in params), name


def test_the_kernel_runs_on_local_sockets_and_prints_no_warning(tmp_path, capfd, notebook_maker):
    # GIVEN a notebook run the way perf-toolkit notebook runs it
    nb = notebook_maker(tmp_path / "quiet.ipynb", body="print('ran')")
    notebooks.run_notebook(nb, tmp_path / "quiet.html")
    # THEN nothing reached the terminal: no "Kernel is running over TCP without encryption"
    err = capfd.readouterr().err
    assert "TCP" not in err and "WARNING" not in err
