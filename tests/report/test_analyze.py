"""`perf-toolkit analyze`: the main job, end to end on the bundled sample traces and on bad folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.report.analyze import analyze

ROOT = Path(__file__).resolve().parents[2]


def test_a_folder_of_only_bad_inputs_still_gives_a_report_and_exits_2(tmp_path, capsys):
    # GIVEN a folder with an empty file, an unknown binary file and a script
    data = tmp_path / "data"
    data.mkdir()
    (data / "empty.log").write_bytes(b"")
    (data / "noise.bin").write_bytes(os.urandom(256))
    (data / "make.py").write_text("print('hi')\n")
    report = tmp_path / "report.html"
    # WHEN it is analysed
    code = main(["analyze", str(data), "-o", str(report), "-q"])
    # THEN nothing could be analysed (exit 2), yet each input is listed with its reason
    assert code == 2
    out = capsys.readouterr()
    assert "Read 0 input(s)" in out.out and "3 skipped" in out.out
    assert "no input could be analysed" in out.err
    assert report.exists()
    html = report.read_text()
    for name, reason in (("empty.log", "the input is empty"), ("noise.bin", "matched no known format"),
                         ("make.py", "not evidence")):
        assert name in html and reason in html


def test_analyze_accounts_for_every_input(tmp_path):
    (tmp_path / "empty.log").write_bytes(b"")
    a = analyze([tmp_path], run_findings=False)
    table = a.inputs_table()
    assert table["status"].tolist() == ["skipped"]
    assert table["reason"].tolist() == ["the input is empty"]


def test_a_missing_path_exits_2_with_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope"), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "nope: no such file or folder" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def sample_analysis():
    return analyze(None)


def test_analyze_on_the_bundled_sample_traces_exits_0_and_writes_the_report(tmp_path):
    # GIVEN the README's first command (sample_traces/ is the default)
    report = tmp_path / "report.html"
    run = subprocess.run([sys.executable, "-m", "toolkit", "analyze", "-o", str(report)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    # THEN it succeeds, prints the findings and writes the report
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "finding(s)" in run.stdout and "Report:" in run.stdout
    assert report.stat().st_size > 0


def test_every_sample_trace_is_read_and_every_kind_of_evidence_is_there(sample_analysis):
    table = sample_analysis.inputs_table()
    assert not (table["status"] == "failed").any(), table.query("status == 'failed'")
    assert set(table.query("status == 'read'")["kind"]) == {"profile", "queries", "access_log"}
    skipped = table.query("status == 'skipped'")
    # what is skipped is the scripts, notes and bookkeeping beside the evidence, never a log
    assert not skipped["path"].str.contains(r"\.log(?:\.gz)?$|\.prof$|speedscope").any(), skipped


def test_every_checklist_rule_fires_on_a_sample_trace_that_contains_its_problem(sample_analysis):
    from toolkit.findings import rules_table

    found = set(sample_analysis.findings["rule"])
    # complexity evidence is a measurement, not a trace: tests/complexity shows that rule firing
    expected = set(rules_table()["rule"]) - {"complexity.superlinear"}
    assert expected - found == set()


def test_no_rule_fires_on_the_sample_traces_without_planted_problems():
    # GIVEN the traces of the fixed program, pgbench's own traffic and the clean MariaDB run
    clean = [ROOT / "sample_traces/queries/postgresql/pgbench",
             ROOT / "sample_traces/queries/mariadb/clean-slow.log.gz",
             *sorted((ROOT / "sample_traces/profiles").rglob("demo_fixed*"))]
    a = analyze(clean)
    assert a.analysed >= 9
    assert a.findings.empty, a.findings[["rule", "title", "file"]]


def test_logs_over_the_stream_threshold_are_aggregated_chunk_by_chunk(tmp_path):
    # GIVEN a PostgreSQL log and an access log, and a threshold that makes them count as too large
    import toolkit as tk
    from toolkit.report.render import render

    pg = ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz"
    http = ROOT / "sample_traces/http/nginx/combined.log.gz"
    # WHEN they are analysed
    a = analyze([pg, http], stream_bytes=1)
    # THEN only aggregates are kept, equal to the in-memory ones, and the report says so
    assert not a.queries and not a.requests
    streamed = a.digests[str(pg)]
    whole = tk.digest(tk.read_queries(pg))
    assert streamed["calls"].sum() == whole["calls"].sum()
    assert streamed["total_ms"].sum() == pytest.approx(whole["total_ms"].sum())
    ends = a.endpoint_tables[str(http)]
    assert ends["requests"].sum() == len(tk.read_access_log(http))
    assert all("streamed" in r.reason for r in a.inputs)
    html = render(a, tmp_path / "r.html").read_text()
    assert html.count("Streamed: too large to hold in memory") == 2
