"""Access-log throughput and peak memory: perf-toolkit beside GoAccess on the same file, same run.

    python benchmarks/http.py --size-mb 500

Builds ``benchmarks/data/http_combined_<N>MB.log`` by repeating the nginx sample
(sample_traces/http/nginx/combined.log.gz) with timestamps shifted by the sample's span per copy,
then runs, each in its own process, back to back on that file:

1. ``goaccess FILE --log-format=COMBINED -o out.json`` (Debian's GoAccess);
2. ``tk.endpoints(FILE, log_format="combined")``: the streaming read + endpoint table;
3. the same with ``jobs=2`` (two worker processes, each reading and aggregating half of the
   file's bytes);
4. ``tk.endpoints(tk.read_access_log(FILE))``: the whole table in memory, then the endpoints.

Wall time, throughput (MB/s of log) and peak RSS (``wait4`` of the child) are printed as a
Markdown table for benchmarks/RESULTS.md. The machine's CPU is shared: run it when quiet, and
read the figures as a ratio between tools run in the same minute.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_traces" / "http" / "nginx" / "combined.log.gz"
DATA = ROOT / "benchmarks" / "data"
_TIME = re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}) \+0000\]")


def build_log(size_mb: int) -> Path:
    """Repeat the sample, shifting each copy's timestamps past the previous copy's."""
    out = DATA / f"http_combined_{size_mb}MB.log"
    if out.exists() and out.stat().st_size >= size_mb * 1_000_000:
        return out
    DATA.mkdir(parents=True, exist_ok=True)
    lines = gzip.decompress(SAMPLE.read_bytes()).decode("utf-8", "surrogateescape").splitlines(keepends=True)
    fmt = "%d/%b/%Y:%H:%M:%S"
    parts, stamps = [], []
    for line in lines:
        m = _TIME.search(line)
        parts.append((line[:m.start(1)], line[m.end(1):]))
        stamps.append(datetime.strptime(m.group(1), fmt))
    t0 = min(stamps)
    offsets = [(s - t0).total_seconds() for s in stamps]
    span = max(offsets) + 1
    target = size_mb * 1_000_000
    written = 0
    with open(out, "w", encoding="utf-8", errors="surrogateescape") as fh:
        copy = 0
        while written < target:
            base = t0 + timedelta(seconds=copy * span)
            cache: dict[float, str] = {}
            chunk = []
            for (head, tail), off in zip(parts, offsets, strict=True):
                stamp = cache.get(off)
                if stamp is None:
                    stamp = cache[off] = (base + timedelta(seconds=off)).strftime(fmt)
                chunk.append(head + stamp + tail)
            text = "".join(chunk)
            fh.write(text)
            written += len(text.encode("utf-8", "surrogateescape"))
            copy += 1
    return out


def run(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds (user + sys), peak RSS in MB, stdout) of a child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


OURS_STREAM = ("import sys, toolkit as tk; e = tk.endpoints(sys.argv[1], log_format='combined'); "
               "print(int(e['requests'].sum()), e.attrs['source']['lines_skipped'])")
OURS_JOBS2 = ("import sys, toolkit as tk; e = tk.endpoints(sys.argv[1], log_format='combined', jobs=2); "
              "print(int(e['requests'].sum()), e.attrs['source']['lines_skipped'])")
OURS_TABLE = ("import sys, toolkit as tk; df = tk.read_access_log(sys.argv[1]); e = tk.endpoints(df); "
              "print(int(e['requests'].sum()), df.attrs['source']['lines_skipped'])")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each tool (the best is kept)")
    ap.add_argument("--skip-table", action="store_true", help="skip the in-memory variant")
    args = ap.parse_args()
    goaccess = shutil.which("goaccess")
    if not goaccess:
        raise SystemExit("goaccess is not installed (apt-get install goaccess)")
    log = build_log(args.size_mb)
    mb = log.stat().st_size / 1e6
    lines = sum(1 for _ in open(log, "rb"))
    print(f"log: {log} ({mb:.0f} MB, {lines} lines)", file=sys.stderr)
    py = sys.executable
    load_start = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        variants = [
            ("GoAccess 1.7 (`--log-format=COMBINED -o out.json`)",
             [goaccess, str(log), "--log-format=COMBINED", "-o", f"{tmp}/out.json", "--no-progress"]),
            ("perf-toolkit `tk.endpoints(path)` (streaming read + endpoints)", [py, "-c", OURS_STREAM, str(log)]),
            ("perf-toolkit `tk.endpoints(path, jobs=2)` (2 worker processes, a byte range each)", [py, "-c", OURS_JOBS2, str(log)]),
        ]
        if not args.skip_table:
            variants.append(("perf-toolkit `tk.read_access_log` + `tk.endpoints(df)` (in memory)",
                             [py, "-c", OURS_TABLE, str(log)]))
        for name, cmd in variants:
            best = None
            for _ in range(args.repeat):
                wall, cpu, rss, out = run(cmd)
                print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MB {out.strip()}", file=sys.stderr)
                if best is None or wall < best[0]:
                    best = (wall, cpu, rss, out.strip())
            if name.startswith("GoAccess"):
                import json
                general = json.loads(Path(f"{tmp}/out.json").read_text())["general"]
                best = (*best[:3], f"{general['valid_requests']} valid, {general['failed_requests']} failed")
                print(f"GoAccess: {best[3]}", file=sys.stderr)
            results.append((name, *best))
    base_wall, base_cpu = results[0][1], results[0][2]
    load = os.getloadavg()[0]
    print(f"\nInput: {mb:.0f} MB, {lines:,} lines ({log.name}); {os.cpu_count()} CPUs shared with other jobs "
          f"(1-minute load average {load_start:.1f} at the start, {load:.1f} at the end).\n")
    print("| tool | wall s | MB/s (wall) | x GoAccess (wall) | CPU s | MB/s (CPU) | x GoAccess (CPU) | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, wall, cpu, rss, _out in results:
        print(f"| {name} | {wall:.1f} | {mb / wall:.1f} | {base_wall / wall:.1f} | {cpu:.1f} | {mb / cpu:.1f} "
              f"| {base_cpu / cpu:.1f} | {rss:.0f} |")
    print("\nTotals: " + "; ".join(f"{name.split(' (')[0]}: {out}" for name, *_, out in results)
          + " (ours: requests in the endpoint table, lines skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
