"""The MySQL / MariaDB / Percona slow log reader (toolkit.queries.mysql)."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess

import pandas as pd
import pytest
from conftest import FIXTURES, SAMPLES
from helpers.programs import require_program

import toolkit as tk
from toolkit import formats, schema
from toolkit.errors import ParseError, ToolkitError, UnknownFormatError
from toolkit.queries.mysql import iter_mysql_slow, read_mysql_slow

MARIADB = SAMPLES / "queries" / "mariadb"
SAMPLE_LOGS = sorted(p for p in MARIADB.iterdir() if ".log" in p.name)
FIX = FIXTURES / "queries" / "mysql"


def _text(path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()


def _naive(text: str) -> tuple[int, float]:
    """An independent line-by-line count of records and the sum of Query_time, in ms."""
    lines = text.split("\n")
    records = sum(1 for x in lines if x.startswith("# User@Host: "))
    total = sum(float(m.group(1)) for x in lines if (m := re.match(r"# Query_time: (\S+)", x)))
    return records, total * 1000


def _covered_lines(df: pd.DataFrame, text: str) -> int:
    """Lines of the records the reader produced: from each record's first line (its '# Time:'
    when the line before the '# User@Host:' is one) to the line before the next record, less the
    lines of mysqld's start banner."""
    lines = text.split("\n")
    banner = re.compile(r".*, Version: .*started with:$|Tcp port: |Time\s+Id\s+Command\s+Argument")
    if lines and lines[-1] == "":
        lines.pop()
    starts = []
    for sl in df["source_line"].astype(int):
        i = sl - 1
        starts.append(i - 1 if i > 0 and lines[i - 1].startswith("# Time: ") else i)
    covered = 0
    for k, s in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        covered += sum(1 for x in lines[s:end] if not banner.match(x))
    return covered


@pytest.mark.parametrize("path", SAMPLE_LOGS, ids=lambda p: p.name)
def test_contract_every_sample_log(path):
    # GIVEN a genuine MariaDB slow log
    text = _text(path)
    # WHEN it is read with format detection and with the reader named
    auto = tk.read_queries(path)
    explicit = tk.read_queries(path, format="mysql-slow")
    # THEN the schema holds, both agree, and the figures match a naive count of the file
    schema.validate(auto, "query_events")
    pd.testing.assert_frame_equal(auto, explicit)
    assert formats.detect(path).name == "mysql-slow"
    records, total_ms = _naive(text)
    assert len(auto) == records
    assert auto["duration_ms"].sum() == pytest.approx(total_ms, abs=1e-6)
    assert auto["statement"].notna().all() and (auto["kind"] == "statement").all()
    assert auto["timestamp"].notna().all() and auto["session"].notna().all()
    # every line is either in a record or skipped with a reason (here: the start banners)
    src = auto.attrs["source"]
    assert src["lines_read"] == len(text.rstrip("\n").split("\n"))
    assert _covered_lines(auto, text) + src["lines_skipped"] == src["lines_read"]
    assert set(src["skip_reasons"]) <= {"server start banner (see read_server_events)"}


def test_mariadb_headers_become_columns():
    df = tk.read_queries(MARIADB / "app-slow.log")
    sort = df[df["statement"].str.startswith("SELECT id, note FROM orders ORDER BY note DESC")].iloc[0]
    # the line in the log: '# Filesort: Yes  Filesort_on_disk: No  Merge_passes: 91  Priority_queue: Yes'
    assert bool(sort["filesort"]) is True and sort["merge_passes"] == 91
    assert sort["rows_examined"] == 190005 and sort["database"] == "app"
    assert df["qc_hit"].dtype == "boolean" and df["bytes_sent"].dtype == "Int64"
    plan = json.loads(sort["plan"])
    assert plan[0]["table"] == "orders" and plan[0]["type"] == "ALL" and plan[0]["key"] is None
    assert set(df["user"].dropna()) == {"root"} and set(df["client"].dropna()) == {"127.0.0.1"}


def test_restart_banners_are_server_events_and_counted_as_skipped():
    df = tk.read_queries(MARIADB / "app-slow.log")
    assert df.attrs["source"]["skip_reasons"] == {"server start banner (see read_server_events)": 6}
    ev = tk.read_server_events(MARIADB / "app-slow.log")
    schema.validate(ev, "server_events")
    assert ev["source_line"].tolist() == [1, 1627]
    assert ev["message"].str.contains("mariadbd, Version: 10.11").all()
    # stamped with the first record after the banner
    after = df[df["source_line"] > 1627].iloc[0]
    assert ev["timestamp"].iloc[1] == after["timestamp"]


def test_mysql80_iso_time_id_use_and_admin_command():
    df = read_mysql_slow(FIX / "mysql80_iso_time_use_admin.log")
    assert df["timestamp"].tolist() == [pd.Timestamp("2024-03-01T10:00:00.123456Z"),
                                        pd.Timestamp("2024-03-01T10:00:00.523456Z"),
                                        pd.Timestamp("2024-03-01T10:00:01.000001Z")]
    assert df["session"].tolist() == ["8", "9", "8"]
    assert df["client"].tolist() == ["localhost", "10.0.0.5", "localhost"]
    assert df["database"].tolist() == ["shop"] * 3  # `use shop;` carries forward
    assert df["statement"].iloc[1] == "SELECT name\n  FROM customers\n WHERE id IN (1, 2, 3)"
    assert df["statement"].iloc[2] == "administrator command: Quit"
    assert df["duration_ms"].tolist() == [250.0, 1.5, 0.1]
    assert df["lock_ms"].iloc[0] == pytest.approx(0.01)
    assert df["source_line"].tolist() == [5, 11, 18]


def test_percona_extended_headers():
    df = read_mysql_slow(FIX / "percona_extended_headers.log")
    row = df.iloc[0]
    assert row["database"] == "shop" and row["rows_examined"] == 200000 and row["rows_affected"] == 0
    assert row["innodb_pages_distinct"] == 120 and row["tmp_disk_tables"] == 1
    assert bool(row["tmp_table_on_disk"]) is True and bool(row["qc_hit"]) is False
    assert df["innodb_io_r_wait"].dtype == "float64"


def test_records_sharing_one_time_and_no_set_timestamp():
    df = read_mysql_slow(FIX / "shared_time_no_set_timestamp.log")
    assert df["timestamp"].tolist() == [pd.Timestamp("2007-10-15 21:43:52", tz="UTC")] * 2
    assert df["database"].isna().iloc[0] and df["database"].iloc[1] == "test"
    assert df["statement"].tolist() == ["select sleep(2) from n", "select 1"]


def test_truncated_last_record_is_counted_not_lost():
    df = read_mysql_slow(FIX / "truncated_last_record.log")
    assert len(df) == 1
    src = df.attrs["source"]
    assert src["skip_reasons"] == {"truncated record (no '# Query_time:' header)": 3}
    assert src["lines_read"] == 10 and src["skipped"][0]["line"] == 8
    with pytest.raises(ParseError, match=r"truncated_last_record.log:8: truncated record"):
        read_mysql_slow(FIX / "truncated_last_record.log", errors="raise")


def test_random_bytes_are_a_clear_error():
    data = random.Random(1).randbytes(5000)
    with pytest.raises(UnknownFormatError):
        tk.read_queries(data)
    with pytest.raises(ParseError, match="no slow log record found") as err:
        read_mysql_slow(data + b"\n")
    assert err.value.line == 1
    assert isinstance(err.value, ToolkitError)


def test_only_a_banner_is_an_empty_table():
    df = read_mysql_slow(b"/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-log (Debian 12). started with:\n"
                         b"Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n"
                         b"Time\t\t    Id Command\tArgument\n")
    assert len(df) == 0 and df.attrs["source"]["lines_skipped"] == 3
    schema.validate(df, "query_events")


@pytest.mark.parametrize("chunk_size", [1 << 14, 1 << 16])
def test_chunked_reading_gives_the_same_records(chunk_size):
    # GIVEN pieces far smaller than the log, so records are cut at piece boundaries
    path = MARIADB / "app-slow.log"
    whole = read_mysql_slow(path)
    parts = list(iter_mysql_slow(path, chunk_size=chunk_size))
    assert len(parts) >= 2
    joined = pd.concat(parts, ignore_index=True)
    cols = ["timestamp", "duration_ms", "statement", "session", "database", "source_line", "plan"]
    pd.testing.assert_frame_equal(joined[cols], whole[cols])
    assert parts[-1].attrs["source"]["lines_read"] == whole.attrs["source"]["lines_read"]
    assert read_mysql_slow(path, chunk_size=chunk_size)["statement"].tolist() == whole["statement"].tolist()


def test_crlf_and_compressed_input(tmp_path):
    text = _text(MARIADB / "app-slow.log")
    p = tmp_path / "crlf-slow.log.gz"
    p.write_bytes(gzip.compress(text.replace("\n", "\r\n").encode()))
    df = tk.read_queries(p)
    assert df["statement"].tolist() == read_mysql_slow(MARIADB / "app-slow.log")["statement"].tolist()


def _pt_json(path) -> dict:
    exe = require_program("pt-query-digest")
    out = subprocess.run([exe, "--output", "json", "--limit", "100%", str(path)],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def test_totals_equal_pt_query_digest_on_the_clean_log(tmp_path):
    # GIVEN the clean log (no restart inside): pt-query-digest reads every record
    plain = tmp_path / "clean-slow.log"
    plain.write_text(_text(MARIADB / "clean-slow.log.gz"))
    pt = _pt_json(plain)
    df = tk.read_queries(plain)
    assert len(df) == pt["global"]["query_count"]
    assert df["duration_ms"].sum() / 1000 == pytest.approx(float(pt["global"]["metrics"]["Query_time"]["sum"]),
                                                          abs=1e-6)
    assert df["lock_ms"].sum() / 1000 == pytest.approx(float(pt["global"]["metrics"]["Lock_time"]["sum"]),
                                                      abs=1e-6)
    assert df["rows_examined"].sum() == int(pt["global"]["metrics"]["Rows_examined"]["sum"])


def _pt_header_total_s(path) -> tuple[int, float, float]:
    """pt-query-digest's report header: 'Overall: N total' and the '# Exec time' total, which
    it prints rounded ('6s', '331ms', '45us': micro_t in pt-query-digest); returns the count,
    the total in seconds and the rounding unit in seconds."""
    exe = require_program("pt-query-digest")
    report = subprocess.run([exe, "--limit", "1", str(path)], capture_output=True, text=True, check=True,
                            timeout=120).stdout
    count = int(re.search(r"^# Overall: (\d+) total", report, re.M).group(1))
    value, unit = re.search(r"^# Exec time\s+([\d.]+)(s|ms|us)\s", report, re.M).groups()
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]
    return count, float(value) * scale, scale


def test_totals_match_pt_query_digest_report_header(tmp_path):
    plain = tmp_path / "clean-slow.log"
    plain.write_text(_text(MARIADB / "clean-slow.log.gz"))
    for path in (plain, MARIADB / "app-slow.log"):
        count, total_s, unit = _pt_header_total_s(path)
        df = tk.read_queries(path)
        lost = 1 if path.name == "app-slow.log" else 0  # the record after the mid-file banner
        assert len(df) == count + lost
        assert round(df["duration_ms"].sum() / 1000 / unit) * unit == pytest.approx(total_s)


def test_pt_query_digest_loses_the_record_after_a_mid_file_banner():
    # GIVEN the application log with a restart banner at line 1627: pt-query-digest glues the
    # banner and the next record onto the statement before it (see the samples' README)
    path = MARIADB / "app-slow.log"
    pt = _pt_json(path)
    df = tk.read_queries(path)
    after_banner = df[df["source_line"] > 1627].iloc[0]
    assert after_banner["statement"] == "SET NAMES utf8mb4"
    assert len(df) == pt["global"]["query_count"] + 1
    ours = df["duration_ms"].sum() - after_banner["duration_ms"]
    assert ours / 1000 == pytest.approx(float(pt["global"]["metrics"]["Query_time"]["sum"]), abs=1e-6)


def test_live_mariadb_every_statement_is_logged(tmp_path):
    # GIVEN a throwaway MariaDB logging every statement, and a restart in the middle
    require_program("mariadbd")
    pytest.importorskip("pymysql")
    from helpers.mariadb import mariadb_server

    with mariadb_server(tmp_path) as server:
        conn = server.connect()
        cur = conn.cursor()
        cur.execute("CREATE DATABASE t")
        cur.execute("CREATE TABLE t.n (i INT PRIMARY KEY)")
        cur.execute("INSERT INTO t.n VALUES (1), (2), (3)")
        conn.commit()
        conn.close()
        server.stop()
        server.start()
        conn = server.connect("t")
        cur = conn.cursor()
        for i in range(5):
            cur.execute("SELECT i FROM n WHERE i <= %s", (i,))
        conn.close()
        # the server writes a statement's slow-log entry after answering it: stop it (a clean
        # shutdown finishes every connection's last entry) before the log is read
        server.stop()
        log = server.slow_log.read_bytes()
    # WHEN the slow log is read
    df = tk.read_queries(log)
    # THEN each statement is there once, with the rows it sent and its database
    sel = df[df["statement"].str.startswith("SELECT i FROM n")]
    assert sel["statement"].tolist() == [f"SELECT i FROM n WHERE i <= {i}" for i in range(5)]
    assert sel["rows_sent"].tolist() == [0, 1, 2, 3, 3]
    assert (sel["database"] == "t").all()
    assert (df["statement"] == "INSERT INTO t.n VALUES (1), (2), (3)").sum() == 1
    assert df.attrs["source"]["skip_reasons"] == {"server start banner (see read_server_events)": 6}
    assert len(tk.read_server_events(log)) == 2
    assert os.path.exists(tmp_path / "data")


@pytest.mark.parametrize("path", SAMPLE_LOGS + sorted(FIX.glob("*.log")), ids=lambda p: p.name)
def test_the_digest_path_reads_the_same_records_and_lines(path, tmp_path):
    # GIVEN the general reader and the lean one digest_file's byte ranges use (one findall, no
    # per-record loop), over the whole file in 8 KiB pieces
    from toolkit.queries.mysql import split_mysql_slow

    full = read_mysql_slow(path)
    plain = tmp_path / "slow.log"  # byte ranges need a plain file
    plain.write_bytes(path.read_bytes() if path.suffix != ".gz" else gzip.decompress(path.read_bytes()))
    parts = list(split_mysql_slow(str(plain), 0, os.path.getsize(plain), chunk_size=1 << 13))
    lean = pd.concat(parts, ignore_index=True)
    # THEN the same records, figures and line accounting
    cols = ["timestamp", "duration_ms", "statement", "database", "session", "source_line", "rows_examined"]
    assert lean["statement"].tolist() == full["statement"].tolist()
    def plain(df):
        return df[cols].astype(object).where(df[cols].notna(), None)

    pd.testing.assert_frame_equal(plain(lean), plain(full), check_dtype=False)
    a, b = parts[-1].attrs["source"], full.attrs["source"]
    for key in ("lines_read", "records", "lines_skipped", "skip_reasons"):
        assert a[key] == b[key], key


def test_a_statement_longer_than_a_piece_is_kept_whole(tmp_path):
    # GIVEN two records whose statements (2 MB each) are far longer than the 64 KiB pieces
    stmt = b"SELECT * FROM t WHERE id IN (" + b",".join(str(i).encode() for i in range(300_000)) + b")"
    rec = (b"# Time: 2024-03-01T10:00:00.000001Z\n# User@Host: a[a] @ h [10.0.0.1]  Id: 3\n"
           b"# Query_time: 1.5  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 2\nSET timestamp=1709287200;\n"
           + stmt + b";\n")
    path = tmp_path / "long-slow.log"
    path.write_bytes(rec * 2)
    # WHEN read in pieces, by the general reader and the digest's (one and two processes)
    df = read_mysql_slow(path, chunk_size=1 << 16)
    # THEN both records are whole, with their lines
    assert df["statement"].tolist() == [stmt.decode()] * 2
    assert df["source_line"].tolist() == [2, 7] and df.attrs["source"]["lines_skipped"] == 0
    from toolkit.queries.digest import digest_file

    for workers in (1, 2):
        d = digest_file(path, workers=workers, chunk_size=1 << 16)
        assert d["calls"].tolist() == [2] and d["fingerprint"].tolist() == ["select * from t where id in(?+)"]


def test_administrator_commands_are_records_even_alone():
    # GIVEN a log made only of protocol commands (Ping, Prepare, Quit), as mysqld writes them
    path = FIX / "only_admin_commands.log"
    # WHEN it is read and digested
    df = read_mysql_slow(path)
    # THEN each is a record, kept as pt-query-digest keeps it (not 'no slow log record found')
    assert df["statement"].tolist() == ["administrator command: Ping", "administrator command: Prepare",
                                        "administrator command: Quit"]
    assert df["duration_ms"].sum() == pytest.approx(0.316)
    assert df["source_line"].tolist() == [2, 6, 10] and df.attrs["source"]["lines_skipped"] == 0
    from toolkit.queries.digest import digest_file

    d = digest_file(path, workers=1)
    assert sorted(d["calls"].tolist()) == [1, 1, 1]


def test_an_administrator_command_after_a_statement_header_block_is_its_statement():
    # GIVEN pt-query-digest's slow008 (a Quit record, then a record of two statements)
    df = read_mysql_slow(FIXTURES / "third_party" / "percona-toolkit" / "slow008.txt")
    # THEN three records, as pt-query-digest counts them, the Quit one its own
    assert df["statement"].tolist() == ["administrator command: Quit", "SET NAMES utf8",
                                        "SELECT MIN(id),MAX(id) FROM tbl"]
    assert df["duration_ms"].sum() == pytest.approx(19.7)


@pytest.mark.parametrize("name", ["blank_lines_at_end.log", "no_newline_at_end.log"])
def test_the_end_of_the_file_changes_no_statement_and_no_class(name):
    # GIVEN the same two records, the file ending in two blank lines, or with no line break
    path = FIX / name
    # WHEN it is read and digested
    df = read_mysql_slow(path)
    # THEN the last statement is the first's twin, and one class holds both
    assert df["statement"].tolist() == ["SELECT * FROM orders WHERE id = 1", "SELECT * FROM orders WHERE id = 2"]
    assert df.attrs["source"]["lines_read"] == {"blank_lines_at_end.log": 11, "no_newline_at_end.log": 9}[name]
    assert df.attrs["source"]["lines_skipped"] == 0
    from toolkit.queries.digest import digest_file

    d = digest_file(path, workers=1)
    assert d["fingerprint"].tolist() == ["select * from orders where id = ?"] and d["calls"].tolist() == [2]
    assert d["total_ms"].tolist() == [750.0]


PT = FIXTURES / "third_party" / "percona-toolkit"  # pt-query-digest's own test logs (real, GPL)


def test_pt_query_digest_slowlog_output_with_client_and_no_user_host():
    # GIVEN pt-query-digest's '--output slowlog' form ('# Client: ip:port', no '# User@Host:')
    # WHEN it is detected, read and digested by client
    from toolkit.queries.digest import digest_file

    assert formats.detect(PT / "slowlogwriter001.txt").name == "mysql-slow"
    df = read_mysql_slow(PT / "slowlogwriter001.txt")
    d = digest_file(PT / "slowlogwriter001.txt", by="client")
    # THEN the record, its client from '# Client:', and no line left over
    assert df[["client", "statement", "duration_ms", "source_line"]].values.tolist() == [
        ["127.0.0.1:12345", "select * from foo", 1000.0, 1]]
    assert "client" in df.columns and df.attrs["source"]["lines_skipped"] == 0
    assert d["client"].tolist() == ["127.0.0.1:12345"] and d["calls"].tolist() == [1]


def test_records_that_start_at_query_time_or_thread_id():
    # GIVEN pt's slow034: '# Time:' + '# Thread_id:' heads, then records that start at
    # '# Query_time:' (no '# User@Host:' anywhere), one with 'Rows_examined:40' (no space)
    df = read_mysql_slow(PT / "slow034.txt")
    # THEN nine records (pt-query-digest's count and total), sessions from '# Thread_id:', the
    # database from 'Schema:' or the last 'use'
    assert len(df) == 9 and df["duration_ms"].sum() == pytest.approx(1363356.468)
    assert df["source_line"].tolist() == [2, 8, 13, 19, 25, 31, 37, 43, 48]
    assert df["session"].fillna("-").tolist() == ["1", "-", "-", "2", "-", "-", "3", "-", "-"]
    assert df["database"].fillna("-").tolist() == ["db1", "-", "-", "db1", "db2", "db2", "db3", "db2", "db2"]
    assert df["rows_examined"].iloc[-1] == 40 and df.attrs["source"]["lines_skipped"] == 0


@pytest.mark.parametrize("path", [*(PT / n for n in ("slow030.txt", "slow034.txt", "slow036.txt", "slow046.txt",
                                                     "slow054.txt", "slowlogwriter001.txt", "slow041.txt")),
                                  FIX / "header_lines_inside_a_string_literal.log"], ids=lambda p: p.name)
@pytest.mark.parametrize("chunk_size", [64, 200])
def test_new_dialects_read_the_same_in_pieces_and_byte_ranges(path, chunk_size):
    # GIVEN a log whose records have no '# User@Host:' line (their header may end a piece), or
    # whose statement holds header-like lines inside a string literal (no place to cut)
    from toolkit.queries.mysql import split_mysql_slow

    cols = ["timestamp", "duration_ms", "statement", "database", "session", "client", "source_line"]

    def rows(df):
        return df[cols].astype(object).where(df[cols].notna(), None).values.tolist()

    whole = rows(read_mysql_slow(path))
    # WHEN it is read in small pieces, and as byte ranges cut every 97 bytes
    size = os.path.getsize(path)
    cuts = [*range(0, size, 97), size]
    parts = [df for a, b in zip(cuts[:-1], cuts[1:], strict=True) for df in split_mysql_slow(str(path), a, b, chunk_size=chunk_size)
             if len(df)]
    # THEN the same records, each once
    assert rows(read_mysql_slow(path, chunk_size=chunk_size)) == whole
    assert rows(pd.concat(parts, ignore_index=True)) == whole and len(whole) >= 1


@pytest.mark.parametrize("chunk_size", [None, 64, 300])
def test_header_lines_inside_a_string_literal_stay_in_the_statement(chunk_size):
    # GIVEN a statement whose string literal holds lines that look like a whole record
    # ('# Time:', '# User@Host:', '# Query_time: 99 ...'), then a record with '' and a quote
    # inside a `backtick` name
    path = FIX / "header_lines_inside_a_string_literal.log"
    # WHEN it is read whole or in small pieces, and digested by one and two processes
    from toolkit.queries.digest import digest_file

    df = read_mysql_slow(path, **({"chunk_size": chunk_size} if chunk_size else {}))
    # THEN two records, as pt-query-digest reads them: no invented 99 s statement
    assert df["duration_ms"].tolist() == [250.0, 500.0] and df["source_line"].tolist() == [2, 11]
    assert df["statement"].iloc[0].startswith("INSERT INTO notes (body) VALUES ('pasted from a log:\n# Time: ")
    assert df["statement"].iloc[0].endswith("SELECT ''quoted'' FROM t;')")
    assert df["statement"].iloc[1] == "SELECT body FROM notes WHERE body = 'it''s' AND `weird'name` = 1"
    assert df.attrs["source"]["lines_read"] == 14 and df.attrs["source"]["lines_skipped"] == 0
    for workers in (1, 2):
        d = digest_file(path, workers=workers, **({"chunk_size": chunk_size} if chunk_size else {}))
        assert sorted(d["total_ms"].tolist()) == [250.0, 500.0] and d["calls"].sum() == 2
