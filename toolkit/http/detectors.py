"""Checklist rules over HTTP requests (the ``http_requests`` table): ``findings(requests)``.

Rules (ids ``http.*``) and what each needs from the log:

- ``http.slow_endpoint``: endpoint p95 latency >= 0.5 s (needs ``$request_time`` / ``%D``).
- ``http.large_payload``: responses > 300,000 bytes (Sentry's "Large HTTP payload" size).
- ``http.uncompressed``: text responses (JSON, HTML, JS, CSS, XML, text/*) >= 1 KiB sent without
  a Content-Encoding (needs ``$sent_http_content_type`` and ``$sent_http_content_encoding`` or
  ``$gzip_ratio``).
- ``http.pagination_latency``: latency grows with an ``offset`` / ``page`` / ``skip`` / ``start``
  query parameter (Spearman rank correlation, and the top quarter of values much slower).
- ``http.cache_miss``: a GET URL requested again and again with identical 2xx bodies that the
  proxy cache never serves (``$upstream_cache_status`` MISS / BYPASS / EXPIRED, or no cache: ``-``).
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
    >>> tk.http.findings(requests)[["rule", "title"]]                                          # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .. import findings as F
from .endpoints import MALFORMED, endpoints, template_paths

SLOW = F.rule(
    "http.slow_endpoint", "asynchronous work",
    "An endpoint whose p95 latency is above the threshold: move the work off the request path "
    "(a job queue answering 202 + a status URL) or find the slow part (profile, query log).",
    severity="high", thresholds={"p95_s": 0.5, "min_requests": 5},
    fix="Return 202 Accepted and do the work in a background job (Celery/RQ/a queue), or profile "
        "the handler and fix the slow part; alert on the endpoint's p95 (monitoring).")
LARGE = F.rule(
    "http.large_payload", "payload limits",
    "Responses larger than 300,000 bytes (Sentry's large HTTP payload threshold).",
    severity="medium", thresholds={"bytes": 300_000, "min_share": 0.2},
    fix="Paginate or filter the response, return only the fields the client needs, stream large "
        "files from object storage with a size limit, and compress text.")
UNCOMPRESSED = F.rule(
    "http.uncompressed", "compression",
    "Text responses (JSON, HTML, JS, CSS, XML) of 1 KiB or more sent without compression.",
    severity="medium", thresholds={"min_bytes": 1024, "min_share": 0.5, "min_requests": 5},
    fix="Enable gzip/brotli for these content types (nginx: gzip on; gzip_types application/json "
        "...; and no 'gzip off' in this location), or compress in the application.")
PAGINATION = F.rule(
    "http.pagination_latency", "pagination",
    "Latency that grows with the page / offset parameter: OFFSET pagination reads and discards "
    "every skipped row.",
    severity="medium", thresholds={"min_spearman": 0.6, "min_ratio": 2.0, "min_requests": 10},
    fix="Use keyset (cursor) pagination: WHERE id > :last_seen ORDER BY id LIMIT n, with an index "
        "on the sort key; cap the page size and the maximum offset.")
CACHE = F.rule(
    "http.cache_miss", "caching",
    "A hot GET URL answered again and again with identical 2xx bodies that the proxy cache never "
    "serves (always MISS, BYPASS or EXPIRED, or no cache at all).",
    severity="medium", thresholds={"min_repeats": 20, "max_hit_pct": 10.0, "same_size_share": 0.8},
    fix="Cache it: proxy_cache with proxy_cache_valid (and no Set-Cookie / Cache-Control: private "
        "on a public response, or proxy_ignore_headers), or an application cache with a TTL; send "
        "Cache-Control/ETag so clients can revalidate.")
RATE = F.rule(
    "http.rate_limit", "rate limiting",
    "A client whose peak request rate is far above the other clients' (a throttling candidate), "
    "with the number of 429 / 503 responses returned.",
    severity="medium", thresholds={"peak_ratio": 5.0, "min_peak_rps": 20, "min_clients": 3},
    fix="Rate-limit per client (nginx limit_req with a burst, or an API gateway), return 429 with "
        "Retry-After, and give heavy clients a bulk endpoint.")
KEEPALIVE = F.rule(
    "http.keepalive", "keep-alive",
    "Clients that open a new connection for (almost) every request.",
    severity="low", thresholds={"single_share": 0.8, "min_requests": 20},
    fix="Reuse connections: keep-alive in the client (a requests.Session / HTTP connection pool), "
        "no 'Connection: close'; on the server keepalive_timeout and keepalive_requests high enough.")
IMBALANCE = F.rule(
    "http.upstream_imbalance", "load balancing",
    "Servers of one upstream pool answer the same endpoints at very different speeds, or get very "
    "different shares of the requests.",
    severity="medium", thresholds={"latency_ratio": 2.0, "min_diff_s": 0.010, "share_ratio": 2.0,
                                   "min_requests": 50},
    fix="Take the slow server out of the pool and find out why (CPU, noisy neighbour, GC, a bad "
        "deploy); use least_conn or health checks so a degraded server gets less traffic.")

_TEXT_TYPES = re.compile(r"json|text/|javascript|xml|css|html", re.I)
_PAGE_PARAMS = ("offset", "page", "skip", "start", "from", "p")
_HIT = ("HIT", "STALE", "UPDATING", "REVALIDATED")


def _where(requests: pd.DataFrame) -> str | None:
    return (requests.attrs.get("source") or {}).get("path")


def _first_line(rows: pd.DataFrame) -> int | None:
    if "source_line" in rows and rows["source_line"].notna().any():
        return int(rows["source_line"].min())
    return None


def _fmt_bytes(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} KB" if n >= 1e3 else f"{int(n)} B"


def _with_endpoint(requests: pd.DataFrame, routes) -> pd.DataFrame:
    """The requests with ``endpoint`` and ``key`` (``METHOD /templated``) columns added; a frame
    that has them (prepared once by :func:`findings`) comes back as is. ``assign`` shares the
    other columns (copy-on-write), so a big table is not copied per rule."""
    if "endpoint" in requests.columns and "key" in requests.columns:
        return requests
    endpoint = template_paths(requests["path"], routes).to_numpy()
    key = requests["method"].astype(object).fillna("").astype(str).to_numpy() + " " + endpoint
    return requests.assign(endpoint=endpoint, key=key)


def slow_endpoints(requests: pd.DataFrame, *, routes=None, p95_s: float = 0.5, min_requests: int = 5,
                   table: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """``http.slow_endpoint`` findings."""
    table = endpoints(requests, routes=routes) if table is None else table
    hits = table[(table["p95_s"] >= p95_s) & (table["requests"] >= min_requests)]
    out = []
    df = None
    for _, r in hits.iterrows():
        if df is None:
            df = _with_endpoint(requests, routes)
        rows = df[(df["endpoint"] == r["endpoint"]) & (df["method"].astype(object).fillna("") == (r["method"] or ""))]
        worst = rows.loc[rows["request_time_s"].idxmax()] if rows["request_time_s"].notna().any() else None
        ev = (f"{r['method']} {r['endpoint']}: {r['requests']} requests, p50 {r['p50_s']:.3f} s, "
              f"p95 {r['p95_s']:.3f} s, max {r['max_s']:.3f} s (threshold p95 >= {p95_s} s); "
              f"{r['time_pct']:.1f}% of all request time")
        if worst is not None:
            ev += f"; slowest: {worst['url']} at line {int(worst['source_line'])}"
        out.append(F.finding(SLOW, f"Slow endpoint {r['method']} {r['endpoint']} (p95 {r['p95_s']:.2f} s)", ev,
                             file=_where(requests), line=_first_line(rows), endpoint=r["endpoint"]))
    return out


def large_payloads(requests: pd.DataFrame, *, routes=None, bytes: int = 300_000,
                   min_share: float = 0.2) -> list[dict[str, Any]]:
    """``http.large_payload`` findings: endpoints where >= ``min_share`` of responses exceed ``bytes``."""
    size_col = "body_bytes_sent" if requests["body_bytes_sent"].notna().any() else "bytes_sent"
    if requests[size_col].isna().all():
        return []
    df = _with_endpoint(requests, routes)
    df = df[df["endpoint"] != MALFORMED]
    out = []
    for key, rows in df.groupby("key", sort=True):
        sizes = rows[size_col].astype(float)
        big = rows[sizes > bytes]
        if len(big) == 0 or len(big) / len(rows) < min_share:
            continue
        lat = big["request_time_s"]
        ev = (f"{key}: {len(big)} of {len(rows)} responses above {bytes:,} bytes; median "
              f"{_fmt_bytes(sizes.median())}, max {_fmt_bytes(sizes.max())}")
        if lat.notna().any():
            ev += f"; those requests took p50 {lat.median():.3f} s"
        out.append(F.finding(LARGE, f"Large responses from {key} (median {_fmt_bytes(sizes.median())})", ev,
                             file=_where(requests), line=_first_line(big), endpoint=rows["endpoint"].iloc[0]))
    return out


def uncompressed(requests: pd.DataFrame, *, routes=None, min_bytes: int = 1024, min_share: float = 0.5,
                 min_requests: int = 5) -> list[dict[str, Any]]:
    """``http.uncompressed`` findings (needs the response content type and encoding or gzip ratio)."""
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
    out = []
    for key, rows in df.groupby("key", sort=True):
        plain = rows[~compressed.loc[rows.index]]
        if len(rows) < min_requests or len(plain) / len(rows) < min_share:
            continue
        types = ", ".join(sorted(plain["sent_http_content_type"].astype(str).unique())[:3])
        ev = (f"{key}: {len(plain)} of {len(rows)} {types} responses of >= {min_bytes} bytes sent "
              f"uncompressed (median {_fmt_bytes(plain['body_bytes_sent'].median())}, "
              f"{_fmt_bytes(plain['body_bytes_sent'].sum())} in total)")
        if len(ratios):
            ev += f"; the compressed responses in this log shrank {ratios.median():.1f}x (median $gzip_ratio)"
        out.append(F.finding(UNCOMPRESSED, f"Uncompressed {types} from {key}", ev, file=_where(requests),
                             line=_first_line(plain), endpoint=rows["endpoint"].iloc[0]))
    return out


def pagination_latency(requests: pd.DataFrame, *, routes=None, min_spearman: float = 0.6,
                       min_ratio: float = 2.0, min_requests: int = 10) -> list[dict[str, Any]]:
    """``http.pagination_latency`` findings: latency rank-correlated with a page/offset parameter."""
    if requests["request_time_s"].isna().all() or requests["query"].isna().all():
        return []
    df = _with_endpoint(requests[requests["query"].notna()], routes)
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
                out.append(F.finding(PAGINATION, f"{key}: latency grows with {param}=", ev,
                                     file=_where(requests), line=_first_line(rows),
                                     endpoint=rows["endpoint"].iloc[0]))
                break
    return out


def cache_misses(requests: pd.DataFrame, *, routes=None, min_repeats: int = 20, max_hit_pct: float = 10.0,
                 same_size_share: float = 0.8) -> list[dict[str, Any]]:
    """``http.cache_miss`` findings (needs ``$upstream_cache_status``; only proxied requests)."""
    if "upstream_cache_status" not in requests:
        return []
    df = requests[(requests["method"] == "GET") & requests["status"].between(200, 299)]
    if "upstream_addr" in df:  # served by nginx itself (static files): nothing for a proxy cache
        df = df[df["upstream_addr"].notna() | df["upstream_cache_status"].isin(_HIT)]
    df = _with_endpoint(df, routes)
    out = []
    for url, rows in df.groupby("url", sort=True):
        if len(rows) < min_repeats:
            continue
        sizes = rows["body_bytes_sent"]
        same = sizes.value_counts(normalize=True).iloc[0] if sizes.notna().any() else 0.0
        status = rows["upstream_cache_status"].astype(object).fillna("-")
        hit_pct = 100.0 * status.isin(_HIT).mean()
        if same < same_size_share or hit_pct > max_hit_pct:
            continue
        counts = ", ".join(f"{k} {v}" for k, v in status.value_counts().items())
        lat = rows["request_time_s"]
        cache_word = "no cache configured (status '-')" if (status == "-").all() else f"cache status {counts}"
        ev = (f"GET {url}: {len(rows)} requests with {100 * same:.0f}% identical "
              f"{_fmt_bytes(sizes.mode().iloc[0])} bodies; {cache_word}; {hit_pct:.0f}% hits")
        if lat.notna().any():
            ev += f"; p50 {lat.median():.3f} s each"
        title = f"GET {url} is never served from cache" if hit_pct == 0 else f"GET {url} rarely hits the cache"
        out.append(F.finding(CACHE, title, ev, file=_where(requests), line=_first_line(rows),
                             endpoint=rows["endpoint"].iloc[0]))
    return out


def rate_limit_candidates(requests: pd.DataFrame, *, peak_ratio: float = 5.0, min_peak_rps: float = 20,
                          min_clients: int = 3) -> list[dict[str, Any]]:
    """``http.rate_limit`` findings: clients whose peak req/s is >= ``peak_ratio`` x the median
    of the other clients' peaks."""
    df = requests[requests["client"].notna() & requests["timestamp"].notna()]
    if df["client"].nunique() < min_clients:
        return []
    sec = df["timestamp"].dt.floor("s")
    per_sec = df.groupby([df["client"], sec]).size()
    peaks = per_sec.groupby(level=0).max()
    status = requests["status"]
    n429, n503 = int((status == 429).sum()), int((status == 503).sum())
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
        ev = (f"client {client} peaked at {int(peak)} requests/s at {when:%Y-%m-%d %H:%M:%S} UTC, "
              f"{peak / max(base, 1.0):.0f}x the other {len(others)} clients' median peak of {base:g}/s; "
              f"{len(rows)} requests in all, mostly {', '.join(f'{p} ({n})' for p, n in top.items())}; "
              f"it got {c429} responses 429 and {c503} 503 (whole log: {n429} x 429, {n503} x 503)")
        out.append(F.finding(RATE, f"Client {client} bursts to {int(peak)} req/s", ev, file=_where(requests),
                             line=_first_line(rows), client=client))
    return out


def keepalive(requests: pd.DataFrame, *, single_share: float = 0.8, min_requests: int = 20) -> list[dict[str, Any]]:
    """``http.keepalive`` findings: per client, the share of its connections that carried one request."""
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
        out.append(F.finding(KEEPALIVE, f"Client {client} opens a connection per request", ev,
                             file=_where(requests), line=_first_line(rows), client=client))
    return out


def upstream_imbalance(requests: pd.DataFrame, *, routes=None, latency_ratio: float = 2.0,
                       min_diff_s: float = 0.010, share_ratio: float = 2.0,
                       min_requests: int = 50) -> list[dict[str, Any]]:
    """``http.upstream_imbalance`` findings: within a pool (the set of servers that answered the
    same endpoints), compare each server's median upstream time on the same endpoints and its share."""
    if "upstream_addr" not in requests or requests["upstream_addr"].isna().all():
        return []
    df = requests[requests["upstream_addr"].notna() & requests["upstream_time_s"].notna()]
    df = df[~df["upstream_addr"].str.contains(",| : ", regex=True)]  # retried requests: several servers
    if df.empty:
        return []
    df = _with_endpoint(df, routes)
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
        out.append(F.finding(IMBALANCE, title, ev,
                             file=_where(requests), line=_first_line(rows[rows["upstream_addr"] == slow]),
                             upstream=slow))
    return out


def findings(requests: pd.DataFrame, *, routes=None, **thresholds: Any) -> pd.DataFrame:
    """Run every ``http.*`` rule over the ``http_requests`` table -> the findings table.

    ``thresholds`` override a rule's defaults by ``<rule>_<name>`` (e.g. ``slow_endpoint_p95_s=1.0``,
    ``large_payload_bytes=1_000_000``).
    """
    def opts(rule: F.Rule) -> dict[str, Any]:
        prefix = rule.id.split(".", 1)[1] + "_"
        return {k[len(prefix):]: v for k, v in thresholds.items() if k.startswith(prefix)}

    if requests.empty:
        return F.to_frame([])
    table = endpoints(requests, routes=routes)
    requests = _with_endpoint(requests, routes)  # templated once for every rule
    rows: list[dict[str, Any]] = []
    rows += slow_endpoints(requests, routes=routes, table=table, **opts(SLOW))
    rows += large_payloads(requests, routes=routes, **opts(LARGE))
    rows += uncompressed(requests, routes=routes, **opts(UNCOMPRESSED))
    rows += pagination_latency(requests, routes=routes, **opts(PAGINATION))
    rows += cache_misses(requests, routes=routes, **opts(CACHE))
    rows += rate_limit_candidates(requests, **opts(RATE))
    rows += keepalive(requests, **opts(KEEPALIVE))
    rows += upstream_imbalance(requests, routes=routes, **opts(IMBALANCE))
    return F.to_frame(rows)
