"""Accuracy of tk.fit_complexity on real measurements of functions of known complexity.

Each case is timed with tk.measure_scaling over at least two decades of n (one decade for the
exponential recursion, whose n must stay small) on this machine, then classified. A case
counts as "right" when fit.best is the known class and nothing else is ambiguous, "right, with
alternatives" when fit.best is the known class but others could not be ruled out, "wrong, said
so" when fit.best is another class but the known one is listed in fit.ambiguous, and "wrong"
otherwise. Lists and dicts live in CPU caches at the sizes chosen (<= 30,000 ints): beyond that, memory
bandwidth makes the per-element cost grow with n on this machine, which is real but not the
complexity class.

    python benchmarks/complexity_accuracy.py [--rounds 1] [--points median]
        [--timer perf_counter|process_time] [--save benchmarks/data/complexity_raw.csv]
"""

from __future__ import annotations

import argparse
import bisect
import random
import time
from itertools import repeat

import toolkit as tk


def geo(lo: int, hi: int, k: int) -> list[int]:
    import numpy as np
    return sorted({int(round(x)) for x in np.geomspace(lo, hi, k)})


def _shuffled(n: int) -> list[int]:
    rng = random.Random(n)
    xs = list(range(n))
    rng.shuffle(xs)
    return xs


def _bisect_many(ak: tuple[list[int], list[int]]) -> list[int]:
    # 64 lookups per call, looped in C (map), so the log n comparisons stand above the overhead
    a, keys = ak
    return list(map(bisect.bisect_left, repeat(a, len(keys)), keys))


def _sorted_with_keys(n: int) -> tuple[list[int], list[int]]:
    rng = random.Random(n)
    return list(range(n)), [rng.randrange(n) for _ in range(64)]


def _dict_members(d: dict) -> int:
    keys = d["__keys__"]
    return sum(1 for k in keys if k in d)


def _make_dict(n: int) -> dict:
    ks = list(range(n))
    d = dict.fromkeys(ks)
    # look up the very objects stored: ints above 256 built afresh would compare by value
    # instead of identity, a step in cost at n ~ 256 that has nothing to do with the dict's size
    d["__keys__"] = ks[:: max(1, n // 64)][:64]
    return d


def _list_member(a: list[int]) -> bool:
    return -1 in a  # absent: scans the whole list


def _pairs(a: list[int]) -> int:
    c = 0
    for i in range(len(a)):
        ai = a[i]
        for j in range(i + 1, len(a)):
            if ai > a[j]:
                c += 1
    return c


def _triple(n: int) -> int:
    c = 0
    for _ in range(n):
        for _ in range(n):
            for _ in range(n):
                c += 1
    return c


def _prepend(parts: list[str]) -> int:
    s = ""
    for p in parts:
        s = p + s  # a new string every time: copies everything built so far
    return len(s)


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


CASES = [
    ("sum(list)", "O(n)", sum, geo(30, 30_000, 8), lambda n: list(range(n))),
    ("sorted(shuffled list)", "O(n log n)", sorted, geo(100, 100_000, 8), _shuffled),
    ("bisect x64 in a sorted list", "O(log n)", _bisect_many, geo(16, 100_000, 8), _sorted_with_keys),
    ("dict membership x64", "O(1)", _dict_members, geo(64, 30_000, 8), _make_dict),
    ("list membership (absent)", "O(n)", _list_member, geo(30, 30_000, 8), lambda n: list(range(n))),
    ("nested loops: inversions", "O(n^2)", _pairs, geo(20, 2_000, 8), _shuffled),
    ("triple loop", "O(n^3)", _triple, geo(3, 300, 8), lambda n: n),
    ("string building by prepending", "O(n^2)", _prepend, geo(300, 30_000, 8), lambda n: ["abcdefgh"] * n),
    ("exponential recursion fib(n)", "O(2^n)", _fib, list(range(2, 23, 2)), lambda n: n),
    ("max(list)", "O(n)", max, geo(30, 30_000, 8), lambda n: list(range(n))),
]


def run(rounds: int, points: str, repeat: int, raw: list | None = None,
        timer=time.perf_counter) -> list[dict]:
    out = []
    for r in range(rounds):
        for name, truth, fn, sizes, make in CASES:
            t0 = time.perf_counter()
            df = tk.measure_scaling(fn, sizes, make, repeat=repeat, min_time=0.005, budget_s=3.0,
                                    timer=timer)
            if raw is not None:
                raw.append(df.assign(case=name, truth=truth, round=r))
            fit = tk.fit_complexity(df, points=points)
            verdict = ("right" if fit.best == truth and not fit.ambiguous else
                       "right, with alternatives" if fit.best == truth else
                       "wrong, said so" if truth in fit.ambiguous else "wrong")
            out.append({"round": r, "case": name, "truth": truth, "best": fit.best,
                        "ambiguous": ", ".join(fit.ambiguous), "exponent": round(fit.exponent, 2),
                        "verdict": verdict, "seconds": round(time.perf_counter() - t0, 2)})
            print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--points", default="median")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--timer", default="perf_counter", choices=["perf_counter", "process_time"],
                    help="wall clock (default) or this process's CPU time (immune to preemption)")
    ap.add_argument("--save", help="write the raw scaling tables to this CSV (benchmarks/data/...)")
    args = ap.parse_args()
    import pandas as pd
    raw: list = []
    timer = {"perf_counter": time.perf_counter, "process_time": time.process_time}[args.timer]
    rows = run(args.rounds, args.points, args.repeat, raw, timer)
    if args.save:
        pd.concat(raw).to_csv(args.save, index=False)
    df = pd.DataFrame(rows)
    cols = list(df.columns)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for rec in df.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in rec) + " |")
    print(df["verdict"].value_counts().to_dict())


if __name__ == "__main__":
    main()
