"""The slow-log digest adds records to their groups a batch at a time (figures and time stamps
converted as arrays, then one ``DigestGroup.take`` per group for many batches), and the reader
builds its columns from distinct values: both must give what one record at a time gives, to the
bit, wherever the batches and the waiting records are cut."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit.queries import mysql_digest
from toolkit.queries.digest import digest, digest_file
from toolkit.queries.mysql import read_mysql_slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [ROOT / "sample_traces/queries/mariadb/app-slow.log",
           ROOT / "sample_traces/queries/mariadb/clean-slow.log.gz"]
FIXTURES = sorted((ROOT / "tests/fixtures/queries/mysql").glob("*.log"))
BANNER = ("/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:\n"
          "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n")


def record(qt: str, *, ts: int = 1709287200, rows: str = "1", lock: str = "0.000010", user: str = "app",
           stmt: str = "SELECT * FROM t WHERE id = 1", headers: str = "# Rows_affected: 0  Bytes_sent: 11\n") -> str:
    return (f"# User@Host: {user}[{user}] @ localhost [127.0.0.1]\n# Thread_id: 7  Schema: shop  QC_hit: No\n"
            f"# Query_time: {qt}  Lock_time: {lock}  Rows_sent: {rows}  Rows_examined: 10\n{headers}"
            f"SET timestamp={ts};\n{stmt};\n")


@pytest.mark.parametrize("flush_at", [1, 3, 65_536])
@pytest.mark.parametrize("path", SAMPLES + FIXTURES, ids=lambda p: p.name)
def test_records_added_in_any_number_at_a_time_give_the_readers_digest_to_the_bit(path, flush_at, monkeypatch):
    # GIVEN the digest that waits for flush_at records before adding them to their groups
    monkeypatch.setattr(mysql_digest, "FLUSH_AT", flush_at)
    # WHEN a log is digested the direct way, in 4 KiB pieces and in one
    ref = digest(tk.read_queries(path))
    for chunk_size in (1 << 12, None):
        out = digest_file(path, workers=1, chunk_size=chunk_size)
        # THEN the reader's digest, every float the same (sums in input order, exact percentiles)
        pd.testing.assert_frame_equal(out, ref, check_exact=True)


def test_the_example_is_the_first_slowest_call_and_the_sums_are_the_logged_ones(tmp_path, monkeypatch):
    # GIVEN one statement class whose slowest time (3 s) is logged three times, across restart
    # banners and batches of waiting records, with a record whose Rows_sent is no number between
    monkeypatch.setattr(mysql_digest, "FLUSH_AT", 2)
    text = (record("1.000000", ts=1709287201) + record("3.000000", ts=1709287205, rows="5") + BANNER
            + record("3.000000", ts=1709287203, rows="7") + record("0.500000", rows="0x1F")
            + record("2.000000", ts=1709287209) + BANNER + record("3.000000", ts=1709287202, rows="2"))
    path = tmp_path / "tie-slow.log"
    path.write_text(text)
    # WHEN digested the direct way and the reader's way
    out = digest_file(path, workers=1)
    ref = digest(tk.read_queries(path))
    pd.testing.assert_frame_equal(out, ref, check_exact=True)
    row = out.iloc[0]
    # THEN the example is the first 3 s call (the second record: its '# User@Host:' line is 7),
    # the bad record is skipped with its reason, and the counts, sums and times are the five good ones
    assert len(out) == 1
    assert (row["calls"], row["total_ms"], row["max_ms"]) == (5, 12000.0, 3000.0)
    assert row["example_line"] == 7 and row["rows_sent"] == 1 + 5 + 7 + 1 + 2
    assert row["p50_ms"] == 3000.0 and row["lock_ms"] == pytest.approx(5 * 0.01)
    assert (row["first_seen"], row["last_seen"]) == (pd.Timestamp(1709287201, unit="s", tz="UTC"),
                                                      pd.Timestamp(1709287209, unit="s", tz="UTC"))
    src = out.attrs["source"]
    assert src["records"] == 5 and src["skip_reasons"]["Rows_sent is not a whole number"] == 6


def test_records_without_lock_time_and_rows_keep_those_sums_absent(tmp_path, monkeypatch):
    # GIVEN records whose '# Query_time:' line has no Lock_time, Rows_sent, Rows_examined (the
    # form pt-query-digest also reads), then records with them, in waiting batches of 1
    monkeypatch.setattr(mysql_digest, "FLUSH_AT", 1)
    bare = "# Time: 240301 10:00:00\n# User@Host: app[app] @ localhost []\n# Query_time: {}\nSELECT 1;\n"
    path = tmp_path / "bare-slow.log"
    path.write_text(bare.format("0.25") + bare.format("0.75"))
    out = digest_file(path, workers=1)
    pd.testing.assert_frame_equal(out, digest(tk.read_queries(path)), check_exact=True)
    # THEN the durations count and the sums the log does not hold are absent, not zero
    assert (out["calls"].tolist(), out["total_ms"].tolist()) == ([2], [1000.0])
    assert not {"lock_ms", "rows_sent", "rows_examined"} & set(out.columns)
    # AND once a record has them, the group's sums are those records' values
    path.write_text(bare.format("0.25") + record("0.5", stmt="SELECT 2", rows="4"))
    out = digest_file(path, workers=1)
    pd.testing.assert_frame_equal(out, digest(tk.read_queries(path)), check_exact=True)
    assert out["rows_sent"].tolist() == [4] and out["calls"].tolist() == [2]


def test_headers_shared_by_records_give_each_record_its_own_values(tmp_path):
    # GIVEN records whose header lines repeat (read once, one dict for all their records) and
    # differ, across a restart banner, and a header that is a number in some records only
    text = (record("0.1") + record("0.2", headers="# Rows_affected: 3  Bytes_sent: 11\n# Full_scan: Yes\n")
            + BANNER + record("0.3") + record("0.4", headers="# Rows_affected: many  Bytes_sent: 11\n")
            + record("0.5", user="other"))
    path = tmp_path / "shared-slow.log"
    path.write_text(text)
    # WHEN read, in pieces of any size
    df = tk.read_queries(path)
    for chunk_size in (64, 1 << 12):
        pd.testing.assert_frame_equal(read_mysql_slow(path, chunk_size=chunk_size), df,
                                      check_exact=True)
    # THEN each record has its own headers' values, typed over the whole table
    assert df["rows_affected"].tolist() == ["0", "3", "0", "many", "0"]
    assert str(df["rows_affected"].dtype) == "string"
    assert df["bytes_sent"].tolist() == [11] * 5 and str(df["bytes_sent"].dtype) == "Int64"
    assert df["full_scan"].isna().tolist() == [True, False, True, True, True]
    assert str(df["full_scan"].dtype) == "boolean" and df["full_scan"].iloc[1] is np.True_
    assert df["user"].tolist() == ["app"] * 4 + ["other"]
    assert df["session"].tolist() == ["7"] * 5 and df["database"].tolist() == ["shop"] * 5
    assert df["plan"].isna().all() and str(df["statement"].dtype) == "string"


def test_a_gzip_sample_read_in_small_pieces_is_the_whole(tmp_path):
    # GIVEN the clean sample three times over (many batches of each size)
    path = tmp_path / "three-slow.log"
    path.write_bytes(gzip.open(SAMPLES[1]).read() * 3)
    whole = read_mysql_slow(path, chunk_size=1 << 24)
    # WHEN read in 4 KiB and the default pieces THEN the same table, bit for bit
    for chunk_size in (1 << 12, None):
        options = {} if chunk_size is None else {"chunk_size": chunk_size}
        pd.testing.assert_frame_equal(read_mysql_slow(path, **options), whole, check_exact=True)
    assert np.isfinite(whole["duration_ms"]).all() and len(whole) > 0


HOSTILE = ["", "\n", "garbage", "garbage\n\n", "# Query_time: 1\nSELECT 1", BANNER, BANNER + "junk",
           "# User@Host: a[a] @ h []\n# Query_time: 0.1  Lock_time: 0  Rows_sent: 1  Rows_examined: 1\n'open\n"
           "# Query_time: 2  Lock_time: 0  Rows_sent: 1  Rows_examined: 1\nSELECT 'x';\n\n\n"]


@pytest.mark.parametrize("text", [*HOSTILE, *(tk.sources.open_source(p).read_bytes().decode() for p in SAMPLES + FIXTURES)],
                         ids=lambda t: repr(t[:20]))
def test_the_scanners_lines_are_the_texts_lines(text):
    # GIVEN any text without a restart banner inside (the reader cuts those out before scanning)
    from toolkit.queries.mysql_slow import State, scan_segment

    if "started with:" in text:
        text = text.replace("started with:", "started")
    # WHEN scanned THEN its records, skipped runs and their lines cover exactly the text's lines
    batch = scan_segment(text, 7, State(), full=True)
    batch.check()
    assert batch.lines == text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    assert batch.first == 7


@pytest.mark.parametrize("chunk_size", [64, 1 << 12, 1 << 22])
def test_extra_header_columns_are_made_over_the_whole_table_wherever_the_pieces_are_cut(tmp_path, chunk_size):
    # GIVEN a header that is a number in one record and text in a later one, another that is
    # Yes/No, a header named like a canonical column (Kind) and two spelt alike (Rows_Affected,
    # rows_affected), each in records far apart
    plain = "".join(record(f"0.{k:06d}", headers=f"# Rows_affected: {k}  Full_scan: {'Yes' if k % 2 else 'No'}\n")
                    for k in range(1, 40))
    path = tmp_path / "slow.log"
    path.write_text(plain + record("0.5", headers="# Rows_affected: many  Full_scan: No\n"))
    # WHEN read in pieces of chunk_size bytes
    df = read_mysql_slow(path, chunk_size=chunk_size)
    # THEN each extra column is typed over the whole table: text as soon as one value is text
    assert str(df["rows_affected"].dtype) == "string" and df["rows_affected"].iloc[-1] == "many"
    assert df["rows_affected"].iloc[0] == "1" and str(df["full_scan"].dtype) == "boolean"
    assert df["full_scan"].tolist()[:3] == [True, False, True]
    # AND names alike keep the per-piece way they always had: the canonical kind replaced by
    # the Kind header's value, the later spelling of rows_affected the one kept
    odd = tmp_path / "odd-slow.log"
    odd.write_text(plain + record("0.7", headers="# Kind: odd  Rows_Affected: 3\n")
                   + record("0.8", headers="# rows_affected: x  QC_hit: Yes\n"))
    df = read_mysql_slow(odd, chunk_size=chunk_size)
    assert df["kind"].tolist()[-2] == "odd" and df["kind"].tolist()[0] in ("statement", None)
    assert df["rows_affected"].tolist()[-1] == "x" and df["qc_hit"].tolist()[-1] is True


def test_skipped_lines_are_reported_segment_by_segment_in_the_order_they_always_were(tmp_path):
    # GIVEN one piece of text holding, before a restart banner, a junk line, a record without a
    # statement and a record whose Rows_sent is no number, then the same after the banner
    def part(k: int) -> str:
        return (f"junk {k}\n" + record("0.1")
                + "# User@Host: a[a] @ h []\n# Query_time: 0.2  Lock_time: 0  Rows_sent: 1  Rows_examined: 1\n"
                + record("0.3", rows="0x1F") + record("0.4"))
    path = tmp_path / "slow.log"
    path.write_text(part(1) + BANNER + part(2))
    # WHEN the reader and the direct digest read it (one piece of text, one scan)
    frame_src = tk.read_queries(path).attrs["source"]
    digest_src = digest_file(path, workers=1).attrs["source"]
    # THEN each reports: per segment the junk run, the record without a statement, the record with
    # the bad figure; the banner between the segments (the reader's order before the one scan
    # per piece; the reader's bad figures come after the piece's other skips, as they always did)
    reasons = [(s["line"], s["reason"]) for s in digest_src["skipped"]]
    truncated, bad = "truncated record (no statement)", "Rows_sent is not a whole number"
    banner = "server start banner (see read_server_events)"
    junk = "not part of a slow log record"
    assert reasons == [(1, junk), (8, truncated), (10, bad), (22, banner), (25, junk), (32, truncated), (34, bad)]
    assert [(s["line"], s["reason"]) for s in frame_src["skipped"]] == [
        (1, junk), (8, truncated), (22, banner), (25, junk), (32, truncated), (10, bad), (34, bad)]
    assert frame_src["records"] == digest_src["records"] == 4
    assert frame_src["lines_skipped"] == digest_src["lines_skipped"] == 1 + 2 + 6 + 3 + 1 + 2 + 6
    # AND in raise mode the reader stops at the first of them
    with pytest.raises(tk.ToolkitError, match=r"slow.log:1: not part of a slow log record"):
        tk.read_queries(path, errors="raise")
