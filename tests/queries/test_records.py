"""Record batches (toolkit.queries.records): every query-log scanner gives them, every line is
accounted for in them, and the DataFrame readers and the streaming digests read the same ones."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import toolkit as tk
from toolkit.queries import mysql_slow
from toolkit.queries.digest import digest_file
from toolkit.queries.pg_csvlog import csv_batches, scan_csv
from toolkit.queries.pg_jsonlog import json_batches
from toolkit.queries.pg_stderr import StderrParser
from toolkit.queries.records import RECORD, SKIPPED, RecordBatch
from toolkit.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "sample_traces/queries/postgresql/app"
MYSQL_FIXTURES = ROOT / "tests/fixtures/queries/mysql"
PG_FIXTURES = ROOT / "tests/fixtures/queries/postgres"
PREFIX = "%m [%p] %q%u@%d "


def test_a_batch_accounts_for_every_line_and_names_its_refused_records():
    # GIVEN two rows (one refused), 2 lines of another table and a skipped run of 3 lines
    batch = RecordBatch.of(10, 12, {"statement": ["select 1", ""]}, [10, 13], [3, 4],
                           reasons={1: "truncated record (no statement)"}, other_lines=2,
                           skips=[(17, "not part of a slow log record", "x\ny\nz\n", 3)])
    # THEN the lines add up and the statuses say which row is a record
    batch.check()
    assert batch.status.tolist() == [RECORD, SKIPPED]
    assert batch.records == 1 and batch.kept(["a", "b"]) == ["a"]
    # WHEN its skipped lines go into an accounting
    src = open_source(b"")
    batch.account(src.accounting, ["first", "second"])
    acc = src.accounting
    # THEN the run and the refused record are there with their lines, and one record counted
    assert acc.records == 1 and acc.lines_skipped == 7
    assert acc.skip_reasons == {"not part of a slow log record": 3, "truncated record (no statement)": 4}
    # AND a batch whose lines do not add up fails its check
    with pytest.raises(AssertionError):
        RecordBatch.of(1, 5, {}, [1], [2]).check()


def test_mysql_scanner_batch_of_a_truncated_last_record():
    # GIVEN a slow log of 10 lines: one record of 7 lines, then a record cut inside its header
    text = (MYSQL_FIXTURES / "truncated_last_record.log").read_text()
    # WHEN scanned whole
    state = mysql_slow.State()
    batch = mysql_slow.scan_segment(text, 1, state)
    # THEN one record (lines 1-7, its '# User@Host:' on line 2) and a skipped run of 3 lines
    batch.check()
    assert (batch.lines, len(batch), batch.records) == (10, 1, 1)
    assert batch.first_line.tolist() == [1] and batch.nlines.tolist() == [7]
    assert batch.columns["source_line"] == [2]
    assert batch.columns["statement"] == ["SET NAMES utf8mb4"]
    assert batch.columns["query_time"] == ["0.000070"] and batch.columns["database"] == ["shop"]
    assert [(s[0], s[1], s[3]) for s in batch.skips] == [(8, "truncated record (no '# Query_time:' header)", 3)]
    assert state.time == "261126  5:09:01"
    # AND the digest's scan (full=False) is the same batch without the extra headers and plans
    lean = mysql_slow.scan_segment(text, 1, mysql_slow.State(), full=False)
    assert "extra" not in lean.columns and "extra" in batch.columns
    assert {k: v for k, v in batch.columns.items() if k in lean.columns} == lean.columns


@pytest.mark.parametrize("fixture", sorted(p.name for p in MYSQL_FIXTURES.glob("*.log")))
def test_mysql_batches_account_for_every_line_of_each_fixture(fixture):
    text = (MYSQL_FIXTURES / fixture).read_text()
    batch = mysql_slow.scan_segment(text, 1, mysql_slow.State())
    batch.check()
    # THEN the batch says what the reader reports: its records and skipped lines
    info = tk.read_queries(MYSQL_FIXTURES / fixture).attrs["source"]
    assert batch.lines == info["lines_read"]
    assert batch.records == info["records"]
    assert sum(s[3] for s in batch.skips) + int(batch.nlines[batch.status == SKIPPED].sum()) == info["lines_skipped"]


def test_reader_and_digest_read_the_same_mysql_batches(monkeypatch):
    # GIVEN a spy on the one MySQL scanner
    path = ROOT / "sample_traces/queries/mariadb/app-slow.log"
    seen: dict[bool, int] = {True: 0, False: 0}
    scan = mysql_slow.scan_segment

    def spy(text, first_line, state, full=True):
        batch = scan(text, first_line, state, full)
        batch.check()
        seen[full] += batch.records
        return batch

    monkeypatch.setattr(mysql_slow, "scan_segment", spy)
    # WHEN the reader and digest_file (one process) read the sample
    rows = len(tk.read_queries(path))
    calls = int(digest_file(path, workers=1).calls.sum())
    # THEN both read every record through it: the reader with full batches, the digest lean ones
    assert seen[True] == rows == calls == seen[False]


def test_pg_stderr_scanner_batches_and_the_digest_reads_them(monkeypatch):
    # GIVEN the app sample's stderr log in 64 KiB buffers
    path = APP / "postgresql.log.gz"
    lines = gzip.open(path, "rt").read().count("\n")
    totals = {"rows": 0, "lines": 0, "other": 0, "batches": 0}
    scan = StderrParser.scan_batch

    def spy(self, text, first_line, fields=None):
        batch = scan(self, text, first_line, *([fields] if fields is not None else []))
        if batch is not None:
            batch.check()
            totals["rows"] += len(batch)
            totals["lines"] += batch.lines
            totals["other"] += batch.other_lines
            totals["batches"] += 1
        return batch

    monkeypatch.setattr(StderrParser, "scan_batch", spy)
    # WHEN digest_file digests it in one process
    out = digest_file(path, workers=1, chunk_size=1 << 16)
    # THEN every buffer went through the scanner's batches and they cover the whole log
    assert totals["batches"] > 1 and totals["lines"] == lines
    info = out.attrs["source"]
    assert totals["other"] == info["lines_in_other_table"]["server_events"]
    assert totals["lines"] - totals["other"] == info["record_lines"]
    # AND the digest's calls are the batches' rows less the plans attached to their statement
    assert totals["rows"] >= info["records"] > 0


def test_pg_stderr_scanner_gives_no_batch_for_a_line_to_skip():
    # GIVEN a buffer with a line that does not start with the prefix
    parser = StderrParser(PREFIX, "x.log", None)
    text = ("2026-11-26 05:09:21.826 UTC [11] app@shop LOG:  duration: 0.250 ms  statement: select 1\n"
            "garbage line\n")
    # THEN the scanner leaves it to the full scan (which accounts for the line)
    assert parser.scan_batch(text, 1) is None
    one = parser.scan_batch(text.split("\n")[0] + "\n", 5)
    assert one.first_line.tolist() == [5] and list(one.columns["dur"]) == ["0.250"]
    assert list(one.columns["message"]) == ["select 1"] and list(one.columns["session"]) == ["11"]


@pytest.mark.parametrize("name, batches", [("postgresql.csv.gz", csv_batches), ("postgresql.json.gz", json_batches)])
def test_csv_and_json_batches_cover_the_log(name, batches):
    # GIVEN a structured log of the app sample, read in small chunks
    src = open_source(APP / name)
    got = list(batches(src, 1 << 14))
    for b in got:
        b.check()
    # THEN the batches cover every line, and their rows are the reader's two tables' records
    assert sum(b.lines for b in got) == src.accounting.lines_read
    rows = sum(len(b) for b in got)
    q = tk.read_queries(APP / name)
    s = tk.read_server_events(APP / name)
    assert rows == q.attrs["source"]["record_lines"] + s.attrs["source"]["record_lines"] - _multi_line(got)
    # AND the same columns come from both scanners
    assert {"ts", "session", "severity", "message", "statement"} <= set(got[0].columns)


def _multi_line(batches) -> int:
    """Lines beyond the first of the records (a csvlog record may span lines)."""
    return int(sum(int(np.sum(b.nlines - 1)) for b in batches))


def test_csv_scanner_skips_a_record_of_another_column_count():
    # GIVEN a csvlog of 26 columns whose second record lost its last field
    text = (PG_FIXTURES / "csv_wrong_columns.csv").read_text()
    batch, ncols = scan_csv(text, 1)
    batch.check()
    assert ncols == 26
    assert [s[1] for s in batch.skips] == ["expected 26 csvlog columns, found 25"]
    assert batch.skips[0][0] == 2 and len(batch) == text.count("\n") - 1


@pytest.mark.parametrize("stamp, kept", [("2026-13-26 05:09:21.826", 2), ("2026-11-26 05:09:21.\u0668\u0662\u0666", 2),
                                         ("\u0662\u0660\u0662\u0666-11-26 05:09:21.826", 2),
                                         ("2261-11-26 05:09:21.826", 3)])
def test_pg_stderr_scanner_leaves_a_time_stamp_it_cannot_hold_to_the_full_scan(stamp, kept):
    # GIVEN a buffer of good records and one whose time stamp is no time (month 13), has other
    # digits than ASCII, or lies near the end of the years a timestamp holds (2261: the full
    # scan converts it, the quick check of the scanner does not take it)
    parser = StderrParser(PREFIX, "x.log", None)
    good = "2026-11-26 05:09:21.826 UTC [11] app@shop LOG:  duration: 0.250 ms  statement: select 1\n"
    bad = good.replace("2026-11-26 05:09:21.826", stamp)
    assert parser.scan_batch(good * 3, 1) is not None
    # THEN the scanner gives no batch (the full scan skips that record with its reason)
    assert parser.scan_batch(good + bad + good, 1) is None
    # AND the reader keeps the others, skipping the record it cannot hold
    info = tk.read_queries((good + bad + good).encode(), log_line_prefix=PREFIX).attrs["source"]
    assert (info["records"], info["lines_skipped"]) == (kept, 3 - kept)


def test_pg_stderr_full_scan_batch_holds_both_tables_and_the_lines_it_skips():
    # GIVEN a stderr buffer: a line without the prefix, a query record with its DETAIL line, a
    # server event, a STATEMENT line with no record before it... (after a skipped line)
    parser = StderrParser(PREFIX, "x.log", None)
    head = "2026-11-26 05:09:21.826 UTC [11] app@shop "
    text = ("not a log line\n"
            f"{head}LOG:  duration: 0.250 ms  execute S_1: select $1\n"
            f"{head}DETAIL:  parameters: $1 = '7'\n"
            f"{head}LOG:  checkpoint starting: time\n"
            "garbage\n"
            f"{head}STATEMENT:  select 2\n")
    # WHEN scanned by the full scan (the server-events reader's)
    batch = parser.scan_all(text, 10)
    # THEN two records (lines 11-12 and 13), three skipped lines, every line accounted for
    batch.check()
    assert batch.first_line.tolist() == [11, 13] and batch.nlines.tolist() == [2, 1]
    assert list(batch.columns["parameters"]) == ["$1 = '7'", None]
    assert [(s[0], s[3]) for s in batch.skips] == [(10, 1), (14, 1), (15, 1)]
    assert batch.skips[2][1] == "STATEMENT line without a record before it"
