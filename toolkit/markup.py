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
- :func:`escape_label`: text plotly draws (labels, hover text, titles), where plotly's own
  formatting tags stay; :func:`map_drawn` applies it (or a redaction) to a whole figure.

    >>> escape_html('<img src=x onerror="go()">')
    '&lt;img src=x onerror=&quot;go()&quot;&gt;'
    >>> print(escape_markdown("[click](http://x) <b> a_b"))
    \\[click\\](http\\://x) &lt;b&gt; a\\_b
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
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


# plotly trace keys whose strings plotly draws (labels, ticks, hover; a plot function may put
# data into a hover template too)
DRAWN_KEYS = frozenset({"x", "y", "z", "text", "hovertext", "labels", "ids", "parents",
                        "customdata", "name", "names", "values", "header", "cells",
                        "dimensions", "label", "source", "target", "node", "link", "title",
                        "hovertemplate", "texttemplate"})


# The formatting tags plotly draws in labels and hover text (a subset of HTML, turned into SVG
# tspans by plotly.js; ``<extra>`` is a hover template's side box); plot functions use them
# (``<b>name</b><br>12 ms``). Any other ``<`` (``<script>``, ``<img ...>``, ``<a href>``,
# ``<module>``) is written as ``&lt;`` so plotly shows it as text.
_PLOTLY_TAG = re.compile(r"<(?!/?(?:b|i|em|sup|sub|br|span|s|u|extra)(?:[\s/>]))", re.IGNORECASE)


def escape_label(text: str) -> str:
    """Label/hover text for plotly: its formatting tags kept, every other ``<`` escaped.

        >>> escape_label("<b>handler<script>x</script></b><br>1 ms")
        '<b>handler&lt;script>x&lt;/script></b><br>1 ms'
    """
    return _PLOTLY_TAG.sub("&lt;", text)


# layout keys whose strings plotly draws (titles, annotations, tick and category labels);
# ``template`` is left alone (plotly's own styling, no data).
LAYOUT_TEXT_KEYS = frozenset({"title", "text", "ticktext", "tickvals", "categoryarray", "name",
                              "label", "annotations"})


def map_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    """``value`` with every string inside it (lists, tuples, dict values) passed through ``fn``."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list | tuple):
        return type(value)(map_strings(v, fn) for v in value)
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:  # plotly's typed array: base64 numbers, no text
            return value
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


def _map_layout(value: Any, fn: Callable[[str], Any], drawn: bool = False) -> Any:
    if isinstance(value, str):
        return fn(value) if drawn else value
    if isinstance(value, list):
        return [_map_layout(v, fn, drawn) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "template" else _map_layout(v, fn, drawn or k in LAYOUT_TEXT_KEYS))
                for k, v in value.items()}
    return value


def as_figure_dict(fig: Any) -> dict[str, Any]:
    """A plotly Figure, its dict or its JSON -> a new plain (JSON-able) dict."""
    if isinstance(fig, str):
        return json.loads(fig)
    if isinstance(fig, dict):
        return json.loads(json.dumps(fig, default=str))
    return json.loads(fig.to_json())


def map_drawn(fig: Any, fn: Callable[[str], Any]) -> dict[str, Any]:
    """A figure as a new dict whose drawn strings (trace keys in :data:`DRAWN_KEYS`, layout
    titles, annotations, tick and category labels) are passed through ``fn``."""
    d = as_figure_dict(fig)
    d["data"] = [{k: (map_strings(v, fn) if k in DRAWN_KEYS else v) for k, v in trace.items()}
                 for trace in d.get("data") or []]
    d["layout"] = _map_layout(d.get("layout") or {}, fn)
    return d
