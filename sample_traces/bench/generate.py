"""Write the benchmark and load-test samples with the real tools, on demo/ (planted changes).

    python3 -m venv /tmp/bench-tools
    /tmp/bench-tools/bin/pip install pytest-benchmark==5.3.1 asv==0.6.6 locust==2.47.0
    apt-get install hyperfine wrk          # Debian 12: hyperfine 1.15.0, wrk 4.1.0
    /tmp/bench-tools/bin/python sample_traces/bench/generate.py [--only TOOL,...]

TOOL is one of pytest-benchmark, hyperfine, asv, locust, wrk, profiles. Runs of the base and the
head version alternate (base, head, base, ...) so that both meet the same background load; the
machine's load average (os.getloadavg) before and after every run goes to runs.json with the
command, the tool's version and the times. Load tests send traffic only to demo/app.py on
127.0.0.1, for a fixed number of seconds. py-spy comes from the project's own virtualenv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE / "demo"
TOOLS = Path(sys.executable).parent
PYSPY = shutil.which("py-spy") or str(HERE.parents[1] / ".venv" / "bin" / "py-spy")
MANIFEST = HERE / "runs.json"


def _busy() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(x) for x in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def wait_for_quiet(max_busy_cores: float = 0.6, timeout: float = 60.0) -> float:
    """Wait (at most ``timeout`` s) until the other jobs on this shared machine use less than
    ``max_busy_cores`` cores over 3 s; returns the busy cores last seen. Every tool here measures
    the machine as well as the code: a run next to another developer's test suite is slower."""
    end = time.time() + timeout
    while True:
        b0, t0 = _busy()
        time.sleep(3)
        b1, t1 = _busy()
        cores = (os.cpu_count() or 1) * (b1 - b0) / max(t1 - t0, 1)
        if cores < max_busy_cores or time.time() > end:
            return round(cores, 2)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def version_of(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0]


class Manifest:
    """runs.json: one entry per tool run, with the load around it."""

    def __init__(self) -> None:
        self.runs = json.loads(MANIFEST.read_text())["runs"] if MANIFEST.exists() else []

    def run(self, tool: str, outputs: list[str], cmd: list[str], version: str, shop_version: str,
            tool_version: str, **kw) -> subprocess.CompletedProcess:
        env = {**os.environ, "SHOP_VERSION": shop_version, "PYTHONPATH": str(DEMO), **kw.pop("env", {})}
        busy = wait_for_quiet() if kw.pop("quiet", True) else None
        entry = {"tool": tool, "tool_version": tool_version, "outputs": outputs, "shop_version": shop_version,
                 "label": version, "command": " ".join(cmd), "started": now(), "loadavg_before": load(),
                 "other_jobs_busy_cores_before": busy}
        print(f"[{tool}] {version}: {' '.join(cmd)}", flush=True)
        proc = subprocess.run(cmd, env=env, **kw)
        entry.update(ended=now(), loadavg_after=load(), exit_code=proc.returncode)
        self.runs = [r for r in self.runs if r["outputs"] != outputs] + [entry]
        for r in self.runs:  # paths relative to the repository, as a reader's checkout has them
            r["command"] = r["command"].replace(f"{HERE.parents[1]}/", "")
        MANIFEST.write_text(json.dumps({"runs": self.runs}, indent=1) + "\n")
        return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """demo/app.py on 127.0.0.1, one version."""

    def __init__(self, shop_version: str):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(DEMO / "app.py"), str(self.port)],
                                     env=dict(os.environ, SHOP_VERSION=shop_version, PYTHONPATH=str(DEMO)))
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("app.py did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# Base and head alternate, run after run, so that both meet the same background load on the
# shared machine (a load that changes over minutes moves both sides alike); every side is a
# folder of runs, and the runs of the unchanged base are its re-runs (A/A).
PAIRS = 6


def interleaved(pairs: int) -> list[tuple[str, str]]:
    """(shop version, run label): base-01, head-01, base-02, head-02, ..."""
    return [(version, f"{version}-{i:02d}") for i in range(1, pairs + 1) for version in ("base", "head")]


def _pytest_benchmark(tmp: str, *options: str) -> tuple[list[str], str]:
    """The pytest command that runs demo/bench_shop.py in ``tmp`` (its own empty pytest.ini), and
    the tool's version."""
    py = str(TOOLS / "python")
    version = version_of([py, "-c", "import pytest_benchmark; print('pytest-benchmark', pytest_benchmark.__version__)"])
    ini = Path(tmp) / "pytest.ini"
    ini.write_text("[pytest]\n")
    return [py, "-m", "pytest", "-c", str(ini), "--rootdir", tmp, "-q", "-p", "no:cacheprovider",
            str(DEMO / "bench_shop.py"), "--benchmark-columns=min,median,mean,iqr,rounds",
            # CPU time of this process: time spent waiting for a core that another job on the
            # shared machine holds is not the code's (wall time drifted 7% between A/A runs)
            "--benchmark-timer=time.process_time", "--benchmark-disable-gc", *options], version


def pytest_benchmark(m: Manifest) -> None:
    out = HERE / "pytest-benchmark"
    for version in ("base", "head"):
        shutil.rmtree(out / version, ignore_errors=True)
        (out / version).mkdir(parents=True)
    wait_for_quiet()
    with tempfile.TemporaryDirectory() as tmp:
        for shop_version, label in interleaved(PAIRS):
            path = out / shop_version / f"{label}.json"
            cmd, version = _pytest_benchmark(tmp, f"--benchmark-json={path}", "--benchmark-save-data")
            m.run("pytest-benchmark", [str(path.relative_to(HERE))], cmd, label, shop_version, version, cwd=tmp,
                  check=True, quiet=False)
    pytest_benchmark_summary(m)
    # pytest-benchmark's own comparison table of the first pair, for the contract test.
    compare = subprocess.run([str(TOOLS / "pytest-benchmark"), "compare", "base/base-01.json", "head/head-01.json",
                              "--columns=min,max,mean,median,rounds", "--sort=name"],
                             capture_output=True, text=True, check=True, cwd=out)
    (out / "compare.txt").write_text(compare.stdout)
    shutil.rmtree(out / ".benchmarks", ignore_errors=True)  # the storage folder compare creates


def pytest_benchmark_summary(m: Manifest) -> None:
    """A run saved to pytest-benchmark's storage (--benchmark-save) without --benchmark-save-data:
    the file then has the summary statistics only (--benchmark-json always writes the rounds)."""
    out = HERE / "pytest-benchmark"
    with tempfile.TemporaryDirectory() as tmp:
        cmd, version = _pytest_benchmark(tmp, "--benchmark-save=head-summary-only",
                                         f"--benchmark-storage=file://{tmp}/storage")
        m.run("pytest-benchmark", ["pytest-benchmark/head-summary-only.json"], cmd, "head-summary-only", "head",
              version, cwd=tmp, check=True)
        saved = next(Path(tmp, "storage").rglob("*head-summary-only.json"))
        shutil.copy(saved, out / "head-summary-only.json")


HYPERFINE_CALLS = [("parse_orders", 50), ("render_invoice", 400), ("dedupe_skus", 200), ("checksum", 1000)]


def hyperfine(m: Manifest) -> None:
    out = HERE / "hyperfine"
    for version in ("base", "head"):
        shutil.rmtree(out / version, ignore_errors=True)
        (out / version).mkdir(parents=True)
    version = version_of(["hyperfine", "--version"])
    wait_for_quiet()
    for shop_version, label in interleaved(3):
        # -N: no intermediate shell; the interpreter by absolute path (a pyenv shim is a shell script).
        cmd = ["hyperfine", "-N", "--runs", "15", "--warmup", "2", "--style", "basic", "--export-json", f"{label}.json"]
        for name, repeat in HYPERFINE_CALLS:
            cmd += ["-n", name, f"{sys.executable} shop_cli.py {name} {repeat}"]
        m.run("hyperfine", [f"hyperfine/{shop_version}/{label}.json"], cmd, label, shop_version, version, cwd=DEMO,
              check=True, quiet=False)
        (DEMO / f"{label}.json").replace(out / shop_version / f"{label}.json")
    # A parameter scan: the same command over --parameter-list values.
    cmd = ["hyperfine", "-N", "--runs", "10", "--style", "basic", "--export-json", "scan.json",
           "--parameter-list", "repeat", "500,1000,2000", "-n", "checksum x{repeat}",
           f"{sys.executable} shop_cli.py checksum {{repeat}}"]
    m.run("hyperfine", ["hyperfine/scan.json"], cmd, "scan", "base", version, cwd=DEMO, check=True)
    (DEMO / "scan.json").replace(out / "scan.json")


# asv history: one commit per step; the planted changes land at commits 4, 6 and 9 (so that
# every level has at least two runs, and the last one four).
HISTORY = {4: "dict_dedupe", 6: "copy_orders", 9: "rerender"}
COMMITS = 12


def asv(m: Manifest) -> None:
    out = HERE / "asv"
    asv_bin = str(TOOLS / "asv")
    version = version_of([asv_bin, "--version"])
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "shop"
        (repo / "benchmarks").mkdir(parents=True)
        (repo / "benchmarks" / "__init__.py").write_text("")
        shutil.copy(DEMO / "asv_benchmarks.py", repo / "benchmarks" / "bench_shop.py")
        (repo / "asv.conf.json").write_text(json.dumps({
            "version": 1, "project": "shop", "project_url": "", "repo": ".", "branches": ["main"],
            "environment_type": "existing", "benchmark_dir": "benchmarks", "results_dir": "results",
            "html_dir": "html"}, indent=1))
        git = ["git", "-c", "user.name=demo", "-c", "user.email=demo@localhost"]
        subprocess.run(git + ["init", "-q", "-b", "main"], cwd=repo, check=True)
        source = (DEMO / "shop.py").read_text()
        changes: list[str] = []
        hashes = []
        for n in range(1, COMMITS + 1):
            if n in HISTORY:
                changes.append(HISTORY[n])
            # Each commit's shop.py has its own set of changes written in.
            text = re.sub(r"^CHANGES = .*?\n(?=\S)", f"CHANGES = {sorted(changes)!r}\n", source, count=1,
                          flags=re.M | re.S)
            (repo / "shop.py").write_text(text)
            (repo / "CHANGES").write_text(f"commit {n}: {', '.join(changes) or 'base'}\n")
            subprocess.run(git + ["add", "-A"], cwd=repo, check=True)
            # one commit a day, so that asv's commit dates order the history
            date = f"2026-11-{n:02d}T12:00:00+00:00"
            subprocess.run(git + ["commit", "-q", "-m", f"commit {n}: {HISTORY.get(n, 'no change to speed')}"],
                           cwd=repo, check=True, env=dict(os.environ, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date))
            hashes.append(subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                         check=True).stdout.strip())
        subprocess.run([asv_bin, "machine", "--yes", "--machine", "demo"], cwd=repo, check=True,
                       capture_output=True)
        # The commits run in a shuffled order, twice (the second pass appends its samples): a burst
        # of load from other jobs on the shared machine then falls on scattered commits, not on a
        # stretch of the history, where it would look like a step.
        m.runs = [r for r in m.runs if r["tool"] != "asv"]  # this step's earlier runs are replaced
        wait_for_quiet()
        for rnd in range(2):
            order = random.Random(rnd).sample(range(1, COMMITS + 1), COMMITS)
            for n in order:
                commit = hashes[n - 1]
                subprocess.run(["git", "checkout", "-q", commit], cwd=repo, check=True)
                m.run("asv", [f"asv/results/demo/{commit[:8]} pass {rnd + 1}"],
                      [asv_bin, "run", "-E", f"existing:{sys.executable}", "--set-commit-hash", commit,
                       "--record-samples", "--show-stderr", *(["--append-samples"] if rnd else [])],
                      f"commit {n}", "base", version, cwd=repo, check=True, quiet=False)
        # asv's own comparison across the commit that makes parse_orders slower
        landed = next(n for n, change in HISTORY.items() if change == "copy_orders")
        compare = subprocess.run([asv_bin, "compare", "--split", "--factor", "1.05", hashes[landed - 2],
                                  hashes[landed - 1]], cwd=repo, capture_output=True, text=True, check=True)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(repo / "results", out / "results")
        (out / f"compare_{landed - 1}_{landed}.txt").write_text(compare.stdout)
        (out / "commits.txt").write_text("".join(
            f"{h} commit {n}: {', '.join(c for k, c in HISTORY.items() if k <= n) or 'base'}\n"
            for n, h in enumerate(hashes, 1)))


def locust(m: Manifest) -> None:
    out = HERE / "locust"
    out.mkdir(exist_ok=True)
    version = version_of([str(TOOLS / "locust"), "--version"])
    for shop_version, label in (("base", "base"), ("head", "head")):
        with App(shop_version) as app:
            m.run("locust", [f"locust/{label}_stats.csv", f"locust/{label}.html"],
                  [str(TOOLS / "locust"), "-f", str(DEMO / "locustfile.py"), "--headless", "-u", "6", "-r", "6",
                   "-t", "15s", "--host", app.url, "--csv", str(out / label), "--html", str(out / f"{label}.html"),
                   "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
                  label, shop_version, version, check=True)


def wrk(m: Manifest) -> None:
    out = HERE / "wrk"
    out.mkdir(exist_ok=True)
    version = version_of(["wrk", "-v"])
    for shop_version, label in (("base", "base"), ("head", "head")):
        with App(shop_version) as app:
            with open(out / f"{label}_report.txt", "w") as fh:
                m.run("wrk", [f"wrk/{label}_report.txt"],
                      ["wrk", "-t2", "-c4", "-d5s", "--latency", f"{app.url}/api/report"], label, shop_version,
                      version, stdout=fh, check=True)
            if shop_version == "base":
                with open(out / "base_cart.txt", "w") as fh:
                    m.run("wrk", ["wrk/base_cart.txt"], ["wrk", "-t1", "-c2", "-d3s", f"{app.url}/api/cart"],
                          "base-cart", shop_version, version, stdout=fh, check=True)


def profiles(m: Manifest) -> None:
    out = HERE / "profiles"
    out.mkdir(exist_ok=True)
    version = version_of([PYSPY, "--version"])
    # py-spy writes absolute file names: run a copy of the demo from a neutral folder, so that the
    # profiles name /tmp/shop-demo/shop.py and not the checkout they were made in
    demo = Path("/tmp/shop-demo")
    shutil.rmtree(demo, ignore_errors=True)
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns("__pycache__"))
    for shop_version, label in (("base", "base"), ("head", "head")):
        m.run("py-spy", [f"profiles/{label}_parse_orders.speedscope.json"],
              [PYSPY, "record", "-r", "250", "-f", "speedscope", "-o",
               str(out / f"{label}_parse_orders.speedscope.json"), "--", sys.executable, "shop_cli.py",
               "parse_orders", "1000"], label, shop_version, version, cwd=demo, check=True,
              env={"PYTHONPATH": str(demo)})
    shutil.rmtree(demo, ignore_errors=True)


STEPS = {"pytest-benchmark": pytest_benchmark, "pytest-benchmark-summary": pytest_benchmark_summary, "hyperfine": hyperfine, "asv": asv, "locust": locust,
         "wrk": wrk, "profiles": profiles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated: " + ", ".join(STEPS))
    args = parser.parse_args()
    m = Manifest()
    for name in args.only.split(","):
        STEPS[name](m)


if __name__ == "__main__":
    main()
