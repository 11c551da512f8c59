"""Figures of the findings table."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..rules import AREAS, SEVERITIES

_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#7f8c8d"}


def findings_by_area(findings: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Stacked horizontal bars: how many findings each checklist area has, by severity (an
    "and N more" row of the ranked table counts its N)."""
    weight = (findings["more"].fillna(0).astype(int).clip(lower=1) if "more" in findings.columns
              else pd.Series(1, index=findings.index))
    counts = (weight.groupby([findings["area"], findings["severity"]]).sum().unstack(fill_value=0)
              if len(findings) else pd.DataFrame())
    total = int(weight.sum())
    areas = [a for a in AREAS if a in counts.index][::-1]
    fig = go.Figure()
    for severity in SEVERITIES:
        values = [int(counts.loc[a, severity]) if severity in counts.columns else 0 for a in areas]
        fig.add_bar(y=areas, x=values, name=severity, orientation="h", marker_color=_COLOURS[severity],
                    hovertemplate="%{y}: %{x} " + severity + " finding(s)<extra></extra>")
    fig.update_layout(barmode="stack", title=title or f"{total} findings by checklist area",
                      xaxis_title="findings (count)", yaxis_title="checklist area",
                      legend_title="severity", height=160 + 32 * max(len(areas), 1))
    return fig
