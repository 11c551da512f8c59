"""`perf-toolkit analyze [PATH ...] [-o report.html]`: the main job.

Reads every input (default: the bundled sample_traces/), prints what was read (and why any
input was skipped or failed, in full) and the top findings, and writes one self-contained HTML
report. Exit 0 when at least one input was analysed, 2 when none could be (one named input
that cannot be read: one line on stderr, no report).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys

import pandas as pd

from ..errors import InputError
from ..http.conf import format_option
from ..report.analyze import NOT_EVIDENCE_REASON, STREAM_BYTES, analyze
from ..report.redact import Redactor
from ..rules import duration as _duration
from .progress import ProgressBar

# How many inputs the summary names one by one (of those read, and per skip reason); the
# report's Inputs section lists every one.
LISTED = 30


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="analyse profiles and logs; print findings; write an HTML report",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (default: the bundled sample_traces/)")
    p.add_argument("-o", "--output", default="report.html", help="HTML report path (default: report.html)")
    p.add_argument("--no-report", action="store_true", help="print the summary only")
    p.add_argument("--no-redact", action="store_true",
                   help="keep literal values (SQL literals, parameters, client addresses, tokens) in the "
                        "report and in the findings printed here")
    p.add_argument("--top", type=int, default=15, help="findings to print (default: 15)")
    p.add_argument("--log-format", metavar="FORMAT",
                   help="nginx log_format (or Apache LogFormat) of custom access logs: the format string, "
                        "a pasted directive, or @FILE holding it (a whole nginx.conf or httpd.conf: the "
                        "log_format / LogFormat that matches each log is used); *.log_format files "
                        "beside a log are tried too")
    p.add_argument("--log-format-name", metavar="NAME",
                   help="the log_format (or LogFormat nickname) of the --log-format configuration to use, "
                        "as the library's name=")
    p.add_argument("--log-line-prefix", metavar="PREFIX",
                   help="PostgreSQL log_line_prefix of stderr logs with an uncommon prefix")
    p.add_argument("--rate", type=float, metavar="HZ",
                   help="sampling rate of py-spy raw files (py-spy record --rate; the file does not say it: "
                        "a NAME.rate file beside it does the same, else 100 Hz is assumed and said)")
    p.add_argument("--state", metavar="DIR",
                   help="remember each query / access log's digest in DIR (created if missing) and, on the "
                        "next run, read only what was appended since (rotated or truncated logs are read "
                        "again); those logs get the digest / endpoint tables only, not the detectors that "
                        "need every event")
    p.add_argument("--engine", choices=("pandas", "dask"), default="pandas",
                   help="where logs too large to hold in memory are aggregated: pandas in this process "
                        "(default) or dask: their byte ranges on a Dask cluster (pip install "
                        "'perf-toolkit[dask]'); Dask's progress bar and dashboard link are printed")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: the scheduler to use (tcp://host:8786); default: a local "
                        "cluster with --jobs worker processes")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="with --engine dask and no --scheduler: worker processes (default: the machine's cores)")
    p.add_argument("--stream-mb", type=float, metavar="MB", default=STREAM_BYTES / 2**20,
                   help=f"logs larger than this on disk are aggregated (digest / endpoint table only) "
                        f"rather than read whole (default: {STREAM_BYTES / 2**20:g})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")
    p.set_defaults(func=run)


def _clip(text: object, width: int) -> str:
    text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _relative(paths: pd.Series) -> tuple[str, pd.Series]:
    """Their common folder, and the paths relative to it (the folder is printed once)."""
    if paths.empty:
        return "", paths
    base = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    return base, paths.map(lambda p: os.path.relpath(os.path.abspath(p), base))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def option_hint(reason: str) -> str:
    """The option of this command that answers a reader's reason (readers speak of the library's
    keyword arguments, and the default redaction hides the examples they quote): what to pass
    for a PostgreSQL log with an uncommon prefix, or an access log in a custom format."""
    if "log_line_prefix" in reason:
        return ("pass the server's prefix: --log-line-prefix '%m [%p] %q%u@%d ' (run "
                "'SHOW log_line_prefix;' on the server)")
    if "log_format" in reason or "LogFormat" in reason:
        return ("pass the log's format: --log-format @/etc/nginx/nginx.conf (or httpd.conf; the "
                "log_format that matches is used), or paste your log_format in quotes")
    return ""


def _new(source: dict) -> str:
    """What an incremental read (``--state``) found new, or why the input was read whole."""
    if "new_bytes" in source:
        return f", {source['new_bytes']} new byte(s), {source['new_records']} new record(s)"
    return f", {source['incremental']}" if "incremental" in source else ""


def inputs_summary(analysis, redact: bool = True, listed: int = LISTED) -> list[str]:
    """The terminal's account of the inputs: those read (the first ``listed``), then every
    skipped and failed input grouped by its reason, the reason in full on its own line (the
    input's own path not repeated in it), the inputs below it."""
    shown_text = Redactor().text if redact else (lambda text: text)
    inputs = analysis.inputs_table()
    inputs["reason"] = [r.own_reason for r in analysis.inputs]
    base, inputs["path"] = _relative(inputs["path"])
    read = inputs[inputs["status"] == "read"]
    lines = [f"Read {len(read)} input(s) under {base or '.'} in {analysis.seconds:.1f} s "
             f"({(inputs['status'] == 'skipped').sum()} skipped, {(inputs['status'] == 'failed').sum()} failed):"]
    assumed = {p for p, prof in analysis.profiles.items() if getattr(prof, "rate_assumed", False)}
    for row, result in zip(read.head(listed).itertuples(), [r for r in analysis.inputs if r.status == "read"],
                           strict=False):
        skipped = f", {row.lines_skipped} line(s) skipped" if row.lines_skipped else ""
        rate = (f", rate assumed {analysis.profiles[result.path].rate_hz:g} Hz (--rate or a .rate file sets it)"
                if result.path in assumed else "")
        lines.append(f"  {row.path}  {row.format}: {row.records} record(s){skipped}{rate}{_new(result.source)}")
    if len(read) > listed:
        lines.append(f"  … and {len(read) - listed} more read (the report's Inputs section lists every one)")
    for status in ("failed", "skipped"):
        rows = inputs[inputs["status"] == status]
        for reason, group in rows.groupby("reason", sort=False):
            text = _one_line(shown_text(reason) or "no reason given")
            if status == "skipped" and reason == NOT_EVIDENCE_REASON:
                lines.append(f"  SKIPPED {len(group)} file(s) beside the evidence: {text}")
                continue
            paths = group["path"].tolist()
            hint = option_hint(str(reason))
            if len(paths) == 1:  # the reason under its input (how a single failure reads best)
                lines.append(f"  {status.upper()} {paths[0]}\n      {text}")
                lines += [f"      {hint}"] if hint else []
                continue
            lines.append(f"  {status.upper()} {len(paths)} inputs: {text}")
            lines += [f"      {hint}"] if hint else []
            lines += [f"      {p}" for p in paths[:listed]]
            if len(paths) > listed:
                lines.append(f"      … and {len(paths) - listed} more")
    return lines


def summary(analysis, top: int = 15, width: int | None = None, per_rule: int = 2, redact: bool = True) -> str:
    """The terminal summary: inputs read, skipped and failed (:func:`inputs_summary`); the top
    findings as tk.findings ranks them (by what fixing each saves), at most ``per_rule`` of each
    rule (the rest counted, with the table's own "and N more" rows) so that one rule does not
    fill the screen. Failure reasons and finding titles quote input text: redacted like the
    report unless ``redact=False``."""
    width = width or max(80, min(shutil.get_terminal_size((120, 20)).columns, 160))
    shown_text = Redactor().text if redact else (lambda text: text)
    lines = inputs_summary(analysis, redact=redact)
    table = analysis.findings
    if table is None:
        return "\n".join(lines)
    if table.empty:
        lines.append("\nNo findings: no checklist rule fired on this evidence.")
        return "\n".join(lines)
    more = table["more"].fillna(0).astype(int) if "more" in table.columns else pd.Series(0, index=table.index)
    real = table[more == 0]
    per = real["rule"].value_counts().add(table[more > 0].groupby("rule")["more"].sum(), fill_value=0).astype(int)
    counts = real["severity"].value_counts()
    shown = real[real.groupby("rule").cumcount() < per_rule].head(top)
    folded = int(per.sum()) - len(real)
    lines.append(f"\n{int(per.sum())} finding(s): " + ", ".join(
        f"{counts.get(s, 0)} {s}" for s in ("high", "medium", "low"))
        + (f", {folded} more in the report's \"and N more\" rows" if folded else "")
        + f". Ranked by what fixing each saves; top {len(shown)}, at most {per_rule} per rule:")
    title_w = max(30, width - 64)
    lines.append(f"  {'#':>3}  {'severity':<8}  {'rule':<28}  {'saves/h':>8}  title")
    last = shown.groupby("rule").tail(1).index
    for row in shown.itertuples():
        rest = per[row.rule] - per_rule if row.Index in last and per[row.rule] > per_rule else 0
        title = _clip(shown_text(row.title), title_w - (14 if rest else 0)) + (f" (+{rest} more)" if rest else "")
        rate = getattr(row, "saving_s_per_hour", float("nan"))
        saves = "-" if rate != rate else _clip(_duration(rate), 8)
        rank = getattr(row, "rank", None)
        lines.append(f"  {'' if rank is None or rank != rank else int(rank):>3}  {row.severity:<8}  "
                     f"{_clip(row.rule, 28):<28}  {saves:>8}  {title}")
    return "\n".join(lines)


def check_output(path: str) -> None:
    """Refuse a report path that cannot be written before any work is done."""
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise InputError(f"{path}: is a folder; give the report a file name (-o {os.path.join(path, 'report.html')})")
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: no such folder for the report; create it or choose another -o")
    if not os.access(folder, os.W_OK) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise InputError(f"{path}: permission denied; the report cannot be written there")


def _single_file(paths: list[str]) -> bool:
    return len(paths) == 1 and not os.path.isdir(paths[0])


def run(args: argparse.Namespace) -> int:
    if not args.no_report:
        check_output(args.output)
    progress = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    log_format = format_option(args.log_format, args.log_format_name)
    bar = None if args.quiet else ProgressBar()
    if args.rate is not None and not args.rate > 0:
        raise InputError(f"--rate {args.rate:g}: expected a sampling rate in Hz, a positive number")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: expected a number of worker processes, 1 or more")
    if not args.stream_mb > 0:
        raise InputError(f"--stream-mb {args.stream_mb:g}: expected a size in MB, a positive number")
    with _engine(args, progress):
        analysis = analyze(args.paths or None, progress=progress, log_format=log_format,
                           log_line_prefix=args.log_line_prefix, tracker=bar, pyspy_rate=args.rate,
                           stream_bytes=int(args.stream_mb * 2**20), state=args.state,
                           engine=None if args.engine == "pandas" else args.engine)
    if analysis.analysed == 0:
        if _single_file(args.paths) and len(analysis.inputs) == 1:
            # one named input that cannot be used: its reason is the whole answer
            only = analysis.inputs[0]
            reason = only.own_reason if args.no_redact else Redactor().text(only.own_reason)
            hint = option_hint(only.own_reason)
            raise InputError(f"{only.path}: {_one_line(reason)}" + (f"; {hint}" if hint else ""))
        _report_and_summary(analysis, args)
        print("perf-toolkit: error: no input could be analysed", file=sys.stderr)
        return 2
    _report_and_summary(analysis, args)
    return 0


@contextlib.contextmanager
def _engine(args: argparse.Namespace, say):
    """The Dask cluster for ``--engine dask`` (joined or started for the run, its dashboard link
    said, progress bars on) around the analysis; nothing for pandas."""
    if args.engine != "dask":
        if args.scheduler or args.jobs:
            raise InputError("--scheduler and --jobs choose the Dask cluster: add --engine dask")
        yield
        return
    from ..distributed import cluster

    tell = say or (lambda message: None)
    with cluster.client(args.scheduler, jobs=args.jobs, say=tell), \
            (contextlib.nullcontext() if args.quiet else cluster.progress()):
        yield


def _report_and_summary(analysis, args: argparse.Namespace) -> None:
    """Write the report, then print the summary: a reader that stops reading the terminal early
    (``| head``) does not stop the report being written."""
    text = summary(analysis, top=args.top, redact=not args.no_redact)
    path = None if args.no_report else _write(analysis, args)
    print(text)
    if path is not None:
        print(f"\nReport: {path}")


def _write(analysis, args: argparse.Namespace):
    from ..report.render import render

    try:
        return render(analysis, args.output, redact=not args.no_redact)
    except OSError as exc:  # disk full, removed folder...: one line, exit 2
        raise InputError(f"{args.output}: cannot write the report ({exc.strerror or exc})") from exc
