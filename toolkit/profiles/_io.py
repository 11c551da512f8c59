"""Helpers the profile readers share: loading JSON with clear errors, unit factors."""

from __future__ import annotations

import json
from typing import Any

from .. import schema
from ..errors import ParseError
from ..sources import Source

MAX_BYTES = 2 << 30  # 2 GiB: refuse larger inputs with a clear message instead of exhausting memory

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
    """Parse the whole input as JSON; a ParseError names the file, line and what is wrong."""
    data = src.read_bytes()
    if len(data) > MAX_BYTES:
        raise ParseError(f"{len(data)} bytes is more than the {MAX_BYTES} bytes a {what} may have", src.name)
    if not data.strip():
        raise ParseError(f"the file is empty, not a {what}", src.name, expected=what)
    src.accounting.lines_read = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", src.name,
                         expected=f"a {what} (JSON)") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(data.rstrip()) - 1:
            msg = f"JSON ends early (truncated file?): {exc.msg} at column {exc.colno}"
        else:
            msg = f"invalid JSON: {exc.msg} at column {exc.colno}"
        raise ParseError(msg, src.name, exc.lineno, expected=f"a complete {what}") from None


def require(cond: bool, src: Source, message: str, expected: str | None = None) -> None:
    if not cond:
        raise ParseError(message, src.name, expected=expected)
