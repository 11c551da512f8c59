"""The curated notebooks' parameters, in the forms the command line takes: a path is a file or a
folder (or a list of them), ``LOG_FORMAT`` is a format, a pasted directive, a whole nginx.conf /
httpd.conf or ``@FILE`` (:func:`toolkit.http.conf.format_option`), ``LOG_LINE_PREFIX`` is
PostgreSQL's; a function to measure is ``"module:function"`` or ``"path/to/file.py:function"``.

    >>> paths("a.log"), paths(["a.log", None, "b/"]), paths(None)
    (['a.log'], ['a.log', 'b/'], [])
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from ..errors import InputError


def paths(value: Any) -> list[str]:
    """A path parameter as a list of paths (one path, a list of them, or None for none)."""
    if value is None or value == "":
        return []
    if isinstance(value, str | os.PathLike):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value if v is not None and v != ""]


def callable_of(spec: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"package.module:function"`` (importable from the notebook's folder or the installed
    packages) or ``"path/to/file.py:function"`` (``Class.method`` works too) -> the function.
    An InputError says what could not be found."""
    if callable(spec):
        return spec
    where, sep, name = str(spec).rpartition(":")
    if not sep or not where or not name:
        raise InputError(f"{spec!r}: expected 'module:function' or 'path/to/file.py:function'")
    try:
        if where.endswith(".py"):
            if not os.path.isfile(where):
                raise InputError(f"{where}: no such file (for {spec!r})")
            module_name = "_perf_toolkit_" + os.path.splitext(os.path.basename(where))[0]
            loader = importlib.util.spec_from_file_location(module_name, where)
            module = importlib.util.module_from_spec(loader)
            folder = os.path.dirname(os.path.abspath(where))
            if folder not in sys.path:  # its own imports of modules beside it
                sys.path.insert(0, folder)
            sys.modules[module_name] = module
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as exc:
        raise InputError(f"{spec!r}: cannot import {where} ({exc})") from exc
    value: Any = module
    for part in name.split("."):
        if not hasattr(value, part):
            raise InputError(f"{spec!r}: {where} has no {name}")
        value = getattr(value, part)
    if not callable(value):
        raise InputError(f"{spec!r}: {name} is not a function")
    return value
