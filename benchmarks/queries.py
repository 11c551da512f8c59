#!/usr/bin/env python3
"""Slow-query log throughput: the toolkit's read + digest beside pgBadger and pt-query-digest.

    python benchmarks/queries.py [--pg-mb 500] [--mysql-mb 200] [--repeat 3] [--only pg|mysql] [--skip-j1]
    python benchmarks/queries.py --only fingerprint [--repeat 3]

``--only fingerprint`` times fingerprinting alone, per distinct statement (no cache can help):
100,000 distinct statements made from every statement of the PostgreSQL samples with their
numbers replaced by random ones, fingerprinted by ``fingerprint()`` (pt-query-digest's classes),
``fingerprint(readable=True)`` and pglast's C fingerprint (libpg_query), in this process, CPU
seconds (``time.process_time``) per round.

1. Builds big logs in ``benchmarks/data/`` by repeating the genuine sample logs with every
   timestamp shifted by one hour per copy:
   - ``pg-big.log``: PostgreSQL stderr (``sample_traces/queries/postgresql/app`` + ``pgbench``,
     log_line_prefix ``%m [%p] %q%u@%d ``, auto_explain text plans, extended-protocol traffic);
   - ``pg-simple.log`` (when made by ``benchmarks/make_pg_workload.py``): a second server
     configured otherwise (``%t`` prefix with user/db/app/client, log_statement=all +
     log_duration, JSON auto_explain of 2% of statements, simple-protocol pgbench: tens of
     thousands of distinct literal statements), timed as it is;
   - ``mariadb-big-slow.log``: MariaDB slow log (``sample_traces/queries/mariadb`` app + clean,
     ``SET timestamp=`` and ``# Time:`` shifted; restart banners included);
   - ``mariadb-sysbench-slow.log`` (when made by ``benchmarks/make_mariadb_workload.py``): a second
     server, ``log_slow_verbosity=query_plan,explain`` and sysbench ``oltp_read_write`` in the text
     protocol (every statement with its literals), timed as it is.
2. Times, one after another on the same file, each in its own process (wall seconds, CPU
   seconds = user + system of the process and its children, peak RSS from ``wait4``), after
   the fixed cost every way pays before reading (the interpreter and the imports; a row of its
   own, not with ``--only``):
   - ours, the notebook path: ``tk.digest(tk.read_queries(path))`` (the DataFrame, then its digest);
   - ours: ``toolkit.queries.digest.digest_file(path, workers=1|2)`` = read + fingerprint +
     digest, streaming (16 MiB pieces); ``workers=2`` splits the file into two byte ranges at
     record boundaries, each parsed and digested in its own process, the digests merged;
   - ``pgbadger -j 1`` and ``-j 2`` (``-f stderr -p '%m [%p] %q%u@%d ' -x text``) on the PG log;
   - ``pt-query-digest`` on the MariaDB log.
3. Prints a Markdown table (paste it into benchmarks/RESULTS.md, section "Queries").

The machine is shared: the load average is printed next to the figures, and CPU seconds are
given beside wall seconds because they depend less on the other processes.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import datetime
import gzip
import importlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
PG_PREFIX = "%m [%p] %q%u@%d "
PG_SAMPLES = [ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz",
              ROOT / "sample_traces/queries/postgresql/pgbench/postgresql.log.gz"]
MARIADB_SAMPLES = [ROOT / "sample_traces/queries/mariadb/app-slow.log",
                   ROOT / "sample_traces/queries/mariadb/clean-slow.log.gz"]
SHIFT_S = 3600
# pgBadger's report: outside benchmarks/data/, which a worktree may link to another checkout's
PGBADGER_OUT = Path(tempfile.gettempdir()) / "perf-toolkit-pgbadger.txt"


def _read(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()


@contextlib.contextmanager
def _replacing(out: Path):
    """A text file to write that replaces ``out`` when complete: never written through a symlink
    (a worktree's ``benchmarks/data/`` may link to another checkout's logs) nor left half-made."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w") as fh:
        yield fh
    os.replace(tmp, out)


def build_pg(target_mb: float, out: Path) -> None:
    """Copies of the PostgreSQL samples; each line's leading ``%m`` timestamp moved by k hours."""
    lines = "".join(_read(p) for p in PG_SAMPLES).splitlines(keepends=True)
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC ")
    idx = [i for i, x in enumerate(lines) if stamp.match(x)]
    base = pd.to_datetime(pd.Series([lines[i][:23] for i in idx]))
    unit = sum(len(x.encode()) for x in lines)
    copies = max(1, round(target_mb * 1e6 / unit))
    with _replacing(out) as fh:
        for k in range(copies):
            new = (base + pd.Timedelta(seconds=k * SHIFT_S)).dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:23]
            copy = list(lines)
            for i, ts in zip(idx, new, strict=True):
                copy[i] = ts + copy[i][23:]
            fh.write("".join(copy))


def build_mariadb(target_mb: float, out: Path) -> None:
    """Copies of the MariaDB samples; ``SET timestamp=`` and ``# Time:`` moved by k hours."""
    text = "".join(_read(p) for p in MARIADB_SAMPLES)
    parts = re.split(r"(SET timestamp=\d+;|# Time: \d{6} [ \d]\d:\d\d:\d\d)", text)
    unit = len(text.encode())
    copies = max(1, round(target_mb * 1e6 / unit))
    with _replacing(out) as fh:
        for k in range(copies):
            shift = k * SHIFT_S
            copy = list(parts)
            for i in range(1, len(copy), 2):
                tok = copy[i]
                if tok.startswith("SET"):
                    copy[i] = f"SET timestamp={int(tok[14:-1]) + shift};"
                else:
                    t = datetime.datetime.strptime(" ".join(tok[8:].split()), "%y%m%d %H:%M:%S") \
                        + datetime.timedelta(seconds=shift)
                    copy[i] = f"# Time: {t:%y%m%d} {t.hour:2d}:{t:%M:%S}"
            fh.write("".join(copy))


def run(cmd: list[str], label: str, stdout=subprocess.DEVNULL) -> dict:
    """Run ``cmd``; wall, CPU (user + sys incl. its children) and peak RSS via wait4."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed ({proc.returncode}): {err[-2000:]}")
    return {"tool": label, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
            "peak_rss_mb": ru.ru_maxrss / 1024, "command": " ".join(shlex.quote(c) for c in cmd),
            "output": err.strip().splitlines()[-1] if err.strip() else ""}


def ours(path: Path, workers: int) -> list[str]:
    code = ("import sys, toolkit.formats as f; f._load()\n"
            "from toolkit.queries.digest import digest_file\n"
            f"d = digest_file({str(path)!r}, workers={workers})\n"
            "s = d.attrs['source']\n"
            "print(f\"{len(d)} fingerprints, {int(d.calls.sum())} calls, {d.total_ms.sum():.3f} ms, "
            "{s['lines_read']} lines\", file=sys.stderr)")
    return [sys.executable, "-c", code]


IMPORTS = "import toolkit as tk, toolkit.formats as f; f._load(); from toolkit.queries.digest import digest_file"


def imports_only() -> list[str]:
    """What every way pays before reading a byte: the interpreter, ``import toolkit``, the format
    modules and pandas / pyarrow (the fixed cost that sets a floor under the ratios of small logs)."""
    return [sys.executable, "-c", IMPORTS]


def notebook(path: Path) -> list[str]:
    """The notebook path: ``tk.digest(tk.read_queries(path))`` (the DataFrame, then its digest)."""
    code = ("import sys, toolkit as tk\n"
            f"ev = tk.read_queries({str(path)!r})\n"
            "d = tk.digest(ev)\n"
            "s = ev.attrs['source']\n"
            "print(f\"{len(d)} fingerprints, {int(d.calls.sum())} calls, {d.total_ms.sum():.3f} ms, "
            "{s['lines_read']} lines, {int((ev.kind == 'plan').sum())} plan rows\", file=sys.stderr)")
    return [sys.executable, "-c", code]


def pgbadger(path: Path, prefix: str, jobs: int) -> list[str]:
    # its own --pid-dir: pgBadger refuses to start (exit 3) while another run's /tmp/pgbadger.pid exists
    return ["pgbadger", "-q", "-j", str(jobs), "-f", "stderr", "-p", prefix, "-x", "text",
            "--pid-dir", str(DATA), "-o", str(PGBADGER_OUT), str(path)]


def distinct_statements(n: int = 100_000, seed: int = 1) -> list[str]:
    """``n`` distinct statements: the PG samples' statements with new numbers in them."""
    import random

    from toolkit.queries import read_queries

    rng = random.Random(seed)
    shapes = sorted({s for path in PG_SAMPLES for s in read_queries(path)["statement"].dropna()
                     if re.search(r"\d", s)})
    out: dict[str, None] = {}
    while len(out) < n:
        shape = shapes[rng.randrange(len(shapes))]
        out[re.sub(r"\d+", lambda m: str(rng.randrange(10 ** 7)), shape)] = None
    return list(out)


def fingerprint_rates(repeat: int) -> int:
    """Distinct statements per CPU second: ours (default and readable) and pglast's C fingerprint."""
    import pglast

    fp_module = importlib.import_module("toolkit.queries.fingerprint")  # (the package exports a function of that name)

    stmts = distinct_statements()
    ways = (("fingerprint() (pt-query-digest classes)", fp_module.fingerprint),
            ("fingerprint(readable=True)", lambda s: fp_module.fingerprint(s, readable=True)),
            ("pglast.fingerprint (libpg_query, C)", pglast.fingerprint))
    print(f"{len(stmts):,} distinct statements, pglast {pglast.__version__}\n")
    print("| round (UTC) | way | CPU s | distinct statements / CPU s | load avg before |")
    print("| --- | --- | ---: | ---: | --- |")
    for round_ in range(1, repeat + 1):
        for label, fn in ways:
            fp_module._TAILS.clear()  # each way starts cold, as on a new log
            la = load()
            t = time.process_time()
            for s in stmts:
                fn(s)
            cpu = time.process_time() - t
            utc = datetime.datetime.now(datetime.UTC).strftime("%H:%M")
            print(f"| {round_} ({utc}) | {label} | {cpu:.2f} | {len(stmts) / cpu:,.0f} | {la} |", flush=True)
    return 0


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg-mb", type=float, default=500)
    ap.add_argument("--mysql-mb", type=float, default=200)
    ap.add_argument("--skip-established", action="store_true", help="time only the toolkit")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--skip-j1", action="store_true",
                    help="leave pgbadger -j 1 out (minutes at 500 MB; the targets are against -j 2)")
    ap.add_argument("--only", choices=("pg", "mysql", "fingerprint"),
                    help="run one of the two comparisons, or time fingerprinting alone")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds: each tool once per round, back to back (pgbadger -j 1 in the first only)")
    args = ap.parse_args()
    if args.only == "fingerprint":
        return fingerprint_rates(args.repeat)
    # The toolkit's bytecode, written once: where PYTHONDONTWRITEBYTECODE is set (this machine)
    # every timed process would compile the sources again (about 0.09 CPU s), which an installed
    # toolkit on a user's machine does not.
    compileall.compile_dir(ROOT / "toolkit", quiet=1)
    DATA.mkdir(parents=True, exist_ok=True)
    pg, my = DATA / "pg-big.log", DATA / "mariadb-big-slow.log"
    # the second workload (benchmarks/make_pg_workload.py): timed when it has been made
    pg2 = DATA / "pg-simple.log"
    my2 = DATA / "mariadb-sysbench-slow.log"  # (benchmarks/make_mariadb_workload.py)
    from make_pg_workload import PREFIX as PG2_PREFIX
    def stale(path: Path, mb: float) -> bool:
        return args.rebuild or not path.exists() or abs(path.stat().st_size / 1e6 - mb) > mb * 0.05

    if args.only != "mysql" and stale(pg, args.pg_mb):
        build_pg(args.pg_mb, pg)
    if args.only != "pg" and stale(my, args.mysql_mb):
        build_mariadb(args.mysql_mb, my)
    rows = []
    runs = [
        (pg, [("toolkit read_queries + digest (notebook path)", notebook(pg)),
              ("toolkit digest_file, 2 processes (byte ranges)", ours(pg, 2)),
              ("pgbadger -j 1", pgbadger(pg, PG_PREFIX, 1)),
              ("pgbadger -j 2", pgbadger(pg, PG_PREFIX, 2))]),
        (my, [("toolkit read_queries + digest (notebook path)", notebook(my)),
              ("toolkit digest_file, 1 process", ours(my, 1)),
              ("toolkit digest_file, 2 processes", ours(my, 2)),
              ("pt-query-digest", ["pt-query-digest", str(my)])]),
    ]
    if pg2.exists():
        runs.insert(1, (pg2, [("toolkit read_queries + digest (notebook path)", notebook(pg2)),
                              ("toolkit digest_file, 2 processes (byte ranges)", ours(pg2, 2)),
                              ("pgbadger -j 2", pgbadger(pg2, PG2_PREFIX, 2))]))
    if my2.exists():
        runs.append((my2, [("toolkit read_queries + digest (notebook path)", notebook(my2)),
                           ("toolkit digest_file, 1 process", ours(my2, 1)),
                           ("toolkit digest_file, 2 processes", ours(my2, 2)),
                           ("pt-query-digest", ["pt-query-digest", str(my2)])]))
    if not args.only:
        runs.insert(0, (None, [("toolkit imports only (fixed cost of every way)", imports_only())]))
    for path, tools in runs:
        if path is None:
            la = load()
            r = run(tools[0][1], tools[0][0])
            r.update(file="(none)", size_mb=0.0, mb_per_s=0.0, mb_per_cpu_s=0.0, load_before=la, round=1,
                     utc=datetime.datetime.now(datetime.UTC).strftime("%H:%M"))
            rows.append(r)
            print(f"{tools[0][0]}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, {r['peak_rss_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
            continue
        if args.only and (path in (pg, pg2)) != (args.only == "pg"):
            continue
        size_mb = path.stat().st_size / 1e6
        for round_ in range(1, args.repeat + 1):
            for label, cmd in tools:
                if args.skip_established and not label.startswith("toolkit"):
                    continue
                if label == "pgbadger -j 1" and args.skip_j1:
                    continue
                if label == "pgbadger -j 1" and round_ > 1:
                    continue  # three minutes a run; the -j 2 comparison is the target
                la = load()
                r = run(cmd, label)
                r.update(file=path.name, size_mb=size_mb, mb_per_s=size_mb / r["wall_s"],
                         mb_per_cpu_s=size_mb / r["cpu_s"], load_before=la, round=round_,
                         utc=datetime.datetime.now(datetime.UTC).strftime("%H:%M"))
                rows.append(r)
                print(f"{path.name} {label} (round {round_}): {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                      f"{r['peak_rss_mb']:.0f} MB, load {la}; {r['output']}", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print("\n| file | MB | round (UTC) | tool | wall s | MB/s | CPU s | MB per CPU s | peak RSS MB | load avg before |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in df.itertuples():
        print(f"| {r.file} | {r.size_mb:.0f} | {r.round} ({r.utc}) | {r.tool} | {r.wall_s:.1f} | {r.mb_per_s:.1f} | "
              f"{r.cpu_s:.1f} | {r.mb_per_cpu_s:.1f} | {r.peak_rss_mb:.0f} | {r.load_before} |")
    # the targets: ours with two processes against the established tool, round by round
    pairs = tuple((name, mine, theirs)
                  for name, theirs in (("pg-big.log", "pgbadger -j 2"), ("pg-simple.log", "pgbadger -j 2"),
                                       ("mariadb-big-slow.log", "pt-query-digest"),
                                       ("mariadb-sysbench-slow.log", "pt-query-digest"))
                  for mine in ("toolkit read_queries + digest (notebook path)",
                               "toolkit digest_file, 2 processes (byte ranges)" if name.startswith("pg")
                               else "toolkit digest_file, 2 processes"))
    print("\n| file | round | ours | ours s | established s | ratio (wall) | ratio (CPU s) |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, mine, theirs in pairs:
        for round_, g in df[df.file == name].groupby("round") if len(df) else []:
            a, b = g[g.tool == mine], g[g.tool == theirs]
            if len(a) and len(b):
                a, b = a.iloc[0], b.iloc[0]
                print(f"| {name} | {round_} | {mine} | {a.wall_s:.1f} | {b.wall_s:.1f} | {b.wall_s / a.wall_s:.1f}x | "
                      f"{b.cpu_s / a.cpu_s:.1f}x |")
    print("\nCommands:")
    for r in df.drop_duplicates(["file", "tool"]).itertuples():
        print(f"- {r.file}, {r.tool}: `{r.command}` -> {r.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
