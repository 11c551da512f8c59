"""fit_complexity on synthetic times from known formulas: how often each class is recovered.

Times are ``a + b*g(n)`` (the growth term ``--growth`` x the constant at the largest size) over
10 sizes from 10 to 10,000, 5 repeats each, with multiplicative log-normal noise ``--noise``;
100 seeds per class. "right": best is the class, nothing ambiguous; "says": the class is best
with alternatives, or listed in fit.ambiguous; "wrong": neither.

    python benchmarks/complexity_synthetic.py --noise 0.05 --growth 20
"""

from __future__ import annotations

import argparse

import numpy as np

import toolkit as tk

GROWTH = {"O(1)": lambda n: 0.0 * n, "O(log n)": np.log, "O(n)": lambda n: n,
          "O(n log n)": lambda n: n * np.log(n), "O(n^2)": lambda n: n ** 2.0, "O(n^3)": lambda n: n ** 3.0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--growth", type=float, default=20.0)
    ap.add_argument("--seeds", type=int, default=100)
    args = ap.parse_args()
    sizes = np.geomspace(10, 10_000, 10).round()
    n = np.repeat(sizes, 5)
    for cls, g in GROWTH.items():
        res = {"right": 0, "says": 0, "wrong": 0}
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            term = g(n) / g(np.array([sizes[-1]]))[0] * args.growth if cls != "O(1)" else 0.0
            t = 1e-6 * (1 + term) * np.exp(rng.normal(0.0, args.noise, len(n)))
            fit = tk.fit_complexity(n, t)
            key = ("right" if fit.best == cls and not fit.ambiguous else
                   "says" if fit.best == cls or cls in fit.ambiguous else "wrong")
            res[key] += 1
        print(cls, res)


if __name__ == "__main__":
    main()
