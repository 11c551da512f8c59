"""Our exports open in the real speedscope (the npm package's release build, headless Chromium).

Needs the ``speedscope`` command (``npm install -g speedscope@1.25.0``) and Chromium; skipped
locally when missing, required under CI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import SAMPLES
from helpers.programs import require_program

import toolkit as tk

TRACES = [SAMPLES / "profiles" / "py-spy" / "demo_slow.txt",
          SAMPLES / "profiles" / "pyinstrument" / "demo_slow.pyisession.gz",
          SAMPLES / "profiles" / "cprofile" / "demo_slow.prof"]


@pytest.fixture(scope="module")
def release() -> Path:
    cli = Path(os.path.realpath(require_program("speedscope")))
    folder = cli.parent.parent / "dist" / "release"
    assert (folder / "index.html").exists(), f"no speedscope release build next to {cli}"
    return folder


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_export_matches_speedscopes_own_schema(path, release, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((release / "file-format-schema.json").read_text())
    out = tk.read_profile(path).to_speedscope(tmp_path / "out.speedscope.json")
    jsonschema.validate(json.loads(Path(out).read_text()), schema)


@pytest.mark.browser
@pytest.mark.parametrize(("kind", "expected"), [("speedscope", "speedscope json"), ("collapsed", "collapsed")])
def test_speedscope_app_opens_our_exports(kind, expected, release, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = require_program("chromium")
    prof = tk.read_profile(SAMPLES / "profiles" / "py-spy" / "demo_slow.txt")
    if kind == "speedscope":
        out = prof.to_speedscope(tmp_path / "demo.speedscope.json")
    else:
        out = prof.to_collapsed(tmp_path / "demo.folded")
    messages: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: messages.append(m.text))
            page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
            page.on("dialog", lambda d: (messages.append(f"dialog: {d.message}"), d.dismiss()))
            page.goto((release / "index.html").as_uri())
            page.set_input_files("input[type=file]", out)
            page.wait_for_function("document.title.endsWith(' - speedscope')", timeout=20_000)
            title = page.title()
        finally:
            browser.close()
    assert any(f"Importing as {expected}" in m for m in messages), messages
    assert not any(m.startswith(("page error", "dialog")) for m in messages), messages
    assert title.startswith("demo")
