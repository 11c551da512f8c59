"""Counted multisets (toolkit.quantiles): quantiles bit for bit numpy's on the expanded values,
merges that equal counting the concatenation, sums that do not depend on the order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.quantiles import counted, counted_sum, merge_counted, weighted_quantiles

# durations as logs write them: a few distinct values, each repeated (and extremes of float64)
DISTINCT = st.lists(st.one_of(st.floats(0, 1e7, allow_nan=False), st.sampled_from([0.0, 5e-324, 1.7e308])),
                    min_size=1, max_size=12)


@st.composite
def repeated(draw) -> np.ndarray:
    pool = draw(DISTINCT)
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=400))
    return np.array([pool[i] for i in picks], dtype=np.float64)


@given(repeated(), st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_weighted_quantiles_are_numpy_linear_quantiles_bit_for_bit(values, qs):
    # GIVEN values with many repeats, kept as distinct values and counts
    # WHEN their quantiles are taken from the counts
    got = weighted_quantiles(*counted(values), qs)
    # THEN they are exactly np.quantile's (type 7) on every value, not merely close
    np.testing.assert_array_equal(got, np.quantile(values, qs))
    np.testing.assert_array_equal(weighted_quantiles(*counted(values), np.array([50, 95, 99]) / 100),
                                  np.percentile(values, [50, 95, 99]))


def test_weighted_quantiles_on_known_sets():
    # 1, 2, 3, 4: the median between 2 and 3; p95 at rank 2.85
    assert weighted_quantiles(np.array([1.0, 2, 3, 4]), np.array([1, 1, 1, 1]), (0.5, 0.95)).tolist() == \
        [2.5, pytest.approx(3.85)]
    # 97 calls of 1 ms and 3 of 100 ms: p95 still 1, p97 at rank 96.03 between 1 and 100, p99 100
    v, c = np.array([1.0, 100.0]), np.array([97, 3])
    assert weighted_quantiles(v, c, (0.95, 0.97, 0.99)).tolist() == [1.0, pytest.approx(3.97), 100.0]
    # one value: every quantile is it; none: NaN
    assert weighted_quantiles(np.array([7.5]), np.array([1000]), (0, 0.5, 1)).tolist() == [7.5] * 3
    assert np.isnan(weighted_quantiles(np.empty(0), np.empty(0, np.int64), (0.5,))).all()


def test_weighted_quantiles_take_the_value_at_the_rank_across_counts():
    # GIVEN 10 calls of 2 ms then 10 of 4 ms: ranks 0-9 are 2, 10-19 are 4
    v, c = np.array([2.0, 4.0]), np.array([10, 10])
    # THEN the median (rank 9.5) is halfway, 0.45 (rank 8.55) is 2 and 0.55 (rank 10.45) is 4
    assert weighted_quantiles(v, c, (0.45, 0.5, 0.55)).tolist() == [2.0, 3.0, 4.0]


@given(repeated(), repeated())
def test_merge_counted_equals_counting_the_concatenation(a, b):
    merged = merge_counted(*counted(a), *counted(b))
    expected = counted(np.concatenate([a, b]))
    np.testing.assert_array_equal(merged[0], expected[0])
    np.testing.assert_array_equal(merged[1], expected[1])
    assert merged[1].dtype == np.int64


def test_merge_counted_with_an_empty_side_returns_the_other():
    v, c = np.array([1.0, 3.0]), np.array([2, 5])
    empty = (np.empty(0), np.empty(0, np.int64))
    assert [x.tolist() for x in merge_counted(v, c, *empty)] == [[1.0, 3.0], [2, 5]]
    assert [x.tolist() for x in merge_counted(*empty, v, c)] == [[1.0, 3.0], [2, 5]]
    assert [x.tolist() for x in merge_counted(v, c, np.array([2.0, 3.0]), np.array([1, 1]))] == \
        [[1.0, 2.0, 3.0], [2, 1, 6]]


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=300), st.integers(1, 299))
def test_counted_sum_is_the_same_for_any_split_and_close_to_the_sum(values, cut):
    # GIVEN durations, counted whole and counted as two pieces merged (two workers' ranges)
    a = np.array(values)
    whole = counted(a)
    parts = merge_counted(*counted(a[:cut]), *counted(a[cut:]))
    # THEN the sums are the same to the bit, and within rounding of the exact sum
    assert counted_sum(*whole) == counted_sum(*parts)
    assert counted_sum(*whole) == pytest.approx(math.fsum(values), rel=1e-12, abs=1e-9)


def test_counted_sum_where_running_sums_differ_by_order():
    # 0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1 in float64; the counted sum is one of neither order
    assert (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1
    got = counted_sum(*counted(np.array([0.1, 0.2, 0.3])))
    assert got == counted_sum(*counted(np.array([0.3, 0.2, 0.1]))) == math.fsum([0.1, 0.2, 0.3]) == 0.6
    assert counted_sum(*counted(np.array([2.5] * 4 + [1.0]))) == 11.0
    assert counted_sum(np.empty(0), np.empty(0, dtype=np.int64)) == 0.0
