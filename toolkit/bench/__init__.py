"""Benchmarks and load tests: readers, and "did it get slower?" with statistics.

    >>> import toolkit as tk
    >>> base = tk.read_benchmarks("sample_traces/bench/pytest-benchmark/base/base-01.json")   # doctest: +SKIP
    >>> head = tk.read_benchmarks("sample_traces/bench/pytest-benchmark/head/head-01.json")   # doctest: +SKIP
    >>> tk.compare_runs(base, head)                                                    # doctest: +SKIP

Readers, one module per producer, register with :mod:`toolkit.formats`: benchmark results
(:mod:`.pytest_benchmark`, :mod:`.asv`, :mod:`.hyperfine`) give the ``benchmark_samples`` table
(:mod:`.samples`); load tests (:mod:`.locust`, :mod:`.k6`, :mod:`.wrk`) the
``load_test_endpoints`` and ``load_test_timeseries`` tables (:mod:`.loadtest`). Comparisons live
in :mod:`.compare` (statistics in :mod:`.stats`); history and change points in :mod:`.history`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .loadtest import read_load_test
from .samples import read_benchmarks

__all__ = ["read_benchmarks", "read_load_test", "compare_runs", "compare_periods", "compare_profiles",
           "compare_inputs", "change_points", "run_medians"]

_LAZY = {"compare_runs": ".compare", "compare_periods": ".compare", "compare_profiles": ".compare",
         "compare_inputs": ".compare", "change_points": ".history", "run_medians": ".history"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'toolkit.bench' has no attribute {name!r}")
