"""Totals the same to the bit for every chunk size and number of workers (issue #12: "results
never depend on chunking or workers"). A digest's ``total_ms`` and an endpoint's ``total_s`` are
taken from the distinct values and their counts (toolkit.quantiles.counted_sum), not from running
sums, whose last bits follow the order the pieces were added in."""

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
EXACT = ("total_ms", "mean_ms", "pct_total", "p50_ms", "p95_ms", "p99_ms", "max_ms")


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
        for col in EXACT:
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
