"""log_statement lines in digest_file's direct way (toolkit.queries.pg_digest): property tests.

``log_statement = all`` writes a statement when it starts; its duration comes later from
``log_duration`` (a duration-only line) or ``log_min_duration_statement`` (the same SQL again,
timed), possibly after other sessions' records, timed parse/bind lines or the statement's
auto_explain plan; some never get one (the session moves on). The direct way pairs them on the
record batch; the table and the line accounting must be the DataFrame reader's, in every piece
size, and no buffer may go the DataFrame way.
"""

from __future__ import annotations

from unittest import mock

import pandas as pd
import pytest
from helpers.strategies import few
from hypothesis import example, given
from hypothesis import strategies as st

import toolkit as tk
from toolkit.queries.digest import digest
from toolkit.queries.pg_digest import StderrDigest, digest_stderr

pytestmark = pytest.mark.properties

PREFIX = "%m [%p] %q%u@%d "
ACCOUNTING = ("lines_read", "records", "record_lines", "lines_in_other_table", "lines_skipped",
              "skip_reasons")
OPS = ("paired", "paired_plan", "timed_again", "unpaired", "parse_bind_between", "plain")


@st.composite
def session(draw, pid: int) -> list[str]:
    """One session's messages in its order."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(OPS))
        n = draw(st.integers(0, 9))  # few literals: the same fingerprints, several calls each
        ms = draw(st.integers(1, 9999)) / 1000
        sql = f"SELECT {n} FROM t{n % 3}"
        if op == "plain":
            out.append(f"duration: {ms:.3f} ms  statement: {sql}")
            continue
        out.append(f"statement: {sql}")
        if op == "paired_plan":  # auto_explain writes the plan before log_duration's line
            out.append(f"duration: {ms:.3f} ms  plan:\n\tQuery Text: {sql}\n"
                       f"\tResult  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=1)")
        if op == "parse_bind_between":  # another statement's timed parse/bind: not a partner
            out.append(f"duration: 0.010 ms  parse <unnamed>: SELECT $1 FROM t{n % 3}")
            out.append(f"duration: 0.020 ms  bind <unnamed>: SELECT $1 FROM t{n % 3}")
        if op in ("paired", "paired_plan", "parse_bind_between"):
            out.append(f"duration: {ms + 0.5:.3f} ms")
        elif op == "timed_again":
            out.append(f"duration: {ms + 0.5:.3f} ms  statement: {sql}")
    return out


@st.composite
def logs(draw) -> bytes:
    """Sessions interleaved record by record."""
    sessions = [draw(session(2000 + i)) for i in range(draw(st.integers(1, 4)))]
    cursors = [0] * len(sessions)
    lines = []
    tick = 0
    while live := [i for i, s in enumerate(sessions) if cursors[i] < len(s)]:
        i = draw(st.sampled_from(live))
        message = sessions[i][cursors[i]]
        cursors[i] += 1
        tick += 1
        lines.append(f"2026-11-26 06:{tick // 60 % 60:02d}:{tick % 60:02d}.{tick % 1000:03d} UTC "
                     f"[{2000 + i}] u@app LOG:  {message}\n")
    return "".join(lines).encode()


# Three sessions: a paired statement with another session's records between its two lines, a
# statement logged again timed, one that never gets a duration, and a plan between a statement
# and its duration.
MIXED = (
    b"2026-11-26 06:00:01.001 UTC [2000] u@app LOG:  statement: SELECT 1 FROM t1\n"
    b"2026-11-26 06:00:02.002 UTC [2001] u@app LOG:  statement: SELECT 2 FROM t2\n"
    b"2026-11-26 06:00:03.003 UTC [2002] u@app LOG:  statement: SELECT 3 FROM t0\n"
    b"2026-11-26 06:00:04.004 UTC [2000] u@app LOG:  duration: 1.500 ms  plan:\n"
    b"\tQuery Text: SELECT 1 FROM t1\n"
    b"\tResult  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=1)\n"
    b"2026-11-26 06:00:05.005 UTC [2001] u@app LOG:  duration: 2.250 ms  statement: SELECT 2 FROM t2\n"
    b"2026-11-26 06:00:06.006 UTC [2000] u@app LOG:  duration: 2.000 ms\n"
    b"2026-11-26 06:00:07.007 UTC [2002] u@app LOG:  duration: 0.750 ms  statement: SELECT 4 FROM t1\n"
)


def test_the_mixed_example_pairs_as_documented(tmp_path):
    # GIVEN the hand-made example above
    path = tmp_path / "postgresql.log"
    path.write_bytes(MIXED)
    # WHEN digested the direct way
    dacc, info = digest_stderr(path, log_line_prefix=PREFIX)
    out = dacc.result().set_index("fingerprint")
    # THEN 'SELECT 1' took its duration line's 2.0 ms (its plan's 1.5 ms is not counted), the
    # statement logged again counts once with its 2.25 ms, 'SELECT 3' is a call without a
    # duration, and 'SELECT 4' is a call of the same class
    assert out.loc["select ? from t?", "calls"] == 4
    assert out.loc["select ? from t?", "total_ms"] == pytest.approx(2.0 + 2.25 + 0.75)
    # AND 4 records: the plan and the duration line are folded into 'SELECT 1', the first
    # 'SELECT 2' line into its timed copy; every one of the 9 lines is a query event's
    assert info["records"] == 4
    assert info["record_lines"] == 9 and info["lines_read"] == 9


@few(12)
@given(data=logs())
@example(data=MIXED)
def test_direct_way_gives_the_readers_digest_in_any_piece_size(tmp_path_factory, data):
    # GIVEN a log of log_statement lines and their partners, interleaved between sessions
    path = tmp_path_factory.mktemp("pg") / "postgresql.log"
    path.write_bytes(data)
    events = tk.read_queries(path, log_line_prefix=PREFIX)
    ref = digest(events)
    for chunk_size in (256, 4096, 16 << 20):
        # WHEN digested the direct way (a buffer sent to the DataFrame reader fails the test)
        with mock.patch.object(StderrDigest, "_frame_rows", side_effect=AssertionError("frame way")):
            dacc, info = digest_stderr(path, chunk_size=chunk_size, log_line_prefix=PREFIX)
        # THEN the notebook path's digest, row for row, and its accounting
        pd.testing.assert_frame_equal(dacc.result(), ref, check_dtype=False, obj=f"{chunk_size} B pieces")
        assert {k: info[k] for k in ACCOUNTING} == {k: events.attrs["source"][k] for k in ACCOUNTING}
