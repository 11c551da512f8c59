"""`perf-toolkit notebook NAME --param key=value ... -o out.html`: run a curated notebook on
your own files (papermill) and export it as one offline HTML file (nbconvert), redacted like
the analyze report unless ``--no-redact``."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notebook", help="run a curated notebook on your own files and export offline HTML", add_help=False,
        description="Execute notebooks/NAME.ipynb with papermill, its parameters set from "
                    "--param (values naming existing files are made absolute), then export the "
                    "executed notebook with its figures to one offline HTML file. "
                    "'perf-toolkit notebook NAME --help' lists NAME's parameters.")
    p.add_argument("-h", "--help", action="store_true",
                   help="show this help; with NAME, the notebook's parameters too")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="a curated notebook (e.g. 02_slow_queries, .ipynb optional) or a path")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="set a parameter of the notebook's parameters cell (repeatable); values "
                        "are Python literals (3, 0.5, True, [1, 2]) or text")
    p.add_argument("-o", "--output", metavar="OUT.html",
                   help="where to write the HTML (default: NAME.html here)")
    p.add_argument("--keep-ipynb", metavar="PATH", help="also keep the executed notebook there")
    p.add_argument("--no-redact", action="store_true",
                   help="keep literal values (SQL literals, parameters, client addresses, tokens) in "
                        "the export; by default it is redacted like the analyze report")
    p.add_argument("--timeout", type=int, default=600, metavar="SECONDS",
                   help="limit per cell (default 600)")
    p.add_argument("--list", action="store_true",
                   help="list the curated notebooks and their parameters")
    p.set_defaults(func=run, parser=p)


def parse_params(items: list[str]) -> dict[str, object]:
    from ..report.notebooks import parse_value

    params: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise InputError(f"--param expects KEY=VALUE with KEY a Python name, got {item!r}")
        params[key] = parse_value(value)
    return params


def parameters_help(name: str) -> str:
    """A curated notebook's parameters, one per line: name, default, and what it is (the comment
    beside it in the notebook's parameters cell)."""
    from ..report import notebooks

    path = notebooks.find_notebook(name)
    params = notebooks.parameter_help(path)
    if not params:
        return f"{path.stem} has no parameters (no cell tagged 'parameters')"
    width = max(len(k) for k in params)
    lines = [f"parameters of {path.stem} (set with --param NAME=VALUE; paths are files or folders):"]
    for key, info in params.items():
        lines.append(f"  {key:<{width}}  default {info['default']}")
        if info["help"]:
            lines.append(f"  {'':<{width}}  {info['help']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..report import notebooks

    if args.help:
        print(args.parser.format_help())
        if args.name:
            print(parameters_help(args.name))
        return 0
    if args.list or not args.name:
        names = notebooks.available()
        if not names:
            print(f"no curated notebooks in {notebooks.notebooks_dir()}")
        for name in names:
            params = notebooks.notebook_parameters(notebooks.find_notebook(name))
            shown = ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"
            print(f"{name}: {shown}")
        return 0 if args.list else 2
    params = parse_params(args.param)
    path = notebooks.run_notebook(args.name, args.output, params, executed=args.keep_ipynb,
                                  timeout=args.timeout, redact=not args.no_redact)
    print(f"wrote {path}", file=sys.stderr)
    return 0
