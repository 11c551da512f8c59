"""endpoints(path, state=DIR): a growing access log's endpoint table, run after run reading only
the new lines, equals a full read's (toolkit.http.incremental); rotation and compressed logs;
and `perf-toolkit analyze --state DIR` on query and access logs, which says what was new."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.cli import main
from toolkit.http.endpoints import endpoints

ROOT = Path(__file__).resolve().parents[2]
NGINX = ROOT / "sample_traces/http/nginx"
# (sample, its log_format: the custom one of access.log, detected for the others)
LOGS = {"combined.log.gz": None, "access.log.gz": f"@{NGINX / 'perf.log_format'}", "access.jsonl.gz": None}


def full_read(tmp_path: Path, data: bytes, log_format) -> pd.DataFrame:
    path = tmp_path / f"reference-{len(data)}.log"
    path.write_bytes(data)
    return endpoints(path, log_format=log_format)


def same_as_full_read(incremental: pd.DataFrame, full: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(incremental, full)
    ours, theirs = incremental.attrs["source"], full.attrs["source"]
    assert {k: ours.get(k) for k in theirs if k != "path"} == {k: v for k, v in theirs.items() if k != "path"}


@pytest.mark.parametrize("name", sorted(LOGS))
def test_a_growing_access_log_gives_the_full_reads_table_run_after_run(tmp_path, name):
    # GIVEN a real nginx log written out in four pieces, cut anywhere (mid-line too)
    data = gzip.open(NGINX / name).read()
    log_format = LOGS[name]
    path, state = tmp_path / "access.log", tmp_path / "state"
    cuts = [0, len(data) // 4 + 7, len(data) // 2, len(data) * 3 // 4 + 3, len(data)]
    position = 0
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        with open(path, "ab") as fh:
            fh.write(data[lo:hi])
        # WHEN its endpoint table is made with a state after each piece
        out = endpoints(path, state=state, log_format=log_format)
        source = out.attrs["source"]
        # THEN it reads on from the last whole line it had read, and counts the lines written
        # whole so far: the full read of the log up to its last newline
        assert source["bytes_read"] == hi - position
        whole_lines = data.rindex(b"\n", 0, hi) + 1
        assert source["state_position"] == whole_lines
        assert source["pending_bytes"] == hi - whole_lines
        assert source["new_records"] == data[position:whole_lines].count(b"\n")  # (every line a request)
        same_as_full_read(out, full_read(tmp_path, data[:whole_lines], log_format))
        position = whole_lines
    assert source["pending_bytes"] == 0 and source["records"] == 2438


def test_a_rotated_access_log_is_read_from_the_start(tmp_path):
    # GIVEN the combined log digested with a state, then rotated: a new file with its last third
    data = gzip.open(NGINX / "combined.log.gz").read()
    path, state = tmp_path / "access.log", tmp_path / "state"
    path.write_bytes(data)
    endpoints(path, state=state)
    os.rename(path, tmp_path / "access.log.1")
    rest = data[data.index(b"\n", len(data) * 2 // 3) + 1:]
    path.write_bytes(rest)
    # WHEN the table is made again
    out = endpoints(path, state=state)
    # THEN the new file is read from 0: its requests only
    assert out.attrs["source"]["incremental"].startswith("read from byte 0 (another file at this path")
    assert out["requests"].sum() == rest.count(b"\n") < 2438
    same_as_full_read(out, full_read(tmp_path, rest, None))


def test_a_compressed_access_log_is_read_whole_and_says_so(tmp_path):
    out = endpoints(NGINX / "combined.log.gz", state=tmp_path / "state")
    assert out.attrs["source"]["incremental"] == "full read: gzip-compressed: no byte ranges"
    pd.testing.assert_frame_equal(out, endpoints(NGINX / "combined.log.gz"))


def test_analyze_with_a_state_reads_only_what_was_appended(tmp_path, capsys):
    # GIVEN a folder with a PostgreSQL stderr log, a MariaDB slow log and an nginx log
    logs = tmp_path / "logs"
    logs.mkdir()
    pg = gzip.open(ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz").read()
    slow = (ROOT / "sample_traces/queries/mariadb/app-slow.log").read_bytes()
    (logs / "postgresql.log").write_bytes(pg)
    (logs / "slow.log").write_bytes(slow[:len(slow) // 2])
    (logs / "access.log").write_bytes(gzip.open(NGINX / "combined.log.gz").read())
    state = tmp_path / "state"
    argv = ["analyze", str(logs), "--state", str(state), "--no-report", "-q"]
    # WHEN analysed with a state, then again after the slow log grew
    assert main(argv) == 0
    first = capsys.readouterr().out
    with open(logs / "slow.log", "ab") as fh:
        fh.write(slow[len(slow) // 2:])
    assert main(argv) == 0
    second = capsys.readouterr().out
    # THEN the first run says every byte was new, the second only the slow log's appended bytes
    assert f"postgresql.log  postgres-stderr: 408 record(s), {len(pg)} new byte(s), 408 new record(s)" in first
    assert "access.log  combined: 2438 record(s), 327351 new byte(s), 2438 new record(s)" in first
    assert "access.log  combined: 2438 record(s), 0 new byte(s), 0 new record(s)" in second
    assert "postgresql.log  postgres-stderr: 408 record(s), 0 new byte(s), 0 new record(s)" in second
    full = tk.digest_file(ROOT / "sample_traces/queries/mariadb/app-slow.log")
    records = full.attrs["source"]["records"]
    assert f"slow.log  mysql-slow: {records} record(s)" in second
    assert f"{len(slow) - len(slow) // 2} new byte(s)" in second
    assert len(list(state.iterdir())) == 3
    # AND the report's note on each input (tk.analyze's reason) says what the run read
    analysis = tk.analyze([str(logs)], state=state, run_findings=False)
    notes = {os.path.basename(r.path): r.reason for r in analysis.inputs}
    assert notes["slow.log"].startswith("incremental, resumed at byte ")
    assert ": 0 new byte(s), 0 new record(s); the detectors that need every event did not run" in notes["slow.log"]
