"""The compiled access-log scanner (toolkit/native/accesslog.c) against the rule it replaces.

The rule is the format's line regex (``CompiledFormat.pattern``, ``^(?:FIELDS|(?P<_line>.*))$``):
a line it matches is a row with the strings of its groups, a line it does not match is bad, an
empty line is empty. :func:`toolkit.http.scanner.native_lines` must say the same of every line
of any text (arbitrary characters: NUL, CR, lone surrogate-free Unicode, digits of other
scripts; and lines built from the format's own pieces), for every kind of value pattern; it
may leave a line undecided (to the regex) only where the docstring of the C module says so.
And it must hold its memory: a thousand calls do not grow the process.
"""

from __future__ import annotations

import re
import resource

import numpy as np
import pandas as pd
import pytest
from helpers.strategies import CONTROL
from hypothesis import given
from hypothesis import strategies as st

from toolkit.http import scanner
from toolkit.http.accesslog import compile_format
from toolkit.http.apache import compile_apache_format
from toolkit.http.logformat import LAZY, compile_log_format
from toolkit.native import accesslog as native

TIMED = ('$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time '
         '$upstream_response_time $upstream_cache_status "$http_referer" "$http_user_agent"')
FORMATS = {
    "combined": compile_format("combined"),
    "timed": compile_format(TIMED),
    "joined": compile_format("combined").only({"path", "status", "body_bytes_sent"}, joined=True),
    "times": compile_log_format("$msec $time_iso8601 [$time_local] $request_time $upstream_addr $status"),
    "back_to_back": compile_log_format("$host$request_uri $remote_addr:$remote_port $status"),
    "json_escape": compile_log_format('$remote_addr "$request" $status "$http_user_agent"', escape="json"),
    "quoted_time": compile_log_format('$remote_addr [x] "$time_local" $status "$http_user_agent" $request_time'),
    "tolerant": compile_format("combined").tolerant(),
    "apache": compile_apache_format('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D'),
    "dialect": compile_log_format("$remote_addr $status $request_time $host"),
}


def _oracle(fmt, line: str) -> tuple[int, dict[str, str] | None]:
    """What the line regex says of one line: (status, the groups' strings when it matches)."""
    if line == "":
        return scanner.EMPTY, None
    rows = fmt.pattern.findall(line)
    assert len(rows) == 1
    row = rows[0] if isinstance(rows[0], tuple) else (rows[0],)
    if row[-1] != "" or len(fmt.groups) == 1:
        return scanner.BAD, None
    return scanner.MATCHED, dict(zip(fmt.groups[:-1], row[:-1], strict=True))


def _check(fmt, text: str) -> None:
    got = scanner.native_lines(fmt, text)
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")  # (a final line break ends the last line)
    assert got.nlines == len(lines)
    others = iter(got.others)
    for i, line in enumerate(lines):
        status = int(got.status[i])
        if status != scanner.MATCHED:
            assert next(others) == line
            assert all(col.codes[i] == -1 for col in got.columns.values())
        if status == scanner.UNDECIDED:
            # only a line where a time meets non-ASCII text (Python's \d: any decimal digit),
            # or a long line two lazy values back to back try too many ways to split
            lazy = any(a[0] == LAZY for a in fmt.atoms)
            assert not line.isascii() or (lazy and len(line) > 1000), line[:200]
            continue
        want, groups = _oracle(fmt, line)
        assert status == want, (line[:200], status, want)
        if groups is not None:
            for g, value in groups.items():
                col = got.columns[g]
                assert col.uniques[col.codes[i]] == value, (g, line[:200])
    assert next(others, None) is None
    for col in got.columns.values():  # distinct values are distinct
        assert len(set(col.uniques.tolist())) == len(col.uniques)


_PIECES = st.sampled_from(['"', " ", "[", "]", "\\", "-", ", ", " : ", ":", "/", ".", "+", "Z", "T", "?",
                           "0", "12", "200", "-5", "0.004", "1.2.3", "26/Nov/2026:05:15:04 +0000",
                           "2026-11-26T05:15:04+00:00", "2026-11-26T05:15:04.123Z", "1764134104.123",
                           "GET /a?x=1 HTTP/1.1", "\\x22", '\\"', "\\\\", "curl/8", "\u0663\u0664",
                           "\r", "\x00", "é", "\U0001F600", "\ud800", "\udcff", *CONTROL])


@st.composite
def _shaped(draw, fmt):
    """Lines built from the format's own literals with values drawn from hostile pieces."""
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        parts = []
        for t, v in fmt.tokens:
            if t == "lit":
                parts.append(v if draw(st.integers(0, 15)) else draw(_PIECES))
            else:
                parts.append("".join(draw(st.lists(_PIECES, max_size=4))))
        lines.append("".join(parts))
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(FORMATS))
@given(data=st.data())
def test_each_line_is_what_the_regex_says(name, data):
    fmt = FORMATS[name]
    # GIVEN arbitrary text, or lines made of the format's pieces with hostile values
    text = data.draw(st.one_of(st.text(st.characters(codec=None), max_size=300), _shaped(fmt)))
    # WHEN the compiled scanner reads it THEN each line's status and values are the regex's
    _check(fmt, text)


@pytest.mark.parametrize("name", list(FORMATS))
def test_edge_texts(name):
    fmt = FORMATS[name]
    line = '1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /a HTTP/1.1" 200 29 "-" "curl"'
    for text in ("", "\n", "\n\n", "x", "\x00" * 50, "\r\n" * 3, line, line + "\n", line + "\r",
                 "\n".join([line] * 3), line.replace("200", "2\u0663"), line.replace("26/", "\u0662\u0666/"),
                 "\ufeff" + line, line + " " + "x" * 200_000, '"' * 10_000, "\\" * 10_001):
        _check(fmt, text)


def test_a_line_of_many_candidates_is_left_undecided_not_hung():
    # GIVEN two lazy values back to back and a line no split fits (the regex backtracks a lot)
    fmt = compile_log_format("$host$request_uri$remote_addr!$status")
    text = "a" * 5000
    got = scanner.native_lines(fmt, text)
    # THEN the C pass gives up within its budget (the regex decides it) and stays correct
    assert int(got.status[0]) in (scanner.BAD, scanner.UNDECIDED)
    assert got.others == [text]


def test_bad_arguments_raise_not_crash():
    with pytest.raises(TypeError):
        native.scan(b"bytes", (), 0)
    with pytest.raises(ValueError):
        native.scan("x", ((99, b"", -1, -1),), 0)
    with pytest.raises(ValueError):
        native.scan("x", ((1, b"", 0, 0),), 1)  # an UNTIL without its character
    with pytest.raises(ValueError):
        native.scan("x", ((2, b"", 3, 3),), 1)  # a group beyond ngroups
    with pytest.raises(TypeError):
        native.scan("x", (("a", b"", -1, -1),), 0)
    with pytest.raises(TypeError):
        native.scan("x", compile_format("combined").atoms)  # (ngroups missing)


def test_a_thousand_calls_do_not_grow_the_process():
    fmt = compile_format(TIMED)
    line = ('10.0.0.1 [26/Nov/2026:05:15:04 +0000] "GET /api/{i} HTTP/1.1" 200 512 0.004 0.003 HIT "-" '
            '"agent {i}"')
    text = "\n".join(line.format(i=i) for i in range(2000)) + "\nbad line"
    n = len(fmt.groups) - 1
    for _ in range(50):  # (warm up the allocator)
        native.scan(text, fmt.atoms, n)
    requests = [f"GET /api/{i}?q={i} HTTP/1.1" for i in range(2000)] + ["nope", None]
    column = np.array(requests * 5, dtype=object)
    for _ in range(50):
        native.split_requests(requests, True)
        native.object_codes(column)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1000):
        nlines, status, codes, uniques, others = native.scan(text, fmt.atoms, n)
        native.split_requests(requests, True)
        native.object_codes(column)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert nlines == 2001 and others == ["bad line"] and len(uniques[0]) == 1
    assert np.frombuffer(status, dtype=np.uint8).tolist() == [0] * 2000 + [2]
    assert after - before < 2048  # KiB: a leak of a string a line would be ~100 MB


# ----------------------------------------------------------------------------- request lines

# The rule the C split replaces (toolkit.http.scanner's request grammar as it was a regex)
_TEXT_REQUEST = re.compile(r'([A-Za-z][A-Za-z0-9_-]{0,31}) (((?:[^ "?\\\n]++|\\.)*+)(?:\?((?:[^ "\\\n]++|\\.)*+))?)'
                           r'(?: (HTTP/[0-9.]{1,5}))?')
_JSON_REQUEST = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,31}) (([^ ?]*)(?:\?([^ ]*))?)(?: (HTTP/[0-9.]{1,5}))?")
_REQUEST_PIECES = st.sampled_from(["GET", "POST", "M-SEARCH", "x" * 33, "get_1", "9GET", " ", "  ", "/", "/a", "?", "??",
                                   "=", "&", '"', "\\", "\\x22", '\\"', "\\\\", "\n", "HTTP/1.1", " HTTP/1.1",
                                   " HTTP/2", " HTTP/1.1.1.1", " HTTP/", "é", "\x00", "\r", "%20", "#"])


def _split_oracle(line, grammar):
    if line is None:
        return (None,) * 5 + (False,)
    m = grammar.fullmatch(line)
    if m is None:
        return (None,) * 5 + (True,)
    method, url, path, query, protocol = m.groups()
    return method, url, path, query or None, protocol, False


@given(st.lists(st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
                          st.lists(_REQUEST_PIECES, max_size=8).map("".join)), max_size=30))
def test_request_lines_are_split_as_the_grammar_says(lines):
    for text, grammar in ((True, _TEXT_REQUEST), (False, _JSON_REQUEST)):
        # WHEN the C pass splits them THEN each part is the regex grammar's, malformed where it fails
        got = native.split_requests(lines, text)
        assert len(got[5]) == len(lines)
        for k, line in enumerate(lines):
            want = _split_oracle(line, grammar)
            assert tuple(part[k] for part in got[:5]) + (bool(got[5][k]),) == want, (line, text)


def test_request_split_of_common_lines():
    method, url, path, query, protocol, bad = native.split_requests(
        ["GET /a?x=1 HTTP/1.1", "POST /b HTTP/2.0", "GET /c", "-", "GET /q?s=\\x22a\\x22 HTTP/1.1",
         'GET /x\\"y HTTP/1.1', "GET /d? HTTP/1.0", None], True)
    assert method == ["GET", "POST", "GET", None, "GET", "GET", "GET", None]
    assert path == ["/a", "/b", "/c", None, "/q", '/x\\"y', "/d", None]
    assert url == ["/a?x=1", "/b", "/c", None, "/q?s=\\x22a\\x22", '/x\\"y', "/d?", None]
    assert query == ["x=1", None, None, None, "s=\\x22a\\x22", None, None, None]
    assert protocol == ["HTTP/1.1", "HTTP/2.0", None, None, "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", None]
    assert list(bad) == [0, 0, 0, 1, 0, 0, 0, 0]
    with pytest.raises(TypeError):
        native.split_requests([b"GET / HTTP/1.1"], True)


# ----------------------------------------------------------------------------- shared objects

@given(st.lists(st.one_of(st.none(), st.just(float("nan")), st.sampled_from(["a", "b", "/x", ""]),
                          st.text(max_size=3)), max_size=60), st.booleans())
def test_rows_coded_by_object_give_pandas_groups(values, strided):
    # GIVEN a column whose rows share some objects and repeat some values in other objects
    col = np.empty(len(values) * (2 if strided else 1), dtype=object)
    col[:: 2 if strided else 1] = values
    col = col[:: 2 if strided else 1]  # (a strided view: a table's column may be one)
    # WHEN its rows are coded by object, then the objects by value
    rows, held = native.object_codes(col)
    codes = np.frombuffer(rows, dtype=np.int64)
    distinct = np.empty(len(held), dtype=object)
    distinct[:] = held
    u_codes, uniques = pd.factorize(distinct, use_na_sentinel=True)
    # THEN the rows' groups and their order are pandas' own over the whole column
    want_codes, want_uniques = pd.factorize(col, use_na_sentinel=True)
    assert u_codes[codes].tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)
    assert all(held[c] is col[i] for i, c in enumerate(codes.tolist()))


def test_object_codes_refuses_what_is_not_an_object_column():
    with pytest.raises((TypeError, ValueError, BufferError)):
        native.object_codes(np.arange(3))
    with pytest.raises((TypeError, ValueError, BufferError)):
        native.object_codes(np.empty((2, 2), dtype=object))
    with pytest.raises(TypeError):
        native.object_codes("abc")
    rows, held = native.object_codes(np.empty(0, dtype=object))
    assert len(rows) == 0 and held == []


def test_text_with_lone_surrogates_is_read_not_refused():
    # GIVEN text a Source never gives (it replaces undecodable bytes) but a caller of scan_text may
    fmt = compile_format("combined")
    line = '1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /\ud800?\udfff HTTP/1.1" 200 29 "-" "c\udc80"'
    # WHEN the C pass reads it THEN it matches as the regex does, the values keep their characters
    _check(fmt, line + "\nnope\n\ud800")
    batch = scanner.scan_text(fmt, 1, line + "\nnope\n")
    assert batch.columns["path"].tolist() == ["/\ud800"] and batch.columns["query"].tolist() == ["\udfff"]
    assert batch.columns["user_agent"].tolist() == ["c\udc80"]
    assert batch.skips[0][:2] == (2, "does not match log format 'combined'")
    assert native.split_requests(["GET /\ud800 HTTP/1.1", "\ud800 /"], True)[2] == ["/\ud800", None]
