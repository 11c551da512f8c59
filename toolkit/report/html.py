"""A small builder for one self-contained, offline HTML file: headings with a table of
contents, escaped tables from DataFrames, plotly figures, notes.

Offline and inert by construction:

- plotly.js is embedded once (from the installed ``plotly`` package), only when a figure is
  present; nothing is loaded from a CDN, no external fonts or images;
- a Content-Security-Policy ``<meta>`` (:func:`csp`) forbids every network request, forms,
  ``<base>``, frames and plugins, and lets only two scripts run, named by their SHA-256: the
  embedded plotly.js and the one page script (:data:`PAGE_SCRIPT`) that draws every figure. No
  ``'unsafe-inline'`` for scripts, so neither an injected ``<script>`` nor an inline event
  handler (``onerror=``) nor a ``javascript:`` URL could run even if markup slipped through;
- a figure's data is an inert ``<script type="application/json">`` block (never executed; its
  JSON has ``<``, ``>`` and ``&`` written as ``\\u003c``... so ``</script>`` in the data cannot end
  the element), read by the page script with ``JSON.parse``;
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
import datetime as _dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ..markup import escape_html, escape_label, map_drawn

# Draws every figure of the page from its JSON block. Its text never changes (figures are data,
# not code), so one hash in the CSP allows it; it runs after parsing, wherever it is placed.
PAGE_SCRIPT = """document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll('script.tk-figure[type="application/json"]').forEach(function (block) {
    var target = document.getElementById(block.getAttribute("data-target"));
    if (!target || !window.Plotly) { return; }
    var f = JSON.parse(block.textContent);
    window.Plotly.newPlot(target, f.data, f.layout, f.config);
  });
});"""


def script_hash(text: str) -> str:
    """The CSP source that allows exactly the inline script ``<script>text</script>``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def csp(scripts: Iterable[str] = ()) -> str:
    """The page's Content-Security-Policy: no request may leave the page (no default source),
    styles inline only (plotly sets styles), images and fonts only as ``data:`` URIs, no
    ``<base>``, forms, frames or plugins, and only the inline ``scripts`` given (by their text)
    may run: ``script-src 'none'`` when there are none."""
    hashes = " ".join(script_hash(s) for s in scripts) or "'none'"
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
nav.toc { background: #f6f8fb; border: 1px solid var(--line); padding: 8px 16px; margin: 14px 0; }
nav.toc ul { margin: 4px 0; padding-left: 20px; }
nav.toc .sub { font-size: 12px; line-height: 1.6; }
nav.toc .sub a { margin-right: 12px; white-space: nowrap; }
a { color: var(--accent); }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 8px 0; }
.note.error { background: #fdecec; border-left-color: #c62828; }
.note.info { background: #eef4fc; border-left-color: var(--accent); }
.table-wrap { overflow-x: auto; margin: 6px 0 12px; }
table.data { border-collapse: collapse; font-size: 12.5px; min-width: 40%; }
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
    """The installed plotly package's plotly.js bundle (a few MB), for inlining once."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_scripts() -> tuple[str, str]:
    """The two scripts a page with figures runs (plotly.js, then :data:`PAGE_SCRIPT`), as text:
    what :func:`csp` allows by hash and :func:`figure_scripts_html` embeds."""
    return plotly_js(), PAGE_SCRIPT


def figure_scripts_html() -> str:
    """plotly.js and the page script as ``<script>`` elements, for the page head."""
    return "\n".join(f'<script type="text/javascript">{s}</script>' for s in figure_scripts())


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


class Document:
    """An HTML document built block by block; :meth:`to_html` assembles it.

    ``heading(text, level)`` adds an entry to the table of contents (levels 2 and 3);
    ``table(df)``, ``figure(fig)``, ``text(s)``, ``note(s)``, ``kv(mapping)``, ``pre(s)`` add
    content. All text is escaped here; callers never pass markup.
    """

    def __init__(self, title: str, *, subtitle: str = "", meta: Iterable[str] = ()):
        self.title = title
        self.subtitle = subtitle
        self.meta = list(meta)
        self._blocks: list[str] = []
        self._toc: list[tuple[int, str, str]] = []
        self._ids: set[str] = set()
        self._figures = 0

    @property
    def figures(self) -> int:
        return self._figures

    def _unique_id(self, base: str) -> str:
        anchor, n = base, 1
        while anchor in self._ids:
            n += 1
            anchor = f"{base}-{n}"
        self._ids.add(anchor)
        return anchor

    def heading(self, text: str, level: int = 2, *, anchor: str | None = None) -> str:
        """Add a heading (2 = section, 3 = subsection, 4 = not in the contents); returns its id."""
        anchor = self._unique_id(anchor or slug(text))
        if level in (2, 3):
            self._toc.append((level, anchor, str(text)))
        self._blocks.append(f'<h{level} id="{anchor}">{escape(text)}</h{level}>')
        return anchor

    def text(self, text: str) -> None:
        self._blocks.append(f"<p>{escape(text)}</p>")

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

    def table(self, df: pd.DataFrame, *, max_rows: int | None = None, caption: str = "",
              code_columns: Iterable[str] = (), row_class: Callable[[dict], str] | None = None,
              badge_columns: Iterable[str] = (), wide_columns: Iterable[str] = (),
              pre_columns: Iterable[str] = (), max_chars: int = 400) -> None:
        """An escaped table of ``df`` (index dropped). ``max_rows`` keeps the first rows and
        says how many were left out; ``code_columns`` are shown monospaced (SQL, stacks);
        ``row_class(row) -> css class``; ``badge_columns`` show severities as coloured badges;
        ``wide_columns`` get more room (prose); ``pre_columns`` keep their line breaks."""
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
            notes.append(f"first {len(shown):,} of {total:,} rows")
        cap = f"<caption>{escape('; '.join(notes))}</caption>" if notes else ""
        self._blocks.append(
            f'<div class="table-wrap"><table class="data">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")

    def figure(self, fig: Any, *, caption: str = "", height: int | None = None) -> None:
        """A plotly figure (Figure, dict or JSON), drawn by the page's one plotly.js."""
        self._figures += 1
        div_id = self._unique_id(f"figure-{self._figures}")
        block = f'<div class="figure">{figure_html(fig, div_id, height=height)}</div>'
        if caption:
            block += f'<div class="figure-caption">{escape(caption)}</div>'
        self._blocks.append(block)

    def _toc_html(self) -> str:
        """Sections as a list; each section's subsections inline below it (one line, not one
        row per input file)."""
        if not self._toc:
            return ""
        items: list[str] = []
        subs: list[str] = []

        def close() -> None:
            if subs and items:
                items[-1] = items[-1][:-5] + f'<div class="sub">{" ".join(subs)}</div></li>'
            subs.clear()

        for level, anchor, text in self._toc:
            link = f'<a href="#{anchor}">{escape(text)}</a>'
            if level == 2:
                close()
                items.append(f"<li>{link}</li>")
            else:
                subs.append(link)
        close()
        return f'<nav class="toc"><strong>Contents</strong><ul>{"".join(items)}</ul></nav>'

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
        body = ["<body>", "<main>", *top, self._toc_html(), *self._blocks, "</main>",
                "</body>", "</html>"]
        return "\n".join(head + body) + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path
