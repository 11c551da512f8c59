"""perf-toolkit: find why a backend is slow, from the evidence you already have.

    >>> import toolkit as tk
    >>> prof = tk.read_profile("sample_traces/profiles/py-spy/demo_slow.speedscope.json")  # doctest: +SKIP
    >>> prof.functions().head()                                                             # doctest: +SKIP

Public names are loaded lazily, so ``import toolkit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    FitError,
    InputError,
    LogFormatError,
    MeasurementError,
    MissingDependencyError,
    ParseError,
    ProfilerError,
    SchemaError,
    ToolkitError,
    UnknownFormatError,
)

# public name -> module that defines it
_LAZY = {
    "Profile": "toolkit.profiles",
    "read_profile": "toolkit.profiles",
    "diff_profiles": "toolkit.profiles",
    "merge_profiles": "toolkit.profiles",
    "profile": "toolkit.profiles.run",
    "profiling": "toolkit.profiles.run",
    "record": "toolkit.profiles.run",
    "read_queries": "toolkit.queries",
    "read_server_events": "toolkit.queries",
    "fingerprint": "toolkit.queries",
    "digest": "toolkit.queries",
    "digest_file": "toolkit.queries.digest",
    "StateStore": "toolkit.state",
    "read_plan": "toolkit.queries",
    "capture_queries": "toolkit.queries.capture",
    "pg_stat_statements": "toolkit.queries.live",
    "performance_schema_digests": "toolkit.queries.live",
    "stats_delta": "toolkit.queries.live",
    "explain": "toolkit.queries.live",
    "diff_plans": "toolkit.queries.plan_diff",
    "read_access_log": "toolkit.http",
    "endpoints": "toolkit.http",
    "measure_scaling": "toolkit.complexity",
    "fit_complexity": "toolkit.complexity",
    "scaling_by_function": "toolkit.complexity",
    "write_report": "toolkit.report",
    "analyze": "toolkit.report.analyze",
    "correlate": "toolkit.correlation",
    "read_benchmarks": "toolkit.bench",
    "read_load_test": "toolkit.bench",
    "compare_runs": "toolkit.bench",
    "compare_periods": "toolkit.bench",
    "compare_profiles": "toolkit.bench",
    "load_ipython_extension": "toolkit.magic",
    "unload_ipython_extension": "toolkit.magic",
}
_SUBMODULES = {"plots", "rules", "ranking", "formats", "schema", "sources", "errors", "profiles", "queries",
               "http", "complexity", "report", "magic", "cli", "bench"}

# ``tk.findings`` is the function. Importing the module here, before anything else can, binds the
# name to the function for good: later ``import toolkit.findings`` finds the module in
# sys.modules and leaves this attribute alone (``from toolkit.findings import checklist`` and
# ``sys.modules["toolkit.findings"]`` still give the module). toolkit.findings imports no pandas
# until it is called, so this costs a few milliseconds.
from . import findings as _findings_module  # noqa: E402

findings = _findings_module.findings


__all__ = sorted(_LAZY) + ["findings", "correlate", "plots", "ToolkitError", "ParseError", "UnknownFormatError",
                           "InputError", "ProfilerError", "SchemaError", "LogFormatError",
                           "MeasurementError", "FitError", "MissingDependencyError", "__version__"]


def _version() -> str:
    # asked of the installed metadata on first use: importlib.metadata costs 40-60 ms of import
    # (email, zipfile, csv), paid by every process that reads a log otherwise
    from importlib import metadata

    try:
        return metadata.version("perf-toolkit")
    except metadata.PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"toolkit.{name}")
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
