"""A digest group's durations in bounded memory (toolkit.queries.digest.DigestGroup): distinct
values with their counts, folded in as they come, merged and shipped compact, with percentiles
still exactly np.percentile's."""

from __future__ import annotations

import gzip
import importlib
import json
import pickle
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from toolkit.queries.digest import COMPACT_AT, DigestGroup, digest, digest_file, digest_range
from toolkit.state import STATE_VERSION

digest_module = importlib.import_module("toolkit.queries.digest")  # (toolkit.queries.digest is the function)
PG = SAMPLES / "queries/postgresql/app/postgresql.log.gz"
EXAMPLE = ("select 1", None, 1)


def fed(durations: np.ndarray, how: str) -> DigestGroup:
    """A group given ``durations`` one call at a time (add), as frames' blocks (take), or as two
    groups merged after a trip through pickle (another process's)."""
    g = DigestGroup()
    if how == "add":
        for d in durations.tolist():
            g.add(d, EXAMPLE)
    elif how == "take":
        for block in np.array_split(durations, 7):
            g.take(len(block), len(block), float(block.max(initial=-np.inf)), EXAMPLE, block)
    else:
        half = len(durations) // 2
        g = fed(durations[:half], "add")
        g.merge(pickle.loads(pickle.dumps(fed(durations[half:], "take"))))
    return g


@st.composite
def repeated_durations(draw) -> np.ndarray:
    # milliseconds to 3 decimals, as PostgreSQL logs them: a few distinct values, many repeats
    pool = draw(st.lists(st.integers(0, 10_000_000), min_size=1, max_size=15))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=300))
    return np.array([pool[i] / 1000 for i in picks], dtype=np.float64)


@given(repeated_durations(), st.sampled_from(["add", "take", "merge"]))
def test_percentiles_are_exactly_numpys_whatever_the_way_in(durations, how):
    # GIVEN durations with many repeats, fed to a group that compacts every 5 values
    with mock.patch.object(digest_module, "COMPACT_AT", 5):
        g = fed(durations, how)
    # THEN p50/p95/p99 are np.percentile's bit for bit, and every call is counted once
    np.testing.assert_array_equal(g.percentiles(), np.percentile(durations, [50, 95, 99]))
    assert int(g.counts.sum()) == g.timed == len(durations)
    assert g.values.tolist() == sorted(set(durations.tolist()))


def test_the_digest_table_percentiles_on_a_known_set():
    # GIVEN 97 calls of 1 ms and 3 of 100 ms, and 0.001 .. 0.004 ms for another query
    ev = pd.DataFrame({"statement": ["select a"] * 100 + ["select b"] * 4,
                       "duration_ms": [1.0] * 97 + [100.0] * 3 + [0.001, 0.002, 0.003, 0.004]})
    d = digest(ev).set_index("fingerprint")
    # THEN p95 is still 1 ms, p99 (rank 98.01) 100 ms; the other's median is halfway
    assert d.loc["select a", ["p50_ms", "p95_ms", "p99_ms"]].tolist() == [1.0, 1.0, 100.0]
    assert d.loc["select b", "p50_ms"] == pytest.approx(0.0025, abs=1e-15)
    assert d.loc["select b", "p99_ms"] == np.percentile([0.001, 0.002, 0.003, 0.004], 99)


def test_a_million_calls_of_a_thousand_durations_hold_a_thousand_values():
    # GIVEN 1,000,000 calls drawn from 1,000 distinct durations (ms to 3 decimals)
    rng = np.random.default_rng(18)
    pool = np.sort(rng.choice(100_000, 1000, replace=False) + 1) / 1000
    calls = pool[rng.integers(0, len(pool), 1_000_000)]
    assert len(np.unique(calls)) == len(pool) == 1000
    # WHEN fed one call at a time
    one = DigestGroup()
    for d in calls.tolist():
        one.add(d, EXAMPLE)
    # THEN it holds the distinct values and at most COMPACT_AT waiting, not a million floats
    assert len(one.values) == len(one.counts) == len(pool)
    assert len(one.durations) < COMPACT_AT and not one.blocks
    assert int(one.counts.sum()) + len(one.durations) == 1_000_000
    # WHEN another group takes the same calls in frames of 10,000
    other = DigestGroup()
    for block in np.split(calls, 100):
        other.take(len(block), len(block), float(block.max()), EXAMPLE, block)
    assert len(other.values) == len(pool) and other.loose < COMPACT_AT
    # AND the two are merged (as two byte ranges, or two workers' states up the tree)
    one.merge(other)
    # THEN the merge holds the distinct values once, each counted twice, nothing waiting
    assert len(one.values) == len(pool) and not one.durations and not one.blocks
    assert one.counts.tolist() == (2 * np.unique(calls, return_counts=True)[1]).tolist()
    assert one.calls == one.timed == 2_000_000
    np.testing.assert_array_equal(one.percentiles(), np.percentile(np.concatenate([calls, calls]), [50, 95, 99]))
    # AND shipped, it is its distinct values: ~16 kB, not the 16 MB of every call's float
    assert len(pickle.dumps(one)) < 20 * len(pool) + 2_000


def test_a_group_shipped_or_stored_is_compact():
    # GIVEN a group with durations waiting (fewer than COMPACT_AT)
    g = DigestGroup()
    for d in (3.0, 1.0, 3.0, 2.0, 3.0):
        g.add(d, EXAMPLE)
    assert g.durations == [3.0, 1.0, 3.0, 2.0, 3.0] and not len(g.values)
    # WHEN pickled (a worker's result, a Dask task's output)
    shipped = pickle.loads(pickle.dumps(g))
    # THEN what travels is the distinct values with their counts
    assert shipped.durations == [] and shipped.blocks == []
    assert (shipped.values.tolist(), shipped.counts.tolist()) == ([1.0, 2.0, 3.0], [1, 1, 3])
    assert (shipped.calls, shipped.timed, shipped.exact_total(), shipped.max) == (5, 5, 12.0, 3.0)


def test_a_byte_range_workers_state_is_compact_and_counts_every_call(tmp_path):
    # GIVEN the PostgreSQL sample's first half digested as a worker digests its byte range
    data = gzip.open(PG).read()
    path = tmp_path / "postgresql.log"
    path.write_bytes(data)
    acc, accounting = digest_range((path, "postgres-stderr", 0, len(data) // 2, None, None, True, {}, {}))
    # WHEN it crosses the process boundary
    acc = pickle.loads(pickle.dumps(acc))
    # THEN every group holds its distinct durations and their counts, nothing else
    assert accounting["records"] > 0
    groups = list(acc.groups.values())
    assert all(not g.durations and not g.blocks for g in groups)
    assert all(int(g.counts.sum()) == g.timed for g in groups)


def test_a_state_of_the_previous_version_is_read_again_not_misread(tmp_path):
    # GIVEN a log digested with a state, its state rewritten as version 1 wrote it (every call's
    # duration, no counts)
    data = gzip.open(PG).read()
    path, state = tmp_path / "postgresql.log", tmp_path / "state"
    half = data.index(b"\n", len(data) // 2) + 1
    path.write_bytes(data[:half])
    digest_file(path, state=state)
    (state_file,) = state.glob("postgresql.log-*.json")
    saved = json.loads(state_file.read_text())
    assert saved["version"] == STATE_VERSION == 3
    for _, g in saved["data"]["digest"]["groups"]:
        g["durations"] = np.repeat(g["durations"], g.pop("counts")).tolist()
    saved["version"] = 1
    state_file.write_text(json.dumps(saved))
    # WHEN the log grows and is digested again
    path.write_bytes(data)
    out = digest_file(path, state=state)
    # THEN the old state is not used: the file is read from 0, to the full read's table
    assert out.attrs["source"]["incremental"].startswith("read from byte 0 (state written by perf-toolkit")
    assert "(state version 1)" in out.attrs["source"]["incremental"]
    full = tmp_path / "full.log"
    full.write_bytes(data)
    pd.testing.assert_frame_equal(out, digest_file(full))
    assert json.loads(state_file.read_text())["version"] == 3  # and replaced by a current one
