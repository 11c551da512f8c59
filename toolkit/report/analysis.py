"""What `perf-toolkit analyze` found: every input's fate and the evidence read from it.

``analyze(paths)`` (see :mod:`toolkit.report.analyze`) returns an :class:`Analysis`;
``render(analysis, path)`` (see :mod:`toolkit.report.render`) writes it as one offline HTML file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import pandas as pd

# What each kind of input is called in sentences ("3 profiles, 2 query logs").
KIND_NAMES = {"profile": "profiles", "queries": "query logs", "access_log": "access logs"}


def count_of(kind: str, n: int) -> str:
    """``n`` inputs of ``kind`` in words: ``1 access log``, ``3 profiles``."""
    plural = KIND_NAMES.get(kind, kind)
    return f"{n:,} {plural[:-1] if n == 1 and plural.endswith('s') else plural}"


def own_reason(path: str, reason: Any) -> str:
    """A failed or skipped input's reason without its own path repeated in front (it is shown
    beside it): ``/data/x.log:3: expected ...`` -> ``line 3: expected ...``; the path elsewhere
    in the reason becomes its file name.

        >>> own_reason("/d/x.log", "/d/x.log:3: expected a log line prefix")
        'line 3: expected a log line prefix'
        >>> own_reason("/d/x.log", "/d/x.log: the input is empty")
        'the input is empty'
    """
    text = "" if reason is None or (isinstance(reason, float) and reason != reason) else str(reason)
    for prefix in dict.fromkeys((path, os.path.abspath(path))):
        if not prefix:
            continue
        m = re.match(re.escape(prefix) + r":(?:(\d+):)?\s*", text)
        if m:
            return (f"line {m.group(1)}: " if m.group(1) else "") + text[m.end():]
        text = text.replace(prefix, os.path.basename(path))
    return text


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

    @property
    def own_reason(self) -> str:
        """The reason without this input's path in front (see :func:`own_reason`)."""
        return own_reason(self.path, self.reason)


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

    def largest(self, kind: str) -> tuple[str | None, Any]:
        """The input of ``kind`` a story follows when several were read, as (path, evidence):
        ``"profiles"`` the longest profile, ``"queries"`` the query log with the most logged time
        (``duration_ms``), ``"requests"`` the access log with the most requests; inputs with no
        sample, statement or request are passed over. (None, None) when there is none."""
        def size(value: Any) -> float:
            if kind == "profiles":
                return float(getattr(value, "duration_s", 0.0) or 0.0)
            if kind == "queries":
                return float(value["duration_ms"].sum()) if len(value) else 0.0
            return float(len(value))

        if kind not in ("profiles", "queries", "requests"):
            raise ValueError("kind must be 'profiles', 'queries' or 'requests'")
        found = [(path, value) for path, value in getattr(self, kind).items()
                 if (len(value.functions()) if kind == "profiles" else len(value))]
        if not found:
            return None, None
        return max(found, key=lambda kv: size(kv[1]))
