"""The labelled logs (tests/fixtures/labelled/) scored against their labels: per rule, the planted
problems found (true positives), the findings that should not be there (false positives: a
look-alike flagged, or anything no label expects) and the planted problems missed.

    >>> scores = score_all()                   # doctest: +SKIP
    >>> per_rule(scores)                       # doctest: +SKIP

Used by tests/foundation/test_labelled.py and benchmarks/labelled.py (which writes the table in
benchmarks/RESULTS.md).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pandas as pd

import toolkit as tk
from toolkit.ranking import to_frame
from toolkit.rules import PER_RULE

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "labelled"


@dataclasses.dataclass
class Label:
    file: str
    expect: str  # "fire" or "silent"
    rule: str
    key_contains: str
    fix_contains: str
    why: str

    def matches(self, row) -> bool:
        return row["rule"] == self.rule and self.key_contains.lower() in str(row["key"]).lower()


def labels() -> list[Label]:
    with open(FOLDER / "labels.csv", newline="") as fh:
        return [Label(**row) for row in csv.DictReader(fh)]


def evidence(name: str) -> list:
    """The file's evidence as the public readers return it."""
    path = FOLDER / name
    if "access" in name:
        return [tk.read_access_log(path, log_format=(FOLDER / "nginx.log_format").read_text())]
    return [tk.read_queries(path), tk.read_server_events(path)]


@dataclasses.dataclass
class Score:
    file: str
    findings: pd.DataFrame  # every finding (no per-rule cap)
    shown: int  # rows of the default table (with the per-rule caps)
    found: list[tuple[Label, int]]  # fire labels and how many findings match each
    flagged: list[tuple[Label, pd.Series]]  # silent labels a finding matches
    unlabelled: list[pd.Series]  # findings no fire label expects


def score(name: str, all_labels: list[Label] | None = None) -> Score:
    mine = [lb for lb in (all_labels or labels()) if lb.file == name]
    ev = evidence(name)
    table = tk.findings(*ev, per_rule=None)
    rows = [r for _, r in table.iterrows()]
    fire = [lb for lb in mine if lb.expect == "fire"]
    silent = [lb for lb in mine if lb.expect == "silent"]
    # the default table caps each rule: the same rows, folded (what tk.findings(*ev) returns)
    return Score(
        file=name, findings=table, shown=len(to_frame(table.to_dict("records"), per_rule=PER_RULE)),
        found=[(lb, sum(lb.matches(r) for r in rows)) for lb in fire],
        flagged=[(lb, r) for lb in silent for r in rows if lb.matches(r)],
        unlabelled=[r for r in rows if not any(lb.matches(r) for lb in fire)])


def score_all() -> list[Score]:
    all_labels = labels()
    return [score(name, all_labels) for name in dict.fromkeys(lb.file for lb in all_labels)]


def per_rule(scores: list[Score]) -> pd.DataFrame:
    """One row per rule: planted (fire labels), found, missed, look-alikes (silent labels),
    false_positives (findings matching a silent label or no label), precision, recall."""
    out: dict[str, dict[str, int]] = {}

    def row(rule):
        return out.setdefault(rule, {"planted": 0, "found": 0, "missed": 0, "look_alikes": 0,
                                     "false_positives": 0})

    for s in scores:
        for lb, n in s.found:
            r = row(lb.rule)
            r["planted"] += 1
            r["found" if n else "missed"] += 1
        for lb in {lb.why: lb for lb, _ in s.flagged}.values():
            row(lb.rule)
        for r_ in s.unlabelled:
            row(r_["rule"])["false_positives"] += 1
        for lb in labels():
            if lb.file == s.file and lb.expect == "silent":
                row(lb.rule)["look_alikes"] += 1
    df = pd.DataFrame.from_dict(out, orient="index").rename_axis("rule").reset_index().sort_values("rule")
    df["precision"] = df["found"] / (df["found"] + df["false_positives"]).where(lambda x: x > 0)
    df["recall"] = df["found"] / df["planted"].where(lambda x: x > 0)
    return df.reset_index(drop=True)
