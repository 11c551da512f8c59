"""Profile readers against json.load, and the overhead of tk.profile / tk.record.

    python benchmarks/profiles_readers.py            # all
    python benchmarks/profiles_readers.py speedscope collapsed overhead

1. A py-spy-shaped speedscope file of 1,000,000 samples (2 threads, 400 frames, 3,000 distinct
   stacks 8-40 deep, weights 0.01) -> read_profile + functions(), next to json.load of the
   same file. Target: at most 2x json.load.
2. A 10 MB py-spy raw (collapsed) file -> read_profile + functions(). Target: under 1 s.
3. Overhead: tk.profile(fn) vs pyinstrument's Profiler around the same fn (plus its own
   session.to_json); tk.record(cmd) vs running py-spy record -f speedscope on the same cmd.

Inputs go to benchmarks/data/ (gitignored). Times are the best of N runs on a shared CPU.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import toolkit as tk

DATA = Path(__file__).resolve().parent / "data"
PY = sys.executable


def best(fn, repeat=3):
    """Best wall-clock seconds of ``repeat`` runs; the CPU seconds of that process are in CPU."""
    times, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    CPU[fn.__name__] = min(cpus)
    return min(times)


CPU: dict[str, float] = {}


def make_stacks(rng: random.Random, nframes: int, nstacks: int) -> list[list[int]]:
    stacks = []
    for _ in range(nstacks):
        depth = rng.randint(8, 40)
        base = rng.randrange(8)  # a few entry points, shared prefixes like a real program
        stacks.append([base] + [rng.randrange(8, nframes) for _ in range(depth - 1)])
    return stacks


def speedscope_file(n_samples: int = 1_000_000) -> Path:
    path = DATA / f"pyspy_{n_samples}.speedscope.json"
    if path.exists():
        return path
    rng = random.Random(1)
    frames = [{"name": f"func_{i}", "file": f"/srv/app/module_{i % 40}.py", "line": 10 + i, "col": None}
              for i in range(400)]
    stacks = make_stacks(rng, len(frames), 3000)
    weights_of = [rng.paretovariate(1.2) for _ in stacks]
    profiles = []
    for t, share in ((0, 0.8), (1, 0.2)):
        n = int(n_samples * share)
        samples = rng.choices(stacks, weights=weights_of, k=n)
        profiles.append({"type": "sampled", "name": f'Thread {1000 + t} "{"MainThread" if t == 0 else "worker"}"',
                         "unit": "seconds", "startValue": 0.0, "endValue": n * 0.01,
                         "samples": samples, "weights": [0.01] * n})
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json", "profiles": profiles,
           "shared": {"frames": frames}, "activeProfileIndex": 0, "exporter": "py-spy@0.4.3", "name": "py-spy profile"}
    DATA.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":")))
    return path


def collapsed_file(target_bytes: int = 10_000_000) -> Path:
    path = DATA / "pyspy_10mb.txt"
    if path.exists():
        return path
    rng = random.Random(2)
    labels = [f"func_{i} (module_{i % 40}.py:{10 + i})" for i in range(2000)]
    stacks = make_stacks(rng, len(labels), 200_000)
    out, size = [], 0
    for s in stacks:
        line = ";".join(labels[i] for i in s) + f" {rng.randint(1, 50)}\n"
        out.append(line)
        size += len(line)
        if size >= target_bytes:
            break
    DATA.mkdir(exist_ok=True)
    path.write_text("".join(out))
    return path


def bench_speedscope() -> None:
    path = speedscope_file()
    size = path.stat().st_size / 1e6

    def ours():
        tk.read_profile(path).functions()

    def baseline():
        with open(path, "rb") as fh:
            json.load(fh)

    t_json = best(baseline)
    t_ours = best(ours)
    prof = tk.read_profile(path)
    c_json, c_ours = CPU["baseline"], CPU["ours"]
    print(f"speedscope 1,000,000 samples ({size:.0f} MB, {len(prof.stacks())} stacks): json.load {t_json:.2f} s "
          f"wall / {c_json:.2f} s CPU, read_profile+functions {t_ours:.2f} s wall / {c_ours:.2f} s CPU, "
          f"ratio {t_ours / t_json:.2f}x wall, {c_ours / c_json:.2f}x CPU (target <= 2x)")


def bench_collapsed() -> None:
    path = collapsed_file()
    size = path.stat().st_size / 1e6
    lines = sum(1 for _ in open(path))
    def collapsed():
        tk.read_profile(path, rate=100).functions()

    t = best(collapsed)
    print(f"collapsed {size:.1f} MB ({lines} lines): read_profile+functions {t:.2f} s wall / "
          f"{CPU['collapsed']:.2f} s CPU (target < 1 s)")


def workload(n: int = 300_000) -> int:
    return sum(len(str(i * i)) for i in range(n))


def bench_overhead() -> None:
    from pyinstrument import Profiler

    def plain():
        workload()

    def pyinstrument_alone():
        p = Profiler(interval=0.001, async_mode="disabled")
        p.start()
        workload()
        p.stop().to_json()

    def ours():
        tk.profile(workload, interval=0.001)

    t0, t1, t2 = best(plain, 5), best(pyinstrument_alone, 5), best(ours, 5)
    print(f"tk.profile: workload alone {t0:.3f} s, under pyinstrument {t1:.3f} s, tk.profile {t2:.3f} s "
          f"-> tk.profile adds {t2 - t1:+.3f} s ({100 * (t2 - t1) / t1:+.0f}%) over pyinstrument")

    code = "import time\nt=time.time()\nwhile time.time()-t<1.0: sum(range(300))"
    out = DATA / "record_baseline.speedscope.json"
    exe = os.path.join(os.path.dirname(PY), "py-spy")

    def pyspy_alone():
        subprocess.run([exe, "record", "-f", "speedscope", "-o", str(out), "-r", "100", "--", PY, "-c", code],
                       check=True, capture_output=True)

    def record():
        tk.record([PY, "-c", code], rate=100)

    r1, r2 = best(pyspy_alone, 3), best(record, 3)
    print(f"tk.record: py-spy record alone {r1:.3f} s, tk.record {r2:.3f} s -> adds {r2 - r1:+.3f} s "
          f"({100 * (r2 - r1) / r1:+.0f}%) (a 1 s program at 100 Hz)")


if __name__ == "__main__":
    which = sys.argv[1:] or ["speedscope", "collapsed", "overhead"]
    for name in which:
        globals()[f"bench_{name}"]()
