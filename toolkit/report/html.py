"""A small builder for one self-contained, offline HTML file: a first screen, collapsible
sections with a contents of sections, escaped tables from DataFrames, plotly figures, notes.

Offline and inert by construction:

- plotly.js is embedded once (from the installed ``plotly`` package), only when a figure is
  present, gzip-compressed and base64-encoded in an inert data block (``<script
  type="text/x-gzip-base64">``, never executed: a third of the bundle's 4.8 MB); nothing is
  loaded from a CDN, no external fonts or images;
- a Content-Security-Policy ``<meta>`` (:func:`csp`) forbids every network request, forms,
  ``<base>``, frames and plugins, and lets one inline script run, named by its SHA-256: the page
  script (:data:`PAGE_SCRIPT`). It unpacks plotly.js (the browser's own ``DecompressionStream``)
  and runs it as a script it creates, which ``'strict-dynamic'`` allows (a script a trusted
  script adds is trusted; a script in the page's markup is not), then draws every figure. No
  ``'unsafe-inline'`` or ``'unsafe-eval'``, so neither an injected ``<script>`` nor an inline
  event handler (``onerror=``) nor a ``javascript:`` URL could run even if markup slipped through;
- a figure's data is an inert ``<script type="application/json">`` block (never executed; its
  JSON has ``<``, ``>`` and ``&`` written as ``\\u003c``... so ``</script>`` in the data cannot end
  the element), read by the page script with ``JSON.parse``; figures inside a closed section
  are drawn when it opens (a long report opens fast);
- every piece of text is escaped with :func:`toolkit.markup.escape_html` (table cells, headings,
  notes), and in the strings plotly draws as labels, titles or hover text every ``<`` that does
  not open one of plotly's formatting tags (``<b>``, ``<br>``...) is written ``&lt;``:
  ``<script>`` in a function name shows as text, while a plot's own ``<br>`` still breaks lines.

Example::

    >>> import pandas as pd
    >>> doc = Document("Demo")
    >>> doc.heading("Queries")
    'queries'
    >>> doc.table(pd.DataFrame({"sql": ["SELECT '<script>'"]}))
    >>> "&lt;script&gt;" in doc.to_html()
    True
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import functools
import gzip
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ..markup import escape_html, escape_label, map_drawn

# The one script a page with figures runs. It opens the closed sections that hold the element
# the address names (#anchor), unpacks the embedded plotly.js (gzip + base64 data block) into a
# script of its own ('strict-dynamic' trusts it), then draws every figure from its JSON block:
# those in open sections at once, the others when their section opens. Its text never changes
# (figures are data, not code), so one hash in the CSP allows it; it runs after parsing.
PLOTLY_BLOCK_ID = "tk-plotly"
PAGE_SCRIPT = """(function () {
  "use strict";
  function openTo(el) {
    for (var d = el && el.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;
    }
  }
  function openHash() {
    var id = location.hash.length > 1 ? decodeURIComponent(location.hash.slice(1)) : "";
    var target = id && document.getElementById(id);
    if (target) { openTo(target); target.scrollIntoView(); }
  }
  function draw(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll('script.tk-figure[type="application/json"]').forEach(function (block) {
      if (block.hasAttribute("data-drawn") || block.closest("details:not([open])")) { return; }
      var target = document.getElementById(block.getAttribute("data-target"));
      if (!target) { return; }
      block.setAttribute("data-drawn", "");
      var f = JSON.parse(block.textContent);
      window.Plotly.newPlot(target, f.data, f.layout, f.config);
    });
  }
  function withPlotly(then) {
    var packed = document.getElementById("tk-plotly");
    if (window.Plotly || !packed) { then(); return; }
    var text = atob(packed.textContent.trim());
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    var code = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    new Response(code).blob().then(function (js) {
      var script = document.createElement("script");
      script.src = URL.createObjectURL(new Blob([js], {type: "text/javascript"}));
      script.onload = then;
      document.head.appendChild(script);
    });
  }
  document.addEventListener("toggle", function (e) { if (e.target.open) { draw(e.target); } }, true);
  window.addEventListener("hashchange", openHash);
  document.addEventListener("DOMContentLoaded", function () {
    openHash();
    withPlotly(function () {
      draw(document);
      document.documentElement.setAttribute("data-figures-ready", "");
      if (window.performance && performance.mark) { performance.mark("tk-figures-ready"); }
    });
  });
})();"""


def script_hash(text: str) -> str:
    """The CSP source that allows exactly the inline script ``<script>text</script>``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def csp(scripts: Iterable[str] = ()) -> str:
    """The page's Content-Security-Policy: no request may leave the page (no default source),
    styles inline only (plotly sets styles), images and fonts only as ``data:`` URIs, no
    ``<base>``, forms, frames or plugins, and only the inline ``scripts`` given (by their text)
    may run, with the scripts they create ('strict-dynamic': how the page script runs the
    plotly.js it unpacks): ``script-src 'none'`` when there are none."""
    hashes = " ".join(script_hash(s) for s in scripts)
    hashes = f"{hashes} 'strict-dynamic'" if hashes else "'none'"
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
            "img-src data:; font-src data:; base-uri 'none'; form-action 'none'; "
            "frame-src 'none'; object-src 'none'")


def csp_meta(scripts: Iterable[str] = ()) -> str:
    return f'<meta http-equiv="Content-Security-Policy" content="{csp(scripts)}">'


# The policy of a page without figures (and so without scripts).
CSP = csp()
CSP_META = csp_meta()

_SEVERITY_CLASS = {"high": "sev-high", "medium": "sev-medium", "low": "sev-low"}

STYLE = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#ffffff; --accent:#2456a6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 28px 60px; }
h1 { font-size: 24px; margin: 12px 0 4px; }
h2 { font-size: 19px; margin: 34px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
h4 { font-size: 14px; margin: 14px 0 4px; }
p.subtitle, p.meta { color: var(--muted); margin: 2px 0; }
nav.toc { background: #f6f8fb; border: 1px solid var(--line); padding: 6px 16px; margin: 14px 0; }
nav.toc ul { margin: 4px 0; padding-left: 20px; columns: 2; }
nav.toc .count { color: var(--muted); font-size: 12px; }
details.section { border-top: 2px solid var(--line); margin: 10px 0 0; }
details.section > summary { cursor: pointer; padding: 8px 0 4px; list-style-position: outside; }
details.section > summary h2 { display: inline; border: 0; margin: 0; padding: 0; }
details.section > summary .count { color: var(--muted); margin-left: 10px; }
details.section[open] > summary { margin-bottom: 6px; }
ol.cards { padding-left: 0; list-style: none; margin: 6px 0 14px; }
ol.cards > li { border: 1px solid var(--line); border-left-width: 5px; padding: 6px 12px; margin: 6px 0;
       overflow-wrap: anywhere; }
ol.cards > li.sev-high { border-left-color: #c62828; } ol.cards > li.sev-medium { border-left-color: #ef8f00; }
ol.cards > li.sev-low { border-left-color: #7a8699; }
ol.cards .card-title { font-weight: 600; } ol.cards .card-tag { color: var(--muted); margin-left: 8px; }
ol.cards .card-line { margin: 2px 0; } ol.cards .card-label { color: var(--muted); }
ul.plain { margin: 4px 0 10px; padding-left: 20px; overflow-wrap: anywhere; }
a { color: var(--accent); }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 8px 0; }
.note.error { background: #fdecec; border-left-color: #c62828; }
.note.info { background: #eef4fc; border-left-color: var(--accent); }
.table-wrap { overflow-x: auto; margin: 6px 0 12px; }
table.data { border-collapse: collapse; font-size: 12.5px; min-width: 40%; }
table.data.fit { table-layout: fixed; width: 100%; }
table.data.fit td, table.data.fit th { overflow-wrap: anywhere; }
table.data.fit td.code, table.data.fit td.wide { min-width: 0; max-width: none; }
table.data th, table.data td { border: 1px solid var(--line); padding: 3px 7px; vertical-align: top;
       text-align: left; }
table.data th { background: #f0f3f8; position: sticky; top: 0; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data td.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       white-space: pre-wrap; overflow-wrap: anywhere; min-width: 22ch; max-width: 720px; }
table.data td.wide { min-width: 380px; max-width: 640px; }
table.data td.pre { white-space: pre-line; }
table.data caption { caption-side: bottom; text-align: left; color: var(--muted); font-size: 12px;
       padding-top: 3px; }
tr.sev-high td:first-child { border-left: 5px solid #c62828; }
tr.sev-medium td:first-child { border-left: 5px solid #ef8f00; }
tr.sev-low td:first-child { border-left: 5px solid #7a8699; }
span.sev { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff;
       font-size: 11.5px; font-weight: 600; }
span.sev.sev-high { background: #c62828; } span.sev.sev-medium { background: #ef8f00; }
span.sev.sev-low { background: #7a8699; }
.figure { margin: 8px 0 16px; border: 1px solid var(--line); }
.figure-caption { color: var(--muted); font-size: 12px; margin: -10px 0 14px; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 6px 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
pre.text { background: #f6f8fb; padding: 6px 10px; overflow-x: auto; font-size: 12px; }
"""


escape = escape_html


def script_json(obj: Any) -> str:
    """JSON safe to place inside ``<script>``: ``<``, ``>``, ``&`` and the JS line separators
    are written as unicode escapes (valid JSON, and ``</script>`` / ``<!--`` cannot occur)."""
    text = obj if isinstance(obj, str) else json.dumps(obj, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def figure_dict(fig: Any) -> dict[str, Any]:
    """A plotly Figure (or its dict / JSON) -> a plain dict whose drawn strings (trace labels,
    hover text, titles, annotations) are escaped (:func:`escape_label`), so plotly shows
    ``<script>`` in data as text rather than markup."""
    return map_drawn(fig, escape_label)


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The installed plotly package's plotly.js bundle (a few MB)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@functools.lru_cache(maxsize=1)
def plotly_js_packed() -> str:
    """:func:`plotly_js` gzip-compressed (fixed header, so the page is reproducible) and
    base64-encoded: what a page embeds, once, for :data:`PAGE_SCRIPT` to unpack."""
    packed = gzip.compress(plotly_js().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def figure_scripts() -> tuple[str, ...]:
    """The inline scripts a page with figures runs (the page script), as text: what :func:`csp`
    allows by hash and :func:`figure_scripts_html` embeds."""
    return (PAGE_SCRIPT,)


def figure_scripts_html() -> str:
    """The packed plotly.js data block and the page script, for the page head."""
    return (f'<script type="text/x-gzip-base64" id="{PLOTLY_BLOCK_ID}">{plotly_js_packed()}</script>\n'
            + "\n".join(f'<script type="text/javascript">{s}</script>' for s in figure_scripts()))


def figure_html(fig: Any, div_id: str, *, height: int | None = None) -> str:
    """A ``<div>`` and the inert JSON block (``<script type="application/json">``) that
    :data:`PAGE_SCRIPT` draws into it with ``Plotly.newPlot``; the page needs
    :func:`figure_scripts_html` in its head and their hashes in its CSP."""
    d = figure_dict(fig)
    layout = d.get("layout") or {}
    if height is None:
        height = int(layout.get("height") or 450)
    config = {"responsive": True, "displaylogo": False, "showLink": False,
              "modeBarButtonsToRemove": ["sendDataToCloud"]}
    payload = script_json({"data": d.get("data", []), "layout": layout, "config": config})
    div_id = re.sub(r"[^A-Za-z0-9_-]", "-", div_id)
    return (f'<div id="{div_id}" class="plotly-graph-div" style="height:{int(height)}px;width:100%;">'
            f'</div>\n<script type="application/json" class="tk-figure" data-target="{div_id}">'
            f'{payload}</script>')


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s or "section"


def _format_float(v: float) -> str:
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.01:
        return f"{v:.3f}"
    if a >= 0.001:
        return f"{v:.4f}"
    return f"{v:.2e}"


def format_cell(value: Any, *, max_chars: int = 400) -> tuple[str, bool]:
    """One cell value -> (display text, is_number). Text longer than ``max_chars`` is cut with
    an ellipsis (the full text goes into the cell's title)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "", False
    if isinstance(value, float) and math.isnan(value):
        return "", False
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int | _np_int()):
        return f"{int(value):,}", True
    if isinstance(value, float | _np_float()):
        return _format_float(float(value)), True
    if isinstance(value, pd.Timestamp | _dt.datetime):
        return value.isoformat(sep=" ", timespec="milliseconds"), False
    if isinstance(value, pd.Timedelta):
        return str(value), False
    try:
        if pd.isna(value):
            return "", False
    except (TypeError, ValueError):
        pass
    text = str(value)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text, False


def _np_int() -> type:
    import numpy as np
    return np.integer


def _np_float() -> type:
    import numpy as np
    return np.floating


@dataclasses.dataclass
class Card:
    """One item of :meth:`Document.cards`: a title with a severity ``badge`` and a short ``tag``
    beside it, labelled ``lines`` (label, text) below, and a ``link`` to an anchor in the page."""

    title: str
    badge: str = ""
    tag: str = ""
    lines: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    link: str = ""
    link_text: str = "details"


class Document:
    """An HTML document built block by block; :meth:`to_html` assembles it.

    ``section(title)`` (a ``with`` block) adds a collapsible section listed in the contents;
    ``heading(text, level)`` a heading (level 2 outside a section is listed too);
    ``table(df)``, ``figure(fig)``, ``text(s)``, ``note(s)``, ``kv(mapping)``, ``pre(s)``,
    ``cards(items)``, ``bullets(lines)`` add content. All text is escaped here; callers never
    pass markup.
    """

    def __init__(self, title: str, *, subtitle: str = "", meta: Iterable[str] = ()):
        self.title = title
        self.subtitle = subtitle
        self.meta = list(meta)
        self._blocks: list[str] = []
        self._toc: list[tuple[str, str, str]] = []  # (anchor, title, count)
        self._ids: set[str] = set()
        self._figures = 0
        self._open_sections = 0
        self._toc_at: int | None = None  # where the contents go (default: above everything)
        self._reserved: set[str] = set()  # ids handed out before their heading was added

    @property
    def figures(self) -> int:
        return self._figures

    def unique_id(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``... when taken: an id no other element of the page has."""
        anchor, n = base, 1
        while anchor in self._ids:
            n += 1
            anchor = f"{base}-{n}"
        self._ids.add(anchor)
        return anchor

    def reserve(self, base: str) -> str:
        """An id for a heading added later (a link above can point to it already)."""
        anchor = self.unique_id(base)
        self._reserved.add(anchor)
        return anchor

    def heading(self, text: str, level: int = 2, *, anchor: str | None = None) -> str:
        """Add a heading (a level 2 outside a section is listed in the contents); returns its id:
        ``anchor`` when it was reserved (:meth:`reserve`), else one made unique from it or the text."""
        if anchor is not None and anchor in self._reserved:
            self._reserved.discard(anchor)
        else:
            anchor = self.unique_id(anchor or slug(text))
        if level == 2 and not self._open_sections:
            self._toc.append((anchor, str(text), ""))
        self._blocks.append(f'<h{level} id="{anchor}">{escape(text)}</h{level}>')
        return anchor

    @contextlib.contextmanager
    def section(self, title: str, *, count: str = "", open: bool = False,
                anchor: str | None = None) -> Iterator[str]:
        """A collapsible section (``<details>``, closed unless ``open``): its ``<summary>`` holds
        the level-2 heading and ``count`` (a few words: "29 findings"); what is added inside the
        ``with`` block goes into it, and its figures are drawn when it is opened. Listed in the
        contents. Yields the heading's id (a link to it opens the section)."""
        anchor = self.unique_id(anchor or slug(title))
        self._toc.append((anchor, str(title), count))
        extra = f'<span class="count">{escape(count)}</span>' if count else ""
        self._blocks.append(f'<details class="section"{" open" if open else ""}><summary>'
                            f'<h2 id="{anchor}">{escape(title)}</h2>{extra}</summary>')
        self._open_sections += 1
        try:
            yield anchor
        finally:
            self._open_sections -= 1
            self._blocks.append("</details>")

    def text(self, text: str, *, link: str = "", link_text: str = "") -> None:
        """A paragraph; with ``link`` (an anchor in the page) it ends in a link to it."""
        tail = f' <a href="#{escape(link)}">{escape(link_text or "more")}</a>' if link else ""
        self._blocks.append(f"<p>{escape(text)}{tail}</p>")

    def note(self, text: str, kind: str = "warning") -> None:
        """A highlighted remark: ``kind`` warning (default), error or info."""
        cls = kind if kind in ("warning", "error", "info") else "warning"
        self._blocks.append(f'<div class="note {cls}">{escape(text)}</div>')

    def pre(self, text: str) -> None:
        self._blocks.append(f'<pre class="text">{escape(text)}</pre>')

    def kv(self, items: dict[str, Any]) -> None:
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(format_cell(v)[0])}</dd>"
                       for k, v in items.items())
        self._blocks.append(f'<dl class="kv">{rows}</dl>')

    def bullets(self, lines: Iterable[str]) -> None:
        """A bulleted list of text lines."""
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        if items:
            self._blocks.append(f'<ul class="plain">{items}</ul>')

    def cards(self, items: Iterable[Card]) -> None:
        """An ordered list of :class:`Card` items (the first screen's "fix these first")."""
        out = []
        for c in items:
            badge = (f'<span class="sev {_SEVERITY_CLASS.get(c.badge, "")}">{escape(c.badge)}</span> '
                     if c.badge else "")
            tag = f'<span class="card-tag">{escape(c.tag)}</span>' if c.tag else ""
            link = f' <a href="#{escape(c.link)}">{escape(c.link_text)}</a>' if c.link else ""
            lines = "".join(f'<div class="card-line"><span class="card-label">{escape(label)}</span> '
                            f"{escape(text)}</div>" for label, text in c.lines if text)
            cls = f' class="{_SEVERITY_CLASS[c.badge]}"' if c.badge in _SEVERITY_CLASS else ""
            out.append(f'<li{cls}><div>{badge}<span class="card-title">{escape(c.title)}</span>{tag}{link}'
                       f"</div>{lines}</li>")
        if out:
            self._blocks.append(f'<ol class="cards">{"".join(out)}</ol>')

    def table(self, df: pd.DataFrame, *, max_rows: int | None = None, caption: str = "",
              code_columns: Iterable[str] = (), row_class: Callable[[dict], str] | None = None,
              badge_columns: Iterable[str] = (), wide_columns: Iterable[str] = (),
              pre_columns: Iterable[str] = (), max_chars: int = 400,
              widths: dict[str, str] | None = None, more: str = "rows") -> None:
        """An escaped table of ``df`` (index dropped). ``max_rows`` keeps the first rows and
        says how many were left out ("first 15 of 3,001 rows; and 2,986 more ``more``");
        ``code_columns`` are shown monospaced (SQL, stacks); ``row_class(row) -> css class``;
        ``badge_columns`` show severities as coloured badges; ``wide_columns`` get more room
        (prose); ``pre_columns`` keep their line breaks. ``widths`` (column -> CSS width) fixes
        the layout to the page width: long cells wrap instead of widening the table."""
        code_columns, badge_columns = set(code_columns), set(badge_columns)
        wide_columns, pre_columns = set(wide_columns), set(pre_columns)
        total = len(df)
        shown = df if max_rows is None or total <= max_rows else df.head(max_rows)
        cols = [str(c) for c in shown.columns]
        head = "".join(f"<th>{escape(c)}</th>" for c in cols)
        body = []
        for row in shown.to_dict("records"):
            cells = []
            for c in shown.columns:
                value = row[c]
                text, numeric = format_cell(value, max_chars=max_chars)
                classes = []
                if numeric:
                    classes.append("num")
                if str(c) in code_columns:
                    classes.append("code")
                if str(c) in wide_columns:
                    classes.append("wide")
                if str(c) in pre_columns:
                    classes.append("pre")
                cls = f' class="{" ".join(classes)}"' if classes else ""
                full = str(value) if isinstance(value, str) and len(value) > max_chars else ""
                title = f' title="{escape(full)}"' if full else ""
                content = escape(text)
                if str(c) in badge_columns and text:
                    content = (f'<span class="sev {_SEVERITY_CLASS.get(text, "")}">'
                               f"{escape(text)}</span>")
                cells.append(f"<td{cls}{title}>{content}</td>")
            rc = row_class(row) if row_class else ""
            rc = f' class="{escape(rc)}"' if rc else ""
            body.append(f"<tr{rc}>{''.join(cells)}</tr>")
        notes = []
        if caption:
            notes.append(caption)
        if len(shown) < total:
            notes.append(f"first {len(shown):,} of {total:,} rows; and {total - len(shown):,} more {more}")
        cap = f"<caption>{escape('; '.join(notes))}</caption>" if notes else ""
        cls = "data fit" if widths else "data"
        cols_html = ("<colgroup>" + "".join(f'<col style="width:{escape(widths.get(c, "auto"))}">' for c in cols)
                     + "</colgroup>") if widths else ""
        self._blocks.append(
            f'<div class="table-wrap"><table class="{cls}">{cap}{cols_html}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")

    def figure(self, fig: Any, *, caption: str = "", height: int | None = None) -> None:
        """A plotly figure (Figure, dict or JSON), drawn by the page's one plotly.js."""
        self._figures += 1
        div_id = self.unique_id(f"figure-{self._figures}")
        block = f'<div class="figure">{figure_html(fig, div_id, height=height)}</div>'
        if caption:
            block += f'<div class="figure-caption">{escape(caption)}</div>'
        self._blocks.append(block)

    def contents(self) -> None:
        """Put the contents here (after a first screen) instead of above everything; they list
        what comes below (the headings above are on the screen already)."""
        self._toc_at = len(self._blocks)
        self._toc.clear()

    def _toc_html(self) -> str:
        """The sections, one line each with their count (not one row per input file)."""
        if not self._toc:
            return ""
        items = "".join(f'<li><a href="#{anchor}">{escape(text)}</a>'
                        + (f' <span class="count">{escape(count)}</span>' if count else "") + "</li>"
                        for anchor, text, count in self._toc)
        return f'<nav class="toc"><strong>Contents</strong><ul>{items}</ul></nav>'

    def to_html(self) -> str:
        """The whole page as one string (plotly.js inlined once when there is a figure)."""
        head = [
            "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            csp_meta(figure_scripts() if self._figures else ()),
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{escape(self.title)}</title>", f"<style>{STYLE}</style>",
        ]
        if self._figures:
            head.append(figure_scripts_html())
        head.append("</head>")
        top = [f"<h1>{escape(self.title)}</h1>"]
        if self.subtitle:
            top.append(f'<p class="subtitle">{escape(self.subtitle)}</p>')
        top += [f'<p class="meta">{escape(m)}</p>' for m in self.meta]
        at = len(top) + (0 if self._toc_at is None else self._toc_at)
        main = [*top, *self._blocks]
        main.insert(at, self._toc_html())
        body = ["<body>", "<main>", *main, "</main>", "</body>", "</html>"]
        return "\n".join(head + body) + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path
