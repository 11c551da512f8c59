"""locust: the ``--csv PREFIX`` files and the ``--html`` report.

Formats (locust 2.47): https://github.com/locustio/locust/blob/2.47.0/locust/stats.py
(``StatsCSV``, ``StatsCSVFileWriter``: ``requests_csv_columns``, ``stats_history_csv_columns``,
``failures_csv_columns``) and .../locust/html.py (``get_html_report``: ``window.templateArgs``).

- ``PREFIX_stats.csv``: ``Type,Name,Request Count,Failure Count,Median Response Time,Average
  Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,
  50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%``, e.g.
  ``GET,/api/orders/{id},391,0,4,5.1497,1.1343,25.9931,80.63,27.884,0.0,4,6,7,8,10,13,17,18,26,26,26``;
  a last ``,Aggregated,...`` row (empty Type) holds the totals (kept in ``attrs["totals"]``).
  Times in ms. Percentiles and the median are *rounded* by locust (to whole ms, and to 2
  significant digits above 100 ms: ``stats.py`` ``calculate_response_time_percentile``); the
  average, min and max are exact. ``N/A`` where an endpoint has no requests.
- ``PREFIX_stats_history.csv``: one row per second per name (``--csv-full-history``; by default
  the ``Aggregated`` row only): ``Timestamp`` (unix s), ``User Count``, ``Type``, ``Name``,
  ``Requests/s``, ``Failures/s``, the percentiles *of the last 10 s window*, then the running
  totals (``Total Request Count`` ...): ``requests`` in the time series is cumulative.
- ``PREFIX_failures.csv``: ``Method,Name,Error,Occurrences`` (2.4x adds ``First Seen,Last Seen``);
  ``table="failures"``. ``PREFIX_exceptions.csv``: ``Count,Message,Traceback,Nodes``.
- ``--html``: a page whose ``window.templateArgs = {...};`` holds ``requests_statistics``
  (``num_requests``, ``num_failures``, ``avg/min/max/median_response_time``,
  ``response_time_percentile_0.95`` ...), ``response_time_statistics`` (per name, the quantiles
  0.5 ... 1.0) and ``history`` (the aggregate's ``user_count``, ``current_rps``,
  ``response_time_percentile_0.5/0.95`` every few seconds).

Which to read: the CSV is rewritten by a greenlet every ``CSV_STATS_INTERVAL_SEC`` (1 s), and
not once more when locust shuts down (``main.py`` ``shutdown`` only closes the files), so it
misses whatever finished in the run's last second; the HTML report is rendered at shutdown from
the final stats. On the sample runs the CSV counts 790 requests and the HTML report 824 (six
users at about 55 requests/s). The reader reads the file it is given and, when the other one of
the same run sits beside it (``PREFIX.html[.gz]`` / ``PREFIX_stats.csv``), says in
``attrs["notes"]`` whether their request counts agree. For totals, prefer the HTML report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from typing import Any

import pandas as pd

from .. import formats
from ..errors import ParseError
from ..sources import COMPRESSION_SUFFIXES, Source, open_source
from .loadtest import ALL, build_endpoints, build_timeseries
from .samples import as_float, need, run_label

_SUFFIXES = ("_stats_history.csv", "_stats.csv", "_failures.csv", "_exceptions.csv")
STATS_HEADER = "Type,Name,Request Count,Failure Count"
HISTORY_HEADER = "Timestamp,User Count,Type,Name"
FAILURES_HEADER = "Method,Name,Error,Occurrences"
EXCEPTIONS_HEADER = "Count,Message,Traceback,Nodes"
_CSV_PCT = {"p50_ms": "50%", "p75_ms": "75%", "p90_ms": "90%", "p95_ms": "95%", "p99_ms": "99%"}
_TEMPLATE = "window.templateArgs = "


def prefix_of(path: str) -> str | None:
    """``.../base_stats.csv`` (or ``_stats_history``, ``_failures``, ``_exceptions``) -> ``.../base``."""
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return None


def _rows(src: Source, header: str) -> list[tuple[int, dict[str, str]]]:
    text = src.read_text()
    src.accounting.lines_read = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    reader = csv.DictReader(io.StringIO(text))
    need(reader.fieldnames is not None and ",".join(reader.fieldnames).startswith(header), src,
         f"the header is {','.join(reader.fieldnames or [])[:80]!r}", f"locust's CSV header {header},...")
    return [(reader.line_num, row) for row in reader]


def _sibling(src: Source, suffix: str) -> Source | None:
    """Another file of the same run (``suffix`` like ``_stats.csv`` or ``.html``), also when it or
    ``src`` is compressed (``base.html.gz``)."""
    if not src.path:
        return None
    path = src.path
    for ext in COMPRESSION_SUFFIXES:
        path = path.removesuffix(ext)
    prefix = prefix_of(path) or (path[: -len(".html")] if path.endswith(".html") else None)
    for candidate in (prefix + suffix, *(prefix + suffix + ext for ext in COMPRESSION_SUFFIXES)) if prefix else ():
        if os.path.exists(candidate):
            return open_source(candidate)
    return None


def _stats_csv(src: Source) -> Source:
    """The ``_stats.csv`` of the run ``src`` belongs to (``src`` itself when it is one)."""
    if not src.path or prefix_of(src.path.removesuffix(".gz")) is None or src.path.removesuffix(".gz").endswith(
            "_stats.csv"):
        return src
    other = _sibling(src, "_stats.csv")
    need(other is not None, src, "no _stats.csv beside this file", "the run's PREFIX_stats.csv")
    return other


def _label(src: Source, run: str | None) -> str:
    return run_label(src, run, _SUFFIXES + (".html",))


def read_locust_csv(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read ``PREFIX_stats.csv`` (or find it from another file of the run) into ``load_test_endpoints``."""
    given = open_source(source, errors=errors)
    src = _stats_csv(given)
    src.accounting.format = "locust-csv"
    rows, totals = [], {}
    for line, r in _rows(src, STATS_HEADER):
        row = {"endpoint": r.get("Name"), "method": r.get("Type") or None,
               "requests": _int(r.get("Request Count")), "failures": _int(r.get("Failure Count")),
               **{k: as_float(r.get(v)) for k, v in _CSV_PCT.items()},
               "max_ms": as_float(r.get("Max Response Time")), "mean_ms": as_float(r.get("Average Response Time")),
               "min_ms": as_float(r.get("Min Response Time")), "rps": as_float(r.get("Requests/s")),
               "median_ms_rounded": as_float(r.get("Median Response Time")),
               "avg_content_bytes": as_float(r.get("Average Content Size")),
               "failures_per_s": as_float(r.get("Failures/s"))}
        if row["requests"] is None or not row["endpoint"]:
            src.accounting.skip(line, "a row without Name or Request Count", ",".join(r.values() if r else []))
            continue
        if row["method"] is None and row["endpoint"] == "Aggregated":
            totals = row
            continue
        rows.append(row)
    src.accounting.records = len(rows)
    notes = ["percentiles are locust's rounded values (whole ms; 2 significant digits above 100 ms)"]
    html = _sibling(src, ".html")
    if html is not None and totals:
        other = _html_args(html).get("requests_statistics") or []
        n = sum(int(s.get("num_requests") or 0) for s in other if s.get("name") != "Aggregated")
        notes.append(f"read the CSV ({totals['requests']} requests); the HTML report beside it counts {n}"
                     + (" (the same)" if n == totals["requests"] else
                        ": locust rewrites the CSV every second and not at shutdown, so the CSV misses "
                        "the run's last second; the HTML report has the final counts"))
    return build_endpoints(rows, src, run=_label(given, run), tool="locust", totals=totals, notes=notes)


def read_locust_history(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """``PREFIX_stats_history.csv`` as ``load_test_timeseries`` (``requests`` cumulative)."""
    given = open_source(source, errors=errors)
    src = given if given.path is None or given.path.endswith("_stats_history.csv") else _sibling(given, "_stats_history.csv")
    need(src is not None, given, "no _stats_history.csv beside this file", "locust --csv output")
    src.accounting.format = "locust-csv"
    rows = []
    for line, r in _rows(src, HISTORY_HEADER):
        ts = as_float(r.get("Timestamp"))
        if ts is None:
            src.accounting.skip(line, "a row without Timestamp", ",".join(r.values()))
            continue
        name = r.get("Name")
        rows.append({"timestamp": pd.Timestamp(ts, unit="s", tz="UTC"),
                     "endpoint": ALL if name == "Aggregated" and not r.get("Type") else name,
                     "method": r.get("Type") or None, "users": _int(r.get("User Count")),
                     "rps": as_float(r.get("Requests/s")), "failures_per_s": as_float(r.get("Failures/s")),
                     "p50_ms": as_float(r.get("50%")), "p95_ms": as_float(r.get("95%")),
                     "p99_ms": as_float(r.get("99%")), "requests": _int(r.get("Total Request Count")),
                     "failures": _int(r.get("Total Failure Count"))})
    src.accounting.records = len(rows)
    return build_timeseries(rows, src, run=_label(given, run), requests_are="cumulative (locust's running total)",
                            notes=["percentiles are over locust's last 10 s window, rounded"])


def read_locust_failures(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """``PREFIX_failures.csv``: ``method, endpoint, error, occurrences`` (+ first/last seen)."""
    given = open_source(source, errors=errors)
    src = given if given.path is None or given.path.endswith("_failures.csv") else _sibling(given, "_failures.csv")
    need(src is not None, given, "no _failures.csv beside this file", "locust --csv output")
    rows = [{"method": r.get("Method"), "endpoint": r.get("Name"), "error": r.get("Error"),
             "occurrences": _int(r.get("Occurrences")), "first_seen": r.get("First Seen"),
             "last_seen": r.get("Last Seen"), "run": _label(given, run)} for _, r in _rows(src, FAILURES_HEADER)]
    df = pd.DataFrame(rows, columns=["method", "endpoint", "error", "occurrences", "first_seen", "last_seen", "run"])
    for c in ("first_seen", "last_seen"):
        df[c] = pd.to_datetime(df[c], utc=True, errors="coerce")
    df.attrs = {"source": src.accounting.as_dict()}
    return df


def _int(value: Any) -> int | None:
    v = as_float(value)
    return None if v is None else int(v)


# --- HTML report ---------------------------------------------------------------------------------

def _html_args(src: Source) -> dict[str, Any]:
    text = src.read_text()
    src.accounting.lines_read = text.count("\n") + 1
    at = text.find(_TEMPLATE)
    need(at >= 0, src, "no window.templateArgs in the page", "a locust --html report")
    try:
        args, _ = json.JSONDecoder().raw_decode(text, at + len(_TEMPLATE))
    except ValueError as exc:
        line = text.count("\n", 0, at) + 1
        raise ParseError(f"window.templateArgs is not JSON ({exc})", src.name, line,
                         expected="a locust --html report") from None
    need(isinstance(args, dict), src, "window.templateArgs is not an object", "a locust --html report")
    return args


def read_locust_html(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read a locust ``--html`` report into ``load_test_endpoints`` (the report's final stats)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "locust-html"
    args = _html_args(src)
    quantiles = {(r.get("method"), r.get("name")): r for r in args.get("response_time_statistics") or []}
    rows, totals = [], {}
    for s in args.get("requests_statistics") or []:
        q = quantiles.get((s.get("method"), s.get("name")), {})
        row = {"endpoint": s.get("name"), "method": s.get("method") or None,
               "requests": _int(s.get("num_requests")), "failures": _int(s.get("num_failures")),
               "p50_ms": as_float(q.get("0.5", s.get("median_response_time"))), "p75_ms": None,
               "p90_ms": as_float(q.get("0.9")), "p95_ms": as_float(q.get("0.95", s.get("response_time_percentile_0.95"))),
               "p99_ms": as_float(q.get("0.99", s.get("response_time_percentile_0.99"))),
               "max_ms": as_float(s.get("max_response_time")), "mean_ms": as_float(s.get("avg_response_time")),
               "min_ms": as_float(s.get("min_response_time")), "rps": as_float(s.get("total_rps"))}
        if row["endpoint"] == "Aggregated" and not s.get("method"):
            totals = row
        else:
            rows.append(row)
    src.accounting.records = len(rows)
    notes = ["read the HTML report: the final stats, after the runner stopped"]
    csv_src = _sibling(src, "_stats.csv")
    if csv_src is not None and totals:
        n = next((_int(r.get("Request Count")) for _, r in _rows(csv_src, STATS_HEADER)
                  if r.get("Name") == "Aggregated" and not r.get("Type")), None)
        notes.append(f"the CSV beside it counts {n} requests, this report {totals['requests']}")
    return build_endpoints(rows, src, run=_label(src, run), tool="locust", totals=totals, notes=notes,
                           meta={k: args.get(k) for k in ("start_time", "end_time", "duration", "host", "locustfile")})


def read_locust_html_history(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """The HTML report's history (the aggregate, every few seconds) as ``load_test_timeseries``."""
    src = open_source(source, errors=errors)
    src.accounting.format = "locust-html"
    rows = []
    for h in _html_args(src).get("history") or []:
        # each value is [time, value]
        v = {k: x[1] if isinstance(x, list) and len(x) == 2 else x for k, x in h.items()}
        rows.append({"timestamp": pd.Timestamp(h.get("time")), "endpoint": ALL, "users": _int(v.get("user_count")),
                     "rps": as_float(v.get("current_rps")), "failures_per_s": as_float(v.get("current_fail_per_sec")),
                     "p50_ms": as_float(v.get("response_time_percentile_0.5")),
                     "p95_ms": as_float(v.get("response_time_percentile_0.95"))})
    src.accounting.records = len(rows)
    return build_timeseries(rows, src, run=_label(src, run), requests_are="not recorded in the HTML history")


def sniff_csv(head: formats.Head) -> bool:
    first = head.text.lstrip("\ufeff").split("\n", 1)[0]
    return first.startswith((STATS_HEADER, HISTORY_HEADER, FAILURES_HEADER, EXCEPTIONS_HEADER)) \
        and (first.startswith(STATS_HEADER) or bool(re.search(r"_(stats_history|failures|exceptions)\.csv$", head.name)))


def sniff_html(head: formats.Head) -> bool:
    # the page starts with locust's bundled JavaScript; templateArgs comes ~200 KB later
    return "<html" in head.text[:2000].lower() and "<title>Locust</title>" in head.text[:4000]


formats.register("locust-csv", "load_test", read_locust_csv, sniff=sniff_csv, suffixes=_SUFFIXES,
                 description="locust --csv PREFIX (any of its files; the run's others are found by prefix)",
                 extras=formats.Extras(tables={"timeseries": read_locust_history,
                                                      "failures": read_locust_failures}))
formats.register("locust-html", "load_test", read_locust_html, sniff=sniff_html,
                 description="locust --html report (window.templateArgs)",
                 extras=formats.Extras(tables={"timeseries": read_locust_html_history}))
