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

import contextlib
import gc
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..engines import engine_of
from ..native import accesslog as native_accesslog
from ..quantiles import counted_sum, weighted_quantiles
from ..sources import CHUNK_BYTES
from ..state import full_read_note
from .scanner import Batch, scan, scan_piece, scan_range

MALFORMED = "(malformed request)"
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_ID_SEGMENT = re.compile(rf"(?<=/)(?:\d+|{_UUID}|(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{{8,}})(?=/|$)")
_HIT = ("HIT", "STALE", "UPDATING", "REVALIDATED")
QUANTILES = (0.50, 0.90, 0.95, 0.99)
COLUMNS = ["endpoint", "method", "requests", "rps", "p50_s", "p90_s", "p95_s", "p99_s", "max_s",
           "mean_s", "total_s", "time_pct", "errors_4xx_pct", "errors_5xx_pct", "p50_bytes",
           "p95_bytes", "cache_hit_pct", "example"]
# routes -> {path: endpoint} of the paths templated in this process, up to _TEMPLATES_KEPT
# paths each (~30 MB at most; templating is a pure function of path and routes)
_TEMPLATES: dict[tuple, dict[Any, str]] = {}
_TEMPLATES_KEPT = 200_000
NEEDED = {"method", "path", "url", "status", "body_bytes_sent", "request_time_s", "upstream_cache_status"}


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
    if pair is None and counts is None:  # (the first values of a key: counted by the sort itself)
        distinct, seen = np.unique(values, return_counts=True)
        return distinct, seen.astype(np.int64)
    if counts is None:
        counts = np.ones(len(values), dtype=np.int64)
    if pair is not None:
        values = np.concatenate([pair[0], values])
        counts = np.concatenate([pair[1], counts])
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, np.bincount(inverse, weights=counts, minlength=len(distinct)).astype(np.int64)


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
        self.example: dict[tuple, str] = {}
        self.t_min = None
        self.t_max = None
        # Row order of the table before sorting by time (ties keep it): endpoints by their first
        # request, then methods by their first request, whatever the chunking or the workers.
        self.rows = 0
        self.first_endpoint: dict[str, int] = {}
        self.first_method: dict[str, int] = {}

    def _endpoints_of(self, paths: list, rx: list[tuple[re.Pattern, str]]) -> np.ndarray:
        """The endpoint of each distinct path (None: a malformed request): each path templated
        once per process and routes (:data:`_TEMPLATES`: a log's pieces and byte ranges share
        most of their paths)."""
        known = _TEMPLATES.setdefault(tuple(self.routes or ()), {})

        def template(path: Any) -> str:
            endpoint = known[path] = _template_one(path, rx)
            if len(known) > _TEMPLATES_KEPT:
                del known[path]
            return endpoint

        out = np.empty(len(paths), dtype=object)
        out[:] = [known.get(p) or template(p) for p in paths]
        return out

    def add(self, data: pd.DataFrame | Batch | Mapping[str, Any]) -> None:
        """Add requests: an ``http_requests`` DataFrame, a scanner :class:`Batch`, or its columns."""
        if isinstance(data, Batch):
            cols, n = data.columns, len(data)
        elif isinstance(data, pd.DataFrame):
            cols, n = {c: data[c] for c in data.columns}, len(data)
        else:
            cols, n = data, len(next(iter(data.values()), ()))
        if n == 0:
            return

        def numbers(name: str) -> np.ndarray:
            col = cols.get(name)
            if col is None:
                return np.full(n, np.nan)
            if isinstance(col, np.ndarray):
                return col.astype(float, copy=False)
            if isinstance(col, pd.Series) and col.dtype == np.float64:
                return col.to_numpy(copy=False)  # (NaN already: no copy of a table's column)
            return pd.Series(col).to_numpy(dtype=float, na_value=np.nan)

        def objects(name: str) -> np.ndarray | None:
            col = cols.get(name)
            return None if col is None else np.asarray(pd.Series(col, dtype=object) if not isinstance(col, np.ndarray)
                                                       else col, dtype=object)

        # Integer keys: template the distinct paths only, then combine endpoint and method codes.
        # A scanner batch gives the request's parts already coded (Batch.coded); a table's
        # columns are factorized here. Either way the keys are distinct (endpoint, method) pairs.
        # (Each array a row is freed once used: a whole table's rows are many.)
        coded = data.coded if isinstance(data, Batch) else {}

        def distinct(name: str) -> tuple[np.ndarray, list]:  # (codes >= 0, values; None for null)
            if name in coded:  # (its values may repeat: a path of many request lines, once)
                u_codes, uniques = pd.factorize(coded[name].uniques, use_na_sentinel=True)
                u_codes[u_codes < 0] = len(uniques)
                return u_codes[coded[name].codes], [*uniques, None]
            col = objects(name)
            if col is None:
                return np.zeros(n, dtype=np.intp), [None]
            # a table's rows share one string object per distinct value (the scanner's columns
            # do): rows coded by object identity in C, values compared among those objects only
            rows, held = native_accesslog.object_codes(col)
            distinct_objects = np.empty(len(held), dtype=object)
            distinct_objects[:] = held
            u_codes, uniques = pd.factorize(distinct_objects, use_na_sentinel=True)
            u_codes[u_codes < 0] = len(uniques)
            return u_codes[np.frombuffer(rows, dtype=np.int64)], [*uniques, None]

        rx = _route_regexes(self.routes)
        p_codes, p_uniques = distinct("path")
        e_codes_u, e_uniques = pd.factorize(self._endpoints_of(p_uniques, rx))
        m_codes, m_uniques = distinct("method")
        m_codes_u, m_names = pd.factorize(np.array(["" if m is None else m for m in m_uniques], dtype=object))
        m_names = list(m_names)
        width = np.int32 if len(e_uniques) * len(m_names) < 1 << 31 else np.int64
        # a null path: MALFORMED; a null method: ""
        key_codes = e_codes_u.astype(width)[p_codes] * width(len(m_names))
        del p_codes
        key_codes += m_codes_u.astype(width)[m_codes]
        del m_codes
        present = np.flatnonzero(np.bincount(key_codes, minlength=len(e_uniques) * len(m_names)))
        keys = {k: (e_uniques[k // len(m_names)], m_names[k % len(m_names)]) for k in present.tolist()}
        status = numbers("status")  # (NaN: neither)
        errors = ((status >= 400) & (status < 500), status >= 500)
        del status
        lat, size = numbers("request_time_s"), numbers("body_bytes_sent")
        cache = None
        if "upstream_cache_status" in cols:  # (known, hit) per distinct status
            c_codes, c_uniques = distinct("upstream_cache_status")
            cache = (np.array([u is not None for u in c_uniques])[c_codes],
                     np.array([u in _HIT for u in c_uniques])[c_codes])
        ts = cols.get("timestamp")
        if ts is not None:
            self._span(ts.min(), ts.max())  # NaT-skipping for a Series and a DatetimeIndex alike
        urls = objects("url" if "url" in cols else "path")
        if urls is None:
            urls = np.full(n, None, object)
        self._accumulate(key_codes, keys, lat, size, errors, cache, urls.__getitem__)

    def _span(self, lo, hi) -> None:
        if pd.notna(lo):
            self.t_min = lo if self.t_min is None else min(self.t_min, lo)
            self.t_max = hi if self.t_max is None else max(self.t_max, hi)

    def _accumulate(self, key_codes: np.ndarray, keys: dict, lat: np.ndarray, size: np.ndarray,
                    errors: tuple[np.ndarray, np.ndarray], cache: tuple[np.ndarray, np.ndarray] | None,
                    example) -> None:
        """Fold one chunk in: ``key_codes`` (int per request) -> ``keys`` (endpoint, method);
        numbers as float arrays with NaN; ``errors``: which requests are 4xx, which 5xx (bool);
        ``cache``: which have a cache status, which a hit (bool; None: no cache status);
        ``example(row)`` gives a row's URL (or None: no URLs)."""
        n = len(key_codes)
        # rows grouped by key, in row order inside a group (a stable sort; of 16-bit keys when
        # they fit: numpy sorts those by radix)
        order = np.argsort(key_codes.astype(np.uint16) if len(keys) and max(keys) < 1 << 16 else key_codes,
                           kind="stable")
        sorted_keys = key_codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])  # each key's first row
        ends = np.r_[starts[1:], n]
        # the rows' numbers in key order once (a key's rows are then a slice, in row order as
        # before), its counts of 4xx, 5xx and cache statuses by one reduction per flag
        lat_sorted, size_sorted = lat[order], size[order]
        lat_nan, size_nan = np.isnan(lat_sorted), np.isnan(size_sorted)
        cache_known, cache_hit = cache if cache is not None else (np.zeros(n, bool), np.zeros(n, bool))
        flags = [np.add.reduceat(f[order], starts, dtype=np.int64).tolist()
                 for f in (errors[0], errors[1], cache_known, cache_hit)]
        for g, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            row = int(order[lo])  # the key's first request (row index)
            key = keys[int(sorted_keys[lo])]
            lt = lat_sorted[lo:hi][~lat_nan[lo:hi]]
            sz = size_sorted[lo:hi][~size_nan[lo:hi]]
            self.lat[key] = _merge_counts(self.lat.get(key), lt)
            self.size[key] = _merge_counts(self.size.get(key), sz.astype(np.int64))
            c = np.array([hi - lo, flags[0][g], flags[1][g], flags[2][g], flags[3][g]], dtype=np.int64)
            self.counts[key] = self.counts.get(key, 0) + c
            if key not in self.example and example is not None:
                self.example[key] = example(row)
            first = self.rows + row
            for seen, name in ((self.first_endpoint, key[0]), (self.first_method, key[1])):
                if first < seen.get(name, first + 1):
                    seen[name] = first
        self.rows += n

    def merge(self, other: EndpointAccumulator) -> None:
        """Add another accumulator's requests (of later input: examples keep the earliest)."""
        for key, (values, counts) in other.lat.items():
            self.lat[key] = _merge_counts(self.lat.get(key), values, counts)
            self.size[key] = _merge_counts(self.size.get(key), *other.size[key])
            self.counts[key] = self.counts.get(key, 0) + other.counts[key]
            if key not in self.example and key in other.example:
                self.example[key] = other.example[key]
        for mine, theirs in ((self.first_endpoint, other.first_endpoint), (self.first_method, other.first_method)):
            for name, first in theirs.items():
                mine.setdefault(name, self.rows + first)  # other's rows come after ours
        self.rows += other.rows
        for name, pick in (("t_min", min), ("t_max", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None else pick(mine, theirs))

    def result(self) -> pd.DataFrame:
        rows = []
        span = 0.0
        if self.t_min is not None:  # in microseconds: centuries apart overflow a ns Timedelta
            span = (pd.Timestamp(self.t_max).as_unit("us") - pd.Timestamp(self.t_min).as_unit("us")).total_seconds()
        span = max(span, 1.0)
        # totals from the counted latencies (correctly rounded): the same to the bit whatever the
        # chunking or the workers (running sums over the chunks differ in the last bits)
        totals = {key: counted_sum(*self.lat[key]) for key in self.counts}
        grand = math.fsum(totals.values()) or np.nan
        last = float("inf")  # the malformed requests and a missing method come last

        def rank(key: tuple) -> tuple:
            return (last if key[0] == MALFORMED else self.first_endpoint.get(key[0], last),
                    last if not key[1] else self.first_method.get(key[1], last))

        for key in sorted(self.counts, key=rank):
            counts = self.counts[key]
            lat, lat_n = self.lat[key]
            size, size_n = self.size[key]
            requests, n4, n5, known, hits = (int(x) for x in counts)
            timed = int(lat_n.sum())
            if timed:
                # rounded to the microsecond: logs carry ms (nginx) or us (%D); hides lerp noise
                q = np.round(weighted_quantiles(lat, lat_n, QUANTILES), 6)
                mx = round(float(lat[-1]), 6)
                mean = totals[key] / timed
            else:
                q, mx, mean = [np.nan] * len(QUANTILES), np.nan, np.nan
            bq = np.round(weighted_quantiles(size, size_n, (0.5, 0.95)), 6) if len(size) else (np.nan, np.nan)
            rows.append({
                "endpoint": key[0], "method": key[1] or None, "requests": requests,
                "rps": requests / span, "p50_s": q[0], "p90_s": q[1], "p95_s": q[2], "p99_s": q[3],
                "max_s": mx, "mean_s": mean, "total_s": totals[key] if timed else np.nan,
                "time_pct": 100.0 * totals[key] / grand if timed else np.nan,
                "errors_4xx_pct": 100.0 * n4 / requests, "errors_5xx_pct": 100.0 * n5 / requests,
                "p50_bytes": bq[0], "p95_bytes": bq[1],
                "cache_hit_pct": 100.0 * hits / known if known else np.nan,
                "example": self.example.get(key),
            })
        df = pd.DataFrame(rows, columns=COLUMNS)
        df = df.sort_values(["total_s", "requests"], ascending=False, na_position="last", kind="stable")
        df = schema.coerce(df.reset_index(drop=True), "endpoints")[COLUMNS]
        return df


def chunk_partial(fmt, routes, first: int, text: str, name: str | None):
    """Worker: scan one piece of text and aggregate it (runs in a process pool)."""
    acc = EndpointAccumulator(routes)
    batch = scan_piece(fmt, first, text, name)
    acc.add(batch)
    return batch.skips, acc, len(batch)


def range_partial(path: str, fmt, routes, lo: int, hi: int, chunk_size: int):
    """Worker: aggregate the lines in bytes ``lo:hi`` of an uncompressed file (both at line
    starts). Line numbers count from 1 at ``lo``; the parent shifts them. Returns (accumulator,
    the range's :class:`~toolkit.sources.Accounting`: lines read, requests, skipped lines with
    their reasons and examples, replaced bytes), counted in by the parent with
    ``Accounting.add(ranged, lines before the range)``. The range is read in pieces of even
    size, as many as ``chunk_size`` gives when rounded (:func:`even_pieces`)."""
    acc = EndpointAccumulator(routes)
    batches, ranged = scan_range(path, fmt, lo, hi, even_pieces(hi - lo, chunk_size))
    for batch in batches:
        acc.add(batch)
        for line, reason, bad in batch.skips:
            ranged.skip(line, reason, bad)
        ranged.records += len(batch)
    return acc, ranged


def even_pieces(size: int, chunk_size: int) -> int:
    """The piece size that reads ``size`` bytes in ``round(size / chunk_size)`` (at least one)
    pieces of even size, at most 1.5 x ``chunk_size`` each: a range a little longer than a
    chunk (19 MB of 16 MiB pieces) is one piece, not a chunk and a small rest that costs every
    per-piece step (the grouping per endpoint, the conversions per distinct value) again."""
    pieces = max(1, round(size / max(chunk_size, 1)))
    return max(1, -(-size // pieces))


def byte_ranges(path: str, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges of the file, each starting at a line start (fewer if lines are long)."""
    size = os.path.getsize(path)
    bounds = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            pos = max(size * k // parts, bounds[-1])
            fh.seek(pos)
            while True:
                block = fh.read(1 << 16)
                if not block:
                    pos = size
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    pos += nl + 1
                    break
                pos += len(block)
            if pos >= size:
                break
            bounds.append(pos)
    bounds.append(size)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def endpoints(requests: Any, *, routes: Sequence[str] | None = None, log_format: Any = None,
              chunk_size: int = CHUNK_BYTES, jobs: int | None = None, state: Any = None,
              **read_options: Any) -> pd.DataFrame:
    """Per endpoint (templated path and method): requests, rps (over the whole log's time span),
    latency p50/p90/p95/p99/max/mean/total in seconds, ``time_pct`` (share of all request time),
    4xx and 5xx rates in percent, body size p50/p95 in bytes, cache hit percent (where the log
    has ``$upstream_cache_status``), and an example URL (the endpoint's first request). Sorted
    by total time, descending.

    ``requests`` is the ``http_requests`` table, or a log path (streamed chunk by chunk; its
    format detected, or ``log_format`` / ``name`` in every form :func:`toolkit.http.accesslog.read_access_log`
    takes: a name, a format string, a directive, an nginx.conf's text or ``@path``). ``jobs`` > 1 splits an
    uncompressed file into byte ranges (at line starts), each read and aggregated by one of
    ``jobs`` worker processes; a compressed input is decompressed here and its chunks sent to the
    workers (at most ``2 x jobs`` in flight). Same table whatever ``jobs`` and ``chunk_size``.
    The default (None) uses a process per core for an uncompressed file over 64 MB, one otherwise.
    Every way runs the one access-log scanner (:mod:`toolkit.http.scanner`) and folds its batches.
    A Dask frame (``read_access_log(..., engine="dask")``) is folded partition by partition on
    the cluster and merged up a tree (:mod:`toolkit.distributed.reductions`): the same table.

    Percentiles interpolate linearly between the two nearest requests (numpy's and pandas'
    default), computed exactly from every request, rounded to the microsecond.

    ``state`` (a directory, or a :class:`toolkit.state.StateStore`) makes a log path's table
    incremental (:mod:`toolkit.http.incremental`): the next call on the grown file reads only the
    new lines, with the same table as a full read; a rotated, truncated or rewritten file is read
    from 0; a compressed one is read whole (``attrs["source"]["incremental"]`` says so).

    Example::

        >>> import toolkit as tk
        >>> tk.endpoints("sample_traces/http/nginx/combined.log.gz").head()   # doctest: +SKIP
    """
    acc = EndpointAccumulator(routes)
    if isinstance(requests, pd.DataFrame):
        acc.add(requests)
        return acc.result()
    if (engine := engine_of(requests)) is not None:  # a Dask frame: a tree reduction of these accumulators
        return engine.endpoints(requests, routes=routes)
    from .accesslog import check_matched, resolve_format
    fmt: Any
    src, fmt = resolve_format(requests, log_format, **read_options)  # compiled before the log is opened
    if not isinstance(fmt, str):
        fmt = fmt.only(NEEDED, joined=True)
    src.accounting.format = f"access_log:{fmt if isinstance(fmt, str) else fmt.name}"
    if jobs is None:
        big = src.path is not None and src.compression is None and os.path.getsize(src.path) > 64_000_000
        jobs = (os.cpu_count() or 1) if big else 1
    ranged = src.path is not None and src.compression is None  # (byte ranges can be read)
    run = {} if state is None or ranged else full_read_note(src)  # with a state: what was read
    if state is not None and ranged:
        from .incremental import endpoints_incremental

        run = endpoints_incremental(src, fmt, acc, state, range_partial, routes=routes, chunk_size=chunk_size)
    elif jobs > 1 and ranged:
        _parallel_ranges(src, fmt, acc, routes, chunk_size, jobs)
    elif jobs > 1:
        _parallel(src, fmt, acc, routes, chunk_size, jobs)
    else:
        for batch in scan(src, fmt, chunk_size):
            acc.add(batch)
    check_matched(src.accounting, fmt)
    out = acc.result()
    out.attrs["source"] = {**src.accounting.as_dict(), **run}
    return out


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    """The parent's objects moved out of the garbage collector's reach while forked workers run
    (``gc.freeze``, as the gc documentation advises before a fork): a worker's collections then
    never walk, so never copy, the pages of the modules it inherited. Where the program froze
    objects itself, its freeze is left as it is (``gc.unfreeze`` would thaw those too)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _parallel(src, fmt, acc: EndpointAccumulator, routes, chunk_size: int, jobs: int) -> None:
    import collections
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    accounting = src.accounting

    def drain(future) -> None:
        skips, part, records = future.result()
        for line, reason, text in skips:
            accounting.skip(line, reason, text)
        accounting.records += records
        acc.merge(part)

    with _frozen(), ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: collections.deque = collections.deque()
        for first, text in src.iter_chunks(chunk_size):
            pending.append(pool.submit(chunk_partial, fmt, routes, first, text, src.name))
            if len(pending) >= 2 * jobs:
                drain(pending.popleft())
        while pending:
            drain(pending.popleft())


def _parallel_ranges(src, fmt, acc: EndpointAccumulator, routes, chunk_size: int, jobs: int) -> None:
    """An uncompressed file: workers read and aggregate byte ranges of it themselves (no text
    crosses process boundaries, only the small accumulators come back, merged in file order)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    accounting = src.accounting
    # 4 ranges per worker: a worker slowed down by a busy core hands the later ranges to the others
    ranges = byte_ranges(src.path, 4 * jobs)
    if not ranges:  # an empty file: no lines, no workers
        accounting.lines_read = 0
        return
    with _frozen(), ProcessPoolExecutor(min(jobs, len(ranges)), mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(range_partial, src.path, fmt, routes, lo, hi, chunk_size) for lo, hi in ranges]
        offset = 0
        for future in futures:  # in file order: line numbers and examples as a single pass
            part, ranged = future.result()
            accounting.add(ranged, offset)
            offset += ranged.lines_read
            acc.merge(part)
    accounting.lines_read = offset
