"""The checklist vocabulary: rules, findings and what fixing a finding saves.

Every detector module declares its rules with :func:`rule` (id, checklist practice, thresholds,
suggested fix) and reports what it found with :func:`finding`; :func:`toolkit.ranking.to_frame`
turns those rows into the ranked ``findings`` table. This module imports nothing heavy, so
:mod:`toolkit.findings` (and ``import toolkit``) can use it at once.

A finding row has the schema's nine columns (rule, area, practice, severity, title, evidence,
fix, file, line; see :mod:`toolkit.schema`) and: ``key`` (what it is about: a fingerprint, an
endpoint, a function, a client), ``occurrences`` (how often the pattern was seen), ``saving``
(the estimate in words), ``saving_s_per_hour`` (the number findings are ranked by),
``saving_s`` (time saved over the whole evidence), ``round_trips`` (avoided), ``saving_bytes``
(not sent), ``span_s`` (the evidence's time span), plus each rule's own columns.

How a saving becomes one number: time saved (server, request or CPU seconds) plus avoided round
trips at :data:`RTT_S` each plus bytes not sent at :data:`LINK_BYTES_PER_S`, divided by the
evidence's span and scaled to an hour. The round-trip and link costs are assumptions, stated in
each finding's ``saving`` text; the rest is measured.

Example::

    >>> r = rule("example.rule", "caching", "a demo rule", severity="low",
    ...          fix="cache it", thresholds={"calls": 5})
    >>> row = finding(r, "demo", "seen 6 times", key="q", saving_s=1.5, span_s=60, file="x.log", line=3)
    >>> row["area"], row["saving_s_per_hour"], row["saving"]
    ('caching', 90.0, '≈ 90.0 s per hour of evidence (1.5 s of time over 60.0 s)')
    >>> _ = RULES.pop("example.rule")
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

# The checklist practice -> its area. Every rule names one practice from here.
PRACTICES: dict[str, str] = {
    "caching": "caching",
    "connection pooling": "databases",
    "pagination": "API responses",
    "indexes": "databases",
    "SELECT *": "databases",
    "N+1 and ORM queries": "databases",
    "slow-query logging": "databases",
    "compression": "API responses",
    "payload limits": "limits and security",
    "rate limiting": "limits and security",
    "keep-alive": "network",
    "load balancing": "network",
    "asynchronous work": "asynchronism",
    "monitoring": "monitoring",
    "profiling": "code",
    "regular performance testing": "performance testing",
}
AREAS = ("caching", "databases", "API responses", "asynchronism", "limits and security", "code",
         "network", "monitoring", "performance testing")
SEVERITIES = ("high", "medium", "low")

# What a network round trip costs when a saving counts them: 0.5 ms (same data centre). Each
# finding that avoids round trips also says what they cost at 1 ms.
RTT_S = 0.0005
# What a byte costs when a saving counts bytes not sent: 100 Mbit/s to the client.
LINK_BYTES_PER_S = 12.5e6
# Rows per rule before the rest are folded into one "and N more" row.
PER_RULE = 5


@dataclasses.dataclass(frozen=True)
class Rule:
    """One checklist rule: what it checks, its thresholds and the fix it suggests."""

    id: str
    practice: str
    description: str
    severity: str = "medium"
    fix: str = ""
    thresholds: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def area(self) -> str:
        return PRACTICES[self.practice]


RULES: dict[str, Rule] = {}


def rule(id: str, practice: str, description: str, *, severity: str = "medium", fix: str = "",
         thresholds: Mapping[str, Any] | None = None) -> Rule:
    """Declare (register) a rule. ``practice`` must be a key of :data:`PRACTICES`."""
    if practice not in PRACTICES:
        raise ValueError(f"unknown checklist practice {practice!r}; known: {', '.join(PRACTICES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    r = Rule(id, practice, description, severity, fix, dict(thresholds or {}))
    RULES[id] = r
    return r


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def duration(seconds: float) -> str:
    """Seconds as a short text: '0.42 ms', '35 ms', '1.3 s', '4.2 min', '2.5 h'.

        >>> [duration(x) for x in (0.00042, 0.035, 1.26, 252, 9000)]
        ['0.42 ms', '35 ms', '1.3 s', '4.2 min', '2.5 h']
    """
    if seconds < 0.01:
        return f"{seconds * 1000:.2g} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def size(n: float) -> str:
    """Bytes as a short text: '812 B', '4.2 KB', '1.35 MB', '2.10 GB'."""
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} KB"
    return f"{int(n)} B"


def round_trips_text(n: float) -> str:
    """'588 round trips (0.29 s at 0.5 ms each, 0.59 s at 1 ms)'."""
    return (f"{int(n):,} round trip{'s' if n != 1 else ''} ({duration(n * RTT_S)} at 0.5 ms each, "
            f"{duration(n * 2 * RTT_S)} at 1 ms)")


def per_hour(total: float, span_s: float | None) -> float:
    """``total`` over ``span_s`` seconds of evidence, as a rate per hour (a span under one
    second counts as one second)."""
    return total / max(span_s or 0.0, 1.0) * 3600.0


def finding(rule: Rule, title: str, evidence: str, *, key: str | None = None,
            file: str | None = None, line: int | None = None, severity: str | None = None,
            fix: str | None = None, occurrences: int | None = None, saving_s: float | None = None,
            round_trips: float | None = None, saving_bytes: float | None = None,
            span_s: float | None = None, saving: str | None = None, **extra: Any) -> dict[str, Any]:
    """One finding of ``rule`` as a dict row; ``extra`` keys become extra columns.

    ``key`` is what the finding is about (a fingerprint, an endpoint, a function; default the
    title): one row per (rule, key). ``saving_s`` (seconds of time saved over the evidence),
    ``round_trips`` (avoided) and ``saving_bytes`` (not sent) estimate what fixing it saves;
    with ``span_s`` (the evidence's time span) they become ``saving_s_per_hour``, the number the
    table is ranked by. ``saving`` is the estimate in words (default: made from the numbers)."""
    seconds, trips, nbytes, span = _num(saving_s), _num(round_trips), _num(saving_bytes), _num(span_s)
    parts = [x for x in (seconds, None if trips is None else trips * RTT_S,
                         None if nbytes is None else nbytes / LINK_BYTES_PER_S) if x is not None]
    rate = per_hour(sum(parts), span) if parts else None
    if saving is None and parts:
        words = []
        if seconds is not None:
            words.append(f"{duration(seconds)} of time")
        if trips:
            words.append(round_trips_text(trips))
        if nbytes:
            words.append(f"{size(nbytes)} not sent")
        saving = (f"≈ {duration(rate)} per hour of evidence ({'; '.join(words)} over "
                  f"{duration(max(span or 0.0, 1.0))})")
    row = {"rule": rule.id, "area": rule.area, "practice": rule.practice,
           "severity": severity or rule.severity, "title": title, "evidence": evidence,
           "fix": fix or rule.fix, "file": file, "line": line, "key": key if key is not None else title,
           "occurrences": occurrences, "saving": saving or "not estimated", "saving_s_per_hour": rate,
           "saving_s": seconds, "round_trips": trips, "saving_bytes": nbytes, "span_s": span}
    row.update(extra)
    return row
