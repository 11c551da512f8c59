"""Where a frame's source file comes from, and a short name for it: the standard library, an
installed package, native code or the profiled application itself.

Profilers write file names as they saw them: absolute paths of the machine that ran the
program (``/srv/app/orders.py``, ``/usr/lib/python3.11/json/decoder.py``, a virtual
environment's ``site-packages``), or short ones (py-spy's ``json/decoder.py``). Tables, labels
and findings show :func:`short_file` (a package's or the standard library's files by module
path, the program's by their last two parts), so they read the same on every machine; the full
path stays in the data.

    >>> short_file("/venv/lib/python3.11/site-packages/pandas/core/frame.py"), short_file("/srv/app/x/y.py")
    ('pandas/core/frame.py', 'x/y.py')
"""

from __future__ import annotations

import re
import sys
from typing import Any

import numpy as np
import pandas as pd

_STDLIB = frozenset(sys.stdlib_module_names)
_SITE = re.compile(r"[/\\](?:site|dist)-packages[/\\]([^/\\]+)")
_STDLIB_DIR = re.compile(r"[/\\]lib(?:64)?[/\\]python3(?:\.\d+)?[/\\]")
_NATIVE = re.compile(r"\.(?:so(?:\.\d+)*|dylib|dll|pyd)$|^\[.*\]$|^0x[0-9a-f]+$", re.I)


def package_of(file: Any) -> str:
    """The package a frame's source file belongs to.

    ``"stdlib"`` for the standard library (an absolute path under ``lib/python3.X/`` outside
    site-packages, ``<frozen ...>`` modules, or a short py-spy path whose first part is a stdlib
    module like ``json/decoder.py``); the top-level module name for a file under
    ``site-packages`` / ``dist-packages`` (``pandas``); ``"native"`` for shared libraries
    (``libc.so.6``); ``"builtins"`` for C functions without a file (cProfile's ``~``); ``""`` for
    no file at all; otherwise ``"app"``.

        >>> package_of("/usr/lib/python3.11/json/decoder.py"), package_of("threading.py")
        ('stdlib', 'stdlib')
        >>> package_of("/venv/lib/python3.11/site-packages/pandas/core/frame.py")
        'pandas'
        >>> package_of("libc.so.6"), package_of("~"), package_of("demo/app.py")
        ('native', 'builtins', 'app')
    """
    if file is None or file is pd.NA or (isinstance(file, float) and np.isnan(file)):
        return ""
    f = str(file).strip()
    if not f:
        return ""
    if f == "~" or f.startswith("<built-in"):
        return "builtins"
    m = _SITE.search(f)
    if m:
        name = m.group(1)
        if name.startswith("__editable__"):  # setuptools' finder for editable installs
            return "site-packages"
        name = re.sub(r"\.(py|pyc|so|pyd)$", "", name)
        return name.split(".")[0] or "app"
    if f.startswith("<frozen"):
        return "stdlib"
    if _NATIVE.search(f):
        return "native"
    if f.startswith("<"):  # <string>, <ipython-input-...>, <stdin>: code the user typed
        return "app"
    if _STDLIB_DIR.search(f):
        return "stdlib"
    if not f.startswith(("/", "\\")) and not re.match(r"^[A-Za-z]:", f):
        first = re.split(r"[/\\]", f)[0]
        first = re.sub(r"\.py[cw]?$", "", first)
        if first in _STDLIB and first not in {"test", "__main__", "__init__"}:
            return "stdlib"
    return "app"


def short_file(file: Any) -> str:
    """A short form of a source path for labels: the part after ``site-packages/`` or
    ``lib/python3.X/``, else the last two parts of an absolute path (hover texts too: a stored
    notebook or a shared report shows no path of the machine that ran the program).

        >>> short_file("/venv/lib/python3.11/site-packages/pandas/core/frame.py"), short_file("/srv/app/x/y.py")
        ('pandas/core/frame.py', 'x/y.py')
    """
    if file is None or file is pd.NA or (isinstance(file, float) and np.isnan(file)):
        return ""
    f = str(file)
    m = re.search(r"[/\\](?:site|dist)-packages[/\\]", f) or _STDLIB_DIR.search(f)
    if m:
        return f[m.end():]
    if f.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", f):
        return "/".join(re.split(r"[/\\]", f)[-2:])
    return f


def where(file: Any, line: Any) -> str:
    """``file:line`` (the file alone when the line is unknown or 0, as for cProfile's builtins)."""
    f = "" if file is None or file is pd.NA or (isinstance(file, float) and np.isnan(file)) else str(file)
    if line is None or line is pd.NA or (isinstance(line, float) and np.isnan(line)) or int(line) <= 0:
        return f  # cProfile's builtins have line 0: no line to show
    return f"{f}:{int(line)}" if f else f"line {int(line)}"
