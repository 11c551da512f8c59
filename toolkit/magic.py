"""IPython integration: ``%load_ext toolkit`` and the ``%%profile`` cell magic.

Loading the extension makes plotly figures display as plotly's own JSON mimetype (small in
stored notebooks, drawn by JupyterLab; exported HTML embeds plotly.js once) with a static PNG
beside it for viewers that run no JavaScript (GitHub, nbviewer; see
:mod:`toolkit.report.static`), and registers the magics.

The ``%%profile`` cell magic: profile a cell, keep the Profile, show where the time went.

    %load_ext toolkit

    %%profile -o prof --interval 0.001 --top 10
    result = slow_function()

runs the cell under pyinstrument (``--engine cprofile`` for cProfile) through
:func:`toolkit.profiling`, keeps the :class:`~toolkit.Profile` in the variable named by ``-o``
(default ``_profile``), and displays two outputs, each a mimebundle with both ``text/html`` and
``text/plain`` so it survives every way a notebook is rendered:

1. the flame graph (:func:`toolkit.plots.flame`; plotly's JSON mimetype for JupyterLab, an
   HTML ``<div>`` for pages that load plotly.js, and a text summary with the hot path);
2. the top functions by self time (``prof.functions().head(top)``) as an HTML and a text table.

Stacks are cut to start at the cell's own code (``Profile.focus`` on the cell's ``<module>``),
so IPython's machinery around it does not show. The magic only parses arguments and calls the
library; an exception in the cell is raised after the profile is kept.
"""

from __future__ import annotations

import html
import shlex
from typing import Any

import pandas as pd

PLOTLY_MIME = "application/vnd.plotly.v1+json"
DEFAULT_VARIABLE = "_profile"


def parse_args(line: str) -> dict[str, Any]:
    """The magic's options as a dict: ``out``, ``interval``, ``engine``, ``top``, ``min_fraction``.

        >>> parse_args("-o prof --interval 0.002 --top 5")["out"], parse_args("")["interval"]
        ('prof', 0.001)
    """
    import argparse

    ap = argparse.ArgumentParser(prog="%%profile", add_help=False, exit_on_error=False)
    ap.add_argument("-o", "--out", default=DEFAULT_VARIABLE,
                    help="variable that keeps the Profile (default _profile)")
    ap.add_argument("--interval", type=float, default=0.001, help="sampling interval in seconds")
    ap.add_argument("--engine", choices=("pyinstrument", "cprofile"), default="pyinstrument")
    ap.add_argument("--top", type=int, default=10, help="rows of the top-functions table")
    ap.add_argument("--min-fraction", type=float, default=0.005,
                    help="fold call paths below this fraction of the total into 'other'")
    try:
        ns = ap.parse_args(shlex.split(line))
    except (argparse.ArgumentError, SystemExit) as exc:
        from .errors import InputError
        raise InputError(f"%%profile: {exc}; usage: {ap.format_usage().strip()}") from None
    if not ns.out.isidentifier():
        from .errors import InputError
        raise InputError(f"%%profile: -o needs a Python variable name, not {ns.out!r}")
    return vars(ns)


class FigureDisplay:
    """A plotly figure as a mimebundle: plotly JSON, an HTML div (no plotly.js) and text."""

    def __init__(self, fig: Any, text: str):
        self.fig, self.text = fig, text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        import json

        import plotly.graph_objects as go
        import plotly.io as pio

        from .markup import escape_label, map_drawn

        spec = json.loads(pio.to_json(self.fig, validate=False))
        # the HTML rendering's labels (function names) escaped as in exports: markup shows as text
        escaped = go.Figure(map_drawn(spec, escape_label))
        bundle = {PLOTLY_MIME: {"data": spec.get("data", []), "layout": spec.get("layout", {}), "config": {}},
                  "text/html": escaped.to_html(full_html=False, include_plotlyjs=False),
                  "text/plain": self.text}
        from .report.static import png

        image = png(escaped)
        if image:
            bundle["image/png"] = image
        return bundle


class TableDisplay:
    """Heading lines and a DataFrame as a mimebundle: ``text/html`` and ``text/plain``."""

    def __init__(self, heading: str, table: pd.DataFrame):
        self.heading, self.table = heading, table

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        head = "<br>".join(html.escape(line) for line in self.heading.splitlines())
        return {"text/html": f"<p>{head}</p>" + self.table.to_html(index=False, escape=True),
                "text/plain": f"{self.heading}\n{self.table.to_string(index=False)}"}


def top_table(prof: Any, n: int) -> pd.DataFrame:
    """``prof.functions()``'s top ``n`` rows by self time, rounded for reading."""
    f = prof.functions().head(n)
    out = f[["function", "file", "line", "self_s", "self_pct", "total_s", "total_pct"]].copy()
    for c in ("self_s", "total_s"):
        out[c] = out[c].round(4)
    for c in ("self_pct", "total_pct"):
        out[c] = out[c].round(1)
    return out


def summary_text(prof: Any, variable: str) -> str:
    """One paragraph: duration, samples, the hottest path, where the Profile is kept."""
    parts = [f"%%profile: {prof.duration_s:.3f} s"]
    if getattr(prof, "samples", None) is not None:
        rate = f" at {prof.rate_hz:g} Hz" if getattr(prof, "rate_hz", None) else ""
        parts.append(f"{prof.samples} samples{rate}")
    text = ", ".join(parts) + f"; the Profile is in `{variable}`."
    hot = prof.hot_paths(1)
    if len(hot):
        row = hot.iloc[0]
        text += f"\nhottest path ({row['self_s']:.3f} s, {row['pct']:.1f}%): {row['path'].replace(';', ' -> ')}"
    return text


def run_profiled(ipython: Any, cell: str, interval: float = 0.001, engine: str = "pyinstrument") -> tuple[Any, BaseException | None]:
    """Run ``cell`` in the user namespace under :func:`toolkit.profiling`; returns the Profile
    (cut to the cell's own frames) and the exception the cell raised, if any."""
    from .profiles.run import profiling

    code = ipython.transform_cell(cell)
    filename = ipython.compile.cache(code, ipython.execution_count, raw_code=cell)
    compiled = ipython.compile(code, filename, "exec")
    error: BaseException | None = None
    with profiling(interval=interval, engine=engine) as p:
        try:
            exec(compiled, ipython.user_global_ns, ipython.user_ns)
        except Exception as exc:  # kept: the profile up to the error is still useful
            error = exc
    prof = getattr(p, "profile", p)
    try:
        prof = prof.focus("<module>", filename)
    except Exception:  # noqa: BLE001  (nothing sampled inside the cell: keep the whole profile)
        pass
    return prof, error


def profile_cell(ipython: Any, line: str, cell: str) -> Any:
    """What ``%%profile`` does: parse, run, keep, display (see the module docstring)."""
    from IPython.display import display

    from .plots.flame import flame

    opts = parse_args(line)
    prof, error = run_profiled(ipython, cell, interval=opts["interval"], engine=opts["engine"])
    ipython.user_ns[opts["out"]] = prof
    text = summary_text(prof, opts["out"])
    fig = flame(prof, min_fraction=opts["min_fraction"],
                title=f"%%profile: {prof.duration_s:.3g} s (box width = total seconds)", height=450)
    display(FigureDisplay(fig, text))
    # the summary again above the table: exported HTML draws the figure from its plotly JSON
    # and never shows the figure's text/plain
    display(TableDisplay(f"{text}\nTop {opts['top']} functions by self time (seconds, percent of "
                         f"{prof.duration_s:.3f} s)", top_table(prof, opts["top"])))
    if error is not None:
        raise error
    return None


def register(ipython: Any) -> None:
    """Register ``%%profile`` on ``ipython`` (called by ``%load_ext toolkit``)."""

    def profile(line: str, cell: str) -> None:
        return profile_cell(ipython, line, cell)

    profile.__doc__ = __doc__
    ipython.register_magic_function(profile, magic_kind="cell", magic_name="profile")


def load_ipython_extension(ipython: Any) -> None:
    from .report.static import enable

    enable()
    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:  # nothing to undo beyond the renderer
    pass
