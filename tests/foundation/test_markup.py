"""Text from inputs made inert in HTML and Markdown: rendered by a real Markdown renderer
(nbconvert's, which passes raw HTML through), escaped data makes no element of its own."""

from __future__ import annotations

import re

import pytest

from toolkit.markup import escape_html, escape_markdown

PAYLOADS = [
    '<img src=x onerror="document.title=1">',
    "<script>alert(1)</script>",
    '<meta http-equiv="refresh" content="0,url=http://evil">',
    "[click](http://evil) ![img](http://evil/x.png) [ref]: http://evil",
    "http://evil/autolink www.evil.com bob@evil.com <http://evil>",
    "**bold** _em_ `code` ~~strike~~ | a | b |\n|---|---|",
    "# heading\n- item\n+ item\n1. item\n> quote\n---\n=====",
    "$x = \\frac{1}{2}$ and &lt;b&gt; and \\<i>",
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_escaped_markdown_renders_as_exactly_its_text(text):
    from nbconvert.filters.markdown import markdown2html

    html = markdown2html(escape_markdown(text))
    # THEN the only element is the paragraph (no link, image, heading, list, emphasis, code...)
    assert set(re.findall(r"<(\w+)", html)) <= {"p"}
    # AND the visible text is the input (entities decoded, whitespace folded)
    import html as htmllib
    visible = htmllib.unescape(re.sub(r"<[^>]+>", "", html))
    assert " ".join(visible.split()) == " ".join(text.split())


def test_html_escape_covers_quotes_and_nulls():
    assert escape_html("<a href='x' title=\"y\">&") == "&lt;a href=&#x27;x&#x27; title=&quot;y&quot;&gt;&amp;"
    assert escape_html(None) == "" and escape_html(float("nan")) == ""
    assert escape_markdown(None) == ""
