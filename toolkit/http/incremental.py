"""Incremental endpoint tables of growing access logs: ``endpoints(path, state=DIR)``.

The state (see :mod:`toolkit.state` for the state file and how a rotated, truncated or
rewritten file is noticed) holds the endpoint table's accumulator for bytes ``[0, position)``;
a run reads bytes ``[position, last newline)`` with the byte-range worker of
:mod:`toolkit.http.endpoints` (``range_partial``) and merges them
(:meth:`~toolkit.http.endpoints.EndpointAccumulator.merge`), so the table equals a full read's.
A line is a record here: the position is the end of the last whole line, and a line still
being written (no newline yet) is counted in the run after it is finished (``pending_bytes``).

The accumulator's state (``data`` in the state file), JSON: ``keys``, a list of ``[endpoint,
method]``, and per key in the same order ``lat`` / ``size`` (distinct latencies in seconds /
body sizes in bytes, and their counts), ``counts`` (requests, 4xx, 5xx, cache status known,
cache hits), ``total`` (seconds), ``example`` (URL); ``t_min``/``t_max`` (ISO 8601 and pandas
unit), ``rows``, ``first_endpoint``/``first_method`` (row of the first request); and
``accounting`` (lines read, records, skipped lines with reasons and examples).

This module does not import :mod:`toolkit.http.endpoints` (whose ``endpoints`` calls it): it is
given the accumulator to fill and the range worker.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..state import FileState, StateStore, last_line_end, run_summary


def _when(value: Any) -> Any:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return {"t": ts.isoformat(), "unit": ts.unit}


def _from_when(value: Any) -> Any:
    return None if value is None else pd.Timestamp(value["t"]).as_unit(value["unit"])


def encode(acc: Any) -> dict[str, Any]:
    """An :class:`~toolkit.http.endpoints.EndpointAccumulator` as JSON-able data."""
    keys = list(acc.counts)
    return {
        "keys": [list(k) for k in keys],
        "lat": [[acc.lat[k][0].tolist(), acc.lat[k][1].tolist()] for k in keys],
        "size": [[acc.size[k][0].tolist(), acc.size[k][1].tolist()] for k in keys],
        "counts": [np.asarray(acc.counts[k]).tolist() for k in keys],
        "example": [acc.example.get(k) for k in keys],
        "t_min": _when(acc.t_min), "t_max": _when(acc.t_max), "rows": int(acc.rows),
        "first_endpoint": {k: int(v) for k, v in acc.first_endpoint.items()},
        "first_method": {k: int(v) for k, v in acc.first_method.items()},
    }


def decode(data: dict[str, Any], acc: Any) -> Any:
    """Fill the empty accumulator ``acc`` with :func:`encode`'s ``data``."""
    for i, k in enumerate(data["keys"]):
        key = tuple(k)
        acc.lat[key] = (np.array(data["lat"][i][0], dtype=float), np.array(data["lat"][i][1], dtype=np.int64))
        acc.size[key] = (np.array(data["size"][i][0], dtype=np.int64), np.array(data["size"][i][1], dtype=np.int64))
        acc.counts[key] = np.array(data["counts"][i], dtype=np.int64)
        if data["example"][i] is not None:
            acc.example[key] = data["example"][i]
    acc.t_min, acc.t_max = _from_when(data["t_min"]), _from_when(data["t_max"])
    acc.rows = data["rows"]
    acc.first_endpoint = dict(data["first_endpoint"])
    acc.first_method = dict(data["first_method"])
    return acc


_COUNTS = ("lines_read", "records", "lines_skipped", "replaced_bytes")


def endpoints_incremental(src: Any, fmt: Any, acc: Any, state: Any,
                          read_range: Callable[..., tuple], *, routes: Sequence[str] | None,
                          chunk_size: int) -> dict[str, Any]:
    """Fill ``acc`` (an empty EndpointAccumulator) and ``src.accounting`` with the whole plain
    file ``src.path``, reading only the bytes the state in ``state`` (a
    :class:`~toolkit.state.StateStore` or a directory) does not hold; save the new state.
    ``read_range`` is ``range_partial``. Returns what :func:`toolkit.state.run_summary` says of
    the run, and ``state_position``, for the accounting."""
    path = os.fspath(src.path)
    store = StateStore.of(state)
    options = {"format": fmt if isinstance(fmt, str) else {"name": fmt.name, "source": fmt.source},
               "routes": list(routes or ())}
    stored, note = store.load(path, "endpoints", options)
    start = stored.position if stored is not None else 0
    size = os.path.getsize(path)
    end = last_line_end(path, size)
    accounting = src.accounting
    if stored is not None:
        decode(stored.data["endpoints"], acc)
        held = stored.data["accounting"]
        for name in _COUNTS:
            setattr(accounting, name, held[name])
        accounting.skip_reasons = collections.Counter(held["skip_reasons"])
        accounting.skipped = list(held["skipped"])
    if end > start:
        part, ranged = read_range(path, fmt, routes, start, end, chunk_size)
        accounting.add(ranged, accounting.lines_read)
        acc.merge(part)
    position = max(start, end)
    saved = FileState.of(path, "endpoints", options, size, position,
                         {"endpoints": encode(acc), "accounting": accounting.as_dict()}, end)
    saved.reported_records = accounting.records
    store.save(saved)
    return {**run_summary(stored, start, size, accounting.records, size - position, note),
            "state_position": position}
