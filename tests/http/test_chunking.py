"""The access-log tables never depend on where the log was cut or on the workers (hypothesis).

One scanner (toolkit/http/scanner.py) reads every piece of text; these tests hold it to the rule
that the pieces do not matter: ``read_access_log`` gives the same table, row for row, and
``endpoints(path)`` the same endpoint table and accounting, for pieces of 97 bytes (about a line),
4 KiB, 64 KiB, 16 MiB and the whole file, in one process and in two worker processes reading
byte ranges.

Logs are built from real lines of the nginx sample (the custom ``perf`` log_format with timings,
and its JSON-lines twin) with hostile values put in: escaped control characters and quotes in
the path and the user agent, user agents of 5-70 KB (longer than the small pieces), statuses
beyond int64 or ``-``, times in the year 9999 (the line skipped), CRLF endings, blank lines,
garbage and NUL bytes; JSON objects lose keys (whole pieces of the log may lack a column) and
get values of other JSON types.
"""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from helpers.nginx import NGINX_SAMPLES, PERF_FORMAT
from helpers.strategies import CONTROL, few, hostile_text
from hypothesis import given
from hypothesis import strategies as st

import toolkit as tk

pytestmark = pytest.mark.properties

PIECES = (97, 4 << 10, 64 << 10, 16 << 20, 1 << 30)  # the last: the whole file in one piece
PERF_LINES = gzip.decompress((NGINX_SAMPLES / "access.log.gz").read_bytes()).decode("utf-8", "replace").splitlines()[:400]
JSON_OBJECTS = [json.loads(line) for line in
                gzip.decompress((NGINX_SAMPLES / "access.jsonl.gz").read_bytes()).decode("utf-8", "replace").splitlines()[:400]]
BIG = "99999999999999999999"  # beyond int64: null, the line kept


def nginx_escaped(text: str) -> str:
    """``text`` as nginx's default escaping writes it: ``"``, ``\\`` and bytes outside
    0x20-0x7E as ``\\xHH``."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b not in (0x22, 0x5C) else f"\\x{b:02X}"
                   for b in text.encode("utf-8", "surrogatepass"))


@st.composite
def perf_logs(draw) -> tuple[bytes, int]:
    """(log bytes, lines that must be rows): real ``perf`` lines with hostile values."""
    lines, good = [], 0
    for _ in range(draw(st.integers(1, 40))):
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["", "garbage", "\x00\x00", " ", '1.2.3.4 - - [x] "GET /"'])))
            continue
        line = draw(st.sampled_from(PERF_LINES))
        head, request, rest = line.split('"', 2)[0], line.split('"', 2)[1], line.split('"', 2)[2]
        if draw(st.booleans()):  # an escaped path and query
            method, target, proto = request.split(" ")
            request = f"{method} {target}/{nginx_escaped(draw(hostile_text()))}?q={nginx_escaped(draw(hostile_text()))} {proto}"
        status, size, rest = rest.lstrip(" ").split(" ", 2)
        status = draw(st.sampled_from([status, status, "-", BIG, "503"]))
        size = draw(st.sampled_from([size, size, "-", BIG]))
        referer, agent, tail = rest.split('"', 1)[1].split('"', 1)[0], *rest.split('"', 4)[3:5]
        choice = draw(st.integers(0, 4))
        if choice == 0:
            agent = nginx_escaped(draw(hostile_text()) + draw(st.sampled_from(CONTROL)))
        elif choice == 1:
            agent = "A" * draw(st.sampled_from([5_000, 70_000]))
        bad_time = draw(st.integers(0, 9)) == 0
        if bad_time:  # both time fields: $msec is the line's time, $time_local too
            head = head.replace("/2026:", "/9999:")
            tail = tail.replace("msec=17", "msec=9999999999999")
        line = f'{head}"{request}" {status} {size} "{referer}" "{agent}"{tail}'
        good += not bad_time
        lines.append(line)
    endings = [draw(st.sampled_from(["\n", "\n", "\r\n"])) for _ in lines]
    text = "".join(line + end for line, end in zip(lines, endings, strict=True))
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line break after the last line
    return text.encode("utf-8", "surrogatepass"), good


@st.composite
def json_logs(draw) -> tuple[bytes, int]:
    """(log bytes, lines that must be rows): real JSON lines, keys dropped, values replaced."""
    lines, good = [], 0
    keys = list(JSON_OBJECTS[0])
    for _ in range(draw(st.integers(1, 40))):
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["", "[1, 2]", "{not json", "\x00", "  "])))
            continue
        obj = dict(draw(st.sampled_from(JSON_OBJECTS)))
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            if key not in ("time", "msec"):
                del obj[key]
        for key in draw(st.lists(st.sampled_from(["request", "status", "http_user_agent", "request_time",
                                                  "body_bytes_sent", "upstream_response_time"]), max_size=2)):
            obj[key] = draw(st.one_of(hostile_text(), st.integers(-5, 10**20), st.floats(0, 10),
                                      st.just("A" * 70_000), st.none()))
        lines.append(json.dumps(obj))
        good += 1
    text = "".join(line + draw(st.sampled_from(["\n", "\r\n"])) for line in lines)
    return text.encode("utf-8", "surrogatepass"), good


def check_pieces_do_not_matter(folder, name: str, log: tuple[bytes, int], **options) -> None:
    """WHEN the log is read in pieces of every size THEN each gives the whole-file table row for
    row, and its accounting; every line is a row or a skip, the good ones rows."""
    data, good = log
    path = folder.mktemp("http") / name
    path.write_bytes(data)
    lines = len(data.replace(b"\r\n", b"\n").splitlines())
    whole = tk.read_access_log(path, chunk_size=PIECES[-1], **options)
    src = whole.attrs["source"]
    assert (src["lines_read"], src["records"]) == (lines, good)
    assert src["records"] + src["lines_skipped"] == lines
    for size in PIECES[:-1]:
        got = tk.read_access_log(path, chunk_size=size, **options)
        pd.testing.assert_frame_equal(got, whole)
        assert got.attrs["source"] == src


@given(log=perf_logs())
def test_a_custom_format_reads_the_same_in_any_pieces(tmp_path_factory, log):
    # GIVEN a log in nginx's perf format (timings, upstream lists, cache status) with hostile lines
    check_pieces_do_not_matter(tmp_path_factory, "perf.log", log, log_format=PERF_FORMAT)


@given(log=json_logs())
def test_json_lines_with_missing_keys_read_the_same_in_any_pieces(tmp_path_factory, log):
    # GIVEN JSON lines whose keys come and go (a 4 KiB piece may lack a column the file has)
    check_pieces_do_not_matter(tmp_path_factory, "access.jsonl", log, format="access-json")


def check_endpoints_do_not_depend_on_pieces_or_workers(path, **options) -> None:
    reference = tk.endpoints(path, jobs=1, chunk_size=PIECES[-1], **options)
    assert reference["requests"].sum() == reference.attrs["source"]["records"]
    for jobs in (1, 2):
        for size in PIECES:
            got = tk.endpoints(path, jobs=jobs, chunk_size=size, **options)
            pd.testing.assert_frame_equal(got, reference)  # the examples and the row order too
            assert got.attrs["source"] == reference.attrs["source"]
    # AND the streamed table is the table of the DataFrame
    read = {"log_format": options["log_format"]} if options["log_format"] else {"format": "access-json"}
    pd.testing.assert_frame_equal(reference, tk.endpoints(tk.read_access_log(path, **read)))


@few(4)
@given(log=perf_logs())
def test_endpoints_of_a_custom_format_do_not_depend_on_pieces_or_workers(tmp_path_factory, log):
    path = tmp_path_factory.mktemp("http") / "perf.log"
    path.write_bytes(log[0])
    check_endpoints_do_not_depend_on_pieces_or_workers(path, log_format=PERF_FORMAT)


@few(3)
@given(log=json_logs())
def test_endpoints_of_json_lines_do_not_depend_on_pieces_or_workers(tmp_path_factory, log):
    path = tmp_path_factory.mktemp("http") / "access.jsonl"
    path.write_bytes(json.dumps(JSON_OBJECTS[0]).encode() + b"\n" + log[0])  # detected from its first line
    check_endpoints_do_not_depend_on_pieces_or_workers(path, log_format=None)
