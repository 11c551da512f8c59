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
import re
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from . import schema
from .markup import escape_markdown

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


def checklist(table: pd.DataFrame) -> pd.DataFrame:
    """The backend checklist against a findings table: one row per practice.

    Columns: area, practice, rules (ids of the rules that check it), findings (count),
    worst (highest severity found, or ""), status ("findings" / "clean" when its rules ran and
    found nothing / "no rule" when nothing here can check it from logs and profiles).
    Rows follow :data:`AREAS` then :data:`PRACTICES` order.
    """
    rules = rules_table()
    counts = table["practice"].value_counts() if len(table) else pd.Series(dtype=int)
    rows = []
    for practice, area in sorted(PRACTICES.items(), key=lambda kv: AREAS.index(kv[1])):
        ids = rules.loc[rules["practice"] == practice, "rule"].tolist()
        found = table[table["practice"] == practice] if len(table) else table
        worst = next((sev for sev in SEVERITIES if (found["severity"] == sev).any()), "") if len(found) else ""
        n = int(counts.get(practice, 0))
        status = "findings" if n else ("clean" if ids else "no rule")
        rows.append({"area": area, "practice": practice, "rules": ", ".join(ids), "findings": n,
                     "worst": worst, "status": status})
    return pd.DataFrame(rows, columns=["area", "practice", "rules", "findings", "worst", "status"])


DETECTOR_MODULES = ("toolkit.profiles.detectors", "toolkit.queries.detectors",
                    "toolkit.http.detectors", "toolkit.complexity")


def _load_detectors() -> None:
    import importlib
    for module in DETECTOR_MODULES:
        importlib.import_module(module)


def _detectors(module: str):
    import importlib

    return importlib.import_module(module).findings


def _run(module: str, *args: Any, file: str | None = None, **options: Any) -> pd.DataFrame:
    """Run a domain's detectors; rows that do not say where they came from get ``file``."""
    out = _detectors(module)(*args, **options)
    if file is not None and len(out):
        out = out.copy()
        out["file"] = out["file"].astype("object").where(out["file"].notna(), file)
    return out


def _kind_of(obj: Any) -> str | None:
    """Which evidence ``obj`` is: a findings table, query events, server events, HTTP requests,
    a Profile, an Analysis, a complexity result; None when it is none of them."""
    if isinstance(obj, pd.DataFrame):
        cols = set(obj.columns)
        if {"rule", "severity", "evidence"} <= cols:
            return "findings"
        if {"statement", "duration_ms", "kind"} <= cols:
            return "queries"
        if {"event", "message"} <= cols:
            return "server_events"
        if {"status", "request_time_s"} <= cols:
            return "requests"
        if {"function", "complexity", "score"} <= cols or {"n", "repeat", "time_s"} <= cols:
            return "complexity"  # scaling_by_function or measure_scaling tables
        return None
    kind = type(obj).__name__
    if kind == "Analysis":
        return "analysis"
    if hasattr(obj, "functions") and hasattr(obj, "stacks"):
        return "profile"
    if type(obj).__module__.startswith("toolkit.complexity"):
        return "complexity"
    return None


def findings(*evidence: Any, dedupe: bool = True, **options: Any) -> pd.DataFrame:
    """One findings table across all evidence, most severe first.

    Accepts Profiles, query-event and server-event tables, HTTP request tables, complexity
    results, finding tables, and an :class:`~toolkit.report.analysis.Analysis` (all of its
    evidence). Returns the ``findings`` table: rule, area, practice, severity, title, evidence,
    fix, file, line (plus each rule's extra columns). With ``dedupe``, the same finding (rule and
    title) seen in several inputs (one workload logged as stderr, csvlog and jsonlog at once) is
    one row whose ``also_in`` column names the other files. ``options`` go to every detector
    (thresholds by keyword).

        >>> import toolkit as tk
        >>> tk.findings(tk.read_queries("postgresql.log"))[["severity", "rule", "title"]]  # doctest: +SKIP
    """
    frames: list[pd.DataFrame] = []
    queries: list[pd.DataFrame] = []
    server: list[pd.DataFrame] = []
    for obj in evidence:
        kind = _kind_of(obj)
        if kind == "analysis":
            for path, prof in obj.profiles.items():
                frames.append(_run("toolkit.profiles.detectors", prof, file=path, **options))
            for path, events in obj.queries.items():
                frames.append(_run("toolkit.queries.detectors", events,
                                   server_events=obj.server_events.get(path), file=path, **options))
            for path, events in obj.server_events.items():
                if path not in obj.queries:
                    server.append(events)
            for path, requests in obj.requests.items():
                frames.append(_run("toolkit.http.detectors", requests, file=path, **options))
        elif kind == "findings":
            frames.append(obj)
        elif kind == "queries":
            queries.append(obj)
        elif kind == "server_events":
            server.append(obj)
        elif kind == "requests":
            frames.append(_detectors("toolkit.http.detectors")(obj, **options))
        elif kind == "profile":
            frames.append(_detectors("toolkit.profiles.detectors")(obj, **options))
        elif kind == "complexity":
            frames.append(_detectors("toolkit.complexity")(obj, **options))
        else:
            raise TypeError(f"tk.findings cannot use a {type(obj).__name__}; give Profiles, "
                            "query/server/HTTP tables, complexity results or an Analysis")
    detect_queries = _detectors("toolkit.queries.detectors") if queries or server else None
    for i, events in enumerate(queries):
        frames.append(detect_queries(events, server_events=server[i] if len(server) == len(queries)
                                     else None, **options))
    if server and len(server) != len(queries):
        empty = schema.empty("query_events")
        for events in server:
            frames.append(detect_queries(empty, server_events=events, **options))
    rows = [r for f in frames if f is not None and len(f) for r in f.to_dict("records")]
    table = to_frame(rows)
    if dedupe and len(table):
        table = _dedupe(table)
    return table


def _dedupe(table: pd.DataFrame) -> pd.DataFrame:
    files = table.groupby(["rule", "title"], sort=False)["file"].agg(
        lambda s: sorted({str(f) for f in s.dropna()}))
    first = table.drop_duplicates(["rule", "title"]).reset_index(drop=True)
    first["also_in"] = [", ".join(f for f in files[(r, t)] if f != str(own))
                        for r, t, own in zip(first["rule"], first["title"], first["file"], strict=True)]
    return first


class _CallableModule(types.ModuleType):
    """``tk.findings(...)`` is the function, while ``toolkit.findings`` stays this module."""

    def __call__(self, *evidence: Any, **options: Any) -> pd.DataFrame:
        return findings(*evidence, **options)


sys.modules[__name__].__class__ = _CallableModule


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def _markdown_text(text: Any) -> str:
    """Finding text as Markdown: the parts a detector quotes in backticks stay code spans (a
    renderer escapes their contents), everything else is escaped (no markup, links, HTML)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return "".join(part if _CODE_SPAN.fullmatch(part) else escape_markdown(part)
                   for part in _CODE_SPAN.split(str(text)))


@dataclasses.dataclass(frozen=True)
class FindingsMarkdown:
    """Findings shown as Markdown in a notebook: per finding its title, severity, checklist
    area and practice, where it was seen, the evidence and the fix. Every value is data from
    the inputs, so it is escaped (:func:`toolkit.markup.escape_markdown`): markup in a logged
    statement or a server message shows as text, it never becomes HTML, a link or an image.
    Displays as ``text/markdown`` and ``text/plain``."""

    table: pd.DataFrame

    def _repr_markdown_(self) -> str:
        out = []
        for f in self.table.to_dict("records"):
            where = ""
            if isinstance(f.get("file"), str) and f["file"]:
                line = f.get("line")
                where = (f", line {int(line)} of " if line is not None and line == line else ", in ") \
                    + escape_markdown(f["file"])
            out.append(f"**{_markdown_text(f.get('title'))}** ({escape_markdown(f.get('severity'))}; "
                       f"checklist: *{escape_markdown(f.get('area'))} / {escape_markdown(f.get('practice'))}*"
                       f"{where})\n\n{_markdown_text(f.get('evidence'))}\n\n**Fix:** {_markdown_text(f.get('fix'))}")
        return "\n\n---\n\n".join(out) if out else "*No finding.*"

    def __repr__(self) -> str:
        out = []
        for f in self.table.to_dict("records"):
            where = f" ({f.get('file')}:{f.get('line')})" if isinstance(f.get("file"), str) else ""
            out.append(f"[{f.get('severity')}] {f.get('title')}{where}\n{f.get('evidence')}\nFix: {f.get('fix')}")
        return "\n\n".join(out) if out else "No finding."


def markdown(table: pd.DataFrame, rule: str | None = None, **match: Any) -> FindingsMarkdown:
    """The findings of ``table`` (of ``rule``, and whose columns equal the ``match`` values) as
    escaped Markdown for a notebook (:class:`FindingsMarkdown`).

        >>> import toolkit as tk
        >>> found = tk.findings(events)                                  # doctest: +SKIP
        >>> tk.findings.markdown(found, "queries.n_plus_one")             # doctest: +SKIP
    """
    rows = table if rule is None else table[table["rule"] == rule]
    for key, value in match.items():
        rows = rows[rows[key] == value]
    return FindingsMarkdown(rows.reset_index(drop=True))
