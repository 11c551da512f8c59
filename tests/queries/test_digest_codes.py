"""The frame digest codes each distinct statement once (``DigestAccumulator._fingerprint_codes``):
the table must not depend on how the columns are stored (Python objects, pyarrow strings,
categories), nor on the chunks the frame is fed in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.queries.digest import digest, digest_stream

STATEMENTS = ["select 1", "SELECT 2", "select x from t", "update t set a = 1", None]


def _as(ev: pd.DataFrame, how: str) -> pd.DataFrame:
    out = ev.copy()
    for c in ("statement", "database", "session", "kind", "parameters"):
        if how == "arrow":
            out[c] = out[c].astype("string[pyarrow]")
        elif how == "chunks":  # pyarrow chunks of 3 rows (a reader's pieces)
            values = out[c].tolist()
            chunks = [pa.array(values[i:i + 3], pa.large_string(), from_pandas=True) for i in range(0, len(values), 3)]
            out[c] = pd.arrays.ArrowStringArray(pa.chunked_array(chunks, pa.large_string()))
        elif how == "category":
            out[c] = out[c].astype("category")
    return out


def _frame(rows) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=["statement", "database", "session", "kind", "duration_ms"])
    ev["source_line"] = np.arange(1, len(ev) + 1)
    return ev


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(STATEMENTS), st.sampled_from(["a", "b", None]),
                               st.sampled_from(["s1", "s2", None, ""]),
                               st.sampled_from(["parse", "bind", "execute", "statement", "plan", None]),
                               st.sampled_from([0.25, 1.5, 3.0, np.nan])), min_size=1, max_size=40),
       chunk=st.integers(1, 41))
def test_the_digest_is_the_same_for_every_column_storage_and_chunk_size(rows, chunk):
    # GIVEN events with shared fingerprints (select 1 / SELECT 2), null statements, null and
    # empty sessions (one session for the folding), parse/bind rows and plan rows
    ev = _frame(rows)
    ev["parameters"] = ev["session"]
    for by in (None, ["database"]):
        for fold in (True, False):
            expected = digest(ev, by=by, fold_parse_bind=fold)
            for how in ("arrow", "chunks", "category"):
                # WHEN the same events are held as pyarrow strings or categories
                got = digest(_as(ev, how), by=by, fold_parse_bind=fold)
                # THEN the table is the same, row for row and to the bit
                pd.testing.assert_frame_equal(got, expected, check_exact=True)
            # AND fed in chunks, too
            chunks = [ev.iloc[i:i + chunk] for i in range(0, len(ev), chunk)]
            pd.testing.assert_frame_equal(digest_stream(chunks, by=by, fold_parse_bind=fold), expected,
                                          check_exact=True)


def test_statements_sharing_a_fingerprint_and_null_statements():
    # GIVEN four texts of one fingerprint, a null statement and a non-str value
    ev = pd.DataFrame({"statement": pd.array(["select 1", "select 2", None, "SELECT 3", "select 1"],
                                             dtype="string[pyarrow]"),
                       "duration_ms": [1.0, 4.0, 2.0, 4.0, 0.5]})
    d = digest(ev)
    # THEN one group per fingerprint, the null one holding the null statement's time
    assert d["fingerprint"].tolist() == ["select ?", pd.NA]
    assert d["calls"].tolist() == [4, 1] and d["total_ms"].tolist() == [9.5, 2.0]
    # AND the example is the first of the two slowest (line order: "select 2", not "SELECT 3")
    assert d["example"].tolist()[0] == "select 2"


@pytest.mark.parametrize("odd", [["select", 1], {"a": 1}])
def test_an_unhashable_statement_value_has_no_fingerprint(odd):
    # GIVEN an object column holding an unhashable value among statements
    ev = pd.DataFrame({"statement": pd.Series(["select 1", odd, "select 2"], dtype=object),
                       "duration_ms": [1.0, 2.0, 3.0]})
    d = digest(ev)
    # THEN it is counted, as a call without a fingerprint
    assert sorted(d["calls"].tolist()) == [1, 2]
    assert d.loc[d["fingerprint"].isna(), "total_ms"].tolist() == [2.0]


def _folded_by_hand(ev: pd.DataFrame) -> dict:
    """The folding rule row by row (the module docstring's "What is a call"): per fingerprint,
    [calls, total ms]."""
    from toolkit.queries.fingerprint import fingerprint

    ev = ev[ev["kind"] != "plan"].reset_index(drop=True)
    fps = [fingerprint(s) if isinstance(s, str) else None for s in ev["statement"]]
    sess = ev["session"].fillna("").tolist()
    d = ev["duration_ms"].tolist()
    call = [True] * len(ev)
    for i, kind in enumerate(ev["kind"]):
        if kind not in ("parse", "bind"):
            continue
        nxt = next((j for j in range(i + 1, len(ev))
                    if sess[j] == sess[i] and ev["kind"][j] not in ("parse", "bind")), None)
        if nxt is not None and fps[nxt] == fps[i]:
            call[i] = False
            if d[i] == d[i]:
                d[nxt] = d[i] if d[nxt] != d[nxt] else d[nxt] + d[i]
    out: dict = {}
    for fp, c, x in zip(fps, call, d, strict=True):
        if c:
            got = out.setdefault(fp, [0, 0.0])
            got[0] += 1
            got[1] += x if x == x else 0.0
    return out


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(STATEMENTS), st.sampled_from(["a"]),
                               st.sampled_from(["s1", "s2", None, ""]),
                               st.sampled_from(["parse", "bind", "execute", "statement", "plan"]),
                               st.sampled_from([0.25, 1.5, 3.0, np.nan])), min_size=1, max_size=30))
def test_parse_and_bind_fold_into_the_next_call_of_their_session_as_by_hand(rows):
    # GIVEN parse/bind/execute rows of two sessions, a null and an empty session (one session)
    ev = _frame(rows)
    # WHEN digested (folding)
    d = digest(ev)
    # THEN calls and totals per fingerprint are the rule's, applied row by row
    got = {(None if pd.isna(fp) else fp): [c, t] for fp, c, t in zip(d["fingerprint"], d["calls"], d["total_ms"],
                                                                     strict=True)}
    assert got == _folded_by_hand(ev)
