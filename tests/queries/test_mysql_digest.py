"""digest_file's direct way with slow logs (toolkit.queries.mysql_digest) gives the DataFrame
way's digest and line accounting, on the MariaDB samples and the edge-case fixtures."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.queries.digest import digest, digest_file, digest_stream
from toolkit.queries.mysql import iter_mysql_slow
from toolkit.sources import CHUNK_BYTES

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [ROOT / "sample_traces/queries/mariadb/app-slow.log",
           ROOT / "sample_traces/queries/mariadb/clean-slow.log.gz"]
FIXTURES = sorted((ROOT / "tests/fixtures/queries/mysql").glob("*.log"))
ACCOUNTING = ("lines_read", "records", "lines_skipped", "skip_reasons", "replaced_bytes")


def plain(values: pd.Series) -> list:
    """Values with every kind of null as None (the lean frames keep object columns)."""
    return [None if pd.isna(v) else v for v in values.astype(object)]


def accounting(info: dict) -> dict:
    return {k: info.get(k) for k in ACCOUNTING}


@pytest.mark.parametrize("chunk_size", [1 << 12, None], ids=["4KiB-pieces", "16MiB-pieces"])
@pytest.mark.parametrize("path", SAMPLES + FIXTURES, ids=lambda p: p.name)
def test_direct_digest_equals_the_dataframe_way(path, chunk_size):
    # GIVEN the reader's frames (the same pieces), digested one by one
    ref = digest_stream(list(iter_mysql_slow(path, chunk_size=chunk_size or CHUNK_BYTES)))
    # WHEN digest_file reads the log the direct way
    out = digest_file(path, workers=1, chunk_size=chunk_size)
    # THEN the same table (examples, their lines, rows, lock time, first/last seen) and accounting
    pd.testing.assert_frame_equal(out, ref)
    events = tk.read_queries(path)
    assert accounting(out.attrs["source"]) == accounting(events.attrs["source"])
    pd.testing.assert_frame_equal(out, digest(events))


@pytest.mark.parametrize("by", ["database", "user", ["session", "client"]])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_grouping(path, by):
    pd.testing.assert_frame_equal(digest_file(path, by=by), digest(tk.read_queries(path), by=by))


def test_the_logged_totals_are_all_there():
    # GIVEN the app sample's Query_time and Rows_examined headers, summed from the raw text
    import re

    text = (ROOT / "sample_traces/queries/mariadb/app-slow.log").read_text()
    q = [float(x) for x in re.findall(r"# Query_time: (\S+)", text)]
    rx = [int(x) for x in re.findall(r"Rows_examined: (\d+)", text)]
    # WHEN digested the direct way
    out = digest_file(ROOT / "sample_traces/queries/mariadb/app-slow.log")
    # THEN every record's time and rows are in it once
    assert out.calls.sum() == len(q)
    assert out.total_ms.sum() == pytest.approx(sum(q) * 1000, rel=1e-12)
    assert out.rows_examined.sum() == sum(rx)


def test_two_processes_give_the_one_process_table(tmp_path):
    path = tmp_path / "slow.log"
    path.write_bytes(gzip.open(ROOT / "sample_traces/queries/mariadb/clean-slow.log.gz").read() * 3)
    one = digest_file(path, workers=1)
    two = digest_file(path, workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert accounting(one.attrs["source"]) == accounting(two.attrs["source"])


def test_an_unknown_grouping_column_is_the_readers_error():
    with pytest.raises(tk.errors.SchemaError, match="no_such_column"):
        digest_file(SAMPLES[0], by="no_such_column")


def test_a_column_the_slow_log_leaves_empty_groups_as_the_dataframe_digest_does():
    # GIVEN a canonical column a slow log never fills (application): the reader's table has it
    # WHEN digest_file groups by it THEN the notebook path's table (one null group per statement)
    out = digest_file(SAMPLES[0], by="application", workers=1)
    ref = digest(tk.read_queries(SAMPLES[0]), by="application")
    pd.testing.assert_frame_equal(out, ref)
    assert out["application"].isna().all() and out["calls"].sum() == ref["calls"].sum() > 0


@pytest.mark.parametrize("name", ["mysql80_iso_time_use_admin.log", "shared_time_no_set_timestamp.log"])
def test_a_range_knows_the_database_and_time_that_carry_into_it(name):
    # GIVEN a MySQL 8 log that names the database only in `use db;` lines, and a log whose records
    # share one '# Time:' without SET timestamp
    from toolkit.queries.mysql import read_mysql_slow, split_mysql_slow

    path = ROOT / "tests/fixtures/queries/mysql" / name
    whole = read_mysql_slow(path)
    size = path.stat().st_size
    for cut in range(1, size, 7):
        # WHEN the file is read as two byte ranges cut anywhere (as digest_file's processes do)
        parts = pd.concat([f for a, b in ((0, cut), (cut, size)) for f in split_mysql_slow(str(path), a, b)],
                          ignore_index=True)
        # THEN each record has the database and time stamp it has in the whole file
        for col in ("database", "timestamp"):
            assert plain(parts[col]) == plain(whole[col]), (cut, col)
    # AND the two-process digest groups by database as the one-process digest does
    pd.testing.assert_frame_equal(digest_file(path, by="database", workers=2),
                                  digest_file(path, by="database", workers=1))
