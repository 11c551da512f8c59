"""Render an :class:`~toolkit.report.analysis.Analysis` as one offline HTML report, built for the
person deciding what to fix first.

The first screen says what was read (and what failed or was skipped, with the reason), then
"fix these first": the findings whose fix saves the most, each with its evidence, the fix and a
link to its section. Below the contents (one line per section), the sections are collapsed
(``<details>``; a section's figures are drawn when it opens): every finding, then one section
per kind of evidence present (profiles: facts, top functions, flame graph, hot paths; queries:
digest table and figure, server events; HTTP: endpoints table, latency over time), then every
input with its fate and the lines each reader skipped, by reason.

The report stays small whatever the number of inputs: each kind of evidence shows its first
:data:`MAX_SECTIONS` inputs in full (those with findings first) and the others as one row each
of a table; long tables are cut with "and N more" (the full tables stay in the Analysis); the
figure data has a budget (:data:`FIGURE_BUDGET_BYTES`); a figure with nothing to draw is left
out with a sentence. Every cut is said, none is hidden.

Each piece is guarded: a missing plot function or an analysis that fails shows as a note in
its place and the rest of the report is still written. Literal values are redacted by default
(see :mod:`toolkit.report.redact`); ``redact=False`` keeps them.

    >>> from toolkit.report import render
    >>> render(analysis, "report.html")                      # doctest: +SKIP
    PosixPath('report.html')
"""

from __future__ import annotations

import datetime as _dt
import html
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .analysis import Analysis, InputResult, count_of
from .html import Card, Document, slug
from .redact import Redactor, dialect_of

FIX_FIRST = 5               # findings on the first screen
TOP_FINDINGS = 40           # rows of the findings table (the rest: "and N more")
MAX_SECTIONS = 6            # inputs per kind of evidence shown in full; the rest one row each
TOP_FUNCTIONS = 10
TOP_DIGEST = 10
TOP_ENDPOINTS = 15
TOP_HOT_PATHS = 5
MAX_INPUT_ROWS = 100        # rows of the inputs table
MAX_FAILED_SHOWN = 10       # failed inputs named on the first screen
MAX_SKIP_ROWS = 30          # rows of the skipped-lines table
SKIP_EXAMPLE_INPUTS = 3     # inputs whose first skipped lines are shown
SKIP_EXAMPLES = 5
FLAME_MAX_NODES = 250       # boxes per flame graph in the report (the rest folded into "other")
FIGURE_BUDGET_BYTES = 700_000   # figure JSON per report, beyond which figures are left out
# digest columns shown (the digest has more; the example is redacted, the fingerprint is the key)
DIGEST_COLUMNS = ("fingerprint", "calls", "total_ms", "pct_total", "mean_ms", "p50_ms", "p95_ms",
                  "p99_ms", "max_ms", "rows_examined_per_sent", "example", "example_line")
# the findings table's columns and widths: fixed to the page width, long text wraps
FINDINGS_WIDTHS = {"#": "2.6em", "severity": "5.8em", "rule": "12%", "finding": "33%", "fix": "21%",
                   "saves": "12%", "where": "auto"}


class _Unavailable(Exception):
    """A piece the report wanted does not exist (yet) in this installation."""


def _base_of(paths: list[str]) -> str | None:
    """The folder that input paths are shown relative to: the parent of their common folder
    (so ``sample_traces/queries/x.log`` keeps its ``sample_traces/``)."""
    given = [p for p in paths if isinstance(p, str) and p]
    if not given:
        return None
    if all(not os.path.isabs(p) and not p.startswith("..") for p in given):
        return os.getcwd()  # relative paths under the working folder: shown as given
    absolute = [os.path.abspath(p) for p in given]
    try:
        common = os.path.commonpath(absolute)
    except ValueError:  # different drives
        return None
    if len(absolute) == 1 or not os.path.isdir(common):
        common = os.path.dirname(common)
    return os.path.dirname(common) or common


def _short(path: str, base: str | None) -> str:
    """``path`` relative to ``base`` when it lies under it (shorter in tables and headings)."""
    if not base or not isinstance(path, str) or not path:
        return path
    try:
        rel = os.path.relpath(os.path.abspath(path), base)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _call_with(fn: Callable, *args: Any, **options: Any) -> Any:
    """Call ``fn`` with only the keyword options its signature accepts."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(*args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(*args, **options)
    return fn(*args, **{k: v for k, v in options.items() if k in params})


def _plot(names: tuple[str, ...], *args: Any, **options: Any) -> Any:
    """The first of ``tk.plots.<names>`` that exists, called on ``args``."""
    from .. import plots

    for name in names:
        try:
            fn = getattr(plots, name)
        except AttributeError:
            continue
        return _call_with(fn, *args, **options)
    raise _Unavailable(f"no figure function {' / '.join(names)} in toolkit.plots yet")


def has_data(fig: Any) -> bool:
    """Whether a plotly figure (Figure or dict) has anything to draw: a trace with points,
    boxes or cells."""
    d = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
    for trace in d.get("data") or []:
        for key in ("x", "y", "values", "labels", "z", "ids"):
            value = trace.get(key)
            if value is None:
                continue
            if isinstance(value, dict):  # plotly's typed arrays: {"dtype", "bdata"}
                if value.get("bdata"):
                    return True
                continue
            try:
                if len(value):
                    return True
            except TypeError:
                return True
    return False


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) or value is pd.NA else str(value)


class _Report:
    def __init__(self, analysis: Analysis, redact: bool, title: str):
        self.a = analysis
        self.redact = redact
        self.r = Redactor()
        now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        from .. import __version__

        meta = [f"generated {now} by perf-toolkit {__version__}"
                + (f" in {analysis.seconds:.1f} s" if analysis.seconds else ""),
                "literal values redacted (query parameters, SQL literals, client addresses, "
                "e-mails, credentials and tokens); render with redact=False / --no-redact to keep them"
                if redact else
                "literal values NOT redacted: this report may contain query parameters and client "
                "addresses"]
        paths = [r.path for r in analysis.inputs] + [*analysis.profiles, *analysis.queries,
                                                    *analysis.server_events, *analysis.requests]
        self.base = _base_of(paths)
        if self.base:
            meta.append(f"paths are relative to {self.base}")
        self.doc = Document(title, meta=meta)
        self.figure_bytes = 0
        self.formats = {r.path: r.format for r in analysis.inputs}
        self.findings_table = analysis.findings
        # which inputs of each kind get a section of their own (the others: one row each), and
        # the anchor of each such section (the first screen links to it)
        self.anchors: dict[str, str] = {}
        self.full = {kind: self._chosen(paths) for kind, paths in self._by_kind().items()}

    # -- helpers --------------------------------------------------------------------------
    def short(self, path: str) -> str:
        return _short(path, self.base)

    def guard(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except _Unavailable as exc:
            self.doc.note(f"{what}: not available ({exc}).", "info")
        except Exception as exc:  # one failed piece must not lose the rest of the report
            self.doc.note(f"{what} could not be shown: {type(exc).__name__}: {exc}", "error")
        return None

    def frame(self, df: pd.DataFrame | None, table: str, path: str | None = None) -> pd.DataFrame | None:
        """``df`` redacted by the rules of ``table`` (when redacting); SQL in it is read in the
        dialect of the input at ``path`` (double quotes: identifiers in PostgreSQL, string
        literals in MySQL)."""
        if not self.redact or df is None:
            return df
        fmt = (df.attrs.get("source") or {}).get("format") or self.formats.get(path or "")
        return self.r.frame(df, table, dialect=dialect_of(fmt))

    def maybe_text(self, value: Any) -> Any:
        return self.r.text(value) if self.redact and isinstance(value, str) else value

    def figure(self, fig: Any, *, empty: str = "", caption: str = "") -> None:
        """Add ``fig`` unless it has nothing to draw (then ``empty`` says why, when given) or the
        figure budget is used up (said once per figure left out)."""
        if not has_data(fig):
            if empty:
                self.doc.text(empty)
            return
        if self.redact:  # labels and hover text are input text too (function names, SQL, paths)
            fig = self.r.figure(fig)
        size = len(fig.to_json()) if hasattr(fig, "to_json") else len(json.dumps(fig, default=str))
        if self.figure_bytes + size > FIGURE_BUDGET_BYTES:
            self.doc.note(f"Figure left out to keep the report small ({size / 1e6:.2f} MB of figure data; "
                          f"the report's {FIGURE_BUDGET_BYTES / 1e6:.1f} MB budget is used up). The "
                          "curated notebooks draw it: perf-toolkit notebook.", "info")
            return
        self.figure_bytes += size
        self.doc.figure(fig, caption=caption)

    def _findings_of(self, path: str) -> pd.DataFrame:
        f = self.findings_table
        if f is None or f.empty:
            return pd.DataFrame()
        also = f["also_in"].fillna("").astype(str) if "also_in" in f.columns else pd.Series("", index=f.index)
        mine = (f["file"] == path) | also.map(lambda v: path in v.split(", "))
        return f[mine]

    def _by_kind(self) -> dict[str, list[str]]:
        a = self.a
        streamed_q = getattr(a, "digests", {})
        streamed_h = getattr(a, "endpoint_tables", {})
        return {"profile": list(a.profiles),
                "queries": list(dict.fromkeys([*a.queries, *a.server_events, *streamed_q])),
                "access_log": list(dict.fromkeys([*streamed_h, *a.requests]))}

    def _chosen(self, paths: list[str]) -> list[str]:
        """The inputs shown in full: those with findings first (by their best rank), then in the
        order read; at most MAX_SECTIONS. Each gets an anchor."""
        def best_rank(path: str) -> float:
            """The best rank among its findings; a finding seen in it as well as elsewhere
            (``also_in``) ranks it just after the input the finding names."""
            mine = self._findings_of(path)
            if mine.empty or "rank" not in mine.columns:
                return float("inf")
            ranks = pd.to_numeric(mine["rank"], errors="coerce") + (mine["file"] != path) * 0.5
            ranks = ranks.dropna()
            return float(ranks.min()) if len(ranks) else float("inf")

        order = sorted(range(len(paths)), key=lambda i: (best_rank(paths[i]), i))
        chosen = [paths[i] for i in order[:MAX_SECTIONS]]
        for path in chosen:
            self.anchors[path] = self.doc.reserve("input-" + slug(self.short(path)))
        return chosen

    # -- the first screen -------------------------------------------------------------------
    def what_was_read(self) -> None:
        a = self.a
        self.doc.heading("What was read")
        inputs = a.inputs
        read = [r for r in inputs if r.status == "read"]
        skipped = [r for r in inputs if r.status == "skipped"]
        failed = [r for r in inputs if r.status == "failed"]
        kinds = pd.Series([r.kind for r in read], dtype=object).value_counts()
        what = ", ".join(count_of(k, int(n)) for k, n in kinds.items())
        took = f" in {a.seconds:.1f} s" if a.seconds else ""
        self.doc.text(f"{len(read):,} of {len(inputs):,} inputs read{took}"
                      + (f": {what}" if what else "") + f"; {len(skipped):,} skipped, {len(failed):,} failed.",
                      link="inputs", link_text="every input")
        same = [r for r in read if r.reason]
        if same:
            self.doc.text(f"{len(same):,} of them noted (for example {self.short(same[0].path)}: "
                          f"{self.maybe_text(same[0].reason)}).")
        if failed:
            self.doc.note(f"{len(failed):,} input(s) could not be read:", "error")
            self.doc.bullets(f"{self.short(r.path)}: {self.maybe_text(self._reason(r))}"
                             for r in failed[:MAX_FAILED_SHOWN])
            if len(failed) > MAX_FAILED_SHOWN:
                self.doc.text(f"and {len(failed) - MAX_FAILED_SHOWN:,} more failed inputs.",
                              link="inputs", link_text="see Inputs")
        if skipped:
            groups: dict[str, list[str]] = {}
            for r in skipped:
                groups.setdefault(self.maybe_text(self._reason(r)) or "no reason given", []).append(
                    os.path.basename(r.path))
            lines = []
            for reason, names in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:8]:
                examples = ", ".join(names[:3]) + (f", … ({len(names) - 3:,} more)" if len(names) > 3 else "")
                lines.append(f"{len(names):,} skipped: {reason} ({examples})")
            if len(groups) > 8:
                lines.append(f"and {len(groups) - 8:,} other reasons (see Inputs)")
            self.doc.bullets(lines)

    def _reason(self, r: InputResult) -> str:
        """A reason without the input's own path (shown beside it): see :func:`own_reason`."""
        return r.own_reason

    def fix_first(self) -> None:
        self.doc.heading("Fix these first")
        f = self.findings_table
        if f is None:
            self.doc.text("The checklist rules were not run for this report.")
            return
        if f.empty:
            self.doc.text("No checklist rule fired on this evidence: nothing to fix first. "
                          "(A rule that cannot see a problem in these inputs is not proof of health; "
                          "see each section for what was measured.)")
            return
        top = f.top(FIX_FIRST) if hasattr(f, "top") else f.head(FIX_FIRST)
        shown = self.frame(top, "findings")
        total = self._finding_count()
        self.doc.text(f"The {len(top)} of {total:,} findings whose fix saves the most (estimated from the "
                      "evidence; severity breaks ties), each with its evidence and the fix:",
                      link="findings", link_text="all findings")
        cards = []
        for raw, row in zip(top.to_dict("records"), shown.to_dict("records"), strict=True):
            file = raw.get("file") if isinstance(raw.get("file"), str) else ""
            where = self._where(file, row.get("line"), row.get("also_in"))
            saving = _text(row.get("saving"))
            cards.append(Card(
                title=_text(row.get("title")), badge=_text(row.get("severity")),
                tag=(f"saves {saving}" if saving and saving != "not estimated" else "saving not estimated")
                + f" · {_text(row.get('rule'))}",
                lines=[("Evidence:", _text(row.get("evidence"))), ("Fix:", _text(row.get("fix"))),
                       ("Where:", where)],
                link=self.anchors.get(file, "findings"),
                link_text="its section" if file in self.anchors else "in the findings table"))
        self.doc.cards(cards)

    def _finding_count(self) -> int:
        f = self.findings_table
        if f is None or f.empty:
            return 0
        more = f["more"].fillna(0).astype(int) if "more" in f.columns else pd.Series(0, index=f.index)
        return int((more == 0).sum() + more.sum())

    def _where(self, file: Any, line: Any, also: Any) -> str:
        where = ""
        if isinstance(file, str) and file:
            where = self.short(file) + (f":{int(line)}" if line is not None and pd.notna(line) else "")
        others = [self.short(p) for p in _text(also).split(", ") if p]
        if len(others) == 1:
            where += f" (also in {others[0]})"
        elif others:
            where += f" (and {len(others)} more inputs)"
        return where

    # -- sections ---------------------------------------------------------------------------
    def findings(self) -> None:
        f = self.findings_table
        count = "not run" if f is None else f"{self._finding_count():,}"
        if f is not None and not f.empty:
            sev = f["severity"].value_counts()
            count += " (" + ", ".join(f"{int(sev.get(s, 0))} {s}" for s in ("high", "medium", "low")) + ")"
        with self.doc.section("Findings", count=count):
            if f is None:
                self.doc.note("The checklist rules were not run for this report.", "info")
                return
            if f.empty:
                self.doc.note("No checklist rule fired on this evidence.", "info")
                return
            f = self.frame(f, "findings")
            shown = pd.DataFrame({
                "#": f["rank"] if "rank" in f.columns else range(1, len(f) + 1),
                "severity": f["severity"],
                "rule": [f"{r}\n{a} · {p}" for r, a, p in zip(f["rule"], f["area"], f["practice"], strict=True)],
                "finding": [f"{_text(t)}\n{_text(e)}" for t, e in zip(f["title"], f["evidence"], strict=True)],
                "fix": f["fix"],
                "saves": f["saving"] if "saving" in f.columns else "",
                "where": [self._where(fl, ln, al) for fl, ln, al in
                          zip(f["file"], f["line"], f.get("also_in", pd.Series("", index=f.index)), strict=True)]})
            self.doc.text("Each row is one checklist rule that fired, ranked by what fixing it would save "
                          "(estimated from the evidence; severity breaks ties): the evidence that made it "
                          "fire, the suggested fix and the input (file:line) it came from. A rule's rows past "
                          "the first few are folded into one 'and N more' row.")
            self.doc.table(shown, max_rows=TOP_FINDINGS, badge_columns=["severity"], pre_columns=["rule", "finding"],
                           max_chars=600, widths=FINDINGS_WIDTHS, more="findings",
                           row_class=lambda row: f"sev-{row['severity']}")

    def _rest_table(self, what: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
        if not rows:
            return
        self.doc.heading(f"{len(rows):,} more {what}", 3)
        self.doc.text(f"Shown in full above: the first {MAX_SECTIONS} (those with findings first). "
                      "The others, one row each:")
        self.doc.table(pd.DataFrame(rows, columns=columns), max_rows=MAX_INPUT_ROWS, more=what)

    def _input_heading(self, path: str) -> None:
        self.doc.heading(self.short(path), 3, anchor=self.anchors.get(path))
        mine = self._findings_of(path)
        if len(mine):
            titles = "; ".join(_text(t) for t in self.frame(mine, "findings")["title"].head(3))
            self.doc.text(f"{len(mine)} finding(s) here: {titles}" + ("; …" if len(mine) > 3 else ""),
                          link="findings", link_text="in the findings table")

    def profiles(self) -> None:
        paths = self.full["profile"]
        if not self.a.profiles:
            return
        with self.doc.section("Profiles", count=f"{len(self.a.profiles):,}"):
            for path in paths:
                prof = self.a.profiles[path]
                self._input_heading(path)
                self.guard("profile facts", lambda p=prof: self.doc.kv(
                    {k: self.maybe_text(v) for k, v in self._profile_facts(p).items()}))
                self.doc.heading("Top functions by self time", 4)
                # function and file names are the profiled program's, but a command line, a
                # generated name or a path can carry a token: redacted like any input text
                self.guard("top functions", lambda p=prof: self.doc.table(
                    self.frame(self._top_functions(p), "functions"), max_rows=TOP_FUNCTIONS, more="functions"))
                self.guard("flame graph", lambda p=prof, path=path: self.figure(_plot(
                    ("flame",), p, max_nodes=FLAME_MAX_NODES, min_fraction=0.002,
                    title=f"Flame graph of {html.escape(os.path.basename(path))}"),
                    empty="No samples in this profile: no flame graph."))
                self.doc.heading("Hot paths", 4)
                self.guard("hot paths", lambda p=prof: self.doc.table(
                    self.frame(self._hot_paths(p), "hot_paths"), code_columns=["path"]))
            rest = []
            for path, prof in self.a.profiles.items():
                if path in paths:
                    continue
                row = {"profile": self.short(path), "format": getattr(prof, "format", None),
                       "duration_s": getattr(prof, "duration_s", None), "hottest function": "", "self_pct": None}
                try:
                    top = prof.functions().head(1)
                    if len(top):
                        row["hottest function"] = self.maybe_text(_text(top["function"].iloc[0]))
                        row["self_pct"] = float(top["self_pct"].iloc[0])
                except Exception:  # noqa: BLE001 (the row still names the input)
                    pass
                row["findings"] = len(self._findings_of(path))
                rest.append(row)
            self._rest_table("profiles", rest, ["profile", "format", "duration_s", "hottest function",
                                                "self_pct", "findings"])

    @staticmethod
    def _profile_facts(prof: Any) -> dict[str, Any]:
        facts: dict[str, Any] = {"format": getattr(prof, "format", None),
                                 "duration (s)": getattr(prof, "duration_s", None)}
        if getattr(prof, "samples", None) is not None:
            rate = getattr(prof, "rate_hz", None)
            facts["samples"] = f"{prof.samples:,}" + (f" at {rate:g} Hz" if rate else "") + (
                " (rate assumed: the file does not say it)" if getattr(prof, "rate_assumed", False) else "")
        threads = getattr(prof, "threads", None)
        if threads:
            facts["threads"] = len(threads)
        for note in getattr(prof, "notes", None) or []:
            facts.setdefault("notes", note)
        return facts

    @staticmethod
    def _top_functions(prof: Any) -> pd.DataFrame:
        from ..profiles.files import short_file

        cols = ["function", "file", "line", "self_s", "self_pct", "total_s", "total_pct"]
        f = prof.functions()
        f = f[[c for c in cols if c in f.columns]]
        # the program's paths as the profiler wrote them are long and machine-specific: the
        # installed packages and the standard library by module, the rest by its last parts
        return f.assign(file=[short_file(x) for x in f["file"]]) if "file" in f.columns else f

    @staticmethod
    def _hot_paths(prof: Any) -> pd.DataFrame:
        from ..profiles.files import short_file

        h = prof.hot_paths(n=TOP_HOT_PATHS)
        cols = [c for c in ("path", "self_s", "pct", "file", "line") if c in h.columns]
        out = h[cols].copy()
        if "path" in out.columns:  # a deep path reads better as "a → b → c"
            out["path"] = [" → ".join(str(p).split(";")) for p in out["path"]]
        if "file" in out.columns:
            out["file"] = [short_file(x) for x in out["file"]]
        return out

    def queries(self) -> None:
        streamed = getattr(self.a, "digests", {})
        every = self._by_kind()["queries"]
        if not every:
            return
        with self.doc.section("Queries", count=f"{len(every):,} logs"):
            for path in self.full["queries"]:
                self._input_heading(path)
                if path in streamed:
                    self.doc.note("Streamed: too large to hold in memory, so only the digest was built "
                                  "(chunk by chunk); the detectors that need every event did not run.", "info")
                    self.guard("query digest", lambda d=streamed[path], p=path: self._digest_table(d, p))
                    continue
                events = self.a.queries.get(path)
                if events is not None:
                    self.guard("query facts", lambda e=events: self.doc.kv(self._query_facts(e)))
                    digest = self.guard("query digest", lambda e=events: self._digest(e))
                    if digest is not None and digest.empty:
                        self.doc.text("No statements with a duration in this log: no digest.")
                    elif digest is not None:
                        self._digest_table(digest, path)
                server = self.a.server_events.get(path)
                if server is not None:
                    self.guard("server events", lambda s=server, p=path: self._server_events(s, p))
            rest = []
            for path in every:
                if path in self.full["queries"]:
                    continue
                events = self.a.queries.get(path)
                row = {"log": self.short(path), "format": self.formats.get(path),
                       "statements": None if events is None else len(events),
                       "logged time (ms)": None if events is None or "duration_ms" not in events
                       else float(events["duration_ms"].sum(skipna=True)),
                       "findings": len(self._findings_of(path))}
                rest.append(row)
            self._rest_table("query logs", rest, ["log", "format", "statements", "logged time (ms)", "findings"])

    def _digest_table(self, digest: pd.DataFrame, path: str) -> None:
        shown = self.frame(digest, "digest", path)
        self.doc.heading("Digest: statements grouped by fingerprint, by total time", 4)
        self.doc.table(shown[[c for c in DIGEST_COLUMNS if c in shown.columns]],
                       max_rows=TOP_DIGEST, code_columns=["fingerprint", "example"], max_chars=240,
                       more="fingerprints")
        self.guard("digest figure", lambda d=shown: self.figure(self._digest_figure(d)))

    @staticmethod
    def _query_facts(events: pd.DataFrame) -> dict[str, Any]:
        facts: dict[str, Any] = {"statements": f"{len(events):,}"}
        if "duration_ms" in events:
            facts["logged time (ms)"] = float(events["duration_ms"].sum(skipna=True))
        if "timestamp" in events and events["timestamp"].notna().any():
            facts["from"] = events["timestamp"].min()
            facts["to"] = events["timestamp"].max()
        for col in ("database", "session"):
            if col in events and events[col].notna().any():
                facts[f"{col}s"] = int(events[col].nunique())
        return facts

    @staticmethod
    def _digest(events: pd.DataFrame) -> pd.DataFrame:
        # from the defining module: once it is imported, ``toolkit.queries.digest`` names it
        try:
            from ..queries.digest import digest
        except ImportError as exc:
            raise _Unavailable("tk.digest is not installed yet") from exc
        return digest(events)

    def _digest_figure(self, digest: pd.DataFrame) -> Any:
        names = ("digest_bar", "digest_by_total", "query_digest", "top_queries")
        return _plot(names, digest.head(TOP_DIGEST), n=TOP_DIGEST)

    def _server_events(self, server: pd.DataFrame, path: str) -> None:
        self.doc.heading("Server events", 4)
        if server.empty:
            self.doc.text("No other server events in this log.")
            return
        counts = (server.groupby("event", dropna=False)
                  .agg(events=("event", "size"),
                       duration_ms=("duration_ms", lambda s: s.sum(min_count=1)),
                       size_bytes=("size_bytes", lambda s: s.sum(min_count=1)),
                       first_line=("source_line", "min"))
                  .reset_index().sort_values("events", ascending=False))
        self.doc.table(counts)
        bad = server[server["event"].isin(["error", "fatal", "deadlock", "lock_wait", "warning"])]
        if not bad.empty:
            bad = self.frame(bad, "server_events", path)
            top = (bad.groupby(["event", "sqlstate", "message"], dropna=False)
                   .agg(count=("event", "size"), first_line=("source_line", "min"))
                   .reset_index().sort_values("count", ascending=False))
            self.doc.heading("Errors, warnings and lock waits", 4)
            self.doc.table(top, max_rows=10, code_columns=["message"], max_chars=300, more="kinds of message")

    def http(self) -> None:
        streamed = getattr(self.a, "endpoint_tables", {})
        every = self._by_kind()["access_log"]
        if not every:
            return
        with self.doc.section("HTTP", count=f"{len(every):,} access logs"):
            for path in self.full["access_log"]:
                self._input_heading(path)
                if path in streamed:
                    self.doc.note("Streamed: too large to hold in memory, so only the endpoint table was "
                                  "built (chunk by chunk); the detectors that need every request did not run.",
                                  "info")
                    self.guard("endpoints", lambda t=streamed[path]: self._endpoints_table(t))
                    continue
                requests = self.a.requests[path]
                self.guard("request facts", lambda r=requests: self.doc.kv(self._http_facts(r)))
                self.guard("endpoints", lambda r=requests: self._endpoints(r))
                self.guard("latency over time", lambda r=requests: self.figure(_plot(
                    ("request_latency", "latency_over_time"), self._latency_input(r)),
                    empty="This log has no request times ($request_time / %D): no latency figure."))
            rest = []
            for path in every:
                if path in self.full["access_log"]:
                    continue
                requests = self.a.requests.get(path)
                rest.append({"log": self.short(path), "format": self.formats.get(path),
                             "requests": None if requests is None else len(requests),
                             "findings": len(self._findings_of(path))})
            self._rest_table("access logs", rest, ["log", "format", "requests", "findings"])

    @staticmethod
    def _latency_input(requests: pd.DataFrame) -> pd.DataFrame:
        """Only times go into the latency figure: no text to redact (and no per-row work on a
        log of millions of requests). Requests without a time are left out."""
        cols = [c for c in ("timestamp", "request_time_s") if c in requests.columns]
        out = requests[cols]
        return out.dropna() if len(cols) == 2 else out.iloc[:0]

    @staticmethod
    def _http_facts(requests: pd.DataFrame) -> dict[str, Any]:
        facts: dict[str, Any] = {"requests": f"{len(requests):,}"}
        if "timestamp" in requests and requests["timestamp"].notna().any():
            facts["from"] = requests["timestamp"].min()
            facts["to"] = requests["timestamp"].max()
        if "status" in requests and requests["status"].notna().any():
            classes = (requests["status"].dropna().astype(int) // 100).value_counts().sort_index()
            facts["status"] = ", ".join(f"{k}xx: {int(v):,}" for k, v in classes.items())
        if "request_time_s" in requests and requests["request_time_s"].notna().any():
            facts["request time p95 (s)"] = float(requests["request_time_s"].quantile(0.95))
        else:
            facts["request time"] = "not logged"
        return facts

    def _endpoints(self, requests: pd.DataFrame) -> None:
        try:
            from ..http.endpoints import endpoints
        except ImportError as exc:
            raise _Unavailable("tk.endpoints is not installed yet") from exc
        self._endpoints_table(endpoints(requests))

    def _endpoints_table(self, table: pd.DataFrame) -> None:
        self.doc.heading("Endpoints", 4)
        self.doc.table(self.frame(table, "endpoints"), max_rows=TOP_ENDPOINTS, more="endpoints")

    def inputs(self) -> None:
        table = self.a.inputs_table()
        status = table["status"].value_counts() if not table.empty else pd.Series(dtype=int)
        count = (f"{len(table):,} ({int(status.get('read', 0)):,} read, {int(status.get('skipped', 0)):,} "
                 f"skipped, {int(status.get('failed', 0)):,} failed)")
        with self.doc.section("Inputs", count=count):
            if table.empty:
                self.doc.note("No inputs.", "warning")
                return
            table = table.assign(path=[self.short(p) for p in table["path"]],
                                 reason=[self.maybe_text(self._reason(r)) for r in self.a.inputs])
            order = table["status"].map({"failed": 0, "skipped": 1, "read": 2}).fillna(3)
            self.doc.text("What each reader did with each input: records produced, lines read and "
                          "lines skipped (every input line is either part of a record or counted as "
                          "skipped). Inputs that were not analysed come first, with the reason.")
            shown = table.assign(_o=order).sort_values(["_o", "path"], kind="stable").drop(columns="_o")
            self.doc.table(shown, max_rows=MAX_INPUT_ROWS, more="inputs",
                           row_class=lambda row: {"failed": "sev-high", "skipped": "sev-low"}.get(row["status"], ""))
            skipped = [r for r in self.a.inputs if r.lines_skipped or (r.source or {}).get("skip_reasons")]
            if skipped:
                self.doc.heading("Lines skipped, by reason", 3)
                rows = []
                for r in skipped:
                    for reason, n in sorted(((r.source or {}).get("skip_reasons") or {"(reason not recorded)":
                                                                                  r.lines_skipped}).items(),
                                            key=lambda kv: -kv[1]):
                        rows.append({"input": self.short(r.path), "lines skipped": int(n),
                                     "of lines read": r.lines_read, "reason": self.maybe_text(reason)})
                self.doc.table(pd.DataFrame(rows).sort_values("lines skipped", ascending=False, kind="stable"),
                               max_rows=MAX_SKIP_ROWS, more="(input, reason) pairs")
                for r in skipped[:SKIP_EXAMPLE_INPUTS]:
                    self.guard(f"skipped lines of {r.path}", lambda r=r: self._skips(r))

    def _skips(self, r: InputResult) -> None:
        examples = (r.source or {}).get("skipped") or []
        if not examples:
            return
        self.doc.heading(f"{self.short(r.path)}: {r.lines_skipped:,} of {r.lines_read:,} lines skipped", 4)
        ex = pd.DataFrame(examples[:SKIP_EXAMPLES])
        if "text" in ex and self.redact:
            ex["text"] = [self.r.text(t) for t in ex["text"]]
        self.doc.table(ex, caption="first skipped lines", code_columns=["text"], max_chars=200)


SECTIONS: tuple[str, ...] = ("findings", "profiles", "queries", "http", "inputs")


def build(analysis: Analysis, redact: bool = True, *, title: str = "perf-toolkit report") -> Document:
    """The report as a :class:`~toolkit.report.html.Document` (not yet written)."""
    rep = _Report(analysis, redact, title)
    rep.guard("what was read", rep.what_was_read)
    rep.guard("fix these first", rep.fix_first)
    rep.doc.contents()
    for name in SECTIONS:
        rep.guard(name, getattr(rep, name))
    return rep.doc


def render(analysis: Analysis, path: str | os.PathLike, redact: bool = True, *,
           title: str = "perf-toolkit report") -> Path:
    """Write ``analysis`` as one self-contained offline HTML file at ``path``; returns the path.

    ``redact`` (default True) replaces literal values (SQL literals and bind parameters, URL
    query values and path tokens, client addresses, e-mails, credentials; see
    :mod:`toolkit.report.redact`) before anything is drawn, figures and skipped lines included.
    """
    return build(analysis, redact, title=title).write(path)
