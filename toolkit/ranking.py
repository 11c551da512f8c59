"""The ranked findings table: :func:`to_frame` turns finding rows into it; :class:`FindingsTable`.

One builder for every way findings are asked for (``tk.findings`` and each domain's
``detectors.findings``), so they agree (see :mod:`toolkit.rules` for the rows and what the
columns mean):

- grouped: one row per (rule, ``key``); the same finding from several inputs (one workload
  logged as stderr, csvlog and jsonlog; one program profiled by five profilers) is one row whose
  ``also_in`` names the other inputs;
- ranked: by ``saving_s_per_hour`` (descending), severity breaking ties, findings without an
  estimate last; ``rank`` numbers them 1, 2, ...;
- capped: with ``per_rule``, each rule's rows past that many are folded into one "and N more"
  row (``more`` holds N) at the end of the table, so one rule cannot bury the others.

Example::

    >>> from toolkit import rules as R
    >>> r = R.rule("example.rule", "caching", "a demo rule", severity="low")
    >>> rows = [R.finding(r, f"t{i}", "e", key=f"k{i}", saving_s=i, span_s=3600) for i in range(4)]
    >>> table = to_frame(rows, per_rule=2)
    >>> table[["rank", "key", "more"]].values.tolist()
    [[1, 'k3', 0], [2, 'k2', 0], [<NA>, 'example.rule (more)', 2]]
    >>> _ = R.RULES.pop("example.rule")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from . import schema
from .rules import SEVERITIES, duration

# The columns every findings table has after the schema's nine (see toolkit.rules.finding).
EXTRA_COLUMNS = ("key", "occurrences", "saving", "saving_s_per_hour", "saving_s", "round_trips",
                 "saving_bytes", "span_s", "also_in", "more", "rank")
_NUMBERS = ("saving_s_per_hour", "saving_s", "round_trips", "saving_bytes", "span_s")


class FindingsTable(pd.DataFrame):
    """The ranked findings table: a DataFrame with :meth:`top`."""

    @property
    def _constructor(self):
        return FindingsTable

    def top(self, n: int = 10) -> FindingsTable:
        """The ``n`` findings to fix first (the "and N more" rows left out)."""
        more = self["more"] if "more" in self.columns else pd.Series(0, index=self.index)
        return self[more.fillna(0).astype(int) == 0].head(n)

    def counts(self) -> dict[str, int]:
        """How many findings the table holds, an "and N more" row counting its N: ``findings``
        and one count per severity (``high``, ``medium``, ``low``)."""
        more = self["more"].fillna(0).astype(int) if "more" in self.columns else pd.Series(0, index=self.index)
        weight = more.clip(lower=1)
        by = weight.groupby(self["severity"]).sum() if len(self) else pd.Series(dtype=int)
        return {"findings": int(weight.sum()), **{s: int(by.get(s, 0)) for s in SEVERITIES}}


def _empty() -> FindingsTable:
    df = schema.empty("findings")
    for c in EXTRA_COLUMNS:
        df[c] = pd.Series([], dtype="float64" if c in _NUMBERS else "object")
    return FindingsTable(df)


def _merge_same(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (rule, key): the best-ranked one, with the other inputs in ``also_in``."""
    if df.empty:
        return df
    keys = list(zip(df["rule"], df["key"].astype(str), strict=True))
    first: dict[tuple[str, str], int] = {}
    others: dict[int, set[str]] = {}
    for i, (k, own, also) in enumerate(zip(keys, df["file"], df["also_in"], strict=True)):
        files = {str(own)} if isinstance(own, str) and own else set()
        files |= {p for p in str(also).split(", ") if p} if isinstance(also, str) else set()
        j = first.setdefault(k, i)
        others.setdefault(j, set()).update(files)
    keep = sorted(first.values())
    out = df.iloc[keep].copy()
    out["also_in"] = [", ".join(sorted(others[j] - {str(f)})) for j, f in zip(keep, out["file"], strict=True)]
    return out


def _fold(df: pd.DataFrame, per_rule: int) -> pd.DataFrame:
    """The first ``per_rule`` rows of each rule, then one "and N more" row per rule."""
    real = df[df["more"] == 0]
    nth = real.groupby("rule", sort=False).cumcount()
    shown = real[nth < per_rule]
    folded = pd.concat([real[nth >= per_rule], df[df["more"] > 0]])
    if folded.empty:
        return df
    rows = []
    for rule_id, g in folded.groupby("rule", sort=False):
        n = int((g["more"] == 0).sum() + g["more"].sum())
        rate = g["saving_s_per_hour"].sum(min_count=1)
        names = "; ".join(g.loc[g["more"] == 0, "title"].astype(str).head(8))
        base = g.iloc[0]
        rows.append({"rule": rule_id, "area": base["area"], "practice": base["practice"],
                     "severity": min(g["severity"], key=SEVERITIES.index), "title": f"… and {n} more {rule_id} findings",
                     "evidence": f"{n} more findings of {rule_id}, ranked below the {per_rule} shown"
                                 + (f": {names}" + ("; …" if n > 8 else "") if names else "") + ".",
                     "fix": base["fix"], "file": None, "line": None, "key": f"{rule_id} (more)",
                     "occurrences": int(pd.to_numeric(g["occurrences"], errors="coerce").fillna(1).sum()),
                     "saving": (f"≈ {duration(rate)} per hour of evidence together" if pd.notna(rate)
                                else "not estimated"),
                     "saving_s_per_hour": rate, "also_in": "", "more": n})
    more = pd.DataFrame(rows).sort_values("saving_s_per_hour", ascending=False, na_position="last",
                                          kind="stable")
    return pd.concat([shown, more], ignore_index=True)


def to_frame(rows: Iterable[Mapping[str, Any]], *, per_rule: int | None = None,
             dedupe: bool = True) -> FindingsTable:
    """Finding rows (or finding tables' records) -> the ranked ``findings`` table.

    Grouped by (rule, key) with ``dedupe``; sorted by ``saving_s_per_hour`` (descending; rows
    without an estimate last), then severity, then the order given; with ``per_rule``, each
    rule's rows past that many are folded into one "and N more" row at the end."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        return _empty()
    df = schema.coerce(df, "findings")
    for c in EXTRA_COLUMNS:
        if c not in df.columns:
            df[c] = None
    df["key"] = df["key"].astype("object").where(df["key"].notna(), df["title"])
    df["also_in"] = df["also_in"].astype("object").where(df["also_in"].notna(), "")
    df["more"] = pd.to_numeric(df["more"], errors="coerce").fillna(0).astype(int)
    for c in _NUMBERS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["saving"] = df["saving"].astype("object").where(df["saving"].notna(), "not estimated")
    sev = df["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    df = (df.assign(_more=df["more"] > 0, _rate=-df["saving_s_per_hour"], _sev=sev)
          .sort_values(["_more", "_rate", "_sev"], kind="stable", na_position="last")
          .drop(columns=["_more", "_rate", "_sev"]))
    if dedupe:  # "and N more" rows stay apart: _fold adds up their counts
        df = pd.concat([_merge_same(df[df["more"] == 0]), df[df["more"] > 0]])
    if per_rule is not None:
        df = _fold(df, per_rule)
    df = df.reset_index(drop=True)
    real = df["more"] == 0
    df["rank"] = pd.array([i + 1 if r else None for i, r in enumerate(real)], dtype="Int64")
    df = schema.coerce(df, "findings")
    return FindingsTable(df)
