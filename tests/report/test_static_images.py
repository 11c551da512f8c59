"""Stored notebooks show their figures where they are shared: every plotly output carries a
static PNG (plotly's own export, kaleido with the machine's Chromium) for the renderers that run
no JavaScript (GitHub, nbviewer), next to plotly's JSON for JupyterLab. nbval compares neither
the PNG nor its absence (image/png is on its skip list), so the stored images do not make it
flaky; an HTML export draws the interactive figure from the JSON."""

from __future__ import annotations

import base64
import struct

import nbformat
import plotly.graph_objects as go
import pytest
from helpers.pages import figures

from toolkit.report import static
from toolkit.report.notebooks import PLOTLY_MIME, available, export_html, find_notebook


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


@pytest.mark.parametrize("name", available())
def test_every_stored_figure_carries_a_static_image(name):
    nb = nbformat.read(find_notebook(name), as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", []) if PLOTLY_MIME in o.get("data", {})]
    assert outputs, f"{name} has no stored figure"
    for o in outputs:
        layout = o["data"][PLOTLY_MIME].get("layout") or {}
        assert "image/png" in o["data"], f"a figure of {name} has no static image"
        width, height = _png_size(o["data"]["image/png"])
        assert width == (layout.get("width") or static.WIDTH)
        assert height == (layout.get("height") or static.HEIGHT)


def test_the_notebooks_stay_a_reasonable_size():
    for name in available():
        assert find_notebook(name).stat().st_size < 1_000_000, name


def test_an_export_draws_every_figure_from_its_json(tmp_path):
    path = find_notebook("02_slow_queries")
    page = export_html(path, tmp_path / "02.html").read_text()
    stored = sum(PLOTLY_MIME in o.get("data", {}) for c in nbformat.read(path, as_version=4).cells
                 for o in c.get("outputs", []))
    assert stored and len(figures(page)) == stored


@pytest.mark.browser
def test_the_renderer_draws_a_png_with_the_machines_chromium(monkeypatch):
    # GIVEN static images on (the suite turns them off for the notebooks it re-runs)
    from helpers.programs import require_program

    require_program("chromium")
    monkeypatch.setenv(static.ENV, "1")
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"height": 300})
    # WHEN a figure is rendered the way %load_ext toolkit displays it
    bundle = static.renderer().to_mimebundle(fig.to_dict())
    # THEN its bundle holds a PNG of the figure's size
    assert _png_size(bundle["image/png"]) == (static.WIDTH, 300)
    # AND off, no browser is started and the figure shows without an image
    monkeypatch.setenv(static.ENV, "0")
    assert static.renderer().to_mimebundle(fig.to_dict()) == {}
