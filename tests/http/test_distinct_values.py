"""The scanner's per-distinct-value shortcuts give the per-row answers (issue #12's speed work).

The scanner decides what it can once per distinct value (upstream time sums, times) and hands
consumers the codes it has (``Batch.coded``); the readers build their tables from those codes. Each test here holds one shortcut to the plain rule it replaces.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit import schema
from toolkit.http import scanner
from toolkit.http.accesslog import compile_format
from toolkit.http.endpoints import EndpointAccumulator

TIMED = ('$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time '
         '$upstream_response_time $upstream_cache_status "$http_referer" "$http_user_agent"')


def _line(i: int, agent: str, request: str = "GET /api/users/{i}?q={i} HTTP/1.1", upstream: str = "0.004") -> str:
    return (f'10.0.0.{i % 7} [26/Nov/2026:05:{i // 60 % 60:02d}:{i % 60:02d} +0000] "{request.format(i=i)}" '
            f'{200 + (i % 3) * 100} {i * 7} 0.00{i % 10} {upstream} {"HIT" if i % 4 else "MISS"} "-" "{agent}"')


def test_upstream_sums_equal_the_rule_value_by_value():
    # GIVEN single times, lists of both separators, bad and absent values, a negative zero
    values = np.array(["0.004", "-0.000", "1e309", "-", None, "0.1, 0.2", "0.1 : 0.2", "abc", "0.1,0.2",
                       "0.5, -", "12"], dtype=object)

    def rule(u):  # the documented rule, one value at a time
        if u is None:
            return np.nan
        parts = [schema.float_value(p)[0] for p in re.split(r",\s*|\s+:\s+", u)]
        seen = [p for p in parts if p is not None]
        total = schema.float_value(sum(seen))[0] if seen else None
        return np.nan if total is None else total

    # WHEN they are summed at once THEN each is its rule's value (sign of zero included)
    got = scanner._sum_list(values)
    want = np.array([rule(u) for u in values])
    assert np.array_equal(got, want, equal_nan=True)
    assert not np.signbit(got[1])
    assert got.tolist()[:2] == [0.004, 0.0] and got[5] == pytest.approx(0.3) and got[9] == 0.5


def test_coded_columns_are_the_batch_columns():
    # GIVEN a piece with escapes, a malformed request, an upstream list and a line only the
    # backslash-aware retry reads
    lines = [_line(i, "curl/8") for i in range(20_000)]
    lines[5] = _line(5, "curl/8", request="\\x16\\x03\\x01")
    lines[7] = _line(7, 'ok "quoted" agent'.replace('"', '\\"'))
    lines[9] = _line(9, "curl/8", upstream="0.1, 0.2")
    text = "\n".join(lines) + "\n"
    batch = scanner.scan_text(compile_format(TIMED), 1, text)
    # THEN every coded column gives the column's values row by row
    assert {"method", "path", "url", "request", "upstream_cache_status", "user_agent"} <= set(batch.coded)
    for name, coded in batch.coded.items():
        assert np.asarray(coded).tolist() == list(batch.columns[name]), name
    assert batch.columns["malformed"][5] and batch.columns["method"][5] is None and len(batch) == 20_000
    assert batch.columns["user_agent"][7] == 'ok "quoted" agent'


def test_a_table_is_the_same_whether_its_pieces_repeat_values_or_not(tmp_path):
    # GIVEN a log whose first half repeats its agents and whose second half never does (pieces
    # kept as codes, then as strings)
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(_line(i, "curl/8" if i < 3000 else f"agent-{i}") for i in range(6000)) + "\n")
    whole = tk.read_access_log(log, log_format=TIMED, chunk_size=1 << 26)
    assert whole["user_agent"].iloc[[0, 5999]].tolist() == ["curl/8", "agent-5999"]
    # WHEN it is read in small pieces THEN the table is the same, row for row
    for chunk in (4096, 65536):
        pd.testing.assert_frame_equal(tk.read_access_log(log, log_format=TIMED, chunk_size=chunk), whole,
                                      check_exact=True)


def test_endpoints_of_coded_batches_equal_endpoints_of_their_table(tmp_path):
    # GIVEN request lines that share paths and cache statuses (coded by the scanner)
    text = "\n".join(_line(i, "curl/8") for i in range(3000)) + "\n"
    batch = scanner.scan_text(compile_format(TIMED), 1, text)
    from_batch, from_frame = EndpointAccumulator(), EndpointAccumulator()
    from_batch.add(batch)
    from_frame.add(batch.frame())
    # THEN the tables are equal (templating once per path, cache hits per distinct status)
    pd.testing.assert_frame_equal(from_batch.result(), from_frame.result(), check_exact=True)
    table = from_batch.result().set_index("endpoint")
    assert table.loc["/api/users/{id}", "requests"] == 3000
    assert table.loc["/api/users/{id}", "cache_hit_pct"] == pytest.approx(75.0)
    assert table.loc["/api/users/{id}", "errors_4xx_pct"] == pytest.approx(100 / 3)
