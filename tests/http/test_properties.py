"""Property tests of the access-log readers and the streaming endpoints aggregate (hypothesis;
``HYPOTHESIS_PROFILE=long`` runs many more examples, see tests/helpers/strategies.py).

Logs are built from realistic ``combined`` lines with hostile values mixed in: times of years
9999 / 0000 / other digits / a month that is none (the line is skipped, with the reason),
1700 (kept), statuses and sizes beyond int64 or ``-`` (null, the line kept), escapes and control
characters in the request and the user agent, and lines that are no request.

The accounting holds ``lines_read == records + lines_skipped`` (one request per line); here
both are checked against what the log was built from. ``endpoints(path)`` streams the file in
one process or in byte ranges read by two worker processes, in small and large chunks, and
gives the table of ``endpoints(read_access_log(path))``; a gzip copy reads the same; a log cut
at a line boundary reads as the whole.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SAMPLES
from helpers.strategies import CONTROL, compressed, few, json_lines, json_values, mutated, words
from hypothesis import assume, given
from hypothesis import strategies as st

import toolkit as tk
from toolkit.errors import LogFormatError, ToolkitError
from toolkit.http.endpoints import endpoints

pytestmark = pytest.mark.properties

GOOD_TIME_YEARS = ("2026", "1700", "2261")
BAD_TIME = ("9999", "0000", "1677", "\u0662\u0660\u0662\u0666")
BIG = "99999999999999999999"  # beyond int64: null


@st.composite
def access_lines(draw):
    """``(line, good, status or None)`` tuples."""
    out = []
    for _ in range(draw(st.integers(1, 15))):
        if draw(st.integers(0, 7)) == 0:
            out.append((draw(st.sampled_from(["garbage", "", "\x00\x00", '1.2.3.4 - - [x] "GET / HTTP/1.1" 200 1'])),
                        False, None))
            continue
        year = draw(st.sampled_from(GOOD_TIME_YEARS + BAD_TIME))
        month = draw(st.sampled_from(["Nov", "Nov", "Nov", "Foo"]))
        good = year in GOOD_TIME_YEARS and month != "Foo"
        status = draw(st.sampled_from(["200", "404", "500", "301", BIG, "-"]))
        size = draw(st.sampled_from(["0", "29", "5120", BIG, "-"]))
        path = draw(st.sampled_from(["/api/users/", "/api/orders/", "/static/app.js?v=", "/search?q=\\x22"]))
        path += str(draw(st.integers(0, 50)))
        agent = draw(words()) + draw(st.sampled_from(("",) + CONTROL)).replace("\t", "")
        line = (f'10.0.0.{draw(st.integers(1, 9))} - - [26/{month}/{year}:05:15:{draw(st.integers(10, 59))} +0000] '
                f'"{draw(st.sampled_from(["GET", "POST"]))} {path} HTTP/1.1" {status} {size} "-" "{agent}"')
        out.append((line, good, int(status) if status.isdigit() and status != BIG else None))
    return out


def shaped(lines) -> bool:
    """Whether some line has the combined shape (its time good or not): else the explicit
    format matches no line, and reading a line that is no request is a LogFormatError."""
    return any(line.startswith("10.0.0.") for line, *_ in lines)


def text_of(lines) -> bytes:
    return "".join(line + "\n" for line, *_ in lines).encode("utf-8", "surrogatepass")


@given(lines=access_lines(), kind=st.sampled_from(["gz", "zst"]))
def test_access_log_accounts_for_every_line_and_keeps_only_good_times(lines, kind):
    data = text_of(lines)
    if not shaped(lines) and any(line.startswith(("garbage", "1.2.3.4")) for line, *_ in lines):
        with pytest.raises(LogFormatError, match="no line matches log format 'combined'.* line [0-9]+ is "):
            tk.read_access_log(data, log_format="combined")
        return
    df = tk.read_access_log(data, log_format="combined")
    src = df.attrs["source"]
    good = [status for _, ok, status in lines if ok]
    # THEN one request per line with a time that can be held, the others skipped with a reason
    assert src["lines_read"] == len(lines) == src["records"] + src["lines_skipped"]
    assert src["records"] == len(good) == len(df)
    assert [None if pd.isna(v) else int(v) for v in df["status"]] == good
    assert set(df["timestamp"].dt.year.astype(str)) <= set(GOOD_TIME_YEARS)
    assert set(src["skip_reasons"]) <= {"timestamp is outside the years 1678-2261", "timestamp is not a valid time",
                                        "empty line", "binary data (NUL bytes)", "does not match log format 'combined'"}
    # AND a compressed copy reads the same
    pd.testing.assert_frame_equal(tk.read_access_log(compressed(data, kind), log_format="combined"), df)


@given(lines=access_lines(), cut=st.integers(0, 15))
def test_access_log_cut_at_a_line_reads_as_the_whole(lines, cut):
    assume(all(shaped(part) for part in (lines[:cut], lines[cut:]) if part))  # (else: LogFormatError)
    whole = tk.read_access_log(text_of(lines), log_format="combined")
    a, b = text_of(lines[:cut]), text_of(lines[cut:])
    parts = [tk.read_access_log(x, log_format="combined") for x in (a, b) if x]
    if len(parts) == 2:
        parts[1]["source_line"] += a.count(b"\n")
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole, check_dtype=False)


@few(6)
@given(lines=access_lines())
def test_endpoints_streamed_in_ranges_and_chunks_give_the_tables_of_the_reader(tmp_path_factory, lines):
    assume(shaped(lines))
    path = tmp_path_factory.mktemp("http") / "access.log"
    path.write_bytes(text_of(lines))
    requests = tk.read_access_log(path, log_format="combined")
    ref = endpoints(requests)
    for jobs, chunk in ((1, 1 << 20), (1, 64), (2, 64)):
        got = endpoints(path, log_format="combined", jobs=jobs, chunk_size=chunk)
        pd.testing.assert_frame_equal(got, ref)
        src = got.attrs["source"]
        assert (src["lines_read"], src["records"], src["lines_skipped"], src["skip_reasons"]) == (
            len(lines), len(requests), requests.attrs["source"]["lines_skipped"],
            requests.attrs["source"]["skip_reasons"])


@given(objs=st.lists(st.fixed_dictionaries({
    "time": st.one_of(st.just("2026-11-26T05:15:40+00:00"), st.just("9999-11-26T05:15:40+00:00"), json_values()),
    "status": st.one_of(st.just("200"), st.just(404), json_values()),
    "request": st.one_of(st.just("GET /api/users/1 HTTP/1.1"), json_values()),
    "request_time": st.one_of(st.just("0.012"), st.just(0.5), json_values()),
    "msec": st.one_of(st.just("1795670140.346"), st.just("99999999999999"), json_values())}), max_size=8))
def test_json_lines_of_any_json_types_count_every_line(objs):
    try:
        df = tk.read_access_log(json_lines(objs), format="access-json")
    except ToolkitError:
        return
    src = df.attrs["source"]
    assert src["lines_read"] == len(objs) == src["records"] + src["lines_skipped"]
    assert df["status"].dropna().between(-(2 ** 63), 2 ** 63 - 1).all()
    # the time ($msec, the best of the fields): exact to the millisecond, or the line skipped
    stamps = dict(zip(df["source_line"], df["timestamp"], strict=True))
    for line, obj in enumerate(objs, 1):
        if obj["msec"] == "1795670140.346":
            assert stamps[line] == pd.Timestamp("2026-11-26 05:15:40.346", tz="UTC")
        elif obj["msec"] == "99999999999999":
            assert line not in stamps


@pytest.mark.parametrize("name", ["nginx/combined.log.gz", "nginx/access.jsonl.gz", "apache/common.log"])
@given(data=st.data())
def test_damaged_logs_and_any_bytes_give_tables_or_a_toolkit_error(name, data):
    real = b"\n".join(tk.sources.open_source(SAMPLES / "http" / name).read_bytes().split(b"\n")[:60])
    damaged = data.draw(st.one_of(mutated(real), st.binary(max_size=300)))
    for options in ({"log_format": "combined"}, {"log_format": "common"}, {"format": "access-json"}, {}):
        try:
            df = tk.read_access_log(damaged, **options)
        except ToolkitError:
            continue
        src = df.attrs["source"]
        assert src["lines_read"] == src["records"] + src["lines_skipped"]
