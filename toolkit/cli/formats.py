"""`perf-toolkit formats`: what can be read."""

from __future__ import annotations

import argparse

from .. import formats


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("formats", help="list the input formats that can be read")
    p.add_argument("--kind", choices=formats.KINDS, help="only formats of this kind")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = formats.formats_table(args.kind)
    width = max([len(n) for n in table["name"]] + [4])
    for row in table.itertuples():
        print(f"{row.name:<{width}}  {row.kind:<10}  {row.suffixes:<28}  {row.description}")
    return 0
