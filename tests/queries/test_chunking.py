"""Results never depend on chunking or workers (issue 12): property tests over PostgreSQL stderr
logs of interleaved sessions.

Each generated log holds several sessions whose records interleave as a busy server writes them:
simple-protocol statements with their auto_explain plan logged *before* the statement,
extended-protocol parse / bind / execute with DETAIL parameters and a SELECT's plan logged *after*
its execute, DML executes with the plan before, and ``log_statement = all`` lines whose duration
comes later on a ``log_duration`` line (with the statement's plan between the two). The same bytes are read whole and in pieces of 256 bytes,
4 KiB and 64 KiB, in one process and in two; digested from the table and by ``digest_file`` in one
and two byte ranges. Every way gives the same tables row for row, and the plan rule documented in
:mod:`toolkit.queries.pg_events` holds in each: every plan whose statement is in the log is
attached to that statement's row (no ``kind="plan"`` row is left).
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.strategies import few
from hypothesis import example, given
from hypothesis import strategies as st

import toolkit as tk
from toolkit.queries.digest import digest_file

pytestmark = pytest.mark.properties

PREFIX = "%m [%p] %q%u@%d "
ACCOUNTING = ("lines_read", "records", "record_lines", "lines_in_other_table", "lines_skipped", "skip_reasons")
TABLES = ("customers", "orders", "items", "payments")


def _plan(sql: str, ms: float) -> list[str]:
    """auto_explain's text plan record (its Query Text and two nodes as continuation lines)."""
    return [f"duration: {ms:.3f} ms  plan:", f"\tQuery Text: {sql}",
            f"\tSeq Scan on t  (cost=0.00..1.00 rows=1 width=4) (actual time=0.010..{ms:.3f} rows=1 loops=1)",
            "\t  Filter: (id = 1)"]


@st.composite
def session_ops(draw, pid: int):
    """``(pid, records, plans, calls)``: one session's records in its order, each (message,
    continuation lines, DETAIL); ``plans`` counts the plans (each one's statement is logged),
    ``calls`` the executions (parse and bind fold into their execute, a log_statement line
    takes its duration)."""
    records: list[tuple[str, list[str], str | None]] = []
    plans = 0
    calls = draw(st.integers(1, 8))
    for _ in range(calls):
        op = draw(st.sampled_from(["simple", "simple_plan", "extended", "extended_plan", "dml_plan",
                                   "log_statement", "log_statement_plan"]))
        n = draw(st.integers(0, 99999))  # a literal: many distinct statements
        table = draw(st.sampled_from(TABLES))
        ms = draw(st.integers(1, 99999)) / 1000
        if op in ("simple", "simple_plan"):
            sql = f"SELECT * FROM {table} WHERE id = {n}"
            if op == "simple_plan":
                head, *more = _plan(sql, ms)
                records.append((head, more, None))
                plans += 1
            records.append((f"duration: {ms + 0.5:.3f} ms  statement: {sql}", [], None))
        elif op in ("extended", "extended_plan", "dml_plan"):
            dml = op == "dml_plan"
            sql = (f"UPDATE {table} SET n = n + 1 WHERE id = $1" if dml
                   else f"SELECT * FROM {table} WHERE id = $1")
            detail = f"parameters: $1 = '{n}'"
            records.append((f"duration: 0.{n % 900 + 100} ms  parse <unnamed>: {sql}", [], None))
            records.append((f"duration: 0.{n % 800 + 100} ms  bind <unnamed>: {sql}", [], detail))
            if dml:  # a DML's plan: run to completion inside the execute, logged before it
                head, *more = _plan(sql, ms)
                records.append((head, more, None))
                plans += 1
            records.append((f"duration: {ms + 0.25:.3f} ms  execute <unnamed>: {sql}", [], detail))
            if op == "extended_plan":  # a SELECT's plan: logged after its execute
                head, *more = _plan(sql, ms)
                records.append((head, more, None))
                plans += 1
        else:  # log_statement = all + log_duration: the plan comes between the two lines
            sql = f"SELECT {n} FROM {table}"
            records.append((f"statement: {sql}", [], None))
            if op == "log_statement_plan":
                head, *more = _plan(sql, ms)
                records.append((head, more, None))
                plans += 1
            records.append((f"duration: {ms + 0.5:.3f} ms", [], None))
    return pid, records, plans, calls


@st.composite
def interleaved_logs(draw):
    """``(log bytes, plans, calls)``: sessions interleaved record by record."""
    sessions = [draw(session_ops(1000 + i)) for i in range(draw(st.integers(1, 6)))]
    cursors = [0] * len(sessions)
    lines: list[str] = []
    second = 0
    while any(c < len(s[1]) for c, s in zip(cursors, sessions, strict=True)):
        live = [i for i, (c, s) in enumerate(zip(cursors, sessions, strict=True)) if c < len(s[1])]
        i = draw(st.sampled_from(live))
        pid, records, *_ = sessions[i]
        message, more, detail = records[cursors[i]]
        cursors[i] += 1
        second += 1
        head = f"2026-11-26 05:{second // 60 % 60:02d}:{second % 60:02d}.{second % 1000:03d} UTC [{pid}] u@app "
        lines.append(f"{head}LOG:  {message}")
        lines.extend(more)
        if detail:
            lines.append(f"{head}DETAIL:  {detail}")
    data = "".join(line + "\n" for line in lines).encode()
    return data, sum(s[2] for s in sessions), sum(s[3] for s in sessions)


# Found by the search below: a SELECT's plan logged after its execute with another session's
# statement between them; 256-byte pieces cut between the execute and its plan (the cut rule
# then knew nothing of a plan that follows its execute).
PLAN_AFTER_OTHER_SESSION = (
    b"2026-11-26 05:00:01.001 UTC [1000] u@app LOG:  duration: 0.100 ms  parse <unnamed>: SELECT * FROM customers WHERE id = $1\n"
    b"2026-11-26 05:00:02.002 UTC [1000] u@app LOG:  duration: 0.100 ms  bind <unnamed>: SELECT * FROM customers WHERE id = $1\n"
    b"2026-11-26 05:00:02.002 UTC [1000] u@app DETAIL:  parameters: $1 = '0'\n"
    b"2026-11-26 05:00:03.003 UTC [1000] u@app LOG:  duration: 0.251 ms  execute <unnamed>: SELECT * FROM customers WHERE id = $1\n"
    b"2026-11-26 05:00:03.003 UTC [1000] u@app DETAIL:  parameters: $1 = '0'\n"
    b"2026-11-26 05:00:04.004 UTC [1001] u@app LOG:  duration: 0.501 ms  statement: SELECT * FROM customers WHERE id = 0\n"
    b"2026-11-26 05:00:05.005 UTC [1000] u@app LOG:  duration: 0.001 ms  plan:\n"
    b"\tQuery Text: SELECT * FROM customers WHERE id = $1\n"
    b"\tSeq Scan on t  (cost=0.00..1.00 rows=1 width=4) (actual time=0.010..0.001 rows=1 loops=1)\n"
    b"\t  Filter: (id = 1)\n"
    b"2026-11-26 05:00:06.006 UTC [1000] u@app LOG:  duration: 0.501 ms  statement: SELECT * FROM customers WHERE id = 0\n",
    1, 3)


def read(data: bytes, **options) -> pd.DataFrame:
    return tk.read_queries(data, format="postgres-stderr", log_line_prefix=PREFIX, **options)


def accounting(df: pd.DataFrame) -> dict:
    return {k: df.attrs["source"][k] for k in ACCOUNTING}


@few(10)
@given(log=interleaved_logs())
@example(log=PLAN_AFTER_OTHER_SESSION)
def test_pieces_and_workers_give_the_whole_files_table_and_attach_every_plan(log):
    # GIVEN a log of interleaved sessions read whole in one process
    data, plans, _ = log
    whole = read(data, workers=1)
    # THEN every plan is attached to its statement (none left as a row of its own)
    assert int(whole["plan"].notna().sum()) == plans
    assert not (whole["kind"] == "plan").any()
    # AND pieces of 256 B, 4 KiB and 64 KiB, in one process and in two, give the same table
    for chunk_bytes in (256, 4096, 65536):
        for workers in (1, 2):
            got = read(data, workers=workers, chunk_bytes=chunk_bytes)
            pd.testing.assert_frame_equal(got, whole, obj=f"{chunk_bytes} B pieces, {workers} workers")
            assert accounting(got) == accounting(whole)


@few(6)
@given(log=interleaved_logs())
@example(log=PLAN_AFTER_OTHER_SESSION)
def test_digest_file_in_pieces_and_ranges_gives_the_tables_digest(tmp_path_factory, log):
    # GIVEN the same kind of log on disk and the notebook path's digest of its table
    data, _, calls = log
    path = tmp_path_factory.mktemp("pg") / "postgresql.log"
    path.write_bytes(data)
    events = read(data, workers=1)
    ref = tk.digest(events)
    # WHEN digest_file reads it in pieces of 4 KiB and 16 MiB, in one and two byte ranges
    for chunk_size in (4096, 16 << 20):
        for workers in (1, 2):
            got = digest_file(path, format="postgres-stderr", workers=workers, chunk_size=chunk_size,
                              reader_options={"log_line_prefix": PREFIX})
            # THEN the same digest, row for row (calls, totals, percentiles, examples and their lines)
            pd.testing.assert_frame_equal(got, ref, check_dtype=False,
                                          obj=f"{chunk_size} B pieces, {workers} ranges")
            assert accounting(got) == accounting(events)
    # AND every execution is one call (parse/bind folded into their execute, a log_statement
    # line with its duration), and no time is lost
    assert int(ref["calls"].sum()) == calls
    assert ref["total_ms"].sum() == pytest.approx(events["duration_ms"].sum())
