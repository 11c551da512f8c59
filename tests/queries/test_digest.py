"""The digest (toolkit.queries.digest): exact figures, no double counting, streaming = in memory."""

from __future__ import annotations

import gzip
import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES
from helpers.programs import require_program
from hypothesis import given
from hypothesis import strategies as st

import toolkit as tk
from toolkit import schema
from toolkit.errors import SchemaError
from toolkit.queries.digest import DigestAccumulator, digest, digest_file, digest_stream

QUERY_SAMPLES = sorted(p for p in (SAMPLES / "queries").rglob("*")
                       if p.is_file() and (".log" in p.name or p.name.startswith("postgresql.")))
MARIADB = SAMPLES / "queries" / "mariadb"


def test_exact_percentiles_on_known_data():
    # GIVEN 100 calls of one query taking 1, 2, ..., 100 ms, and 4 calls of another
    ev = pd.DataFrame({"statement": [f"select * from t where id = {i}" for i in range(1, 101)]
                       + ["select 2"] * 4,
                       "duration_ms": [float(i) for i in range(1, 101)] + [1.0, 2.0, 3.0, 4.0]})
    d = digest(ev).set_index("fingerprint")
    big, small = d.loc["select * from t where id = ?"], d.loc["select ?"]
    # THEN linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7)
    assert (big["p50_ms"], big["p95_ms"], big["p99_ms"]) == (50.5, pytest.approx(95.05), pytest.approx(99.01))
    assert (small["p50_ms"], small["p95_ms"], small["p99_ms"]) == (2.5, pytest.approx(3.85), pytest.approx(3.97))
    assert big["calls"] == 100 and big["total_ms"] == 5050.0 and big["mean_ms"] == 50.5 and big["max_ms"] == 100
    assert big["pct_total"] == pytest.approx(5050 / 5060 * 100)
    # the example is the slowest call, as logged
    assert big["example"] == "select * from t where id = 100"
    assert d.index.tolist() == ["select * from t where id = ?", "select ?"]  # by total_ms


@pytest.mark.parametrize("path", QUERY_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_totals_equal_the_logged_durations_on_every_sample(path):
    # GIVEN a genuine log (MariaDB, or PostgreSQL in any of its three formats)
    events = tk.read_queries(path)
    # WHEN digested in memory and streamed in small pieces
    d = digest(events)
    streamed = digest_file(path, chunk_size=1 << 17)
    # THEN no time is lost or counted twice: plan rows are skipped, everything else is summed
    logged = events.loc[events["kind"] != "plan", "duration_ms"].sum()
    assert d["total_ms"].sum() == pytest.approx(logged, abs=1e-6)
    assert d["pct_total"].sum() == pytest.approx(100.0)
    schema.validate(d, "digest")
    assert streamed["total_ms"].sum() == pytest.approx(logged, abs=1e-6)
    assert streamed["calls"].sum() == d["calls"].sum()
    assert d["total_ms"].is_monotonic_decreasing


def test_plan_rows_are_not_counted():
    ev = pd.DataFrame({"statement": ["select 1", "select 1"], "duration_ms": [5.0, 5.0],
                       "kind": ["statement", "plan"]})
    d = digest(ev)
    assert d["calls"].tolist() == [1] and d["total_ms"].tolist() == [5.0]


def test_parse_bind_execute_fold_into_one_call():
    # GIVEN the extended protocol: parse, bind, execute per call, two sessions interleaved
    ev = pd.DataFrame({
        "statement": ["select $1", "select $1", "select $1", "select $1", "select $1", "select 7"],
        "kind": ["parse", "parse", "bind", "execute", "bind", "statement"],
        "session": ["a", "b", "a", "a", "b", "b"],
        "duration_ms": [0.5, 0.25, 0.25, 3.0, 1.0, 2.0],
        "source_line": [1, 2, 3, 4, 5, 6],
    })
    d = digest(ev).set_index("fingerprint")
    # session a: parse+bind+execute = 1 call of 3.75 ms; session b: parse+bind with no execute
    # but a later statement of the same fingerprint: folded into it (2 + 1.25)
    assert d.loc["select ?", "calls"] == 2
    assert d.loc["select ?", "total_ms"] == 7.0
    assert d.loc["select ?", "max_ms"] == 3.75
    separate = digest(ev, fold_parse_bind=False)
    assert separate["calls"].sum() == 6 and set(separate["kind"]) == {"parse", "bind", "execute", "statement"}
    assert separate["total_ms"].sum() == 7.0


def test_folding_is_the_same_when_a_call_is_cut_between_two_frames():
    ev = pd.DataFrame({"statement": ["select $1"] * 6, "kind": ["parse", "bind", "execute"] * 2,
                       "session": ["a"] * 6, "duration_ms": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
                       "source_line": range(1, 7)})
    acc = DigestAccumulator()
    acc.add(ev.iloc[:4]).add(ev.iloc[4:])  # the second call's parse is in the first frame
    d = acc.result()
    assert d["calls"].tolist() == [2] and d["max_ms"].tolist() == [6.0] and d["p50_ms"].tolist() == [4.5]


def test_group_by_database_user_application():
    ev = pd.DataFrame({"statement": ["select 1", "select 2", "select 3"], "duration_ms": [1.0, 2.0, 4.0],
                       "database": ["a", "b", "a"], "user": ["u", "u", "v"], "application": ["x", "y", "x"]})
    by_db = digest(ev, by="database")
    assert by_db[["database", "calls", "total_ms"]].values.tolist() == [["a", 2, 5.0], ["b", 1, 2.0]]
    both = digest(ev, by=["database", "user"])
    assert len(both) == 3 and list(both.columns[:3]) == ["database", "user", "fingerprint"]
    with pytest.raises(SchemaError, match="cannot group by"):
        digest(ev.drop(columns="application"), by="application")


def test_rows_ratio_and_first_last_seen_on_the_mariadb_log():
    events = tk.read_queries(MARIADB / "app-slow.log")
    d = digest(events).set_index("fingerprint")
    n1 = d.loc["select count(*), sum(total) from orders where customer_id = ?"]
    sel = events[events["statement"].str.startswith("SELECT count(*), sum(total) FROM orders WHERE customer_id")]
    assert n1["calls"] == len(sel) == 60
    assert n1["rows_examined"] == sel["rows_examined"].sum()
    assert n1["rows_examined_per_sent"] == pytest.approx(sel["rows_examined"].sum() / sel["rows_sent"].sum())
    assert n1["first_seen"] == sel["timestamp"].min() and n1["last_seen"] == sel["timestamp"].max()
    assert n1["p95_ms"] == pytest.approx(np.percentile(sel["duration_ms"], 95))


def test_per_fingerprint_calls_and_totals_equal_pt_query_digest(tmp_path):
    # GIVEN the clean MariaDB log (no mid-file restart, which pt-query-digest misreads)
    exe = require_program("pt-query-digest")
    plain = tmp_path / "clean-slow.log"
    plain.write_bytes(gzip.decompress((MARIADB / "clean-slow.log.gz").read_bytes()))
    out = subprocess.run([exe, "--output", "json", "--limit", "100%", str(plain)],
                         capture_output=True, text=True, check=True, timeout=120)
    pt = {c["fingerprint"]: c for c in json.loads(out.stdout)["classes"]}
    # WHEN our digest groups the same log
    d = digest(tk.read_queries(plain)).set_index("fingerprint")
    # THEN the same classes, the same calls, the same total and max per class
    assert set(d.index) == set(pt)
    for fp, c in pt.items():
        assert d.loc[fp, "calls"] == c["query_count"], fp
        assert d.loc[fp, "total_ms"] / 1000 == pytest.approx(float(c["metrics"]["Query_time"]["sum"]), abs=1e-6)
        assert d.loc[fp, "max_ms"] / 1000 == pytest.approx(float(c["metrics"]["Query_time"]["max"]), abs=1e-9)
        assert d.loc[fp, "fingerprint_id"] == c["checksum"][:16]


def test_stream_equals_in_memory_and_two_workers_equal_one(tmp_path):
    # GIVEN a log of 4 copies of the application log (so byte ranges cut it anywhere)
    text = (MARIADB / "app-slow.log").read_bytes()
    big = tmp_path / "big-slow.log"
    big.write_bytes(text * 4)
    whole = digest(tk.read_queries(big))
    stream = digest_stream(tk.queries.mysql.iter_mysql_slow(big, chunk_size=1 << 15))
    one = digest_file(big, chunk_size=1 << 16)
    two = digest_file(big, workers=2, chunk_size=1 << 16)
    cols = ["fingerprint", "calls", "total_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "example", "example_line"]
    for other in (stream, one, two):
        pd.testing.assert_frame_equal(other[cols], whole[cols], check_exact=False, rtol=1e-12)
    assert two.attrs["source"]["lines_read"] == one.attrs["source"]["lines_read"] == whole.attrs["source"]["lines_read"]
    assert two.attrs["source"]["records"] == len(tk.read_queries(big))


def test_empty_and_bad_input():
    empty = digest(schema.empty("query_events"))
    assert len(empty) == 0 and "fingerprint" in empty.columns
    with pytest.raises(SchemaError, match="statement"):
        digest(pd.DataFrame({"x": [1]}))
    ev = pd.DataFrame({"statement": [None, "select 1"], "duration_ms": [2.0, np.nan]})
    d = digest(ev)  # a duration-only line and a statement without a duration
    assert d["calls"].sum() == 2 and d["total_ms"].sum() == 2.0


def test_the_input_is_not_modified():
    events = tk.read_queries(MARIADB / "app-slow.log")
    before = events.copy()
    digest(events, by="database")
    pd.testing.assert_frame_equal(events, before)


MYSQL_FIXTURES = sorted((SAMPLES.parent / "tests" / "fixtures" / "queries" / "mysql").glob("*.log"))


@pytest.mark.parametrize("path", MYSQL_FIXTURES + [MARIADB / "app-slow.log"], ids=lambda p: p.name)
def test_two_workers_account_for_every_line_as_one_does(path):
    one, two = digest_file(path, workers=1), digest_file(path, workers=2)
    assert two["calls"].sum() == one["calls"].sum() and two["total_ms"].sum() == pytest.approx(one["total_ms"].sum())
    for key in ("lines_read", "records", "lines_skipped", "skip_reasons", "skipped"):
        assert two.attrs["source"][key] == one.attrs["source"][key], key
    assert two["example_line"].tolist() == one["example_line"].tolist()  # lines of the whole file


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", ["reader_options", "keyword"])
def test_digest_file_errors_raise_names_file_and_line(workers, how):
    path = MYSQL_FIXTURES[0].parent / "truncated_last_record.log"
    # errors= as the readers take it, or among the reader's options: the same
    options = {"reader_options": {"errors": "raise"}} if how == "reader_options" else {"errors": "raise"}
    with pytest.raises(tk.ParseError) as err:
        digest_file(path, workers=workers, **options)
    assert err.value.line == 8 and err.value.path.endswith("truncated_last_record.log")


def test_digest_file_errors_given_twice_must_agree():
    path = MYSQL_FIXTURES[0].parent / "truncated_last_record.log"
    with pytest.raises(ValueError, match="disagree"):
        digest_file(path, errors="raise", reader_options={"errors": "skip"})
    # the default skips the bad record and counts it
    assert digest_file(path, errors="skip").attrs["source"]["lines_skipped"] > 0


@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", None, np.nan]), st.sampled_from(["u", None]),
                               st.sampled_from(["select 1", "select 2", "select x", None]),
                               st.sampled_from([1.0, 2.0, np.nan])), min_size=1, max_size=40))
def test_groups_keys_order_and_examples_as_a_groupby_gives_them(rows):
    # GIVEN events whose grouping columns have nulls (None and NaN alike), ties on total and
    # on the slowest call, and untimed calls
    ev = pd.DataFrame(rows, columns=["database", "user", "statement", "duration_ms"])
    ev["source_line"] = np.arange(1, len(ev) + 1)
    # WHEN digested by both columns
    d = digest(ev, by=["database", "user"])
    # THEN the groups are pandas' groupby(sort=False, dropna=False) groups: the same keys (a null
    # key is <NA>), in order of first appearance where total_ms and calls tie (a stable sort)
    ev["fingerprint"] = [tk.fingerprint(s) if isinstance(s, str) else None for s in ev["statement"]]
    g = ev.groupby(["database", "user", "fingerprint"], sort=False, dropna=False)
    expected = pd.DataFrame({"calls": g.size(), "total_ms": g["duration_ms"].sum(),
                             # the example: the first of the slowest calls (the first call when none is timed)
                             "example_line": g.apply(lambda f: f["source_line"].iloc[
                                 int(np.argmax(f["duration_ms"].fillna(-np.inf).to_numpy()))],
                                 include_groups=False)}).reset_index()
    expected = expected.sort_values(["total_ms", "calls"], ascending=False, kind="stable", ignore_index=True)
    got = d[["database", "user", "fingerprint", "calls", "total_ms", "example_line"]]
    for c in ("database", "user", "fingerprint"):
        assert got[c].isna().tolist() == expected[c].isna().tolist()
        assert got[c].dropna().tolist() == expected[c].dropna().tolist()
    assert got["calls"].tolist() == expected["calls"].tolist()
    assert got["total_ms"].tolist() == expected["total_ms"].tolist()
    assert got["example_line"].tolist() == expected["example_line"].tolist()


def test_group_calls_is_the_digest_rule_on_a_batch():
    from toolkit.queries.digest import DigestGroup, group_calls

    # GIVEN three groups: 0 with a tie for the slowest, 1 untimed, 2 with one timed call
    codes = np.array([0, 1, 0, 2, 0, 1, 2])
    d = np.array([5.0, np.nan, 7.0, np.nan, 7.0, np.nan, 1.5])
    batch = group_calls(codes, 3, d)
    assert batch.calls.tolist() == [3, 2, 2] and batch.timed.tolist() == [3, 0, 1]
    groups = [DigestGroup() for _ in range(3)]
    for k, g in enumerate(groups):
        batch.take(g, k, ("q", None, k))
    assert [g.exact_total() for g in groups] == [19.0, 0.0, 1.5] and batch.d_max.tolist() == [7.0, -np.inf, 1.5]
    # THEN the example is the first slowest (position 2, not 4); an untimed group's first call
    assert batch.example.tolist() == [2, 1, 6]
    assert [x.tolist() for x in batch.durations] == [[5.0, 7.0, 7.0], [], [1.5]]
    # AND with a tie key (input lines out of batch order) the smallest key wins a tie
    tie = np.array([10, 11, 40, 12, 30, 9, 13])
    assert group_calls(codes, 3, d, tie=tie).example.tolist() == [4, 5, 6]
