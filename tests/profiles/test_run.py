"""tk.profile / tk.profiling in-process, tk.record with the real py-spy binary."""

from __future__ import annotations

import subprocess
import sys

import pytest

import toolkit as tk
from toolkit.profiles import run


def busy(n):
    total = 0
    for i in range(n):
        total += sum(range(i % 300))
    return total


def test_profile_with_pyinstrument_returns_a_profile_and_the_result():
    prof = tk.profile(busy, 20_000, interval=0.0005)
    assert prof.result == busy(20_000)
    f = prof.functions().set_index("function")
    assert f.loc["busy", "total_s"] >= 0.5 * prof.duration_s
    assert prof.samples > 0 and not prof.lines().empty
    assert "test_profile_with_pyinstrument" not in set(f.index)  # the caller's frames are trimmed


def test_profile_with_cprofile_counts_calls():
    prof = tk.profile(busy, 2_000, engine="cprofile")
    f = prof.functions().set_index("function")
    assert f.loc["busy", "calls"] == 1
    assert f.loc["<built-in method builtins.sum>", "calls"] == 2_000


def test_profiling_context_manager():
    with tk.profiling() as p:
        with pytest.raises(AttributeError, match="ready when the 'with tk.profiling\\(\\)' block ends"):
            p.functions()
        busy(10_000)
    assert isinstance(p.profile, tk.Profile)
    assert "busy" in set(p.profile.functions()["function"])
    # p answers as the Profile itself, as README's tour writes it
    assert p.functions().equals(p.profile.functions()) and p.duration_s == p.profile.duration_s
    assert repr(p) == repr(p.profile)


def test_record_a_real_child_process_with_pyspy():
    code = "import time\nt = time.time()\ndef spin():\n    while time.time() - t < 1.0: sum(range(500))\nspin()\n"
    prof = tk.record([sys.executable, "-c", code], rate=200)
    assert prof.rate_hz == 200 and not prof.rate_assumed
    assert prof.samples >= 50 and prof.duration_s == pytest.approx(prof.samples / 200)
    assert prof.functions()["function"].iloc[0] in ("spin", "<module>")
    assert prof.meta["returncode"] == 0


def test_record_a_gone_pid_explains():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    with pytest.raises(tk.ProfilerError, match="is gone"):
        tk.record(p.pid, duration=1)


def test_record_without_pyspy_says_how_to_install(monkeypatch):
    monkeypatch.setattr(run.os, "access", lambda *a: False)
    monkeypatch.setattr(run.shutil, "which", lambda name: None)
    with pytest.raises(tk.ProfilerError, match="pip install py-spy"):
        tk.record(["python", "-c", "pass"])


def test_permission_denied_message_names_the_fixes():
    text = run._explain("Error: Permission Denied (os error 13)", "process 42")
    assert "ptrace_scope" in text and "SYS_PTRACE" in text and "root" in text
