"""The digest: per fingerprint, how often, how long in total and per call, and an example.

``digest(events)`` takes the ``query_events`` table (any reader's output) and returns the
``digest`` table, sorted by ``total_ms`` descending:

==========================  ======================================================================
column                      meaning
==========================  ======================================================================
(the ``by`` columns)        when grouping by database, user, application (or several)
fingerprint                 :func:`toolkit.queries.fingerprint.fingerprint` of the statement
calls                       executions (see "What is a call" below)
total_ms                    sum of their durations, milliseconds
mean_ms                     total_ms / calls with a duration
p50_ms, p95_ms, p99_ms      exact percentiles of the per-call durations (definition below)
max_ms                      the slowest call
pct_total                   total_ms as percent of the whole digest's total_ms
example                     the statement of the slowest call, as logged (the first one on ties)
parameters                  its bind parameters, where the log has them
example_line                its line in the input (``source_line``)
fingerprint_id              16 hex digits: the start of pt-query-digest's query ID
first_seen, last_seen       earliest and latest timestamp (UTC)
rows_sent, rows_examined    totals, where the log has them (MySQL / MariaDB); float64 when one
                            is beyond int64 (a sum is never wrapped)
rows_examined_per_sent      rows_examined / rows_sent: high means a filter discards most rows
lock_ms                     total lock time, where the log has it
==========================  ======================================================================

Percentiles are exact, computed from every call's duration with numpy's default ("linear",
Hyndman & Fan type 7: the value at rank ``(n - 1) q`` interpolated between neighbours), so
``p50_ms`` of 1, 2, 3, 4 is 2.5: bit for bit ``np.percentile`` of the durations, taken from
their distinct values and counts (:func:`toolkit.quantiles.weighted_quantiles`).
pt-query-digest's 95% comes from a log-scale histogram and pgBadger does not interpolate, so
their figures can differ slightly from these exact ones.

What is a call
--------------
- Rows of ``kind == "plan"`` (auto_explain entries, whose duration repeats the statement's) are
  ignored: a statement's time is never counted twice.
- PostgreSQL's extended protocol logs up to three rows per execution (``parse``, ``bind``,
  ``execute``), each with its own duration. By default (``fold_parse_bind=True``) a parse or
  bind row is folded into the next ``execute`` / ``statement`` row of the same session with the
  same fingerprint: the call's duration is the sum (the time the client waited), the call is
  counted once, and no time is lost. A parse or bind that no execute follows (an unnamed
  statement parsed and never run, the end of the log) stays a call of its own.
  ``fold_parse_bind=False`` counts every row as a call and adds ``kind`` to the grouping, so the
  three phases appear as separate rows.
- Rows without a duration (``log_statement`` lines) count as calls but not in the time figures.
- Rows without a statement (PostgreSQL's duration-only lines, ``kind="duration"``) form one group
  whose fingerprint is null: their time is counted, never dropped.

So ``digest(events).total_ms.sum()`` equals ``events.duration_ms[events.kind != "plan"].sum()``
(up to rounding in the last bits: each ``total_ms`` is the correctly rounded sum of its group's
durations, :func:`toolkit.quantiles.counted_sum`, so it is the same to the bit for every chunk
size, byte range and number of workers, where a running sum is not).

Streaming
---------
:class:`DigestAccumulator` (and :func:`digest_stream`, :func:`digest_file`) build the same table
from DataFrames fed one at a time, e.g. a reader's chunks: memory is the per-fingerprint state
plus, for exact percentiles, 16 bytes per *distinct* duration of the group (value and count,
:class:`DigestGroup`) and up to :data:`COMPACT_AT` (64k) new durations waiting to be folded in,
whatever the file size or the number of calls. The distinct durations are bounded by the log's
resolution: PostgreSQL's milliseconds with 3 decimals and the MySQL slow log's microseconds
both allow at most a million distinct values per second of spread (a group whose calls take
0-10 s: at most 10 million, 160 MB). Real spreads hold far fewer: 100 million calls drawn from a
log-normal over five decades (median 5 ms) hold 516,000 distinct values, 8 MB
(benchmarks/RESULTS.md, Fleet). The byte-range workers, the Dask engine and the incremental
state ship and store this compact form, so the state at the top of a merge tree grows with the
distinct durations below it, not with their calls.
``digest_file(path, workers=2)`` reads a plain (uncompressed) file in two processes. PostgreSQL
stderr logs and MySQL slow logs are digested straight from their text, to the same table
(:mod:`toolkit.queries.pg_digest`, :mod:`toolkit.queries.mysql_digest`). On a tie for the
slowest call the example is the first in the input.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"statement": ["select 1", "select 2", "select * from t"],
    ...                    "duration_ms": [1.0, 3.0, 10.0]})
    >>> digest(ev)[["fingerprint", "calls", "total_ms", "p50_ms"]].values.tolist()
    [['select * from t', 1, 10.0, 10.0], ['select ?', 2, 4.0, 2.0]]
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema
from ..engines import engine_of
from ..errors import ParseError, SchemaError
from ..quantiles import EMPTY_COUNTS, EMPTY_VALUES, counted, counted_sum, merge_counted, weighted_quantiles
from ..sources import CHUNK_BYTES
from .fingerprint import Fingerprinter, fingerprint_id

BY_COLUMNS = ("database", "user", "application")
_CALL_KINDS_EXCLUDED = ("parse", "bind")
_SUMS = ("rows_sent", "rows_examined", "lock_ms")
# A group's waiting durations are folded into its distinct values every this many (at least):
# 64k floats, 0.5 MB as an array (2 MB as add's list of Python floats).
COMPACT_AT = 65_536
# A group's lock time is summed as whole nanoseconds (Python ints, in ``DigestGroup.sums``):
# integer sums do not depend on the order they are added in, so chunks, byte ranges and
# workers give the same ``lock_ms`` to the bit (a float running sum differs in its last bits).
# Rows are whole numbers: their float sums are exact up to 2**53 whatever the order.
NS_SUMS = {"lock_ms": 1_000_000}

schema.register_table("digest_full", [
    (c.name, c.dtype, c.description) for c in schema.TABLES["digest"]] + [
    ("parameters", "str", "bind parameters of the example"),
    ("example_line", "int", "input line of the example"),
    ("fingerprint_id", "str", "16 hex digits, the start of pt-query-digest's query ID"),
    ("first_seen", "datetime", "UTC"), ("last_seen", "datetime", "UTC"),
])


def group_sums(column: str, values: np.ndarray, codes: np.ndarray, n: int) -> list:
    """Per group (``codes``: 0..n-1) the sum of ``values`` (float64; NaN: not logged, adds 0)
    in the unit :attr:`DigestGroup.sums` keeps for ``column``: float for rows, whole
    nanoseconds (int) for lock time (:data:`NS_SUMS`; :func:`sum_value` turns it back)."""
    v = np.nan_to_num(values, nan=0.0)
    scale = NS_SUMS.get(column)
    if scale is None:
        return np.bincount(codes, weights=v, minlength=n).tolist()
    units = np.rint(v * scale)
    if float(units.max(initial=0.0)) * max(len(units), 1) < 2.0 ** 62:  # (no int64 sum can overflow)
        out = np.zeros(n, np.int64)
        np.add.at(out, codes, units.astype(np.int64))
        return out.tolist()
    big = [0] * n  # (values of days of lock time each: Python ints)
    for c, u in zip(codes.tolist(), units.tolist(), strict=True):
        big[c] += int(u)
    return big


def batch_sums(values: dict[str, np.ndarray], codes: np.ndarray, n: int) -> dict[str, tuple[list, np.ndarray]]:
    """The sum columns of a batch of calls (``values``: column -> float64, NaN: not logged) per
    group (``codes``: 0..n-1): for each column with any value, the sums as
    :attr:`DigestGroup.sums` keeps them (:func:`group_sums`) and how many values each group had
    (a group gets a column only where it had a value: :meth:`DigestGroup.add_sums`)."""
    return {c: (group_sums(c, v, codes, n), np.bincount(codes, weights=~np.isnan(v), minlength=n))
            for c, v in values.items() if not np.isnan(v).all()}


def sum_value(column: str, kept: Any) -> float:
    """A sum as :attr:`DigestGroup.sums` keeps it, in the column's unit (ms for lock time)."""
    scale = NS_SUMS.get(column)
    return float(kept) if scale is None else int(kept) / scale  # (int / int: correctly rounded)


def by_list(by: Any) -> list[str]:
    """``by`` (None, a column name or several) as a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


class DigestGroup:
    """One group's state and the digest's rules, in this one place.

    Every digest updates its groups through these methods only: the DataFrame digest
    (:class:`DigestAccumulator`, a frame's calls summarised per group and given to :meth:`take`),
    the streaming digests of the text (:mod:`toolkit.queries.pg_digest`,
    :mod:`toolkit.queries.mysql_digest`: one call at a time, :meth:`add`), and the pieces and
    worker processes joined by :meth:`merge` (in input order).

    - ``calls``: every call; ``timed``: the calls with a duration (their total is
      :meth:`exact_total`, from the counted durations: it does not depend on the order);
    - the durations (milliseconds, for exact percentiles) as ``values`` (sorted, distinct) and
      their ``counts``; new ones wait in ``durations`` (:meth:`add`'s, one at a time) and
      ``blocks`` (:meth:`take`'s, a frame's at a time) until :meth:`compact` folds them in: when
      either holds ``limit`` values (:data:`COMPACT_AT`, or the distinct values held if more),
      on :meth:`merge`, :meth:`percentiles` and when the group is pickled (shipped to another
      process or stored), which always ships the compact form;
    - the example (``(statement, parameters, line)``): the slowest timed call; on a tie the first
      in the input (the smaller line, where both are known; else the one held, as the input comes
      in order); a group without a timed call keeps its first call (:meth:`offer`);
    - ``first``/``last``: the earliest and latest time stamp (:meth:`seen`); ``sums``: the
      per-column sums (rows as floats, lock time as whole nanoseconds: :func:`group_sums`), a
      column only where it had a value.

    Format-specific digests subclass it for how they keep time stamps or sums while reading.
    """

    __slots__ = ("calls", "timed", "max", "example", "values", "counts", "durations", "blocks",
                 "loose", "limit", "first", "last", "sums")

    def __init__(self) -> None:
        self.calls = 0
        self.timed = 0
        self.max = -np.inf
        self.example: tuple | None = None  # (statement, parameters, line)
        self.values: np.ndarray = EMPTY_VALUES  # distinct durations, sorted (replaced, never changed in place)
        self.counts: np.ndarray = EMPTY_COUNTS  # ... and how many calls took each
        self.durations: list[float] = []   # waiting: one call at a time (add)
        self.blocks: list[np.ndarray] = []  # waiting: a frame's at a time (take)
        self.loose = 0                      # the values in blocks
        self.limit = COMPACT_AT             # compact when durations or blocks hold this many
        self.first: Any = None
        self.last: Any = None
        self.sums: dict[str, float | int] = {}

    def offer(self, d: float, example: tuple) -> bool:
        """The example rule: ``example``, of a call (or a group's slowest) of ``d`` ms (-inf:
        untimed), replaces the one held when it is slower, or as slow and earlier in the input,
        or when none is held. True when it did."""
        held = self.example
        if held is None or d > self.max or (d == self.max > -np.inf and _before(example[2], held[2])):
            if d > self.max:
                self.max = d
            self.example = example
            return True
        return False

    def add(self, d: float, example: tuple) -> bool:
        """One call of ``d`` ms (NaN: untimed) and its example; True when it became the example."""
        self.calls += 1
        if d == d:
            self.timed += 1
            self.durations.append(d)
            if len(self.durations) >= self.limit:
                self.compact()
            return self.offer(d, example)
        return self.offer(-np.inf, example)

    def take(self, calls: int, timed: int, d_max: float, example: tuple, durations: np.ndarray) -> None:
        """A frame's calls of this group, summarised: counts, the slowest (``d_max``, -inf: none
        timed) and its example, the timed durations."""
        self.calls += calls
        self.timed += timed
        self.offer(d_max, example)
        if len(durations):
            self.blocks.append(durations)
            self.loose += len(durations)
            if self.loose >= self.limit:
                self.compact()

    def merge(self, other: DigestGroup) -> None:
        """Add ``other``'s calls (a later piece of the input, another range's): the durations
        of both, compact, are merged (sorted values, counts of a value in both added)."""
        self.calls += other.calls
        self.timed += other.timed
        if other.example is not None:
            self.offer(other.max, other.example)
        self.compact()
        other.compact()
        self.values, self.counts = merge_counted(self.values, self.counts, other.values, other.counts)
        self.limit = max(COMPACT_AT, len(self.values))
        for c, v in other.sums.items():
            self.sums[c] = self.sums.get(c, 0) + v
        self.seen(other.first, other.last)

    def add_sums(self, sums: dict[str, tuple[list, np.ndarray]], k: int) -> None:
        """Add group ``k``'s sums of a batch (:func:`batch_sums`), the columns it had values of."""
        for c, (total, n) in sums.items():
            if n[k]:
                self.sums[c] = self.sums.get(c, 0) + total[k]

    def seen(self, first: Any, last: Any) -> None:
        """Widen ``first``/``last`` seen to take in ``first``..``last`` (None or NaT: nothing)."""
        if first is None or pd.isna(first):
            return
        self.first = first if self.first is None or first < self.first else self.first
        self.last = last if self.last is None or last > self.last else self.last

    def compact(self) -> None:
        """Fold the waiting durations into ``values``/``counts``. Memory after: 16 bytes per
        distinct duration; the waiting ones between two compactions are at most ``limit`` per
        list (the larger of :data:`COMPACT_AT` and the distinct values held, so compacting
        costs, per call, a constant share of a sort of the new values and a linear merge)."""
        if not self.durations and not self.blocks:
            return
        if self.durations:
            self.blocks.append(np.array(self.durations, dtype=np.float64))
        new = self.blocks[0] if len(self.blocks) == 1 else np.concatenate(self.blocks)
        self.values, self.counts = merge_counted(self.values, self.counts, *counted(new))
        self.durations, self.blocks, self.loose = [], [], 0
        self.limit = max(COMPACT_AT, len(self.values))

    def exact_total(self) -> float:
        """The timed calls' total, ms, from the distinct durations and their counts
        (:func:`toolkit.quantiles.counted_sum`): the same to the bit however the calls were
        chunked, split into ranges or merged (a running sum is not)."""
        self.compact()
        return counted_sum(self.values, self.counts)

    def percentiles(self, qs: Iterable[float] = (50, 95, 99)) -> np.ndarray:
        """Percentiles ``qs`` (0..100) of the timed calls' durations, ms: exactly
        ``np.percentile(every duration, qs)`` (:func:`toolkit.quantiles.weighted_quantiles`);
        NaN without a timed call."""
        self.compact()
        return weighted_quantiles(self.values, self.counts, np.asarray(list(qs), dtype=np.float64) / 100)

    def __getstate__(self) -> Any:
        # shipped or stored: always the compact form (the waiting lists may hold 64k values)
        self.compact()
        return super().__getstate__()


@dataclasses.dataclass(frozen=True)
class CallGroups:
    """A batch of calls summarised per group (:func:`group_calls`), what
    :meth:`DigestGroup.take` takes: per group ``calls``, ``timed`` calls, the slowest (``d_max``, -inf: none timed), the position in the batch of its ``example`` call,
    and its timed ``durations`` (in batch order)."""

    calls: np.ndarray
    timed: np.ndarray
    d_max: np.ndarray
    example: np.ndarray
    durations: list[np.ndarray]

    def take(self, group: DigestGroup, k: int, example: tuple) -> None:
        """Add group ``k``'s calls to ``group``, ``example`` being its example call's
        ``(statement, parameters, line)``."""
        group.take(int(self.calls[k]), int(self.timed[k]), float(self.d_max[k]), example, self.durations[k])


def group_calls(codes: np.ndarray, n: int, d: np.ndarray, tie: np.ndarray | None = None) -> CallGroups:
    """A batch of calls (``codes``: each call's group, 0..n-1; ``d``: its ms, NaN untimed) per
    group, for :meth:`DigestGroup.take`: the one batch form of the digest's rules, which the
    DataFrame digest and the streaming digests of the text share. The example is the group's
    slowest call, the one with the smallest ``tie`` among equals (default: the first in the
    batch); a group without a timed call has its smallest-``tie`` call."""
    timed = ~np.isnan(d)
    calls = np.bincount(codes, minlength=n)
    n_timed = np.bincount(codes, weights=timed, minlength=n).astype(np.int64)
    d_or_inf = np.where(timed, d, -np.inf)
    d_max = np.full(n, -np.inf)
    np.maximum.at(d_max, codes, d_or_inf)
    slowest = np.flatnonzero(d_or_inf == d_max[codes])
    if tie is None:
        example = np.full(n, len(codes))
        np.minimum.at(example, codes[slowest], slowest)
    else:
        ranked = slowest[np.lexsort((tie[slowest], codes[slowest]))]
        example = ranked[np.searchsorted(codes[ranked], np.arange(n))]
    # (a stable sort of small codes: numpy sorts those by radix)
    sorter = np.argsort(codes[timed].astype(np.min_scalar_type(max(n - 1, 0))), kind="stable")
    durations = np.split(d[timed][sorter], np.cumsum(n_timed)[:-1].tolist())
    return CallGroups(calls, n_timed, d_max, example, durations)


NO_TIME = np.iinfo(np.int64).min  # a call without a time stamp (int64 ns: NaT's value)


def next_call(sessions: np.ndarray, calls: np.ndarray) -> np.ndarray:
    """The parse/bind rule's look-ahead, for rows sorted by session (each session's rows
    contiguous, ``sessions`` their codes in that order) of which ``calls`` are the calls: each
    position's next call at or after it in its own session (a position), -1 where its session
    has none. One reversed running minimum over the positions of the calls: no groupby."""
    n = len(calls)
    nxt = np.minimum.accumulate(np.where(calls, np.arange(n), n)[::-1])[::-1]
    ok = nxt < n
    at = np.flatnonzero(ok)
    ok[at] = sessions[nxt[at]] == sessions[at]  # (contiguous sessions: the same code is the same run)
    return np.where(ok, nxt, -1)


def group_span(codes: np.ndarray, n: int, ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group (``codes``: 0..n-1) the earliest and latest of the calls' time stamps ``ns``
    (int64 nanoseconds, UTC; :data:`NO_TIME`: none) and whether it had one."""
    got = ns != NO_TIME
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, NO_TIME)
    np.minimum.at(lo, codes[got], ns[got])
    np.maximum.at(hi, codes[got], ns[got])
    return lo, hi, hi != NO_TIME


@dataclasses.dataclass(frozen=True)
class StreamingDigest:
    """A format's streaming digest (:class:`toolkit.formats.StreamDigest`): ``run(source, by=,
    chunk_size=, start=, end=, ...)`` gives ``(DigestAccumulator, accounting)``; ``supports(by)``
    says whether it can group by ``by``."""

    run: Callable[..., tuple[DigestAccumulator, dict[str, Any]]]
    supports: Callable[[Any], bool]

    def __call__(self, source: Any, **options: Any) -> tuple[DigestAccumulator, dict[str, Any]]:
        return self.run(source, **options)


def _arrow_chunks(column: pd.Series) -> list[int] | None:
    """The lengths of a pyarrow-backed column's chunks (None: not pyarrow-backed, or one chunk)."""
    if getattr(column.dtype, "storage", None) != "pyarrow" and not isinstance(column.dtype, pd.ArrowDtype):
        return None
    arrow = pa.array(column.array)  # (the column's own chunks: no copy)
    if not isinstance(arrow, pa.ChunkedArray) or arrow.num_chunks < 2:
        return None
    return [len(c) for c in arrow.chunks]


def _cells(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """``column.take(rows).to_numpy(object)``. A pyarrow column of many chunks (a reader's,
    one per piece) is taken chunk by chunk: pyarrow takes from a chunked array by joining its
    chunks first, a copy of the whole column for a few example cells."""
    lengths = _arrow_chunks(column)
    if lengths is None or len(rows) == 0:
        return column.take(rows).to_numpy(object)
    out = np.empty(len(rows), dtype=object)
    starts = np.cumsum([0, *lengths])
    chunk = np.searchsorted(starts, rows, side="right") - 1
    for k in np.unique(chunk).tolist():
        at = np.flatnonzero(chunk == k)
        out[at] = column.iloc[starts[k]:starts[k + 1]].take(rows[at] - starts[k]).to_numpy(object)
    return out


def _codes_at(column: pd.Series, rows: np.ndarray) -> Any:
    """A grouping column's values at ``rows`` for :func:`_group_codes`: a pyarrow string column
    as ``(codes, values)`` of the whole column (dictionary-encoded chunk by chunk, no copy of
    the strings; a str equals only itself, so the values are the same whichever rows are coded),
    any other column as its values at ``rows``."""
    if _arrow_chunks(column) is not None and pd.api.types.is_string_dtype(column.dtype):
        codes, values = pd.factorize(column, use_na_sentinel=True)
        return codes[rows], values
    return column.take(rows)


def _session_codes(events: pd.DataFrame) -> np.ndarray:
    """Each row's session as an integer code (any numbering); a null session is the empty one
    (as ``fillna("")``: one session), a frame without the column one session."""
    if "session" not in events.columns:
        return np.zeros(len(events), np.int64)
    codes, values = pd.factorize(events["session"], use_na_sentinel=True)
    codes = codes.astype(np.int64)
    empty = np.flatnonzero(np.asarray(values, dtype=object) == "")
    codes[codes < 0] = empty[0] if len(empty) else len(values)
    return codes


def _before(line: Any, other: Any) -> bool:
    """``line`` comes before ``other`` (both known line numbers)."""
    return not (line is None or other is None or pd.isna(line) or pd.isna(other)) and line < other


def _group_codes(columns: list) -> tuple[np.ndarray, list[tuple]]:
    """Each row's group (the distinct combinations of ``columns``' values, numbered in order of
    first appearance, as ``groupby(sort=False, dropna=False)`` numbers them) and each group's key
    as a tuple (a null value as None). A column is an array (or Series) of values, or a pair
    ``(codes, values)`` already coded (codes index ``values``, -1: null; any numbering). Integer
    codes all the way (no frame, no groupby): one factorize per column, the codes combined
    pairwise and factorized again (so they never outgrow the rows)."""
    per_column = []  # (codes, values): code 0 is null
    n_rows = len(columns[0][0]) if isinstance(columns[0], tuple) else len(columns[0])
    codes = np.zeros(n_rows, dtype=np.int64)
    for col in columns:
        c, u = col if isinstance(col, tuple) else pd.factorize(col, use_na_sentinel=True)  # (null: -1)
        c = np.asarray(c).astype(np.int64) + 1
        per_column.append((c, np.concatenate([np.array([None], dtype=object), np.asarray(u, dtype=object)])))
        codes = pd.factorize(codes * (len(u) + 1) + c)[0].astype(np.int64)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    first = np.full(n_groups, len(codes))
    np.minimum.at(first, codes, np.arange(len(codes)))
    keys = list(zip(*(values[c[first]] for c, values in per_column), strict=True))
    return codes, keys


class DigestAccumulator:
    """Feed ``query_events`` DataFrames with :meth:`add`, get the digest with :meth:`result`.

    Options as for :func:`digest`. Parse/bind rows left at the end of one frame wait for the
    next frame, so chunked input gives the same calls as the whole input.
    """

    def __init__(self, by: Any = None, *, fold_parse_bind: bool = True, **fingerprint_options: Any):
        self.by = by_list(by)
        for col in self.by:
            if not isinstance(col, str):
                raise TypeError(f"by must name columns, not {col!r}")
        self.fold = fold_parse_bind
        self.fper = Fingerprinter(**fingerprint_options)
        self.groups: dict[tuple, DigestGroup] = {}
        self.sum_columns: set[str] = set()
        # parse/bind rows waiting for their execute (public: an incremental state must not cut there)
        self.pending: pd.DataFrame | None = None
        self.rows = 0

    def group(self, key: tuple) -> DigestGroup:
        """The state of one group (``by`` values and fingerprint), made on first use."""
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = DigestGroup()
        return g

    # -- one frame -------------------------------------------------------------------------
    def add(self, events: pd.DataFrame) -> DigestAccumulator:
        if "statement" not in events.columns or "duration_ms" not in events.columns:
            raise SchemaError("digest needs query events with 'statement' and 'duration_ms' columns")
        missing = [c for c in self.by if c not in events.columns]
        if missing:
            raise SchemaError(f"cannot group by {missing}: not columns of the events "
                              f"(have {', '.join(map(str, events.columns))})")
        self.rows += len(events)
        kind = events["kind"] if "kind" in events.columns else None
        if kind is not None:
            keep = (kind != "plan").fillna(True).to_numpy(bool)
            if not keep.all():
                events = events[keep]
                kind = events["kind"]
        if self.pending is not None and len(self.pending):
            events = pd.concat([self.pending, events], ignore_index=True)
            kind = events["kind"] if "kind" in events.columns else None
        self.pending = None
        if events.empty:
            return self
        fps = self._fingerprint_codes(events["statement"])
        ms = pd.to_numeric(events["duration_ms"], errors="coerce").to_numpy("float64", na_value=np.nan)
        is_call = np.ones(len(events), bool)
        kinds = None
        if kind is not None:
            if not self.fold:  # a grouping column
                kinds = kind.astype(object).where(kind.notna(), None).to_numpy(object)
            else:
                parse_bind = kind.isin(_CALL_KINDS_EXCLUDED).to_numpy(bool)
                ms, is_call, pending = self._fold(events, parse_bind, fps, ms)
                if pending.any():
                    self.pending = events[pending]
                    is_call &= ~pending
        self._accumulate(events, fps, ms, is_call, kinds)
        return self

    def _fingerprint_codes(self, statements: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Each row's fingerprint as ``(codes, fingerprints)``: codes (int64, -1: none, for a
        null or non-str statement) into the distinct fingerprints (an object array). Each
        distinct statement is fingerprinted once and no Python str is made per row: a log
        repeats few texts many times, and a string column (pyarrow) is coded without them."""
        try:
            stmt_codes, texts = pd.factorize(statements, use_na_sentinel=True)
        except TypeError:  # an unhashable value (not a str: no fingerprint): row by row
            stmt_codes, texts = np.arange(len(statements)), statements.to_numpy(object)
        fp_of_text, fps = pd.factorize(np.array(self.fper.many(np.asarray(texts, dtype=object).tolist()),
                                                dtype=object), use_na_sentinel=True)
        fp_of_text = np.append(fp_of_text.astype(np.int64), -1)  # (a null statement's code -1 -> -1)
        return fp_of_text[stmt_codes], np.asarray(fps, dtype=object)

    def _fold(self, events: pd.DataFrame, pb: np.ndarray, fps: tuple[np.ndarray, np.ndarray], ms: np.ndarray):
        """Add parse/bind durations (the rows where ``pb``) to the next call of the same
        session and fingerprint (``fps``: codes, fingerprints)."""
        pending = np.zeros(len(events), bool)
        if not pb.any():
            return ms, np.ones(len(events), bool), pending
        sess = _session_codes(events)
        if "source_line" in events.columns and events["source_line"].notna().all():
            order = np.lexsort((events["source_line"].to_numpy("int64"), sess))
        else:
            order = np.argsort(sess, kind="stable")
        s_call = ~pb[order]
        nxt = next_call(sess[order], s_call)
        out = ms.copy()
        is_call = np.ones(len(events), bool)
        j = np.flatnonzero(~s_call)  # parse/bind rows, in sorted positions
        k = nxt[j]
        has_next = k >= 0
        pending[order[j[~has_next]]] = True  # their execute may be in the next frame
        src = order[j[has_next]]
        dst = order[k[has_next]]
        same = fps[0][src] == fps[0][dst]
        src, dst = src[same], dst[same]
        add = np.nan_to_num(ms[src])
        timed = ~np.isnan(ms[src])
        out[dst[timed & np.isnan(out[dst])]] = 0.0
        np.add.at(out, dst, add)
        is_call[src] = False
        return out, is_call, pending

    def _accumulate(self, events, fps, ms, is_call, kinds) -> None:
        if not is_call.any():
            return
        idx = np.flatnonzero(is_call)
        columns = [_codes_at(events[c], idx) for c in self.by] + [(fps[0][idx], fps[1])]
        if not self.fold and kinds is not None:
            columns.append(kinds[idx])
        codes, key_tuples = _group_codes(columns)
        n_groups = len(key_tuples)
        # the example: each group's first row among its slowest (its first row when none is timed)
        batch = group_calls(codes, n_groups, ms[idx])
        ex_rows = idx[batch.example]
        sums = batch_sums({c: pd.to_numeric(events[c], errors="coerce").to_numpy("float64", na_value=np.nan)[idx]
                           for c in _SUMS if c in events.columns}, codes, n_groups)
        self.sum_columns.update(sums)
        ts_min = ts_max = None
        if "timestamp" in events.columns:
            # as int64 nanoseconds (never as Timestamp objects: one per row would be slow)
            # (schema.utc_ns: a time a frame built elsewhere holds beyond datetime64[ns] is NaT, not wrapped)
            stamps = schema.utc_ns(pd.to_datetime(events["timestamp"], utc=True)).values
            ns = stamps.to_numpy("datetime64[ns]").view(np.int64)[idx]
            lo, hi, seen = group_span(codes, n_groups, ns)
            ts_min = [pd.Timestamp(v, tz="UTC") if ok else pd.NaT for v, ok in zip(lo, seen, strict=True)]
            ts_max = [pd.Timestamp(v, tz="UTC") if ok else pd.NaT for v, ok in zip(hi, seen, strict=True)]
        # the examples' cells only (a whole column as objects would make one per row)
        stmt = _cells(events["statement"], ex_rows)
        params = _cells(events["parameters"], ex_rows) if "parameters" in events.columns else None
        lines = _cells(events["source_line"], ex_rows) if "source_line" in events.columns else None
        for g, key in enumerate(key_tuples):
            acc = self.group(key)
            # (a parse/bind row resolved in a later frame may come before the example so far:
            # the group's tie rule looks at the lines)
            batch.take(acc, g, (stmt[g], None if params is None else params[g], None if lines is None else lines[g]))
            acc.add_sums(sums, g)
            if ts_min is not None:
                acc.seen(ts_min[g], ts_max[g])

    # -- the table -------------------------------------------------------------------------
    def result(self) -> pd.DataFrame:
        """The digest table (see the module docstring), sorted by total_ms descending."""
        if self.pending is not None and len(self.pending):
            pending, self.pending = self.pending, None
            kinds = pending["kind"].astype(object).to_numpy(object)
            fps = self._fingerprint_codes(pending["statement"])
            ms = pd.to_numeric(pending["duration_ms"], errors="coerce").to_numpy("float64", na_value=np.nan)
            self._accumulate(pending, fps, ms, np.ones(len(pending), bool), kinds)
        keys = [*self.by, "fingerprint"] + (["kind"] if not self.fold and self._has_kind() else [])
        rows = []
        for key, acc in self.groups.items():
            p50, p95, p99 = acc.percentiles((50, 95, 99))
            example = acc.example or (None, None, None)
            row = dict(zip(keys, key, strict=False))
            total = acc.exact_total()
            row.update(calls=acc.calls, total_ms=total,
                       mean_ms=total / acc.timed if acc.timed else np.nan,
                       p50_ms=p50, p95_ms=p95, p99_ms=p99,
                       max_ms=acc.max if acc.timed else np.nan,
                       example=example[0], parameters=example[1], example_line=example[2],
                       fingerprint_id=None if key[len(self.by)] is None else fingerprint_id(key[len(self.by)]),
                       first_seen=acc.first, last_seen=acc.last)
            for c in sorted(self.sum_columns):
                row[c] = sum_value(c, acc.sums[c]) if c in acc.sums else np.nan
            rows.append(row)
        if not rows:
            out = schema.empty("digest_full")
            for c in self.by:
                out.insert(0, c, pd.Series([], dtype="string"))
            return out
        df = pd.DataFrame(rows)
        grand = math.fsum(df["total_ms"])  # (the rows' order does not change it)
        df["pct_total"] = df["total_ms"] / grand * 100 if grand else 0.0
        if "rows_examined" in df and "rows_sent" in df:
            sent = df["rows_sent"].where(df["rows_sent"] > 0)
            df["rows_examined_per_sent"] = df["rows_examined"] / sent
        for c in ("rows_sent", "rows_examined"):
            if c in df:  # whole numbers; a total beyond int64 keeps its float (never wraps)
                ints = schema.int_values(df[c].round())
                if not ints.bad.any():
                    df[c] = pd.Series(ints.values, index=df.index)
        df = df.sort_values(["total_ms", "calls"], ascending=[False, False], kind="stable",
                            ignore_index=True)
        for c in [*self.by, "fingerprint", "example", "parameters", "fingerprint_id"]:
            df[c] = df[c].astype(object).where(df[c].notna(), None).astype("string")
        df["example_line"] = pd.to_numeric(df["example_line"], errors="coerce").astype("Int64")
        out = schema.coerce(df, "digest_full")
        lead = [*self.by] + (["kind"] if "kind" in out.columns else [])
        out = out[lead + [c for c in out.columns if c not in lead]]
        if "kind" in out.columns:
            out["kind"] = out["kind"].astype("string")
        return out

    def _has_kind(self) -> bool:
        return any(len(k) > len(self.by) + 1 for k in self.groups)


def digest(events: pd.DataFrame, by: Any = None, *, fold_parse_bind: bool = True,
           **fingerprint_options: Any) -> pd.DataFrame:
    """The digest of ``events`` (the ``query_events`` table): one row per fingerprint (and per
    ``by`` group: ``"database"``, ``"user"``, ``"application"`` or a list of columns), sorted by
    ``total_ms`` descending. See the module docstring for every column and the rules.

    ``fingerprint_options`` go to :func:`~toolkit.queries.fingerprint.fingerprint`
    (``keep_digits_in_identifiers``, ``method="pglast"``, ``keep_quoted_identifiers``).
    The input is not modified. A Dask frame (``read_queries(..., engine="dask")``) is digested
    on the cluster (:mod:`toolkit.distributed.reductions`) to the same table.

        >>> import toolkit as tk
        >>> events = tk.read_queries("sample_traces/queries/mariadb/app-slow.log")  # doctest: +SKIP
        >>> tk.digest(events, by="database").head()                                 # doctest: +SKIP
    """
    if (engine := engine_of(events)) is not None:  # a Dask frame: a tree reduction of digest groups
        return engine.digest(events, by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
    acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
    acc.add(events)
    out = acc.result()
    if "source" in events.attrs:
        out.attrs["source"] = events.attrs["source"]
    return out


def digest_stream(frames: Iterable[pd.DataFrame], by: Any = None, *, fold_parse_bind: bool = True,
                  **fingerprint_options: Any) -> pd.DataFrame:
    """The digest of a stream of ``query_events`` frames (a chunked reader's output), with
    bounded memory. Equal to ``digest(pd.concat(frames))``."""
    acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
    last = None
    for frame in frames:
        acc.add(frame)
        last = frame
    out = acc.result()
    if last is not None and "source" in last.attrs:
        out.attrs["source"] = last.attrs["source"]
    return out


def _chunks(src, fmt, chunk_size: int, reader_options: dict[str, Any]):
    """The format's frames piece by piece: its registered chunked reader (``extras.chunks``),
    else its module's ``iter_query_chunks(source, format, chunk_bytes=)`` (the PostgreSQL
    readers), else the whole file at once."""
    chunked = fmt.extras.chunks
    if chunked is not None:
        return chunked(src, chunk_size=chunk_size, **reader_options)
    module = importlib.import_module(fmt.read.__module__)
    iter_chunks = getattr(module, "iter_query_chunks", None)
    if iter_chunks is not None:
        return iter_chunks(src, fmt.name, chunk_bytes=chunk_size, **reader_options)
    return iter([fmt.read(src, **reader_options)])


def digest_file(path: Any, by: Any = None, *, format: str | None = None, workers: int | None = None,
                chunk_size: int | None = None, fold_parse_bind: bool = True,
                reader_options: dict[str, Any] | None = None, state: Any = None,
                errors: str | None = None, **fingerprint_options: Any) -> pd.DataFrame:
    """Read a query log piece by piece and digest it with bounded memory.

    ``format`` as for :func:`toolkit.read_queries` (detected when None). Formats that register a
    chunked reader (``extras.chunks``) stream; others are read whole. ``workers=2`` splits
    a plain, uncompressed file of a format with a byte-range reader (``extras.split``: the
    MySQL/MariaDB slow log, PostgreSQL stderr, csvlog and jsonlog) into byte ranges at record boundaries and digests
    them in parallel processes, each shipping back its per-fingerprint state (distinct durations
    with their counts), not DataFrames (the results merge exactly: sums, maxima and the counted
    durations); the default (None) uses two processes for such files over 64 MB when the
    machine has two cores.
    ``attrs["source"]`` carries the reader's accounting. ``errors``: ``"skip"`` (the default:
    bad lines are skipped and counted) or ``"raise"`` (the first bad line is a
    :class:`~toolkit.errors.ParseError` naming file and line), as for the readers; the same as
    ``reader_options={"errors": ...}``.

    ``state`` (a directory, or a :class:`toolkit.state.StateStore`) makes the digest
    incremental (:mod:`toolkit.queries.incremental`): the file's digest so far is remembered
    there, and the next call on the same, grown file reads only the new bytes, with the same
    table as a full read. A rotated, truncated or rewritten file is read from 0. A compressed
    file, or a format without a byte-range reader, is read whole, ``attrs["source"]
    ["incremental"]`` says so (``"full read: ..."``).
    """
    from .. import formats
    from ..sources import open_source

    # None: each way's own piece size (the direct digests choose theirs)
    reader_options = dict(reader_options or {})
    # (errors= beside the reader's options: a user writes it as for read_queries, and it must not
    # fall into the fingerprint options)
    given = reader_options.pop("errors", None)
    if errors is not None and given is not None and errors != given:
        raise ValueError(f"errors={errors!r} and reader_options['errors']={given!r} disagree")
    errors = errors or given or "skip"
    src = open_source(path, errors=errors)
    fmt = formats.get(format) if format else formats.detect(src, "queries")
    full_read = None  # with a state: why the file is read whole
    if state is not None:
        from ..state import full_read_note
        from . import incremental

        if src.path and src.compression is None and fmt.extras.split is not None:
            blocks = incremental.Blocks(digest_range, merge_ranges, DigestAccumulator)
            return incremental.digest_incremental(src.path, fmt.name, state, blocks, by=by, fold=fold_parse_bind,
                                                  chunk_size=chunk_size, fp_options=fingerprint_options,
                                                  reader_options={**reader_options, "errors": errors})
        full_read = full_read_note(src, None if src.compression or not src.path
                                   else f"{fmt.name} has no byte-range reader")
    if workers is None:
        big = src.path is not None and os.path.getsize(src.path) > 64_000_000
        workers = min(2, os.cpu_count() or 1) if big else 1
    if workers > 1 and src.path and src.compression is None and fmt.extras.split is not None:
        return _digest_parallel(src.path, fmt.name, workers, chunk_size, by, fold_parse_bind,
                                {**reader_options, "errors": errors}, fingerprint_options)
    if _direct(fmt, by, fold_parse_bind):
        acc, accounting = fmt.extras.digest(src, by=by, chunk_size=chunk_size, errors=errors,
                                               **reader_options, **fingerprint_options)
        out = acc.result()
        out.attrs["source"] = {**accounting, **(full_read or {})}
        return out
    acc = DigestAccumulator(by, fold_parse_bind=fold_parse_bind, **fingerprint_options)
    for frame in _chunks(src, fmt, chunk_size or CHUNK_BYTES, {**reader_options, "errors": errors}):
        acc.add(frame)
    out = acc.result()
    src.accounting.format = src.accounting.format or fmt.name
    out.attrs["source"] = {**src.accounting.as_dict(), **(full_read or {})}
    return out


def _direct(fmt, by: Any, fold: bool) -> bool:
    """The format digests its text directly for these options (``extras.digest`` and its
    ``supports(by)``: PostgreSQL stderr and the MySQL slow log, see
    :mod:`toolkit.queries.pg_digest` and :mod:`toolkit.queries.mysql_digest`)."""
    return fmt.extras.digest is not None and fold and fmt.extras.digest.supports(by)


# -- parallel: byte ranges of one file in worker processes -------------------------------------
def digest_range(args):
    """Digest bytes ``start:end`` of a file (a worker's job: ``(path, format name, start, end,
    chunk_size, by, fold_parse_bind, reader_options, fingerprint_options)``, both ends moved to
    record starts by the format's reader). Returns ``(DigestAccumulator, accounting)`` with line
    numbers counted from 1 at the range (see :func:`merge_ranges`), or a ParseError's fields."""
    path, fmt_name, start, end, chunk_size, by, fold, reader_options, fp_options = args
    from .. import formats

    fmt = formats.get(fmt_name)
    acc = DigestAccumulator(by, fold_parse_bind=fold, **fp_options)
    accounting = None
    # Lines are numbered from 1 in each range and renumbered by the parent (which knows how many
    # lines the ranges before hold), so no worker reads the file before its range just to count
    # them; with errors="raise" the error must name the real line, so the worker counts.
    relative = reader_options.get("errors", "skip") != "raise"
    options = {**reader_options, **({"first_line": 1} if relative else {})}
    # A short-lived worker making millions of small objects, none in a cycle: the cyclic
    # collector would only walk them again and again, so it stays off in this process.
    gc.disable()
    try:
        if _direct(fmt, by, fold):
            acc, accounting = fmt.extras.digest(path, start=start, end=end, by=by,
                                                   chunk_size=chunk_size, **options, **fp_options)
        else:
            for frame in fmt.extras.split(path, start, end, chunk_size=chunk_size or CHUNK_BYTES,
                                             **options):
                acc.add(frame)
                accounting = frame.attrs.get("source", accounting)
    except ParseError as exc:  # its fields, not the object: they survive the process boundary
        return ("ParseError", exc.message, exc.path, exc.line, exc.expected), None
    finally:
        gc.enable()
    acc.fper = None  # not needed by the parent; keeps the pickle small
    if accounting is not None:
        accounting = {**accounting, "relative_lines": relative}
    return acc, accounting


def renumber(part: DigestAccumulator, accounting: dict[str, Any], offset: int) -> None:
    """Shift a range's line numbers (example lines, skipped examples) by the lines before it."""
    for g in part.groups.values():
        if g.example is None:
            continue
        stmt, params, line = g.example
        if line is not None and not pd.isna(line):
            g.example = (stmt, params, int(line) + offset)
    accounting["skipped"] = [{**x, "line": None if x.get("line") is None else x["line"] + offset}
                             for x in accounting.get("skipped", [])]


def merge_into(into: DigestAccumulator, other: DigestAccumulator) -> None:
    into.sum_columns |= other.sum_columns
    into.rows += other.rows
    if other.pending is not None and len(other.pending):
        into.pending = (other.pending if into.pending is None
                         else pd.concat([into.pending, other.pending], ignore_index=True))
    for key, g in other.groups.items():
        acc = into.groups.get(key)
        if acc is None:
            into.groups[key] = g
        else:
            acc.merge(g)


def merge_ranges(parts: list, by: Any = None, fold: bool = True,
                 fp_options: dict[str, Any] | None = None) -> tuple[DigestAccumulator, dict[str, Any]]:
    """Merge :func:`digest_range` results given in file order into one accumulator and one
    accounting dict (line numbers shifted by the lines of the ranges before; sums of the
    counts; skip reasons and examples joined). Raises the first range's ParseError."""
    acc = DigestAccumulator(by, fold_parse_bind=fold, **(fp_options or {}))
    merged_accounting: dict[str, Any] = {}
    for part, _ in parts:
        if isinstance(part, tuple):
            raise ParseError(*part[1:])
    offset = 0
    for part, accounting in parts:
        if accounting and accounting.pop("relative_lines", False):
            renumber(part, accounting, offset)
        offset += accounting.get("lines_read", 0) if accounting else 0
        merge_into(acc, part)
        if accounting:
            if not merged_accounting:
                merged_accounting = dict(accounting)
                merged_accounting["skip_reasons"] = dict(accounting.get("skip_reasons", {}))
                merged_accounting["skipped"] = list(accounting.get("skipped", []))
                if "lines_in_other_table" in accounting:  # (PostgreSQL's: the one-process keys)
                    merged_accounting["lines_in_other_table"] = dict(accounting["lines_in_other_table"])
            else:
                for k in ("lines_read", "records", "lines_skipped", "replaced_bytes", "record_lines"):
                    if k in accounting:
                        merged_accounting[k] = merged_accounting.get(k, 0) + accounting[k]
                if "lines_in_other_table" in accounting:
                    other = merged_accounting.setdefault("lines_in_other_table", {})
                    for table, n in accounting["lines_in_other_table"].items():
                        other[table] = other.get(table, 0) + n
                for r, n in accounting.get("skip_reasons", {}).items():
                    merged_accounting["skip_reasons"][r] = merged_accounting["skip_reasons"].get(r, 0) + n
                merged_accounting["skipped"].extend(accounting.get("skipped", []))
    return acc, merged_accounting


def _digest_parallel(path, fmt_name, workers, chunk_size, by, fold, reader_options, fp_options):
    import concurrent.futures as cf
    import multiprocessing as mp

    size = os.path.getsize(path)
    cuts = [0] + [size * i // workers for i in range(1, workers)] + [size]
    jobs = [(path, fmt_name, cuts[i], cuts[i + 1], chunk_size, by, fold, reader_options, fp_options)
            for i in range(workers)]
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    # this process reads the first range itself while the others are read in worker processes
    with cf.ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
        futures = [pool.submit(digest_range, job) for job in jobs[1:]]
        parts = [digest_range(jobs[0])] + [f.result() for f in futures]
    acc, merged_accounting = merge_ranges(parts, by, fold, fp_options)
    out = acc.result()
    merged_accounting["path"] = os.fspath(path)
    out.attrs["source"] = merged_accounting
    return out
