"""A notebook's outputs made safe to share: what a kernel printed or displayed is input-derived
text, so before an export shows it, it is sanitized (no markup that runs, loads or navigates)
and, unless asked not to, redacted.

:func:`clean_notebook` works on an executed notebook (an nbformat node, changed in place):

- ``text/html`` outputs go through an allow-list sanitizer (bleach): tables, text formatting,
  lists, ``<style>`` and in-page ``#anchor`` links stay (what DataFrames and Markdown render
  to); every other tag (``<script>``, ``<img>``, ``<iframe>``, ``<meta http-equiv=refresh>``,
  ``<form>``, ``<a href=...>``) is shown as text, every other attribute (``onerror=``,
  ``src=``) dropped, comments removed;
- ``text/markdown`` outputs are rendered to HTML first (nbconvert's renderer passes raw HTML
  and links through) and then sanitized the same way;
- JavaScript, widget, Mermaid and any other mimetype the template would insert raw are dropped;
  images stay (``data:`` URIs); plotly's JSON stays, for the exporter to draw;
- with a :class:`~toolkit.report.redact.Redactor`: the text of every HTML text node, plain
  text (a printed dict keeps its shape), stream and error output, the strings a plotly figure
  draws get the redaction rules, and the papermill-injected parameters cell loses its
  credentials (its paths and names are the user's choice and stay). This is the net
  under the notebook's own ``REDACT`` parameter (:func:`toolkit.report.display.redact_display`),
  which redacts canonical tables column by column before they are shown.

Markdown cells are the notebook author's (trusted) and are left as written.

    >>> from toolkit.report.outputs import sanitize_html
    >>> sanitize_html('<td>x</td><img src=x onerror="go()">')
    'x&lt;img src=x onerror="go()"&gt;'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import MissingDependencyError
from ..markup import map_strings
from .redact import Redactor

PLOTLY_MIME = "application/vnd.plotly.v1+json"

ALLOWED_TAGS = frozenset({
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
    "div", "span", "p", "br", "hr", "pre", "code", "b", "i", "em", "strong", "small", "sub", "sup",
    "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "style", "a"})
# attributes DataFrames and rendered Markdown use; an <a> only as an in-page anchor
_TABLE_ATTRIBUTES = frozenset({"colspan", "rowspan", "border", "halign", "valign", "align"})
_CSS_PROPERTIES = ("text-align", "vertical-align", "white-space", "width", "min-width", "max-width",
                   "font-weight", "font-style")
# what an exported output may keep; the template would insert any other mimetype raw or run it
SAFE_MIMETYPES = frozenset({"text/plain", "text/html", "image/png", "image/jpeg", "text/latex",
                            "application/json", PLOTLY_MIME})
_MARKED_PARAMETERS = "injected-parameters"


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    # no "id": an output must not clobber the ids the page's figures are drawn into
    if name in ("class", "style") or name in _TABLE_ATTRIBUTES:
        return True
    return tag == "a" and name == "href" and value.startswith("#")


def _bleach() -> Any:
    try:
        import bleach
        from bleach.css_sanitizer import CSSSanitizer
    except ModuleNotFoundError as exc:  # nbconvert depends on bleach[css]
        raise MissingDependencyError("bleach is needed to export notebooks: "
                                     "pip install 'perf-toolkit[notebook]'") from exc
    return bleach, CSSSanitizer


def _text_filter(redact: Callable[[str], str]) -> type:
    """An html5lib filter giving each text node (adjacent character tokens joined: the tokenizer
    splits at entities) to ``redact``; ``<style>`` contents are CSS, left alone."""
    from bleach._vendor.html5lib.filters.base import Filter

    class RedactText(Filter):
        def __iter__(self) -> Any:
            pending: list[str] = []
            in_style = False
            for token in super().__iter__():
                kind = token["type"]
                if kind in ("Characters", "SpaceCharacters") and not in_style:
                    pending.append(token["data"])
                    continue
                if pending:
                    yield {"type": "Characters", "data": redact("".join(pending))}
                    pending = []
                if token.get("name") == "style" and kind in ("StartTag", "EndTag"):
                    in_style = kind == "StartTag"
                yield token
            if pending:
                yield {"type": "Characters", "data": redact("".join(pending))}

    return RedactText


def sanitize_html(html: str, redactor: Redactor | None = None) -> str:
    """``html`` with only :data:`ALLOWED_TAGS` left as markup (the rest shown as text), no
    attribute but class/style (CSS limited to layout) and table spans, no comments; each
    text node through ``redactor.cell`` when one is given."""
    bleach, CSSSanitizer = _bleach()
    filters = [_text_filter(redactor.cell)] if redactor is not None else []
    cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=_allowed_attribute, strip=False,
                             strip_comments=True, filters=filters,
                             css_sanitizer=CSSSanitizer(allowed_css_properties=_CSS_PROPERTIES))
    return cleaner.clean(html)


def markdown_html(markdown: str, redactor: Redactor | None = None) -> str:
    """Markdown output rendered (nbconvert's renderer), then sanitized like any HTML."""
    from nbconvert.filters.markdown import markdown2html

    return sanitize_html(markdown2html(markdown), redactor)


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def _clean_data(data: dict[str, Any], redactor: Redactor | None) -> dict[str, Any]:
    """One display output's mimebundle, cleaned (see the module docs)."""
    out: dict[str, Any] = {}
    if "text/html" in data:
        out["text/html"] = sanitize_html(_joined(data["text/html"]), redactor)
    elif "text/markdown" in data:
        out["text/html"] = markdown_html(_joined(data["text/markdown"]), redactor)
    for mime, value in data.items():
        if mime in out or mime not in SAFE_MIMETYPES:
            continue
        if redactor is None or mime in ("image/png", "image/jpeg"):
            out[mime] = value
        elif mime == PLOTLY_MIME:
            out[mime] = {**value, **redactor.figure(value)}
        elif mime == "application/json":
            out[mime] = map_strings(value, redactor.value)
        else:
            out[mime] = redactor.value(_joined(value))
    return out


def clean_output(output: Any, redactor: Redactor | None = None) -> None:
    """One cell output (an nbformat node), cleaned in place."""
    kind = output.get("output_type")
    if kind == "stream":
        if redactor is not None:
            output["text"] = redactor.text(_joined(output.get("text", "")))
    elif kind == "error":
        if redactor is not None:
            output["evalue"] = redactor.text(str(output.get("evalue", "")))
            output["traceback"] = [redactor.text(line) for line in output.get("traceback", [])]
    elif kind in ("display_data", "execute_result"):
        output["data"] = _clean_data(dict(output.get("data") or {}), redactor)
        # "filenames" would make the template load an image from a path or URL
        output["metadata"] = {k: v for k, v in (output.get("metadata") or {}).items() if k != "filenames"}


def clean_notebook(nb: Any, redactor: Redactor | None = None) -> Any:
    """Every output of ``nb`` cleaned in place (and the injected parameters redacted when a
    ``redactor`` is given); widget state dropped. Returns ``nb``."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "raw":
            cell.source = sanitize_html(_joined(cell.source), redactor)
        if cell.cell_type != "code":
            continue
        if redactor is not None and _MARKED_PARAMETERS in cell.get("metadata", {}).get("tags", []):
            cell.source = redactor.credentials(_joined(cell.source))
        for output in cell.get("outputs", []):
            clean_output(output, redactor)
    return nb
