"""The profiled program's source lines beside the profile's lines: :func:`with_code`.

A profile records file names as the profiler saw them: a path on the machine that ran the
program (``/srv/app/demo.py``) or a short one (py-spy's ``demo.py``). The source is looked up
at that path, else by its name (and last folders) under the folders given, so a profile
recorded elsewhere still shows its code next to a checkout of the program.

    >>> import toolkit as tk
    >>> prof = tk.read_profile("sample_traces/profiles/py-spy/demo_slow.speedscope.json")  # doctest: +SKIP
    >>> with_code(prof.lines().head(3), ["sample_traces/profiles"])                     # doctest: +SKIP
"""

from __future__ import annotations

import linecache
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def find_source(file: object, folders: Iterable[str | os.PathLike] = ()) -> str | None:
    """The path of ``file``'s source: itself when it exists, else the longest tail of it (last
    parts first: ``pkg/mod.py`` before ``mod.py``) found under one of ``folders``."""
    if not isinstance(file, str) or not file or file.startswith("<"):
        return None
    if os.path.isfile(file):
        return file
    parts = Path(file).parts
    for folder in folders:
        for k in range(len(parts), 0, -1):
            candidate = Path(folder).joinpath(*parts[-k:])
            if candidate.is_file():
                return str(candidate)
    return None


def with_code(lines: pd.DataFrame, folders: Iterable[str | os.PathLike] = ()) -> pd.DataFrame:
    """``lines`` (``function, file, line, ...`` as :meth:`Profile.lines` gives them) with a
    ``code`` column: the text of that line, stripped; empty when the source is not found."""
    folders = list(folders)
    found = {f: find_source(f, folders) for f in lines["file"].dropna().unique()}
    code = []
    for file, line in zip(lines["file"], lines["line"], strict=True):
        path = found.get(file)
        ok = path is not None and line is not None and not pd.isna(line) and int(line) > 0
        code.append(linecache.getline(path, int(line)).strip() if ok else "")
    return lines.assign(code=code)
