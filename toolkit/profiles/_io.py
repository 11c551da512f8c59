"""Helpers the profile readers share: loading JSON with clear errors, unit factors."""

from __future__ import annotations

from typing import Any

from ..errors import ParseError
from ..sources import Source, read_json_document

UNIT_SECONDS = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6, "nanoseconds": 1e-9}


def load_json(src: Source, what: str) -> Any:
    """Parse the whole input as JSON (:func:`toolkit.sources.read_json_document`)."""
    return read_json_document(src, what)


def require(cond: bool, src: Source, message: str, expected: str | None = None) -> None:
    if not cond:
        raise ParseError(message, src.name, expected=expected)
