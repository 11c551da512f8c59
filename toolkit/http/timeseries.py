"""Requests over time, aggregated for the HTTP figures (the plots only draw these tables).

Each function takes the ``http_requests`` table, or a log path: then the access-log scanner reads
only the columns it needs (:func:`toolkit.http.accesslog.iter_chunks` with ``columns=``), so a
long log's figure holds a few columns in memory, not the whole table; the result is the same.

Example::

    >>> import pandas as pd
    >>> from toolkit import schema
    >>> df = schema.coerce(pd.DataFrame({"timestamp": pd.to_datetime(["2026-01-01 00:00:00.1",
    ...     "2026-01-01 00:00:00.7", "2026-01-01 00:00:01.2"], utc=True), "request_time_s": [0.1, 0.3, 0.2],
    ...     "status": [200, 500, 200], "method": "GET", "path": "/a"}), "http_requests")
    >>> latency_over_time(df, freq="1s")[["requests", "p50_s"]].values.tolist()
    [[2.0, 0.2], [1.0, 0.2]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..engines import engine_of
from .accesslog import iter_chunks
from .endpoints import template_paths


def requests_table(requests: Any, columns: set[str], log_format: Any = None) -> pd.DataFrame:
    """``requests`` itself when it is a DataFrame; else the log at that path, read by the
    scanner with only ``columns`` (plus ``timestamp``, ``method``, ``malformed``, ``source_line``);
    a Dask frame: those columns, computed."""
    if isinstance(requests, pd.DataFrame):
        return requests
    if (dask := engine_of(requests)) is not None:
        return dask.columns(requests, columns)
    frames = list(iter_chunks(requests, log_format, columns=columns))
    if not frames:
        return schema.empty("http_requests")
    return pd.concat(frames, ignore_index=True)


def auto_freq(ts: pd.Series) -> str:
    """The bin width for times ``ts``: about 60 bins over their span, rounded to a readable step."""
    span = (ts.max() - ts.min()).total_seconds() if ts.notna().any() else 0
    steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400]
    step = next((s for s in steps if span / s <= 60), steps[-1])
    return f"{step}s"


def _bins(requests: pd.DataFrame, freq: str | None) -> pd.Series:
    ts = requests["timestamp"]
    return ts.dt.floor(freq or auto_freq(ts))



def latency_over_time(requests: Any, *, freq: str | None = None, endpoint: str | None = None,
                      routes=None, log_format: Any = None) -> pd.DataFrame:
    """Per time bin: ``timestamp`` (bin start, UTC), ``requests``, ``p50_s``, ``p90_s``, ``p99_s``,
    ``max_s``. ``endpoint`` (templated, e.g. ``/api/items``) keeps only that endpoint's requests;
    ``freq`` is a pandas frequency (``"1s"``, ``"1min"``), chosen for ~60 bins when None.
    A Dask frame (``engine="dask"``) is reduced on the cluster to the same table."""
    if (dask := engine_of(requests)) is not None:
        return dask.latency_over_time(requests, freq=freq, endpoint=endpoint, routes=routes)
    df = requests_table(requests, {"path", "request_time_s"}, log_format)
    if endpoint is not None:
        df = df[template_paths(df["path"], routes).to_numpy() == endpoint]
    df = df[df["timestamp"].notna()]
    if df.empty:
        return pd.DataFrame(columns=["timestamp", "requests", "p50_s", "p90_s", "p99_s", "max_s"])
    g = df["request_time_s"].astype(float).groupby(_bins(df, freq))
    out = pd.DataFrame({"requests": g.size().astype(float), "p50_s": g.quantile(0.5),
                        "p90_s": g.quantile(0.9), "p99_s": g.quantile(0.99), "max_s": g.max()})
    return out.rename_axis("timestamp").reset_index()


def endpoint_matrix(requests: Any, *, value: str = "requests", freq: str | None = None,
                    top: int = 15, routes=None, log_format: Any = None) -> pd.DataFrame:
    """Endpoint (rows, ``METHOD /templated/path``, the ``top`` by total time or count) x time bin
    (columns) of ``value``: ``requests`` (count per bin) or ``p95_s`` / ``p50_s`` (latency)."""
    requests = requests_table(requests, {"path", "request_time_s"}, log_format)
    df = requests[requests["timestamp"].notna()].copy()
    df["endpoint"] = (df["method"].astype(object).fillna("?").astype(str) + " "
                      + template_paths(df["path"], routes).to_numpy())
    df["bin"] = _bins(df, freq)
    rank = df.groupby("endpoint")["request_time_s"].sum()
    if not rank.fillna(0).any():
        rank = df.groupby("endpoint").size()
    keep = rank.sort_values(ascending=False).index[:top]
    df = df[df["endpoint"].isin(keep)]
    if value == "requests":
        m = df.groupby(["endpoint", "bin"]).size().unstack(fill_value=0)
    elif value in ("p50_s", "p95_s", "p99_s"):
        q = int(value[1:3]) / 100
        m = df.groupby(["endpoint", "bin"])["request_time_s"].quantile(q).unstack()
    else:
        raise ValueError("value must be requests, p50_s, p95_s or p99_s")
    return m.reindex(keep)


def status_over_time(requests: Any, *, freq: str | None = None, log_format: Any = None) -> pd.DataFrame:
    """Per time bin (rows, UTC) the count of each status code (columns, ints). A Dask frame
    is reduced on the cluster to the same table."""
    if (dask := engine_of(requests)) is not None:
        return dask.status_over_time(requests, freq=freq)
    requests = requests_table(requests, {"status"}, log_format)
    df = requests[requests["timestamp"].notna() & requests["status"].notna()]
    m = df.groupby([_bins(df, freq), df["status"].astype(int)]).size().unstack(fill_value=0)
    m.index.name, m.columns.name = "timestamp", "status"
    return m


def payload_sizes(requests: Any, *, top: int = 12, routes=None, log_format: Any = None) -> pd.DataFrame:
    """Long table ``endpoint``, ``body_bytes_sent`` of the ``top`` endpoints by bytes sent, ordered
    by median size (largest first) - for a per-endpoint distribution figure."""
    requests = requests_table(requests, {"path", "body_bytes_sent"}, log_format)
    df = requests[requests["body_bytes_sent"].notna()]
    ep = (df["method"].astype(object).fillna("?").astype(str) + " " + template_paths(df["path"], routes).to_numpy())
    out = pd.DataFrame({"endpoint": ep.to_numpy(), "body_bytes_sent": df["body_bytes_sent"].astype(np.int64).to_numpy()})
    total = out.groupby("endpoint")["body_bytes_sent"].sum().sort_values(ascending=False)
    out = out[out["endpoint"].isin(total.index[:top])]
    order = out.groupby("endpoint")["body_bytes_sent"].median().sort_values(ascending=False).index
    out["endpoint"] = pd.Categorical(out["endpoint"], categories=list(order), ordered=True)
    return out.sort_values("endpoint", kind="stable").reset_index(drop=True)
