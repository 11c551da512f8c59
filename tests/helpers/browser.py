"""Open a local HTML file in headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright's Python API) and report what happened: console errors, page errors, every request
the page made, how many plotly figures drew their SVG, and any JS value asked for.

    >>> from helpers.browser import open_page
    >>> result = open_page(path, evaluate={"pwned": "typeof window.__pwned"})   # doctest: +SKIP
    >>> with Chromium() as browser:  # several pages, one browser            # doctest: +SKIP
    ...     result = browser.open(path)
    >>> assert result.console_errors == [] and result.foreign_requests == []     # doctest: +SKIP

The browser runs with networking features off (no background requests, no component updates)
so any request seen came from the page itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from helpers.programs import require_program

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-default-apps", "--disable-sync",
                 "--disable-extensions", "--metrics-recording-only", "--mute-audio"]
# a figure's div before (plotly-graph-div) and after (js-plotly-plot) Plotly.newPlot ran
FIGURES = ".plotly-graph-div, .js-plotly-plot"


@dataclasses.dataclass
class PageResult:
    url: str
    console_errors: list[str]
    page_errors: list[str]
    requests: list[str]
    figures: int            # plotly figure divs in the page
    drawn: int              # of those, how many contain their svg.main-svg
    values: dict[str, Any]  # results of the `before` and `evaluate` expressions
    text: str               # document.body.innerText

    @property
    def foreign_requests(self) -> list[str]:
        """Requests to anything but the file itself (data: URIs are not requests, and a blob:
        URL is the page's own memory: the plotly.js the page script unpacked)."""
        return [u for u in self.requests if u != self.url and not u.startswith(("data:", "blob:null/"))]


class Chromium:
    """One headless Chromium for several pages (starting it costs about two seconds).

        >>> with Chromium() as browser:                              # doctest: +SKIP
        ...     result = browser.open(path, evaluate={"x": "1 + 1"})
    """

    def __enter__(self) -> Chromium:
        executable = require_program("chromium")
        self._api = pytest.importorskip("playwright.sync_api")
        self._pw = self._api.sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                                     headless=True)
        except Exception:
            self._pw.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._browser.close()
        self._pw.stop()

    def open(self, path: str | Path, *, evaluate: dict[str, str] | None = None,
             timeout_ms: int = 15_000, expand: bool = True, before: dict[str, str] | None = None,
             viewport: dict[str, int] | None = None) -> PageResult:
        """Load ``path`` (file://) in a fresh context, evaluate the ``before`` expressions (on the
        page as it first shows: its first screen, its collapsed sections), open every collapsed
        section (``expand``: the report draws a section's figures when it opens), wait until
        every plotly figure has drawn (or the timeout), then collect what happened, the
        ``evaluate`` expressions included. ``viewport``: width and height in CSS pixels."""
        url = Path(path).resolve().as_uri()
        console_errors: list[str] = []
        page_errors: list[str] = []
        requests: list[str] = []
        context = self._browser.new_context(**({"viewport": viewport} if viewport else {}))
        try:
            page = context.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load", timeout=timeout_ms)
            first = {k: page.evaluate(expr) for k, expr in (before or {}).items()}
            if expand:
                page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            # plotly draws asynchronously: wait until each figure holds its main svg
            try:
                page.wait_for_function(
                    f"() => Array.from(document.querySelectorAll('{FIGURES}'))"
                    ".every(el => el.querySelector('svg.main-svg'))", timeout=timeout_ms)
            except self._api.TimeoutError:
                pass  # the counts below say which figures did not draw
            figures = page.evaluate(f"document.querySelectorAll('{FIGURES}').length")
            drawn = page.evaluate(
                f"Array.from(document.querySelectorAll('{FIGURES}'))"
                ".filter(el => el.querySelector('svg.main-svg')).length")
            values = {**first, **{k: page.evaluate(expr) for k, expr in (evaluate or {}).items()}}
            text = page.evaluate("document.body.innerText")
        finally:
            context.close()
        return PageResult(url, console_errors, page_errors, requests, figures, drawn, values, text)


def open_page(path: str | Path, *, evaluate: dict[str, str] | None = None,
              timeout_ms: int = 15_000) -> PageResult:
    """Open one page in a Chromium of its own. Skips (fails under CI) when chromium or
    playwright is missing."""
    with Chromium() as browser:
        return browser.open(path, evaluate=evaluate, timeout_ms=timeout_ms)
