"""The exceptions that may leave the toolkit.

Every reader, analysis and command raises only :class:`ToolkitError` subclasses for problems
with the user's input or environment, so a caller (and the CLI, which turns them into one line
on stderr and exit code 2) can catch one type.
"""

from __future__ import annotations

import os
from collections.abc import Iterable


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose."""


class InputError(ToolkitError):
    """An input cannot be opened: missing, a directory, unreadable, or of an unsupported type."""


class ParseError(ToolkitError):
    """An input was opened but its content is not what the reader expected.

    ``str(err)`` reads ``path:line: message`` so an editor can jump to the place.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 line: int | None = None, expected: str | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.expected = expected
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        text = f"{where}: {message}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


class UnknownFormatError(ToolkitError):
    """No registered format matched an input (or two did); ``tried`` lists the formats that were
    tried, ``seen`` what each sniffer saw (format name -> ``toolkit.formats.Sniffed``) when
    detection got that far."""

    def __init__(self, path: str | os.PathLike | None, tried: Iterable[str], reason: str = ""):
        self.path = None if path is None else os.fspath(path)
        self.tried = list(tried)
        self.reason = reason
        self.seen: dict = {}
        text = f"{self.path or '<input>'}: unknown format"
        if reason:
            text += f" ({reason})"
        text += "; tried: " + (", ".join(self.tried) if self.tried else "nothing")
        super().__init__(text)


class SchemaError(ToolkitError):
    """A DataFrame does not have the columns or dtypes of its canonical table."""


class LogFormatError(ToolkitError):
    """A user-supplied log format (nginx ``log_format``, PostgreSQL ``log_line_prefix``,
    Apache ``LogFormat``) cannot be compiled."""


class ProfilerError(ToolkitError):
    """A profiler could not run or attach; the message says why and how to fix it."""


class MeasurementError(ToolkitError):
    """A scaling measurement could not be made (bad sizes, a failing input builder, ...)."""


class FitError(ToolkitError):
    """A complexity fit was refused: too few sizes, too narrow a range, bad times."""


class MissingDependencyError(ToolkitError):
    """An optional package or external program is needed and is not installed."""

    def __init__(self, what: str, install: str):
        self.what = what
        self.install = install
        super().__init__(f"{what} is not installed; install it with: {install}")
