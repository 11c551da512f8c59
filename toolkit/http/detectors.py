"""Checklist rules over HTTP requests (the ``http_requests`` table): ``findings(requests)``.

Rules (ids ``http.*``) and what each needs from the log; one finding per endpoint (``METHOD
/templated/path``), client or upstream server, each with an estimate of what fixing it saves:

- ``http.slow_endpoint``: endpoint p95 latency >= 0.5 s (needs ``$request_time`` / ``%D``), where
  the time is spent upstream (the application) when the log has ``$upstream_response_time``.
- ``http.slow_client``: requests whose time goes to the client, not the application:
  ``$request_time`` - ``$upstream_response_time`` >= 0.5 s and at least half the request.
- ``http.error_rate``: an endpoint answering >= 1 % of its requests (and >= 5) with 5xx; 4xx
  separately (>= 20 %, >= 20 requests; 429 belongs to rate limiting), with the time window.
- ``http.large_payload``: responses > 300,000 bytes (Sentry's "Large HTTP payload" size).
- ``http.uncompressed``: text responses (JSON, HTML, JS, CSS, XML, text/*) >= 1 KiB sent without
  a Content-Encoding (needs ``$sent_http_content_type`` and ``$sent_http_content_encoding`` or
  ``$gzip_ratio``).
- ``http.pagination_latency``: latency grows with an ``offset`` / ``page`` / ``skip`` / ``start``
  query parameter (Spearman rank correlation, and the top quarter of values much slower).
- ``http.cache_miss``: a GET URL requested again and again with identical 2xx bodies that the
  proxy cache never serves (``$upstream_cache_status`` MISS / BYPASS / EXPIRED, or no cache: ``-``),
  only where a cache saves something: a median latency of >= 10 ms or a body of >= 10 KB.
- ``http.rate_limit``: a client whose peak requests per second is far above every other
  client's; the evidence says how many 429 / 503 responses were returned.
- ``http.keepalive``: clients whose connections carry a single request (``$connection`` with
  ``$connection_requests``).
- ``http.upstream_imbalance``: servers of one upstream pool answering the same endpoints at very
  different speeds or shares (``$upstream_addr`` with ``$upstream_response_time``).

A rule whose columns are missing from the log reports nothing.

Example::

    >>> import toolkit as tk
    >>> requests = tk.read_access_log("sample_traces/http/nginx/access.log.gz", log_format=...)  # doctest: +SKIP
    >>> tk.http.findings(requests).top(5)[["rule", "title", "saving"]]                         # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .. import rules as R
from ..ranking import to_frame
from .endpoints import MALFORMED, endpoints, template_paths

SLOW = R.rule(
    "http.slow_endpoint", "asynchronous work",
    "An endpoint whose p95 latency is above the threshold: move the work off the request path "
    "(a job queue answering 202 + a status URL) or find the slow part (profile, query log).",
    severity="high", thresholds={"p95_s": 0.5, "min_requests": 5},
    fix="Return 202 Accepted and do the work in a background job (Celery/RQ/a queue), or profile "
        "the handler and fix the slow part; alert on the endpoint's p95 (monitoring).")
SLOW_CLIENT = R.rule(
    "http.slow_client", "payload limits",
    "Requests whose time goes to sending the response to the client, not to the application "
    "($request_time well above $upstream_response_time): slow or distant clients, large bodies.",
    severity="medium", thresholds={"min_client_s": 0.5, "min_requests": 5},
    fix="Keep proxy_buffering on so the application is freed at once, compress and shrink the "
        "response (pagination, fields), serve large files from a CDN or object storage; alert on "
        "the application's time ($upstream_response_time), not only on $request_time.")
ERRORS = R.rule(
    "http.error_rate", "monitoring",
    "An endpoint that answers a share of its requests with server errors (5xx), or with client "
    "errors (4xx, 429 left to rate limiting), with the time window they fall in.",
    severity="high", thresholds={"min_5xx_share": 0.01, "min_5xx": 5, "min_4xx_share": 0.2,
                                 "min_4xx": 20},
    fix="5xx: read the application's error log for these requests (same time window) and fix the "
        "cause; alert on the endpoint's 5xx rate. 4xx: a client keeps asking for something that "
        "is not there or not allowed (a broken link, an expired token): fix the caller.")
LARGE = R.rule(
    "http.large_payload", "payload limits",
    "Responses larger than 300,000 bytes (Sentry's large HTTP payload threshold).",
    severity="medium", thresholds={"bytes": 300_000, "min_share": 0.2},
    fix="Paginate or filter the response, return only the fields the client needs, stream large "
        "files from object storage with a size limit, and compress text.")
UNCOMPRESSED = R.rule(
    "http.uncompressed", "compression",
    "Text responses (JSON, HTML, JS, CSS, XML) of 1 KiB or more sent without compression.",
    severity="medium", thresholds={"min_bytes": 1024, "min_share": 0.5, "min_requests": 5},
    fix="Enable gzip/brotli for these content types (nginx: gzip on; gzip_types application/json "
        "...; and no 'gzip off' in this location), or compress in the application.")
PAGINATION = R.rule(
    "http.pagination_latency", "pagination",
    "Latency that grows with the page / offset parameter: OFFSET pagination reads and discards "
    "every skipped row.",
    severity="medium", thresholds={"min_spearman": 0.6, "min_ratio": 2.0, "min_requests": 10},
    fix="Use keyset (cursor) pagination: WHERE id > :last_seen ORDER BY id LIMIT n, with an index "
        "on the sort key; cap the page size and the maximum offset.")
CACHE = R.rule(
    "http.cache_miss", "caching",
    "A hot GET URL answered again and again with identical 2xx bodies that the proxy cache never "
    "serves (always MISS, BYPASS or EXPIRED, or no cache at all), where a cache would save real "
    "time or bytes.",
    severity="medium", thresholds={"min_repeats": 20, "max_hit_pct": 10.0, "same_size_share": 0.8,
                                   "min_latency_s": 0.01, "min_bytes": 10_000},
    fix="Cache it: proxy_cache with proxy_cache_valid (and no Set-Cookie / Cache-Control: private "
        "on a public response, or proxy_ignore_headers), or an application cache with a TTL; send "
        "Cache-Control/ETag so clients can revalidate.")
RATE = R.rule(
    "http.rate_limit", "rate limiting",
    "A client whose peak request rate is far above the other clients' (a throttling candidate), "
    "with the number of 429 / 503 responses returned.",
    severity="medium", thresholds={"peak_ratio": 5.0, "min_peak_rps": 20, "min_clients": 3},
    fix="Rate-limit per client (nginx limit_req with a burst, or an API gateway), return 429 with "
        "Retry-After, and give heavy clients a bulk endpoint.")
KEEPALIVE = R.rule(
    "http.keepalive", "keep-alive",
    "Clients that open a new connection for (almost) every request.",
    severity="low", thresholds={"single_share": 0.8, "min_requests": 20},
    fix="Reuse connections: keep-alive in the client (a requests.Session / HTTP connection pool), "
        "no 'Connection: close'; on the server keepalive_timeout and keepalive_requests high enough.")
IMBALANCE = R.rule(
    "http.upstream_imbalance", "load balancing",
    "Servers of one upstream pool answer the same endpoints at very different speeds, or get very "
    "different shares of the requests.",
    severity="medium", thresholds={"latency_ratio": 2.0, "min_diff_s": 0.010, "share_ratio": 2.0,
                                   "min_requests": 50},
    fix="Take the slow server out of the pool and find out why (CPU, noisy neighbour, GC, a bad "
        "deploy); use least_conn or health checks so a degraded server gets less traffic.")

RULES = (SLOW, SLOW_CLIENT, ERRORS, LARGE, UNCOMPRESSED, PAGINATION, CACHE, RATE, KEEPALIVE, IMBALANCE)

_TEXT_TYPES = re.compile(r"json|text/|javascript|xml|css|html", re.I)
_PAGE_PARAMS = ("offset", "page", "skip", "start", "from", "p")
_HIT = ("HIT", "STALE", "UPDATING", "REVALIDATED")
# What gzip achieves on JSON/HTML/CSS/JS when the log has no $gzip_ratio to measure it: at least
# 4x (typical API JSON compresses 5-10x); an assumption stated in the saving text.
ASSUMED_GZIP_RATIO = 4.0


def _where(requests: pd.DataFrame) -> str | None:
    return (requests.attrs.get("source") or {}).get("path")


def _first_line(rows: pd.DataFrame) -> int | None:
    if "source_line" in rows and rows["source_line"].notna().any():
        return int(rows["source_line"].min())
    return None


def _span(requests: pd.DataFrame) -> float:
    t = requests["timestamp"].dropna() if "timestamp" in requests else pd.Series(dtype=float)
    return float((t.max() - t.min()).total_seconds()) if len(t) else 0.0


def _when(t: Any) -> str:
    return "?" if t is None or pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _with_endpoint(requests: pd.DataFrame, routes) -> pd.DataFrame:
    """The requests with ``endpoint`` and ``key`` (``METHOD /templated``) columns added; a frame
    that has them (prepared once by :func:`findings`) comes back as is. ``assign`` shares the
    other columns (copy-on-write), so a big table is not copied per rule."""
    if "endpoint" in requests.columns and "key" in requests.columns:
        return requests
    endpoint = template_paths(requests["path"], routes).to_numpy()
    key = requests["method"].astype(object).fillna("").astype(str).to_numpy() + " " + endpoint
    return requests.assign(endpoint=endpoint, key=key)


def _upstream_s(rows: pd.DataFrame) -> pd.Series:
    if "upstream_time_s" not in rows:
        return pd.Series(np.nan, index=rows.index)
    return pd.to_numeric(rows["upstream_time_s"], errors="coerce")


def slow_endpoints(requests: pd.DataFrame, *, routes=None, p95_s: float = 0.5, min_requests: int = 5,
                   table: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """``http.slow_endpoint`` findings. When the log has upstream times and the application's
    p95 is under the threshold, the time goes to the client: ``http.slow_client`` reports it.
    The saving is the waiting above the threshold (the p95 moved down to it)."""
    table = endpoints(requests, routes=routes) if table is None else table
    hits = table[(table["p95_s"] >= p95_s) & (table["requests"] >= min_requests)]
    out = []
    df = None
    span = _span(requests)
    for _, r in hits.iterrows():
        if df is None:
            df = _with_endpoint(requests, routes)
        rows = df[(df["endpoint"] == r["endpoint"]) & (df["method"].astype(object).fillna("") == (r["method"] or ""))]
        up = _upstream_s(rows)
        up_p95 = float(up.quantile(0.95)) if up.notna().sum() >= min_requests else None
        if up_p95 is not None and up_p95 < p95_s:
            continue  # the application answers in time: the client is slow (http.slow_client)
        worst = rows.loc[rows["request_time_s"].idxmax()] if rows["request_time_s"].notna().any() else None
        ev = (f"{r['method']} {r['endpoint']}: {r['requests']} requests, p50 {r['p50_s']:.3f} s, "
              f"p95 {r['p95_s']:.3f} s, max {r['max_s']:.3f} s (threshold p95 >= {p95_s} s); "
              f"{r['time_pct']:.1f}% of all request time")
        if up_p95 is not None:
            ev += f"; the application (upstream) took p95 {up_p95:.3f} s of it"
        if worst is not None:
            ev += f"; slowest: {worst['url']} at line {int(worst['source_line'])}"
        above = float(np.clip(rows["request_time_s"].astype(float) - p95_s, 0, None).sum())
        out.append(R.finding(SLOW, f"Slow endpoint {r['method']} {r['endpoint']} (p95 {r['p95_s']:.2f} s)", ev,
                             key=f"{r['method']} {r['endpoint']}", file=_where(requests), line=_first_line(rows),
                             occurrences=int(r["requests"]), saving_s=above, span_s=span,
                             saving=f"p95 {r['p95_s']:.2f} s -> at most {p95_s:g} s: "
                                    f"{R.duration(R.per_hour(above, span))} less waiting per hour of log "
                                    f"({R.duration(above)} above {p95_s:g} s over {R.duration(max(span, 1.0))})",
                             endpoint=r["endpoint"]))
    return out


def slow_clients(requests: pd.DataFrame, *, routes=None, min_client_s: float = 0.5,
                 min_requests: int = 5) -> list[dict[str, Any]]:
    """``http.slow_client`` findings: per endpoint, requests where ``$request_time`` exceeds
    ``$upstream_response_time`` by ``min_client_s`` or more and the client part is at least half
    of the request, when there are ``min_requests`` of them (needs both times)."""
    if "upstream_time_s" not in requests or requests["upstream_time_s"].isna().all():
        return []
    df = _with_endpoint(requests, routes)
    up = _upstream_s(df)
    total = df["request_time_s"].astype(float)
    client = total - up
    slow = df[(client >= min_client_s) & (client >= 0.5 * total)]
    span = _span(requests)
    out = []
    for key, rows in slow.groupby("key", sort=True):
        if len(rows) < min_requests:
            continue
        all_rows = df[df["key"] == key]
        c = client[rows.index]
        clients = rows["client"].value_counts()
        sizes = rows["body_bytes_sent"].astype(float)
        ev = (f"{key}: {len(rows)} of {len(all_rows)} requests spent {c.median():.2f} s (median, max "
              f"{c.max():.2f} s) after the application had answered in {up[rows.index].median():.3f} s: "
              f"the time went to sending {R.size(sizes.median())} bodies to the client(s) "
              f"{', '.join(f'{k} ({v})' for k, v in clients.head(3).items())}; first at "
              f"{_when(rows['timestamp'].min())}, line {_first_line(rows)}")
        out.append(R.finding(SLOW_CLIENT, f"{key}: time goes to slow clients, not the application "
                             f"({c.median():.1f} s per request)", ev, key=key, file=_where(requests),
                             line=_first_line(rows), occurrences=len(rows), saving_s=float(c.sum()),
                             span_s=span, saving=f"up to {R.duration(R.per_hour(float(c.sum()), span))} of "
                             f"connection time per hour of log ({R.duration(float(c.sum()))} spent sending)",
                             endpoint=rows["endpoint"].iloc[0]))
    return out


def error_rates(requests: pd.DataFrame, *, routes=None, min_5xx_share: float = 0.01, min_5xx: int = 5,
                min_4xx_share: float = 0.2, min_4xx: int = 20) -> list[dict[str, Any]]:
    """``http.error_rate`` findings per endpoint: 5xx (at least ``min_5xx`` and ``min_5xx_share``
    of its requests; high severity) and 4xx other than 429 (``min_4xx``, ``min_4xx_share``;
    low severity), with the window they fall in and their busiest minute. The saving counts a
    retry of each failed request at the endpoint's median successful latency."""
    df = _with_endpoint(requests, routes)
    df = df[df["endpoint"] != MALFORMED]
    span = _span(requests)
    status = df["status"].astype(float)
    failing = df.loc[(status >= 400) & (status != 429), "key"].value_counts()
    keep = df["key"].isin(failing.index[failing >= min(min_5xx, min_4xx)])
    df, status = df[keep], status[keep]
    out = []
    for key, rows in df.groupby("key", sort=True):
        st = status[rows.index]
        ok = rows[(st >= 200) & (st < 400)]["request_time_s"].astype(float)
        retry = float(ok.median()) if ok.notna().any() else 0.0
        for cls, lo, hi, min_n, min_share, severity in (
                ("5xx", 500, 600, min_5xx, min_5xx_share, "high"),
                ("4xx", 400, 500, min_4xx, min_4xx_share, "low")):
            bad = rows[(st >= lo) & (st < hi) & (st != 429)]
            share = len(bad) / len(rows)
            if len(bad) < min_n or share < min_share:
                continue
            codes = ", ".join(f"{int(k)} x {v}" for k, v in bad["status"].value_counts().items())
            minute = bad["timestamp"].dt.floor("min").value_counts() if bad["timestamp"].notna().any() else None
            peak = (f"; busiest minute {_when(minute.index[0])} with {int(minute.iloc[0])}"
                    if minute is not None and len(minute) else "")
            ev = (f"{key}: {len(bad)} of {len(rows)} requests ({100 * share:.1f} %) answered {cls} "
                  f"({codes}) between {_when(bad['timestamp'].min())} and {_when(bad['timestamp'].max())}"
                  f"{peak}; e.g. {bad['url'].iloc[0]} at line {_first_line(bad)}")
            wasted = float(bad["request_time_s"].astype(float).fillna(0).sum()) + len(bad) * retry
            out.append(R.finding(ERRORS, f"{key} answers {100 * share:.1f} % {cls} ({len(bad)} requests)", ev,
                                 key=f"{key} {cls}", file=_where(requests), line=_first_line(bad),
                                 severity=severity, occurrences=len(bad), saving_s=wasted, span_s=span,
                                 saving=f"{len(bad)} failed requests ≈ {R.duration(R.per_hour(wasted, span))} "
                                        f"per hour of log (their time and a retry each)",
                                 endpoint=rows["endpoint"].iloc[0], errors=len(bad), error_class=cls,
                                 error_pct=round(100 * share, 3)))
    return out


def large_payloads(requests: pd.DataFrame, *, routes=None, bytes: int = 300_000,
                   min_share: float = 0.2) -> list[dict[str, Any]]:
    """``http.large_payload`` findings: endpoints where >= ``min_share`` of responses exceed
    ``bytes``. The saving is the bytes above the threshold."""
    size_col = "body_bytes_sent" if requests["body_bytes_sent"].notna().any() else "bytes_sent"
    if requests[size_col].isna().all():
        return []
    df = _with_endpoint(requests, routes)
    df = df[df["endpoint"] != MALFORMED]
    span = _span(requests)
    out = []
    for key, rows in df.groupby("key", sort=True):
        sizes = rows[size_col].astype(float)
        big = rows[sizes > bytes]
        if len(big) == 0 or len(big) / len(rows) < min_share:
            continue
        lat = big["request_time_s"]
        ev = (f"{key}: {len(big)} of {len(rows)} responses above {bytes:,} bytes; median "
              f"{R.size(sizes.median())}, max {R.size(sizes.max())}")
        if lat.notna().any():
            ev += f"; those requests took p50 {lat.median():.3f} s"
        out.append(R.finding(LARGE, f"Large responses from {key} (median {R.size(sizes.median())})", ev,
                             key=key, file=_where(requests), line=_first_line(big), occurrences=len(big),
                             saving_bytes=float((sizes[big.index] - bytes).sum()), span_s=span,
                             endpoint=rows["endpoint"].iloc[0]))
    return out


def uncompressed(requests: pd.DataFrame, *, routes=None, min_bytes: int = 1024, min_share: float = 0.5,
                 min_requests: int = 5) -> list[dict[str, Any]]:
    """``http.uncompressed`` findings (needs the response content type and encoding or gzip
    ratio). The saving is the bytes gzip would remove: at the log's own median ``$gzip_ratio``
    when it has one, else :data:`ASSUMED_GZIP_RATIO`."""
    if "sent_http_content_type" not in requests:
        return []
    has_enc = "sent_http_content_encoding" in requests
    if not has_enc and "gzip_ratio" not in requests:
        return []
    df = _with_endpoint(requests, routes)
    ctype = df["sent_http_content_type"].astype(object).fillna("")
    text = ctype.str.contains(_TEXT_TYPES) & (df["body_bytes_sent"].astype(float) >= min_bytes) \
        & df["status"].between(200, 299)
    if has_enc:
        compressed = df["sent_http_content_encoding"].notna()
    else:
        compressed = df["gzip_ratio"].notna()
    df = df[text]
    compressed = compressed[text]
    ratios = requests["gzip_ratio"].dropna() if "gzip_ratio" in requests else pd.Series(dtype=float)
    ratio = float(ratios.median()) if len(ratios) else ASSUMED_GZIP_RATIO
    span = _span(requests)
    out = []
    for key, rows in df.groupby("key", sort=True):
        plain = rows[~compressed.loc[rows.index]]
        if len(rows) < min_requests or len(plain) / len(rows) < min_share:
            continue
        types = ", ".join(sorted(plain["sent_http_content_type"].astype(str).unique())[:3])
        total = float(plain["body_bytes_sent"].sum())
        ev = (f"{key}: {len(plain)} of {len(rows)} {types} responses of >= {min_bytes} bytes sent "
              f"uncompressed (median {R.size(plain['body_bytes_sent'].median())}, "
              f"{R.size(total)} in total)")
        if len(ratios):
            ev += f"; the compressed responses in this log shrank {ratios.median():.1f}x (median $gzip_ratio)"
        else:
            ev += f"; gzip shrinks such text about {ASSUMED_GZIP_RATIO:g}x or more (assumed)"
        out.append(R.finding(UNCOMPRESSED, f"Uncompressed {types} from {key}", ev, key=key,
                             file=_where(requests), line=_first_line(plain), occurrences=len(plain),
                             saving_bytes=total * (1 - 1 / max(ratio, 1.0)), span_s=span,
                             endpoint=rows["endpoint"].iloc[0]))
    return out


def pagination_latency(requests: pd.DataFrame, *, routes=None, min_spearman: float = 0.6,
                       min_ratio: float = 2.0, min_requests: int = 10) -> list[dict[str, Any]]:
    """``http.pagination_latency`` findings: latency rank-correlated with a page/offset parameter.
    The saving is what the deeper pages cost above the shallow quarter's median."""
    if requests["request_time_s"].isna().all() or requests["query"].isna().all():
        return []
    df = _with_endpoint(requests[requests["query"].notna()], routes)
    span = _span(requests)
    out = []
    for key, rows in df.groupby("key", sort=True):
        for param in _PAGE_PARAMS:
            values = pd.to_numeric(rows["query"].str.extract(rf"(?:^|&){param}=(\d+)(?:&|$)")[0],
                                   errors="coerce")
            ok = values.notna() & rows["request_time_s"].notna()
            if ok.sum() < min_requests or values[ok].nunique() < 5:
                continue
            v, t = values[ok].astype(float), rows["request_time_s"][ok].astype(float)
            rho = v.rank().corr(t.rank())
            lo, hi = v.quantile(0.25), v.quantile(0.75)
            t_lo, t_hi = t[v <= lo].median(), t[v >= hi].median()
            ratio = t_hi / t_lo if t_lo > 0 else np.inf
            if rho >= min_spearman and ratio >= min_ratio:
                ev = (f"{key}: over {int(ok.sum())} requests, latency rises with {param}= "
                      f"(Spearman {rho:.2f}); median {t_lo:.3f} s for {param} <= {lo:g}, "
                      f"{t_hi:.3f} s for {param} >= {hi:g} ({ratio:.1f}x); max {param} {v.max():g}")
                out.append(R.finding(PAGINATION, f"{key}: latency grows with {param}=", ev, key=key,
                                     file=_where(requests), line=_first_line(rows), occurrences=int(ok.sum()),
                                     saving_s=float(np.clip(t - t_lo, 0, None).sum()), span_s=span,
                                     endpoint=rows["endpoint"].iloc[0]))
                break
    return out


def cache_misses(requests: pd.DataFrame, *, routes=None, min_repeats: int = 20, max_hit_pct: float = 10.0,
                 same_size_share: float = 0.8, min_latency_s: float = 0.01,
                 min_bytes: int = 10_000) -> list[dict[str, Any]]:
    """``http.cache_miss`` findings, one per endpoint (needs ``$upstream_cache_status``; only
    proxied requests): URLs requested ``min_repeats`` or more times with the same body, at most
    ``max_hit_pct`` % served from cache, and worth caching: a median latency of at least
    ``min_latency_s`` or a median body of at least ``min_bytes`` (a 1 ms, 12-byte answer gains
    nothing from a cache). The saving assumes a 60 s cache: one miss per URL per minute."""
    if "upstream_cache_status" not in requests:
        return []
    df = requests[(requests["method"] == "GET") & requests["status"].between(200, 299)]
    if "upstream_addr" in df:  # served by nginx itself (static files): nothing for a proxy cache
        df = df[df["upstream_addr"].notna() | df["upstream_cache_status"].isin(_HIT)]
    counts = df["url"].value_counts()
    df = _with_endpoint(df[df["url"].isin(counts.index[counts >= min_repeats])], routes)
    span = _span(requests)
    hits: dict[str, list[dict[str, Any]]] = {}
    for url, rows in df.groupby("url", sort=True):
        if len(rows) < min_repeats:
            continue
        sizes = rows["body_bytes_sent"]
        same = sizes.value_counts(normalize=True).iloc[0] if sizes.notna().any() else 0.0
        status = rows["upstream_cache_status"].astype(object).fillna("-")
        hit_pct = 100.0 * status.isin(_HIT).mean()
        lat = rows["request_time_s"].astype(float)
        worth = (lat.notna().any() and lat.median() >= min_latency_s) or \
            (sizes.notna().any() and sizes.median() >= min_bytes)
        if same < same_size_share or hit_pct > max_hit_pct or not worth:
            continue
        minutes = rows["timestamp"].dt.floor("min").nunique() if rows["timestamp"].notna().any() else 1
        misses = rows[~status.isin(_HIT)]
        avoidable = max(len(misses) - minutes, 0)
        hits.setdefault(rows["key"].iloc[0], []).append({
            "url": url, "rows": rows, "same": same, "status": status, "hit_pct": hit_pct,
            "saved": avoidable * float(misses["request_time_s"].astype(float).median() or 0.0)})
    out = []
    for key, urls in hits.items():
        urls.sort(key=lambda u: -len(u["rows"]))
        top = urls[0]
        rows, status, sizes = top["rows"], top["status"], top["rows"]["body_bytes_sent"]
        counts = ", ".join(f"{k} {v}" for k, v in status.value_counts().items())
        cache_word = "no cache configured (status '-')" if (status == "-").all() else f"cache status {counts}"
        lat = rows["request_time_s"]
        ev = (f"GET {top['url']}: {len(rows)} requests with {100 * top['same']:.0f}% identical "
              f"{R.size(sizes.mode().iloc[0])} bodies; {cache_word}; {top['hit_pct']:.0f}% hits")
        if lat.notna().any():
            ev += f"; p50 {lat.median():.3f} s each"
        if len(urls) > 1:
            ev += f"; {len(urls) - 1} more URL(s) of {key} alike ({', '.join(u['url'] for u in urls[1:4])})"
        title = (f"GET {top['url']} is never served from cache" if top["hit_pct"] == 0
                 else f"GET {top['url']} rarely hits the cache")
        if len(urls) > 1:
            title = f"{key}: {len(urls)} URLs never or rarely served from cache"
        out.append(R.finding(CACHE, title, ev, key=key, file=_where(requests), line=_first_line(rows),
                             occurrences=sum(len(u["rows"]) for u in urls),
                             saving_s=sum(u["saved"] for u in urls), span_s=span,
                             endpoint=rows["endpoint"].iloc[0]))
    return out


def rate_limit_candidates(requests: pd.DataFrame, *, peak_ratio: float = 5.0, min_peak_rps: float = 20,
                          min_clients: int = 3) -> list[dict[str, Any]]:
    """``http.rate_limit`` findings: clients whose peak req/s is >= ``peak_ratio`` x the median
    of the other clients' peaks. The saving is the server time of the requests above the
    others' peak rate (what a limit at that rate would have turned away)."""
    df = requests[requests["client"].notna() & requests["timestamp"].notna()]
    if df["client"].nunique() < min_clients:
        return []
    sec = df["timestamp"].dt.floor("s")
    per_sec = df.groupby([df["client"], sec]).size()
    peaks = per_sec.groupby(level=0).max()
    status = requests["status"]
    n429, n503 = int((status == 429).sum()), int((status == 503).sum())
    span = _span(requests)
    out = []
    for client, peak in peaks.sort_values(ascending=False).items():
        others = peaks.drop(client)
        base = float(others.median())
        if peak < min_peak_rps or peak < peak_ratio * max(base, 1.0):
            continue
        rows = df[df["client"] == client]
        c429, c503 = int((rows["status"] == 429).sum()), int((rows["status"] == 503).sum())
        when = per_sec.loc[client].idxmax()
        top = rows["path"].value_counts().head(2)
        excess = (per_sec.loc[client] - max(base, 1.0)).clip(lower=0).sum()
        mean_t = float(rows["request_time_s"].astype(float).mean()) if rows["request_time_s"].notna().any() else None
        ev = (f"client {client} peaked at {int(peak)} requests/s at {when:%Y-%m-%d %H:%M:%S} UTC, "
              f"{peak / max(base, 1.0):.0f}x the other {len(others)} clients' median peak of {base:g}/s; "
              f"{len(rows)} requests in all, mostly {', '.join(f'{p} ({n})' for p, n in top.items())}; "
              f"it got {c429} responses 429 and {c503} 503 (whole log: {n429} x 429, {n503} x 503)")
        out.append(R.finding(RATE, f"Client {client} bursts to {int(peak)} req/s", ev, key=str(client),
                             file=_where(requests), line=_first_line(rows), occurrences=int(excess),
                             saving_s=None if mean_t is None else float(excess) * mean_t, span_s=span,
                             client=client))
    return out


def keepalive(requests: pd.DataFrame, *, single_share: float = 0.8, min_requests: int = 20) -> list[dict[str, Any]]:
    """``http.keepalive`` findings: per client, the share of its connections that carried one
    request. The saving is one round trip (the TCP handshake; TLS adds more) per new connection."""
    if "connection_requests" not in requests or requests["connection_requests"].isna().all():
        return []
    df = requests[requests["client"].notna() & requests["connection_requests"].notna()]
    if "connection" in df and df["connection"].notna().any():
        per_conn = df.groupby(["client", "connection"]).size()
        conns = per_conn.groupby(level=0).size()
        singles = (per_conn == 1).groupby(level=0).sum()
        how = "connections"
    else:  # without $connection: a connection's first request has $connection_requests == 1
        conns = (df["connection_requests"] == 1).groupby(df["client"]).sum()
        singles = conns.copy()
        how = "requests opening a new connection"
    total_share = singles.sum() / max(conns.sum(), 1)
    span = _span(requests)
    out = []
    counts = df.groupby("client").size()
    for client, n in counts.sort_values(ascending=False).items():
        if n < min_requests:
            continue
        share = singles[client] / conns[client] if how == "connections" else singles[client] / n
        if share < single_share:
            continue
        rows = df[df["client"] == client]
        ua = rows["user_agent"].dropna()
        ev = (f"client {client}: {int(singles[client])} of {int(conns[client])} {how} carried a single "
              f"request ({100 * share:.0f}%) over {n} requests"
              + (f" (User-Agent {ua.iloc[0]!r})" if len(ua) else "")
              + f"; whole log: {100 * total_share:.0f}% of connections used once")
        out.append(R.finding(KEEPALIVE, f"Client {client} opens a connection per request", ev, key=str(client),
                             file=_where(requests), line=_first_line(rows), occurrences=int(singles[client]),
                             round_trips=float(singles[client]), span_s=span, client=client))
    return out


def upstream_imbalance(requests: pd.DataFrame, *, routes=None, latency_ratio: float = 2.0,
                       min_diff_s: float = 0.010, share_ratio: float = 2.0,
                       min_requests: int = 50) -> list[dict[str, Any]]:
    """``http.upstream_imbalance`` findings: within a pool (the set of servers that answered the
    same endpoints), compare each server's median upstream time on the same endpoints and its
    share. The saving is the slow server's extra time over its requests."""
    if "upstream_addr" not in requests or requests["upstream_addr"].isna().all():
        return []
    df = requests[requests["upstream_addr"].notna() & requests["upstream_time_s"].notna()]
    df = df[~df["upstream_addr"].str.contains(",| : ", regex=True)]  # retried requests: several servers
    if df.empty:
        return []
    df = _with_endpoint(df, routes)
    span = _span(requests)
    pools: dict[frozenset, list[str]] = {}
    for key, addrs in df.groupby("key")["upstream_addr"].unique().items():
        pools.setdefault(frozenset(addrs), []).append(key)
    out = []
    for addrs, keys in sorted(pools.items(), key=lambda kv: sorted(kv[0])):
        if len(addrs) < 2:
            continue
        rows = df[df["key"].isin(keys)]
        if len(rows) < min_requests:
            continue
        med = rows.groupby(["key", "upstream_addr"])["upstream_time_s"].median().unstack()
        # per server: its median over endpoints relative to the endpoint's fastest server
        per_server_diff = med.sub(med.min(axis=1), axis=0).median()
        floor = max(float(med.min().min()), 0.001)  # a 0.000 s median (ms resolution) counts as 1 ms
        per_server_ratio = med.div(med.min(axis=1).clip(lower=floor), axis=0).median()
        per_server = rows.groupby("upstream_addr")["upstream_time_s"].median()
        share = rows["upstream_addr"].value_counts()
        slow = per_server_diff.idxmax()
        lat_ratio = float(per_server_ratio[slow])
        sh_ratio = share.max() / share.min()
        if not ((lat_ratio >= latency_ratio and per_server_diff[slow] >= min_diff_s) or sh_ratio >= share_ratio):
            continue
        servers = "; ".join(f"{a}: {share[a]} requests, median {per_server[a]:.3f} s"
                            for a in sorted(addrs))
        ev = (f"pool of {len(addrs)} servers behind {len(keys)} endpoints ({', '.join(sorted(keys)[:4])}"
              f"{', ...' if len(keys) > 4 else ''}): {servers}; on the same endpoints {slow} is "
              f"{per_server_diff[slow]:.3f} s slower than the fastest server (median over endpoints, "
              f"{lat_ratio:.1f}x); request shares {share.max()}:{share.min()}")
        title = (f"Upstream {slow} is {lat_ratio:.1f}x slower than its pool" if lat_ratio >= latency_ratio
                 else f"Upstream pool {', '.join(sorted(addrs))} gets uneven shares")
        out.append(R.finding(IMBALANCE, title, ev, key=", ".join(sorted(addrs)),
                             file=_where(requests), line=_first_line(rows[rows["upstream_addr"] == slow]),
                             occurrences=int(share[slow]), saving_s=float(share[slow] * per_server_diff[slow]),
                             span_s=span, upstream=slow))
    return out


def findings(requests: pd.DataFrame, *, routes=None, per_rule: int | None = R.PER_RULE, dedupe: bool = True,
             **thresholds: Any) -> pd.DataFrame:
    """Run every ``http.*`` rule over the ``http_requests`` table -> the ranked findings table
    (as :func:`toolkit.findings` builds it: grouped, ranked by saving, ``per_rule`` rows per
    rule then an "and N more" row; None keeps every row).

    ``thresholds`` override a rule's defaults by ``<rule>_<name>`` (e.g. ``slow_endpoint_p95_s=1.0``,
    ``large_payload_bytes=1_000_000``); options for other domains are ignored.
    """
    def opts(rule: R.Rule) -> dict[str, Any]:
        prefix = rule.id.split(".", 1)[1] + "_"
        return {k[len(prefix):]: v for k, v in thresholds.items() if k.startswith(prefix)}

    if requests.empty:
        return to_frame([])
    table = endpoints(requests, routes=routes)
    work = _with_endpoint(requests, routes)  # templated once for every rule
    if work is requests:
        work = requests.copy(deep=False)
    # pandas copies attrs into every slice and group: keep only what the findings cite
    work.attrs = {"source": {"path": _where(requests)}}
    requests = work
    rows: list[dict[str, Any]] = []
    rows += slow_endpoints(requests, routes=routes, table=table, **opts(SLOW))
    rows += slow_clients(requests, routes=routes, **opts(SLOW_CLIENT))
    rows += error_rates(requests, routes=routes, **opts(ERRORS))
    rows += large_payloads(requests, routes=routes, **opts(LARGE))
    rows += uncompressed(requests, routes=routes, **opts(UNCOMPRESSED))
    rows += pagination_latency(requests, routes=routes, **opts(PAGINATION))
    rows += cache_misses(requests, routes=routes, **opts(CACHE))
    rows += rate_limit_candidates(requests, **opts(RATE))
    rows += keepalive(requests, **opts(KEEPALIVE))
    rows += upstream_imbalance(requests, routes=routes, **opts(IMBALANCE))
    return to_frame(rows, per_rule=per_rule, dedupe=dedupe)
