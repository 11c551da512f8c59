"""`perf-toolkit analyze [PATH ...] [-o report.html]`: the main job.

Reads every input (default: the bundled sample_traces/), prints what was read and the top
findings, and writes one self-contained HTML report. Exit 0 when at least one input was
analysed, 2 when none could be.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

import pandas as pd

from ..errors import InputError
from ..report.analyze import analyze
from ..report.redact import Redactor
from ..rules import duration as _duration


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
                   help="nginx log_format (or Apache LogFormat) of custom access logs, or @FILE "
                        "holding it; *.log_format files beside a log are tried too")
    p.add_argument("--log-line-prefix", metavar="PREFIX",
                   help="PostgreSQL log_line_prefix of stderr logs with an uncommon prefix")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
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


def summary(analysis, top: int = 15, width: int | None = None, per_rule: int = 2, redact: bool = True) -> str:
    """The terminal summary: inputs read, skipped and failed; the top findings as tk.findings
    ranks them (by what fixing each saves), at most ``per_rule`` of each rule (the rest counted,
    with the table's own "and N more" rows) so that one rule does not fill the screen.
    Failure reasons and finding titles quote input text: redacted like the report unless
    ``redact=False``."""
    width = width or max(80, min(shutil.get_terminal_size((120, 20)).columns, 160))
    shown_text = Redactor().text if redact else (lambda text: text)
    inputs = analysis.inputs_table()
    base, inputs["path"] = _relative(inputs["path"])
    read = inputs[inputs["status"] == "read"]
    lines = [f"Read {len(read)} input(s) under {base or '.'} in {analysis.seconds:.1f} s "
             f"({(inputs['status'] == 'skipped').sum()} skipped, {(inputs['status'] == 'failed').sum()} failed):"]
    for row in read.itertuples():
        skipped = f", {row.lines_skipped} line(s) skipped" if row.lines_skipped else ""
        lines.append(f"  {_clip(row.path, width - 40)}  {row.format}: {row.records} record(s){skipped}")
    for row in inputs[inputs["status"] == "failed"].itertuples():
        # the reason in full, on its own line: it says what to pass or what is wrong
        lines.append(f"  FAILED {row.path}\n      {' '.join(str(shown_text(row.reason)).split())}")
    table = analysis.findings
    if table is None or table.empty:
        lines.append("\nNo findings.")
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


def run(args: argparse.Namespace) -> int:
    if not args.no_report:
        check_output(args.output)
    progress = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    log_format = args.log_format
    if log_format and log_format.startswith("@"):
        try:
            with open(log_format[1:], encoding="utf-8") as fh:
                log_format = fh.read()
        except OSError as exc:
            raise InputError(f"{log_format[1:]}: cannot read the log format ({exc.strerror})") from exc
    analysis = analyze(args.paths or None, progress=progress, log_format=log_format,
                       log_line_prefix=args.log_line_prefix)
    print(summary(analysis, top=args.top, redact=not args.no_redact))
    if analysis.analysed == 0:
        print("perf-toolkit: error: no input could be analysed", file=sys.stderr)
        if not args.no_report:
            _write(analysis, args)
        return 2
    if not args.no_report:
        _write(analysis, args)
    return 0


def _write(analysis, args: argparse.Namespace) -> None:
    from ..report.render import render

    try:
        path = render(analysis, args.output, redact=not args.no_redact)
    except OSError as exc:  # disk full, removed folder...: one line, exit 2
        raise InputError(f"{args.output}: cannot write the report ({exc.strerror or exc})") from exc
    print(f"\nReport: {path}")
