"""Text from an input made inert in HTML and in Markdown.

Every string the toolkit shows comes, sooner or later, from a file someone else wrote: SQL and
server messages, URLs, user agents, function and file names. Before such text becomes part of
HTML or Markdown it goes through one of these:

- :func:`escape_html`: ``&``, ``<``, ``>`` and both quotes as entities (None/NA -> '');
- :func:`escape_markdown`: ``&``, ``<``, ``>`` as entities, and a backslash before what
  Markdown would read as markup: emphasis, code, links and images (``*`` ``_`` `````` ``[``
  ``]``), strikethrough, tables, math (``~`` ``|`` ``$``), headings (``#``), a list or block
  marker at the start of a line (``-``, ``+``, ``=``, ``1.``), and the ``:`` of ``://``, the
  ``.`` of ``www.`` and the ``@`` of an address (autolinks). Markdown renderers pass raw HTML
  through (nbconvert does), so unescaped data in Markdown could run a script or navigate away;
  escaped, ``<img src=x onerror=...>`` and ``[click](http://x)`` show as text.

    >>> escape_html('<img src=x onerror="go()">')
    '&lt;img src=x onerror=&quot;go()&quot;&gt;'
    >>> print(escape_markdown("[click](http://x) <b> a_b"))
    \\[click\\](http\\://x) &lt;b&gt; a\\_b
"""

from __future__ import annotations

import html
import re
from typing import Any

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Markdown punctuation that is markup wherever it stands (CommonMark lets any ASCII
# punctuation be backslash-escaped); the HTML-significant characters become entities instead
# (a backslash before "<" would still leave a "<" in the HTML the Markdown turns into).
_MARKDOWN = str.maketrans({**{c: "\\" + c for c in "\\`*_[]~|$#"}, **_ENTITIES})
# markup only in some places: a list, quote or heading marker at the start of a line, and the
# pieces of text a renderer turns into links by itself
_LINE_START = re.compile(r"(?m)^([ \t]*+(?:\d{1,9}+)?)([-+=](?<![\d][-+=])|(?<=\d)[.)])")
_AUTOLINK = re.compile(r"(?i):(?=//)|(?<=www)\.|@")


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
    text = _text(value).translate(_MARKDOWN)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _AUTOLINK.sub(lambda m: "\\" + m.group(0), text)
