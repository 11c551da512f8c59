"""The labelled logs (tests/fixtures/labelled/, from real PostgreSQL, MariaDB + sysbench and nginx
runs): every planted problem is found with the right fix, no look-alike is flagged, nothing is
reported that no label expects, and no log's table is longer than 40 rows before "and N more"."""

from __future__ import annotations

import pytest
from helpers.labels import labels, per_rule, score

FILES = list(dict.fromkeys(lb.file for lb in labels()))


@pytest.fixture(scope="module")
def scores():
    return {name: score(name) for name in FILES}


@pytest.fixture(params=FILES)
def scored(request, scores):
    return scores[request.param]


def test_every_planted_problem_is_found_once_with_the_right_fix(scored):
    for label, n in scored.found:
        assert n == 1, f"{scored.file}: {label.rule} on {label.key_contains!r} ({label.why}): {n} findings"
        row = next(r for _, r in scored.findings.iterrows() if label.matches(r))
        assert label.fix_contains in row["fix"], f"{label.rule} {label.key_contains!r}: fix {row['fix']!r}"


def test_no_look_alike_is_flagged_and_nothing_unexpected_is_reported(scored):
    assert [(lb.rule, lb.why, r["title"]) for lb, r in scored.flagged] == []
    assert [(r["rule"], r["key"]) for r in scored.unlabelled] == []


def test_a_log_gives_at_most_40_rows_and_the_first_rows_save_the_most(scored):
    assert scored.shown <= 40
    rates = scored.findings["saving_s_per_hour"].dropna()
    assert rates.is_monotonic_decreasing and len(rates) >= len(scored.findings) - 2


def test_precision_and_recall_per_rule_are_perfect_on_the_labelled_set(scores):
    table = per_rule(list(scores.values()))
    assert (table["missed"] == 0).all() and (table["false_positives"] == 0).all()
    assert table["planted"].sum() == sum(lb.expect == "fire" for lb in labels())
