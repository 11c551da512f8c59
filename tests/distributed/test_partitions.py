"""Partitions: the cut rules of the local workers, packing of small files, bounded graphs for
10,000 files, and the optional extra (no cluster needed here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolkit.distributed import partitions as P
from toolkit.errors import InputError, MissingDependencyError

pytest.importorskip("dask.dataframe")


def test_pack_groups_small_files_in_order_and_keeps_big_segments_alone():
    # GIVEN segments of 10, 10, 30 and 5 bytes
    segs = [P.Segment(name, 0, None, size) for name, size in (("a", 10), ("b", 10), ("c", 30), ("d", 5))]
    # WHEN packed into partitions of about 20 bytes
    parts = P.pack(segs, partition_bytes=20)
    # THEN a and b share one, c (bigger) is alone, d starts the next
    assert [[s.path for s in p] for p in parts] == [["a", "b"], ["c"], ["d"]]


def test_query_logs_are_cut_as_digest_file_cuts_them(tmp_path):
    # GIVEN a 1000-byte file
    path = tmp_path / "x.log"
    path.write_bytes(b"x" * 999 + b"\n")
    # WHEN cut in 3 (the range readers move both ends to record starts)
    # THEN the cuts are size * i // 3, as _digest_parallel's
    assert P.even_cuts(str(path), 3) == [(0, 333), (333, 666), (666, 1000)]


def test_access_logs_are_cut_at_line_starts(tmp_path):
    # GIVEN 10 lines of 10 bytes
    path = tmp_path / "a.log"
    path.write_bytes(b"123456789\n" * 10)
    from toolkit.http.endpoints import byte_ranges
    # WHEN planned with partitions of 30 bytes (4 ranges)
    segs = P.segments([str(path)], lambda p: "combined", lambda p, n, f: byte_ranges(p, n), partition_bytes=30)
    # THEN the even cuts 25, 50, 75 move past the next line break (as endpoints(jobs=) cuts):
    # every range starts at a line start and together they tile the file
    assert [(s.start, s.end) for s in segs] == [(0, 30), (30, 60), (60, 80), (80, 100)]


def test_compressed_files_are_read_whole(samples):
    gz = str(samples / "queries/postgresql/app/postgresql.log.gz")
    segs = P.segments([gz], lambda p: "postgres-stderr", lambda p, n, f: P.even_cuts(p, n), partition_bytes=1000)
    assert [(s.start, s.end) for s in segs] == [(0, None)]


def test_expand_takes_globs_folders_and_refuses_what_matches_nothing(tmp_path):
    (tmp_path / "h1").mkdir()
    (tmp_path / "h1" / "a.log").write_text("x\n")
    (tmp_path / "h1" / ".hidden").write_text("x\n")
    (tmp_path / "b.log").write_text("x\n")
    assert P.expand(str(tmp_path)) == [str(tmp_path / "b.log"), str(tmp_path / "h1" / "a.log")]
    assert P.expand(str(tmp_path / "*" / "*.log")) == [str(tmp_path / "h1" / "a.log")]
    with pytest.raises(InputError, match="no file matches"):
        P.expand(str(tmp_path / "*.csv"))


def test_ten_thousand_files_make_a_bounded_number_of_partitions_and_tasks(tmp_path):
    # GIVEN 10,000 small PostgreSQL logs (one statement each, 100 folders)
    line = "2026-11-26 05:09:21.826 UTC [11999] postgres@app LOG:  duration: 0.250 ms  statement: SELECT {}\n"
    total = 0
    for h in range(100):
        d = tmp_path / f"h{h:03d}"
        d.mkdir()
        for k in range(100):
            text = line.format(h * 100 + k)
            (d / f"{k:03d}.log").write_text(text)
            total += len(text)
    import toolkit as tk
    from toolkit.distributed import reductions

    # WHEN read as one Dask frame with partitions of 64 KiB
    ddf = tk.read_queries(str(tmp_path), format="postgres-stderr", engine="dask", partition_bytes=65536)
    # THEN the files are packed: ceil(total / 64 KiB) partitions, not 10,000
    assert ddf.npartitions == -(-total // 65536)
    # AND the digest's graph has one read, one fold per partition and a tree above them
    root = reductions.plan(ddf, lambda f: None, lambda a, b: a)
    tasks = len(dict(root.__dask_graph__()))
    assert tasks <= 2 * ddf.npartitions + ddf.npartitions // (reductions.SPLIT_EVERY - 1) + 2


def test_without_dask_the_engine_is_a_clear_error(monkeypatch):
    # GIVEN Dask cannot be imported
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    from toolkit.distributed import require
    # WHEN the engine is asked for THEN the error names the extra to install
    with pytest.raises(MissingDependencyError, match=r"perf-toolkit\[dask\]"):
        require()


def test_the_pandas_path_never_imports_dask():
    code = ("import sys, toolkit as tk; "
            "tk.digest(tk.read_queries('sample_traces/queries/mariadb/app-slow.log')); "
            "tk.endpoints(tk.read_access_log('sample_traces/http/nginx/combined.log.gz')); "
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    from conftest import ROOT
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_engine_is_refused():
    import toolkit as tk
    with pytest.raises(ValueError, match="engine must be"):
        tk.read_queries("x.log", engine="spark")


def test_an_fsspec_url_is_read_whole_as_the_local_file_is(samples):
    # GIVEN a slow log behind an fsspec URL (the in-memory filesystem: the threaded scheduler
    # of this process sees it, as workers see s3:// or gs:// with their packages installed)
    import fsspec
    import pandas as pd

    import toolkit as tk
    from toolkit.distributed import frames

    local = samples / "queries/mariadb/app-slow.log"
    with fsspec.open("memory://fleet/db1/slow.log", "wb") as fh:
        fh.write(local.read_bytes())
    # WHEN read with engine="dask" from a glob of URLs
    ddf = tk.read_queries("memory://fleet/*/slow.log", engine="dask")
    got = frames.compute(ddf, scheduler="threads")
    # THEN one file, read whole, gives the local read's rows and accounting
    assert got.attrs["source"]["paths"] == ["memory:///fleet/db1/slow.log"]  # (fsspec's own spelling)
    want = tk.read_queries(local)
    pd.testing.assert_frame_equal(got, want[list(got.columns)])
    assert got.attrs["source"]["lines_read"] == want.attrs["source"]["lines_read"]
