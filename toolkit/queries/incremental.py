"""Incremental digests of growing query logs: ``digest_file(path, state=DIR)``.

A run reads only the bytes after the position the last run remembered (see :mod:`toolkit.state`
for the state file and how a rotated, truncated or rewritten file is noticed), digests them
with the byte-range digest the worker processes use (``digest_range``), and merges them into
the remembered digest (``merge_ranges``: line numbers shifted, counts summed, the distinct
durations and their counts merged), so the table equals a full read's row for row: calls,
totals, exact percentiles, examples and their lines, and the accounting's lines_read / records
/ skipped lines.

The remembered position is the start of the last record: in a log still being written the last
record may be open (PostgreSQL adds a statement's continuation lines, the slow log a record's
lines, after its first), so it is read again next time, never counted twice or in half. It is
found as the byte-range readers cut: the first place in the last KiB (else 4, 16, ... KiB) where
the format's reader may start a range, so it can be a few records back (PostgreSQL does not cut
between a parse or bind and its execute, or a statement and its duration line, for up to 1 MB).
Where the file ends in the middle of a line (the writer is between two writes) the records from
that position on are not counted in this run either (``pending_bytes``); they are next time.

The state keeps each group's distinct durations with their counts (for exact percentiles):
about 25 bytes of JSON per distinct duration, whatever the number of calls (how many distinct
ones a log holds: :mod:`toolkit.queries.digest`, Streaming).

The digest's state (``data`` in the state file), JSON: ``groups``, a list of ``[key, group]``
(key: the ``by`` values and the fingerprint; group: ``calls``, ``timed``, ``max``
(null: none timed), ``example`` ([statement, parameters, line]), ``durations`` (the distinct
durations of the timed calls, milliseconds, ascending) and ``counts`` (the calls of each),
``first``/``last`` (ISO 8601, UTC), ``sums``); ``sum_columns``; ``rows``;
and ``accounting`` (the reader's ``attrs["source"]`` for bytes ``[0, position)``).

This module does not import :mod:`toolkit.queries.digest` (whose ``digest_file`` calls it):
``digest_file`` hands it the building blocks (:class:`Blocks`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..sources import MAX_EXAMPLES
from ..state import FileState, StateStore, last_line_end, run_summary, start_of_last_lines

# How far back from the end the first look for the last record start goes (then 4x, 16x, ...).
PROBE_BYTES = 1024


@dataclasses.dataclass(frozen=True)
class Blocks:
    """What :mod:`toolkit.queries.digest` lends: ``read_range(job)`` (``digest_range``),
    ``merge(parts, by, fold, fp_options)`` (``merge_ranges``) and ``accumulator(by,
    fold_parse_bind=, **fp_options)`` (``DigestAccumulator``)."""

    read_range: Callable[..., tuple[Any, dict[str, Any] | None]]
    merge: Callable[..., tuple[Any, dict[str, Any]]]
    accumulator: Callable[..., Any]


# -- the digest's state as JSON ---------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _time(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).isoformat()


def encode(acc: Any) -> dict[str, Any]:
    """A digest accumulator's groups as JSON-able data (the fields in the module docstring)."""
    groups = []
    for key, g in acc.groups.items():
        groups.append([_plain(list(key)), {
            "calls": int(g.calls), "timed": int(g.timed),
            "max": None if g.max == -np.inf else float(g.max),
            "example": None if g.example is None else _plain(list(g.example)),
            **_durations(g),
            "first": _time(g.first), "last": _time(g.last),
            "sums": {c: v if isinstance(v, int) else float(v) for c, v in g.sums.items()},  # (lock: ns, int)
        }])
    return {"groups": groups, "sum_columns": sorted(acc.sum_columns), "rows": int(acc.rows)}


def _durations(g: Any) -> dict[str, list]:
    """A group's durations, compact: ``durations`` (distinct, sorted) and their ``counts``."""
    g.compact()
    return {"durations": g.values.tolist(), "counts": g.counts.tolist()}


def decode(data: dict[str, Any], acc: Any) -> Any:
    """Fill the empty accumulator ``acc`` with :func:`encode`'s ``data``."""
    for key, d in data["groups"]:
        g = acc.group(tuple(key))
        g.calls, g.timed = d["calls"], d["timed"]
        g.max = -np.inf if d["max"] is None else d["max"]
        g.example = None if d["example"] is None else tuple(d["example"])
        g.values = np.array(d["durations"], dtype=np.float64)
        g.counts = np.array(d["counts"], dtype=np.int64)
        g.first, g.last = _when(d["first"]), _when(d["last"])
        g.sums = dict(d["sums"])
    acc.sum_columns = set(data["sum_columns"])
    acc.rows = data["rows"]
    return acc


def _when(text: str | None) -> pd.Timestamp | None:
    # in nanoseconds, as the readers give them (from ISO text with microseconds pandas would
    # choose microseconds, and the table's dtype would differ)
    return None if text is None else pd.Timestamp(text).as_unit("ns")


def _waiting(acc: Any) -> bool:
    """Parse/bind rows of the DataFrame way still waiting for their execute at the cut (the
    accumulator keeps them as a DataFrame, which the state does not hold)."""
    pending = acc.pending
    return pending is not None and len(pending) > 0


# -- a run ------------------------------------------------------------------------------------
def digest_incremental(path: Any, fmt_name: str, store: Any, blocks: Blocks, *, by: Any, fold: bool,
                       chunk_size: int | None, reader_options: dict[str, Any],
                       fp_options: dict[str, Any]) -> pd.DataFrame:
    """The digest of the plain file ``path`` (a format with a byte-range reader), reading only
    what the state in ``store`` (:class:`toolkit.state.StateStore` or a directory) does not hold;
    saves the new state. ``attrs["source"]`` is the whole file's accounting plus what
    :func:`toolkit.state.run_summary` says of the run and ``state_position``."""
    path = os.fspath(path)
    store = StateStore.of(store)
    options = {"format": fmt_name, "by": by, "fold_parse_bind": fold, "fingerprint": fp_options,
               "reader": reader_options}
    stored, note = store.load(path, "digest", options)
    start = stored.position if stored is not None else 0
    size = os.path.getsize(path)
    lines_end = last_line_end(path, size)
    unfinished = lines_end < size

    def job(lo: int, hi: int) -> tuple:
        return (path, fmt_name, lo, hi, chunk_size, by, fold, reader_options, fp_options)

    # The tail from the last record start: look back from the end until a record starts there
    # (one in a whole line, not in a line still being written) or the remembered position.
    back = PROBE_BYTES
    while True:
        cut = max(start, lines_end - back)
        tail = blocks.read_range(job(cut, size))
        if isinstance(tail[0], tuple):  # a ParseError's fields: merge raises it
            blocks.merge([tail], by, fold, fp_options)
        tail_lines = tail[1]["lines_read"] if tail[1] else 0
        if cut == start or tail_lines >= (2 if unfinished else 1):
            break
        back *= 4
    position = start_of_last_lines(path, size, tail_lines)
    parts = []
    if stored is not None:
        parts.append((decode(stored.data["digest"], blocks.accumulator(by, fold_parse_bind=fold, **fp_options)),
                      stored.data["accounting"]))
    if cut > start:
        parts.append(blocks.read_range(job(start, cut)))
    if not parts:  # nothing held yet: an empty range gives the format's accounting, all zeros
        parts.append(blocks.read_range(job(start, start)))
    held, held_acct = blocks.merge(parts, by, fold, fp_options)
    held_acct["path"] = path
    held_acct["skipped"] = held_acct.get("skipped", [])[:MAX_EXAMPLES]  # the first ones, as a full read keeps
    saved = None
    if not _waiting(held):  # (else the state stays where it was: those bytes are read again)
        saved = FileState.of(path, "digest", options, size, position,
                             {"digest": encode(held), "accounting": held_acct}, lines_end)
    if unfinished:  # a line still being written: its record waits for the next run
        acc, accounting = held, dict(held_acct)
    else:
        acc, accounting = blocks.merge([(held, dict(held_acct)), tail], by, fold, fp_options)
    out = acc.result()
    accounting["path"] = path
    accounting["skipped"] = accounting.get("skipped", [])[:MAX_EXAMPLES]
    pending = size - position if unfinished else 0
    accounting.update(run_summary(stored, start, size, accounting.get("records", 0), pending, note))
    accounting["state_position"] = position
    out.attrs["source"] = accounting
    if saved is not None:
        saved.reported_records = accounting.get("records", 0)
        store.save(saved)
    return out
