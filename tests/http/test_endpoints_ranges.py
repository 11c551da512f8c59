"""tk.endpoints(path, jobs=N) on an uncompressed file: each worker reads its own byte range.

The table, the row order and the accounting (lines, skips with their line numbers, replaced
bytes) must not depend on ``jobs`` or ``chunk_size``.
"""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
from helpers.nginx import NGINX_SAMPLES

import toolkit as tk
from toolkit.errors import ParseError


@pytest.fixture(scope="module")
def messy_log(tmp_path_factory):
    """The combined sample, uncompressed, with an empty line, garbage, NUL bytes, a CRLF line,
    invalid UTF-8 and a malformed request planted at known lines."""
    lines = gzip.decompress((NGINX_SAMPLES / "combined.log.gz").read_bytes()).splitlines(keepends=True)
    planted = [b"\n", b"garbage\n", b"\x00\x00\n",
               lines[0].rstrip(b"\n") + b"\r\n",
               lines[1].replace(b"GET /", b"GET /caf\xff/"),
               b'127.0.0.9 - - [26/Nov/2026:05:15:04 +0000] "-" 400 0 "-" "-"\n']
    body = lines[:700] + planted + lines[700:] + planted
    path = tmp_path_factory.mktemp("http") / "messy.log"
    path.write_bytes(b"".join(body))
    return path, len(body)


def test_byte_ranges_give_the_single_pass_table(messy_log):
    path, nlines = messy_log
    one = tk.endpoints(path, log_format="combined")
    for jobs, chunk_size in ((2, 1 << 24), (2, 40_000), (3, 25_000)):
        split = tk.endpoints(path, log_format="combined", jobs=jobs, chunk_size=chunk_size)
        pd.testing.assert_frame_equal(one, split)
        assert split.attrs["source"] == one.attrs["source"]
    source = one.attrs["source"]
    assert source["lines_read"] == nlines
    assert source["records"] + source["lines_skipped"] == nlines
    assert source["lines_skipped"] == 6  # empty, garbage, NUL bytes: twice each
    assert [s["line"] for s in source["skipped"]][:3] == [701, 702, 703]
    assert source["replaced_bytes"] == 2
    assert one.loc[one["endpoint"] == "(malformed request)", "requests"].sum() >= 2


def test_byte_ranges_raise_on_the_first_bad_line(messy_log):
    path, _ = messy_log
    with pytest.raises(ParseError) as err:
        tk.endpoints(path, log_format="combined", jobs=2, chunk_size=40_000, errors="raise")
    assert err.value.line == 701


def test_the_workers_leave_the_programs_own_gc_freeze_and_their_own_none(messy_log):
    import gc

    path, _ = messy_log
    # GIVEN nothing frozen: the workers' freeze is undone after
    assert gc.get_freeze_count() == 0
    tk.endpoints(path, log_format="combined", jobs=2, chunk_size=40_000)
    assert gc.get_freeze_count() == 0
    # GIVEN a program that froze its objects itself: they stay frozen after
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        tk.endpoints(path, log_format="combined", jobs=2, chunk_size=40_000)
        assert gc.get_freeze_count() == frozen > 0
    finally:
        gc.unfreeze()
