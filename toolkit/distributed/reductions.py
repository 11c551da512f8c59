"""Digest, endpoints and time series of a Dask frame: tree reductions of the mergeable states.

Each partition is folded into the state the local worker processes ship back (a
:class:`~toolkit.queries.digest.DigestAccumulator` of :class:`~toolkit.queries.digest.DigestGroup`
per fingerprint, an :class:`~toolkit.http.endpoints.EndpointAccumulator`, per-bin counts of
each distinct latency), with the partition's accounting; the states are merged ``split_every``
at a time, in input order, up a tree, and the last one gives the table. Percentiles stay exact:
a digest group, an endpoint or a time bin keeps every distinct value with its count
(:mod:`toolkit.quantiles`), so the merged state is the one a single pass would hold, and its size
grows with the distinct values, not the calls. The results equal the pandas
functions' on the computed frame, row for row, with ``attrs["source"]`` the summed accounting.

What a tree reduction cannot join: a PostgreSQL parse/bind row at the end of one partition
whose execute starts the next stays a call of its own, as in the local workers' ranges
(:func:`toolkit.queries.digest.merge_ranges`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..http.endpoints import EndpointAccumulator, template_paths
from ..quantiles import weighted_quantiles
from ..queries.digest import DigestAccumulator, merge_into
from .cluster import compute_with_progress, delayed_tree
from .frames import sum_accounting

SPLIT_EVERY = 8


def plan(ddf: Any, fold: Callable[[pd.DataFrame], Any], merge: Callable[[Any, Any], Any],
         split_every: int = SPLIT_EVERY) -> Any:
    """The reduction as one ``Delayed``: ``fold`` every partition into a state (with its
    accounting), ``merge(a, b)`` (b: the later input) them ``split_every`` at a time up a tree
    (about ``n / (split_every - 1)`` merge tasks for ``n`` partitions). Its value:
    ``(state, accounting)``."""
    import dask

    def leaf(frame: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
        return fold(frame), frame.attrs.get("source", {})

    def node(*parts: tuple[Any, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
        state = parts[0][0]
        for other, _ in parts[1:]:
            state = merge(state, other)
        return state, sum_accounting(a for _, a in parts)

    top = delayed_tree(ddf.to_delayed(), leaf, node, split_every)
    return dask.delayed((fold(ddf._meta), {})) if top is None else top


def tree(ddf: Any, fold: Callable[[pd.DataFrame], Any], merge: Callable[[Any, Any], Any],
         split_every: int = SPLIT_EVERY, **compute_options: Any) -> tuple[Any, dict[str, Any]]:
    """:func:`plan` computed: the final state and the summed accounting."""
    return compute_with_progress(plan(ddf, fold, merge, split_every), **compute_options)


# -- digest -------------------------------------------------------------------------------------
def digest(ddf: Any, by: Any = None, *, fold_parse_bind: bool = True, split_every: int = SPLIT_EVERY,
           **fingerprint_options: Any) -> pd.DataFrame:
    """:func:`toolkit.digest` of a Dask frame of query events (the same table)."""
    def fold(frame: pd.DataFrame) -> DigestAccumulator:
        acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
        acc.add(frame)
        acc.fper = None  # not needed to merge; keeps the state small on the wire
        return acc

    def merge(a: DigestAccumulator, b: DigestAccumulator) -> DigestAccumulator:
        merge_into(a, b)
        return a

    state, accounting = tree(ddf, fold, merge, split_every)
    acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
    merge_into(acc, state)
    out = acc.result()
    out.attrs["source"] = accounting
    return out


# -- endpoints ----------------------------------------------------------------------------------
def endpoints(ddf: Any, *, routes: Sequence[str] | None = None,
              split_every: int = SPLIT_EVERY) -> pd.DataFrame:
    """:func:`toolkit.endpoints` of a Dask frame of HTTP requests (the same table)."""
    def fold(frame: pd.DataFrame) -> EndpointAccumulator:
        acc = EndpointAccumulator(routes)
        acc.add(frame)
        return acc

    def merge(a: EndpointAccumulator, b: EndpointAccumulator) -> EndpointAccumulator:
        a.merge(b)
        return a

    state, accounting = tree(ddf, fold, merge, split_every)
    out = state.result()
    out.attrs["source"] = accounting
    return out


# -- time series --------------------------------------------------------------------------------
def _timed(frame: pd.DataFrame, endpoint: str | None, routes) -> pd.DataFrame:
    if endpoint is not None:
        frame = frame[template_paths(frame["path"], routes).to_numpy() == endpoint]
    return frame[frame["timestamp"].notna()]


def _freq(ddf: Any, endpoint: str | None, routes, freq: str | None) -> str | None:
    """``freq``, or the step the pandas function would choose for the (filtered) span: a first
    pass over the data for its first and last time."""
    if freq is not None:
        return freq
    from ..http.timeseries import auto_freq

    def fold(frame):
        ts = _timed(frame, endpoint, routes)["timestamp"]
        return (ts.min(), ts.max()) if len(ts) else None

    def merge(a, b):
        return b if a is None else a if b is None else (min(a[0], b[0]), max(a[1], b[1]))

    span, _ = tree(ddf[["timestamp", "path"]] if endpoint else ddf[["timestamp"]], fold, merge)
    return auto_freq(pd.Series([], dtype="datetime64[ns, UTC]") if span is None else pd.Series(list(span)))


def _add_counts(a: pd.Series, b: pd.Series) -> pd.Series:
    return a.add(b, fill_value=0) if len(a) and len(b) else (a if len(a) else b)


def latency_over_time(ddf: Any, *, freq: str | None = None, endpoint: str | None = None,
                      routes=None, split_every: int = SPLIT_EVERY) -> pd.DataFrame:
    """:func:`toolkit.http.timeseries.latency_over_time` of a Dask frame (the same table): per
    bin, the count of each distinct latency, summed up the tree; exact quantiles from them."""
    freq = _freq(ddf, endpoint, routes, freq)
    cols = ["timestamp", "request_time_s"] + (["path"] if endpoint else [])

    def fold(frame: pd.DataFrame):
        df = _timed(frame, endpoint, routes)
        bins = df["timestamp"].dt.floor(freq)
        rt = df["request_time_s"].astype(float)
        return (bins.value_counts().sort_index(),
                rt.groupby([bins, rt]).size() if len(df) else pd.Series([], dtype="int64"))

    def merge(a, b):
        return _add_counts(a[0], b[0]), _add_counts(a[1], b[1])

    (sizes, counts), _ = tree(ddf[cols], fold, merge, split_every)
    if not len(sizes):
        return pd.DataFrame(columns=["timestamp", "requests", "p50_s", "p90_s", "p99_s", "max_s"])
    rows = []
    by_bin = dict(list(counts.groupby(level=0))) if len(counts) else {}
    for b, n in sizes.sort_index().items():
        c = by_bin.get(b)
        if c is None or not len(c):
            q, mx = (np.nan,) * 3, np.nan
        else:
            values = c.index.get_level_values(1).to_numpy(float)
            order = np.argsort(values)
            q = weighted_quantiles(values[order], c.to_numpy()[order], (0.5, 0.9, 0.99))
            mx = values.max()
        rows.append({"timestamp": b, "requests": float(n), "p50_s": q[0], "p90_s": q[1],
                     "p99_s": q[2], "max_s": mx})
    return pd.DataFrame(rows)


def status_over_time(ddf: Any, *, freq: str | None = None, split_every: int = SPLIT_EVERY) -> pd.DataFrame:
    """:func:`toolkit.http.timeseries.status_over_time` of a Dask frame (the same table)."""
    freq = _freq(ddf, None, None, freq)

    def fold(frame: pd.DataFrame) -> pd.Series:
        df = frame[frame["timestamp"].notna() & frame["status"].notna()]
        return df.groupby([df["timestamp"].dt.floor(freq), df["status"].astype(int)]).size()

    counts, _ = tree(ddf[["timestamp", "status"]], fold, _add_counts, split_every)
    m = counts.astype("int64").unstack(fill_value=0).sort_index()
    m.index.name, m.columns.name = "timestamp", "status"
    return m


def columns(ddf: Any, needed: set[str]) -> pd.DataFrame:
    """The computed frame, only the ``needed`` columns and those every time series uses
    (``timestamp``, ``method``, ``malformed``, ``source_line``), with the summed accounting:
    for the figures that need every request's values (the endpoint x time matrix, sizes)."""
    from .frames import compute

    keep = [c for c in ddf.columns if c in needed | {"timestamp", "method", "malformed", "source_line"}]
    return compute(ddf[keep])
