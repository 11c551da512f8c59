"""The backend performance checklist as rules, and one findings table across all evidence.

Each detector module declares its rules with :func:`rule` (id, checklist practice, thresholds,
suggested fix) and reports what it found with :func:`finding`; :func:`to_frame` turns those into
the ``findings`` table (see :mod:`toolkit.schema`): rule, area, practice, severity, title,
evidence, fix, file, line.

Example::

    >>> from toolkit import findings as F
    >>> r = F.rule("example.rule", "caching", "a demo rule", severity="low",
    ...            fix="cache it", thresholds={"calls": 5})
    >>> df = F.to_frame([F.finding(r, "demo", "seen 6 times", file="x.log", line=3)])
    >>> df.loc[0, ["rule", "area", "line"]].tolist()
    ['example.rule', 'caching', 3]
"""

from __future__ import annotations

import dataclasses
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from . import schema

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


def finding(rule: Rule, title: str, evidence: str, *, file: str | None = None,
            line: int | None = None, severity: str | None = None, fix: str | None = None,
            **extra: Any) -> dict[str, Any]:
    """One finding of ``rule`` as a dict row; ``extra`` keys become extra columns."""
    row = {"rule": rule.id, "area": rule.area, "practice": rule.practice,
           "severity": severity or rule.severity, "title": title, "evidence": evidence,
           "fix": fix or rule.fix, "file": file, "line": line}
    row.update(extra)
    return row


def to_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Finding rows -> the ``findings`` table, most severe first (stable within a severity)."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        return schema.empty("findings")
    df = schema.coerce(df, "findings")
    order = df["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    return df.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def rules_table() -> pd.DataFrame:
    """Every registered rule: id, area, practice, severity, description, thresholds, fix."""
    _load_detectors()
    rows = [{"rule": r.id, "area": r.area, "practice": r.practice, "severity": r.severity,
             "description": r.description,
             "thresholds": ", ".join(f"{k}={v}" for k, v in r.thresholds.items()), "fix": r.fix}
            for r in RULES.values()]
    return pd.DataFrame(rows, columns=["rule", "area", "practice", "severity", "description",
                                       "thresholds", "fix"])


DETECTOR_MODULES = ("toolkit.profiles.detectors", "toolkit.queries.detectors",
                    "toolkit.http.detectors", "toolkit.complexity")


def _load_detectors() -> None:
    import importlib
    for module in DETECTOR_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def findings(*evidence: Any, **options: Any) -> pd.DataFrame:
    """One findings table across all evidence (Profiles, query events, HTTP requests, ...).

    Filled in by the report issue; until then it concatenates finding tables given to it.
    """
    frames = [e for e in evidence if isinstance(e, pd.DataFrame) and "rule" in e.columns]
    return to_frame(r for f in frames for r in f.to_dict("records"))


class _CallableModule(types.ModuleType):
    """``tk.findings(...)`` is the function, while ``toolkit.findings`` stays this module."""

    def __call__(self, *evidence: Any, **options: Any) -> pd.DataFrame:
        return findings(*evidence, **options)


sys.modules[__name__].__class__ = _CallableModule
