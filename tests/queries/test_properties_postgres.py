"""Property tests of the PostgreSQL readers (stderr, csvlog, jsonlog) and their digests
(hypothesis; ``HYPOTHESIS_PROFILE=long`` runs many more examples, see tests/helpers/strategies.py).

Logs are built from realistic records (statements with durations, executes with their DETAIL
parameters, multi-line SQL, checkpoints, temporary files, disconnections, errors with their
STATEMENT line) with hostile values mixed in: timestamps of years 9999 / 0000 / 1677 / other
digits (skipped, with the reason), 1700 (kept), durations in other digits or beyond a float
(skipped), sizes and times beyond int64 or float (null, the event kept), control characters in
user and database names, and lines that are no record.

The accounting of every PostgreSQL reader holds
``lines_read == record_lines + sum(lines_in_other_table) + lines_skipped``: each line is in a
row of the table read, in a row of the other table (query events / server events), or skipped.
Here each count is checked against what the log was built from. The two-worker reads and the
direct digests (one process, two and three byte ranges) give the tables of the one-process
reader; a gzip copy gives equal frames; a log cut at a record boundary reads as the whole.
Plans (``read_plan``), JSON with values of any type and damaged text, give plan nodes whose
figures are finite and in range (or null), or a ParseError.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from conftest import FIXTURES, SAMPLES
from helpers.strategies import (
    BAD_DIGITS,
    BAD_YEARS,
    GOOD_YEARS,
    compressed,
    few,
    json_lines,
    json_values,
    mutated,
    words,
)
from hypothesis import given
from hypothesis import strategies as st

import toolkit as tk
from toolkit.errors import ToolkitError
from toolkit.queries.digest import digest_file

pytestmark = pytest.mark.properties

PREFIX = "%m [%p] %q%u@%d "
ACCOUNTING = ("lines_read", "records", "record_lines", "lines_in_other_table", "lines_skipped", "skip_reasons")


def stamp(draw) -> tuple[str, bool]:
    """A ``%m`` time stamp and whether a reader can hold it."""
    year = draw(st.sampled_from(GOOD_YEARS + BAD_YEARS))
    month = draw(st.sampled_from(["11", "11", "11", "13"]))
    good = year in GOOD_YEARS and month != "13"
    return f"{year}-{month}-26 05:09:{draw(st.integers(10, 59))}.{draw(st.integers(100, 999))}", good


NAME = st.builds(lambda w, c: w + c, words(), st.sampled_from(["", "", "\x0b", "\x1c", "\x85", "\u00e9", "\x00"]))
# Durations the log's pattern (digits) lets through that are no finite number: other digits,
# more than a float holds (a 2^63 duration is a finite number of milliseconds: kept)
BAD_DURATIONS = ("\u0663\u0664", "\uff11\uff12.5", "\u0967\u0968", "1" * 330 + ".5")


@st.composite
def pg_records(draw):
    """Records of a stderr log, each ``(lines, kind, good, duration)``: kind is query / server /
    junk; a query record's lines include its DETAIL and continuation lines."""
    out = []
    for _ in range(draw(st.integers(1, 14))):
        ts, good = stamp(draw)
        pid = draw(st.integers(100, 999))
        who = f"{draw(NAME)}@{draw(NAME)}"
        head = f"{ts} UTC [{pid}] {who} "
        kind = draw(st.sampled_from(["statement", "statement", "execute", "checkpoint", "temp", "disconnect",
                                     "error", "junk"]))
        if kind in ("statement", "execute"):
            bad_dur = draw(st.integers(0, 5)) == 0
            dur = draw(st.sampled_from(BAD_DURATIONS)) if bad_dur else f"{draw(st.integers(0, 9999))}.{draw(st.integers(100, 999))}"
            table = draw(words())
            more = ["\t  FROM " + table] * draw(st.integers(0, 2))
            verb = "statement" if kind == "statement" else "execute <unnamed>"
            lines = [f"{head}LOG:  duration: {dur} ms  {verb}: SELECT {draw(words())}", *more]
            if kind == "execute":
                lines.append(f"{head}DETAIL:  parameters: $1 = '{draw(words())}'")
            out.append((lines, "query", good and not bad_dur, None if bad_dur else float(dur)))
        elif kind == "checkpoint":  # %q: background processes stop the prefix before user@db
            total = draw(st.one_of(st.just("0.011"), st.sampled_from(BAD_DIGITS)))
            out.append(([f"{ts} UTC [{pid}] LOG:  checkpoint complete: wrote 3 buffers (0.0%); "
                         f"write=0.004 s, sync=0.002 s, total={total} s"], "server", good, None))
        elif kind == "temp":
            size = draw(st.one_of(st.integers(0, 10 ** 9).map(str), st.sampled_from(BAD_DIGITS)))
            out.append(([f'{head}LOG:  temporary file: path "base/pgsql_tmp/t{pid}", size {size}'], "server", good,
                         int(size) if size.isascii() and len(size) < 19 else None))
        elif kind == "disconnect":
            out.append(([f"{head}LOG:  disconnection: session time: {draw(st.sampled_from(['0:00:01.250', '9' * 400 + ':00:00.0']))} "
                         f"user=u database=d host=[local]"], "server", good, None))
        elif kind == "error":
            out.append(([f'{head}ERROR:  relation "{draw(words())}" does not exist',
                         f"{head}STATEMENT:  SELECT * FROM nowhere"], "server", good, None))
        else:
            out.append(([draw(st.sampled_from(["garbage", "", "\x00\x00", "2026-11-26 05:09:21 nothing"]))], "junk", False,
                        None))
    return out


def text_of(records) -> bytes:
    return "".join(line + "\n" for lines, *_ in records for line in lines).encode("utf-8", "surrogatepass")


def expected(records) -> dict:
    lines = {k: sum(len(r[0]) for r in records if r[1] == k and r[2]) for k in ("query", "server")}
    return {"records": sum(1 for r in records if r[1] == "query" and r[2]), "record_lines": lines["query"],
            "server_lines": lines["server"], "skipped": sum(len(r[0]) for r in records if not r[2]),
            "total_ms": sum(r[3] for r in records if r[1] == "query" and r[2])}


def read_stderr(data: bytes, table: str = "query_events", **options) -> pd.DataFrame:
    reader = tk.read_queries if table == "query_events" else tk.read_server_events
    return reader(data, format="postgres-stderr", log_line_prefix=PREFIX, **options)


@given(records=pg_records())
def test_stderr_accounts_for_every_line_and_keeps_only_good_values(records):
    # GIVEN a log built from records, some with a time or duration no reader can hold
    data = text_of(records)
    want = expected(records)
    # WHEN it is read, query events and server events
    events = read_stderr(data, workers=1)
    server = read_stderr(data, "server_events", workers=1)
    src = events.attrs["source"]
    # THEN each line is in one table or skipped, and the counts are those of the records
    assert src["lines_read"] == src["record_lines"] + sum(src["lines_in_other_table"].values()) + src["lines_skipped"]
    assert src["lines_read"] == sum(len(r[0]) for r in records)
    assert (src["records"], src["record_lines"], src["lines_skipped"]) == (want["records"], want["record_lines"],
                                                                             want["skipped"])
    assert src["lines_in_other_table"] == {"server_events": want["server_lines"]}
    assert server.attrs["source"]["record_lines"] == want["server_lines"]
    assert events["duration_ms"].sum() == pytest.approx(want["total_ms"])
    # time stamps are the ones logged, never another year (year 9999 used to come back as 1816)
    assert set(events["timestamp"].dt.year.dropna().astype(str)) <= set(GOOD_YEARS)
    # a temporary file's size is its logged size where that is a number, else null
    sizes = [r[3] for r in records if r[1] == "server" and r[2] and "temporary file" in r[0][0]]
    assert server.loc[server.event == "temp_file", "size_bytes"].astype(object).where(
        server.loc[server.event == "temp_file", "size_bytes"].notna(), None).tolist() == sizes
    assert server["duration_ms"].dropna().map(lambda v: v == v and abs(v) < float("inf")).all()


@few(6)
@given(records=pg_records())
def test_stderr_two_workers_and_small_chunks_give_the_one_process_tables(records):
    data = text_of(records)
    one = read_stderr(data, workers=1)
    two = read_stderr(data, workers=2, chunk_bytes=256)
    pd.testing.assert_frame_equal(one, two)
    assert {k: one.attrs["source"][k] for k in ACCOUNTING} == {k: two.attrs["source"][k] for k in ACCOUNTING}


@few(5)
@given(records=pg_records())
def test_stderr_direct_digests_in_one_two_and_three_ranges_give_the_readers_digest(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("pg") / "postgresql.log"
    path.write_bytes(text_of(records))
    events = read_stderr(path.read_bytes())
    whole = tk.digest(events)
    for workers in (1, 2, 3):
        got = digest_file(path, format="postgres-stderr", workers=workers, reader_options={"log_line_prefix": PREFIX})
        pd.testing.assert_frame_equal(got, whole, check_dtype=False)
        assert {k: got.attrs["source"][k] for k in ACCOUNTING} == {k: events.attrs["source"][k] for k in ACCOUNTING}


@given(records=pg_records(), kind=st.sampled_from(["gz", "zst"]), cut=st.integers(0, 14))
def test_stderr_compressed_copy_and_parts_cut_at_a_record_read_as_the_whole(records, kind, cut):
    data = text_of(records)
    whole = read_stderr(data)
    pd.testing.assert_frame_equal(read_stderr(compressed(data, kind)), whole)
    # cut between two records: the parts' rows, renumbered, are the whole's
    a, b = text_of(records[:cut]), text_of(records[cut:])
    parts = [read_stderr(x) if x else None for x in (a, b)]
    if parts[1] is not None:
        parts[1]["source_line"] += a.count(b"\n")
    joined = pd.concat([p for p in parts if p is not None], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole, check_dtype=False)


# -- csvlog and jsonlog ------------------------------------------------------------------------

@st.composite
def structured_rows(draw):
    """Rows of a csvlog / jsonlog: ``(fields, kind, good, duration)``."""
    rows = []
    for i in range(draw(st.integers(1, 10))):
        ts, good = stamp(draw)
        query = draw(st.booleans())
        bad_dur = query and draw(st.integers(0, 5)) == 0
        dur = draw(st.sampled_from(BAD_DURATIONS)) if bad_dur else f"{draw(st.integers(0, 999))}.{draw(st.integers(100, 999))}"
        sql = "SELECT " + draw(words()) + draw(st.sampled_from(["", "\n  FROM t", "\x0b", ","]))
        message = f"duration: {dur} ms  statement: {sql}" if query else "connection received: host=[local]"
        rows.append(({"timestamp": f"{ts} UTC", "user": draw(words()), "dbname": draw(NAME).replace("\x00", ""), "pid": 100 + i,
                      "session_id": f"6b07bf01.{i:x}", "error_severity": "LOG", "message": message,
                      "query_id": draw(st.one_of(st.integers(-(2 ** 63), 2 ** 63 - 1), st.just(0)))},
                     "query" if query else "server", good and not bad_dur, float(dur) if query and not bad_dur else None))
    return rows


def csvlog(rows) -> tuple[bytes, list[int]]:
    out, lines = io.StringIO(), []
    writer = csv.writer(out, lineterminator="\n")
    for fields, *_ in rows:
        before = out.tell()
        writer.writerow([fields["timestamp"], fields["user"], fields["dbname"], fields["pid"], "[local]",
                         fields["session_id"], 1, "SELECT", fields["timestamp"], "3/0", 0, "LOG", "00000",
                         fields["message"], "", "", "", "", "", "", "", "", "app", "client backend", "",
                         fields["query_id"]])
        lines.append(out.getvalue()[before:].count("\n"))
    return out.getvalue().encode("utf-8", "surrogatepass"), lines


def check_structured(df: pd.DataFrame, rows, lines: list[int]) -> None:
    src = df.attrs["source"]
    good = [(r, n) for r, n in zip(rows, lines, strict=True) if r[2]]
    assert src["lines_read"] == sum(lines)
    assert src["records"] == sum(1 for r, _ in good if r[1] == "query")
    assert src["record_lines"] == sum(n for r, n in good if r[1] == "query")
    assert src["lines_in_other_table"] == {"server_events": sum(n for r, n in good if r[1] == "server")}
    assert src["lines_skipped"] == sum(n for r, n in zip(rows, lines, strict=True) if not r[2])
    assert df["duration_ms"].sum() == pytest.approx(sum(r[3] for r, _ in good if r[1] == "query"))


@given(rows=structured_rows(), cut=st.integers(0, 10))
def test_csvlog_accounts_for_every_line_compressed_and_cut(rows, cut):
    data, lines = csvlog(rows)
    df = tk.read_queries(data, format="postgres-csvlog")
    check_structured(df, rows, lines)
    pd.testing.assert_frame_equal(tk.read_queries(compressed(data, "gz"), format="postgres-csvlog"), df)
    a, b = csvlog(rows[:cut])[0], csvlog(rows[cut:])[0]
    parts = [tk.read_queries(x, format="postgres-csvlog") for x in (a, b) if x]
    if len(parts) == 2:
        parts[1]["source_line"] += a.count(b"\n")
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), df, check_dtype=False)


@given(rows=structured_rows(), wrong=st.lists(st.tuples(st.sampled_from(["message", "user", "pid", "query_id",
                                                                          "timestamp", "error_severity"]),
                                                         json_values()), max_size=3))
def test_jsonlog_reads_as_built_and_skips_records_of_the_wrong_json_type(rows, wrong):
    # GIVEN jsonlog records as PostgreSQL writes them WHEN read THEN as built
    check_structured(tk.read_queries(json_lines(r[0] for r in rows), format="postgres-jsonlog"), rows,
                     [1] * len(rows))
    # GIVEN keys of a wrong JSON type (a number as message, a list as user, a fraction as pid)
    objs = [dict(r[0]) for r in rows]
    for k, (key, value) in enumerate(wrong[:len(objs)]):
        objs[k][key] = value
    try:
        df = tk.read_queries(json_lines(objs), format="postgres-jsonlog")
    except ToolkitError:
        return
    # THEN every line is still in a table or skipped with its reason
    src = df.attrs["source"]
    assert src["lines_read"] == len(objs) == src["record_lines"] + sum(src["lines_in_other_table"].values()) + \
        src["lines_skipped"]
    text_keys = [k for k, (key, value) in enumerate(wrong[:len(objs)])
                 if key in ("message", "user", "timestamp", "error_severity") and value is not None
                 and not isinstance(value, str)]
    assert sum(n for reason, n in src["skip_reasons"].items() if "not a string" in reason) >= len(set(text_keys)) - \
        sum(1 for k in set(text_keys) if "error_severity" in objs[k] and objs[k]["error_severity"] is None)


# -- any bytes ---------------------------------------------------------------------------------

PG_REAL = {"postgres-stderr": SAMPLES / "queries/postgresql/app/postgresql.log.gz",
           "postgres-csvlog": SAMPLES / "queries/postgresql/app/postgresql.csv.gz",
           "postgres-jsonlog": SAMPLES / "queries/postgresql/app/postgresql.json.gz"}


def head_of(path, lines: int = 80) -> bytes:
    return b"\n".join(tk.sources.open_source(path).read_bytes().split(b"\n")[:lines]) + b"\n"


@pytest.mark.parametrize("fmt", sorted(PG_REAL))
@given(data=st.data())
def test_damaged_logs_and_any_bytes_give_tables_or_a_toolkit_error(fmt, data):
    damaged = data.draw(st.one_of(mutated(head_of(PG_REAL[fmt])), st.binary(max_size=300)))
    for table in ("query_events", "server_events"):
        for options in ({"format": fmt}, {}):
            try:
                reader = tk.read_queries if table == "query_events" else tk.read_server_events
                df = reader(damaged, **options)
            except ToolkitError:
                continue
            src = df.attrs["source"]
            if "record_lines" in src:
                assert src["lines_read"] == src["record_lines"] + sum(src["lines_in_other_table"].values()) + \
                    src["lines_skipped"]


# -- plans -------------------------------------------------------------------------------------

PLANS = FIXTURES / "queries/plans"


@st.composite
def json_plan(draw, depth=0):
    node = {"Node Type": draw(st.one_of(st.sampled_from(["Seq Scan", "Hash Join", "Aggregate", "Sort"]),
                                        json_values()))}
    for key in draw(st.lists(st.sampled_from(["Actual Loops", "Plan Rows", "Actual Rows", "Actual Total Time",
                                              "Rows Removed by Filter", "Sort Key", "Relation Name", "Filter",
                                              "Strategy", "Join Type", "Shared Hit Blocks", "Parallel Aware"]),
                             max_size=4)):
        node[key] = draw(st.one_of(st.integers(0, 10 ** 6), json_values()))
    if depth < 2 and draw(st.booleans()):
        node["Plans"] = draw(st.one_of(st.lists(json_plan(depth + 1), max_size=2), json_values()))
    return node


@given(plan=json_plan())
def test_json_plans_of_any_values_give_plan_nodes_or_a_parse_error(plan):
    try:
        nodes = tk.read_plan(json.dumps([{"Plan": plan, "Planning Time": 0.1}]))
    except ToolkitError:
        return
    # every figure is a finite number within its column's range, or null
    for column in ("actual_loops", "rows_removed_by_filter", "shared_hit_blocks"):
        assert str(nodes[column].dtype) == "Int64" and (nodes[column].dropna() >= 0).all()
    assert nodes["plan_rows"].dropna().map(lambda v: abs(v) < float("inf")).all()


@pytest.mark.parametrize("name", ["sort_spill.json", "subplan_never_executed.txt", "auto_explain_json.log",
                                  "auto_explain_text.log"])
@given(data=st.data())
def test_damaged_plans_give_plan_nodes_or_a_parse_error(name, data):
    damaged = data.draw(mutated((PLANS / name).read_bytes()))
    try:
        tk.read_plan(damaged.decode("utf-8", "replace"))
    except ToolkitError:
        pass
