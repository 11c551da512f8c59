"""The compiled scanner (:mod:`toolkit.native.accesslog`) gives the batches the line regex gives.

The scanner tokenizes every line of a text access log in C (:func:`toolkit.http.scanner.native_lines`)
and leaves to the line regex only the lines it flags undecided. The oracle here is the regex
alone: every line flagged undecided (:func:`_regex_only`), so the scanner's own slow path (the
line regex, then the backslash-aware retry) reads it all, as the scanner did before the C pass.
These tests read every sample, the third-party corpus and the hand-made fixtures both ways, and
generated lines with quotes, backslashes, spaces, brackets, empty fields and ``-`` in every field,
and require the same rows, values, dtypes, line numbers and accounting (skip reasons and examples).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit as tk
from toolkit.http import scanner
from toolkit.http.accesslog import compile_format, format_of
from toolkit.http.logformat import compile_log_format

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "third_party"
TIMED = ('$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time '
         '$upstream_response_time $upstream_cache_status "$http_referer" "$http_user_agent"')


def _text_logs() -> list[tuple[str, Path, str | None]]:
    """(id, path, log_format or None for auto-detection) of every text access log we hold (JSON
    lines have no tokenizer to choose)."""
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    logs = [(name, CORPUS / name, None) for name, entry in manifest.items()
            if entry.get("format") in ("combined", "common") and "refused" not in entry]
    logs += [(p.name, p, None) for p in sorted((ROOT / "tests" / "fixtures" / "http").glob("*.log"))]
    logs += [("nginx/combined.log.gz", NGINX_SAMPLES / "combined.log.gz", None),
             ("nginx/access.log.gz", NGINX_SAMPLES / "access.log.gz", PERF_FORMAT)]
    logs += [(f"apache/{p.name}", p, None) for p in sorted((ROOT / "sample_traces" / "http" / "apache").glob("*.log"))]
    return logs


LOGS = _text_logs()


def _regex_only(fmt, text):
    """The oracle: every line undecided, so the line regex (and its tolerant retry) reads it."""
    text = text[:-1] if text.endswith("\n") else text  # (a final line break ends the last line)
    n = text.count("\n") + 1
    return scanner.NativeLines(n, np.full(n, scanner.UNDECIDED, dtype=np.uint8),
                               {g: scanner.Coded(np.full(n, -1, dtype=np.int64), np.empty(0, dtype=object))
                                for g in fmt.groups[:-1]}, text.split("\n"))


def _read_both(monkeypatch, read):
    """``read()`` with the regex alone (the oracle), then with the compiled scanner."""
    with monkeypatch.context() as m:
        m.setattr(scanner, "native_lines", _regex_only)
        by_regex = read()
    return by_regex, read()


@pytest.mark.parametrize("path,log_format", [(p, f) for _, p, f in LOGS], ids=[i for i, _, _ in LOGS])
def test_read_access_log_is_the_same_table_as_the_regex_reads(monkeypatch, path, log_format):
    # GIVEN a real access log
    # WHEN it is read with the regex alone and with the compiled scanner, in 4 KiB and whole pieces
    for chunk in (4096, 1 << 24):
        by_regex, by_c = _read_both(
            monkeypatch, lambda chunk=chunk: tk.read_access_log(path, log_format=log_format, chunk_size=chunk))
        # THEN the tables, their dtypes and the accounting (skip reasons, examples) are equal
        pd.testing.assert_frame_equal(by_regex, by_c, check_exact=True)
        assert by_regex.attrs["source"] == by_c.attrs["source"]


@pytest.mark.parametrize("path,log_format", [(p, f) for _, p, f in LOGS], ids=[i for i, _, _ in LOGS])
def test_endpoints_from_a_file_are_the_same_as_the_regex_reads(monkeypatch, path, log_format):
    by_regex, by_c = _read_both(monkeypatch, lambda: tk.endpoints(path, log_format=log_format, jobs=1))
    pd.testing.assert_frame_equal(by_regex, by_c, check_exact=True)
    assert by_regex.attrs["source"] == by_c.attrs["source"]


def test_the_compiled_scanner_decides_every_line_of_the_samples():
    # GIVEN nginx's combined sample and Apache's (its own escaping) (so the equality above is not
    # the regex's work relabelled)
    for path, log_format in ((NGINX_SAMPLES / "combined.log.gz", "combined"),
                             (ROOT / "sample_traces" / "http" / "apache" / "combined.log", None)):
        src, fmt = format_of(path, log_format)
        text = src.read_text().rstrip("\n")
        lines = text.split("\n")
        # WHEN the compiled scanner reads the whole log
        got = scanner.native_lines(fmt, text)
        # THEN it decides every line (none left to the regex), and a matched line's values are
        # the strings the regex captures
        assert got.nlines == len(lines) and not (got.status == scanner.UNDECIDED).any()
        matched = np.flatnonzero(got.status == scanner.MATCHED)
        assert len(matched) > 0.9 * len(lines)
        for i in matched[:: max(1, len(matched) // 300)].tolist():
            m = fmt.pattern.fullmatch(lines[i]) or fmt.tolerant().pattern.fullmatch(lines[i])
            assert m is not None and m.group("_line") is None
            for g, col in got.columns.items():
                assert col.uniques[col.codes[i]] == m.group(g), (g, lines[i])


def test_every_format_logformat_writes_has_atoms():
    # GIVEN formats of every value pattern: bare and quoted strings, numbers, lists, times of
    # three kinds, two variables back to back, Apache's %t, endpoints' joined status and size
    for fmt in (compile_format("combined"), compile_format(TIMED), compile_format("main"),
                compile_log_format("$msec $time_iso8601 $request_time $upstream_addr $host$request_uri"),
                compile_log_format('$remote_addr "$request" $status', escape="json"),
                compile_format("combined").only({"path", "status", "body_bytes_sent"}, joined=True),
                format_of(ROOT / "sample_traces" / "http" / "apache" / "combined.log", None)[1]):
        # THEN the compiled scanner reads it (no format is left to the regex alone)
        assert fmt.atoms is not None, fmt.source
        assert {a[2] for a in fmt.atoms} - {-1} == set(range(len(fmt.groups) - 1))


# ----------------------------------------------------------------------------- generated lines

_ALPHABET = st.sampled_from(list('abcXYZ019.:/,-[]"\\ \t?=&%') + ["é", "\x00", "\r", "\x0b", "\u2028", "  "])
_HOSTILE = st.one_of(st.sampled_from(["", "0.010, 0.020", "0.1 : 0.2", "99999999999999999999", "-5", "1.2.3", "0.1,0.2",
                                      "a b", '"', ":"]),
                     st.lists(_ALPHABET, max_size=6).map("".join))
_PLAIN = {"int": ["200", "404", "0", "-"], "bytes_dash": ["0", "5120", "-"], "float": ["0.004", "12", "-"],
          "list": ["0.004", "0.010,", "-"], "str": ["-", "HIT", "curl/8.5", "10.0.0.1"]}
_TIMES = ["26/Nov/2026:05:15:04 +0000", "26/Nov/2026:05:15:05 +0000", "26/Foo/2026:05:15:04 +0000",
          "26/Nov/9999:05:15:04 +0000", "26/Nov/2026:05:15:04", "x y"]
_REQUESTS = ["GET /a?x=1 HTTP/1.1", "POST /b HTTP/2.0", "GET /c", "-", "GET /q?s=\\x22a\\x22 HTTP/1.1",
             'GET /x\\"y HTTP/1.1', "GET /d?=é HTTP/1.1"]


@st.composite
def _log(draw, fmt):
    """A piece of log in ``fmt``: lines built from its own layout with plain values, in some one
    value drawn from hostile text (quotes, backslashes, spaces, brackets, CR, NUL, lists,
    empty), some then mangled (a quote, space, bracket or line break removed or added), plus
    empty, garbage and byte-order-marked lines."""
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        hostile = draw(st.integers(-1, 3 * len(fmt.fields)))  # which value (most lines: none)
        parts = []
        fi = 0
        for t, v in fmt.tokens:
            if t == "lit":
                parts.append(v)
                continue
            kind = fmt.fields[fi].kind
            if fi == hostile:
                parts.append(draw(_HOSTILE))
            elif kind == "time_local":
                parts.append(draw(st.sampled_from(_TIMES)))
            elif kind == "request":
                parts.append(draw(st.sampled_from(_REQUESTS)))
            else:
                parts.append(draw(st.sampled_from(_PLAIN.get(kind, _PLAIN["str"]))))
            fi += 1
        line = "".join(parts)
        if draw(st.integers(0, 5)) == 0:
            at = draw(st.integers(0, len(line)))
            op = draw(st.sampled_from(['"', " ", "[", "]", "\\", "", "\n"]))
            line = line[:at] + op + line[at + 1:] if draw(st.booleans()) else line[:at] + op + line[at:]
        lines.append(draw(st.sampled_from([line] * 6 + ["", "garbage", "\ufeff" + line])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


def _same_batches(fmt, text):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(scanner, "native_lines", _regex_only)
        a = scanner.scan_text(fmt, 7, text)
    b = scanner.scan_text(fmt, 7, text)
    assert (a.first, a.lines, a.skips) == (b.first, b.lines, b.skips)
    assert np.array_equal(a.source_line, b.source_line)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a.frame(), b.frame())


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_generated_lines_give_the_batches_the_regex_gives(data):
    # GIVEN lines of combined, of a format with timings and upstream lists, and of a format
    # with a bracketed literal and a quoted time; some mangled
    for fmt in (compile_format("combined"), compile_format(TIMED),
                compile_log_format('$remote_addr [x] "$time_local" $status "$http_user_agent" $request_time'),
                compile_format("combined").only({"path", "status", "body_bytes_sent"}, joined=True)):
        text = data.draw(_log(fmt))
        # WHEN the regex and the compiled scanner scan them THEN the batches are equal, skips included
        _same_batches(fmt, text)
