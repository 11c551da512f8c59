"""Running profilers: pyinstrument (or cProfile) in-process, py-spy out of process.

    >>> import toolkit as tk
    >>> prof = tk.profile(sorted, list(range(100_000)))            # doctest: +SKIP
    >>> with tk.profiling(interval=0.001) as p:                    # doctest: +SKIP
    ...     work()
    >>> p.profile.functions().head()                               # doctest: +SKIP
    >>> prof = tk.record(["python", "app.py"], rate=100)            # doctest: +SKIP
    >>> prof = tk.record(12345, duration=5)                         # doctest: +SKIP

``tk.record`` runs the ``py-spy`` binary the py-spy package installs (next to the Python
executable, else on PATH), writes speedscope to a temporary file and reads it back. When py-spy
cannot run or attach, a :class:`ProfilerError` says why and how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import ProfilerError
from .model import Profile

ENGINES = ("pyinstrument", "cprofile")


class Profiling:
    """What ``with tk.profiling() as p`` gives: once the block exits, ``p`` answers as the
    :class:`Profile` itself (``p.functions()``, ``p.duration_s``, ``tk.plots.flame(p.profile)``)
    and ``p.profile`` is that Profile."""

    def __init__(self) -> None:
        self.profile: Profile | None = None

    def __getattr__(self, name: str) -> Any:
        # only called for names Profiling lacks: they are the Profile's
        profile = self.__dict__.get("profile")
        if profile is None:
            raise AttributeError(f"{name!r}: the profile is ready when the 'with tk.profiling()' block ends")
        return getattr(profile, name)

    def __repr__(self) -> str:
        return repr(self.profile) if self.profile is not None else "<Profiling: the with block is still running>"


@contextlib.contextmanager
def profiling(interval: float = 0.001, engine: str = "pyinstrument") -> Iterator[Profiling]:
    """Profile the ``with`` block in this process; ``p.profile`` holds the :class:`Profile`.

    ``interval``: pyinstrument's sampling interval in seconds; ``engine="cprofile"`` for
    deterministic (every call) profiling with exact call counts.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    holder = Profiling()
    if engine == "cprofile":
        import cProfile

        from .pstats import profile_from_stats

        prof = cProfile.Profile()
        prof.enable()
        try:
            yield holder
        finally:
            prof.disable()
            prof.create_stats()
            holder.profile = profile_from_stats(prof.stats)
        return
    from pyinstrument import Profiler

    from .pyinstrument import profile_from_session

    profiler = Profiler(interval=interval, async_mode="disabled")
    try:
        profiler.start()
    except RuntimeError as exc:  # e.g. another profiler is already running in this thread
        raise ProfilerError(f"pyinstrument cannot start: {exc}; stop the other profiler first") from exc
    try:
        yield holder
    finally:
        session = profiler.stop()
        holder.profile = profile_from_session(session.to_json())


def profile(fn: Callable[..., Any], *args: Any, interval: float = 0.001, engine: str = "pyinstrument",
            **kwargs: Any) -> Profile:
    """Call ``fn(*args, **kwargs)`` under pyinstrument (or cProfile) and return its Profile.

    The return value of ``fn`` is kept as ``profile.result``. ``interval`` and ``engine`` are
    this function's own keywords (not passed on).
    """
    with profiling(interval=interval, engine=engine) as p:
        result = fn(*args, **kwargs)
    assert p.profile is not None
    p.profile.result = result  # type: ignore[attr-defined]
    return p.profile


def pyspy_path() -> str:
    """The py-spy binary: next to ``sys.executable`` (the package's), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "py-spy")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("py-spy")
    if found:
        return found
    raise ProfilerError("py-spy is not installed: install it into this environment with "
                        f"`{sys.executable} -m pip install py-spy`")


def _explain(stderr: str, target: str) -> str:
    low = stderr.lower()
    if "permission denied" in low or "operation not permitted" in low or "ptrace" in low:
        return (f"py-spy is not allowed to attach to {target} (ptrace not permitted). Fix: run as root "
                "(sudo), or allow ptrace: `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`; in a "
                "container add the SYS_PTRACE capability (docker run --cap-add SYS_PTRACE). Or let "
                "tk.record start the program itself (pass a command, not a pid).")
    if "no such process" in low or "failed to find process" in low or "process not found" in low \
            or "esrch" in low or "check that the process is running" in low:
        return f"{target} is gone (the process exited or the pid is wrong); check the pid with `ps`."
    if "python version" in low or "failed to find python" in low or "interpreter" in low:
        return (f"py-spy cannot read the Python interpreter of {target}: it is not a Python process, or "
                f"its Python version is newer than this py-spy supports; upgrade py-spy "
                f"(`{sys.executable} -m pip install -U py-spy`).")
    if "no such file" in low or "not found" in low:
        return f"the command to profile could not be started ({stderr.strip().splitlines()[0][:300]})"
    first = stderr.strip().splitlines()[0][:400] if stderr.strip() else "no message"
    return f"py-spy failed on {target}: {first}"


def record(cmd_or_pid: int | str | Sequence[str], duration: float | None = None, rate: int = 100, *,
           idle: bool = False, subprocesses: bool = False, native: bool = False,
           gil: bool = False, timeout: float | None = None, keep: str | os.PathLike | None = None) -> Profile:
    """Sample a program with py-spy and return its :class:`Profile` (read from speedscope).

    ``cmd_or_pid``: a command (a list of arguments, or a string split like a shell would) that
    py-spy starts, or the pid (int) of a running Python process. ``duration`` seconds (None:
    until the program exits; py-spy takes whole seconds), ``rate`` samples per second; ``idle``,
    ``subprocesses``, ``native``, ``gil`` map to py-spy's ``--idle``, ``-s``, ``--native``,
    ``--gil``. Threads are always kept apart (the ``thread`` column: ``NAME (TID)``).
    ``keep``: also keep the speedscope file at this path. ``timeout``: give up after this
    many seconds (default: duration + 30 s when a duration is given).
    """
    exe = pyspy_path()
    if isinstance(cmd_or_pid, bool) or not isinstance(cmd_or_pid, (int, str, list, tuple)):
        raise ProfilerError(f"record takes a command or a pid, not {type(cmd_or_pid).__name__}")
    fd, tmp = tempfile.mkstemp(prefix="tk-record-", suffix=".speedscope.json")
    os.close(fd)
    argv = [exe, "record", "-f", "speedscope", "-o", tmp, "-r", str(int(rate))]
    if duration is not None:
        argv += ["-d", str(max(1, int(round(duration))))]
    argv += [flag for on, flag in ((idle, "--idle"), (subprocesses, "-s"), (native, "--native"), (gil, "--gil"))
             if on]
    if isinstance(cmd_or_pid, int):
        argv += ["-p", str(cmd_or_pid)]
        target = f"process {cmd_or_pid}"
    else:
        cmd = shlex.split(cmd_or_pid) if isinstance(cmd_or_pid, str) else [str(a) for a in cmd_or_pid]
        if not cmd:
            raise ProfilerError("record needs a command to run or a pid")
        argv += ["--", *cmd]
        target = f"`{shlex.join(cmd)}`"
    if timeout is None and duration is not None:
        timeout = duration + 30
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        _unlink(tmp)
        raise ProfilerError(f"py-spy on {target} did not finish within {timeout} s; pass duration=") from None
    try:
        if not os.path.getsize(tmp):
            raise ProfilerError(_explain(res.stderr + res.stdout, target))
        from .speedscope import read_speedscope

        prof = read_speedscope(tmp)
        if keep is not None:
            shutil.copyfile(tmp, keep)
    finally:
        _unlink(tmp)
    prof.path = os.fspath(keep) if keep is not None else None
    prof.rate_hz = float(rate)
    prof.rate_assumed = False
    prof.format = "py-spy record"
    prof.notes.append("recorded with: py-spy " + shlex.join(a if a != tmp else "OUT" for a in argv[1:]))
    prof.meta["returncode"] = res.returncode
    prof.meta["pyspy_output"] = (res.stdout + res.stderr).strip()[-2000:]
    if res.returncode != 0:
        prof.notes.append(f"the profiled program exited with status {res.returncode}")
    return prof


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
