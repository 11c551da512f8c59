"""``%%profile`` in a real IPython InteractiveShell: the Profile is kept under the given name,
the cell's own code is the root of the profile, and both displays carry text/html and text/plain."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from toolkit.errors import InputError  # noqa: E402
from toolkit.magic import PLOTLY_MIME, parse_args  # noqa: E402

BUSY = """
import time

def busy(seconds):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass

def quick():
    return sum(range(10))

busy(0.08)
quick()
"""


@pytest.fixture(scope="module")
def shell():
    import plotly.io as pio

    renderer = pio.renderers.default
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "toolkit")
    yield sh
    pio.renderers.default = renderer


def run(shell, cell: str):
    with capture_output() as cap:
        result = shell.run_cell(cell)
    return result, cap


def test_parse_args():
    assert parse_args("-o prof --interval 0.002 --top 5 --engine cprofile") == {
        "out": "prof", "interval": 0.002, "engine": "cprofile", "top": 5, "min_fraction": 0.005}
    assert parse_args("")["out"] == "_profile"
    with pytest.raises(InputError, match="--interval"):
        parse_args("--interval soon")
    with pytest.raises(InputError, match="variable name"):
        parse_args("-o 1x")


def test_profile_magic_keeps_the_profile_and_displays_both_mimetypes(shell):
    # GIVEN a cell that spends ~80 ms in busy()
    # WHEN it runs under %%profile
    result, cap = run(shell, "%%profile -o prof --interval 0.001 --top 3\n" + BUSY)
    # THEN it succeeds and the Profile is kept in `prof`
    assert result.success, result.error_in_exec
    import toolkit as tk
    prof = shell.user_ns["prof"]
    assert isinstance(prof, tk.Profile)
    f = prof.functions().set_index("function")
    assert f.loc["busy", "total_s"] >= 0.06
    assert prof.duration_s >= 0.06
    # the stacks start at the cell's own code, not at IPython's machinery
    roots = prof.tree().query("depth == 0")
    assert roots["function"].tolist() == ["<module>"]
    assert "run_cell" not in set(f.index) and "exec" not in set(f.index)
    # two displays, each a mimebundle with text/html and text/plain
    assert len(cap.outputs) == 2
    figure, table = (o.data for o in cap.outputs)
    for bundle in (figure, table):
        assert bundle["text/html"] and bundle["text/plain"]
    # the flame graph: plotly JSON for JupyterLab, an HTML div without plotly.js, a text summary
    ic = figure[PLOTLY_MIME]["data"][0]
    assert ic["type"] == "icicle" and "busy" in ic["labels"]
    assert len(set(ic["ids"])) == len(ic["ids"])
    assert "plotly.js" not in figure["text/html"][:2000] and "<div" in figure["text/html"]
    assert "the Profile is in `prof`" in figure["text/plain"]
    assert "hottest path" in figure["text/plain"] and "busy" in figure["text/plain"]
    # the top functions table: 3 rows by self time, busy among them (pyinstrument notices time
    # at call events, so busy's loop time is shared between busy and the perf_counter it calls)
    assert table["text/html"].count("</tr>") == 1 + 3
    plain_rows = table["text/plain"].splitlines()
    assert plain_rows[0].startswith("%%profile: ") and plain_rows[1].startswith("hottest path")
    assert plain_rows[2].startswith("Top 3 functions by self time")
    assert len(plain_rows) == 4 + 3
    assert "busy" in [row.split()[0] for row in plain_rows[4:]]
    assert [row.split()[0] for row in plain_rows[4:]] == [f.split()[0] for f in prof.functions()["function"].head(3)]
    assert "the Profile is in `prof`" in table["text/html"] and "<br>" in table["text/html"]


def test_profile_magic_with_cprofile(shell):
    result, cap = run(shell, "%%profile -o cprof --engine cprofile --top 5\n" + BUSY)
    assert result.success, result.error_in_exec
    f = shell.user_ns["cprof"].functions().set_index("function")
    assert f.loc["busy", "total_s"] >= 0.06
    assert "quick" in f.index  # a deterministic profiler sees even the 1 µs call
    assert all("text/html" in o.data and "text/plain" in o.data for o in cap.outputs)


def test_profile_magic_keeps_the_profile_when_the_cell_raises(shell):
    result, cap = run(shell, "%%profile -o failed\nimport time\nt0 = time.perf_counter()\n"
                             "while time.perf_counter() - t0 < 0.02:\n    pass\n1 / 0\n")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert shell.user_ns["failed"].duration_s > 0
    assert len(cap.outputs) == 2


def test_profile_magic_rejects_bad_options(shell):
    result, _ = run(shell, "%%profile --top many\nx = 1\n")
    assert isinstance(result.error_in_exec, InputError)
    assert "--top" in str(result.error_in_exec)
