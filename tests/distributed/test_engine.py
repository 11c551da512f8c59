"""The Dask engine on a LocalCluster of 2 worker processes (started once for this module):
the same tables as pandas on every sample and on a generated fleet, and a killed worker's
partitions recomputed to the same digest."""

from __future__ import annotations

import gzip
import os
import shutil
import signal

import pandas as pd
import pytest

import toolkit as tk
from toolkit.distributed import direct, frames
from toolkit.distributed.fleet import make_fleet
from toolkit.http import timeseries
from toolkit.queries.digest import digest_file, digest_stream

distributed = pytest.importorskip("distributed")

QUERY_SAMPLES = ["queries/postgresql/app/postgresql.log.gz", "queries/postgresql/app/postgresql.csv.gz",
                 "queries/postgresql/app-json/postgresql.json.gz", "queries/postgresql/pgbench/postgresql.log.gz",
                 "queries/mariadb/app-slow.log", "queries/mariadb/clean-slow.log.gz"]
HTTP_SAMPLES = ["http/nginx/combined.log.gz", "http/nginx/access.log.gz", "http/nginx/access.jsonl.gz",
                "http/apache/combined.log", "http/apache/common.log", "http/apache/timed.log"]


# Sums over partitions add in another order than one pass: equal to the last few bits
EXACT = {"check_exact": False, "rtol": 1e-12, "atol": 0.0}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def plain(tmp_path_factory, client):
    """Uncompressed copies of a PostgreSQL stderr log, a slow log and an access log (the
    samples): these are cut into byte ranges."""
    from conftest import SAMPLES

    d = tmp_path_factory.mktemp("plain")
    for src, name in (("queries/postgresql/app/postgresql.log.gz", "postgresql.log"),
                      ("queries/postgresql/pgbench/postgresql.csv.gz", "postgresql.csv"),
                      ("queries/postgresql/app/postgresql.json.gz", "postgresql.json"),
                      ("http/nginx/access.log.gz", "access.log")):
        with gzip.open(SAMPLES / src, "rb") as fh, open(d / name, "wb") as out:
            shutil.copyfileobj(fh, out)
    shutil.copy(SAMPLES / "http/nginx/perf.log_format", d / "perf.log_format")
    shutil.copy(SAMPLES / "queries/mariadb/app-slow.log", d / "app-slow.log")
    return d


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, client):
    """Four hosts' logs (the samples, times shifted 37 s per host), host-02 degraded."""
    d = tmp_path_factory.mktemp("fleet")
    make_fleet(d, hosts=4, degraded=2)
    return d


def _same_accounting(got: dict, want: dict) -> None:
    for k in ("lines_read", "records", "lines_skipped"):
        assert got[k] == want[k], k
    assert got["skip_reasons"] == want["skip_reasons"]


def _read_both(read, path: str, **options):
    """pandas' table of ``path`` and its Dask frame, once the computed frame is checked to hold
    pandas' rows (in the Dask frame's columns) and accounting."""
    want = read(path)
    ddf = read(path, engine="dask", **options)
    got = frames.compute(ddf)
    # every column pandas gives, declared up front and in every partition
    assert list(ddf.columns) == list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want)
    _same_accounting(got.attrs["source"], want.attrs["source"])
    return want, ddf


@pytest.mark.parametrize("sample", QUERY_SAMPLES)
def test_query_samples_read_and_digest_as_pandas_does(samples, client, sample):
    # GIVEN a sample query log, read by pandas and by Dask: the same rows, every line accounted
    # for the same way
    want, ddf = _read_both(tk.read_queries, str(samples / sample))
    # THEN the digest is pandas' digest, row for row, exact percentiles included
    dig = tk.digest(ddf)
    pd.testing.assert_frame_equal(dig, tk.digest(want), **EXACT)
    assert dig["calls"].sum() == tk.digest(want)["calls"].sum() > 0


@pytest.mark.parametrize("sample", HTTP_SAMPLES)
def test_access_log_samples_read_and_endpoints_as_pandas_does(samples, client, sample):
    want, ddf = _read_both(tk.read_access_log, str(samples / sample))
    pd.testing.assert_frame_equal(tk.endpoints(ddf), tk.endpoints(want), **EXACT)


def test_server_events_as_pandas_reads_them(samples, client):
    path = str(samples / "queries/postgresql/app/postgresql.log.gz")
    got = frames.compute(tk.read_server_events(path, engine="dask"))
    want = tk.read_server_events(path)
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == len(want) > 0


@pytest.mark.parametrize("name", ["postgresql.log", "app-slow.log", "postgresql.json"])
def test_byte_ranges_of_a_query_log_give_pandas_rows_and_digest(plain, client, name):
    # GIVEN an uncompressed log cut into ranges of ~20 kB (record starts found by the reader)
    # THEN nothing is split or counted twice: the same rows, line numbers and accounting
    path = str(plain / name)
    want, ddf = _read_both(tk.read_queries, path, partition_bytes=20_000)
    assert ddf.npartitions == -(-os.path.getsize(path) // 20_000)
    pd.testing.assert_frame_equal(tk.digest(ddf), tk.digest(want), **EXACT)


def test_byte_ranges_of_an_access_log_give_pandas_tables(plain, client):
    want, ddf = _read_both(tk.read_access_log, str(plain / "access.log"), partition_bytes=100_000)
    assert ddf.npartitions == 8
    assert want["source_line"].tolist() == list(range(1, len(want) + 1))
    pd.testing.assert_frame_equal(tk.endpoints(ddf), tk.endpoints(want), **EXACT)
    for f in (timeseries.latency_over_time, timeseries.status_over_time,
              timeseries.endpoint_matrix, timeseries.payload_sizes):
        pd.testing.assert_frame_equal(f(ddf), f(want))
    pd.testing.assert_frame_equal(timeseries.latency_over_time(ddf, endpoint="/api/orders/{id}", freq="10s"),
                                  timeseries.latency_over_time(want, endpoint="/api/orders/{id}", freq="10s"))


def test_a_fleet_digest_and_endpoints_equal_pandas_on_the_concatenated_hosts(fleet, client):
    # GIVEN four hosts' logs read as one Dask frame each (ranges of 40 kB)
    pg_files = sorted(str(p) for p in fleet.glob("*/postgresql.log"))
    ng_files = sorted(str(p) for p in fleet.glob("*/access.log"))
    events = tk.read_queries(str(fleet / "*" / "postgresql.log"), engine="dask", partition_bytes=40_000)
    requests = tk.read_access_log(str(fleet / "*" / "access.log"), engine="dask", partition_bytes=200_000)
    # WHEN digested on the cluster, and by pandas from the hosts' tables one after the other
    # (digest_stream: the hosts' sessions share process ids, so one concatenated table would
    # join one host's parse to another's execute)
    want_digest = digest_stream(tk.read_queries(p) for p in pg_files)
    want_requests = pd.concat([tk.read_access_log(p) for p in ng_files], ignore_index=True)
    dig = tk.digest(events)
    # THEN the tables are equal row for row
    pd.testing.assert_frame_equal(dig, want_digest, **EXACT)
    pd.testing.assert_frame_equal(tk.endpoints(requests), tk.endpoints(want_requests), **EXACT)
    pd.testing.assert_frame_equal(timeseries.status_over_time(requests), timeseries.status_over_time(want_requests),
                                  check_freq=False)
    # AND the accounting covers the four files: their lines, summed
    src = dig.attrs["source"]
    assert src["files"] == 4 and src["paths"] == pg_files
    assert src["lines_read"] == sum(tk.read_queries(p).attrs["source"]["lines_read"] for p in pg_files)
    # AND the degraded host's queries on orders take 4 times as long: seen by grouping per file
    per_host = {p: tk.digest(tk.read_queries(p, engine="dask"))["total_ms"].sum() for p in pg_files}
    assert max(per_host, key=per_host.get) == pg_files[2]


def test_a_worker_killed_mid_run_is_retried_with_the_same_digest(fleet, client):
    # GIVEN the fleet's query logs held in the workers' memory, 10 partitions over 2 workers
    ddf = tk.read_queries(str(fleet / "*" / "postgresql.log"), engine="dask", partition_bytes=70_000)
    want = tk.digest(ddf)
    held = client.persist(ddf)
    distributed.wait(held)
    where = client.who_has(held)
    workers = {w for ws in where.values() for w in ws}
    assert len(workers) == 2
    # WHEN one worker process is killed (SIGKILL: its partitions are lost)
    victim = sorted(workers)[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    # THEN the digest of the held frame is computed anyway (the lost partitions read again by
    # the worker the nanny restarts, or the other one) and equals the first
    got = tk.digest(held)
    pd.testing.assert_frame_equal(got, want, **EXACT)
    one_host = tk.digest(tk.read_queries(str(fleet / "host-00" / "postgresql.log")))
    assert got["calls"].sum() == 4 * one_host["calls"].sum() > 0
    # AND the killed process is gone: its partitions were read by another one
    assert pid not in client.run(os.getpid).values()


def test_analyze_on_the_engine_gives_the_streamed_tables(plain, client):
    # GIVEN logs above the streaming size, analysed on the cluster (the current client) and by pandas
    from toolkit.report.analyze import analyze

    paths = [str(plain / "postgresql.log"), str(plain / "access.log")]
    on_dask = analyze(paths, engine="dask", stream_bytes=1, run_findings=False)
    local = analyze(paths, stream_bytes=1, run_findings=False)
    # THEN the digest and endpoint tables are equal, and so are the inputs' counts
    pd.testing.assert_frame_equal(on_dask.digests[paths[0]], local.digests[paths[0]], **EXACT)
    pd.testing.assert_frame_equal(on_dask.endpoint_tables[paths[1]], local.endpoint_tables[paths[1]],
                                  **EXACT)
    assert [(r.records, r.lines_read) for r in on_dask.inputs] == [(r.records, r.lines_read) for r in local.inputs]
    # AND they were digested straight from the text (the direct path: the local accounting
    # itself, where the frame path's would list the partitions' files)
    assert on_dask.digests[paths[0]].attrs["source"] == local.digests[paths[0]].attrs["source"]
    assert on_dask.endpoint_tables[paths[1]].attrs["source"] == local.endpoint_tables[paths[1]].attrs["source"]


# -- the direct digests: byte ranges digested from their text on the cluster ---------------------
@pytest.mark.parametrize("sample", QUERY_SAMPLES + ["postgresql.log", "app-slow.log", "postgresql.csv",
                                                    "postgresql.json"])
def test_digest_files_equals_the_local_digest_file(samples, plain, client, sample):
    # GIVEN a sample (compressed: digested whole) or a plain log cut into ~20 kB ranges
    path = str(samples / sample if "/" in sample else plain / sample)
    # WHEN digested on the cluster straight from the text, and locally in one process
    got = direct.digest_files(path, partition_bytes=20_000, split_every=3)
    want = digest_file(path, workers=1)
    # THEN the tables are equal row for row (examples' line numbers too), every line accounted for
    pd.testing.assert_frame_equal(got, want, **EXACT)
    assert got["calls"].sum() == want["calls"].sum() > 0
    # the local digest's accounting itself (skipped examples' lines included)
    assert got.attrs["source"] == want.attrs["source"]


@pytest.mark.parametrize("sample", HTTP_SAMPLES + ["access.log"])
def test_endpoint_files_equals_the_local_endpoints(samples, plain, client, sample):
    # GIVEN a sample (compressed: scanned whole) or the plain perf log cut into 100 kB ranges
    path = str(samples / sample if "/" in sample else plain / sample)
    got = direct.endpoint_files(path, partition_bytes=100_000, split_every=3)
    want = tk.endpoints(path)
    pd.testing.assert_frame_equal(got, want, **EXACT)
    assert got["requests"].sum() == want["requests"].sum() > 0
    assert got.attrs["source"] == want.attrs["source"]


def test_direct_digests_of_a_fleet_equal_the_frame_path(fleet, client):
    # GIVEN four hosts' logs, each cut into ranges of 40 kB (PostgreSQL) / 200 kB (nginx)
    pg_files = sorted(str(p) for p in fleet.glob("*/postgresql.log"))
    ng_files = sorted(str(p) for p in fleet.glob("*/access.log"))
    # WHEN digested straight from the text, and by the frame path on the same partitions
    dig = direct.digest_files(str(fleet / "*" / "postgresql.log"), partition_bytes=40_000)
    eps = direct.endpoint_files(str(fleet / "*" / "access.log"), partition_bytes=200_000)
    frame_dig = tk.digest(tk.read_queries(str(fleet / "*" / "postgresql.log"), engine="dask",
                                          partition_bytes=40_000))
    frame_eps = tk.endpoints(tk.read_access_log(str(fleet / "*" / "access.log"), engine="dask",
                                                partition_bytes=200_000))
    # THEN the tables are equal, and equal the local digests of the hosts one after the other
    pd.testing.assert_frame_equal(dig, frame_dig, **EXACT)
    pd.testing.assert_frame_equal(dig, digest_stream(tk.read_queries(p) for p in pg_files), **EXACT)
    pd.testing.assert_frame_equal(eps, frame_eps, **EXACT)
    # AND the accounting is the four files' local accounting, summed
    for table, files, local in ((dig, pg_files, digest_file), (eps, ng_files, tk.endpoints)):
        src = table.attrs["source"]
        assert src["files"] == 4 and src["paths"] == files
        per_file = [local(p).attrs["source"] for p in files]
        for k in ("lines_read", "records", "lines_skipped"):
            assert src[k] == sum(s[k] for s in per_file), k
        assert src["records"] > 0


def test_endpoint_files_with_a_wrong_format_is_a_log_format_error(plain, client):
    # GIVEN the perf log read as Apache's common format: no line matches
    from toolkit.errors import LogFormatError

    with pytest.raises(LogFormatError, match="no line matches log format"):
        tk.endpoints(str(plain / "access.log"), log_format="common")
    # THEN the cluster says so too, not an empty table
    with pytest.raises(LogFormatError, match="no line matches log format"):
        direct.endpoint_files(str(plain / "access.log"), log_format="common", partition_bytes=100_000)


def test_a_bad_line_in_a_later_range_is_named_by_its_line_in_the_file(plain, client, tmp_path):
    # GIVEN the perf log (2,438 lines, 780 kB) with a line that matches no format at line 2,001
    # (in the 7th of its 100 kB ranges)
    lines = (plain / "access.log").read_text().splitlines(keepends=True)
    path = tmp_path / "access.log"
    path.write_text("".join(lines[:2000] + ["this is not a request\n"] + lines[2000:]))
    log_format = f"@{plain / 'perf.log_format'}"
    # WHEN its endpoint table is made on the cluster in ranges, and locally in one pass
    got = direct.endpoint_files(str(path), log_format=log_format, partition_bytes=100_000)
    want = tk.endpoints(str(path), log_format=log_format, jobs=1)
    # THEN the skipped line is counted once and named by its line in the whole file
    pd.testing.assert_frame_equal(got, want, **EXACT)
    src = got.attrs["source"]
    assert src == want.attrs["source"]
    assert src["lines_skipped"] == 1 and src["lines_read"] == len(lines) + 1
    assert [x["line"] for x in src["skipped"]] == [2001]


class _KillOnce(distributed.WorkerPlugin):
    """Kills its worker process (SIGKILL) when the worker starts executing the first task whose
    key starts with ``prefix``, once per ``marker`` file, whichever worker it is."""

    name = "kill-once"

    def __init__(self, marker: str, prefix: str):
        self.marker, self.prefix = marker, prefix

    def setup(self, worker) -> None:
        self.pid = os.getpid()

    def transition(self, key, start, finish, **kwargs) -> None:
        name = key if isinstance(key, str) else str(key[0] if isinstance(key, tuple) else key)
        if finish != "executing" or not name.startswith(self.prefix):
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        with open(self.marker, "w") as fh:
            fh.write(str(self.pid))
        os.kill(self.pid, signal.SIGKILL)


def test_a_worker_killed_in_a_direct_digest_is_retried_with_the_same_table(plain, client, tmp_path):
    # GIVEN a plain PostgreSQL log cut into ~20 kB ranges, and a worker that dies (SIGKILL) as
    # soon as it starts digesting a range
    path = str(plain / "postgresql.log")
    want = digest_file(path, workers=1)
    marker = tmp_path / "killed"
    import sys

    import cloudpickle  # the plugin's class goes to the workers by value: they cannot import tests/

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    client.register_plugin(_KillOnce(str(marker), "leaf-"))
    try:
        # WHEN the direct digest runs on the cluster
        got = direct.digest_files(path, partition_bytes=20_000, split_every=3)
    finally:
        client.unregister_worker_plugin(_KillOnce.name)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    # THEN a worker was killed mid-run (its pid written, and no longer among the workers) ...
    killed = int(marker.read_text())
    assert killed not in client.run(os.getpid).values()
    # ... and Dask ran its range again: the same table and accounting as one local process
    pd.testing.assert_frame_equal(got, want, **EXACT)
    assert got.attrs["source"] == want.attrs["source"]


# -- sqlcommenter / marginalia tags on the frame path ---------------------------------------------
def test_tag_columns_are_pandas_own_on_a_tagged_log_cut_into_ranges(plain, client, tmp_path):
    # GIVEN a PostgreSQL log whose statements carry sqlcommenter and marginalia tags, cut into
    # byte ranges of ~600 bytes (a comment may lie across a cut), and an untagged log after it
    from conftest import FIXTURES

    tagged = tmp_path / "tagged.log"
    shutil.copy(FIXTURES / "queries/postgres/sqlcommenter.log", tagged)
    want = tk.read_queries(str(tagged))
    # WHEN read as one Dask frame
    ddf = tk.read_queries(str(tagged), engine="dask", partition_bytes=600)
    got = frames.compute(ddf)
    # THEN its schema, known before reading, holds pandas' tag columns in pandas' order, and the
    # computed rows equal pandas' (tags, trace and span ids included)
    tags = ["tag_controller", "tag_route", "tag_traceparent", "tag_application", "tag_action",
            "trace_id", "span_id"]
    assert list(ddf.columns[-7:]) == tags and list(want.columns[-7:]) == tags
    assert ddf.npartitions > 1
    pd.testing.assert_frame_equal(got, want)
    assert got["tag_controller"].notna().sum() == want["tag_controller"].notna().sum() > 0
    # AND with an untagged log after it, that log's rows have null tags (as pandas' concat)
    untagged = str(plain / "postgresql.log")
    both = frames.compute(tk.read_queries([str(tagged), untagged], engine="dask"))
    other = tk.read_queries(untagged)
    assert list(both.columns) == list(want.columns)
    assert len(both) == len(want) + len(other)
    assert both["tag_route"].iloc[len(want):].isna().all()
    pd.testing.assert_frame_equal(both.iloc[len(want):, :15].reset_index(drop=True), other)
