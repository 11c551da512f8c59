"""The compiled slow-log record finder (``toolkit.native.slowlog.scan``) against the rule it
replaced: the records' regex of ``toolkit.queries.mysql_slow`` (``LEAN_ITEM``, read again with
``LEAN_ITEM_QUOTES`` where a statement may end inside a string literal), kept HERE only, as the
oracle. Every fixture slow log, the sample logs, hypothesis-built logs from the format's own pieces
and arbitrary text must give the same records, fields, line numbers and junk runs.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import operator
import re
import resource
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.native import slowlog

ROOT = Path(__file__).resolve().parents[2]

# ---- the oracle: mysql_slow's records' regex as it was before the C scanner (session 23) ----
_HEADER_START = r"# (?:Time|User@Host): "
ADMIN = "# administrator command: "
_HEADER = rf"#(?! {ADMIN[2:]})[^\n]*\n"
RECORD_AHEAD = rf"{_HEADER_START}|(?:{_HEADER})*# Query_time: "
_TOKENS = (r"""(?:[^'"`/\n-]++|'(?:[^'\\]++|\\[\s\S])*+'|"(?:[^"\\]++|\\[\s\S])*+"|`[^`]*+`"""
           r"""|/\*[\s\S]*?\*/|-- [^\n]*+|[^\n])*+""")


def _lean_item(quotes: bool) -> re.Pattern:
    line = _TOKENS if quotes else r"[^\n]*"
    last = _TOKENS[:-2] + "++" if quotes else r"[^\n]+"
    return re.compile(
        r"((?:# Time: ([^\n]*?)(?:\n| (?=# User@Host: )))?"
        r"(?:# User@Host: ([^\n]*)\n)?"
        rf"((?:#(?! Query_time: | {_HEADER_START[2:]}| {ADMIN[2:]})[^\n]*\n)*)"
        r"# Query_time: (\S+)(?:\s+Lock_time: (\S+)\s+Rows_sent: (\S+)\s+Rows_examined:[ \t]*(\S+))?([^\n]*)\n"
        rf"((?:#(?! {_HEADER_START[2:]}| Query_time: | {ADMIN[2:]})[^\n]*\n)*)"
        r"(?:use ([^\n]*);\n)?"
        r"(?:SET timestamp=(\d+);\n)?"
        rf"((?:(?!{RECORD_AHEAD}){line}\n)*(?:(?!{RECORD_AHEAD}){last}$)?))"
        r"|([^\n]*\n|[^\n]+$)"
    )


LEAN_ITEM = _lean_item(quotes=False)
LEAN_ITEM_QUOTES = _lean_item(quotes=True)
_STATEMENT = operator.itemgetter(12)


def odd_quotes(text: str) -> bool:
    for q in ("'", '"'):
        n = text.count(q)
        if n & 1 and (n - text.count("\\" + q)) & 1:
            return True
    return False


def open_literal(st: str) -> bool:
    return bool(st) and not st.rstrip().endswith(";") and odd_quotes(st)


def find_items(text: str) -> list[tuple]:
    items = LEAN_ITEM.findall(text)
    if not any(map(open_literal, [st for st in map(_STATEMENT, items) if not st.endswith(";\n")])):
        return items
    out: list[tuple] = []
    base, k = 0, 0
    starts = list(itertools.accumulate((len(item[0] or item[13]) for item in items), initial=0))
    while k < len(items):
        if not open_literal(items[k][12]):
            out.append(items[k])
            k += 1
            continue
        m = LEAN_ITEM_QUOTES.match(text, base + starts[k])
        out.append(tuple(g or "" for g in m.groups()))
        k = bisect.bisect_left(starts, m.end() - base, k + 1)
        if k == len(starts) or starts[k] != m.end() - base:
            base, k = m.end(), 0
            items = LEAN_ITEM.findall(text, base)
            starts = list(itertools.accumulate((len(item[0] or item[13]) for item in items), initial=0))
    return out


# the restart banners' regex and the reader's loop that cut the text at them (session 23)
BANNER = re.compile(r"[^\n]*, Version: [^\n]*started with:\n(?:Tcp port:[^\n]*\n)?"
                    r"(?:Time\s+Id\s+Command\s+Argument[^\n]*(?:\n|$))?")


def segments(text: str):
    """``(segment, banner)`` pairs as the reader cut the text (banner '' after the last)."""
    hit = text.find("started with:")
    pos = 0
    while hit >= 0:
        bol = text.rfind("\n", 0, hit) + 1
        m = BANNER.match(text, bol)
        if not m or bol < pos:
            hit = text.find("started with:", hit + 1)
            continue
        yield text[pos:bol], m.group(0)
        pos = m.end()
        hit = text.find("started with:", pos)
    yield text[pos:], ""


FIELDS = ("time", "userhost", "pre", "qt", "lt", "rs", "rx", "tail", "post", "use", "ts", "statement")


def expected(text: str, first_line: int = 1):
    """What the regexes found, in scan()'s shape (columns as plain lists)."""
    line, first, nlines, cols, runs = first_line, [], [], [[] for _ in FIELDS], []
    for segment, banner in segments(text):
        items = find_items(segment)
        run = None
        for k, item in enumerate(items):
            whole, junk_text = item[0], item[13]
            if junk_text:
                if run is None:
                    run = [line, "", 0]
                run[1] += junk_text
                run[2] += 1
                line += 1
                continue
            if run is not None:
                runs.append((run[0], run[1], run[2], int("# User@Host: " in run[1])))
                run = None
            nl = whole.count("\n") + (1 if k == len(items) - 1 and not whole.endswith("\n") else 0)
            first.append(line)
            nlines.append(nl)
            for col, value in zip(cols, (item[1], item[2], item[3], *item[4:13]), strict=True):
                col.append(value)
            line += nl
        if run is not None:
            runs.append((run[0], run[1], run[2], int("# User@Host: " in run[1])))
        if banner:
            n = banner.count("\n") + (0 if banner.endswith("\n") else 1)
            runs.append((line, banner, n, 2))
            line += n
    return line - first_line, first, nlines, dict(zip(FIELDS, cols, strict=True)), runs


def got(text: str, first_line: int = 1):
    lines, first, nlines, columns, runs, figures = slowlog.scan(text, first_line)
    cols = {}
    for name, (codes, values) in zip(FIELDS, columns, strict=True):
        assert values[0] == ""
        assert len(set(values)) == len(values), "distinct values are distinct"
        cols[name] = [values[c] for c in np.frombuffer(codes, dtype=np.int32).tolist()]
    check_figures(figures, [cols[k] for k in ("qt", "lt", "rs", "rx")])
    return (lines, np.frombuffer(first, dtype=np.int64).tolist(), np.frombuffer(nlines, dtype=np.int64).tolist(),
            cols, runs)


PLAIN_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
PLAIN_ROWS = re.compile(r"[0-9]{1,18}")


def check_figures(figures, texts) -> None:
    """The figures the C pass read are float() / int() of their text, exactly where the text is
    a plain number (else the status hands the row's text to the Python rules), NaN / 0 with the
    absent bit where there is none."""
    qt, lt, rs, rx, status = figures
    arrays = (np.frombuffer(qt, np.float64), np.frombuffer(lt, np.float64), np.frombuffer(rs, np.int64),
              np.frombuffer(rx, np.int64))
    status = np.frombuffer(status, np.uint8)
    assert all(len(a) == len(status) == len(t) for a, t in zip(arrays, texts, strict=True))
    for k, (values, text) in enumerate(zip(arrays, texts, strict=True)):
        plain = PLAIN_SECONDS if k < 2 else PLAIN_ROWS
        for i, t in enumerate(text):
            st = int(status[i])
            if t == "":
                assert st & (0x10 << k) and not st & (1 << k)
                assert np.isnan(values[i]) if k < 2 else values[i] == 0
            elif plain.fullmatch(t) and (k >= 2 or len(t) <= 30):
                assert not st & (0x11 << k)
                assert values[i] == (float(t) if k < 2 else int(t))
            else:
                assert st & (1 << k) and not st & (0x10 << k)


def check(text: str, first_line: int = 1) -> None:
    want, have = expected(text, first_line), got(text, first_line)
    assert have[0] == want[0], "lines"
    assert have[4] == want[4], "junk runs and banners"
    assert have[1] == want[1], "first lines"
    assert have[2] == want[2], "lines per record"
    for name in FIELDS:
        assert have[3][name] == want[3][name], name


def slow_fixtures() -> list[Path]:
    fixtures = ROOT / "tests" / "fixtures"
    found = [p for p in fixtures.rglob("*") if p.is_file() and not p.name.endswith(".gz")
             and ("slow" in p.name or "percona-toolkit" in str(p)) and p.stat().st_size < 5_000_000]
    found += [p for p in (ROOT / "sample_traces").rglob("*slow*") if p.is_file() and not p.name.endswith(".gz")]
    return sorted(found)


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("path", slow_fixtures(), ids=lambda p: p.name)
def test_fixtures_as_the_regex(path):
    text = _text(path)
    check(text)
    check(text, 1234)


@pytest.mark.parametrize("text", [
    "", "\n", "x", "#", "# Query_time: 1", "# Query_time: 1\n", "# Query_time: 1\nSELECT 1",
    "# Query_time: 1\x00 Lock_time: 0 Rows_sent: 0 Rows_examined: 0\nSELECT\x00;\n",
    "# Time: 1 # User@Host: a # User@Host: b\n# User@Host: c\n# Query_time: 1\nSELECT 1;\n",
    "# Time: x # User@Host: y\n# Query_time: 2  Lock_time: 1\nq;",
    "# Query_time: 1\n Lock_time: 2\nRows_sent: 3\u2003Rows_examined:\t4 tail\nSELECT 1;\n",
    "# Query_time: 1\n Lock_time: 2\nRows_sent: 3\u2003Rows_examined:\t4",
    "# Query_time: 1\nSET timestamp=\u0661\u0662;\nSELECT 'a\n# Query_time: 9\nb';\n# Query_time: 2\nq;\n",
    "# Query_time: 1\nSELECT \"a\\\"\n# Time: 1\n\"\u00a0\u3000\n# Query_time: 2\nq\n",
    "# Query_time: 1\nuse ;\nSET timestamp=;\nSELECT `a\n# Query_time: 9\n` /* x\n# Time: y */ -- '\n'",
    "#\n#\n#\n# administrator command: Quit;\n# Query_time: 1\n# administrator command: Quit;\n",
    "# Query_time: 1\nSELECT 'x, Version: 1 started with:\nTcp port: 1\nTime\n Id\u3000Command\tArgument\n';\n",
    "a, Version: b started with: started with:\nTime Id Command Argument",
    "# Query_time: 1\n, Version: started with:\n, Version: started with:\nTcp port:",
    "# Query_time: 1e3  Lock_time: NaN Rows_sent: 1_0  Rows_examined: \u0661\nq;\n"
    "# Query_time: 0.1  Lock_time: .5 Rows_sent: 9223372036854775807  Rows_examined: 123456789012345678\nq;\n"
    "# Query_time: 12345678901234567890123456789.5  Lock_time: 1. Rows_sent: +1  Rows_examined: -1\nq;\n",
    "\ud800# Query_time: 1\n\udfff;\n",  # lone surrogates (never in decoded input): no error
])
def test_edge_cases_as_the_regex(text):
    check(text)


# ---- hypothesis: logs from the format's own pieces, and arbitrary text --------------------------
PIECES = st.sampled_from([
    "# Time: 231201 10:00:00\n", "# Time: 2023-12-01T10:00:00.123456Z\n", "# Time: ", "# Time: x ",
    "# User@Host: app[app] @ localhost [127.0.0.1]  Id: 7\n", "# User@Host: ", " # User@Host: u[u] @ h []\n",
    "# Thread_id: 3  Schema: shop  QC_hit: No\n", "# Schema: x\n", "# Client: 1.2.3.4:5\n",
    "# Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 10\n",
    "# Query_time: 1e3  Lock_time: -0 Rows_sent: 007  Rows_examined: 1234567890123456789\n",
    "# Query_time: 0.000070  Lock_time: NaN  Rows_sent: \u0661  Rows_examined: 1_0\n",
    "# Query_time: 1.5  Lock_time: 0.0 Rows_sent: 0  Rows_examined:\t3 Rows_affected: 1\n",
    "# Query_time: 1\n", "# Query_time: ", "# Query_time:  2\n", "Lock_time: 1\n", " Rows_sent: 2 ",
    "Rows_examined: 3\n", "# Rows_affected: 0  Bytes_sent: 11\n", "# explain: id\tselect_type\n",
    "use shop;\n", "use `a;b`;\n", "use x", "SET timestamp=1700000000;\n", "SET timestamp=17a;\n",
    "SELECT 1;\n", "SELECT 'a;\n", "it''s\n", "SELECT \"x\\\"\n", "`q\n", "/* c\n", "*/\n", "-- '\n",
    "'\n", "\"\n", ";\n", "\n", " \n", "# administrator command: Quit;\n", "#\n", "# just a comment\n",
    "garbage\n", "/usr/sbin/mariadbd, Version: 10.11 (Debian). started with:\n", "Tcp port: 3306\n",
    "Time\t\t    Id Command\tArgument\n", "Time Id Command Argument", ", Version: ", "started with:", "\x00", "\u00e9", "\u2028", "\u00a0", "\u0661", "\t", " ", "\\", "'", '"', "#", "\n",
])


@given(st.lists(PIECES, max_size=40), st.integers(1, 10**6))
def test_built_logs_as_the_regex(pieces, first_line):
    check("".join(pieces), first_line)


@given(st.lists(st.sampled_from(list("#\n ;'\"`\\/*-:TQU\t\u00a0\u2003\x00eé") +
                                         ["# Query_time: ", "# Time: ", "# User@Host: ", "use ", "SET timestamp=",
                                          "Lock_time: ", "Rows_sent: ", "Rows_examined:", ADMIN, "1", ", Version: ",
                                          "started with:", "Tcp port:", "Time Id Command Argument"]),
               max_size=60).map("".join))
def test_piece_soup_as_the_regex(text):
    check(text)


@given(st.text(max_size=200))
def test_arbitrary_text_as_the_regex(text):
    check(text)


def test_no_leak_over_many_calls():
    text = _text(ROOT / "tests" / "fixtures" / "third_party" / "percona-toolkit" / "slow002.txt") * 20
    for _ in range(50):
        slowlog.scan(text, 1)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1000):
        slowlog.scan(text, 1)
    gc.collect()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 2048  # KiB


def test_bad_arguments_are_type_errors():
    with pytest.raises(TypeError):
        slowlog.scan(b"# Query_time: 1\n")
    with pytest.raises(TypeError):
        slowlog.scan()
