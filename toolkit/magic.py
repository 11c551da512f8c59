"""IPython integration: ``%load_ext toolkit``.

Loading the extension makes plotly figures display as plotly's own JSON mimetype (small in
stored notebooks, drawn by JupyterLab; exported HTML embeds plotly.js once) and registers the
magics (``%%profile``).
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype"
    from .profiles import magic as profile_magic

    profile_magic.register(ipython)


def unload_ipython_extension(ipython: Any) -> None:  # nothing to undo beyond the renderer
    pass
