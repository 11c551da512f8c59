"""Static images of the figures a notebook shows, for the viewers that run no JavaScript
(GitHub's and nbviewer's renderers): each plotly output carries an ``image/png`` beside
plotly's own JSON (JupyterLab still draws the interactive figure from the JSON; an HTML export
draws it with plotly.js and leaves the image out).

The image is plotly's own static export (kaleido), which drives the machine's Chrome or
Chromium (Debian's ``/usr/bin/chromium``; ``BROWSER_PATH`` names another; nothing is
downloaded). One browser is started per kernel, on the first figure, and kept for the next
(a figure then takes a fraction of a second). PNG, not SVG: nbval leaves ``image/png`` out of
its comparison (plotly's SVG holds random clip-path ids, so a stored SVG would differ on every
run), and a PNG of a flame graph is smaller than its SVG.

``%load_ext toolkit`` calls :func:`enable`. ``PERF_TOOLKIT_STATIC_IMAGES=0`` leaves the images
out (the test suite's notebook runs, whose stored copies are compared without them, and
``perf-toolkit notebook`` exports, which draw the figures themselves). When no browser can be
found the figure is shown without its image and one warning says why.

    >>> import plotly.graph_objects as go
    >>> bundle = renderer().to_mimebundle(go.Figure(go.Bar(y=[1, 2])).to_dict())   # doctest: +SKIP
    >>> sorted(bundle)                                                              # doctest: +SKIP
    ['image/png']
"""

from __future__ import annotations

import atexit
import base64
import os
import sys
import warnings
from typing import Any

ENV = "PERF_TOOLKIT_STATIC_IMAGES"
RENDERER = "perf_toolkit_png"
WIDTH = 900       # pixels: about the width GitHub gives a notebook output
HEIGHT = 500      # when the figure does not set its own

_state: dict[str, Any] = {"server": False, "failed": None}


def wanted() -> bool:
    """Whether figures get a static image (``PERF_TOOLKIT_STATIC_IMAGES`` is not 0/false/no/off)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _start_browser() -> None:
    import kaleido

    if not _state["server"]:
        kaleido.start_sync_server(silence_warnings=True)
        _state["server"] = True
        atexit.register(_stop_browser)


def _stop_browser() -> None:
    if _state["server"]:
        import kaleido

        try:
            kaleido.stop_sync_server(silence_warnings=True)
        except Exception:  # noqa: BLE001  (the process is ending anyway)
            pass
        _state["server"] = False


def png(fig: Any) -> str | None:
    """The figure (a Figure or its dict) as a base64 PNG, ``WIDTH`` pixels wide unless it sets
    its own size; None when static images are off or cannot be made (said once, on stderr)."""
    if not wanted() or _state["failed"] is not None:
        return None
    import plotly.io as pio

    layout = (fig.get("layout") if isinstance(fig, dict) else fig.to_dict().get("layout")) or {}
    try:
        _start_browser()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "kopts ignored when using a server": we use one
            data = pio.to_image(fig, format="png", width=int(layout.get("width") or WIDTH),
                                height=int(layout.get("height") or HEIGHT), scale=1, validate=False)
    except Exception as exc:  # noqa: BLE001  (no kaleido, no browser: the figure still shows)
        _state["failed"] = f"{type(exc).__name__}: {exc}"
        print(f"perf-toolkit: figures are shown without a static image ({_state['failed']}); "
              f"install kaleido and Chromium, or set {ENV}=0", file=sys.stderr)
        return None
    return base64.b64encode(data).decode("ascii")


def renderer() -> Any:
    """A plotly renderer whose bundle is the figure's ``image/png`` (:func:`png`), to pair with
    ``plotly_mimetype``."""
    from plotly.io._base_renderers import MimetypeRenderer

    class StaticImage(MimetypeRenderer):
        def to_mimebundle(self, fig_dict: dict) -> dict[str, Any]:
            image = png(fig_dict)
            return {"image/png": image} if image else {}

    return StaticImage()


def enable() -> None:
    """Figures display as plotly's JSON mimetype plus a static PNG (when :func:`wanted`)."""
    import plotly.io as pio

    pio.renderers[RENDERER] = renderer()
    pio.renderers.default = f"plotly_mimetype+{RENDERER}"
