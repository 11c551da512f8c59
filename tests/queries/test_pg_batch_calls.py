"""The column-wise rules of the PostgreSQL digest and reader hold the row-at-a-time rules they
replaced, on hypothesis-generated batches: :func:`toolkit.queries.pg_digest.batch_calls` (parse
and bind rows folded into the next call of their session with the same fingerprint, the others
calls of their own just before it, the rest waiting for the next buffer) and
:func:`toolkit.queries.pg_events.pair_statements` (log_statement lines with their duration)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.queries.pg_digest import _V_PB, _V_PLAN, _VERB_CODE, batch_calls
from toolkit.queries.pg_events import pair_statements

VERBS = ["", "statement", "execute", "parse", "bind", "plan"]
SESSIONS = [None, "a", "b", "c"]
FPS = ["select ?", "update t set x = ?"]
# durations with ties, untimed rows and values whose sums depend on the order they are added in
DURATIONS = [math.nan, 0.1, 0.2, 0.3, 1e16, 1.0, 2.5]


def reference_calls(vcode, keep, sessions, fps, d, carried, item):
    """The row-at-a-time rule (StderrDigest before the column-wise pass): ``(adds, pending)``;
    adds as ``(("row", i) or ("item", carried item), duration)`` in the order they were added."""
    pending = {s: list(w) for s, w in carried.items()}
    adds = []
    for k in range(len(vcode)):
        if not keep[k]:
            continue
        sess = sessions[k]
        if vcode[k] == _V_PB:
            pending.setdefault(sess, []).append(("row", k))
            continue
        dur = d[k]
        for w in pending.pop(sess, []):
            row_d, w_fp = (d[w[1]], fps[w[1]]) if w[0] == "row" else (w[0][4], w[1])
            if w_fp == fps[k]:
                if row_d == row_d:
                    dur = row_d if dur != dur else dur + row_d
            else:
                adds.append((w if w[0] == "row" else ("item", w), row_d))
        adds.append((("row", k), dur))
    pending = {s: [item(w[1]) if w[0] == "row" else w for w in ws] for s, ws in pending.items()}
    return adds, pending


rows_st = st.lists(st.tuples(st.sampled_from(VERBS), st.sampled_from(SESSIONS), st.sampled_from(FPS),
                             st.sampled_from(DURATIONS), st.booleans()), max_size=40)
carried_st = st.dictionaries(st.sampled_from(SESSIONS),
                             st.lists(st.tuples(st.sampled_from(FPS), st.sampled_from(DURATIONS)),
                                      min_size=1, max_size=3), max_size=3)


@settings(max_examples=400, deadline=None)
@given(rows_st, carried_st)
def test_batch_calls_is_the_row_at_a_time_rule(rows, carried_spec):
    # GIVEN a batch of rows (verb, session, fingerprint, duration, dropped) and parse/bind rows
    # carried over from earlier buffers
    n = len(rows)
    vcode = np.array([_VERB_CODE[v] for v, *_ in rows], dtype=np.int8)
    sessions = [s for _, s, *_ in rows]
    fps = np.empty(n, object)
    fps[:] = [None if v in ("", "plan") else fp for v, _, fp, *_ in rows]
    d = np.array([x for *_, x, _ in rows], dtype=np.float64)
    keep = np.array([not dropped for *_, dropped in rows], dtype=bool) & (vcode != _V_PLAN)
    carried = {s: [((-1 - j, "parse", s, fp, dur, "", "", None, ()), fp) for j, (fp, dur) in enumerate(w)]
               for s, w in carried_spec.items()}
    scode = pd.factorize(np.array(sessions, dtype=object), use_na_sentinel=False)[0] if n else np.zeros(0, np.int64)

    def item(i):
        return ((i, "parse", sessions[i], fps[i], float(d[i]), "", "", None, ()), fps[i])

    # WHEN the column-wise rule runs
    got = batch_calls(vcode, keep, scode, sessions, fps, d, carried, item)
    # THEN the same calls, added in the same order with bit-for-bit the same durations, and the
    # same rows left waiting (sessions in the same order)
    adds, pending = reference_calls(vcode, keep, sessions, fps, d, carried, item)
    mine = [(("row", int(r)) if r >= 0 else ("item", got.extra[-1 - r]), float(x))
            for r, x in zip(got.rows.tolist(), got.durations.tolist(), strict=True)]
    assert [a for a, _ in mine] == [a for a, _ in adds]
    assert np.array_equal(np.array([x for _, x in mine]), np.array([x for _, x in adds], dtype=np.float64),
                          equal_nan=True)
    assert list(got.pending) == list(pending)
    assert {s: [(w[0][:4], w[1]) for w in ws] for s, ws in got.pending.items()} == \
        {s: [(w[0][:4], w[1]) for w in ws] for s, ws in pending.items()}


def reference_pairs(verbs, durs, messages, sessions):
    """The log_statement rule one record at a time (pair_statements before the column-wise pass)."""
    took, replaced, waiting = {}, {}, {}
    for k, (verb, dur, sess) in enumerate(zip(verbs, durs, sessions, strict=True)):
        if verb == "plan" or (dur and (verb == "parse" or verb == "bind")):
            continue
        p = waiting.pop(sess, None)
        if p is not None and dur:
            if not verb:
                took[p] = k
            elif messages[k] == messages[p]:
                replaced[p] = k
        if not dur:
            waiting[sess] = k
    return took, replaced


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VERBS), st.sampled_from(["", "0.5"]), st.sampled_from(["x", "y"]),
                          st.sampled_from(SESSIONS)), max_size=40))
def test_pair_statements_is_the_row_at_a_time_rule(rows):
    # GIVEN query records in file order: log_statement lines, duration-only lines, timed
    # statements, parse/bind and plans of interleaved sessions
    verbs, durs, messages, sessions = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
    # WHEN they are paired column-wise, from lists and from object arrays (the reader's columns)
    want = reference_pairs(verbs, durs, messages, sessions)
    as_arrays = [np.array(c + [None], dtype=object)[:-1] for c in (verbs, durs, messages, sessions)]
    # THEN the pairs of the row-at-a-time rule
    assert pair_statements(verbs, durs, messages, sessions) == want
    assert pair_statements(*as_arrays) == want


def test_pair_statements_examples():
    # a log_statement line, a parse of its session (timed: passed over), then its duration line
    # takes it; session b's statement is replaced by its timed twin; c's is left untimed
    verbs = ["statement", "statement", "parse", "statement", "", "statement", "statement"]
    durs = ["", "", "0.1", "", "0.4", "0.7", ""]
    messages = ["select 1", "select 2", "select 1", "select 3", None, "select 2", "select 4"]
    sessions = ["a", "b", "a", "c", "a", "b", "c"]
    assert pair_statements(verbs, durs, messages, sessions) == ({0: 4}, {1: 5})


def test_digest_with_a_small_fingerprint_cache_equals_the_usual_one():
    # GIVEN a real log read in 4 KiB buffers, its statements recurring across buffers, and a
    # fingerprint cache far smaller than the log's distinct statements (so it is cleared again
    # and again while statements of earlier buffers come back)
    from pathlib import Path

    from toolkit.queries.digest import digest_file

    path = Path(__file__).resolve().parents[2] / "sample_traces/queries/postgresql/app/postgresql.log.gz"
    want = digest_file(path, workers=1)
    # WHEN it is digested with that cache
    got = digest_file(path, workers=1, chunk_size=1 << 12, max_cache=2)
    # THEN every call still has its fingerprint: the same table (no null-fingerprint group)
    assert got["fingerprint"].notna().sum() == want["fingerprint"].notna().sum()
    pd.testing.assert_frame_equal(got, want)
