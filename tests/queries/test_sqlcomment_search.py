"""The search for comments in a statement column (``sqlcomment._may_have_comment``): a column
without ``/*`` is answered without looking value by value, and never wrongly."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.queries.sqlcomment import _SAMPLE, add_comment_columns

TAGGED = "select 1 /*route='/a'*/"


def _column(values: list, how: str) -> pd.Series:
    if how == "object":
        return pd.Series(values, dtype=object)
    if how == "chunked":  # two pyarrow chunks, the second a slice of a larger array
        half = len(values) // 2
        tail = pa.array(["x /*route='/dropped'*/", *values[half:]], pa.large_string()).slice(1)
        return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(values[:half], pa.large_string()),
                                                                      tail])))
    return pd.Series(values, dtype="string[pyarrow]")


@pytest.mark.parametrize("how", ["object", "arrow", "chunked"])
def test_no_comment_keeps_the_frame_and_a_comment_anywhere_is_found(how):
    # GIVEN many repeated statements (the object column's distinct-text way) without a comment
    plain = ["select 1", "select 2", None] * (_SAMPLE // 2)
    ev = pd.DataFrame({"statement": _column(plain, how)})
    # THEN the frame itself comes back
    assert add_comment_columns(ev) is ev
    # AND one tagged statement far past the first values is found, in its row
    values = plain + [TAGGED] + plain
    got = add_comment_columns(pd.DataFrame({"statement": _column(values, how)}))
    assert got["tag_route"].notna().sum() == 1
    assert got["tag_route"].iloc[len(plain)] == "/a"


@pytest.mark.parametrize("how", ["object", "arrow", "chunked"])
def test_an_opener_split_across_two_values_is_no_comment(how):
    # GIVEN "/" ending one value and "*" starting the next (adjacent in pyarrow's buffer)
    ev = pd.DataFrame({"statement": _column(["select 4 /", "*/ x", "select a / b", "*"], how)})
    # THEN no tag is made and the frame comes back unchanged
    assert add_comment_columns(ev) is ev


def test_unhashable_values_in_an_object_column_are_looked_at_one_by_one():
    ev = pd.DataFrame({"statement": pd.Series([["a"], "select 1"] * 3 + [TAGGED], dtype=object)})
    assert add_comment_columns(ev)["tag_route"].tolist() == [pd.NA] * 6 + ["/a"]


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["/", "*", "/*", "*/", "a", TAGGED, "route='/b'"]),
                                 st.text(alphabet="/*ab '=", max_size=6)), min_size=1, max_size=30))
def test_every_storage_gives_the_same_tags(values):
    frames = {how: add_comment_columns(pd.DataFrame({"statement": _column(values, how)}))
              for how in ("object", "arrow")}
    tags = {how: f.drop(columns="statement").astype("string") for how, f in frames.items()}
    pd.testing.assert_frame_equal(tags["object"], tags["arrow"], check_exact=True)
