"""`perf-toolkit compare BASE HEAD [--fail-on slower] [--min-effect 5%] [-o change.html]`:
did it get slower? For CI.

BASE and HEAD are files or folders of the same kind: benchmark results (pytest-benchmark,
asv, hyperfine), query logs, access logs, profiles or k6 --out json files. Prints the comparison
table and writes the HTML change report. Exit 1 when a row has a --fail-on verdict (default:
slower), 0 otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError

FAIL_ON = {"slower": {"slower"}, "changed": {"slower", "faster"}, "never": set()}


def _fraction(text: str) -> float:
    """``5%`` or ``0.05`` -> 0.05; a bare number of 1 or more is refused (``10`` is ambiguous)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share like 5% or 0.05, not {text!r}") from None
    if not text.endswith("%") and value >= 1:
        raise argparse.ArgumentTypeError(f"{text} would be {value:.0%}: write {text}% or {value / 100:g}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare two runs or periods with statistics; exit 1 on a slowdown (CI)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("base", metavar="BASE", help="the reference: a file or a folder (e.g. several runs)")
    p.add_argument("head", metavar="HEAD", help="the change to judge: a file or a folder")
    p.add_argument("--fail-on", choices=sorted(FAIL_ON), default="slower",
                   help="verdicts that make the exit code 1 (default: slower; changed: slower or faster)")
    p.add_argument("--min-effect", type=_fraction, default=0.05, metavar="SHARE",
                   help="smallest change reported, e.g. 5%% (default) or 0.1")
    p.add_argument("--alpha", type=_fraction, default=0.05, help="false-discovery rate (default 0.05)")
    p.add_argument("--min-samples", type=int, default=5, help="values per side needed for a test (default 5)")
    p.add_argument("-o", "--output", default="change-report.html", help="HTML report path (default: change-report.html)")
    p.add_argument("--no-report", action="store_true", help="print the table only")
    p.add_argument("--top", type=int, default=40, help="rows to print (default 40)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bench.compare import compare_inputs, format_comparison

    if not 0 < args.alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1, not {args.alpha}")
    if args.min_samples < 2:
        raise InputError(f"--min-samples must be at least 2, not {args.min_samples}")
    comparison = compare_inputs(args.base, args.head, min_effect=args.min_effect, alpha=args.alpha,
                                min_samples=args.min_samples)
    print(format_comparison(comparison, top=args.top))
    if not args.no_report:
        from ..report.compare import write_change_report

        print(f"\nReport: {write_change_report(comparison, args.output)}")
    failing = FAIL_ON[args.fail_on]
    bad = sum(comparison.count(v) for v in failing)
    if bad:
        print(f"perf-toolkit: {bad} significant {' or '.join(sorted(failing))} result(s)", file=sys.stderr)
        return 1
    return 0
