"""PostgreSQL readers on odd and bad input: prefixes, old versions, translations, garbage,
truncation, wrong CSV columns. Each gives a clear ToolkitError or lines skipped with a reason,
and no line vanishes from the accounting."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.errors import LogFormatError, ParseError, ToolkitError, UnknownFormatError
from toolkit.queries.pg_prefix import compile_prefix, detect_prefix
from toolkit.queries.pg_time import to_utc

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "queries" / "postgres"
APP = ROOT / "sample_traces" / "queries" / "postgresql" / "app"


def accounted(df: pd.DataFrame) -> bool:
    s = df.attrs["source"]
    return s["lines_read"] == s["record_lines"] + s["lines_skipped"] + sum(s["lines_in_other_table"].values())


# --------------------------------------------------------------------------- prefixes


def test_compile_prefix_with_q_padding_and_every_field():
    rx = compile_prefix("%m [%p] %q%u@%d ")
    m = rx.match("2026-11-26 05:09:21.116 UTC [11948] LOG:  database system is ready")
    assert (m["pid"], m["user"], m["severity"]) == ("11948", None, "LOG")
    rx = compile_prefix("%t %-8u|%5p|%c|%l|%a|%h|%e|%Q|%x|%v|%% ")
    line = ("2026-11-26 05:09:21 UTC bob     |  123|6b07bf01.2edf|7|my app|10.0.0.1|42P01|-77|0|3/9|% "
            "ERROR:  boom")
    m = rx.match(line)
    assert (m["user"].strip(), m["pid"], m["session"], m["session_line"], m["application"],
            m["client"], m["sqlstate"], m["query_id"]) == (
        "bob", "123", "6b07bf01.2edf", "7", "my app", "10.0.0.1", "42P01", "-77")


def test_remote_host_with_port_keeps_the_host():
    m = compile_prefix("%t:%r:%u@%d:[%p]:").match(
        "2026-11-26 05:09:21 UTC:10.0.0.1(5432):bob@shop:[42]:LOG:  statement: SELECT 1")
    assert (m["client"], m["user"], m["database"], m["pid"]) == ("10.0.0.1", "bob", "shop", "42")


def test_unknown_escape_is_a_log_format_error():
    with pytest.raises(LogFormatError, match="%z"):
        compile_prefix("%m %z ")


@pytest.mark.parametrize("prefix", ["%m [%p] %q%u@%d ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
                                    "%m [%p] ", "%t:%r:%u@%d:[%p]:"])
def test_common_prefixes_are_detected(prefix):
    # GIVEN a line written with the prefix (fields filled in by hand)
    values = {"%m": "2026-11-26 05:09:21.116 UTC", "%t": "2026-11-26 05:09:21 UTC", "%p": "42",
              "%q": "", "%u": "bob", "%d": "shop", "%l": "3", "%a": "psql", "%h": "10.0.0.1",
              "%r": "10.0.0.1(5432)"}
    line = prefix
    for k, v in values.items():
        line = line.replace(k, v)
    found = detect_prefix([line + "LOG:  duration: 1.000 ms  statement: SELECT 1"])
    # '%m [%p] ' lines are also Debian's '%m [%p] %q%u@%d ' lines of background processes
    assert found == prefix or (prefix, found) == ("%m [%p] ", "%m [%p] %q%u@%d ")


def test_unknown_prefix_asks_for_it_and_the_given_prefix_reads():
    path = FIX / "unknown_prefix.log"
    # WHEN read without the prefix THEN the error shows the first line and asks for the prefix
    with pytest.raises(LogFormatError) as err:
        tk.read_queries(path)
    assert "1764137361.826|11999|postgres|LOG:" in str(err.value)
    assert "log_line_prefix=" in str(err.value)
    # WHEN given THEN epoch timestamps, the multi-line statement and the error are read
    q = tk.read_queries(path, log_line_prefix="%n|%p|%u|")
    assert q.statement.tolist() == ["SELECT 1", "SELECT count(*)\n  FROM orders"]
    assert q.duration_ms.tolist() == [0.25, 12.5]
    assert q.timestamp.iloc[0] == pd.Timestamp("2025-11-26 06:09:21.826", tz="UTC")
    s = tk.read_server_events(path, log_line_prefix="%n|%p|%u|")
    assert s.event.tolist() == ["error"]
    assert (s.sqlstate.iloc[0], s.statement.iloc[0]) == ("22012", "SELECT 1 / 0")
    assert accounted(q) and accounted(s)


def test_prefix_option_is_for_stderr_only():
    with pytest.raises(LogFormatError, match="stderr"):
        tk.read_queries(APP / "postgresql.csv.gz", format="postgres-csvlog", log_line_prefix="%m ")


# ----------------------------------------------------------------------- old versions


def test_pg13_uppercase_parameters_fetch_and_duration_only():
    q = tk.read_queries(FIX / "pg13_parameters.log")
    assert q.kind.tolist() == ["bind", "execute", "execute", "duration"]
    assert q.parameters.tolist()[:2] == ["$1 = '10', $2 = NULL"] * 2
    assert q.statement.tolist()[2] == "SELECT * FROM big"
    assert pd.isna(q.statement.iloc[3]) and q.duration_ms.iloc[3] == 0.3
    assert accounted(q)


def test_csvlog_with_24_columns_of_postgres_13():
    q = tk.read_queries(FIX / "pg13_24_columns.csv")
    assert q.attrs["source"]["format"] == "postgres-csvlog"
    assert q.statement.tolist() == ["DROP TABLE IF EXISTS orders", "DROP TABLE IF EXISTS customers",
                                    "DROP TABLE IF EXISTS products"]
    assert q.application.tolist() == ["workload"] * 3


def test_csvlog_with_a_wrong_column_count_skips_that_record_with_its_reason():
    q = tk.read_queries(FIX / "csv_wrong_columns.csv")
    src = q.attrs["source"]
    assert len(q) == 2 and src["lines_skipped"] == 1
    assert src["skipped"][0]["line"] == 2
    assert "expected 26 csvlog columns, found 25" in src["skipped"][0]["reason"]
    assert accounted(q)
    with pytest.raises(ParseError, match=r"csv_wrong_columns.csv:2: expected 26"):
        tk.read_queries(FIX / "csv_wrong_columns.csv", errors="raise")


# ------------------------------------------------------------------------ translations


def test_non_english_lc_messages_lines_are_skipped_with_the_reason():
    q = tk.read_queries(FIX / "german_lc_messages.log")
    src = q.attrs["source"]
    # the untranslated execute line is read; German messages are counted as skipped
    assert q.kind.tolist() == ["execute"]
    reasons = " ".join(src["skip_reasons"])
    assert "lc_messages" in reasons
    assert src["lines_skipped"] == 3  # Dauer..., FEHLER, and the STATEMENT of that FEHLER
    assert accounted(q)


def test_a_log_with_only_translated_severities_is_a_clear_error():
    text = ("2026-11-26 06:09:21.927 CET [11999] postgres@app FEHLER:  Relation »t« existiert nicht\n"
            "2026-11-26 06:09:21.927 CET [11999] postgres@app FEHLER:  Division durch null\n")
    with pytest.raises(LogFormatError, match="lc_messages"):
        tk.read_queries(text, format="postgres-stderr")


# -------------------------------------------------------------------------- garbage


def test_random_bytes_are_not_a_postgres_log():
    data = random.Random(7).randbytes(20_000)
    with pytest.raises(UnknownFormatError):
        tk.read_queries(data)
    with pytest.raises(ToolkitError):
        tk.read_queries(data, format="postgres-stderr")


def test_random_bytes_with_a_prefix_are_refused_not_read_as_an_empty_table():
    # a prefix that matches no line of the head is a wrong prefix (issue #13), whatever errors= says
    data = random.Random(7).randbytes(20_000)
    for errors in ("skip", "raise"):
        with pytest.raises(LogFormatError, match=r"log_line_prefix='%m \[%p\] ' matches none of the first"):
            tk.read_queries(data, format="postgres-stderr", log_line_prefix="%m [%p] ", errors=errors)


def test_garbage_lines_inside_a_log_are_counted_and_the_rest_read():
    lines = gzip.open(APP / "postgresql.log.gz", "rt").read().split("\n")
    lines[20:20] = ["some text a wrapper printed", "\x00\x01 binary \xff"]
    q = tk.read_queries("\n".join(lines), format="postgres-stderr")
    src = q.attrs["source"]
    assert src["lines_skipped"] == 2 and [s["line"] for s in src["skipped"]] == [21, 22]
    assert accounted(q)
    assert len(q) == len(tk.read_queries(APP / "postgresql.log.gz"))


def test_truncated_last_record_and_truncated_gzip():
    raw = gzip.open(APP / "postgresql.log.gz", "rb").read()
    cut = raw.index(b"\tQuery Text: INSERT INTO orders") + 40  # inside a multi-line plan
    # a log cut in the middle of a record: the records before it are read, all lines counted
    q = tk.read_queries(raw[:cut], format="postgres-stderr")
    assert accounted(q) and len(q) > 5
    assert q.attrs["source"]["lines_read"] == raw[:cut].count(b"\n") + 1
    # a gzip file cut short: a ParseError naming the stream
    packed = gzip.compress(raw)
    with pytest.raises(ParseError, match="truncated or corrupt gzip"):
        tk.read_queries(packed[: len(packed) // 2], format="postgres-stderr")


def test_truncated_csv_record_is_skipped_with_its_lines():
    raw = gzip.open(APP / "postgresql.csv.gz", "rb").read()
    cut = raw.index(b"plan:\nQuery Text: INSERT INTO orders") + 30  # inside a quoted field
    q = tk.read_queries(raw[:cut], format="postgres-csvlog")
    src = q.attrs["source"]
    assert accounted(q) and src["lines_skipped"] >= 1
    assert len(q) > 5


def test_broken_jsonlog_lines_are_skipped():
    lines = gzip.open(APP / "postgresql.json.gz", "rt").read().split("\n")[:30]
    lines[5] = lines[5][:40]
    q = tk.read_queries("\n".join(lines) + "\n", format="postgres-jsonlog")
    src = q.attrs["source"]
    assert src["lines_skipped"] == 1 and src["skipped"][0]["line"] == 6
    assert accounted(q)


def test_empty_input():
    q = tk.read_queries(b"\n", format="postgres-stderr", log_line_prefix="%m ")
    assert len(q) == 0 and q.attrs["source"]["lines_read"] == 1


# ------------------------------------------------------------------------- time zones


def test_time_zone_abbreviations_offsets_and_log_timezone():
    out = to_utc(["2026-07-01 12:00:00", "2026-07-01 12:00:00", "2026-07-01 12:00:00"],
                 ["CEST", "+0530", "-03"])
    assert [t.strftime("%H:%M") for t in out] == ["10:00", "06:30", "15:00"]
    with pytest.raises(ParseError, match="log_timezone"):
        to_utc(["2026-07-01 12:00:00"], ["XYZT"])
    out = to_utc(["2026-07-01 12:00:00"], ["XYZT"], log_timezone="Asia/Tokyo")
    assert out[0].strftime("%H:%M") == "03:00"


def test_a_statement_of_many_megabytes_and_lines_is_one_record():
    values = ",\n".join(f"({i}, 'x')" for i in range(200_000))  # ~3 MB over 200,000 lines
    text = ("2026-11-26 05:09:21.826 UTC [1] u@d LOG:  duration: 5.000 ms  statement: INSERT INTO t VALUES "
            + values.replace("\n", "\n\t") + "\n"
            "2026-11-26 05:09:21.900 UTC [1] u@d LOG:  duration: 1.000 ms  statement: SELECT 1\n")
    q = tk.read_queries(text, format="postgres-stderr", chunk_bytes=1 << 18)
    assert q.statement.iloc[0] == "INSERT INTO t VALUES " + values
    assert q.source_line.tolist() == [1, 200_001]
    assert accounted(q) and q.attrs["source"]["lines_read"] == 200_001
