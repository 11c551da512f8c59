"""digest_file(path, state=DIR): a growing, rotated or truncated query log digested run after
run reading only what is new gives, every time, the table and the accounting of a full read
(toolkit.queries.incremental, toolkit.state). On the real sample logs (PostgreSQL stderr,
MariaDB slow log) written out in pieces."""

from __future__ import annotations

import gzip
import importlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.errors import InputError
from toolkit.queries.digest import digest_file

ROOT = Path(__file__).resolve().parents[2]
PG = ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz"
MARIADB = ROOT / "sample_traces/queries/mariadb/app-slow.log"
LOGS = {"postgres-stderr": PG, "mysql-slow": MARIADB}
digest_module = importlib.import_module("toolkit.queries.digest")  # (toolkit.queries.digest is the function)


def sample(fmt: str) -> bytes:
    path = LOGS[fmt]
    return gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()


def full_read(tmp_path: Path, data: bytes, fmt: str, **options) -> pd.DataFrame:
    """The reference: the digest of ``data`` read whole, with no state."""
    path = tmp_path / f"reference-{len(data)}.log"
    path.write_bytes(data)
    return digest_file(path, format=fmt, **options)


def same_as_full_read(incremental: pd.DataFrame, full: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(incremental, full)
    ours, theirs = incremental.attrs["source"], full.attrs["source"]
    assert {k: ours.get(k) for k in theirs if k != "path"} == {k: v for k, v in theirs.items() if k != "path"}


def digested_once(tmp_path: Path, data: bytes) -> tuple[Path, Path, pd.DataFrame]:
    """``data`` written as server.log and digested with a state: (log, state folder, table)."""
    path, state = tmp_path / "server.log", tmp_path / "state"
    path.write_bytes(data)
    return path, state, digest_file(path, state=state)


def line_ends(data: bytes, parts: int) -> list[int]:
    """``parts`` cuts of ``data`` at line ends, roughly evenly spaced."""
    cuts = [data.index(b"\n", len(data) * i // parts) + 1 for i in range(1, parts)]
    return [0, *cuts, len(data)]


@pytest.fixture
def ranges_read(monkeypatch):
    """Every byte range the digest reads, as (start, end)."""
    seen: list[tuple[int, int]] = []
    real = digest_module.digest_range

    def spy(job):
        seen.append((job[2], job[3]))
        return real(job)
    monkeypatch.setattr(digest_module, "digest_range", spy)
    return seen


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_a_growing_log_digested_run_after_run_equals_a_full_read(tmp_path, fmt, ranges_read):
    # GIVEN a real log written out in five pieces, each ending at a line end
    data = sample(fmt)
    path, state = tmp_path / "server.log", tmp_path / "state"
    cuts = line_ends(data, 5)
    position = 0
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        with open(path, "ab") as fh:
            fh.write(data[lo:hi])
        ranges_read.clear()
        # WHEN it is digested with a state after each piece
        out = digest_file(path, state=state)
        # THEN the table and the accounting are a full read's (calls, totals, exact percentiles,
        # examples and their lines, lines read, records, skipped lines)
        same_as_full_read(out, full_read(tmp_path, data[:hi], fmt))
        source = out.attrs["source"]
        assert source["new_bytes"] == hi - lo
        assert source["pending_bytes"] == 0
        # AND no byte before the position the last run remembered was read again
        assert min(start for start, _ in ranges_read) >= position
        assert source["bytes_read"] == hi - position
        if lo > 0:
            assert source["incremental"].startswith(f"resumed at byte {position}: {hi - lo} new byte(s)")
        position = source["state_position"]
        assert position <= hi  # (0 while no record start is settled: PostgreSQL's sessions wait)
    # AND the last run read a small part of the file only
    assert source["bytes_read"] < len(data) // 3


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_a_record_cut_in_half_at_the_end_is_counted_once_whole(tmp_path, fmt):
    # GIVEN a log whose writer stopped in the middle of a statement line, two thirds in
    data = sample(fmt)
    statement = data.index(b"SELECT", len(data) * 2 // 3)
    cut = statement + 12
    assert data[cut - 1:cut] != b"\n" and b"\n" not in data[statement:cut]
    path, state = tmp_path / "server.log", tmp_path / "state"
    path.write_bytes(data[:cut])
    # WHEN it is digested with a state
    first = digest_file(path, state=state)
    # THEN the record holding the cut line is not counted: the table is the full read of the
    # log up to the remembered position, before that record; no fingerprint of half a statement
    source = first.attrs["source"]
    position = source["state_position"]
    assert position <= data.rindex(b"\n", 0, statement) + 1
    assert source["pending_bytes"] == cut - position > 0
    same_as_full_read(first, full_read(tmp_path, data[:position], fmt))
    whole = full_read(tmp_path, data, fmt)
    assert set(first["fingerprint"].dropna()) <= set(whole["fingerprint"].dropna())
    # WHEN the rest is written and the log digested again
    with open(path, "ab") as fh:
        fh.write(data[cut:])
    again = digest_file(path, state=state)
    # THEN the table is the full read's: the record counted once, whole
    same_as_full_read(again, whole)
    assert again.attrs["source"]["bytes_read"] == len(data) - position


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_a_rotated_log_is_read_from_the_start_and_the_old_one_goes_on_from_its_state(tmp_path, fmt):
    # GIVEN a log's first half digested with a state
    data = sample(fmt)
    half = line_ends(data, 2)[1]
    path, state, _ = digested_once(tmp_path, data[:half])
    # WHEN it is rotated (renamed to server.log.1, a new server.log started with the second half)
    rotated = tmp_path / "server.log.1"
    os.rename(path, rotated)
    path.write_bytes(data[half:])
    out = digest_file(path, state=state)
    # THEN the new file is read from byte 0: the full read of its own records
    assert out.attrs["source"]["incremental"].startswith("read from byte 0 (another file at this path")
    same_as_full_read(out, full_read(tmp_path, data[half:], fmt))
    # AND the old file (still written to by a server holding it open) goes on from its state
    with open(rotated, "ab") as fh:
        fh.write(data[half:])
    old = digest_file(rotated, state=state)
    assert old.attrs["source"]["incremental"].startswith("resumed at byte")
    same_as_full_read(old, full_read(tmp_path, data, fmt))


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_copytruncate_then_fewer_bytes_is_read_from_the_start(tmp_path, fmt):
    # GIVEN a log digested with a state
    data = sample(fmt)
    path, state, _ = digested_once(tmp_path, data)
    inode = path.stat().st_ino
    # WHEN logrotate's copytruncate empties it in place and the server writes a little more
    tail = data[line_ends(data, 4)[3]:]
    with open(path, "r+b") as fh:
        fh.truncate(0)
        fh.write(tail)
    assert path.stat().st_ino == inode
    out = digest_file(path, state=state)
    # THEN it is read from 0: the table holds the new lines only (as a full read of them)
    assert out.attrs["source"]["incremental"].startswith(
        f"read from byte 0 (truncated ({len(data)} bytes when last read, {len(tail)} now")
    full = full_read(tmp_path, tail, fmt)
    same_as_full_read(out, full)
    assert out["calls"].sum() == full["calls"].sum() < full_read(tmp_path, data, fmt)["calls"].sum()


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_a_log_truncated_to_its_start_is_read_again(tmp_path, fmt):
    # GIVEN a log digested whole, then cut back to its first third (same inode, same start)
    data = sample(fmt)
    path, state, _ = digested_once(tmp_path, data)
    third = line_ends(data, 3)[1]
    os.truncate(path, third)
    # WHEN digested again
    out = digest_file(path, state=state)
    # THEN it is the first third's digest, not the old whole one
    assert "truncated" in out.attrs["source"]["incremental"]
    same_as_full_read(out, full_read(tmp_path, data[:third], fmt))


@pytest.mark.parametrize(("fmt", "field"), [("postgres-stderr", b"duration: "), ("mysql-slow", b"# Query_time: ")])
def test_a_log_whose_first_bytes_changed_is_read_again(tmp_path, fmt, field):
    # GIVEN a log digested with a state, then rewritten in place (same inode, no shorter) with
    # another duration for its first statement
    data = sample(fmt)
    path, state, before = digested_once(tmp_path, data)
    at = data.index(field) + len(field)
    assert at < 4096
    changed = data[:at] + (b"9" if data[at:at + 1] != b"9" else b"8") + data[at + 1:] + b"\n"
    with open(path, "r+b") as fh:
        fh.write(changed)
    # WHEN digested again
    out = digest_file(path, state=state)
    # THEN it is read from 0 and the changed time is in the table
    assert out.attrs["source"]["incremental"].startswith("read from byte 0 (its first 4096 bytes changed")
    same_as_full_read(out, full_read(tmp_path, changed, fmt))
    assert out["total_ms"].sum() != pytest.approx(before["total_ms"].sum())


def test_compressed_logs_are_read_whole_and_say_so(tmp_path):
    # GIVEN the gzipped stderr sample (csvlog and jsonlog have byte ranges too: see
    # test_pg_csvjson_digest.py)
    state = tmp_path / "state"
    # WHEN digested with a state
    out = digest_file(PG, state=state)
    # THEN the full read's table, and the accounting says why it was read whole
    assert out.attrs["source"]["incremental"] == "full read: gzip-compressed: no byte ranges"
    pd.testing.assert_frame_equal(out, digest_file(PG))
    assert not state.exists()  # no state: nothing to remember


def test_a_state_for_other_options_or_another_version_is_not_used(tmp_path):
    data = sample("postgres-stderr")
    path, state = tmp_path / "postgresql.log", tmp_path / "state"
    path.write_bytes(data)
    digest_file(path, state=state)
    # WHEN the same file is digested by database
    by_db = digest_file(path, state=state, by="database")
    # THEN the state (by nothing) is not used: a note, and the full read's table by database
    assert by_db.attrs["source"]["incremental"].startswith(
        "read from byte 0 (state written for other options (by: None then, 'database' now))")
    same_as_full_read(by_db, full_read(tmp_path, data, "postgres-stderr", by="database"))
    # GIVEN a state file written by another toolkit version
    (state_file,) = state.glob("postgresql.log-*.json")
    saved = json.loads(state_file.read_text())
    saved["toolkit"] = "0.0.1"
    state_file.write_text(json.dumps(saved))
    out = digest_file(path, state=state, by="database")
    assert out.attrs["source"]["incremental"].startswith("read from byte 0 (state written by perf-toolkit 0.0.1")
    same_as_full_read(out, full_read(tmp_path, data, "postgres-stderr", by="database"))
    # AND an unreadable state file is a note too, never a crash
    state_file.write_text("{not json")
    assert "state file unreadable" in digest_file(path, state=state, by="database").attrs["source"]["incremental"]


def test_the_state_file_is_json_with_named_fields_one_per_input(tmp_path):
    # GIVEN two logs digested with one state folder
    state = tmp_path / "state"
    pg, slow = tmp_path / "postgresql.log", tmp_path / "slow.log"
    pg.write_bytes(sample("postgres-stderr"))
    slow.write_bytes(sample("mysql-slow"))
    out = digest_file(pg, state=state)
    digest_file(slow, state=state)
    # THEN one JSON file each, naming the file's identity and the remembered position
    files = sorted(p.name for p in state.iterdir())
    assert len(files) == 2 and files[0].startswith("postgresql.log-") and files[1].startswith("slow.log-")
    saved = json.loads(next(state.glob("postgresql.log-*.json")).read_text())
    st = pg.stat()
    assert (saved["device"], saved["inode"], saved["size"]) == (st.st_dev, st.st_ino, st.st_size)
    assert saved["position"] == out.attrs["source"]["state_position"]
    assert saved["kind"] == "digest" and saved["version"] == 3 and saved["toolkit"] == tk.__version__
    held = saved["data"]["digest"]
    # the remembered groups hold every call before the position, their durations as distinct
    # values (ascending) with the calls of each
    assert sum(g["calls"] for _, g in held["groups"]) <= out["calls"].sum()
    assert all(sum(g["counts"]) == g["timed"] and len(g["counts"]) == len(g["durations"])
               for _, g in held["groups"])
    assert all(g["durations"] == sorted(set(g["durations"])) for _, g in held["groups"])
    assert any(len(g["durations"]) < g["timed"] for _, g in held["groups"])  # repeats are counted
    assert saved["data"]["accounting"]["lines_read"] == sample("postgres-stderr")[:saved["position"]].count(b"\n")


def test_a_state_that_cannot_be_written_leaves_the_old_one(tmp_path, monkeypatch):
    # GIVEN a slow log digested with a state, then grown
    data = sample("mysql-slow")
    half = line_ends(data, 2)[1]
    path, state = tmp_path / "slow.log", tmp_path / "state"
    path.write_bytes(data[:half])
    digest_file(path, state=state)
    (state_file,) = state.iterdir()
    before = state_file.read_bytes()
    with open(path, "ab") as fh:
        fh.write(data[half:])

    def fail(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    # WHEN the new state cannot be written
    with pytest.raises(InputError, match="cannot write the state of an input .No space left on device"):
        digest_file(path, state=state)
    # THEN the old state is whole and no temporary file is left
    assert [p.name for p in state.iterdir()] == [state_file.name]
    assert state_file.read_bytes() == before
    monkeypatch.undo()
    same_as_full_read(digest_file(path, state=state), full_read(tmp_path, data, "mysql-slow"))


def test_a_state_store_in_memory(tmp_path):
    # GIVEN a store with no folder
    store = tk.StateStore()
    data = sample("mysql-slow")
    path = tmp_path / "slow.log"
    cuts = line_ends(data, 3)
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        with open(path, "ab") as fh:
            fh.write(data[lo:hi])
        out = tk.digest_file(path, state=store)
    # THEN the last run resumed and gives the full read
    assert out.attrs["source"]["incremental"].startswith("resumed at byte")
    same_as_full_read(out, full_read(tmp_path, data, "mysql-slow"))
