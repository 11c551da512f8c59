"""The perf-toolkit command line: exit codes, one-line errors, formats and detect."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import toolkit
from toolkit.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"perf-toolkit {toolkit.__version__}"


def test_formats_lists_every_registered_format(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for fmt in toolkit.formats.formats():
        assert fmt.name in out


def test_detect_missing_path_exits_2_with_one_line(capsys, tmp_path):
    assert main(["detect", str(tmp_path / "nope.log")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope.log: no such file or folder" in err
    assert "Traceback" not in err


def test_detect_unknown_single_file_exits_2(capsys, tmp_path):
    path = tmp_path / "mystery.bin"
    path.write_bytes(b"\x00\x01\x02\x03")
    assert main(["detect", str(path)]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_detect_unreadable_file_exits_2():
    # GIVEN a file its user may not read (run as 'nobody': root reads every file)
    import contextlib
    import io
    import shutil
    import tempfile

    from helpers.unprivileged import as_nobody

    top = tempfile.mkdtemp(prefix="perf-toolkit-perm-")
    try:
        os.chmod(top, 0o755)
        path = os.path.join(top, "secret.log")
        with open(path, "w") as fh:
            fh.write("x\n")
        os.chmod(path, 0o600 if os.geteuid() == 0 else 0)

        def detect() -> tuple[int, str]:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = main(["detect", path])
            return code, err.getvalue()

        detect()  # imports what detection needs while the Python installation is readable
        code, err = as_nobody(detect)
        # THEN one line naming the file and the reason, exit 2
        assert code == 2
        assert err == f"perf-toolkit: error: {path}: permission denied\n"
    finally:
        shutil.rmtree(top)


def test_detect_walks_folders_and_says_why_a_file_is_unknown(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "empty.log").write_bytes(b"")
    (tmp_path / "noise.bin").write_bytes(b"\x00\xff" * 10)
    (tmp_path / ".hidden").write_text("x")
    assert main(["detect", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{tmp_path / 'noise.bin'}: unknown (binary content matched no known format)",
        f"{tmp_path / 'sub' / 'empty.log'}: unknown (the input is empty)",
    ]


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: perf-toolkit" in capsys.readouterr().out


def test_python_dash_m_toolkit_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "toolkit", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("perf-toolkit ")


# ---- perf-toolkit analyze: what the terminal says about each input -------------------------------

def test_a_single_bad_file_prints_one_line_and_exits_2(tmp_path, capsys):
    # GIVEN one named file that cannot be analysed
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    report = tmp_path / "report.html"
    # WHEN it is analysed
    code = main(["analyze", str(empty), "-o", str(report)])
    out = capsys.readouterr()
    # THEN one line on stderr says why, and nothing else is printed or written: no checklist
    # run, no "No findings.", no report of nothing
    assert code == 2
    assert out.err == f"perf-toolkit: error: {empty}: the input is empty\n"
    assert out.out == ""
    assert not report.exists()


def test_a_named_file_that_is_not_evidence_says_why(tmp_path, capsys):
    notes = tmp_path / "notes.md"
    notes.write_text("# notes\n")
    assert main(["analyze", str(notes), "--no-report"]) == 2
    assert capsys.readouterr().err == f"perf-toolkit: error: {notes}: source code or documentation, not evidence\n"


def test_every_reason_is_printed_in_full_on_its_own_line_with_the_option_that_answers_it(
        tmp_path, capsys, monkeypatch):
    # GIVEN a narrow terminal, a PostgreSQL log whose prefix is not a common one (its reason is
    # long and ends in what to pass), an access log beside it, and files that are not evidence
    monkeypatch.setenv("COLUMNS", "80")
    data = tmp_path / "logs"
    data.mkdir()
    (data / "postgresql.log").write_text(
        "2026-01-01 10:00:00 UTC|1|app|db|LOG:  duration: 1.0 ms  statement: SELECT 1\n" * 3)
    (data / "access.log").write_text(
        '192.0.2.1 - - [01/Jan/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n' * 3)
    for name in ("a.md", "b.py", "c.sh"):
        (data / name).write_text("x\n")
    # WHEN analysed
    assert main(["analyze", str(data), "--no-report", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # THEN the failed log's reason is one whole line (not cut to the terminal), its path is not
    # repeated in it, and the next line names the option to pass
    i = lines.index("  FAILED postgresql.log")
    assert lines[i + 1].startswith("      the log_line_prefix of this PostgreSQL log is not one of the common ones")
    assert len(lines[i + 1]) > 80 and not lines[i + 1].endswith("…")
    assert str(data) not in lines[i + 1]
    assert lines[i + 2] == ("      pass the server's prefix: --log-line-prefix '%m [%p] %q%u@%d ' (run "
                            "'SHOW log_line_prefix;' on the server)")
    # AND the files beside the evidence are one line with their reason
    assert "  SKIPPED 3 file(s) beside the evidence: source code or documentation, not evidence" in lines
    assert "  access.log  combined: 3 record(s)" in lines


def test_log_format_from_a_whole_nginx_conf_picks_the_directive_that_matches(capsys):
    # GIVEN the real nginx.conf that wrote the JSON access log of the samples (several
    # log_format directives; the perf one included from another file)
    root = os.path.join(os.path.dirname(__file__), "..", "..", "sample_traces", "http", "nginx")
    conf, log = os.path.join(root, "nginx.conf.in"), os.path.join(root, "access.jsonl.gz")
    # WHEN analysed with --log-format @nginx.conf
    assert main(["analyze", log, "--log-format", f"@{conf}", "--no-report", "-q"]) == 0
    # THEN the log is read with its own directive, every line a record
    assert "  access.jsonl.gz  nginx (log_format jsonl): 2438 record(s)" in capsys.readouterr().out


def test_an_unreadable_log_format_file_is_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path), "--log-format", f"@{tmp_path / 'nope.conf'}", "--no-report"]) == 2
    assert capsys.readouterr().err == (f"perf-toolkit: error: {tmp_path / 'nope.conf'}: cannot read the log "
                                       "format (No such file or directory)\n")


def test_the_progress_bar_moves_through_many_small_files_with_percentage_and_rate(tmp_path):
    # GIVEN 300 small access logs (and a recording progress bar, drawn as on a terminal)
    import io

    from toolkit.cli.progress import ProgressBar
    from toolkit.report.analyze import analyze

    line = '192.0.2.1 - - [01/Jan/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl"\n'
    total = 0
    for i in range(300):
        (tmp_path / f"access{i:03d}.log").write_text(line * (1 + i % 3))
        total += len(line) * (1 + i % 3)
    screen = io.StringIO()
    bar = ProgressBar(file=screen, disable=False)
    # WHEN analysed
    a = analyze([tmp_path], tracker=bar, run_findings=False)
    # THEN every input and every byte went through the bar, which showed the percentage, the
    # rate, how many inputs were done and the input being read
    assert a.analysed == 300
    assert (bar.done, bar.position) == (300, total)
    drawn = screen.getvalue()
    assert "reading 0/300 inputs:   0%" in drawn
    assert "B/s" in drawn and "access" in drawn


def test_a_reader_that_stops_early_does_not_stop_the_report(tmp_path):
    # GIVEN perf-toolkit analyze piped into something that has gone before the summary comes
    # (| head, a pager quit early)
    log = os.path.join(os.path.dirname(__file__), "..", "..", "sample_traces", "http", "apache", "common.log")
    report = tmp_path / "report.html"
    proc = subprocess.Popen([sys.executable, "-m", "toolkit", "analyze", log, "-o", str(report), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    # THEN the report is written all the same, and nothing but silence reaches the user
    assert proc.wait(timeout=120) == 0
    assert report.stat().st_size > 0
    assert err == ""
