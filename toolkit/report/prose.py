"""Sentences about the data for the curated notebooks: every fact computed from the data, every
value escaped, so the same notebook reads right on anyone's files.

:func:`say` fills a sentence the notebook's author wrote (Markdown: ``**bold**`` and the like
stay) with values computed from the data; each value is formatted with its format spec and
escaped (:func:`toolkit.markup.escape_markdown`), or shown as a code span (:func:`code`). A
section whose evidence is absent shows :func:`not_applicable` (one line: what does not apply
and why) instead of an empty table, and :func:`table` does that for a table that comes out
empty. Displays as ``text/markdown`` with a ``text/plain`` twin; with ``REDACT``
(:func:`toolkit.report.display.redact_display`) the values are redacted as they are shown.

    >>> say("The costliest query, {q}, ran {calls:,} times ({pct:.0f}% of the time).",
    ...     q=code("select * from t where id = ?"), calls=1234, pct=23.4)
    The costliest query, `select * from t where id = ?`, ran 1,234 times (23% of the time).
    >>> say("Seen in {file}.", file="a_b*.log")._repr_markdown_()
    'Seen in a\\\\_b\\\\*.log.'
    >>> not_applicable("Plans", "the log holds no plan (auto_explain was off)")
    Plans: does not apply here: the log holds no plan (auto_explain was off).
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ..markup import escape_markdown

CODE_CHARS = 160  # a code span longer than this is cut with an ellipsis (a statement, a stack)


@dataclasses.dataclass(frozen=True)
class Code:
    """A value shown as a code span (SQL, a function, an endpoint), cut to ``limit`` characters."""

    value: Any
    limit: int = CODE_CHARS

    def text(self) -> str:
        text = " ".join(str(self.value).split())
        return text if len(text) <= self.limit else text[: self.limit - 1] + "…"

    def markdown(self, text: str | None = None) -> str:
        """A code span around ``text`` (default its own), fenced by more backticks than it holds."""
        text = self.text() if text is None else text
        longest = current = 0
        for ch in text:
            current = current + 1 if ch == "`" else 0
            longest = max(longest, current)
        fence = "`" * (longest + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{fence}{pad}{text}{pad}{fence}"


def code(value: Any, limit: int = CODE_CHARS) -> Code:
    """``value`` shown as a code span in :func:`say`."""
    return Code(value, limit)


_FORMATTER = string.Formatter()
_NUMBER = re.compile(r"[-+]?[\d,]*\.?\d*(?:e[-+]?\d+)?%?|nan|inf")


@dataclasses.dataclass(frozen=True)
class Prose:
    """A sentence (Markdown) and the data values it holds; see :func:`say`."""

    template: str
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def _render(self, markdown: bool, redact: Callable[[Any], Any] | None) -> str:
        out = []
        for literal, field, spec, conversion in _FORMATTER.parse(self.template):
            # the author's Markdown stays in the Markdown; the plain text drops its bold markers
            out.append(literal if markdown else literal.replace("**", ""))
            if field is None:
                continue
            value = self.values[field]
            if conversion:
                value = _FORMATTER.convert_field(value, conversion)
            if isinstance(value, Code):
                text = value.text()
                text = redact(text) if redact is not None else text
                out.append(value.markdown(text) if markdown else f"`{text}`")
                continue
            text = format(value, spec) if spec else ("" if value is None else str(value))
            if redact is not None and isinstance(value, str):
                text = redact(text)
            # a formatted number holds no markup (and mid-sentence "25.1" is no list marker)
            plain = _NUMBER.fullmatch(text) is not None and not isinstance(value, str)
            out.append(escape_markdown(text) if markdown and not plain else text)
        return "".join(out)

    def markdown(self, redact: Callable[[Any], Any] | None = None) -> str:
        """The sentence as Markdown, its values escaped (and passed through ``redact``)."""
        return self._render(True, redact)

    def text(self, redact: Callable[[Any], Any] | None = None) -> str:
        """The sentence as plain text."""
        return self._render(False, redact)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __repr__(self) -> str:
        return self.text()

    def __add__(self, other: Prose) -> Prose:
        """Two sentences as one paragraph (their values must not share a name)."""
        clash = set(self.values) & set(other.values)
        if clash:
            raise ValueError(f"both sentences have a value named {', '.join(sorted(clash))}")
        return Prose(self.template + " " + other.template, {**self.values, **other.values})


def say(template: str, **values: Any) -> Prose:
    """A sentence whose ``{name:spec}`` fields are filled with ``values`` computed from the data
    (formatted with their spec, escaped; :func:`code` values as code spans)."""
    for _, field, _, _ in _FORMATTER.parse(template):
        if field is not None and field not in values:
            raise KeyError(f"say(): no value for {{{field}}}")
    return Prose(template, values)


def not_applicable(section: str, why: str, **values: Any) -> Prose:
    """One line for a section whose evidence is absent: ``section: does not apply here: why.``
    (``why`` may hold ``{name}`` fields filled from ``values``, as in :func:`say`)."""
    if "section" in values:
        raise KeyError("not_applicable(): 'section' is the section's name, not a value of its sentence")
    return say(f"**{{section}}: does not apply here**: {why}.", section=section, **values)


def table(df: pd.DataFrame, rows: int | None = None, *, empty: str, digits: int | None = 3,
          **values: Any) -> pd.DataFrame | Prose:
    """``df`` to show (its first ``rows``; numbers rounded to ``digits``; source files shortened:
    installed packages and the standard library by module, the program's files by their last
    parts, as the report shows them), or, when it has no row, the sentence ``empty`` (fields
    filled from ``values``) instead of an empty table."""
    if df is None or len(df) == 0:
        return say(empty, **values)
    from ..profiles.files import short_file

    out = df.head(rows) if rows is not None else df
    if "file" in out.columns:
        out = out.assign(file=[short_file(f) for f in out["file"]])
    if digits is not None:
        numbers = out.select_dtypes("number").columns
        out = out.assign(**{c: out[c].round(digits) for c in numbers})
    return out
