"""PostgreSQL readers on the sample logs: the three formats agree, values match the raw log and
pg_stat_statements, every message kind lands where documented, every line is accounted for."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit import formats, schema
from toolkit.queries.postgres import iter_query_chunks

ROOT = Path(__file__).resolve().parents[2]
PG = ROOT / "sample_traces" / "queries" / "postgresql"
RUNS = ("app", "app-json", "pgbench")
FORMATS = {"log": "postgres-stderr", "csv": "postgres-csvlog", "json": "postgres-jsonlog"}
SAMPLES = [(run, suffix) for run in RUNS for suffix in FORMATS]


def sample(run: str, suffix: str) -> Path:
    return PG / run / f"postgresql.{suffix}.gz"


def raw_lines(run: str) -> list[str]:
    return gzip.open(sample(run, "log"), "rt").read().split("\n")[:-1]


_cache: dict = {}


def events(run: str, suffix: str) -> pd.DataFrame:
    key = ("q", run, suffix)
    if key not in _cache:
        _cache[key] = tk.read_queries(sample(run, suffix))
    return _cache[key]


def server(run: str, suffix: str) -> pd.DataFrame:
    key = ("s", run, suffix)
    if key not in _cache:
        _cache[key] = tk.read_server_events(sample(run, suffix))
    return _cache[key]


# ------------------------------------------------------------------------------ contract


@pytest.mark.parametrize(("run", "suffix"), SAMPLES)
def test_contract_every_sample(run, suffix):
    # GIVEN a sample log WHEN read with detection and with the explicit format
    path = sample(run, suffix)
    q = events(run, suffix)
    explicit = tk.read_queries(path, format=FORMATS[suffix])
    # THEN both are the same valid query_events table
    assert formats.detect(path, "queries").name == FORMATS[suffix]
    # AND the content alone (no file name) is recognised too
    assert formats.detect(gzip.open(path).read(), "queries").name == FORMATS[suffix]
    schema.validate(q, "query_events")
    schema.validate(server(run, suffix), "server_events")
    pd.testing.assert_frame_equal(q, explicit)
    # AND every input line is part of a query event, a server event, or skipped with a reason
    src = q.attrs["source"]
    assert src["format"] == FORMATS[suffix]
    assert src["lines_skipped"] == 0, src["skipped"]
    assert src["lines_read"] == src["record_lines"] + src["lines_in_other_table"]["server_events"]
    s_src = server(run, suffix).attrs["source"]
    assert s_src["record_lines"] == src["lines_in_other_table"]["server_events"]
    assert src["records"] == len(q) and len(q) > 0
    assert q["timestamp"].notna().all()


def canonical(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Rows in one order: the collector writes each destination itself, so lines of concurrent
    sessions may be interleaved differently in stderr, csvlog and jsonlog."""
    out = df[cols].copy()
    out["second"] = out.pop("timestamp").dt.floor("s") if "timestamp" in cols else None
    out = out.astype({c: object for c in out.columns}).fillna("-")
    return out.sort_values(list(out.columns), key=lambda s: s.astype(str)).reset_index(drop=True)


QCOLS = ["kind", "statement", "parameters", "plan", "database", "user", "duration_ms", "timestamp"]


@pytest.mark.parametrize("run", RUNS)
def test_three_formats_give_the_same_query_events(run):
    # GIVEN one workload logged to stderr, csvlog and jsonlog at once
    frames = {suffix: events(run, suffix) for suffix in FORMATS}
    base = canonical(frames["log"], QCOLS)
    for suffix in ("csv", "json"):
        # THEN the same count, kinds, durations, statements, parameters, plans and instants
        # (to the second: app-json's stderr prefix has %t)
        pd.testing.assert_frame_equal(canonical(frames[suffix], QCOLS), base)
    assert sorted(frames["csv"]["timestamp"]) == sorted(frames["json"]["timestamp"])


@pytest.mark.parametrize("run", RUNS)
def test_three_formats_give_the_same_server_events(run):
    cols = ["event", "duration_ms", "size_bytes", "relation", "sqlstate", "statement", "timestamp"]
    base = canonical(server(run, "log"), cols)
    for suffix in ("csv", "json"):
        pd.testing.assert_frame_equal(canonical(server(run, suffix), cols), base)


# ------------------------------------------------------------------ values vs the raw log

_DURATION = re.compile(r" LOG:  duration: ([\d.]+) ms(?:  (statement|parse|bind|execute|plan)\b|$)")


@pytest.mark.parametrize("run", RUNS)
def test_durations_equal_an_independent_sum_over_the_raw_log(run):
    # GIVEN the raw stderr lines WHEN summing every logged duration with a plain regex
    by_kind: dict[str, float] = {}
    for line in raw_lines(run):
        m = _DURATION.search(line)
        if m:
            kind = m[2] or "duration"
            by_kind[kind] = by_kind.get(kind, 0.0) + float(m[1])
    q = events(run, "log")
    # THEN statement/parse/bind/execute and duration-only times add up to the table's
    # (a log_statement line's duration comes from its duration-only line)
    not_plan = sum(v for k, v in by_kind.items() if k != "plan")
    assert q.loc[q.kind != "plan", "duration_ms"].sum() == pytest.approx(not_plan, abs=1e-6)
    # AND auto_explain's plans are attached, not counted again
    assert (q.kind == "plan").sum() == 0
    assert q["plan"].notna().sum() == sum(1 for line in raw_lines(run) if line.endswith("  plan:"))


@pytest.mark.parametrize("run", RUNS)
def test_calls_match_pg_stat_statements(run):
    # GIVEN pg_stat_statements saved by the generator at the end of the run
    pss = pd.read_csv(PG / run / "pg_stat_statements.csv")
    q = events(run, "log")
    ran = q[q.kind.isin(["execute", "statement"])]
    # pgbench's script lines end in ';', which pg_stat_statements leaves out
    runs = ran.groupby(ran.statement.str.rstrip(";"))["duration_ms"].agg(["count", "sum"])
    checked = 0
    for row in pss.itertuples():
        if row.query not in runs.index or row.calls < 2 or "$1" not in row.query:
            # literals become $n in pg_stat_statements, and utility statements (BEGIN) sent
            # through the extended protocol are not tracked per execution: compare the
            # parameterised ones
            continue
        # THEN the log has one execution per call, and its durations (execution plus the
        # protocol's overhead) are at least pg_stat_statements' executor time, and close to it
        assert runs.loc[row.query, "count"] == row.calls, row.query
        assert runs.loc[row.query, "sum"] >= row.total_exec_time_ms - 0.01 * row.calls
        assert runs.loc[row.query, "sum"] <= row.total_exec_time_ms * 1.10 + 0.5 * row.calls
        checked += 1
    assert checked >= 3


def test_n_plus_one_calls_in_app_match_pg_stat_statements():
    pss = pd.read_csv(PG / "app" / "pg_stat_statements.csv").set_index("query")
    sql = "SELECT count(*), sum(total) FROM orders WHERE customer_id = $1"
    q = events("app", "log")
    assert (q[q.kind == "execute"].statement == sql).sum() == pss.loc[sql, "calls"] == 60


# ---------------------------------------------------------------------- message kinds


def test_parse_bind_execute_with_parameters_holding_a_tab_and_a_newline():
    q = events("app", "log")
    rows = q[q.statement == "SELECT o.id, o.total FROM orders o WHERE o.id = $1 AND o.note LIKE $2"]
    assert rows.kind.tolist() == ["parse", "bind", "execute"]
    # the stderr continuation TAB is removed; the parameter's own TAB and newline stay
    assert rows.parameters.tolist()[1:] == ["$1 = '1000', $2 = '%a\tb\nc%'"] * 2
    assert pd.isna(rows.parameters.iloc[0])
    assert rows.source_line.tolist() == [1290, 1291, 1294]


def test_named_prepared_statements_and_simple_statements():
    q = events("app", "log")
    assert (q.kind == "statement").sum() == 91
    assert q.loc[q.kind == "execute", "statement"].str.contains("customers WHERE id = \\$1 AND country").sum() == 5
    first = q.iloc[0]
    assert (first.kind, first.statement, first.duration_ms, first.source_line) == (
        "statement", "DROP TABLE IF EXISTS orders", 0.25, 14)
    assert first.timestamp == pd.Timestamp("2026-11-26 05:09:21.826", tz="UTC")
    assert (first.database, first.user, first.session) == ("app", "postgres", "11999")


def test_multi_line_statement_keeps_its_lines_and_comment():
    q = events("app", "log")
    text = q.loc[q.statement.str.startswith("-- revenue per country"), "statement"]
    assert len(text) == 1
    assert text.iloc[0].split("\n")[1] == "SELECT c.country,"
    assert text.iloc[0].endswith(" ORDER BY revenue DESC")


def test_text_plan_attached_to_statement_before_and_execute_after():
    q = events("app", "log")
    # simple protocol: the plan line comes before its statement line
    insert = q[q.statement.str.startswith("INSERT INTO customers", na=False)].iloc[0]
    assert insert.plan.startswith("Query Text: INSERT INTO customers")
    assert "Function Scan on generate_series g" in insert.plan
    # extended protocol SELECT: the plan comes after its execute line
    nplus = q[(q.kind == "execute") & q.statement.str.startswith("SELECT count(*), sum(total)")]
    assert nplus.plan.notna().all()
    assert nplus.plan.str.contains("Rows Removed by Filter: 99950").all()
    # extended protocol UPDATE: the plan comes before its execute line (the 1.2 s lock wait)
    upd = q[(q.kind == "execute") & (q.statement == "UPDATE accounts SET balance = balance + 10 WHERE id = $1")]
    assert upd.duration_ms.iloc[0] > 1000 and "Update on accounts" in upd.plan.iloc[0]


def test_json_plans_are_json_text():
    import json

    q = events("app-json", "log")
    plans = q.plan.dropna()
    assert len(plans) > 20
    parsed = [json.loads(p) for p in plans]
    stmts = q.loc[plans.index, "statement"].tolist()
    assert [p["Query Text"] for p in parsed] == stmts
    seq = [p for p in parsed if p["Plan"].get("Plans", [{}])[0].get("Rows Removed by Filter") == 99950]
    assert seq


def test_log_statement_lines_take_their_duration_only_line():
    # GIVEN app-json's last session: log_statement = 'all', log_duration = on
    q = events("app-json", "log")
    tail = q[q.source_line >= 3210]
    assert tail.kind.tolist() == ["statement", "statement", "duration", "duration", "execute", "statement"]
    assert tail.duration_ms.tolist() == [0.089, 0.917, 0.123, 0.128, 0.034, 7.184]
    assert tail.statement.tolist()[4] == "SELECT name FROM customers WHERE id = $1"
    assert tail.parameters.tolist()[4] == "$1 = '7'"
    assert tail.statement.isna().tolist() == [False, False, True, True, False, False]


def test_pgbadger_prefix_fields_and_new_york_time():
    q = events("app-json", "log")
    row = q.iloc[0]
    assert (row.application, row.client, row.database, row.user) == ("workload", "127.0.0.1", "shop", "postgres")
    # 00:09:31 EST is 05:09:31 UTC
    assert row.timestamp.hour == 5 and str(row.timestamp.tz) == "UTC"


# ---------------------------------------------------------------------- server events

_COUNTS = {
    "connection_received": "LOG:  connection received: ",
    "connection_authorized": "LOG:  connection authorized: ",
    "disconnection": "LOG:  disconnection: ",
    "temp_file": "LOG:  temporary file: ",
    "lock_wait": "still waiting for",
    "lock_acquired": " acquired ",
    "checkpoint_starting": "LOG:  checkpoint starting: ",
    "checkpoint_complete": "LOG:  checkpoint complete: ",
    "autovacuum": "LOG:  automatic vacuum of table",
    "autoanalyze": "LOG:  automatic analyze of table",
}


@pytest.mark.parametrize("run", RUNS)
def test_server_event_counts_match_the_raw_log(run):
    s = server(run, "log")
    lines = raw_lines(run)
    counts = s.event.value_counts()
    for event, needle in _COUNTS.items():
        expected = sum(1 for line in lines if needle in line and "STATEMENT:" not in line
                       and "DETAIL:" not in line)
        if event == "autovacuum":
            expected += sum(1 for line in lines if "LOG:  automatic aggressive vacuum of table" in line)
        assert counts.get(event, 0) == expected, event


def test_server_event_values_in_app():
    s = server("app", "csv")
    temp = s[s.event == "temp_file"]
    sizes = [int(m[1]) for line in raw_lines("app") if (m := re.search(r"temporary file: .*, size (\d+)", line))]
    assert temp.size_bytes.sum() == sum(sizes) and len(temp) == 5
    # the lock wait of the workload: 1.2 s on account 1
    acquired = s[s.event == "lock_acquired"].duration_ms.max()
    assert 1100 < acquired < 2000
    # the deadlock: log_lock_waits' line and the ERROR with SQLSTATE 40P01
    dead = s[s.event == "deadlock"]
    assert len(dead) == 2 and (dead.sqlstate == "40P01").sum() == 1
    errors = s[s.event == "error"].set_index("sqlstate")
    assert errors.loc["42P01", "statement"] == "SELECT * FROM no_such_table WHERE id = 1"
    assert errors.loc["22012", "statement"] == "SELECT 1 / 0 AS broken"
    vac = s[s.event == "autovacuum"]
    assert "app.public.customers" in vac.relation.tolist()
    disc = s[s.event == "disconnection"]
    assert disc.duration_ms.notna().all() and (disc.duration_ms >= 0).all()
    assert s[s.event == "checkpoint_complete"].duration_ms.iloc[0] == 1040.0
    assert (s.event == "connection_received").sum() >= 60  # the churn phase: 60 short sessions


def test_stderr_derives_the_sqlstate_csv_logs():
    err_csv = server("app", "csv").query("event in ['error', 'deadlock'] and sqlstate.notna()")
    err_log = server("app", "log").query("event in ['error', 'deadlock'] and sqlstate.notna()")
    assert err_log.sqlstate.tolist() == err_csv.sqlstate.tolist() == ["40P01", "42P01", "22012"]


def test_pgbench_has_no_errors_temp_files_or_lock_waits():
    s = server("pgbench", "log")
    assert not s.event.isin(["error", "fatal", "temp_file", "lock_wait", "deadlock"]).any()
    q = events("pgbench", "log")
    assert (q.kind == "execute").sum() == 2100  # 300 transactions x 7 statements


# ---------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(("run", "suffix"), [("app", s) for s in FORMATS] + [("app-json", "log")])
def test_iter_query_chunks_gives_the_same_rows_in_small_chunks(run, suffix):
    # GIVEN chunks of 8 KiB (the default is 16 MiB) WHEN streaming
    whole = events(run, suffix)
    parts = list(iter_query_chunks(sample(run, suffix), chunk_bytes=8192))
    assert len(parts) > 5
    streamed = pd.concat(parts, ignore_index=True)
    # THEN the same rows: chunks end away from plans, so each plan still meets its statement
    pd.testing.assert_frame_equal(streamed, whole, check_dtype=False)
    src = parts[-1].attrs["source"]
    assert src["lines_read"] == whole.attrs["source"]["lines_read"]


def test_two_worker_processes_give_the_same_table_and_accounting():
    # GIVEN the app log with junk lines, read in 64 KiB chunks
    lines = gzip.open(sample("app", "log"), "rt").read().split("\n")
    lines[700:700] = ["not a log line"]
    text = "\n".join(lines)
    one = tk.read_queries(text, format="postgres-stderr", workers=1, chunk_bytes=1 << 16)
    two = tk.read_queries(text, format="postgres-stderr", workers=2, chunk_bytes=1 << 16)
    # THEN parsing in two processes changes nothing
    pd.testing.assert_frame_equal(one, two)
    assert one.attrs["source"] == two.attrs["source"]
    assert one.attrs["source"]["skipped"][0]["line"] == 701
    # AND errors="raise" still names the line, from a worker process
    with pytest.raises(tk.errors.ParseError, match=r":701: line does not start with the log_line_prefix"):
        tk.read_queries(text, format="postgres-stderr", workers=2, chunk_bytes=1 << 16, errors="raise")


@pytest.mark.parametrize("pieces", [2, 3, 7])
def test_byte_ranges_tile_the_file_exactly(tmp_path, pieces):
    # GIVEN the app log uncompressed, cut into byte ranges at arbitrary places
    from toolkit.queries.postgres import split_postgres_stderr

    path = tmp_path / "postgresql.log"
    path.write_bytes(gzip.open(sample("app", "log")).read())
    size = path.stat().st_size
    cuts = [0] + [size * i // pieces for i in range(1, pieces)] + [size]
    # WHEN each range is read on its own (as digest_file's worker processes do)
    frames = [f for i in range(pieces)
              for f in split_postgres_stderr(str(path), cuts[i], cuts[i + 1], chunk_size=20_000)]
    # THEN every record is read once, plans stay with their statements, line numbers are global
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), events("app", "log"),
                                  check_dtype=False)


def test_digest_file_in_two_processes_equals_one(tmp_path):
    from toolkit.queries.digest import digest_file

    path = tmp_path / "postgresql.log"
    path.write_bytes(gzip.open(sample("app", "log")).read() * 3)
    one = digest_file(path, workers=1, chunk_size=50_000)
    two = digest_file(path, workers=2, chunk_size=50_000)
    assert one.calls.sum() == two.calls.sum()
    assert one.total_ms.sum() == pytest.approx(two.total_ms.sum())
    assert two.attrs["source"]["lines_read"] == 3 * events("app", "log").attrs["source"]["lines_read"]


def test_byte_ranges_keep_an_interleaved_parse_bind_execute_together(tmp_path):
    # GIVEN session 100's parse, bind and execute with session 200's statement between them
    from toolkit.queries.digest import DigestAccumulator, digest, digest_range, merge_into

    head = "2026-11-26 05:09:27.{:03d} UTC [{}] postgres@app LOG:  duration: {} ms  {}\n"
    lines = [head.format(1, 100, "0.010", "parse <unnamed>: SELECT 1"),
             head.format(2, 200, "1.000", "statement: SELECT 2"),
             head.format(3, 100, "0.020", "bind <unnamed>: SELECT 1"),
             head.format(4, 100, "0.500", "execute <unnamed>: SELECT 1"),
             head.format(5, 200, "2.000", "statement: SELECT 3")]
    path = tmp_path / "postgresql.log"
    path.write_text("".join(lines))
    whole = digest(tk.read_queries(path))
    assert whole.calls.sum() == 3  # parse and bind folded into their execute
    starts = [sum(len(x) for x in lines[:i]) for i in range(len(lines) + 1)]
    for cut in starts[1:-1]:
        # WHEN the file is cut between two records, each part digested on its own and merged
        parts = [digest_range((str(path), "postgres-stderr", a, b, 1 << 16, None, True,
                                {"errors": "skip"}, {}))[0] for a, b in ((0, cut), (cut, starts[-1]))]
        acc = DigestAccumulator()
        for part in parts:
            merge_into(acc, part)
        d = acc.result()
        # THEN the boundary moves past session 100's execute: the same calls and times
        assert d.calls.sum() == 3, cut
        assert d.set_index("fingerprint").total_ms.to_dict() == pytest.approx(
            whole.set_index("fingerprint").total_ms.to_dict())


def test_parameters_detail_is_read_with_its_line_and_after_a_foreign_line_stays_an_orphan():
    # GIVEN an execute with its parameters (value continued on a TAB line), then a DETAIL after
    # a line whose severity is not English
    text = ("2026-11-26 05:09:27.513 UTC [1] postgres@app LOG:  duration: 0.5 ms  execute <unnamed>: "
            "SELECT $1\n"
            "2026-11-26 05:09:27.513 UTC [1] postgres@app DETAIL:  parameters: $1 = 'a\n\tb'\n"
            "2026-11-26 05:09:27.514 UTC [1] postgres@app FEHLER:  statement: SELECT 2\n"
            "2026-11-26 05:09:27.514 UTC [1] postgres@app DETAIL:  parameters: $1 = '2'\n")
    df = tk.read_queries(text, format="postgres-stderr", log_line_prefix="%m [%p] %q%u@%d ")
    # THEN the parameters belong to the execute, its three lines are one record's
    assert df.parameters.tolist() == ["$1 = 'a\nb'"]
    src = df.attrs["source"]
    assert src["record_lines"] == 3
    # AND the foreign line and the DETAIL after it are skipped, each with its reason
    assert src["lines_skipped"] == 2
    assert [x["line"] for x in src["skipped"]] == [4, 5]
    assert "DETAIL line without a record before it" in src["skip_reasons"]
