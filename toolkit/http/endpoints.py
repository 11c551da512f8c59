"""Endpoints: requests grouped by templated path, with latency percentiles, errors and bytes.

Templating turns ``/api/users/517`` into ``/api/users/{id}``: a path segment that is a number,
a UUID or a hex string (8+ characters with a digit) becomes ``{id}``. User route patterns
(``/users/{id}/orders``, ``{name}`` matches one segment) are tried first, in order.

``endpoints`` accepts the ``http_requests`` table or a path to a log: then it streams the log in
chunks and keeps, per endpoint, only each distinct latency and body size with its count, so
memory depends on the number of distinct values, not on the file size, while the percentiles
stay exact (no sketches).

Example::

    >>> import pandas as pd
    >>> template_paths(pd.Series(["/api/users/517", "/api/orders/3f2b8c1e-9a4d-4f7e-8c1a-0b2d4e6f8a9c"])).tolist()
    ['/api/users/{id}', '/api/orders/{id}']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..sources import CHUNK_BYTES

MALFORMED = "(malformed request)"
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_ID_SEGMENT = re.compile(rf"(?<=/)(?:\d+|{_UUID}|(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{{8,}})(?=/|$)")
_HIT = ("HIT", "STALE", "UPDATING", "REVALIDATED")
QUANTILES = (0.50, 0.90, 0.95, 0.99)
COLUMNS = ["endpoint", "method", "requests", "rps", "p50_s", "p90_s", "p95_s", "p99_s", "max_s",
           "mean_s", "total_s", "time_pct", "errors_4xx_pct", "errors_5xx_pct", "p50_bytes",
           "p95_bytes", "cache_hit_pct", "example"]
NEEDED = {"method", "path", "status", "body_bytes_sent", "request_time_s", "upstream_cache_status"}


def _route_regexes(routes: Sequence[str] | None) -> list[tuple[re.Pattern, str]]:
    out = []
    for route in routes or ():
        parts = re.split(r"(\{[^}/]+\})", route)
        rx = "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
        out.append((re.compile(rx + "/?"), route))
    return out


def _template_one(path: Any, routes: list[tuple[re.Pattern, str]]) -> str:
    if not isinstance(path, str):
        return MALFORMED
    for rx, route in routes:
        if rx.fullmatch(path):
            return route
    return _ID_SEGMENT.sub("{id}", path)


def template_paths(paths: pd.Series, routes: Sequence[str] | None = None) -> pd.Series:
    """Templated endpoint for each path (``/users/42`` -> ``/users/{id}``); user ``routes``
    (``"/users/{id}/orders"``) first. A null path (malformed request) -> ``(malformed request)``.
    Only distinct paths are templated, so this is fast on long logs."""
    rx = _route_regexes(routes)
    codes, uniques = pd.factorize(pd.Series(paths, dtype=object), use_na_sentinel=True)
    done = np.array([_template_one(p, rx) for p in uniques] + [MALFORMED], dtype=object)
    return pd.Series(done[codes], index=paths.index, dtype=object, name="endpoint")


def _merge_counts(pair: tuple[np.ndarray, np.ndarray] | None, values: np.ndarray,
                  counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(distinct sorted values, their counts) with ``values`` (each counted ``counts`` or once) added."""
    if counts is None:
        counts = np.ones(len(values), dtype=np.int64)
    if pair is not None:
        values = np.concatenate([pair[0], values])
        counts = np.concatenate([pair[1], counts])
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, np.bincount(inverse, weights=counts, minlength=len(distinct)).astype(np.int64)


def weighted_quantiles(values: np.ndarray, counts: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of the multiset (``values`` sorted and distinct, each repeated ``counts`` times),
    interpolated linearly exactly as ``np.quantile`` does on the expanded array."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    out = []
    for q in qs:
        h = (n - 1) * q
        lo = int(np.floor(h))
        hi = min(lo + 1, n - 1)
        v_lo = values[np.searchsorted(cum, lo, side="right")]
        v_hi = values[np.searchsorted(cum, hi, side="right")]
        out.append(v_lo + (h - lo) * (v_hi - v_lo))
    return np.array(out, dtype=float)


class EndpointAccumulator:
    """Streaming per-endpoint aggregation: feed request chunks with :meth:`add`, then
    :meth:`result`. Keeps, per endpoint, each distinct latency and body size with its count, so
    percentiles are exact while memory grows with the number of distinct values (a log with
    millisecond times has at most a few thousand per endpoint), not with the number of requests.
    """

    def __init__(self, routes: Sequence[str] | None = None):
        self.routes = routes
        self.lat: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # (distinct seconds, counts)
        self.size: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # (distinct bytes, counts)
        self.counts: dict[tuple, np.ndarray] = {}  # requests, 4xx, 5xx, cache_known, cache_hits
        self.total: dict[tuple, float] = {}
        self.example: dict[tuple, str] = {}
        self.t_min = None
        self.t_max = None

    def add(self, df: pd.DataFrame | Mapping[str, Any]) -> None:
        """Add requests: an ``http_requests`` DataFrame, or the column arrays of one parsed chunk
        (``parse_chunk(..., arrays=True)``)."""
        cols = df if isinstance(df, Mapping) else {c: df[c] for c in df.columns}
        n = len(df) if isinstance(df, pd.DataFrame) else len(next(iter(cols.values()), ()))
        if n == 0:
            return

        def numbers(name: str) -> np.ndarray:
            col = cols.get(name)
            if col is None:
                return np.full(n, np.nan)
            if isinstance(col, np.ndarray):
                return col.astype(float, copy=False)
            return pd.Series(col).to_numpy(dtype=float, na_value=np.nan)

        def objects(name: str) -> np.ndarray | None:
            col = cols.get(name)
            return None if col is None else np.asarray(pd.Series(col, dtype=object) if not isinstance(col, np.ndarray)
                                                       else col, dtype=object)

        # Integer keys: template the distinct paths only, then combine endpoint and method codes.
        paths = objects("path")
        if paths is None:
            paths = np.full(n, None, object)
        p_codes, p_uniques = pd.factorize(paths, use_na_sentinel=True)
        rx = _route_regexes(self.routes)
        e_codes_u, e_uniques = pd.factorize(np.array([_template_one(p, rx) for p in p_uniques] + [MALFORMED],
                                                     dtype=object))
        e_codes = e_codes_u[p_codes]  # -1 (null path) picks the last entry: MALFORMED
        methods = objects("method")
        if methods is None:
            methods = np.full(n, None, object)
        m_codes, m_uniques = pd.factorize(methods, use_na_sentinel=True)
        m_uniques = list(m_uniques) + [""]
        m_codes = np.where(m_codes < 0, len(m_uniques) - 1, m_codes)
        key_codes = e_codes.astype(np.int64) * len(m_uniques) + m_codes
        keys = {int(k): (e_uniques[k // len(m_uniques)], m_uniques[k % len(m_uniques)])
                for k in np.unique(key_codes)}
        lat, size, status = numbers("request_time_s"), numbers("body_bytes_sent"), numbers("status")
        cache = objects("upstream_cache_status")
        ts = cols.get("timestamp")
        if ts is not None:
            lo, hi = ts.min(), ts.max()  # NaT-skipping for a Series and a DatetimeIndex alike
            if pd.notna(lo):
                self.t_min = lo if self.t_min is None else min(self.t_min, lo)
                self.t_max = hi if self.t_max is None else max(self.t_max, hi)
        order = np.argsort(key_codes, kind="stable")
        bounds = np.flatnonzero(np.diff(key_codes[order])) + 1
        groups = np.split(order, bounds)
        cache_known = pd.notna(cache) if cache is not None else np.zeros(n, bool)
        cache_hit = np.isin(cache, _HIT) if cache is not None else np.zeros(n, bool)
        urls = objects("url") if "url" in cols else paths  # streaming reads only the path
        for idx in groups:
            key = keys[int(key_codes[idx[0]])]
            lt = lat[idx]
            lt = lt[~np.isnan(lt)]
            sz = size[idx]
            sz = sz[~np.isnan(sz)]
            st = status[idx]
            self.lat[key] = _merge_counts(self.lat.get(key), lt)
            self.size[key] = _merge_counts(self.size.get(key), sz.astype(np.int64))
            self.total[key] = self.total.get(key, 0.0) + float(lt.sum())
            c = np.array([len(idx), np.sum((st >= 400) & (st < 500)), np.sum(st >= 500),
                          cache_known[idx].sum(), cache_hit[idx].sum()], dtype=np.int64)
            self.counts[key] = self.counts.get(key, 0) + c
            if key not in self.example and urls is not None:
                self.example[key] = urls[idx[0]]

    def merge(self, other: EndpointAccumulator) -> None:
        """Add another accumulator's requests (of later input: examples keep the earliest)."""
        for key, (values, counts) in other.lat.items():
            self.lat[key] = _merge_counts(self.lat.get(key), values, counts)
            self.size[key] = _merge_counts(self.size.get(key), *other.size[key])
            self.total[key] = self.total.get(key, 0.0) + other.total[key]
            self.counts[key] = self.counts.get(key, 0) + other.counts[key]
            if key not in self.example and key in other.example:
                self.example[key] = other.example[key]
        for name, pick in (("t_min", min), ("t_max", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None else pick(mine, theirs))

    def result(self) -> pd.DataFrame:
        rows = []
        span = 0.0
        if self.t_min is not None:
            span = (self.t_max - self.t_min).total_seconds()
        span = max(span, 1.0)
        grand = sum(self.total.values()) or np.nan
        for key, counts in self.counts.items():
            lat, lat_n = self.lat[key]
            size, size_n = self.size[key]
            requests, n4, n5, known, hits = (int(x) for x in counts)
            timed = int(lat_n.sum())
            if timed:
                # rounded to the microsecond: logs carry ms (nginx) or us (%D); hides lerp noise
                q = np.round(weighted_quantiles(lat, lat_n, QUANTILES), 6)
                mx = round(float(lat[-1]), 6)
                mean = self.total[key] / timed
            else:
                q, mx, mean = [np.nan] * len(QUANTILES), np.nan, np.nan
            bq = np.round(weighted_quantiles(size, size_n, (0.5, 0.95)), 6) if len(size) else (np.nan, np.nan)
            rows.append({
                "endpoint": key[0], "method": key[1] or None, "requests": requests,
                "rps": requests / span, "p50_s": q[0], "p90_s": q[1], "p95_s": q[2], "p99_s": q[3],
                "max_s": mx, "mean_s": mean, "total_s": self.total[key] if timed else np.nan,
                "time_pct": 100.0 * self.total[key] / grand if timed else np.nan,
                "errors_4xx_pct": 100.0 * n4 / requests, "errors_5xx_pct": 100.0 * n5 / requests,
                "p50_bytes": bq[0], "p95_bytes": bq[1],
                "cache_hit_pct": 100.0 * hits / known if known else np.nan,
                "example": self.example.get(key),
            })
        df = pd.DataFrame(rows, columns=COLUMNS)
        df = df.sort_values(["total_s", "requests"], ascending=False, na_position="last", kind="stable")
        df = schema.coerce(df.reset_index(drop=True), "endpoints")[COLUMNS]
        return df


def _chunk_partial(fmt, routes, first: int, text: str):
    """Worker: parse one chunk and aggregate it (runs in a process pool)."""
    from .accesslog import parse_chunk
    cols, skips = parse_chunk(fmt, first, text, arrays=True)
    acc = EndpointAccumulator(routes)
    if cols is not None:
        acc.add(cols)
    return skips, acc, 0 if cols is None else len(cols["source_line"])


def endpoints(requests: Any, *, routes: Sequence[str] | None = None, log_format: Any = "combined",
              chunk_size: int = CHUNK_BYTES, jobs: int = 1, **read_options: Any) -> pd.DataFrame:
    """Per endpoint (templated path and method): requests, rps (over the whole log's time span),
    latency p50/p90/p95/p99/max/mean/total in seconds, ``time_pct`` (share of all request time),
    4xx and 5xx rates in percent, body size p50/p95 in bytes, cache hit percent (where the log
    has ``$upstream_cache_status``), and an example URL (the path only, when streaming from a
    file: capturing the query costs time). Sorted by total time, descending.

    ``requests`` is the ``http_requests`` table, or a log path (streamed chunk by chunk with
    ``log_format``; pass ``log_format=None`` to detect combined/common). ``jobs`` > 1 parses the
    chunks of a file in that many worker processes (at most ``2 x jobs`` chunks in flight).

    Percentiles interpolate linearly between the two nearest requests (numpy's and pandas'
    default), computed exactly from every request, rounded to the microsecond.

    Example::

        >>> import toolkit as tk
        >>> tk.endpoints("sample_traces/http/nginx/combined.log.gz").head()   # doctest: +SKIP
    """
    acc = EndpointAccumulator(routes)
    if isinstance(requests, pd.DataFrame):
        acc.add(requests)
        return acc.result()
    from .. import formats
    from ..sources import open_source
    from .accesslog import compile_format, iter_chunks
    src = open_source(requests, errors=read_options.pop("errors", "skip"))
    if log_format is None:
        fmt = formats.detect(src, "access_log")
        if fmt.name not in ("combined", "common"):  # JSON lines: read whole, then aggregate
            acc.add(fmt.read(src, **read_options))
            out = acc.result()
            out.attrs["source"] = src.accounting.as_dict()
            return out
        log_format = fmt.name
    if jobs <= 1:
        for chunk in iter_chunks(src, log_format, chunk_size=chunk_size, columns=NEEDED, arrays=True,
                                 **read_options):
            acc.add(chunk)
    else:
        _parallel(src, compile_format(log_format, **read_options).only(NEEDED), acc, routes, chunk_size, jobs)
    out = acc.result()
    out.attrs["source"] = src.accounting.as_dict()
    return out


def _parallel(src, fmt, acc: EndpointAccumulator, routes, chunk_size: int, jobs: int) -> None:
    import collections
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    accounting = src.accounting
    accounting.format = f"access_log:{fmt.name}"

    def drain(future) -> None:
        skips, part, records = future.result()
        for line, reason, text in skips:
            accounting.skip(line, reason, text)
        accounting.records += records
        acc.merge(part)

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: collections.deque = collections.deque()
        for first, text in src.iter_chunks(chunk_size):
            pending.append(pool.submit(_chunk_partial, fmt, routes, first, text))
            if len(pending) >= 2 * jobs:
                drain(pending.popleft())
        while pending:
            drain(pending.popleft())
