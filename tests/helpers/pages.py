"""Read the HTML pages the toolkit writes: the figures' JSON blocks, the markup without the
embedded plotly.js, and every script element with the text its CSP hash must cover."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from toolkit.report.html import plotly_js, plotly_js_packed

# a figure's JSON block, as the report writes it and as nbconvert re-serializes it (attributes sorted)
FIGURE_BLOCK = re.compile(r'<script (?:type="application/json" class="tk-figure" data-target="([^"]+)"|'
                          r'class="tk-figure" data-target="([^"]+)" type="application/json")>(.*?)</script>', re.S)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def figures(page: str) -> list[dict]:
    """Each figure's JSON (data, layout, config), in page order."""
    return [json.loads(m.group(3)) for m in FIGURE_BLOCK.finditer(page)]


def figure_targets(page: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in FIGURE_BLOCK.finditer(page)]


def markup(page: str) -> str:
    """The page without the embedded plotly.js bundle, plain or packed (not ours to search)."""
    return page.replace(plotly_js(), "").replace(plotly_js_packed(), "")


def executable_scripts(page: str) -> list[str]:
    """The text of every script element a browser would run (no type, or a JavaScript type)."""
    out = []
    for attrs, body in SCRIPT.findall(page):
        kind = re.search(r'type="([^"]*)"', attrs)
        if kind is None or kind.group(1).lower() in ("text/javascript", "module", "application/javascript"):
            out.append(body)
    return out


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def csp_of(page: str) -> str:
    """The policy of the page's CSP ``<meta>`` (attributes in any order: nbconvert reorders them)."""
    for tag in re.findall(r"<meta\b[^>]*>", page):
        if 'http-equiv="Content-Security-Policy"' in tag:
            return re.search(r'content="([^"]+)"', tag).group(1)
    raise AssertionError("the page has no Content-Security-Policy")
