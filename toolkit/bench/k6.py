"""k6: the end-of-test summary as JSON (``--summary-export`` or ``handleSummary``) and the
``--out json`` stream of every metric point.

Formats (k6 v0.49-v1.x): https://grafana.com/docs/k6/v0.49.x/results-output/end-of-test/ and
https://grafana.com/docs/k6/v0.49.x/results-output/real-time/json/ (sources: k6
``internal/cmd/summary.go`` / ``js/summary.go`` and ``output/json/json.go`` at v0.49.0).

- ``--summary-export FILE``: ``{"root_group": {...}, "metrics": {"http_req_duration": {"avg",
  "min", "med", "max", "p(90)", "p(95)"}, "http_reqs": {"count", "rate"}, "http_req_failed":
  {"passes", "fails", "value"}, ...}}``: values directly under each metric.
- ``handleSummary(data)`` written as JSON: the same metrics as ``{"type": "trend", "contains":
  "time", "values": {...}}``, plus ``"state": {"testRunDurationMs": ...}`` and ``"options"``.
- Trend stats are the ``--summary-trend-stats`` (default avg, min, med, max, p(90), p(95)): there
  is no p50 other than ``med`` and no p99 unless asked for. Times are milliseconds.
- A rate metric's ``passes`` counts the *true* values: for ``http_req_failed`` that is the
  failed requests (``fails`` the successful ones).
- Sub-metrics appear as ``http_req_duration{name:/api/x}``, ``http_reqs{name:/api/x}`` when a
  threshold names them: those become endpoint rows (tags ``name``, else ``url``; ``method`` where
  tagged); ``{expected_response:true}`` and other tags are not endpoints. With none, the table
  has one row, ``(all)``.
- ``--out json``: one JSON object per line, ``{"type": "Metric", "data": {...}, "metric": NAME}``
  declaring a metric, then ``{"type": "Point", "metric": "http_req_duration", "data": {"time":
  RFC 3339, "value": ms, "tags": {"method", "name", "status", "url", "expected_response", ...}}}``.
  Every request's duration is there: the endpoint table's percentiles are exact, the time series
  is binned per second, and ``table="requests"`` gives one row per request (``timestamp``,
  ``endpoint``, ``method``, ``status``, ``duration_ms``, ``failed``) for a comparison with tests.

The k6 binary is not installable on this project's machines (no Debian or npm package; see
sample_traces/bench/README.md): the tests read k6 files published by other projects.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from .. import formats
from ..sources import Source, open_source
from ..sources import read_json_document as load_json
from .loadtest import ALL, PERCENTILES, build_endpoints, build_timeseries, source_dict
from .samples import as_float, need, run_label

EXPECTED = "k6 --summary-export / handleSummary JSON"
_SUB = re.compile(r"^([a-z_]+)\{(.*)\}$")
_TREND = {"p50_ms": "med", "p90_ms": "p(90)", "p95_ms": "p(95)", "p99_ms": "p(99)", "max_ms": "max",
          "mean_ms": "avg", "min_ms": "min"}


def _values(metric: Any) -> dict[str, Any]:
    if not isinstance(metric, dict):
        return {}
    return metric["values"] if isinstance(metric.get("values"), dict) else metric


def _tags(text: str) -> dict[str, str]:
    tags = {}
    for part in text.split(","):
        key, _, value = part.partition(":")
        tags[key.strip()] = value.strip()
    return tags


def _row(metrics: dict[str, Any], suffix: str, duration_s: float | None) -> dict[str, Any]:
    trend = _values(metrics.get(f"http_req_duration{suffix}"))
    reqs = _values(metrics.get(f"http_reqs{suffix}"))
    failed = _values(metrics.get(f"http_req_failed{suffix}"))
    row: dict[str, Any] = {k: as_float(trend.get(v)) for k, v in _TREND.items()}
    count = as_float(reqs.get("count"))
    if count is None:
        count = as_float(trend.get("count"))
    if count is None and failed:
        count = (as_float(failed.get("passes")) or 0) + (as_float(failed.get("fails")) or 0)
    row["requests"] = None if count is None else int(count)
    row["failures"] = int(as_float(failed.get("passes")) or 0) if failed else None
    rate = as_float(reqs.get("rate"))
    row["rps"] = rate if rate is not None else (count / duration_s if count is not None and duration_s else None)
    return row


def read_k6_summary(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read k6's end-of-test summary JSON into ``load_test_endpoints``."""
    src = open_source(source, errors=errors)
    src.accounting.format = "k6-summary"
    doc = load_json(src, EXPECTED)
    need(isinstance(doc, dict) and isinstance(doc.get("metrics"), dict), src, "no metrics object", EXPECTED)
    metrics = doc["metrics"]
    need("http_req_duration" in metrics or "http_reqs" in metrics, src,
         "no http_req_duration or http_reqs metric", EXPECTED)
    state = doc.get("state") or {}
    duration_s = as_float(state.get("testRunDurationMs"))
    duration_s = duration_s / 1e3 if duration_s else None
    totals = _row(metrics, "", duration_s)
    rows = []
    seen: set[str] = set()
    for key in metrics:
        m = _SUB.match(key)
        if not m or m.group(1) not in ("http_req_duration", "http_reqs", "http_req_failed"):
            continue
        tags = _tags(m.group(2))
        endpoint = tags.get("name") or tags.get("url")
        if not endpoint or m.group(2) in seen:
            continue
        seen.add(m.group(2))
        rows.append({"endpoint": endpoint, "method": tags.get("method"),
                     **_row(metrics, "{" + m.group(2) + "}", duration_s)})
    notes = []
    if not rows:
        rows = [{"endpoint": ALL, "method": None, **totals}]
        notes.append("k6 reported totals only (no per-endpoint sub-metrics): one row, (all)")
    src.accounting.records = len(rows)
    return build_endpoints(rows, src, run=run_label(src, run), tool="k6", totals=totals, notes=notes,
                           meta={"state": state, "options": doc.get("options") or {}})


# --- --out json -----------------------------------------------------------------------------------

def _points(src: Source) -> pd.DataFrame:
    """One row per http_req_duration / http_req_failed point: time, metric, value, tags."""
    rows = []
    other = {"metric declarations": 0, "points of other metrics": 0, "blank lines": 0}
    src.accounting.other_lines = other  # read, kept out of the tables: counted, not skipped
    for n, line in src.iter_lines():
        if not line.strip():
            other["blank lines"] += 1
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            src.accounting.skip(n, "not a JSON object", line)
            continue
        if not isinstance(obj, dict) or obj.get("type") not in ("Point", "Metric"):
            src.accounting.skip(n, "neither a Point nor a Metric line", line)
            continue
        if obj["type"] == "Metric":
            other["metric declarations"] += 1
            continue
        if obj.get("metric") not in ("http_req_duration", "http_req_failed"):
            other["points of other metrics"] += 1
            continue
        data = obj.get("data") or {}
        value = as_float(data.get("value"))
        if value is None or not data.get("time"):
            src.accounting.skip(n, "a point without time or numeric value", line)
            continue
        tags = data.get("tags") or {}
        rows.append({"line": n, "timestamp": data["time"], "metric": obj["metric"], "value": value,
                     "endpoint": tags.get("name") or tags.get("url") or ALL, "method": tags.get("method"),
                     "status": tags.get("status"), "url": tags.get("url")})
    df = pd.DataFrame(rows, columns=["line", "timestamp", "metric", "value", "endpoint", "method", "status", "url"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
    return df


def _requests(points: pd.DataFrame) -> pd.DataFrame:
    """Durations joined to their failed flag (k6 writes both points for each request, in order)."""
    dur = points[points["metric"] == "http_req_duration"].reset_index(drop=True)
    failed = points[points["metric"] == "http_req_failed"].reset_index(drop=True)
    out = dur.rename(columns={"value": "duration_ms"}).drop(columns=["metric"])
    if len(failed) == len(dur):
        out["failed"] = failed["value"].to_numpy() > 0
    else:  # older k6 (no http_req_failed): a 4xx/5xx status or none is a failure
        status = pd.to_numeric(out["status"], errors="coerce")
        out["failed"] = status.isna() | (status >= 400)
    return out


def _open_json_stream(source: Any, errors: str) -> tuple[Source, pd.DataFrame]:
    src = open_source(source, errors=errors)
    src.accounting.format = "k6-json"
    points = _points(src)
    need(len(points) > 0, src, "no http_req_duration points", "k6 --out json output")
    return src, _requests(points)


def read_k6_json(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """Read k6 ``--out json`` into ``load_test_endpoints`` (exact percentiles of every request)."""
    src, reqs = _open_json_stream(source, errors)
    span = (reqs["timestamp"].max() - reqs["timestamp"].min()).total_seconds() or None
    rows = []
    for (endpoint, method), g in reqs.groupby(["endpoint", "method"], dropna=False, sort=True):
        d = g["duration_ms"].to_numpy()
        rows.append({"endpoint": endpoint, "method": None if pd.isna(method) else method,
                     "requests": len(d), "failures": int(g["failed"].sum()),
                     **{k: float(np.percentile(d, q)) for k, q in PERCENTILES.items()},
                     "max_ms": float(d.max()), "mean_ms": float(d.mean()), "min_ms": float(d.min()),
                     "rps": len(d) / span if span else None})
    d = reqs["duration_ms"].to_numpy()
    totals = {"requests": len(d), "failures": int(reqs["failed"].sum()),
              **{k: float(np.percentile(d, q)) for k, q in PERCENTILES.items()}, "max_ms": float(d.max())}
    src.accounting.records = len(reqs)
    return build_endpoints(rows, src, run=run_label(src, run, (".json", ".jsonl", ".ndjson")), tool="k6",
                           totals=totals, notes=["rps: requests / (last - first request time)"])


def read_k6_timeseries(source: Any, *, run: str | None = None, errors: str = "skip", freq: str = "1s") -> pd.DataFrame:
    """k6 ``--out json`` as ``load_test_timeseries``: per ``freq`` bin, all requests and per endpoint."""
    src, reqs = _open_json_stream(source, errors)
    seconds = pd.Timedelta(freq).total_seconds()
    reqs = reqs.assign(bin=reqs["timestamp"].dt.floor(freq))
    rows = []
    for endpoint, part in [(ALL, reqs)] + list(reqs.groupby("endpoint", sort=True)):
        for t, g in part.groupby("bin"):
            d = g["duration_ms"].to_numpy()
            rows.append({"timestamp": t, "endpoint": endpoint, "requests": len(d), "rps": len(d) / seconds,
                         "failures_per_s": float(g["failed"].sum()) / seconds,
                         "p50_ms": float(np.percentile(d, 50)), "p95_ms": float(np.percentile(d, 95)),
                         "p99_ms": float(np.percentile(d, 99))})
    src.accounting.records = len(reqs)
    return build_timeseries(rows, src, run=run_label(src, run, (".json", ".jsonl", ".ndjson")),
                            requests_are=f"per {freq} interval")


def read_k6_requests(source: Any, *, run: str | None = None, errors: str = "skip") -> pd.DataFrame:
    """k6 ``--out json``: one row per request (timestamp, endpoint, method, status, url,
    duration_ms, failed, line), for :func:`toolkit.bench.compare.compare_periods`."""
    src, reqs = _open_json_stream(source, errors)
    src.accounting.records = len(reqs)
    out = reqs.assign(run=run_label(src, run, (".json", ".jsonl", ".ndjson"))).reset_index(drop=True)
    out.attrs = {"source": source_dict(src)}
    return out


def sniff_summary(head: formats.Head) -> bool:
    t = head.text.lstrip()
    return t.startswith("{") and '"metrics"' in t and ('"http_req_duration' in t or '"http_reqs' in t) \
        and '"type":"Point"' not in t.replace(" ", "")


def sniff_json(head: formats.Head) -> bool:
    first = head.text.lstrip()[:2000].replace(" ", "")
    return first.startswith('{"type":"Metric"') or first.startswith('{"type":"Point"') or \
        (first.startswith("{") and '"type":"Point"' in first and '"metric":' in first)


formats.register("k6-summary", "load_test", read_k6_summary, sniff=sniff_summary,
                 description="k6 end-of-test summary JSON (--summary-export, handleSummary)")
formats.register("k6-json", "load_test", read_k6_json, sniff=sniff_json, suffixes=(".ndjson",),
                 description="k6 --out json (one metric point per line)",
                 extras=formats.Extras(tables={"timeseries": read_k6_timeseries,
                                                      "requests": read_k6_requests}))
