"""`perf-toolkit compare BASE HEAD`: the CI gate in both outcomes, the table, the HTML report."""

from __future__ import annotations

import re
import shutil

import pytest
from helpers.bench import BENCH, PB, runs

from toolkit.cli import main
from toolkit.report.html import PAGE_SCRIPT, csp


def test_a_slowdown_fails_the_gate_with_exit_1_and_names_it(tmp_path, capsys):
    out = tmp_path / "change.html"
    code = main(["compare", str(PB / "base"), str(PB / "head"), "--min-effect", "5%", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "perf-toolkit: 2 significant slower result(s)" in captured.err
    lines = {line.split()[0]: line for line in captured.out.splitlines()[3:] if line.strip() and not line.startswith("Report")}
    assert lines["parse_orders"].endswith("slower") and lines["dedupe_skus"].endswith("faster")
    assert lines["checksum"].endswith("unchanged")
    assert re.search(r"verdicts: 2 slower, 1 faster, 3 unchanged", captured.out)
    page = out.read_text()
    # offline and inert: only the page script runs (by its hash), which unpacks plotly.js and draws
    # the figures from their inert JSON blocks
    from helpers.pages import executable_scripts

    assert executable_scripts(page) == [PAGE_SCRIPT]
    assert f'content="{csp([PAGE_SCRIPT])}"' in page
    assert page.count('class="tk-figure"') == 2  # the forest plot and the distributions
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']?https?:""", page)


def test_an_unchanged_rerun_passes_the_gate(tmp_path, capsys):
    # GIVEN the base's runs 1, 3, 5 as BASE and its runs 2, 4, 6 as HEAD
    for i, run in enumerate(runs(PB, "base")):
        (tmp_path / ("odd" if i % 2 == 0 else "even")).mkdir(exist_ok=True)
        shutil.copy(run, tmp_path / ("odd" if i % 2 == 0 else "even") / run.name)
    code = main(["compare", str(tmp_path / "odd"), str(tmp_path / "even"), "--no-report"])
    assert code == 0
    out = capsys.readouterr().out
    assert "verdicts: 6 unchanged" in out and "Report:" not in out


def test_fail_on_never_and_changed(tmp_path):
    args = [str(PB / "base"), str(PB / "head"), "--no-report"]
    assert main(["compare", *args, "--fail-on", "never"]) == 0
    assert main(["compare", *args, "--fail-on", "changed"]) == 1
    # a minimum effect above every change turns the gate green
    assert main(["compare", *args, "--min-effect", "400%"]) == 0


def test_folders_of_runs_are_pooled(capsys):
    assert main(["compare", str(BENCH / "asv" / "results"), str(BENCH / "asv" / "results"), "--no-report"]) == 0
    assert "verdicts: 5 unchanged" in capsys.readouterr().out


def test_bad_input_is_exit_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"benchmarks": [')
    assert main(["compare", str(bad), str(PB / "head"), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("perf-toolkit: error: ") and "Traceback" not in err
    assert main(["compare", str(PB / "base"), str(BENCH / "wrk" / "base_report.txt"), "--no-report"]) == 2
    assert "cannot compare a benchmark input (pytest-benchmark) with a load_test input (wrk)" in capsys.readouterr().err
    assert main(["compare", str(BENCH / "wrk" / "base_report.txt"), str(BENCH / "wrk" / "head_report.txt"),
                 "--no-report"]) == 2
    assert "no per-request or per-round values to test" in capsys.readouterr().err


@pytest.mark.parametrize("value, message", [("lots", "expected a share like 5% or 0.05, not 'lots'"),
                                            ("10", "10 would be 1000%: write 10% or 0.1")])
def test_min_effect_must_be_a_share(capsys, value, message):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "a", "b", "--min-effect", value])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_profiles_compare_through_the_same_command(tmp_path, capsys):
    code = main(["compare", str(BENCH / "profiles" / "base_parse_orders.speedscope.json"),
                 str(BENCH / "profiles" / "head_parse_orders.speedscope.json"), "--min-effect", "20%",
                 "-o", str(tmp_path / "p.html")])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("profiles: ")
    assert re.search(r"^deepcopy .*slower$", out, re.M)


def test_two_access_logs_compare_per_endpoint(tmp_path, capsys):
    # the perf log_format (perf.log_format beside the log) has $request_time; combined has none
    log = BENCH.parent / "http" / "nginx" / "access.log.gz"
    code = main(["compare", str(log), str(log), "-o", str(tmp_path / "http.html")])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("requests: ")
    assert re.search(r"verdicts: \d+ unchanged", out) and "slower" not in out.splitlines()[1]
    assert "GET /api/orders/{id}" in out
    assert (tmp_path / "http.html").read_text().count("Plotly.newPlot(") == 1
