"""What `perf-toolkit analyze` found: every input's fate and the evidence read from it.

``analyze(paths)`` (see :mod:`toolkit.report.analyze`) returns an :class:`Analysis`;
``render(analysis, path)`` (see :mod:`toolkit.report.render`) writes it as one offline HTML file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd


@dataclasses.dataclass
class InputResult:
    """One input file: ``status`` is "read", "skipped" (unknown format, empty) or "failed"
    (a ToolkitError while reading); ``reason`` says why for the last two."""

    path: str
    status: str
    format: str | None = None
    kind: str | None = None
    reason: str = ""
    records: int = 0
    lines_read: int = 0
    lines_skipped: int = 0
    seconds: float = 0.0
    source: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Analysis:
    """Evidence by input path, and the one findings table across all of it."""

    inputs: list[InputResult] = dataclasses.field(default_factory=list)
    profiles: dict[str, Any] = dataclasses.field(default_factory=dict)          # path -> Profile
    queries: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)  # query_events
    server_events: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    requests: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)  # http_requests
    # Inputs too large to hold in memory are streamed: only their aggregate tables are kept.
    digests: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)         # digest
    endpoint_tables: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)  # endpoints
    findings: pd.DataFrame | None = None
    seconds: float = 0.0

    def inputs_table(self) -> pd.DataFrame:
        """One row per input: path, status, format, kind, reason, records, lines_read,
        lines_skipped, seconds."""
        cols = ["path", "status", "format", "kind", "reason", "records", "lines_read",
                "lines_skipped", "seconds"]
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in self.inputs], columns=cols)

    @property
    def analysed(self) -> int:
        return sum(1 for r in self.inputs if r.status == "read")
