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
