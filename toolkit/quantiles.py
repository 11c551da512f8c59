"""Exact quantiles of counted values: a multiset kept as its distinct values and their counts.

A latency or duration column repeats a few thousand distinct values (a log's resolution:
PostgreSQL writes milliseconds with 3 decimals, MySQL microseconds, nginx milliseconds), so
keeping ``(values, counts)`` (``values`` sorted and distinct, float64; ``counts`` int64) in place
of every value bounds memory by the distinct values while the quantiles stay exact. The digest
groups (:class:`toolkit.queries.digest.DigestGroup`), the endpoint table
(:mod:`toolkit.http.endpoints`) and the Dask reductions (:mod:`toolkit.distributed.reductions`)
all keep their values so.

    >>> import numpy as np
    >>> values, counts = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 1, 1, 1])
    >>> weighted_quantiles(values, counts, (0.5,)).tolist()  # np.percentile([1, 2, 3, 4], 50)
    [2.5]
    >>> merge_counted(values, counts, np.array([2.0, 5.0]), np.array([3, 1]))[1].tolist()
    [1, 4, 1, 1, 1]

Totals come from the same form (:func:`counted_sum`), so a digest's ``total_ms`` and an
endpoint's ``total_s`` are the same to the bit whatever the chunking or the workers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EMPTY_VALUES = np.empty(0, dtype=np.float64)
EMPTY_COUNTS = np.empty(0, dtype=np.int64)


def weighted_quantiles(values: np.ndarray, counts: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles ``qs`` (fractions, 0..1) of the multiset ``values`` (sorted, distinct) each
    repeated ``counts`` times: bit for bit what ``np.quantile`` (``method="linear"``, Hyndman &
    Fan type 7, numpy's default) gives on the expanded array, without expanding it. NaN for an
    empty multiset.

    numpy's steps, repeated here so the floats are the same ones: the rank is ``h = (n - 1) q``;
    the neighbours are the values at ``floor(h)`` and ``floor(h) + 1`` (both the last one when
    ``h >= n - 1``); they are joined by numpy's two-sided interpolation (``a + (b - a) t`` for
    ``t < 0.5``, ``b - (b - a)(1 - t)`` otherwise, ``t = h - floor(h)``)."""
    qs = np.asarray(qs, dtype=np.float64)
    cum = np.cumsum(counts, dtype=np.int64)
    n = int(cum[-1]) if len(cum) else 0
    if n == 0:
        return np.full(qs.shape, np.nan)
    h = (n - 1) * qs
    prev = np.floor(h)
    nxt = prev + 1
    above = h >= n - 1  # the last value (numpy's index -1; the fraction is then h + 1, unused)
    prev[above] = -1
    nxt[above] = -1
    prev_i = np.where(above, n - 1, prev).astype(np.int64)
    next_i = np.where(above, n - 1, nxt).astype(np.int64)
    # the value at rank r: the first distinct value whose cumulative count passes r
    a = values[np.searchsorted(cum, prev_i, side="right")]
    b = values[np.searchsorted(cum, next_i, side="right")]
    t = h - prev
    diff = b - a
    out = a + diff * t
    late = t >= 0.5
    out[late] = (b - diff * (1 - t))[late]
    return out


def merge_counted(values: np.ndarray, counts: np.ndarray, other_values: np.ndarray,
                  other_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two counted multisets (each sorted and distinct) as one: sorted distinct values, the
    counts of a value in both added. Linear in their sizes (a stable sort merges two sorted
    runs in one pass)."""
    if not len(other_values):
        return values, counts
    if not len(values):
        return other_values, other_counts
    v = np.concatenate([values, other_values])
    c = np.concatenate([counts, other_counts])
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    starts = np.flatnonzero(np.concatenate([[True], v[1:] != v[:-1]]))
    return v[starts], np.add.reduceat(c, starts)


def counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (any order, no NaN) as ``(distinct sorted values, int64 counts)``."""
    v, c = np.unique(np.asarray(values, dtype=np.float64), return_counts=True)
    return v, c.astype(np.int64)


def counted_sum(values: np.ndarray, counts: np.ndarray) -> float:
    """The sum of a counted multiset: each distinct value times its count, added with
    :func:`math.fsum` (correctly rounded), so the result depends only on the multiset, never on
    the order its values came in. A running sum over a log differs in its last bits with the
    chunk size, the byte ranges and the workers; this one is the same to the bit."""
    if not len(values):
        return 0.0
    return math.fsum((values * counts).tolist())

