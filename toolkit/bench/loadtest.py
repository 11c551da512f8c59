"""Load-test results: the ``load_test_endpoints`` and ``load_test_timeseries`` tables.

Readers (:mod:`.locust`, :mod:`.k6`, :mod:`.wrk`) give one row per endpoint the tool reports,
built by :func:`build_endpoints`; the tool's whole-run totals (locust's ``Aggregated`` row, k6's
untagged metrics) stay out of the table, in ``attrs["totals"]``, so summing a column never counts
a request twice. Where the tool writes a time series (locust's ``_stats_history.csv`` and the
HTML report's history, k6 ``--out json``), ``read_load_test(path, table="timeseries")`` reads it.

``load_test_endpoints``: ``endpoint`` (the tool's name for it: locust's request name, k6's
``name`` tag, wrk's URL path; ``(all)`` when the tool reports only a total), ``method``,
``requests``, ``failures``, ``p50_ms``, ``p75_ms``, ``p90_ms``, ``p95_ms``, ``p99_ms``,
``max_ms``, ``mean_ms``, ``min_ms`` (milliseconds; null where the tool does not report that
percentile), ``rps`` (requests per second over the run), ``run``, ``tool``.

``load_test_timeseries``: ``timestamp`` (UTC), ``endpoint`` (``(all)`` for the aggregate),
``users`` (active users / VUs where known), ``rps``, ``failures_per_s``, ``p50_ms``, ``p95_ms``,
``p99_ms``, ``requests`` (cumulative where the tool writes totals, else per interval: see
``attrs["requests_are"]``), ``run``.

Example::

    >>> import toolkit as tk
    >>> tk.read_load_test("sample_traces/bench/locust/base_stats.csv")          # doctest: +SKIP
    >>> tk.read_load_test("sample_traces/bench/locust/base_stats.csv", table="timeseries")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .. import formats, schema
from ..sources import Source

schema.register_table("load_test_endpoints", [
    ("endpoint", "str", "the tool's name for the endpoint (request name, URL path); (all) for a total"),
    ("method", "str", "HTTP method where known"),
    ("requests", "int", "completed requests (failed ones included)"),
    ("failures", "int", "failed requests as the tool counts them"),
    ("p50_ms", "float", "median latency, ms"), ("p75_ms", "float", "ms"), ("p90_ms", "float", "ms"),
    ("p95_ms", "float", "ms"), ("p99_ms", "float", "ms"), ("max_ms", "float", "ms"),
    ("mean_ms", "float", "ms"), ("min_ms", "float", "ms"),
    ("rps", "float", "requests per second over the run"),
    ("run", "str", "label of the run (file name)"), ("tool", "str", "locust / k6 / wrk"),
])
schema.register_table("load_test_timeseries", [
    ("timestamp", "datetime", "UTC"), ("endpoint", "str", "(all) for the aggregate"),
    ("users", "int", "active users / virtual users"), ("rps", "float", "requests per second"),
    ("failures_per_s", "float", ""), ("p50_ms", "float", ""), ("p95_ms", "float", ""),
    ("p99_ms", "float", ""), ("requests", "int", "see attrs['requests_are']"), ("run", "str", ""),
])

ALL = "(all)"
PERCENTILES = {"p50_ms": 50, "p75_ms": 75, "p90_ms": 90, "p95_ms": 95, "p99_ms": 99}


def source_dict(src: Source) -> dict[str, Any]:
    """The accounting, plus ``other_lines`` (lines read that are neither records nor skipped, by
    what they are: a k6 stream's metric declarations...) where the reader counted them."""
    out = src.accounting.as_dict()
    other = getattr(src.accounting, "other_lines", None)
    if other:
        out["other_lines"] = dict(other)
    return out


def build_endpoints(rows: Iterable[Mapping[str, Any]], src: Source, *, run: str, tool: str,
                    totals: Mapping[str, Any] | None = None, notes: list[str] | None = None,
                    meta: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The ``load_test_endpoints`` table; ``attrs``: source, totals, notes, meta."""
    rows = [dict(r, run=run, tool=tool) for r in rows]
    df = pd.DataFrame(rows) if rows else schema.empty("load_test_endpoints")
    df = schema.coerce(df, "load_test_endpoints")
    df.attrs = {"source": source_dict(src), "totals": dict(totals or {}), "notes": list(notes or []),
                "meta": dict(meta or {})}
    return df


def build_timeseries(rows: Iterable[Mapping[str, Any]], src: Source, *, run: str, requests_are: str,
                     notes: list[str] | None = None) -> pd.DataFrame:
    """The ``load_test_timeseries`` table, sorted by time then endpoint."""
    rows = [dict(r, run=run) for r in rows]
    df = pd.DataFrame(rows) if rows else schema.empty("load_test_timeseries")
    if len(df):
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df = schema.coerce(df, "load_test_timeseries")
    df = df.sort_values(["timestamp", "endpoint"], kind="stable").reset_index(drop=True)
    df.attrs = {"source": source_dict(src), "requests_are": requests_are, "notes": list(notes or [])}
    return df


def read_load_test(path: Any, format: str | None = None, *, table: str | None = None, run: str | None = None,
                   errors: str = "skip", **options: Any) -> pd.DataFrame:
    """Read a load test's results: the endpoint table, or ``table="timeseries"`` (where the tool
    writes one), or a format's other tables (``table="failures"`` for locust).

    Formats: ``locust-csv`` (``--csv PREFIX``: give any of its files; the others are found by
    the prefix), ``locust-html`` (``--html``), ``k6-summary`` (``--summary-export`` or a
    ``handleSummary`` JSON), ``k6-json`` (``--out json``), ``wrk`` (its printed report, best with
    ``--latency``). ``run`` labels the run (default: the file name).
    """
    return formats.read(path, kind="load_test", format=format, table=table, run=run, errors=errors,
                        **options)
