"""The ``perf-toolkit`` command line: argument parsing, then library calls.

``main(argv) -> int``. Exit codes: 0 success, 1 a check failed (where a command has one),
2 bad usage or a :class:`ToolkitError` (printed as one line on stderr, no traceback).
Each subcommand is a module of this package exposing ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import ToolkitError

# Subcommand modules, in the order `perf-toolkit --help` lists them.
COMMANDS = ("analyze", "compare", "notebook", "detect", "formats", "rules")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="perf-toolkit",
        description="Find why a backend is slow: profiles, slow-query logs, access logs -> "
                    "tables, figures, findings and a shareable HTML report.")
    parser.add_argument("--version", action="version", version=f"perf-toolkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"toolkit.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ToolkitError as exc:
        print(f"perf-toolkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("perf-toolkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `perf-toolkit ... | head`: the reader has gone
        # what is still buffered would fail again at exit ("Exception ignored ..."): drop it
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
