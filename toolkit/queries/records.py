"""Record batches: the one contract between the query-log scanners and their consumers.

A scanner (:mod:`toolkit.queries.pg_stderr`, :mod:`toolkit.queries.pg_csvlog`,
:mod:`toolkit.queries.pg_jsonlog`, :mod:`toolkit.queries.mysql_slow`) turns a buffer of whole
records into one :class:`RecordBatch`; the DataFrame readers (``read_queries``,
``read_server_events``) build their tables from batches and the streaming digests
(:mod:`toolkit.queries.pg_digest`, :mod:`toolkit.queries.mysql_digest`) consume the same
batches, so every way reads records, values and skipped lines alike.

A batch covers input lines ``first .. first + lines - 1``:

- ``columns``: name -> one value per row (a list, tuple or numpy array), the values as the log
  wrote them (text: converting and checking them is the consumer's; a scanner only parses);
- ``first_line`` / ``nlines`` (int64 arrays): each row's first input line and its lines;
- ``status`` (int8 array): :data:`RECORD` (a record of the batch's table) or :data:`SKIPPED` (a
  record the scanner refuses; its reason in ``reasons``, keyed by row position);
- ``other_lines``: the lines of records that belong to the other table (server events next to
  query events);
- ``skips``: ``(line, reason, text, count)`` for runs of lines no record claims.

Every line is accounted for once (:meth:`RecordBatch.check`): the rows' lines, the other
table's lines and the skipped runs add up to ``lines``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RECORD = 0   # a record of the batch's table
SKIPPED = 1  # a record the scanner refuses: its lines are skipped with the reason in ``reasons``


@dataclass
class RecordBatch:
    """The records of one buffer of a log (see the module)."""

    first: int
    lines: int
    columns: dict[str, Sequence[Any]]
    first_line: np.ndarray
    nlines: np.ndarray
    status: np.ndarray
    reasons: dict[int, str] = field(default_factory=dict)
    other_lines: int = 0
    skips: list[tuple[int, str, str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, first: int, lines: int, columns: dict[str, Sequence[Any]], first_line: Sequence[int],
           nlines: Sequence[int], *, reasons: dict[int, str] | None = None, other_lines: int = 0,
           skips: list[tuple[int, str, str, int]] | None = None) -> RecordBatch:
        """A batch from plain sequences; rows named in ``reasons`` are :data:`SKIPPED`."""
        n = len(first_line)
        status = np.zeros(n, dtype=np.int8)
        if reasons:
            status[list(reasons)] = SKIPPED
        return cls(first, lines, columns, np.asarray(first_line, dtype=np.int64),
                   np.asarray(nlines, dtype=np.int64), status, dict(reasons or {}), other_lines,
                   list(skips or []))

    @classmethod
    def empty(cls, first: int, lines: int = 0, *, other_lines: int = 0,
              skips: list[tuple[int, str, str, int]] | None = None) -> RecordBatch:
        """A batch without rows (its lines other records' or skipped)."""
        return cls.of(first, lines, {}, [], [], other_lines=other_lines, skips=skips)

    def __len__(self) -> int:
        return len(self.first_line)

    @property
    def records(self) -> int:
        """How many rows are records (not :data:`SKIPPED`)."""
        return len(self) - len(self.reasons)

    def ok(self) -> np.ndarray:
        """A boolean mask of the rows that are records."""
        return self.status == RECORD

    def column(self, name: str) -> Sequence[Any] | None:
        """The column ``name`` (None where the scanner has none: a field the log does not hold)."""
        return self.columns.get(name)

    def kept(self, values: Sequence[Any]) -> list[Any]:
        """``values`` (one per row) without the :data:`SKIPPED` rows' values."""
        if not self.reasons:
            return list(values)
        return [v for i, v in enumerate(values) if i not in self.reasons]

    def account(self, acct, example: Sequence[str] | None = None, *, count: bool = True) -> None:
        """Put the batch's skipped lines into ``acct`` (a :class:`toolkit.sources.Accounting`):
        the runs no record claims, then the refused records with their reasons (``example``: one
        text per row shown for a refused record, default empty); ``count``: add the records to
        ``acct.records`` too (a reader that counts its table's rows at the end does not)."""
        for line, reason, text, count in self.skips:
            acct.skip(line, reason, text, count=count)
        for i, reason in self.reasons.items():
            acct.skip(int(self.first_line[i]), reason, example[i] if example is not None else "",
                      count=int(self.nlines[i]))
        if count:
            acct.records += self.records

    def check(self) -> None:
        """Raise AssertionError unless every line is accounted for once (tests call it)."""
        skipped = sum(s[3] for s in self.skips)
        covered = int(self.nlines.sum()) + self.other_lines + skipped
        assert covered == self.lines, (covered, self.lines)
        assert all(len(v) == len(self) for v in self.columns.values()), "columns of unequal length"


def ahead(chunks: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The same chunks, each handed out only once the next one is read: so the source's
    ``lines_read`` is final when the last chunk's batch is consumed (streaming readers report it)."""
    prev = None
    for item in chunks:
        if prev is not None:
            yield prev
        prev = item
    if prev is not None:
        yield prev
