"""The compiled PostgreSQL stderr scanner (toolkit/native/pgstderr.c) against the rule it replaced.

``StderrParser.scan_batch`` used to be one regular expression built from the log_line_prefix
(``findall`` over the folded buffer) and ``query_records`` picking the query-event records out
of its matches. That code is kept HERE ONLY, as the oracle (:func:`oracle_scan_batch`): for any
text and any prefix, the C pass must give the same batch (same columns, row for row, same line
counts) or, where the old code gave none (a line the full scan must account for), none.
"""

from __future__ import annotations

import gc
import gzip
import itertools
import operator
import re
import resource

import numpy as np
import pytest
from conftest import FIXTURES, SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from toolkit.native import pgstderr
from toolkit.queries.pg_events import ENGLISH, SECONDARY, TRANSLATED_DURATION, VERB_CODES
from toolkit.queries.pg_prefix import (
    KNOWN_PREFIXES,
    SEVERITY_RE,
    detect_prefix,
    prefix_pattern,
    prefix_program,
)
from toolkit.queries.pg_stderr import QUERY_FIELDS, StderrParser
from toolkit.queries.pg_time import plain_stamp

# ------------------------------------------------------------------------------ the oracle

_JUNK, _FOREIGN, _PRIMARY, _SECONDARY_CODE = 0, 1, 2, 3
_SEVERITY_CODE = {"": _JUNK, **{s: _PRIMARY for s in ENGLISH}, **{s: _SECONDARY_CODE for s in SECONDARY}}
_IS_PARAMS = operator.methodcaller("startswith", ("parameters: ", "Parameters: "))


class Unreadable(Exception):
    pass


def lean_rx(prefix: str, mark: str, fields: frozenset):
    m = re.escape(mark)
    pp = re.sub(r"\(\?P<(\w+)>", lambda g: g[0] if g[1] in fields else "(?:", prefix_pattern(prefix))
    rx = re.compile(
        r"^(?:(?P<pre>" + pp + ")" + SEVERITY_RE
        + rf"(?:duration: (?P<dur>\d+(?:\.\d+)?) ms(?:  |$|(?={m})))?"
        + r"(?:(?P<verb>statement|parse|bind|execute fetch from|execute|plan)"
        + rf"(?: [^:\n{m}]*?)?:(?: |$|(?={m})))?"
        + r"|)(?P<message>[^\n]*)"
        + r"(?(verb)(?:\n(?P=pre)DETAIL:  (?P<dparams>[Pp]arameters: [^\n]*))?)$", re.M)
    return rx, {k: v - 1 for k, v in rx.groupindex.items()}


def _plain_stamps(ts) -> bool:
    lens = set(map(len, ts))
    if not lens <= {0, 19, 23}:
        return False
    if 23 in lens:
        tail = "".join([t[19:] for t in ts])
        if not (tail.isascii() and tail[::4] == "." * (len(tail) // 4)
                and (tail[1::4] + tail[2::4] + tail[3::4]).isdigit()):
            return False
    return all(map(plain_stamp, {t[:19] for t in ts if t}))


def query_records(cols, gi, mark, first_line):
    sev, dur, verb, msg, dps = (cols[gi[k]] for k in ("severity", "dur", "verb", "message", "dparams"))
    n = len(sev)
    codes = np.fromiter(map(_SEVERITY_CODE.get, sev, itertools.repeat(_FOREIGN)), dtype=np.int8, count=n)
    primary = codes == _PRIMARY
    secondary = codes == _SECONDARY_CODE
    if not (primary | secondary).all() or secondary[0]:
        raise Unreadable
    has_dp = np.fromiter(map(bool, dps), dtype=bool, count=n)
    if (has_dp & ~primary).any():
        raise Unreadable
    nl = 1 + has_dp.astype(np.int64)
    if mark:
        nl += np.fromiter(map(operator.methodcaller("count", mark), msg), dtype=np.int64, count=n)
        for i in np.flatnonzero(has_dp).tolist():
            nl[i] += dps[i].count(mark)
    prim = np.flatnonzero(primary)
    take = operator.itemgetter(*prim.tolist()) if len(prim) > 1 else (lambda c: (c[int(prim[0])],))
    if "ts" in gi and not _plain_stamps(take(cols[gi["ts"]])):
        raise Unreadable
    pdur = take(dur)
    joined = "".join(pdur)
    if not joined.isascii() or (joined and max(map(len, pdur)) > 20):
        raise Unreadable
    is_log = np.fromiter(map("LOG".__eq__, take(sev)), dtype=bool, count=len(prim))
    timed = np.fromiter(map(bool, pdur), dtype=bool, count=len(prim))
    verbs = np.fromiter(map(bool, take(verb)), dtype=bool, count=len(prim))
    query = is_log & (timed | verbs)
    for i in prim[is_log & ~query].tolist():
        if TRANSLATED_DURATION.match(msg[i]):
            raise Unreadable
    starts = first_line + np.concatenate(([0], np.cumsum(nl)[:-1]))
    rows = prim[query]
    params = [dps[int(r)][12:] if dps[int(r)] else None for r in rows]
    is_query = np.zeros(n, dtype=bool)
    is_query[rows] = True
    head = np.maximum.accumulate(np.where(primary, np.arange(n), -1))
    sec = np.flatnonzero(secondary)
    heads = head[sec]
    mine = is_query[heads]
    total = nl.copy()
    np.add.at(total, heads[mine], nl[sec[mine]])
    others = int(nl[prim[~query]].sum()) + int(nl[sec[~mine]].sum())
    pos = np.empty(n, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    for i, k in zip(sec[mine].tolist(), pos[heads[mine]].tolist(), strict=True):
        if sev[i] == "DETAIL" and _IS_PARAMS(msg[i]):
            params[k] = msg[i][12:]
    return rows, starts[rows], total[rows], params, others


def oracle_scan_batch(parser: StderrParser, text: str, first_line: int, fields=QUERY_FIELDS):
    """What scan_batch gave before the C pass: a dict of its batch, or None."""
    t = parser.folded(text)
    mark = parser.mark
    rx, gi = lean_rx(parser.prefix, mark, fields)
    rows = rx.findall(t) if t or text else []
    if not rows:
        return None
    if mark not in t:
        mark = None
    cols = list(zip(*rows, strict=True))
    try:
        idx, starts, nls, params, others = query_records(cols, gi, mark, first_line)
    except Unreadable:
        return None
    lines = text.count("\n") + (1 if text and text[-1] != "\n" else 0)
    out = {"lines": lines, "other_lines": others, "first_line": starts.tolist(), "nlines": nls.tolist()}
    columns = {name: [cols[gi[name]][i] for i in idx] for name in fields if name in gi}
    pid, session = columns.get("pid"), columns.get("session")
    if session is None:
        session = pid if pid is not None else [None] * len(idx)
    elif pid is not None:
        session = [s or p for s, p in zip(session, pid, strict=True)]
    columns["session"] = session
    messages = [cols[gi["message"]][i] for i in idx]
    if mark:
        messages = [m.replace(mark, "\n") for m in messages]
        params = [p.replace(mark, "\n") if p else p for p in params]
    columns.update(severity=[cols[gi["severity"]][i] for i in idx], dur=[cols[gi["dur"]][i] for i in idx],
                   verb=[cols[gi["verb"]][i] for i in idx], message=messages, parameters=params)
    out["columns"] = columns if len(idx) else {}
    return out


def as_dict(batch):
    if batch is None:
        return None
    return {"lines": batch.lines, "other_lines": batch.other_lines, "first_line": batch.first_line.tolist(),
            "nlines": batch.nlines.tolist(), "columns": {k: list(v) for k, v in batch.columns.items()}}


def same(prefix: str, text: str, first_line: int = 1, fields=QUERY_FIELDS) -> dict | None:
    parser = StderrParser(prefix, "x.log", None)
    want = oracle_scan_batch(StderrParser(prefix, "x.log", None), text, first_line, fields)
    got = as_dict(parser.scan_batch(text, first_line, fields))
    if got is not None and got["columns"]:
        # the numbers the C pass adds: the verb's code and the duration as float() reads it
        c = got["columns"]
        codes, ms = c.pop("verb_code"), np.array(c.pop("dur_ms"), dtype=np.float64)
        assert codes == [VERB_CODES.index(v) + 1 if v else 0 for v in c["verb"]]
        expected = np.array([float(d) if d else np.nan for d in c["dur"]], dtype=np.float64)
        assert ms.tobytes() == expected.tobytes()
    assert got == want, (prefix, text)
    return got


# ------------------------------------------------------------------------------ real logs

def _stderr_logs():
    out = []
    for path in sorted([*SAMPLES.glob("**/postgresql.log.gz"), *FIXTURES.glob("**/*.log*")]):
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        text = text.replace("\r\n", "\n")
        prefix = detect_prefix(text.split("\n")[:400])
        if prefix is not None:
            out.append(pytest.param(prefix, text, id=str(path.relative_to(path.parents[1]))))
    return out


PRODUCED = FIXTURES / "third_party" / "produced-here"
GIVEN = [("pg15-prefix-xid-sqlstate.log", "%t [%p]: [%l-1] [%x] %v %e %c %b %Q usr=%u,db=%d,appli=%a "),
         ("pg15-prefix-padded.log", "%m %-10u %-12d %6p %-8a|"),
         ("pg15-prefix-session.log", "%n %s %i %P [%p] %q%u@%d %h ")]


@pytest.mark.parametrize(("prefix", "text"), _stderr_logs())
def test_every_stderr_log_scans_as_the_regex_did(prefix, text):
    # WHEN a whole log, and its pieces of 50 lines, are scanned THEN the batches are the regex's
    got = same(prefix, text)
    lines = text.split("\n")
    for k in range(0, len(lines), 50):
        same(prefix, "\n".join(lines[k:k + 50]) + "\n", first_line=k + 1)
    assert got is None or got["lines"] == text.count("\n") + (not text.endswith("\n"))


@pytest.mark.parametrize(("name", "prefix"), GIVEN)
def test_logs_with_the_rare_escapes_scan_as_the_regex_did(name, prefix):
    text = (PRODUCED / name).read_text()
    got = same(prefix, text)
    same(prefix, text, fields=frozenset({"ts", "pid", "session", "user", "database", "application"}))
    assert got is not None and got["columns"]  # (these logs are read by the C pass: rows found)


def test_the_benchmark_logs_prefixes_give_their_fields():
    # GIVEN pg-simple's prefix (%t and key=value fields) and pg-big's (%m, %q)
    simple = ("2026-12-07 21:21:20 UTC [3101]: user=bench,db=pgb,app=pgbench,client=127.0.0.1 LOG:  "
              "duration: 0.043 ms  statement: SELECT abalance FROM pgbench_accounts WHERE aid = 7;\n"
              "2026-12-07 21:21:20 UTC [3038]: user=,db=,app=,client= LOG:  checkpoint starting: time\n")
    got = same("%t [%p]: user=%u,db=%d,app=%a,client=%h ", simple, first_line=7)
    c = got["columns"]
    assert (c["user"], c["database"], c["application"], c["client"], c["session"], c["dur"], c["verb"]) == (
        ["bench"], ["pgb"], ["pgbench"], ["127.0.0.1"], ["3101"], ["0.043"], ["statement"])
    assert (got["first_line"], got["nlines"], got["other_lines"]) == ([7], [1], 1)
    big = ("2026-11-26 05:09:21.825 UTC [11999] app@shop LOG:  duration: 0.250 ms  execute S_1: SELECT $1\n"
           "\tFROM t\n"
           "2026-11-26 05:09:21.825 UTC [11999] app@shop DETAIL:  parameters: $1 = 'a\n"
           "\tb'\n"
           "2026-11-26 05:09:21.900 UTC [11948] LOG:  database system is ready to accept connections\n")
    got = same("%m [%p] %q%u@%d ", big)
    assert got["columns"]["message"] == ["SELECT $1\nFROM t"]
    assert got["columns"]["parameters"] == ["$1 = 'a\nb'"]
    assert (got["first_line"], got["nlines"], got["other_lines"], got["lines"]) == ([1], [4], 1, 5)


# ------------------------------------------------------------------------------ properties

PREFIXES = [*KNOWN_PREFIXES, *(p for _, p in GIVEN), "%m %c %l %v %x %e %Q %i %b %s %P|", "%%%m|%10p|%-5u|",
            "%t %u@%d %u@%d "]
SEVERITIES = ["LOG", "LOG", "LOG", "ERROR", "DETAIL", "STATEMENT", "HINT", "FATAL", "DEBUG1", "FEHLER",
              "LOGLOG", "ÉRREUR", "LOG1", "Log"]
HEADS = ["duration: 1.5 ms  statement: ", "duration: 12 ms  execute S_1: ", "duration: 0.250 ms  execute <unnamed>: ",
         "duration: 3.0 ms  parse a: ", "duration: 3.0 ms  bind b/c: ", "duration: 2 ms", "duration: 2 ms  plan:",
         "statement: ", "execute fetch from c1/C_2: ", "execute fetch fromage: ", "plan:", "parse:x",
         "duration: \u0661\u0662 ms  statement: ", "duration: " + "1" * 25 + " ms  statement: ",
         "duration: 1.x ms  statement: ", "Dauer: 1,5 ms  Anweisung: ", "durée : 1.5 ms  ", "parameters: $1 = 'x'",
         "checkpoint starting: time", "connection received: host=[local]", "disconnection: session time: 0:00:01.2 "]
VALUES = ["", "app", "x y", "a@b", "[local]", "10.0.0.1", "::1(5432)", "f00.ba", "123", "-4", "1/2",
          "2026-11-26 05:09:21", "2026-11-26 05:09:21.826 UTC", "\u0663\u0664", ":", ",", "]", "é", "\x1f",
          "\x1e", "\ue000", "\x00", "\r", "\x85", " LOG:  "]


@st.composite
def prefix_text(draw, prefix: str, hostile: bool) -> str:
    """Something like what ``prefix`` writes: each escape a plausible (or, ``hostile``, any) value."""
    out = []
    pos = 0
    for m in re.finditer(r"%(-?\d+)?(.)", prefix):
        out.append(prefix[pos:m.start()])
        pos = m.end()
        esc = m.group(2)
        if esc == "q":
            if draw(st.integers(0, 5)) == 0:
                return "".join(out)
            continue
        if esc == "%":
            out.append("%")
            continue
        choices = {
            "m": ["2026-11-26 05:09:21.826 UTC", "2026-11-26 05:09:21.826 +01", "2026-13-26 05:09:21.826 UTC",
                  "2026-11-26 05:09:\u0662\u0661.826 UTC", "1677-11-26 05:09:21.826 UTC", "2026-11-26 05:09:21 UTC"],
            "t": ["2026-11-26 05:09:21 UTC", "2026-11-26 05:09:22 -05:00", "2026-02-30 05:09:21 UTC",
                  "2026-11-26 05:09:21.826 UTC"],
            "p": ["11999", "7", "x"], "c": ["5f1a.2b", "zz.1"], "h": ["[local]", "10.1.2.3", "::1", ""],
            "r": ["10.1.2.3(5432)", "[local]", "::1(1)", "h(x)"], "n": ["1796649844.642"],
            "s": ["2026-12-07 13:24:04 UTC"], "e": ["00000", "42P01"], "x": ["0", "711", ""],
            "v": ["3/14", "", "3/-1"], "Q": ["-12", "0"], "l": ["1", "22"], "P": ["", "12"],
        }.get(esc)
        if not hostile:
            choices = choices[:2] if choices else ["", "app", "x y", "a@b", "123", "é"]
        value = draw(st.sampled_from(choices)) if choices else draw(st.sampled_from(VALUES))
        if hostile and draw(st.integers(0, 9)) == 0:
            value = draw(st.sampled_from(VALUES))
        if m.group(1):
            value = value.ljust(abs(int(m.group(1)))) if m.group(1).startswith("-") else value.rjust(int(m.group(1)))
        out.append(value)
    out.append(prefix[pos:])
    return "".join(out)


@st.composite
def stderr_logs(draw):
    prefix = draw(st.sampled_from(PREFIXES))
    hostile = draw(st.booleans())  # else lines a server writes, which the C pass reads whole
    lines = []
    same_prefix = None
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.integers(0, 9))
        pre = same_prefix if (same_prefix is not None and kind < 4) else draw(prefix_text(prefix, hostile))
        if kind == 9 and hostile:
            lines.append(draw(st.sampled_from(["", "\tcontinued", "garbage", " LOG:  x", "\t"])))
            continue
        sev = "DETAIL" if kind < 2 and lines else draw(st.sampled_from(SEVERITIES if hostile else SEVERITIES[:8]))
        head = draw(st.sampled_from(HEADS if hostile else HEADS[:12] + HEADS[-4:]))
        body = draw(st.text(alphabet="ab $1:'\t\x1f\u00e9", max_size=12))
        line = f"{pre}{sev}:  {head}{body}"
        for _ in range(draw(st.integers(0, 2))):
            line += "\n\t" + draw(st.sampled_from(["FROM t", "", "plan:", "\x1f"]))
        lines.append(line)
        same_prefix = pre
    end = draw(st.sampled_from(["\n", "\n", "", "\n\n"] if hostile else ["\n", ""]))
    return prefix, "\n".join(lines) + end


@given(stderr_logs(), st.integers(1, 1000))
def test_logs_built_from_the_formats_pieces_scan_as_the_regex_did(log, first_line):
    prefix, text = log
    same(prefix, text, first_line)
    same(prefix, text, first_line, fields=frozenset({"user", "pid"}))


PIECES = st.sampled_from(["\n\t", "\t", " ", "@", "duration: 1 ms", "  ", "statement: ", "a", "\x1f", ":", "plan:",
                          "execute x:", "é", "\u0661", "parameters: $1", "\n\t\n\t", "ms", "1.5",
                          "\n\tDETAIL:  parameters: "])


@st.composite
def continuation_soup(draw):
    """Prefixed lines whose rest is pieces of message heads and continuation line breaks, a
    continuation line break now and then inside the prefix itself (where the old count of a
    record's lines left it out: the C pass keeps that count)."""
    prefix = draw(st.sampled_from(PREFIXES))
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        pre = draw(prefix_text(prefix, False))
        if draw(st.integers(0, 4)) == 0 and pre:
            k = draw(st.integers(0, len(pre)))
            pre = pre[:k] + "\n\t" + pre[k:]
        sev = draw(st.sampled_from(["LOG", "LOG", "DETAIL", "ERROR"]))
        lines.append(pre + sev + ":  " + "".join(draw(st.lists(PIECES, max_size=8))))
    return prefix, "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\t", "\n\t\n"]))


@given(continuation_soup())
def test_continuation_lines_anywhere_scan_as_the_regex_did(log):
    same(*log)


def test_a_continuation_inside_the_prefix_keeps_the_old_line_counts():
    # GIVEN a line break with a TAB inside the prefix (the user name's place)
    prefix = "%n %s %i %P [%p] %q%u@%d %h "
    text = "1796649844.642 2026-12-07 13:24:04 UTC   [11999] \n\t@ [local] LOG:  statement: x\n"
    got = same(prefix, text)
    # THEN the user holds the mark as the regex took it, and the record counts one line of two
    assert got["columns"]["user"] == ["\x1f"] and got["nlines"] == [1] and got["lines"] == 2


@given(st.sampled_from(PREFIXES), st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
       | st.text(alphabet="0123456789 -:.[]@LOGDETAIL\n\t%ms,=ux", max_size=300))
def test_any_text_scans_as_the_regex_did(prefix, text):
    same(prefix, text)


# ------------------------------------------------------------------------------ the C function

def test_hostile_buffers_never_crash():
    prog, slots = prefix_program("%m [%p] %q%u@%d ")
    want = tuple(slots.values())
    line = "2026-11-26 05:09:21.825 UTC [1] a@b LOG:  duration: 1 ms  statement: x"
    for text in ["", "\x00", "\n\n", line + "\x00" * 5, line + "\r", "\udcff" + line, line * 2000,
                 "a@" * 20000 + " LOG:  x", line + "\n" + "\t" * 100, "2026-11-26 05:09:21.825 UTC [" + "9" * 100000]:
        got = pgstderr.scan(text, "\ue001", prog, want, slots["ts"], -1, slots["pid"], 1)
        assert got is None or len(got) == 13
    with pytest.raises(ValueError):
        pgstderr.scan(line, "ab", prog, want, 0, -1, 2, 1)
    with pytest.raises((TypeError, ValueError)):
        pgstderr.scan(line, "\x1f", (9, "x"), want, 0, -1, 2, 1)
    with pytest.raises((TypeError, ValueError)):
        pgstderr.scan(line, "\x1f", (1, 0, 5, 2, 1), want, 0, -1, 2, 1)  # max < min
    many = (2, tuple((1, 1, 0, -1, 0) for _ in range(5000)))  # (deep recursion: refused)
    with pytest.raises(ValueError, match="too many nodes"):
        pgstderr.scan(line, "\x1f", many, want, 0, -1, 2, 1)
    with pytest.raises(ValueError, match="too many nodes"):
        pgstderr.compiled(many)
    with pytest.raises((TypeError, ValueError)):
        pgstderr.line_record(line, "not a capsule", -1, -1)


def test_a_thousand_calls_do_not_grow_memory():
    parser = StderrParser("%m [%p] %q%u@%d ", "x.log", None)
    text = ("2026-11-26 05:09:21.825 UTC [11999] app@shop LOG:  duration: 0.250 ms  execute S_1: SELECT 1\n"
            "\tFROM t\n"
            "2026-11-26 05:09:21.825 UTC [11999] app@shop DETAIL:  parameters: $1 = 'a'\n"
            "2026-11-26 05:09:21.900 UTC [11948] LOG:  checkpoint starting: time\n") * 200
    for _ in range(50):
        parser.scan_batch(text, 1)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1000):
        assert parser.scan_batch(text, 1) is not None
        assert parser.scan_batch(text + "junk\n", 1) is None
    gc.collect()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 4096  # KiB


def test_lines_that_start_alike_are_matched_on_their_own_text():
    # GIVEN lines of one session that share their first characters (the C pass reuses a match
    # over the text it read), and lines where the same start leads to another match
    t = "2026-11-26 05:09:21.825 UTC [7] "
    text = (f"{t}a@b LOG:  statement: x\n"
            f"{t}a@b LOG:  duration: 1.5 ms\n"
            f"{t}a@b c@d LOG:  statement: y\n"          # the database is "b c@d"
            f"{t}a@b LOGX:  statement: z\n"            # a foreign severity: the full scan's
            f"{t}a@b DETAIL:  parameters: $1 = '1'\n")
    assert same("%m [%p] %q%u@%d ", text) is None
    got = same("%m [%p] %q%u@%d ", text.replace("LOGX", "LOG"))
    assert got["columns"]["database"] == ["b", "b", "b c@d", "b"]
    assert got["columns"]["parameters"] == [None, None, None, "$1 = '1'"]


# ------------------------------------------------------------------------------ cut lines

def oracle_record_line(parser: StderrParser, line: str):
    """What the cut rules read of a physical line before the C matcher (the prefix's regexes)."""
    if line.startswith("\t") or parser.secondary_rx.match(line):
        return None
    m = parser._line_rx.match(line)
    if m is None or m["severity"] not in ENGLISH:
        return None
    g = m.groupdict()
    return {"severity": m["severity"], "message": m["message"], "key": g.get("session") or g.get("pid")}


@pytest.mark.parametrize(("prefix", "text"), _stderr_logs())
def test_the_cut_rules_read_every_line_as_the_regex_did(prefix, text):
    parser = StderrParser(prefix, "x.log", None)
    for line in text.split("\n"):
        assert parser.record_line(line) == oracle_record_line(parser, line), line


@given(stderr_logs())
def test_the_cut_rules_read_built_lines_as_the_regex_did(log):
    prefix, text = log
    parser = StderrParser(prefix, "x.log", None)
    for line in text.split("\n"):  # (physical lines, as the cut rules take them)
        assert parser.record_line(line) == oracle_record_line(parser, line), line
