"""csvlog and jsonlog digested straight from their text (toolkit.queries.pg_csvjson_digest):
the same table and accounting as ``tk.digest(tk.read_queries(path))`` whatever the chunk size,
the number of worker processes, or where byte ranges are cut."""

from __future__ import annotations

import gzip
import os
import shutil

import pandas as pd
import pytest

import toolkit as tk
from toolkit.queries import pg_csvjson_digest as M
from toolkit.queries.digest import digest_file, digest_range, merge_ranges

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
SAMPLES = [f"queries/postgresql/{d}/postgresql.{ext}.gz" for d in ("app", "app-json", "pgbench", "report")
           for ext in ("csv", "json")]
THIRD = [f"third_party/pgbadger/{n}" for n in ("anonymize.log", "cnpg.log", "csv_statement_without_duration.log",
                                               "pg_vacuums.json", "weeknumber.log")] + [
    "third_party/produced-here/pg15-prefix-local.csv", "third_party/produced-here/pg15-prefix-local.json",
    "queries/postgres/csv_wrong_columns.csv", "queries/postgres/pg13_24_columns.csv",
    "queries/postgres/csv_record_start_in_message.csv"]
RECORD_IN_MESSAGE = os.path.join(FIXTURES, "queries/postgres/csv_record_start_in_message.csv")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Every csvlog/jsonlog sample, uncompressed (so it can be cut into byte ranges), and the
    fixtures, each with pandas' digest of it."""
    from conftest import SAMPLES as ROOT

    d = tmp_path_factory.mktemp("csvjson")
    out = {}
    for s in SAMPLES:
        path = d / s.replace("/", "_")[:-3]
        with gzip.open(ROOT / s, "rb") as fh, open(path, "wb") as dst:
            shutil.copyfileobj(fh, dst)
        out[s] = str(path)
    for t in THIRD:
        out[t] = os.path.join(FIXTURES, t)
    return {name: (path, tk.digest(tk.read_queries(path))) for name, path in out.items()}


def _same(got: pd.DataFrame, want: pd.DataFrame, accounting: dict | None = None) -> None:
    pd.testing.assert_frame_equal(got, want)
    got_acc, want_acc = accounting or got.attrs["source"], want.attrs["source"]
    for k in ("lines_read", "records", "lines_skipped", "skip_reasons", "skipped", "record_lines",
              "lines_in_other_table", "format"):
        assert got_acc.get(k) == want_acc.get(k), k


@pytest.mark.parametrize("name", SAMPLES + THIRD)
@pytest.mark.parametrize("options", [{"chunk_size": 4096}, {}, {"workers": 2}], ids=["4KiB", "whole", "2workers"])
def test_digest_file_equals_the_digest_of_the_reader(logs, name, options):
    # GIVEN a csvlog or jsonlog and pandas' digest of read_queries
    path, want = logs[name]
    # WHEN digested from its text, in pieces of 4 KiB, 64 KiB or whole, in one or two processes
    got = digest_file(path, **options)
    # THEN the same table row for row and the same accounting of every line
    _same(got, want)
    assert got["calls"].sum() == want["calls"].sum()


@pytest.mark.parametrize("name", ["queries/postgresql/pgbench/postgresql.json.gz",
                                  "third_party/produced-here/pg15-prefix-local.csv"])
@pytest.mark.parametrize("options", [{"chunk_size": 65536}, {"workers": 2, "chunk_size": 4096}],
                         ids=["64KiB", "2workers-4KiB"])
def test_other_piece_sizes_give_the_same_digest(logs, name, options):
    path, want = logs[name]
    _same(digest_file(path, **options), want)


@pytest.mark.parametrize("name", ["queries/postgresql/pgbench/postgresql.csv.gz",
                                  "queries/postgresql/pgbench/postgresql.json.gz",
                                  "queries/postgresql/app/postgresql.csv.gz",
                                  "third_party/produced-here/pg15-prefix-local.json"])
@pytest.mark.parametrize("pieces", [3, 13])
def test_byte_ranges_tile_the_file_and_merge_to_the_whole_digest(logs, name, pieces, monkeypatch):
    # GIVEN a log whose sessions interleave bind/execute pairs (pgbench) cut into n even ranges
    # (places judged over blocks of 64 KiB, not 1 MiB: the same rule, less to read in a test)
    monkeypatch.setattr(M, "BLOCK", 1 << 16)
    path, want = logs[name]
    fmt = tk.formats.detect(path, "queries").name
    size = os.path.getsize(path)
    cuts = [size * i // pieces for i in range(pieces + 1)]
    # WHEN each range is digested on its own (lines numbered from 1) and the parts merged
    parts = [digest_range((path, fmt, cuts[i], cuts[i + 1], 65536, None, True, {"errors": "skip"}, {}))
             for i in range(pieces)]
    acc, accounting = merge_ranges(parts)
    # THEN no record is split or counted twice, no bind is cut from its execute: the whole digest
    _same(acc.result(), want, accounting)


def test_a_record_start_inside_a_quoted_message_is_never_a_cut(logs):
    # GIVEN a csvlog whose multi-line INSERT holds a line that is itself a whole csvlog record
    path, want = logs["queries/postgres/csv_record_start_in_message.csv"]
    data = open(path, "rb").read()
    true_starts = {0, *(i + 1 for i, b in enumerate(data) if b == 10 and i + 1 < len(data))} - {
        data.index(b"2026-11-26 05:09:21.830 UTC,postgres"), data.index(b"')")}
    # WHEN a byte range may start at any offset
    with open(path, "rb") as fh:
        found = [M.boundary(fh, x, len(data), M.CSVLOG) for x in range(len(data) + 1)]
    # THEN it starts at a record start outside the quoted field (or the end), never going back
    assert set(found) <= true_starts | {len(data)}
    assert found == sorted(found)
    # and the reader, even in pieces of 64 bytes, reads the INSERT whole: 5 records, 7 lines
    events = tk.read_queries(path, chunk_bytes=64)
    assert events["source_line"].tolist() == [1, 2, 5, 6, 7]
    assert events["statement"][1].count("\n") == 2 and 'header "a"' in events["statement"][1]
    assert want["calls"].sum() == 4  # the bind folded into its execute, across another session's record
    assert want.loc[want["fingerprint"] == "select * from orders where id = ?", "total_ms"].tolist() == [2.1]
    for x in range(0, len(data), 50):  # every two-range cut merges to the whole digest
        acc, accounting = merge_ranges([digest_range((path, M.CSVLOG, 0, x, 64, None, True, {}, {})),
                                        digest_range((path, M.CSVLOG, x, len(data), 64, None, True, {}, {}))])
        _same(acc.result(), want, accounting)


def test_a_jsonlog_range_starts_at_a_line_start(logs):
    path, _ = logs["third_party/produced-here/pg15-prefix-local.json"]
    data = open(path, "rb").read()
    with open(path, "rb") as fh:
        found = [M.boundary(fh, x, len(data), M.JSONLOG) for x in range(1, len(data), 997)]
    assert all(data[b - 1:b] == b"\n" for b in found if b < len(data))
    assert found == sorted(found) and found[0] > 0


def test_log_line_prefix_is_refused_for_a_csvlog(logs):
    path, _ = logs["queries/postgres/pg13_24_columns.csv"]
    with pytest.raises(tk.errors.LogFormatError, match="stderr logs only"):
        digest_file(path, reader_options={"log_line_prefix": "%m "})


@pytest.mark.parametrize("name", ["queries/postgresql/pgbench/postgresql.csv.gz",
                                  "queries/postgresql/app/postgresql.json.gz"])
def test_a_growing_log_digested_with_a_state_equals_a_full_read_every_time(logs, name, tmp_path):
    # GIVEN a csvlog or jsonlog written in three pieces, the first two ending inside a record
    source, _ = logs[name]
    data = open(source, "rb").read()
    path, state = tmp_path / os.path.basename(source), tmp_path / "state"
    path.write_bytes(b"")
    for end in (len(data) // 3, 2 * len(data) // 3 + 11, len(data)):
        with open(path, "ab") as fh:
            fh.write(data[os.path.getsize(path):end])
        # WHEN digested with a state after each piece
        out = digest_file(path, state=state)
        # THEN each run reads on from the state, and the last equals the reader's digest
    assert out.attrs["source"]["incremental"].startswith("resumed at byte")
    assert out.attrs["source"]["bytes_read"] < len(data) // 2
    _same(out, logs[name][1])
