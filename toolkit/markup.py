"""Text from an input made inert in HTML and in Markdown.

Every string the toolkit shows comes, sooner or later, from a file someone else wrote: SQL and
server messages, URLs, user agents, function and file names. Before such text becomes part of
HTML or Markdown it goes through one of these:

- :func:`escape_html`: ``&``, ``<``, ``>`` and both quotes as entities (None/NA -> '');
- :func:`escape_markdown`: the same entities, plus a backslash before every other ASCII
  punctuation character, so ``*``, ``_``, ``[x](url)``, ``![img](url)``, ``#``, backticks, a
  leading ``-`` or ``1.`` and bare ``http://`` autolinks all read as plain text. Markdown
  renderers pass raw HTML through (nbconvert does), so unescaped data in Markdown could run a
  script or navigate away; escaped, ``<img src=x onerror=...>`` shows as text.

    >>> escape_html('<img src=x onerror="go()">')
    '&lt;img src=x onerror=&quot;go()&quot;&gt;'
    >>> escape_markdown("[click](http://x) <b>")
    '\\\\[click\\\\]\\\\(http\\\\:\\\\/\\\\/x\\\\) &lt;b&gt;'
"""

from __future__ import annotations

import html
import string
from typing import Any

# Markdown gives meaning to ASCII punctuation only; CommonMark lets any of it be backslash-escaped.
# The HTML-significant ones become entities instead (a backslash before "<" would still leave a
# "<" for the HTML that the Markdown turns into).
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_MARKDOWN = str.maketrans({c: _ENTITIES.get(c, "\\" + c) for c in string.punctuation})


def _text(value: Any) -> str:
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def escape_html(value: Any) -> str:
    """Text -> HTML-safe text (``&``, ``<``, ``>``, both quotes); None/NA -> ''."""
    return html.escape(_text(value), quote=True)


def escape_markdown(value: Any) -> str:
    """Text -> Markdown that renders as exactly this text (no markup, links, images or HTML);
    line breaks are kept. None/NA -> ''."""
    return _text(value).translate(_MARKDOWN)
