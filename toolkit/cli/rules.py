"""`perf-toolkit rules`: the checklist rules, their practices and thresholds."""

from __future__ import annotations

import argparse

from ..findings import rules_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list the checklist rules with their thresholds")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table (as in README.md)")
    p.set_defaults(func=run)


def markdown(table) -> str:
    """The rules as the Markdown table README.md carries."""
    lines = ["| rule | area | practice | severity | thresholds | checks |", "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| `{r.rule}` | {r.area} | {r.practice} | {r.severity} | {r.thresholds or '-'} "
                     f"| {r.description} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    table = rules_table()
    if args.markdown:
        print(markdown(table))
        return 0
    for r in table.itertuples():
        print(f"{r.rule:<32} {r.area:<20} {r.severity:<7} {r.description}")
        if r.thresholds:
            print(f"{'':<32} thresholds: {r.thresholds}")
    return 0
