"""Regenerate every profile in this folder from demo.py with the real tools.

    cd sample_traces/profiles && /work/venv/bin/python make_traces.py

Runs py-spy (raw, speedscope, chrometrace and the -t / --idle / --nolineno / --full-filenames /
-s / --native variants), pyinstrument (one session saved as .pyisession, rendered to -r json and
-r speedscope from that same session) and cProfile on ``demo.py`` (slow) and ``demo.py --fixed``.
Writes README.md (tool versions, exact commands) and producers.json: what the producing tools
themselves report (py-spy's "Samples: N", pyinstrument's session duration and sample count,
pstats' total_tt and its top functions by tottime), which the contract tests compare against.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import pstats
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
BIN = Path(PY).parent
PYSPY = str(BIN / "py-spy")
PYINSTRUMENT = str(BIN / "pyinstrument")
TAG = "batch;nightly\nrun=7"  # a command line with ';' and a newline, for py-spy -s

RUNS: list[tuple[str, list[str]]] = []  # (output file, command) in run order


def cmd(out: str, argv: list[str]) -> list[str]:
    RUNS.append((out, argv))
    return argv


def pyspy(out: str, fmt: str, *flags: str, fixed: bool = False, n: int | None = None) -> dict:
    argv = [PYSPY, "record", "-f", fmt, "-o", out, *flags, "--", PY, "demo.py"]
    if fixed:
        argv.append("--fixed")
    if n:
        argv += ["-n", str(n)]
    if "-s" in flags:
        argv += ["--tag", TAG]
    cmd(out, argv)
    res = subprocess.run(argv, cwd=HERE, capture_output=True, text=True, check=True)
    m = re.search(r"Samples: (\d+) Errors: (\d+)", res.stdout + res.stderr)
    return {"tool": "py-spy", "format": fmt, "flags": list(flags), "samples": int(m.group(1)),
            "errors": int(m.group(2)), "rate_hz": 100}


def pyinstrument_session(stem: str, fixed: bool) -> dict:
    from pyinstrument.session import Session

    session_path = f"pyinstrument/{stem}.pyisession"
    argv = [PYINSTRUMENT, "-r", "pyisession", "-o", session_path, "demo.py"] + (["--fixed"] if fixed else [])
    subprocess.run(cmd(session_path, argv), cwd=HERE, check=True, capture_output=True)
    for renderer, suffix in (("json", "json"), ("speedscope", "speedscope.json")):
        out = f"pyinstrument/{stem}.{suffix}"
        argv = [PYINSTRUMENT, "--load", session_path, "-r", renderer, "-o", out]
        subprocess.run(cmd(out, argv), cwd=HERE, check=True, capture_output=True)
    session = Session.load(str(HERE / session_path))
    root = session.root_frame()
    # the session is large and repetitive: keep it gzipped (mtime 0: same bytes on every run)
    raw = (HERE / session_path).read_bytes()
    with open(HERE / (session_path + ".gz"), "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0,
                                                                       filename="") as gz:
        gz.write(raw)
    (HERE / session_path).unlink()
    return {"tool": "pyinstrument", "duration_s": session.duration, "sample_count": session.sample_count,
            "root_frame_time_s": root.time if root else 0.0,
            "frame_records_s": sum(t for _, t in session.frame_records)}


def cprofile(stem: str, fixed: bool) -> dict:
    out = f"cprofile/{stem}.prof"
    argv = [PY, "-m", "cProfile", "-o", out, "demo.py"] + (["--fixed"] if fixed else [])
    subprocess.run(cmd(out, argv), cwd=HERE, check=True, capture_output=True)
    st = pstats.Stats(str(HERE / out))
    st.sort_stats("tottime")
    top = [{"file": f, "line": ln, "function": fn, "tottime_s": st.stats[(f, ln, fn)][2],
            "cumtime_s": st.stats[(f, ln, fn)][3]} for (f, ln, fn) in st.fcn_list[:5]]
    return {"tool": "cProfile", "total_tt_s": st.total_tt, "functions": len(st.stats), "top_tottime": top}


def version(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def main() -> None:
    for d in ("py-spy", "pyinstrument", "cprofile"):
        (HERE / d).mkdir(exist_ok=True)
    facts: dict[str, dict] = {}
    for stem, fixed in (("demo_slow", False), ("demo_fixed", True)):
        facts[f"py-spy/{stem}.txt"] = pyspy(f"py-spy/{stem}.txt", "raw", fixed=fixed)
        facts[f"py-spy/{stem}.speedscope.json"] = pyspy(f"py-spy/{stem}.speedscope.json", "speedscope", fixed=fixed)
        facts[f"py-spy/{stem}.chrometrace.json"] = pyspy(f"py-spy/{stem}.chrometrace.json", "chrometrace",
                                                        fixed=fixed)
    # variants, on a smaller input (shorter runs, smaller files)
    small = 3000
    facts["py-spy/demo_threads.txt"] = pyspy("py-spy/demo_threads.txt", "raw", "-t", n=small)
    facts["py-spy/demo_idle.txt"] = pyspy("py-spy/demo_idle.txt", "raw", "--idle", "-t", n=small)
    facts["py-spy/demo_nolineno.txt"] = pyspy("py-spy/demo_nolineno.txt", "raw", "--nolineno", n=small)
    facts["py-spy/demo_fullpath.txt"] = pyspy("py-spy/demo_fullpath.txt", "raw", "--full-filenames", n=small)
    facts["py-spy/demo_subprocess.txt"] = pyspy("py-spy/demo_subprocess.txt", "raw", "-s", "-t", n=small)
    facts["py-spy/demo_native.txt"] = pyspy("py-spy/demo_native.txt", "raw", "--native", n=small)
    facts["py-spy/demo_threads.speedscope.json"] = pyspy("py-spy/demo_threads.speedscope.json", "speedscope",
                                                         "--idle", n=small)
    for stem, fixed in (("demo_slow", False), ("demo_fixed", True)):
        session = pyinstrument_session(stem, fixed)
        for suffix in ("pyisession.gz", "json", "speedscope.json"):
            facts[f"pyinstrument/{stem}.{suffix}"] = session
        facts[f"cprofile/{stem}.prof"] = cprofile(stem, fixed)
    (HERE / "producers.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    write_readme()


def write_readme() -> None:
    versions = {
        "Python": platform.python_version(),
        "py-spy": version([PYSPY, "--version"]),
        "pyinstrument": version([PYINSTRUMENT, "--version"]),
        "cProfile": f"standard library of Python {platform.python_version()}",
    }
    lines = ["# Profiles of a small batch job, slow and fixed", "",
             "`demo.py` parses JSON orders, enriches them, de-duplicates and writes CSV. Its hot spot",
             "is `dedupe`, which checks membership in a list (O(n^2)); `--fixed` uses a set. Every file",
             "here was written by the tool named in its folder; `make_traces.py` regenerates them all",
             "(`cd sample_traces/profiles && /work/venv/bin/python make_traces.py`).",
             "`producers.json` holds what the tools themselves reported for each file (py-spy's",
             "`Samples: N`, pyinstrument's session duration, pstats' `total_tt` and top functions by",
             "tottime); the contract tests compare the readers against it.", "",
             "## Tool versions", ""]
    lines += [f"- {k}: {v}" for k, v in versions.items()]
    lines += ["", f"Machine: {platform.machine()} {platform.system()} (shared 2-core container).", "",
              "## Commands (run in this folder, in this order)", "", "```"]
    for _, argv in RUNS:
        shown = [os.path.basename(a) if a in (PY, PYSPY, PYINSTRUMENT) else a for a in argv]
        lines.append(" ".join(repr(a) if any(c in a for c in " ;\n") else a for a in shown))
    lines += ["```", "", "## Files", "",
              "- `py-spy/*.txt`: `--format raw` (collapsed stacks); `demo_threads` (-t), `demo_idle` (--idle -t),",
              "  `demo_nolineno`, `demo_fullpath` (--full-filenames), `demo_subprocess` (-s -t; the command",
              "  line holds `;` and a newline), `demo_native` (--native) run on 3,000 orders.",
              "- `py-spy/*.speedscope.json`, `py-spy/*.chrometrace.json`: the other py-spy formats.",
              "- `pyinstrument/*.pyisession.gz`: the raw session (gzipped after rendering); `*.json` and `*.speedscope.json` rendered from it.",
              "- `cprofile/*.prof`: `python -m cProfile -o`.", ""]
    (HERE / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
