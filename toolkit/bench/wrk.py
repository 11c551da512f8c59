"""wrk's printed report (stdout), best with ``--latency``.

Format (wrk 4.1.0): https://github.com/wg/wrk/blob/4.1.0/src/wrk.c (``main``: the summary
``printf``s; ``print_stats``, ``print_stats_latency``) and src/units.c (``format_time_us``,
``format_metric``, ``format_binary``)::

    Running 5s test @ http://127.0.0.1:41393/api/report
      2 threads and 4 connections
      Thread Stats   Avg      Stdev     Max   +/- Stdev
        Latency    16.12ms  504.34us  19.44ms   85.00%
        Req/Sec   124.32      5.07   131.00     70.00%
      Latency Distribution
         50%   16.00ms
         75%   16.28ms
         90%   16.59ms
         99%   18.13ms
      1240 requests in 5.01s, 177.20KB read
      Non-2xx or 3xx responses: 24
    Requests/sec:    247.52
    Transfer/sec:     35.37KB

Quirks: times carry their unit (``us``, ``ms``, ``s``, ``m``, ``h``); counts in ``Req/Sec`` may
carry a metric suffix (``1.23k``). ``Latency Distribution`` appears only with ``--latency``
(percentiles 50/75/90/99; wrk has no 95th: ``p95_ms`` stays null). ``Socket errors: connect C,
read R, write W, timeout T`` appears only when there were any; ``Non-2xx or 3xx responses`` only
when there were any. Both count as ``failures`` (socket errors are not completed requests, so
``failures`` can exceed the failed share of ``requests``; the parts are kept as ``non_2xx`` and
``socket_errors``). wrk knows the URL, not a route: ``endpoint`` is the URL's path; ``method`` is
GET unless a Lua script changed it (wrk's report does not say). Lines a Lua ``done()`` prints are
counted as skipped with their reason.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from .. import formats
from ..sources import open_source
from .loadtest import build_endpoints
from .samples import need, run_label

EXPECTED = "wrk's report (Running ... test @ URL)"
_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_TIME = r"([\d.]+)(us|ms|s|m|h)"
_RUNNING = re.compile(r"^Running (\S+) test @ (\S+)")
_THREADS = re.compile(r"^\s*(\d+) threads and (\d+) connections")
_LATENCY = re.compile(rf"^\s*Latency\s+{_TIME}\s+{_TIME}\s+{_TIME}\s+([\d.]+)%")
_REQSEC = re.compile(r"^\s*Req/Sec\s+")
_PCT = re.compile(rf"^\s*(50|75|90|99)(?:\.0+)?%\s+{_TIME}\s*$")
_TOTAL = re.compile(rf"^\s*(\d+) requests in {_TIME}, ([\d.]+)(\w*B) read")
_NON2XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)")
_HEADINGS = re.compile(r"^\s*(Thread Stats|Latency Distribution|Transfer/sec:)")


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def read_wrk(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read a wrk report into ``load_test_endpoints`` (one row: the URL's path)."""
    src = open_source(source, errors=errors)
    src.accounting.format = "wrk"
    row: dict[str, Any] = {"method": "GET", "non_2xx": 0, "socket_errors": 0}
    meta: dict[str, Any] = {}
    for n, line in src.iter_lines():
        if m := _RUNNING.match(line):
            meta.update(duration=m.group(1), url=m.group(2))
            row["endpoint"] = urlsplit(m.group(2)).path or "/"
        elif m := _THREADS.match(line):
            meta.update(threads=int(m.group(1)), connections=int(m.group(2)))
        elif m := _LATENCY.match(line):
            row.update(mean_ms=_ms(m.group(1), m.group(2)), stdev_ms=_ms(m.group(3), m.group(4)),
                       max_ms=_ms(m.group(5), m.group(6)))
        elif m := _PCT.match(line):
            row[f"p{m.group(1)}_ms"] = _ms(m.group(2), m.group(3))
        elif m := _TOTAL.match(line):
            row["requests"] = int(m.group(1))
            meta.update(elapsed_s=_ms(m.group(2), m.group(3)) / 1e3, read=m.group(4) + m.group(5))
        elif m := _NON2XX.match(line):
            row["non_2xx"] = int(m.group(1))
        elif m := _SOCKET.match(line):
            row["socket_errors"] = sum(int(g) for g in m.groups())
            meta["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()),
                                             strict=True))
        elif m := _RPS.match(line):
            row["rps"] = float(m.group(1))
        elif _REQSEC.match(line) or _HEADINGS.match(line) or not line.strip():
            pass
        else:
            src.accounting.skip(n, "not part of wrk's report (a Lua script's output?)", line)
    need("endpoint" in row and "requests" in row, src, "no 'Running ... test @ URL' or 'N requests in' line",
         EXPECTED)
    row["failures"] = row["non_2xx"] + row["socket_errors"]
    src.accounting.records = 1
    notes = [] if "p50_ms" in row else ["no Latency Distribution (run wrk with --latency for percentiles)"]
    return build_endpoints([row], src, run=run_label(src, run, (".txt", ".log", ".out")), tool="wrk",
                           totals=dict(row), notes=notes, meta=meta)


def sniff(head: formats.Head) -> bool:
    return bool(re.search(r"^Running \S+ test @ \S+", head.text[:2000], re.M)) and "requests in" in head.text


formats.register("wrk", "load_test", read_wrk, sniff=sniff, description="wrk's printed report (--latency)")
