"""Totals the same to the bit for every chunk size and number of workers (issue #12: "results
never depend on chunking or workers"). A digest's ``total_ms`` and an endpoint's ``total_s`` are
taken from the distinct values and their counts (toolkit.quantiles.counted_sum), and a MySQL
log's ``lock_ms`` is summed as whole nanoseconds (toolkit.queries.digest.group_sums), not from
running float sums, whose last bits follow the order the pieces were added in."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import toolkit as tk
from toolkit.queries.digest import digest_file

ROOT = Path(__file__).resolve().parents[2]
LOGS = {"postgres-stderr": ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz",
        "mysql-slow": ROOT / "sample_traces/queries/mariadb/clean-slow.log.gz"}
ACCESS = ROOT / "sample_traces/http/nginx/access.log.gz"  # (with $request_time: perf.log_format)
PERF = "@" + str(ROOT / "sample_traces/http/nginx/perf.log_format")
EXACT = ("total_ms", "mean_ms", "pct_total", "p50_ms", "p95_ms", "p99_ms", "max_ms", "lock_ms",
         "rows_sent", "rows_examined")


def plain(path: Path, tmp_path: Path, copies: int = 3) -> Path:
    """The sample uncompressed (byte ranges need a plain file), repeated to give the ranges work."""
    out = tmp_path / path.name.removesuffix(".gz")
    out.write_bytes(gzip.open(path).read() * copies)
    return out


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_digest_totals_are_the_same_to_the_bit_for_any_chunking_and_workers(tmp_path, fmt):
    # GIVEN a real log, digested whole, in 4 KiB and 64 KiB pieces, on two workers, and as a frame
    path = plain(LOGS[fmt], tmp_path)
    whole = digest_file(path)
    ways = {"4 KiB": digest_file(path, chunk_size=4096), "64 KiB": digest_file(path, chunk_size=1 << 16),
            "2 workers": digest_file(path, workers=2), "frame": tk.digest(tk.read_queries(path))}
    # THEN every time figure is equal bit for bit (not merely close), row for row
    assert whole["calls"].sum() > 100
    for name, got in ways.items():
        assert got["fingerprint"].tolist() == whole["fingerprint"].tolist(), name
        for col in (c for c in EXACT if c in whole.columns):
            a, b = whole[col].to_numpy(float), got[col].to_numpy(float)
            assert np.array_equal(a, b, equal_nan=True), f"{name}: {col} differs in its last bits"


def test_endpoint_totals_are_the_same_to_the_bit_for_any_chunking_and_workers(tmp_path):
    path = plain(ACCESS, tmp_path, copies=5)
    whole = tk.endpoints(str(path), log_format=PERF, jobs=1)
    ways = {"4 KiB": tk.endpoints(str(path), log_format=PERF, jobs=1, chunk_size=4096),
            "2 workers": tk.endpoints(str(path), log_format=PERF, jobs=2, chunk_size=1 << 16),
            "frame": tk.endpoints(tk.read_access_log(str(path), log_format=PERF))}
    assert whole["requests"].sum() > 10_000 and whole["total_s"].notna().all()
    for name, got in ways.items():
        assert got["endpoint"].tolist() == whole["endpoint"].tolist(), name
        for col in ("total_s", "mean_s", "time_pct"):
            assert np.array_equal(whole[col].to_numpy(float), got[col].to_numpy(float), equal_nan=True), \
                f"{name}: {col} differs in its last bits"


def test_lock_time_sums_are_whole_nanoseconds_and_exact():
    from toolkit.queries.digest import group_sums, sum_value

    # GIVEN lock times in ms as a MySQL log gives them (microseconds), in two groups
    v = np.array([0.123, 0.1, 0.2, np.nan, 0.3, 1e-3])
    codes = np.array([0, 1, 1, 1, 1, 0])
    kept = group_sums("lock_ms", v, codes, 2)
    # THEN they are kept in whole nanoseconds, and read back exactly in ms
    assert kept == [124_000, 600_000] and all(isinstance(x, int) for x in kept)
    assert [sum_value("lock_ms", k) for k in kept] == [0.124, 0.6]
    # AND any order of adding gives the same (where a float running sum does not)
    assert (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
    assert group_sums("lock_ms", v[::-1], codes[::-1], 2) == kept
    # AND values beyond what int64 can sum are summed as Python ints, not wrapped
    huge = group_sums("lock_ms", np.array([5e12, 5e12]), np.array([0, 0]), 1)  # (10**19 ns > 2**63)
    assert huge == [10**19] and sum_value("lock_ms", huge[0]) == 1e13
    # AND rows stay floats (whole numbers: exact)
    assert group_sums("rows_sent", np.array([1.0, np.nan, 2.0]), np.array([0, 0, 0]), 1) == [3.0]
