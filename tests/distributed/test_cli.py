"""`perf-toolkit analyze --engine dask`: a local cluster for the run, its dashboard link said,
the same inputs' counts as the pandas engine; the Dask options refused without the engine."""

from __future__ import annotations

import gzip
import shutil

import pytest

from toolkit.cli import main

pytest.importorskip("distributed")


def test_analyze_on_a_local_cluster_reads_what_pandas_reads(tmp_path, samples, capsys):
    # GIVEN an uncompressed PostgreSQL log above the streaming size given
    log = tmp_path / "postgresql.log"
    with gzip.open(samples / "queries/postgresql/app/postgresql.log.gz", "rb") as fh, open(log, "wb") as out:
        shutil.copyfileobj(fh, out)
    # WHEN analysed on a one-worker local cluster, and by pandas
    assert main(["analyze", str(log), "--engine", "dask", "--jobs", "1", "--stream-mb", "0.01",
                 "--no-report"]) == 0
    on_dask = capsys.readouterr()
    assert main(["analyze", str(log), "--stream-mb", "0.01", "--no-report", "-q"]) == 0
    local = capsys.readouterr()
    # THEN the cluster and its dashboard are named, Dask's progress bar ran, and the summary
    # (408 records read from the log) is the pandas engine's
    assert "Dask: a local cluster of 1 worker process(es); dashboard: http://" in on_dask.err
    assert "100% Completed" in on_dask.err
    assert "postgres-stderr: 408 record(s)" in on_dask.out
    assert on_dask.out.split("\n")[1:] == local.out.split("\n")[1:]  # (the first line has the seconds)


def test_the_cluster_options_need_the_dask_engine(tmp_path, capsys):
    assert main(["analyze", str(tmp_path), "--jobs", "2", "--no-report"]) == 2
    assert "--scheduler and --jobs choose the Dask cluster: add --engine dask" in capsys.readouterr().err
