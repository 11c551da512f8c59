"""One ranked findings table across all evidence: :func:`findings` (``tk.findings``).

It hands each piece of evidence to its domain's detectors (profiles, queries with their server
events, HTTP requests, complexity results), and builds one table with
:func:`toolkit.rules.to_frame`, the builder every domain's ``detectors.findings`` uses too, so
the same input gives the same findings whichever way it is asked: grouped per (rule, key),
ranked by what fixing each saves, each rule capped at ``per_rule`` rows plus an "and N more" row.
:func:`rules_table` lists every rule; :func:`checklist` walks the checklist against a table.

The rules themselves (Rule, finding, PRACTICES, AREAS) live in :mod:`toolkit.rules`, which the
detectors import; this module imports pandas and the table builder only when called, so
``import toolkit`` (which binds ``tk.findings`` to the function below) stays fast.

Example::

    >>> import toolkit as tk
    >>> found = tk.findings(tk.read_queries("postgresql.log"))     # doctest: +SKIP
    >>> found.top(5)[["rank", "rule", "title", "saving"]]            # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from typing import TYPE_CHECKING, Any

from .markup import escape_markdown
from .rules import AREAS, PER_RULE, PRACTICES, RULES, SEVERITIES

if TYPE_CHECKING:
    import pandas as pd

# The domains' detector modules, each with findings(evidence, ..., per_rule=None) -> table.
DETECTOR_MODULES = ("toolkit.profiles.detectors", "toolkit.queries.detectors",
                    "toolkit.http.detectors", "toolkit.complexity")
PROFILES, QUERIES, HTTP, COMPLEXITY = DETECTOR_MODULES
# Modules that declare rules: the detectors, and the request breakdown (tk.correlate), whose
# findings need the access log and the query log together.
RULE_MODULES = (*DETECTOR_MODULES, "toolkit.correlation")


def _detectors(module: str):
    return importlib.import_module(module).findings


def rules_table() -> pd.DataFrame:
    """Every registered rule: rule, area, practice, severity, description, thresholds, fix."""
    import pandas as pd

    for module in RULE_MODULES:
        importlib.import_module(module)
    rows = [{"rule": r.id, "area": r.area, "practice": r.practice, "severity": r.severity,
             "description": r.description,
             "thresholds": ", ".join(f"{k}={v}" for k, v in r.thresholds.items()), "fix": r.fix}
            for r in RULES.values()]
    return pd.DataFrame(rows, columns=["rule", "area", "practice", "severity", "description",
                                       "thresholds", "fix"])


def checklist(table: pd.DataFrame) -> pd.DataFrame:
    """The backend checklist against a findings table: one row per practice.

    Columns: area, practice, rules (ids of the rules that check it), findings (count; an
    "and N more" row counts its N), worst (highest severity found, or ""), status ("findings" /
    "clean" when its rules ran and found nothing / "no rule" when nothing here can check it from
    logs and profiles). Rows follow :data:`~toolkit.rules.AREAS` then
    :data:`~toolkit.rules.PRACTICES` order.
    """
    import pandas as pd

    rules = rules_table()
    weight = (table["more"].fillna(0).astype(int).clip(lower=1) if "more" in table.columns
              else pd.Series(1, index=table.index))
    counts = weight.groupby(table["practice"]).sum() if len(table) else pd.Series(dtype=int)
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


def _with_file(table: pd.DataFrame, file: str | None) -> pd.DataFrame:
    """Rows that do not say which input they came from get ``file``."""
    if file is None or not len(table):
        return table
    table = table.copy()
    table["file"] = table["file"].astype("object").where(table["file"].notna(), file)
    return table


def _kind_of(obj: Any) -> str | None:
    """Which evidence ``obj`` is: a findings table, query events, server events, HTTP requests,
    a Profile, an Analysis, a complexity result; None when it is none of them."""
    import pandas as pd

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


def _path(df: pd.DataFrame) -> str | None:
    src = df.attrs.get("source") or {}
    return src.get("path") if isinstance(src, dict) else None


def _pairs(queries: list[pd.DataFrame], server: list[pd.DataFrame]) -> list[tuple[Any, Any]]:
    """Query events with the server events of the same log: by the path the readers record,
    else by position when there are as many of each; the rest run on their own."""
    by_path = {_path(s): s for s in server if _path(s)}
    pairs, used = [], set()
    for q in queries:
        s = by_path.get(_path(q)) if _path(q) else None
        if s is not None:
            used.add(id(s))
        pairs.append([q, s])
    left = [s for s in server if id(s) not in used]
    unpaired = [p for p in pairs if p[1] is None]
    if left and len(left) == len(unpaired):
        for p, s in zip(unpaired, left, strict=True):
            p[1] = s
        left = []
    return [tuple(p) for p in pairs] + [(None, s) for s in left]


def findings(*evidence: Any, dedupe: bool = True, per_rule: int | None = PER_RULE,
             **options: Any) -> pd.DataFrame:
    """One findings table across all evidence, ranked by what fixing each finding saves.

    Accepts Profiles, query-event and server-event tables, HTTP request tables, complexity
    results, finding tables, and an :class:`~toolkit.report.analysis.Analysis` (all of its
    evidence). Returns the ``findings`` table (see :mod:`toolkit.rules`): rule, area, practice,
    severity, title, evidence, fix, file, line, then key, occurrences, saving,
    saving_s_per_hour, ..., also_in, more, rank and each rule's own columns; ``.top(n)`` is the
    n findings to fix first. With ``dedupe``, the same finding (rule and key) seen in several
    inputs is one row whose ``also_in`` names the other files. ``per_rule`` caps each rule's rows
    (None: all). ``options`` go to every detector (thresholds by keyword). A Dask frame
    (``engine="dask"``) is computed first.

        >>> import toolkit as tk
        >>> tk.findings(tk.read_queries("postgresql.log")).top(5)  # doctest: +SKIP
    """
    from .engines import engine_of
    from .ranking import to_frame

    # the detectors look at single rows and sessions: a Dask frame is computed here (the
    # digest and endpoint tables reduce on the cluster: pass those for a fleet's logs)
    evidence = tuple(e.compute(obj) if (e := engine_of(obj)) is not None else obj for obj in evidence)
    frames: list[pd.DataFrame] = []
    queries: list[pd.DataFrame] = []
    server: list[pd.DataFrame] = []
    everything = {**options, "per_rule": None}
    for obj in evidence:
        kind = _kind_of(obj)
        if kind == "analysis":
            for path, prof in obj.profiles.items():
                frames.append(_with_file(_detectors(PROFILES)(prof, **everything), path))
            for path, events in obj.queries.items():
                frames.append(_with_file(_detectors(QUERIES)(
                    events, obj.server_events.get(path), **everything), path))
            for path, events in obj.server_events.items():
                if path not in obj.queries:
                    frames.append(_with_file(_detectors(QUERIES)(None, events, **everything), path))
            for path, requests in obj.requests.items():
                frames.append(_with_file(_detectors(HTTP)(requests, **everything), path))
        elif kind == "findings":
            frames.append(obj)
        elif kind == "queries":
            queries.append(obj)
        elif kind == "server_events":
            server.append(obj)
        elif kind == "requests":
            frames.append(_detectors(HTTP)(obj, **everything))
        elif kind == "profile":
            frames.append(_detectors(PROFILES)(obj, **everything))
        elif kind == "complexity":
            frames.append(_detectors(COMPLEXITY)(obj, **everything))
        else:
            raise TypeError(f"tk.findings cannot use a {type(obj).__name__}; give Profiles, "
                            "query/server/HTTP tables, complexity results or an Analysis")
    for events, server_events in _pairs(queries, server):
        frames.append(_detectors(QUERIES)(events, server_events, **everything))
    rows = [r for f in frames if f is not None and len(f) for r in f.to_dict("records")]
    return to_frame(rows, per_rule=per_rule, dedupe=dedupe)


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
        from .profiles.files import short_file

        out = []
        for f in self.table.to_dict("records"):
            where = ""
            if isinstance(f.get("file"), str) and f["file"]:
                line = f.get("line")
                # an absolute path is the machine's that ran it: its last parts read the same anywhere
                where = (f", line {int(line)} of " if line is not None and line == line else ", in ") \
                    + escape_markdown(short_file(f["file"]))
            out.append(f"**{_markdown_text(f.get('title'))}** ({escape_markdown(f.get('severity'))}; "
                       f"checklist: *{escape_markdown(f.get('area'))} / {escape_markdown(f.get('practice'))}*"
                       f"{where})\n\n{_markdown_text(f.get('evidence'))}\n\n**Fix:** {_markdown_text(f.get('fix'))}")
        return "\n\n---\n\n".join(out) if out else "*No finding.*"

    def __repr__(self) -> str:
        from .profiles.files import short_file

        out = []
        for f in self.table.to_dict("records"):
            where = f" ({short_file(f.get('file'))}:{f.get('line')})" if isinstance(f.get("file"), str) else ""
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


# ``tk.findings`` is this module's function: its Markdown view travels with it, so a notebook
# writes ``tk.findings.markdown(found, "queries.n_plus_one")``.
findings.markdown = markdown  # type: ignore[attr-defined]
