"""Requests broken down by what a checklist practice looks at: the proxy cache's answer per
endpoint, each client's rate and connections, each upstream server's share and speed. DataFrame
in (``http_requests``), DataFrame out; a log that does not record what a breakdown needs gives
an empty table (the columns are there), so a notebook can say the section does not apply.

    >>> import toolkit as tk
    >>> requests = tk.read_access_log("sample_traces/http/nginx/access.log.gz")    # doctest: +SKIP
    >>> by_client(requests).head(3)                                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .endpoints import template_paths


def _has(requests: pd.DataFrame, column: str) -> bool:
    return column in requests.columns and bool(requests[column].notna().any())


def by_cache_status(requests: pd.DataFrame, *, routes: Sequence[str] | None = None, top: int = 10) -> pd.DataFrame:
    """How the proxy cache answered each GET endpoint (``$upstream_cache_status``): one row per
    endpoint (the ``top`` with the most requests), one column per status (HIT, MISS, BYPASS,
    EXPIRED, ..., and ``no cache`` for requests the cache never saw), request counts, then
    ``hit_pct``. Empty when the log does not record the cache status."""
    if not _has(requests, "upstream_cache_status") or not _has(requests, "path"):
        return pd.DataFrame(columns=["endpoint", "hit_pct"])
    gets = requests[requests["method"].eq("GET")] if "method" in requests.columns else requests
    status = gets["upstream_cache_status"].astype("object").where(gets["upstream_cache_status"].notna(), "no cache")
    table = pd.crosstab(template_paths(gets["path"], routes).rename("endpoint"), status.rename("status"))
    table.columns.name = None
    table = table.loc[table.sum(axis=1).sort_values(ascending=False, kind="stable").index[:top]]
    hits = table["HIT"] if "HIT" in table.columns else 0
    table["hit_pct"] = (100 * hits / table.sum(axis=1)).round(1)
    return table.reset_index()


def by_client(requests: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """The ``top`` clients by requests: ``requests``, ``peak_rps`` (their busiest second),
    ``status_429`` (answered "too many requests"), and where the log records the connection
    serial number (``$connection``), ``connections`` and ``requests_per_connection`` (1.0: a new
    connection for every request, no keep-alive). Empty without a client column."""
    if not _has(requests, "client"):
        return pd.DataFrame(columns=["client", "requests", "peak_rps", "status_429"])
    g = requests.groupby("client", sort=False)
    out = pd.DataFrame({"requests": g.size()})
    if _has(requests, "timestamp"):
        second = requests["timestamp"].dt.floor("s")
        out["peak_rps"] = requests.groupby(["client", second]).size().groupby(level=0).max()
    out["status_429"] = (requests["status"].eq(429)).groupby(requests["client"]).sum().astype(int) \
        if "status" in requests.columns else 0
    if _has(requests, "connection"):
        out["connections"] = g["connection"].nunique()
        out["requests_per_connection"] = (out["requests"] / out["connections"]).round(1)
    return out.sort_values("requests", ascending=False, kind="stable").head(top).reset_index()


def by_upstream(requests: pd.DataFrame) -> pd.DataFrame:
    """Each upstream server (``$upstream_addr``): ``requests``, ``share_pct`` of the requests
    sent upstream, ``endpoints`` it answered (templated paths), and its ``upstream_p50_s`` / ``upstream_p95_s``
    (``$upstream_response_time``, seconds). A request that tried several servers counts for the
    last one. Empty when the log does not record upstreams."""
    cols = ["upstream", "requests", "share_pct", "endpoints", "upstream_p50_s", "upstream_p95_s"]
    if not _has(requests, "upstream_addr"):
        return pd.DataFrame(columns=cols)
    sent = requests[requests["upstream_addr"].notna()]
    # "a:80, b:80" (servers tried in turn) and "a:80 : c:80" (groups after an internal redirect)
    last = sent["upstream_addr"].astype(str).str.split(r"\s*,\s*|\s+:\s+", regex=True).str[-1]
    frame = pd.DataFrame({"upstream": last.str.strip(),
                          "path": template_paths(sent["path"]) if "path" in sent else None,
                          "time": sent["upstream_time_s"] if "upstream_time_s" in sent else float("nan")})
    g = frame.groupby("upstream", sort=False)
    out = pd.DataFrame({"requests": g.size(), "endpoints": g["path"].nunique(),
                        "upstream_p50_s": g["time"].median(), "upstream_p95_s": g["time"].quantile(0.95)})
    out.insert(1, "share_pct", (100 * out["requests"] / out["requests"].sum()).round(1))
    return out.sort_values("requests", ascending=False, kind="stable").reset_index()[cols]
