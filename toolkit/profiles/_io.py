"""Helpers the profile readers share: loading JSON with clear errors, unit factors."""

from __future__ import annotations

from typing import Any

from ..errors import ParseError
from ..sources import Source
from ..sources import load_json as _load_json

UNIT_SECONDS = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6, "nanoseconds": 1e-9}


def load_json(src: Source, what: str) -> Any:
    """Parse the whole input as JSON; a ParseError names the file, line and what is wrong (the
    size cap and the nesting limit are :func:`toolkit.sources.load_json`'s)."""
    data = src.read_bytes()
    if not data.strip():
        raise ParseError(f"the file is empty, not a {what}", src.name, expected=what)
    src.accounting.lines_read = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return _load_json(data, src.name, what=what)


def require(cond: bool, src: Source, message: str, expected: str | None = None) -> None:
    if not cond:
        raise ParseError(message, src.name, expected=expected)
