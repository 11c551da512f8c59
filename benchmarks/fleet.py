"""The Dask engine on a fleet's logs: wall time and peak memory per worker on a LocalCluster of 1
and 2 worker processes, beside pgBadger -j 2 and GoAccess on the same files (issue #18).

    python benchmarks/fleet.py --gb 1 --files 20       # 1 GB of each kind, 20 files of each
    python benchmarks/fleet.py --gb 5 --files 20       # the issue's size (about 15 min of pgBadger)

The logs are the samples repeated with shifted times (toolkit.distributed.fleet.write_copies:
PostgreSQL stderr from sample_traces/queries/postgresql/app, nginx's ``perf`` log_format from
sample_traces/http/nginx/access.log.gz), one host per file, host k shifted by k x 37 s; they are
written to benchmarks/data/fleet/ (kept for the next run: ``--regenerate`` writes them again).

Measured, each in its own run, back to back:

1. ours, Dask, the direct path (the default): ``toolkit.distributed.direct.digest_files(files)``
   and ``endpoint_files(files)``, the local byte-range digests run on the workers, no DataFrame
   built; with ``--frames`` the frame path instead: ``tk.digest(tk.read_queries(files,
   engine="dask"))`` and ``tk.endpoints(tk.read_access_log(files, engine="dask"))``. Default
   partitions: a 16th of the input, at most 64 MiB. On a fresh LocalCluster of 1 and of 2
   single-threaded worker processes (the time includes starting the cluster); peak memory per
   worker is each worker process's ``ru_maxrss`` after the run; ``final_state``: the size of
   the merged state at the top of the tree (pickled bytes, groups, the distinct durations or
   latencies kept for exact percentiles, the calls they count), measured on the client;
2. ``goaccess FILES --log-format='%h - %e [%d:%t %^] "%r" %s %b "%R" "%u" rt=%T %^' -o out.json``
   on the 20 access logs (GoAccess is one process: no -j);
3. ``pgbadger -j 2 -f stderr -p '%m [%p] %q%u@%d ' -x text`` on the 20 PostgreSQL logs, then the
   same with ``-J 2`` (pgBadger's other parallel mode: a process per file rather than per piece
   of one file).

``--growth`` measures only how one digest group's state grows with the calls when durations
vary as in a real log (:func:`state_growth`).

``--only ours`` / ``--only others`` runs one side (the established tools do not change with our
code, so at 5 GB they can be timed once and ours again after a change).

The load average (1 minute) is printed before and after each run: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# not benchmarks/ itself: its http.py would shadow the standard library's http (Dask imports it)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import toolkit as tk  # noqa: E402
from toolkit.distributed import cluster, direct, fleet  # noqa: E402
from toolkit.http.endpoints import EndpointAccumulator  # noqa: E402
from toolkit.queries.digest import DigestAccumulator  # noqa: E402
from toolkit.sources import open_source  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "fleet"
PG_PREFIX = "%m [%p] %q%u@%d "
GOACCESS = ['--log-format=%h - %e [%d:%t %^] "%r" %s %b "%R" "%u" rt=%T %^',
            "--date-format=%d/%b/%Y", "--time-format=%T"]


def generate(gb: float, files: int, regenerate: bool) -> tuple[list[str], list[str]]:
    """``files`` PostgreSQL logs and ``files`` access logs of ``gb`` GB each kind in all."""
    per_file = int(gb * 1e9 / files)
    out = {}
    for kind, sample in (("postgres", fleet.PG_SAMPLE), ("nginx", fleet.NGINX_SAMPLE)):
        folder = DATA / f"{kind}-{gb:g}gb-{files}"
        folder.mkdir(parents=True, exist_ok=True)
        text = open_source(sample).read_text()
        paths = []
        for k in range(files):
            path = folder / f"host-{k:02d}.log"
            if regenerate or not path.exists() or path.stat().st_size < per_file:
                fleet.write_copies(text, path, kind, shift_s=37.0 * k, target_bytes=per_file)
            paths.append(str(path))
        out[kind] = paths
    return out["postgres"], out["nginx"]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def state_figures(acc: DigestAccumulator | EndpointAccumulator) -> dict:
    """The size of a merged state: its pickled bytes (what the last merge task ships) and what it
    holds (groups; distinct durations or latencies kept for the percentiles; calls they count)."""
    if isinstance(acc, DigestAccumulator):
        groups = acc.groups.values()
        for g in groups:
            g.compact()
        return {"state_bytes": len(pickle.dumps(acc.groups)), "groups": len(acc.groups),
                "distinct_values": sum(len(g.values) for g in groups), "timed_calls": sum(g.timed for g in groups)}
    return {"state_bytes": len(pickle.dumps(acc)), "groups": len(acc.lat),
            "distinct_values": sum(len(v) for v, _ in acc.lat.values()),
            "timed_calls": sum(int(n.sum()) for _, n in acc.lat.values())}


@contextlib.contextmanager
def final_state(figures: dict):
    """While inside, the accumulator whose ``result()`` gives a table on this process (the
    client: the top of the merge tree, after the last merge) is kept as ``figures["state"]``
    (the library does not return its state, so its ``result`` is wrapped here)."""
    real = {cls: cls.result for cls in (DigestAccumulator, EndpointAccumulator)}

    def wrap(cls):
        def result(self):
            figures["state"] = self
            return real[cls](self)
        return result

    for cls in real:
        cls.result = wrap(cls)
    try:
        yield figures
    finally:
        for cls, method in real.items():
            cls.result = method


def ours(kind: str, paths: list[str], workers: int, frames: bool = False) -> dict:
    before = load()
    t0 = time.perf_counter()
    log_format = f"@{fleet.NGINX_FORMAT}"
    figures: dict = {}
    with cluster.client(jobs=workers, dashboard=False, memory_limit=0) as c, final_state(figures):
        if kind == "postgres":
            table = (tk.digest(tk.read_queries(paths, format="postgres-stderr", engine="dask")) if frames
                     else direct.digest_files(paths, format="postgres-stderr"))
            rows = int(table["calls"].sum())
        else:
            table = (tk.endpoints(tk.read_access_log(paths, log_format=log_format, engine="dask")) if frames
                     else direct.endpoint_files(paths, log_format=log_format))
            rows = int(table["requests"].sum())
        wall = time.perf_counter() - t0
        figures = state_figures(figures["state"])  # (after the clock: pickling it is not the run's)
        peaks = c.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
    path = "frame path" if frames else "direct"
    return {"tool": f"ours, Dask ({path}), {workers} worker(s)", "kind": kind, "wall_s": round(wall, 1),
            "peak_mb_per_worker": sorted(round(v / 1024) for v in peaks.values()),
            "rows": rows, "lines_read": table.attrs["source"]["lines_read"],
            "load_before": before, "load_after": load(), "final_state": figures}


def state_growth(calls: int = 100_000_000, batch: int = 1_000_000) -> list[dict]:
    """How a digest group's state grows with the calls, where durations vary as in a real log
    (the fleet's logs repeat the samples' durations, so their state does not grow at all):
    ``calls`` durations drawn from a log-normal (median 5 ms, sigma 1.5: 95% between 0.3 and
    95 ms, a tail beyond 1 s) rounded to PostgreSQL's 3 decimals, fed ``batch`` at a time (as
    frames to :meth:`DigestGroup.take`); after each power of ten: distinct values, pickled bytes."""
    import numpy as np

    from toolkit.queries.digest import DigestGroup

    rng = np.random.default_rng(18)
    g, rows, mark = DigestGroup(), [], 100_000
    while g.timed < calls:
        n = min(batch, mark - g.timed)
        d = np.round(rng.lognormal(np.log(5.0), 1.5, n), 3)
        g.take(n, n, float(d.sum()), float(d.max()), ("select ?", None, None), d)
        if g.timed == mark:
            g.compact()
            rows.append({"calls": g.timed, "distinct_values": len(g.values), "state_bytes": len(pickle.dumps(g))})
            print(json.dumps(rows[-1]), flush=True)
            mark *= 10
    return rows


def external(label: str, kind: str, cmd: list[str]) -> dict:
    before = load()
    t0 = time.perf_counter()
    # run through a fresh Python whose children are only the tool's processes: their largest
    # ru_maxrss is the tool's peak (ours ran worker processes in this one)
    wrapper = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stderr.write(p.stderr[-2000:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed: {proc.stderr[-2000:]} {proc.stdout[-2000:]}")
    peak = int(proc.stdout.split()[-1])  # KiB
    return {"tool": label, "kind": kind, "wall_s": round(wall, 1), "peak_mb_per_worker": [round(peak / 1024)],
            "load_before": before, "load_after": load()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=1.0, help="GB of each kind of log (default 1)")
    ap.add_argument("--files", type=int, default=20, help="files of each kind (default 20)")
    ap.add_argument("--regenerate", action="store_true", help="write the logs again")
    ap.add_argument("--skip-others", action="store_true", help="ours only (no pgBadger, GoAccess)")
    ap.add_argument("--only", choices=("ours", "others"), help="time only ours, or only the established tools")
    ap.add_argument("--growth", action="store_true",
                    help="only measure how one digest group's state grows with 10^5 .. 10^8 calls")
    ap.add_argument("--frames", action="store_true",
                    help="ours by the frame path (DataFrames on the workers), not the direct digests")
    args = ap.parse_args(argv)
    if args.growth:
        state_growth()
        return 0
    t0 = time.perf_counter()
    pg, ng = generate(args.gb, args.files, args.regenerate)
    sizes = {k: sum(os.path.getsize(p) for p in ps) for k, ps in (("postgres", pg), ("nginx", ng))}
    print(f"generated/checked in {time.perf_counter() - t0:.0f} s: "
          f"{sizes['postgres'] / 1e9:.2f} GB PostgreSQL, {sizes['nginx'] / 1e9:.2f} GB nginx, "
          f"{args.files} files each; {os.cpu_count()} cores", flush=True)
    results = []
    for kind, paths in (("postgres", pg), ("nginx", ng)) if args.only != "others" else ():
        for workers in (1, 2):
            results.append(ours(kind, paths, workers, args.frames))
            print(json.dumps(results[-1]), flush=True)
    if not args.skip_others and args.only != "ours":
        out = DATA / "out"
        out.mkdir(exist_ok=True)
        results.append(external("GoAccess", "nginx",
                                ["goaccess", *ng, *GOACCESS, "-o", str(out / "goaccess.json"), "--no-progress"]))
        print(json.dumps(results[-1]), flush=True)
        for mode in ("-j", "-J"):
            results.append(external(f"pgBadger {mode} 2", "postgres",
                                    ["pgbadger", "-q", mode, "2", "-f", "stderr", "-p", PG_PREFIX, "-x", "text",
                                     # its own pid file: another pgBadger on the machine would refuse ours
                                     "--pid-dir", str(out), "-o", str(out / "pgbadger.txt"), *pg]))
            print(json.dumps(results[-1]), flush=True)
    print("\n| log | tool | wall s | MB/s | peak MB per worker | load before / after |")
    print("| --- | --- | ---: | ---: | --- | --- |")
    for r in results:
        mbs = sizes[r["kind"]] / 1e6 / r["wall_s"]
        print(f"| {r['kind']} | {r['tool']} | {r['wall_s']} | {mbs:.1f} | "
              f"{', '.join(map(str, r['peak_mb_per_worker']))} | {r['load_before']} / {r['load_after']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
