"""digest_file's direct way with PostgreSQL stderr logs (toolkit.queries.pg_digest) gives the
DataFrame way's digest and line accounting: on the sample logs, on the edge-case fixtures, and on
fresh logs of a real server (log_statement phases included)."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import pandas as pd
import pytest
from helpers.postgres import postgres_server
from helpers.programs import require_program

import toolkit as tk
from toolkit.queries.digest import digest, digest_file, digest_stream
from toolkit.queries.pg_digest import StderrDigest, digest_stderr
from toolkit.queries.postgres import iter_query_chunks
from toolkit.sources import CHUNK_BYTES

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "sample_traces/queries/postgresql").glob("*/postgresql.log.gz"))
FIXTURES = [ROOT / "tests/fixtures/queries/postgres/pg13_parameters.log",
            ROOT / "tests/fixtures/queries/postgres/german_lc_messages.log",
            ROOT / "tests/fixtures/queries/plans/auto_explain_text.log",
            ROOT / "tests/fixtures/queries/plans/auto_explain_json.log"]
ACCOUNTING = ("lines_read", "records", "record_lines", "lines_in_other_table", "lines_skipped",
              "skip_reasons")


def name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def frame_way(path, chunk_size: int, by=None, **options):
    """The reference: the DataFrame reader's chunks (the same buffers), digested one by one."""
    frames = list(iter_query_chunks(path, chunk_bytes=chunk_size, workers=1, **options))
    return digest_stream(frames, by=by), frames[-1].attrs["source"]


def accounting(info: dict) -> dict:
    return {k: info.get(k) for k in ACCOUNTING}


@pytest.mark.parametrize("chunk_size", [1 << 12, None], ids=["4KiB-buffers", "16MiB-buffers"])
@pytest.mark.parametrize("path", SAMPLES + FIXTURES, ids=name)
def test_direct_digest_equals_the_dataframe_way(path, chunk_size):
    # GIVEN a real or edge-case stderr log, read in small or normal buffers
    ref, ref_info = frame_way(path, chunk_size or CHUNK_BYTES)
    # WHEN digest_file reads it the direct way
    out = digest_file(path, workers=1, chunk_size=chunk_size)
    # THEN the same table (every column, the examples and their lines too) and the same accounting
    pd.testing.assert_frame_equal(out, ref)
    assert accounting(out.attrs["source"]) == accounting(ref_info)
    if chunk_size is None:
        assert accounting(out.attrs["source"]) == accounting(tk.read_queries(path).attrs["source"])
        pd.testing.assert_frame_equal(out, digest(tk.read_queries(path)))


def test_direct_digest_matches_the_logged_totals_of_the_app_sample():
    # GIVEN the app sample: its logged query durations, summed by hand from the raw lines
    import re

    text = gzip.open(ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz", "rt").read()
    logged = [float(m) for m in re.findall(r"LOG:  duration: (\d+\.\d+) ms  (?!plan:)", text)]
    # WHEN digested the direct way
    out = digest_file(ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz")
    # THEN every logged millisecond is in it once (plans' repeated durations are not)
    assert out.total_ms.sum() == pytest.approx(sum(logged), abs=1e-6)
    assert out.attrs["source"]["lines_read"] == text.count("\n")


@pytest.mark.parametrize("path", SAMPLES, ids=name)
def test_the_engines_two_ways_agree(path, monkeypatch):
    # GIVEN the direct way, 4 KiB buffers (parse/bind rows wait across many of them)
    direct = digest_file(path, workers=1, chunk_size=1 << 12)
    # WHEN every buffer is made to go the DataFrame way inside the same engine
    monkeypatch.setattr(StderrDigest, "_scan_buffer", lambda self, text, first_line: False)
    framed = digest_file(path, workers=1, chunk_size=1 << 12)
    # THEN nothing changes
    pd.testing.assert_frame_equal(direct, framed)
    assert accounting(direct.attrs["source"]) == accounting(framed.attrs["source"])


@pytest.mark.parametrize("run", ["app", "pgbench"])
def test_two_processes_give_the_one_process_table(tmp_path, run):
    path = tmp_path / "postgresql.log"
    path.write_bytes(gzip.open(ROOT / f"sample_traces/queries/postgresql/{run}/postgresql.log.gz").read() * 2)
    one = digest_file(path, workers=1)
    two = digest_file(path, workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert accounting(one.attrs["source"]) == accounting(two.attrs["source"])


@pytest.mark.parametrize("by", ["database", "user", ["database", "application"], "session"])
def test_grouping_by_prefix_fields(by):
    path = ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz"
    pd.testing.assert_frame_equal(digest_file(path, by=by), digest(tk.read_queries(path), by=by))


def test_a_tie_for_the_slowest_call_goes_to_the_first_in_the_file(tmp_path):
    # GIVEN session 100's parse of SELECT 1 (2 ms, line 1), never executed: its session's next
    # call is another statement (line 3), so it is a call of its own; and session 200's
    # SELECT 1 (2 ms, line 2), logged before the parse is known to stand alone
    head = "2026-11-26 05:09:27.{:03d} UTC [{}] postgres@app LOG:  duration: {} ms  {}\n"
    path = tmp_path / "postgresql.log"
    path.write_text(head.format(1, 100, "2.000", "parse <unnamed>: SELECT 1")
                    + head.format(2, 200, "2.000", "statement: SELECT 1")
                    + head.format(3, 100, "1.000", "statement: SELECT now()"))
    # WHEN digested every way
    tables = [digest(tk.read_queries(path)), digest_file(path), digest_file(path, chunk_size=150),
              frame_way(path, 150)[0]]
    # THEN the example of `select ?` is the parse on line 1 (2 calls, 4 ms) in each
    for t in tables:
        row = t.set_index("fingerprint").loc["select ?"]
        assert (row.calls, row.total_ms, row.example_line) == (2, 4.0, 1)


# -- a real server: two sessions at once, a prefix with %l and %c, log_statement phases ---------

PREFIX = "%m [%p] %l %c %q%u@%d "


@pytest.fixture(scope="module")
def mixed_log():
    require_program("initdb")
    require_program("pg_ctl")
    pytest.importorskip("psycopg")
    settings = {"log_min_duration_statement": "0", "log_connections": "on",
                "log_disconnections": "on", "log_line_prefix": f"'{PREFIX}'"}
    with postgres_server(settings) as pg:
        with pg.connect() as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g")

        def client(k: int) -> None:
            with pg.connect(application_name=f"client{k}") as c:
                for i in range(120):
                    if i == 40:  # a phase logged as log_statement lines plus duration-only lines
                        c.execute("SET log_min_duration_statement = -1")
                        c.execute("SET log_statement = 'all'")
                        c.execute("SET log_duration = on")
                    if i == 80:
                        c.execute("RESET log_statement")
                        c.execute("RESET log_duration")
                        c.execute("RESET log_min_duration_statement")
                    c.execute("SELECT v FROM t WHERE id = %s", (i,), prepare=i % 3 == 0)
                    c.execute(f"SELECT count(*) FROM t WHERE id < {i}")
                    c.execute("SELECT v\nFROM t\nWHERE id = %s", (i + k,))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        pg.stop()
        return pg.log("log").read_bytes()


def test_fresh_mixed_log_goes_the_direct_way_and_equals_the_dataframe_way(mixed_log, tmp_path, monkeypatch):
    # GIVEN the fresh log: three clients at once, parse/bind/execute with parameters, DETAIL
    # lines whose prefix differs from their query line's (%l counts lines), and a phase of
    # log_statement + log_duration lines
    path = tmp_path / "postgresql.log"
    path.write_bytes(mixed_log)
    text = mixed_log.decode()
    assert "LOG:  statement: " in text and "LOG:  duration: " in text and "  execute " in text
    ways = {"direct": 0, "frame": 0}
    scan, frame = StderrDigest._scan_buffer, StderrDigest._frame_rows

    def spy_scan(self, *a):
        taken = scan(self, *a)
        ways["direct"] += taken
        return taken

    def spy_frame(self, *a):
        ways["frame"] += 1
        return frame(self, *a)

    monkeypatch.setattr(StderrDigest, "_scan_buffer", spy_scan)
    monkeypatch.setattr(StderrDigest, "_frame_rows", spy_frame)
    options = {"log_line_prefix": PREFIX}
    for chunk_size in (1 << 12, 1 << 15):
        # WHEN digested the direct way and the DataFrame way, in the same buffers
        dacc, info = digest_stderr(path, chunk_size=chunk_size, **options)
        ref, ref_info = frame_way(path, chunk_size, **options)
        # THEN the same table and accounting, and every buffer went the direct way (its
        # log_statement lines are paired with their duration lines on the record batch)
        pd.testing.assert_frame_equal(dacc.result(), ref)
        assert accounting(info) == accounting(ref_info)
    assert ways["direct"] > 0 and ways["frame"] == 0
    # AND every call is there: 3 clients x 120 x 3 statements (+ the SET/RESET lines)
    whole = digest_file(path, reader_options=options)
    assert whole.set_index("fingerprint").loc[["select v from t where id = ?",
                                               "select count(*) from t where id < ?"]].calls.tolist() == [720, 360]
    assert whole.parameters.notna().any()
    pd.testing.assert_frame_equal(whole, digest(tk.read_queries(path, log_line_prefix=PREFIX)))
    pd.testing.assert_frame_equal(digest_file(path, workers=2, reader_options=options), whole)


def test_fresh_mixed_log_gives_one_digest_whatever_the_piece_size(mixed_log, tmp_path):
    # GIVEN the fresh log: log_statement lines and their duration lines with other sessions'
    # records between them
    path = tmp_path / "postgresql.log"
    path.write_bytes(mixed_log)
    options = {"log_line_prefix": PREFIX}
    whole = tk.read_queries(path, log_line_prefix=PREFIX)
    for chunk_size in (1 << 12, 1 << 13, 1 << 15):
        # WHEN it is read in small pieces (so many places to cut between them)
        dacc, info = digest_stderr(path, chunk_size=chunk_size, **options)
        parts = pd.concat(list(iter_query_chunks(path, chunk_bytes=chunk_size, workers=1, **options)),
                          ignore_index=True)
        # THEN no pair is cut apart: the same events, digest and records as one piece
        pd.testing.assert_frame_equal(parts, whole, check_dtype=False)
        pd.testing.assert_frame_equal(dacc.result(), digest(whole))
        assert info["records"] == whole.attrs["source"]["records"]
