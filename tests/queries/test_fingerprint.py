"""Fingerprints (toolkit.queries.fingerprint): pt-query-digest's rules, checked against the real
pt-fingerprint and pt-query-digest."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SAMPLES
from helpers.programs import require_program
from hypothesis import given
from hypothesis import strategies as st

import toolkit as tk
from toolkit.errors import MissingDependencyError
from toolkit.queries.fingerprint import (
    Fingerprinter,
    fingerprint,
    fingerprint_id,
    fingerprint_many,
    fingerprint_series,
)

MARIADB = SAMPLES / "queries" / "mariadb"
PG_APP = SAMPLES / "queries" / "postgresql" / "app" / "postgresql.log.gz"

# Edge cases beyond the sample logs: each exercises one rule of pt's fingerprint.
EDGE_CASES = [
    "SELECT a FROM t1 WHERE b = 'it''s' AND c = \"x\" /* hi */ -- tail\n AND d IN (1, 2,3) "
    "ORDER BY a ASC, b ASC LIMIT 10 OFFSET 20",
    "select * from t where x = -1.5e3 and y = 0x1F and z = null",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
    "REPLACE INTO t VALUES (1),(2)",
    "use shop",
    "CALL proc(1, 2)",
    "select 1 union select 1 union all select 1",
    "SELECT id FROM t ORDER BY id ASC",
    "SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`",
    "administrator command: Quit",
    "SELECT  *\n\tFROM   t2 # trailing comment\nWHERE  id =  7",
    "select * from t where id in (?, ?) and k in ( 'a' , 'b' )",
    "SELECT `col1` FROM `db2`.`table3` WHERE v = 'a\\'b'",
    "UPDATE t SET a = TRUE, b = false WHERE c IS NULL",
]


def _sample_statements() -> list[str]:
    stmts: list[str] = []
    for path in sorted(MARIADB.glob("*.log*")):
        stmts += tk.read_queries(path)["statement"].tolist()
    return list(dict.fromkeys(stmts))


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM orders WHERE id IN (1, 2, 3) AND note = 'x'  LIMIT 10, 20",
     "select * from orders where id in(?+) and note = ? limit ?"),
    ("select x from t limit 5 offset 10", "select x from t limit ?"),
    ("INSERT INTO t1 (a, b) VALUES (1, 'x'), (2, 'y')", "insert into t? (a, b) values(?+)"),
    ("/*!40101 SET NAMES utf8 */", "/*!? set names utf? */"),
    ("SELECT 1 /* comment */ -- more", "select ? "),  # pt keeps the space before the comment
    ("USE `shop`", "use ?"),
    ("select * from t where a = $1 and b = $22", "select * from t where a = ? and b = ?"),
])
def test_rules(sql, expected):
    assert fingerprint(sql) == expected


def test_keep_digits_in_identifiers():
    assert fingerprint("select c1 from t2 where id = 3") == "select c? from t? where id = ?"
    assert fingerprint("select c1 from t2 where id = 3", keep_digits_in_identifiers=True) == \
        "select c1 from t2 where id = ?"


def test_keep_quoted_identifiers_for_postgresql():
    sql = 'SELECT "users"."id" FROM "users" WHERE "users"."name" = $1 AND x = \'Y\''
    assert fingerprint(sql) == "select ?? from ? where ?? = ? and x = ?"  # pt's rules: ".?" -> "?"
    assert fingerprint(sql, keep_quoted_identifiers=True) == \
        'select "users"."id" from "users" where "users"."name" = ? and x = ?'


def test_equal_to_pt_fingerprint_on_every_sample_statement():
    # GIVEN every distinct statement of the MariaDB sample logs plus edge cases
    exe = require_program("pt-fingerprint")
    stmts = _sample_statements() + EDGE_CASES
    assert len(stmts) > 100
    # WHEN pt-fingerprint fingerprints them: in one run of its file mode (records end with
    # ";\n", lines starting with '#' are dropped, records must start with a word character),
    # and with --query for the statements that mode would alter
    def file_mode_safe(sql: str) -> bool:
        return (";\n" not in sql and sql[:1].isalnum()
                and not any(line.lstrip().startswith("#") for line in sql.split("\n")))

    batch = [sql for sql in stmts if file_mode_safe(sql)]
    out = subprocess.run([exe, "-"], input="".join(sql + ";\n" for sql in batch), capture_output=True,
                         text=True, check=True, timeout=60).stdout.split("\n")[:-1]
    assert len(out) == len(batch)
    expected = dict(zip(batch, out, strict=True))
    for sql in stmts:
        if sql not in expected:
            # (pt-fingerprint exits 1 after printing some multi-line queries: the output is fine)
            run = subprocess.run([exe, f"--query={sql}"], capture_output=True, text=True, timeout=60)
            assert run.stdout.endswith("\n"), run.stderr
            expected[sql] = run.stdout.rstrip("\n")
    expected = [expected[sql] for sql in stmts]
    # THEN ours are the same, character for character
    ours = [fingerprint(s) for s in stmts]
    mismatches = [(s, e, o) for s, e, o in zip(stmts, expected, ours, strict=True) if e != o]
    assert mismatches == []


def test_fingerprint_id_is_the_start_of_pt_query_digest_query_id():
    exe = require_program("pt-query-digest")
    out = subprocess.run([exe, "--output", "json", "--limit", "100%", str(MARIADB / "app-slow.log")],
                         capture_output=True, text=True, check=True, timeout=120)
    classes = json.loads(out.stdout)["classes"]
    assert len(classes) > 30
    for c in classes:
        assert fingerprint_id(c["fingerprint"]) == c["checksum"][:16]


def test_series_are_fingerprinted_once_per_distinct_text():
    s = pd.Series(["select 1", "SELECT 2", None, "select 1"], index=[10, 11, 12, 13])
    out = fingerprint_series(s)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.tolist()[:2] == ["select ?", "select ?"] and out.isna().tolist() == [False, False, True, False]
    fp = Fingerprinter()
    assert fp.many(["select 1", "select 1", float("nan")]) == ["select ?", "select ?", None]
    assert len(fp.cache) == 1


def test_a_full_cache_keeps_answering_the_statements_it_held():
    # GIVEN a cache of 3 holding one statement, then a call with it and three new ones (full)
    fp = Fingerprinter(max_cache=3)
    assert fp.many(["select 1"]) == ["select ?"]
    got = fp.many(["select 1", "select b from u", "select c from v", "select d from w"])
    # THEN the statement it held still has its fingerprint (it was dropped with the cache: None)
    assert got == ["select ?", "select b from u", "select c from v", "select d from w"]
    # AND many frames through a tiny cache give the digest of one frame
    from toolkit.queries.digest import DigestAccumulator
    ev = pd.DataFrame({"statement": [f"select {c} from t{c} where x = {i}" for i in range(6) for c in "abcd"],
                       "duration_ms": 1.0})
    small = DigestAccumulator(max_cache=2)
    for k in range(0, len(ev), 5):
        small.add(ev.iloc[k:k + 5])
    want = DigestAccumulator().add(ev).result()
    pd.testing.assert_frame_equal(small.result(), want)
    assert want["fingerprint"].notna().all() and len(want) == 4


def test_pglast_method():
    pytest.importorskip("pglast")
    a = fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3)", method="pglast")
    b = fingerprint("select * from t where id in ($1)", method="pglast")
    assert a == b and len(a) == 16
    assert fingerprint("SHOW MASTER STATUS LIKE 'x'", method="pglast") != a  # not PostgreSQL: text rules


def test_pglast_method_without_pglast_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pglast", None)
    with pytest.raises(MissingDependencyError, match="pglast"):
        fingerprint("select 1", method="pglast")
    with pytest.raises(ValueError):
        fingerprint("select 1", method="nope")


def test_postgresql_prepared_and_literal_forms_agree():
    events = tk.read_queries(PG_APP)
    fps = fingerprint_series(events["statement"])
    nplus1 = fps[events["statement"].str.contains("sum(total) FROM orders WHERE customer_id", regex=False)
                 .fillna(False)]
    assert nplus1.nunique() == 1
    assert nplus1.iloc[0] == "select count(*), sum(total) from orders where customer_id = ?"


# Statement shapes x literals: each shape reaches one of the rules a substring test now guards
# (comments, '#'/'--' tails, backslash escapes, double quotes, null, lists, unions, limit,
# ORDER BY ... ASC, multi-row inserts), and many literals share one shape.
SHAPES = [
    "SELECT abalance FROM pgbench_accounts WHERE aid = {n}",
    "UPDATE pgbench_accounts SET abalance = abalance + {m} WHERE aid = {n}",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({n}, 1, {m}, -{n}, CURRENT_TIMESTAMP)",
    "INSERT INTO t (a, b) VALUES ({n}, 'x{m}'), ({m}, 'y')",
    "SELECT * FROM orders WHERE id = {n} /* app:{m} */",
    "select * from t where a = 'it\\'s {n}' and b = \"q{m}\" and c = {n}",
    "SELECT x FROM t WHERE y IS NULL AND z IN ({n}, {m}, 3) ORDER BY x ASC, y ASC LIMIT {n}, 10",
    "select {n} union select {m} union all select {n}",
    "SELECT a FROM t{n} WHERE b = {m} -- tail {n}",
    "SELECT a FROM t WHERE b = 0x{n}F OR c = {m}.5e3 LIMIT {n} OFFSET {m}",
]


def test_equal_to_pt_fingerprint_on_statements_of_many_literals():
    # GIVEN 2,000 distinct statements: ten shapes, each with 200 pairs of literals
    exe = require_program("pt-fingerprint")
    stmts = [shape.format(n=n, m=(n * 7919) % 100003) for shape in SHAPES for n in range(200)]
    assert len(set(stmts)) == 2000
    # WHEN pt-fingerprint fingerprints them (one run of its file mode) and we do
    out = subprocess.run([exe, "-"], input="".join(sql + ";\n" for sql in stmts), capture_output=True,
                         text=True, check=True, timeout=60).stdout.split("\n")[:-1]
    # THEN the same text for every statement, and one class per shape
    ours = [fingerprint(s) for s in stmts]
    assert [(s, e) for s, e, o in zip(stmts, out, ours, strict=True) if e != o] == []
    assert len(set(ours)) == len(SHAPES)
    # AND fingerprinting them all at once (many new statements: one regex pass per rule) too
    assert Fingerprinter().many(stmts) == out
    # AND text before the first word (pt-fingerprint --query: file mode would alter it)
    lead = subprocess.run([exe, "--query= \n\tSELECT 1 FROM t"], capture_output=True, text=True, timeout=60)
    assert fingerprint(" \n\tSELECT 1 FROM t") == lead.stdout.rstrip("\n") == "select ? from t"


# Pieces whose neighbours a joined regex pass could confuse: quotes left open, separators,
# comments, CALL / USE / multi-row INSERT heads, administrator commands, escapes, signs.
PIECES = ["SELECT", "select", " x ", "'", "'a b'", '"', '"id"', "\\'", "\x00", "--", "#", "/*", "*/",
          "/*!", "call p(", "CALL  q(", "use db", "uſe x", "INSERT INTO t VALUES (1), (2)",
          "replace into t values ('a'),('b')", "administrator command: Quit", "$1", "12", "-3.5e2",
          "0x1F", "t1", "null", " IN (1, 2)", " limit 5, 10", " order by a asc", "\n", "\t", " ",
          "(", ")", ",", "union", "\u0130", "ß"]


@given(batch=st.lists(st.lists(st.sampled_from(PIECES), max_size=8).map("".join), min_size=1, max_size=40),
       keep_digits=st.booleans())
def test_fingerprinting_many_at_once_gives_each_ones_fingerprint(batch, keep_digits):
    # GIVEN statements made of pieces that could leak into a neighbour in a joined pass
    # WHEN they are fingerprinted all at once and one by one
    many = fingerprint_many(batch, keep_digits)
    # THEN each has its own fingerprint
    assert many == [fingerprint(q, keep_digits_in_identifiers=keep_digits) for q in batch]


# sysbench (text protocol) and pgbench (simple protocol) statement shapes, with the literals a
# joined pass could get wrong: strings with escaped quotes and doubled quotes, negative and
# signed numbers, hex, IN lists, comments, identifiers with digits, multi-row INSERTs.
BENCH_SHAPES = [
    "SELECT c FROM sbtest{t} WHERE id={n}",
    "SELECT c FROM sbtest{t} WHERE id BETWEEN {n} AND {m}",
    "SELECT SUM(k) FROM sbtest{t} WHERE id BETWEEN {n} AND {m}",
    "SELECT DISTINCT c FROM sbtest{t} WHERE id BETWEEN {n} AND {m} ORDER BY c",
    "UPDATE sbtest{t} SET k=k+1 WHERE id={n}",
    "UPDATE sbtest{t} SET c={s} WHERE id={n}",
    "DELETE FROM sbtest{t} WHERE id={n}",
    "INSERT INTO sbtest{t} (id, k, c, pad) VALUES ({n}, {m}, {s}, {s})",
    "INSERT INTO sbtest{t}(k, c, pad) VALUES({n}, {s}, {s}),({m}, {s}, {s})",
    "SELECT c FROM sbtest{t} WHERE id IN ({n}, {m}, {n}) /* sysbench {n} */",
    "UPDATE pgbench_accounts SET abalance = abalance + {m} WHERE aid = {n};",
    "SELECT abalance FROM pgbench_accounts WHERE aid = {n};",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({n}, {t}, {m}, {m}, CURRENT_TIMESTAMP);",
    "select * from t where h = {x} and s = {s} -- pgbench {n}",
    "SELECT \"t{t}\".c FROM \"t{t}\" WHERE v = {s} # {n}",
    "  \n\tselect {n} union select {m} union all select {n} LIMIT {n}, {m}",
    "CALL p{t}({n}, {s})",
    "use db{t}",
]
_numbers = st.one_of(st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                     st.sampled_from(["-0", "+5", "1e-3", "-.5", "0b101", "3.", "0x1F", "-0xff"]))
_strings = st.text(alphabet="ab '\\\"-#/*\x00$1", max_size=12).map(
    lambda t: "'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'")


@st.composite
def _bench_statement(draw):
    shape = draw(st.sampled_from(BENCH_SHAPES))
    return shape.format(t=draw(st.integers(0, 99)), n=draw(_numbers), m=draw(_numbers), s=draw(_strings),
                        x=draw(st.sampled_from(["0x1F", "X'0A'", "0b1", "b'01'"])))


@given(batch=st.lists(_bench_statement(), min_size=1, max_size=60), keep_digits=st.booleans(),
       readable=st.booleans())
def test_fingerprinting_benchmark_shapes_at_once_gives_each_ones_fingerprint(batch, keep_digits, readable):
    # GIVEN sysbench / pgbench statements with hostile literals
    # WHEN they are fingerprinted all at once (the digests' path) and one by one
    # THEN each has its own fingerprint, for every option the digests pass
    one_by_one = [fingerprint(q, keep_digits_in_identifiers=keep_digits, readable=readable) for q in batch]
    assert Fingerprinter(keep_digits_in_identifiers=keep_digits, readable=readable).many(batch) == one_by_one
    if not readable:
        assert fingerprint_many(batch, keep_digits) == one_by_one


def test_benchmark_shapes_share_one_fingerprint_per_shape():
    # GIVEN the shapes, each with two sets of literals (positive and negative, strings with an
    # escaped quote or what looks like comments)
    stmts = [shape.format(t=7, n=n, m=m, s=s, x="0x1F") for shape in BENCH_SHAPES
             for n, m, s in ((12, 34, "'a\\'b'"), (-5, 6.5, "'no -- # /* comment'"))]
    # WHEN fingerprinted at once
    fps = fingerprint_many(stmts)
    # THEN the two forms of a shape agree (pt's classes), with literals and comments gone
    assert [fps[i] == fps[i + 1] for i in range(0, len(fps), 2)] == [True] * len(BENCH_SHAPES)
    assert fps[0] == "select c from sbtest? where id=?"
    assert fps[16] == "insert into sbtest?(k, c, pad) values(?+)"
    assert fps[18] == "select c from sbtest? where id in(?+) "
    assert fps[20] == "update pgbench_accounts set abalance = abalance ? ? where aid = ?;"  # pt: + is a number
    assert fps[26] == "select * from t where h = ?f and s = ? "  # (pt: x is folded, F is not)
    assert fps[30] == "select ? /*repeat union all*/ limit ?"
    assert fps[32] == "call p7" and fps[34] == "use ?"  # (pt keeps a called name whole)
    assert fingerprint_many(stmts[:2], keep_digits=True)[0] == "select c from sbtest7 where id=?"


def test_quoted_identifiers_are_kept_beside_a_nul_of_the_statement():
    # GIVEN statements holding a NUL byte (a log of binary garbage) beside quoted identifiers
    # WHEN fingerprinted keeping quoted identifiers (their placeholders hold a NUL too)
    # THEN each identifier comes back in its place (this raised IndexError before)
    assert fingerprint("\x00'\"id\"", keep_quoted_identifiers=True) == "\x00'\"id\""
    assert fingerprint('SELECT "a"."b1" FROM "t"\x00 WHERE x = 1', keep_quoted_identifiers=True) == \
        'select "a"."b1" from "t"\x00 where x = ?'


@given(q=st.lists(st.sampled_from(PIECES), max_size=10).map("".join), readable=st.booleans())
def test_keeping_quoted_identifiers_never_fails_nor_leaves_a_placeholder(q, readable):
    out = fingerprint(q, keep_quoted_identifiers=True, readable=readable)
    assert isinstance(out, str) and "\ue000" not in out
