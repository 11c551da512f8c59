"""pg_events.query_rows works on column arrays and makes its frame once: the compiled stderr
path (columns straight from the scanner, no raw-records frame) and the full scan (a raw-records
frame) give the same query_events, dtypes included, on the sample logs (log_statement pairs,
auto_explain plans, extended and simple protocol)."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.queries.pg_events import QUERY_RAW, query_rows, raw_frame, row_flags
from toolkit.queries.pg_stderr import StderrParser, stderr_prefix
from toolkit.sources import Accounting, open_source

LOGS = sorted(Path(__file__).parents[2].glob("sample_traces/queries/postgresql/*/postgresql.log.gz"))


def _parser_text(path):
    src = open_source(path)
    parser = StderrParser(stderr_prefix(src, None), str(path), None)
    return parser, gzip.decompress(path.read_bytes()).decode()


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.parent.name)
def test_compiled_path_equals_full_scan(path):
    from toolkit.queries.pg_events import split_checked

    parser, text = _parser_text(path)
    fast = parser.parse_queries(text, 1)
    assert fast is not None
    acc = Accounting(path=str(path))
    full = split_checked(parser.parse(text, 1, acc, lean=True), acc, server=False, english=True)
    pd.testing.assert_frame_equal(fast[0], full[0], check_exact=True)
    assert fast[1] == full[2]["query_events"]
    q = fast[0]
    assert len(q) > 20 and set(q["kind"]) <= {"statement", "parse", "bind", "execute", "duration", "plan"}
    # the dtypes the frame has always had: kind as pandas' inferred text dtype, the other text
    # columns object, source_line int64
    assert isinstance(q["kind"].dtype, pd.StringDtype)
    for c in ("statement", "session", "user", "database", "parameters", "plan"):
        assert q[c].dtype == object, c
    assert q["source_line"].dtype == np.int64 and q["duration_ms"].dtype == np.float64


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.parent.name)
def test_query_rows_frame_or_columns(path):
    parser, text = _parser_text(path)
    raw = parser.parse(text, 1, Accounting(path=str(path)), lean=True)
    is_log, has_dur, has_verb = row_flags(raw)
    rows = raw[is_log & (has_dur | has_verb)].reset_index(drop=True)
    frame = rows[list(QUERY_RAW)]
    columns = {c: frame[c].array if c == "timestamp" else frame[c].to_numpy() for c in QUERY_RAW}
    a, lines_a = query_rows(frame.copy())
    b, lines_b = query_rows(columns)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert lines_a == lines_b == int(frame["nlines"].sum())  # every line of these records kept


def test_plans_attached_and_log_statement_paired():
    # a log_statement line, its duration-only line; a timed statement, its auto_explain plan after
    cols = {
        "source_line": [1, 2, 3, 4], "nlines": [1, 1, 1, 3],
        "timestamp": pd.DatetimeIndex(["2026-11-26 05:09:21"] * 4).tz_localize("UTC"),
        "session": ["a", "a", "b", "b"], "user": ["u"] * 4, "database": ["d"] * 4,
        "application": [""] * 4, "client": ["[unknown]"] * 4,
        "dur": ["", "1.5", "2.0", "1.0"], "verb": ["statement", "", "execute", "plan"],
        "message": ["select 1", "", "select 2", "\nQuery Text: select 2\nResult  (cost=0.00..0.01 rows=1 width=4)"],
        "parameters": [None] * 4,
    }
    frame = raw_frame(cols)[list(QUERY_RAW)]
    q, lines = query_rows(frame)
    assert lines == 6
    assert q["statement"].tolist() == ["select 1", "select 2"]
    assert q["duration_ms"].tolist() == [1.5, 2.0]
    assert q["source_line"].tolist() == [1, 3]
    assert q["plan"].tolist()[0] is None and q["plan"].tolist()[1].startswith("Query Text: select 2")
    assert q["application"].tolist() == [None, None] and q["client"].tolist() == [None, None]
