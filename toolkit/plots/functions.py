"""Top-functions bar chart of a profile.

    >>> import toolkit as tk
    >>> prof = tk.read_profile("sample_traces/profiles/py-spy/demo_slow.speedscope.json")  # doctest: +SKIP
    >>> tk.plots.top_functions(prof, n=15, by="total_s")                                    # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..profiles.files import package_of, short_file, where
from .flame import PACKAGE_COLOURS, PALETTE

FUNCTION_COLUMNS = ["function", "file", "line", "self_s", "total_s"]
_BY = {"self_s": "self time", "total_s": "total time"}


def top(functions: pd.DataFrame, n: int = 20, by: str = "self_s") -> pd.DataFrame:
    """The ``n`` heaviest rows of a ``functions()`` table by ``by`` (``self_s`` or ``total_s``).

    Returns a new DataFrame (heaviest first) with the input's columns plus ``label`` (unique
    ``function  file:line`` text, file shortened by :func:`~toolkit.profiles.files.short_file`,
    ``<``/``>``/``&`` HTML-escaped for plotly), ``package`` (see :func:`toolkit.plots.flame.package_of`) and
    ``self_pct`` / ``total_pct`` (percent of the whole profile's self time) when missing.
    ``attrs["top"]`` holds ``functions`` (rows in the input), ``shown``, ``shown_s`` (seconds of
    ``by`` shown) and ``total_s`` (the profile's total: the sum of ``self_s``).

        >>> f = pd.DataFrame({"function": ["a", "b", "c"], "file": "x.py", "line": [1, 2, 3],
        ...                   "self_s": [1.0, 3.0, 0.5], "total_s": [4.5, 3.0, 0.5]})
        >>> t = top(f, n=2)
        >>> t["function"].tolist(), t.attrs["top"]["shown_s"]
        (['b', 'a'], 4.0)
    """
    if by not in _BY:
        raise ValueError(f"by must be one of {list(_BY)}")
    missing = [c for c in FUNCTION_COLUMNS if c not in functions.columns]
    if missing:
        raise ValueError(f"functions DataFrame lacks columns {missing}")
    total = float(functions["self_s"].sum())
    out = functions.sort_values(by, ascending=False, kind="stable").head(n).reset_index(drop=True)
    for col, src in (("self_pct", "self_s"), ("total_pct", "total_s")):
        if col not in out.columns:
            out[col] = 100 * out[src] / total if total else 0.0
    labels = [f"{f}  {where(short_file(fi), ln)}" for f, fi, ln in zip(out["function"], out["file"], out["line"], strict=True)]
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):  # two rows with one label would merge into one bar
        seen[lab] = seen.get(lab, 0) + 1
        if seen[lab] > 1:
            labels[i] = f"{lab} #{seen[lab]}"
    # plotly.js reads "<...>" in axis text as markup ("<listcomp>", cProfile's "<method ...>"):
    # escape, so the tick shows the name and two such labels do not collapse into one tick
    out["label"] = [html.escape(lab, quote=False) for lab in labels]
    out["package"] = [package_of(f) for f in out["file"]]
    out.attrs = dict(functions.attrs)
    out.attrs["top"] = {"functions": len(functions), "shown": len(out), "by": by,
                        "shown_s": float(out[by].sum()), "total_s": total}
    return out


def top_functions(profile: Any, n: int = 20, by: str = "self_s", *, title: str | None = None,
                  height: int | None = None) -> go.Figure:
    """Horizontal bar chart of the ``n`` functions with the most ``by`` seconds.

    ``profile`` is a Profile or its ``functions()`` DataFrame. Bars are coloured by package;
    hover shows file:line, package, self and total seconds and percent, and the call count
    (cProfile's ``calls``) or leaf sample count (``samples``) when the table has it. The title says how many
    of how many functions are shown and what share of the time they cover.

        >>> fig = top_functions(prof, n=10)                      # doctest: +SKIP
    """
    functions = profile if isinstance(profile, pd.DataFrame) else profile.functions()
    t = top(functions, n=n, by=by)
    info = t.attrs["top"]
    colours = {}
    free = iter(PALETTE * 4)
    for p in t["package"]:
        if p not in colours:
            colours[p] = PACKAGE_COLOURS.get(p) or next(free)
    other_by = "total_s" if by == "self_s" else "self_s"
    custom = t[["file", "package", "self_s", "self_pct", "total_s", "total_pct"]].copy()
    custom["file"] = [where(short_file(f), ln) for f, ln in zip(t["file"], t["line"], strict=True)]
    # deterministic profilers (cProfile) count calls; sampled ones count samples at the leaf
    extra, extra_label = None, ""
    for col, label in (("calls", "calls"), ("samples", "samples (self)")):
        if col in t.columns and t[col].notna().any():
            extra, extra_label = col, label
            custom["extra"] = t[col].astype("Float64").fillna(0).astype(float).round(0).astype("int64")
            break
    fig = go.Figure()
    for pkg, rows in t.groupby("package", sort=False):
        fig.add_bar(
            x=rows[by], y=rows["label"], orientation="h", name=pkg or "no file",
            marker_color=colours[pkg], customdata=custom.loc[rows.index].to_numpy().tolist(),
            hovertemplate=("<b>%{y}</b><br>%{customdata[0]}<br>package: %{customdata[1]}<br>"
                           "self: %{customdata[2]:.4g} s (%{customdata[3]:.1f}%)<br>"
                           "total: %{customdata[4]:.4g} s (%{customdata[5]:.1f}%)"
                           + (f"<br>{extra_label}: %{{customdata[6]:,}}" if extra else "")
                           + "<extra></extra>"),
        )
    share = 100 * info["shown_s"] / info["total_s"] if info["total_s"] and by == "self_s" else None
    cover = f", {share:.1f}% of all self time" if share is not None else ""
    fig.update_layout(
        title={"text": title or f"Top {info['shown']} of {info['functions']:,} functions by {_BY[by]}",
               "subtitle": {"text": f"{info['shown_s']:.3g} s shown{cover}; profile total "
                                    f"{info['total_s']:.3g} s ({other_by} in the hover)"}},
        xaxis_title=f"{_BY[by]} (s)", yaxis_title="function  file:line",
        yaxis={"categoryorder": "array", "categoryarray": t["label"].tolist()[::-1]},
        legend_title_text="package", barmode="stack",
        height=height or max(300, 80 + 24 * len(t)), margin={"t": 80},
    )
    return fig
