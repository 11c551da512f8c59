"""`perf-toolkit detect PATH...`: what each file is, recursing into folders."""

from __future__ import annotations

import argparse
import os

from .. import formats
from ..errors import ToolkitError
from ..sources import iter_files


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="say the format of each file (folders are walked)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = list(iter_files(args.paths))
    if len(files) == 1 and len(args.paths) == 1 and not os.path.isdir(args.paths[0]):
        fmt = formats.detect(files[0])  # a single named file: its error is the answer (exit 2)
        print(f"{files[0]}: {fmt.name} ({fmt.kind})")
        return 0
    for path in files:
        try:
            fmt = formats.detect(path)
        except ToolkitError as exc:
            reason = getattr(exc, "reason", "") or str(exc)
            print(f"{path}: unknown ({reason})")
        else:
            print(f"{path}: {fmt.name} ({fmt.kind})")
    return 0
