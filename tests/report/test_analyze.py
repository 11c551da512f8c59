"""`perf-toolkit analyze`: the main job, end to end on the bundled sample traces and on bad folders."""

from __future__ import annotations

import dataclasses
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

    # the sample traces, and the labelled logs (tests/fixtures/labelled: real servers' logs with
    # planted problems) for the problems the samples do not have (a search, a timeout, a slow client)
    labelled = analyze([ROOT / "tests/fixtures/labelled"])
    found = set(sample_analysis.findings["rule"]) | set(labelled.findings["rule"])
    # complexity evidence is a measurement, not a trace: tests/complexity shows that rule firing;
    # the request breakdown's rules need tk.correlate (requests joined to their queries), which
    # analyze does not run: tests/foundation/test_correlate.py shows them firing on the web sample
    expected = set(rules_table()["rule"]) - {"complexity.superlinear", "requests.database_time",
                                             "requests.query_budget"}
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


# -- section 5 of the hostile-input issue: one input never aborts the run ------------------------

def _damaged_folder(tmp_path: Path) -> Path:
    """A folder of twenty inputs: real sample logs, a profile, and damaged or foreign files."""
    import shutil

    data = tmp_path / "damaged"
    data.mkdir()
    shutil.copy(ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz", data / "pg.log.gz")
    shutil.copy(ROOT / "sample_traces/http/nginx/combined.log.gz", data / "access.log.gz")
    shutil.copy(ROOT / "sample_traces/profiles/py-spy/demo_slow.txt", data / "slow.txt")
    (data / "truncated.log.gz").write_bytes((ROOT / "sample_traces/queries/postgresql/pgbench/postgresql.log.gz")
                                            .read_bytes()[:30000])
    for i in range(16):
        (data / f"noise{i:02}.bin").write_bytes(bytes(range(256))[i:] * 3)
    return data


@pytest.fixture
def a_reader_with_a_bug(monkeypatch):
    """The py-spy raw reader fails with a plain exception, as a reader bug would: no real input
    can be relied on to hit a bug (they get fixed), so this one is planted."""
    from toolkit import formats

    fmt = formats.get("pyspy-raw")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("planted reader bug")

    monkeypatch.setitem(formats._REGISTRY, "pyspy-raw", dataclasses.replace(fmt, read=broken))


def test_a_reader_bug_on_one_input_fails_that_input_and_the_report_is_still_written(
        tmp_path, capsys, a_reader_with_a_bug):
    # GIVEN twenty inputs, one of which makes its reader raise a non-ToolkitError
    data = _damaged_folder(tmp_path)
    report = tmp_path / "report.html"
    # WHEN they are analysed from the command line
    code = main(["analyze", str(data), "-o", str(report), "-q"])
    out = capsys.readouterr()
    # THEN the run goes on: the other inputs are read, the report is written, exit 0, no traceback
    assert code == 0
    assert "Traceback" not in out.err + out.out
    assert report.exists()
    html = report.read_text()
    # and the failed inputs are listed with their full reasons, in the terminal and the report
    assert "FAILED slow.txt\n      unexpected ZeroDivisionError while reading it: planted reader bug" in out.out
    assert "planted reader bug" in html
    assert "FAILED truncated.log.gz\n      " in out.out and "truncated or corrupt gzip stream" in out.out
    assert "Read 2 input(s)" in out.out and "16 skipped" in out.out


def test_a_detector_bug_on_one_input_fails_that_input_and_the_others_keep_their_findings(monkeypatch, tmp_path):
    # GIVEN the sample PostgreSQL and access logs, and a detector that fails on the access log
    import toolkit.http.detectors as http_detectors

    pg = ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz"
    http = ROOT / "sample_traces/http/nginx/combined.log.gz"
    whole = analyze([pg, http])
    real = http_detectors.findings

    def failing(requests, **options):
        raise KeyError("planted detector bug")

    monkeypatch.setattr(http_detectors, "findings", failing)
    # WHEN both are analysed
    a = analyze([pg, http])
    # THEN the access log is failed with the reason, and the query findings are all there
    table = a.inputs_table().set_index("path")
    assert table.loc[str(http), "status"] == "failed"
    assert "unexpected KeyError while running the checklist rules on it" in table.loc[str(http), "reason"]
    assert table.loc[str(pg), "status"] == "read"
    monkeypatch.setattr(http_detectors, "findings", real)
    expected = whole.findings[whole.findings["file"] == str(pg)]
    assert len(expected) > 0
    assert a.findings["title"].tolist() == expected["title"].tolist()


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_an_unusable_report_path_is_refused_before_any_work(tmp_path, capsys, where):
    target = tmp_path if where == "folder" else tmp_path / "no" / "such" / "report.html"
    code = main(["analyze", str(ROOT / "sample_traces/profiles/py-spy/demo_slow.txt"), "-o", str(target)])
    err = capsys.readouterr()
    assert code == 2
    assert err.out == ""  # nothing was read: the check came first
    assert err.err.count("\n") == 1
    assert ("is a folder; give the report a file name" if where == "folder"
            else "no such folder for the report") in err.err


def test_an_unreadable_sub_folder_is_listed_as_skipped_with_permission_denied():
    # GIVEN a folder with a readable log and a sub-folder its user may not list (as root every folder
    # is readable, so the analysis runs as 'nobody')
    import shutil
    import tempfile

    from helpers.unprivileged import as_nobody

    top = Path(tempfile.mkdtemp(prefix="perf-toolkit-perm-"))
    try:
        top.chmod(0o755)
        shutil.copy(ROOT / "sample_traces/profiles/py-spy/demo_slow.txt", top / "slow.txt")
        (top / "locked").mkdir()
        (top / "locked" / "inside.txt").write_text("x")
        (top / "locked").chmod(0o700 if os.geteuid() == 0 else 0)
        analyze([top])  # imports every reader and detector before the rights are dropped
        # WHEN it is analysed
        rows = as_nobody(lambda: analyze([top]).inputs_table()[["path", "status", "reason"]]
                         .to_dict("records"))
        by_name = {Path(r["path"]).name: r for r in rows}
        # THEN the readable log is read and the locked folder is listed, not silently dropped
        assert by_name["slow.txt"]["status"] == "read"
        assert by_name["locked"]["status"] == "skipped"
        assert by_name["locked"]["reason"] == "folder not read: permission denied"
    finally:
        (top / "locked").chmod(0o755)
        shutil.rmtree(top)


def test_a_fifo_named_on_the_command_line_is_detected_and_read_from_one_reading(tmp_path):
    # GIVEN a FIFO carrying a PostgreSQL log (two tables come from it: queries and server events),
    # written by a thread while the analysis reads it
    import gzip
    import threading

    data = gzip.decompress((ROOT / "sample_traces/queries/postgresql/report/postgresql.log.gz").read_bytes())
    fifo = tmp_path / "postgresql.log"
    os.mkfifo(fifo)
    held = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer open without waiting
    writer = os.open(fifo, os.O_WRONLY)

    def write() -> None:
        os.write(writer, data)
        os.close(writer)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    # WHEN it is analysed
    a = analyze([fifo], run_findings=False)
    thread.join(10)
    os.close(held)
    # THEN detection did not use it up: both tables hold what the same log read from a file holds
    import toolkit as tk

    plain = tmp_path / "copy.log"
    plain.write_bytes(data)
    (result,) = a.inputs
    assert result.status == "read", result.reason
    assert len(a.queries[str(fifo)]) == len(tk.read_queries(plain)) > 0
    assert len(a.server_events[str(fifo)]) == len(tk.read_server_events(plain)) > 0


def test_an_empty_list_of_paths_reads_nothing_while_none_reads_the_samples():
    # (a notebook whose optional input is None gives analyze an empty list)
    assert analyze([], run_findings=False).inputs == []


def test_the_input_a_story_follows_is_the_largest_of_its_kind(sample_analysis):
    path, prof = sample_analysis.largest("profiles")
    # the shop app's py-spy recording (75 s) is longer than any demo profile
    assert path.endswith("web/shop/profile.chrometrace.json.gz") and prof.duration_s == pytest.approx(74.751, abs=1e-3)
    assert max(p.duration_s for p in sample_analysis.profiles.values()) == prof.duration_s
    path, events = sample_analysis.largest("queries")  # the most logged time: the app workload
    assert path.endswith("postgresql/app/postgresql.json.gz") and len(events) == 408
    path, requests = sample_analysis.largest("requests")
    assert len(requests) == 2438
    assert analyze([], run_findings=False).largest("requests") == (None, None)
