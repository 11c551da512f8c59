"""Render an :class:`~toolkit.report.analysis.Analysis` as one offline HTML report.

Order: a summary, the findings (ranked by what fixing each saves), then one section per kind of evidence
present (profiles: top functions, flame graph, hot paths; queries: digest table and figure,
server events; HTTP: endpoints table, latency over time), then every input with its fate
(read / skipped / failed and why) and the lines each reader skipped, by reason.

Each piece is guarded: a missing plot function or an analysis that fails shows as a note in
its place and the rest of the report is still written. Literal values are redacted by default
(see :mod:`toolkit.report.redact`); ``redact=False`` keeps them. Tables are cut to their top
rows and flame graphs pruned so the file stays small; the cuts are said, not hidden.

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

from .analysis import Analysis
from .html import Document
from .redact import Redactor, dialect_of

TOP_FUNCTIONS = 15
TOP_DIGEST = 15
TOP_ENDPOINTS = 20
TOP_HOT_PATHS = 5
MAX_FLAMES = 12             # flame graphs drawn; later profiles get tables only
FLAME_MAX_NODES = 400       # boxes per flame graph in the report (the rest folded into "other")
FIGURE_BUDGET_BYTES = 12_000_000   # figure JSON per report, beyond which figures are left out
SKIP_EXAMPLES = 5
# digest columns shown (the digest has more; the example is redacted, the fingerprint is the key)
DIGEST_COLUMNS = ("fingerprint", "calls", "total_ms", "pct_total", "mean_ms", "p50_ms", "p95_ms",
                  "p99_ms", "max_ms", "rows_examined_per_sent", "example", "example_line")


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

    def figure(self, fig: Any, caption: str = "") -> None:
        if self.redact:  # labels and hover text are input text too (function names, SQL, paths)
            fig = self.r.figure(fig)
        size = len(fig.to_json()) if hasattr(fig, "to_json") else len(json.dumps(fig, default=str))
        if self.figure_bytes + size > FIGURE_BUDGET_BYTES:
            self.doc.note(f"figure left out to keep the report small ({size / 1e6:.1f} MB of "
                          "figure data; the report's budget is used up)", "info")
            return
        self.figure_bytes += size
        self.doc.figure(fig, caption=caption)

    # -- sections ---------------------------------------------------------------------------
    def summary(self) -> None:
        a = self.a
        table = a.inputs_table()
        status = table["status"].value_counts() if not table.empty else pd.Series(dtype=int)
        self.doc.heading("Summary")
        items: dict[str, Any] = {
            "inputs": f"{len(table):,} ({int(status.get('read', 0)):,} read, "
                      f"{int(status.get('skipped', 0)):,} skipped, {int(status.get('failed', 0)):,} failed)",
            "profiles": len(a.profiles), "query logs": len(a.queries),
            "server event logs": len(a.server_events), "access logs": len(a.requests),
        }
        if a.findings is not None:
            sev = a.findings["severity"].value_counts() if len(a.findings) else pd.Series(dtype=int)
            items["findings"] = (f"{len(a.findings):,} (" + ", ".join(
                f"{int(sev.get(s, 0))} {s}" for s in ("high", "medium", "low")) + ")")
        self.doc.kv(items)

    def findings(self) -> None:
        self.doc.heading("Findings")
        f = self.a.findings
        if f is None:
            self.doc.note("The checklist rules were not run for this report.", "info")
            return
        if f.empty:
            self.doc.note("No checklist rule fired on this evidence.", "info")
            return
        f = self.frame(f, "findings")
        where = [
            (self.short(str(fl)) + (f":{int(ln)}" if pd.notna(ln) else "")) if isinstance(fl, str) and fl else ""
            for fl, ln in zip(f["file"], f["line"], strict=True)]
        shown = pd.DataFrame({
            "#": f["rank"] if "rank" in f.columns else range(1, len(f) + 1),
            "severity": f["severity"],
            "rule": [f"{r}\n{a} · {p}" for r, a, p in zip(f["rule"], f["area"], f["practice"], strict=True)],
            "title": f["title"], "evidence": f["evidence"], "fix": f["fix"], "where": where})
        if "saving" in f.columns:
            shown.insert(3, "saves", f["saving"])
        if "also_in" in f.columns:
            # tk.findings joins the other files with ", "
            shown["also in"] = [", ".join(self.short(p) for p in v.split(", ")) if isinstance(v, str) and v
                                else "" for v in f["also_in"]]
        self.doc.text("Each row is one checklist rule that fired, ranked by what fixing it would save "
                      "(estimated from the evidence; severity breaks ties): the evidence that made it "
                      "fire, the suggested fix and the input (file:line) it came from. A rule's rows past "
                      "the first few are folded into one 'and N more' row.")
        self.doc.table(shown, badge_columns=["severity"], wide_columns=["evidence"], code_columns=["where", "also in"],
                       pre_columns=["rule"], max_chars=600,
                       row_class=lambda row: f"sev-{row['severity']}")

    def profiles(self) -> None:
        if not self.a.profiles:
            return
        self.doc.heading("Profiles")
        for i, (path, prof) in enumerate(self.a.profiles.items()):
            self.doc.heading(self.short(path), 3)
            self.guard("profile facts", lambda p=prof: self.doc.kv(
                {k: self._maybe_text(v) for k, v in self._profile_facts(p).items()}))
            self.doc.heading("Top functions by self time", 4)
            # function and file names are the profiled program's, but a command line, a
            # generated name or a path can carry a token: redacted like any input text
            self.guard("top functions", lambda p=prof: self.doc.table(
                self.frame(self._top_functions(p), "functions"), max_rows=TOP_FUNCTIONS))
            if i < MAX_FLAMES:
                self.guard("flame graph", lambda p=prof, path=path: self.figure(_plot(
                    ("flame",), p, max_nodes=FLAME_MAX_NODES, min_fraction=0.002,
                    title=f"Flame graph of {html.escape(os.path.basename(path))}")))
            elif i == MAX_FLAMES:
                self.doc.note(f"Flame graphs are drawn for the first {MAX_FLAMES} profiles only; "
                              "tables follow for the rest.", "info")
            self.doc.heading("Hot paths", 4)
            self.guard("hot paths", lambda p=prof: self.doc.table(
                self.frame(self._hot_paths(p), "hot_paths"), code_columns=["path"]))

    @staticmethod
    def _profile_facts(prof: Any) -> dict[str, Any]:
        facts: dict[str, Any] = {"format": getattr(prof, "format", None),
                                 "duration (s)": getattr(prof, "duration_s", None)}
        if getattr(prof, "samples", None) is not None:
            rate = getattr(prof, "rate_hz", None)
            facts["samples"] = f"{prof.samples:,}" + (f" at {rate:g} Hz" if rate else "") + (
                " (rate assumed)" if getattr(prof, "rate_assumed", False) else "")
        threads = getattr(prof, "threads", None)
        if threads:
            facts["threads"] = len(threads)
        for note in getattr(prof, "notes", None) or []:
            facts.setdefault("notes", note)
        return facts

    @staticmethod
    def _top_functions(prof: Any) -> pd.DataFrame:
        cols = ["function", "file", "line", "self_s", "self_pct", "total_s", "total_pct"]
        f = prof.functions()
        return f[[c for c in cols if c in f.columns]]

    @staticmethod
    def _hot_paths(prof: Any) -> pd.DataFrame:
        h = prof.hot_paths(n=TOP_HOT_PATHS)
        cols = [c for c in ("path", "self_s", "pct", "file", "line") if c in h.columns]
        out = h[cols].copy()
        if "path" in out.columns:  # a deep path reads better as "a → b → c"
            out["path"] = [" → ".join(str(p).split(";")) for p in out["path"]]
        return out

    def queries(self) -> None:
        streamed = getattr(self.a, "digests", {})
        paths = list(dict.fromkeys([*self.a.queries, *self.a.server_events, *streamed]))
        if not paths:
            return
        self.doc.heading("Queries")
        for path in paths:
            self.doc.heading(self.short(path), 3)
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
                    self.doc.text("No statements with a duration in this log.")
                elif digest is not None:
                    self._digest_table(digest, path)
            server = self.a.server_events.get(path)
            if server is not None:
                self.guard("server events", lambda s=server, p=path: self._server_events(s, p))

    def _digest_table(self, digest: pd.DataFrame, path: str) -> None:
        shown = self.frame(digest, "digest", path)
        self.doc.heading("Digest: statements grouped by fingerprint, by total time", 4)
        self.doc.table(shown[[c for c in DIGEST_COLUMNS if c in shown.columns]],
                       max_rows=TOP_DIGEST, code_columns=["fingerprint", "example"], max_chars=240)
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
            self.doc.table(top, max_rows=10, code_columns=["message"], max_chars=300)

    def http(self) -> None:
        streamed = getattr(self.a, "endpoint_tables", {})
        if not self.a.requests and not streamed:
            return
        self.doc.heading("HTTP")
        for path, table in streamed.items():
            self.doc.heading(self.short(path), 3)
            self.doc.note("Streamed: too large to hold in memory, so only the endpoint table was "
                          "built (chunk by chunk); the detectors that need every request did not run.",
                          "info")
            self.guard("endpoints", lambda t=table: self._endpoints_table(t))
        for path, requests in self.a.requests.items():
            self.doc.heading(self.short(path), 3)
            self.guard("request facts", lambda r=requests: self.doc.kv(self._http_facts(r)))
            self.guard("endpoints", lambda r=requests: self._endpoints(r))
            self.guard("latency over time", lambda r=requests: self.figure(_plot(
                ("request_latency", "latency_over_time"), self._latency_input(r))))

    @staticmethod
    def _latency_input(requests: pd.DataFrame) -> pd.DataFrame:
        """Only times go into the latency figure: no text to redact (and no per-row work on a
        log of millions of requests)."""
        return requests[[c for c in ("timestamp", "request_time_s") if c in requests.columns]]

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
        return facts

    def _endpoints(self, requests: pd.DataFrame) -> None:
        try:
            from ..http.endpoints import endpoints
        except ImportError as exc:
            raise _Unavailable("tk.endpoints is not installed yet") from exc
        self._endpoints_table(endpoints(requests))

    def _endpoints_table(self, table: pd.DataFrame) -> None:
        self.doc.heading("Endpoints", 4)
        self.doc.table(self.frame(table, "endpoints"), max_rows=TOP_ENDPOINTS)

    def inputs(self) -> None:
        self.doc.heading("Inputs")
        table = self.a.inputs_table()
        if table.empty:
            self.doc.note("No inputs.", "warning")
            return
        table = table.assign(path=[self.short(p) for p in table["path"]])
        order = table["status"].map({"failed": 0, "skipped": 1, "read": 2}).fillna(3)
        not_read = table[order < 2]
        if not not_read.empty:
            self.doc.heading("Skipped and failed inputs", 3)
            self.doc.text("Every input that was not analysed, and why.")
            self.doc.table(not_read.assign(reason=[self._maybe_text(r) for r in not_read["reason"]])
                           [["path", "status", "format", "kind", "reason"]],
                           row_class=lambda row: "sev-high" if row["status"] == "failed" else "sev-low")
        self.doc.heading("Every input", 3)
        self.doc.text("What each reader did with each input: records produced, lines read and "
                      "lines skipped (every input line is either part of a record or counted as "
                      "skipped).")
        shown = table.assign(_o=order).sort_values(["_o", "path"], kind="stable").drop(columns="_o")
        shown = shown.assign(reason=[self._maybe_text(r) for r in shown["reason"]])
        self.doc.table(shown, max_rows=1000)
        skipped = [r for r in self.a.inputs if r.lines_skipped or (r.source or {}).get("skip_reasons")]
        if skipped:
            self.doc.heading("Lines skipped, by reason", 3)
            for r in skipped:
                self.guard(f"skipped lines of {r.path}", lambda r=r: self._skips(r))

    def _maybe_text(self, value: Any) -> Any:
        return self.r.text(value) if self.redact else value

    def _skips(self, r: Any) -> None:
        src = r.source or {}
        self.doc.heading(f"{self.short(r.path)}: {r.lines_skipped:,} of {r.lines_read:,} lines skipped", 4)
        reasons = src.get("skip_reasons") or {}
        if reasons:
            self.doc.table(pd.DataFrame(sorted(reasons.items(), key=lambda kv: -kv[1]),
                                        columns=["reason", "lines"]))
        examples = src.get("skipped") or []
        if examples:
            ex = pd.DataFrame(examples[:SKIP_EXAMPLES])
            if "text" in ex and self.redact:
                ex["text"] = [self.r.text(t) for t in ex["text"]]
            self.doc.table(ex, caption="first skipped lines", code_columns=["text"], max_chars=200)


def build(analysis: Analysis, redact: bool = True, *, title: str = "perf-toolkit report") -> Document:
    """The report as a :class:`~toolkit.report.html.Document` (not yet written)."""
    rep = _Report(analysis, redact, title)
    for section in (rep.summary, rep.findings, rep.profiles, rep.queries, rep.http, rep.inputs):
        rep.guard(section.__name__, section)
    return rep.doc


def render(analysis: Analysis, path: str | os.PathLike, redact: bool = True, *,
           title: str = "perf-toolkit report") -> Path:
    """Write ``analysis`` as one self-contained offline HTML file at ``path``; returns the path.

    ``redact`` (default True) replaces literal values (SQL literals and bind parameters, URL
    query values and path tokens, client addresses, e-mails, credentials; see
    :mod:`toolkit.report.redact`) before anything is drawn, figures and skipped lines included.
    """
    return build(analysis, redact, title=title).write(path)
