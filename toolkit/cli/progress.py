"""The progress bar of ``perf-toolkit analyze``: one bar over every input's bytes (tqdm), with
the percentage, the rate and the input being read; it moves inside a large file (every block
a reader takes) and from one small file to the next, so reading one 10 GB log and reading
2,000 small ones both show progress. It draws only on a terminal (tqdm leaves a pipe or a CI
log alone) and writes to stderr, so the summary on stdout stays clean.

    >>> import io
    >>> bar = ProgressBar(file=io.StringIO(), disable=False)
    >>> bar.start(inputs=2, total_bytes=100)
    >>> bar.begin("a.log", 60); bar.read(50); bar.read(50); bar.end("a.log")
    >>> bar.position
    60
    >>> bar.begin("b.log", 40); bar.end("b.log"); bar.close()
    >>> bar.position, bar.done
    (100, 2)
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class ProgressBar:
    """A :class:`toolkit.report.analyze.Tracker` drawn with tqdm. A reader may read an input
    more than once (detection, then its tables), so each input advances the bar by at most its
    size on disk; ``disable=None`` draws only on a terminal."""

    def __init__(self, file: TextIO | None = None, disable: bool | None = None):
        self.file = file if file is not None else sys.stderr
        self.disable = disable
        self.bar: Any = None
        self.inputs = 0
        self.done = 0
        self.position = 0      # bytes the bar shows as read
        self._start = 0        # where the current input starts on the bar
        self._size = 0
        self._seen = 0

    def start(self, inputs: int, total_bytes: int) -> None:
        from tqdm import tqdm

        self.inputs = inputs
        self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, file=self.file,
                        disable=self.disable, dynamic_ncols=True, mininterval=0.25, leave=False,
                        desc=self._desc(), bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                                      "[{elapsed}<{remaining}, {rate_fmt}] {postfix}")

    def _desc(self) -> str:
        return f"reading {self.done}/{self.inputs} inputs"

    def _move_to(self, position: int) -> None:
        if position > self.position:
            if self.bar is not None:
                self.bar.update(position - self.position)
            self.position = position

    def begin(self, path: str, size: int) -> None:
        self._start, self._size, self._seen = self.position, max(0, size), 0
        if self.bar is not None:
            self.bar.set_postfix_str(os.path.basename(path), refresh=False)

    def read(self, n: int) -> None:
        self._seen += n
        self._move_to(self._start + min(self._seen, self._size))

    def end(self, path: str) -> None:
        self._move_to(self._start + self._size)
        self.done += 1
        if self.bar is not None:
            self.bar.set_description_str(self._desc(), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
