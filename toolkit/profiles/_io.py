"""Helpers the profile readers share: loading JSON with clear errors, unit factors."""

from __future__ import annotations

from typing import Any

from .. import schema
from ..errors import ParseError
from ..sources import Source, read_json_document

UNIT_SECONDS = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6, "nanoseconds": 1e-9}
# The largest time or weight a profile reader takes (toolkit.schema's hi=): finite, and sums and
# differences of as many as a file can hold stay finite too.
MAX_FIGURE = 1e290


def line_number(value: Any, what: str = "line", lo: int = -(1 << 31)) -> tuple[int | None, str | None]:
    """A source line number as :func:`toolkit.schema.int_value` reads it, within a C int (what
    CPython and the profilers keep: a larger one is damage, and the profile's tables stay exact
    in every dtype they pass through): ``(line, None)``, ``(None, None)`` or ``(None, reason)``."""
    return schema.int_value(value, what, lo=lo, hi=(1 << 31) - 1)


def load_json(src: Source, what: str) -> Any:
    """Parse the whole input as JSON (:func:`toolkit.sources.read_json_document`)."""
    return read_json_document(src, what)


def require(cond: bool, src: Source, message: str, expected: str | None = None) -> None:
    if not cond:
        raise ParseError(message, src.name, expected=expected)
