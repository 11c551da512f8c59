"""Kept states of rotated logs are removed once nothing can continue from them
(toolkit.state.StateStore.prune_kept): the rotated file deleted or compressed, or read under its
new name. The digest and endpoint tables stay a full read's all along."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.queries.digest import digest_file
from toolkit.state import StateStore, rotated_names

ROOT = Path(__file__).resolve().parents[2]
LOGS = {"postgres-stderr": ROOT / "sample_traces/queries/postgresql/app/postgresql.log.gz",
        "postgres-csvlog": ROOT / "sample_traces/queries/postgresql/app/postgresql.csv.gz"}
ACCESS = ROOT / "sample_traces/http/nginx/combined.log.gz"


def halves(path: Path) -> tuple[bytes, bytes]:
    data = gzip.open(path).read()
    cut = data.index(b"\n", len(data) // 2) + 1
    while data[cut:cut + 4] != data[:4]:  # (a csvlog record may go on over several lines)
        cut = data.index(b"\n", cut) + 1
    return data[:cut], data[cut:]


def states(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".json")


def rotated_once(tmp_path: Path, state, fmt: str = "postgres-stderr") -> Path:
    """A log's first half digested with ``state``, then rotated as logrotate does (renamed to
    server.log.1, where the server may still append; a new server.log with the second half)
    and the new log digested: the path of the new log."""
    first, second = halves(LOGS[fmt])
    path = tmp_path / "server.log"
    path.write_bytes(first)
    digest_file(path, state=state)
    os.rename(path, tmp_path / "server.log.1")
    path.write_bytes(second)
    return path


def same_as_full_read(got: pd.DataFrame, path: Path, tmp_path: Path) -> None:
    copy = tmp_path / f"reference{path.suffix}"
    copy.write_bytes(path.read_bytes())
    want = digest_file(copy)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs["source"]["records"] == want.attrs["source"]["records"] > 0


@pytest.mark.parametrize("fmt", sorted(LOGS))
def test_a_rotated_files_state_goes_once_the_file_is_deleted(tmp_path, fmt):
    # GIVEN a log's first half digested with a state, then rotated
    state = tmp_path / "state"
    path = rotated_once(tmp_path, state, fmt)
    # WHEN digested again: the old file's state is kept under its inode (server.log.1 may go on)
    out = digest_file(path, state=state)
    inode = (tmp_path / "server.log.1").stat().st_ino
    assert [s for s in states(state) if s.startswith("inode-")] == [f"inode-{path.stat().st_dev}-{inode}.json"]
    same_as_full_read(out, path, tmp_path)
    # WHEN the rotated file is deleted and the log digested again
    os.unlink(tmp_path / "server.log.1")
    with open(path, "ab") as fh:
        fh.write(halves(LOGS[fmt])[0])
    out = digest_file(path, state=state)
    # THEN the kept state is gone, only the log's own is left, and the table is a full read's
    assert len(states(state)) == 1 and not states(state)[0].startswith("inode-")
    assert out.attrs["source"]["incremental"].startswith("resumed at byte")
    same_as_full_read(out, path, tmp_path)


def test_a_rotated_file_compressed_leaves_no_kept_state(tmp_path):
    # GIVEN a rotated log whose old file logrotate then compressed (server.log.1.gz: another inode)
    state = tmp_path / "state"
    path = rotated_once(tmp_path, state)
    (tmp_path / "server.log.1.gz").write_bytes(gzip.compress((tmp_path / "server.log.1").read_bytes()))
    os.unlink(tmp_path / "server.log.1")
    # WHEN the new log is digested
    out = digest_file(path, state=state)
    # THEN nothing can continue from the old state: it is not kept
    assert len(states(state)) == 1 and not states(state)[0].startswith("inode-")
    same_as_full_read(out, path, tmp_path)


def test_a_rotated_file_read_under_its_new_name_takes_its_state_over(tmp_path):
    state = tmp_path / "state"
    digest_file(rotated_once(tmp_path, state), state=state)
    # WHEN the old file is read to its end under its new name
    old = digest_file(tmp_path / "server.log.1", state=state)
    # THEN it went on from the kept state, which is now server.log.1's own: no inode state is left
    assert old.attrs["source"]["incremental"].startswith("resumed at byte")
    assert len(states(state)) == 2 and not any(s.startswith("inode-") for s in states(state))
    same_as_full_read(old, tmp_path / "server.log.1", tmp_path)


def test_an_access_logs_kept_state_goes_with_its_file(tmp_path):
    data = gzip.open(ACCESS).read()
    cut = data.index(b"\n", len(data) // 2) + 1
    path, state = tmp_path / "access.log", tmp_path / "state"
    path.write_bytes(data[:cut])
    tk.endpoints(str(path), state=state, log_format="combined")
    os.rename(path, tmp_path / "access.log-20261207")
    path.write_bytes(data[cut:])
    tk.endpoints(str(path), state=state, log_format="combined")
    assert sum(s.startswith("inode-") for s in states(state)) == 1  # (dateext's name: still there)
    os.unlink(tmp_path / "access.log-20261207")
    out = tk.endpoints(str(path), state=state, log_format="combined")
    assert not any(s.startswith("inode-") for s in states(state))
    want = tk.endpoints(tk.read_access_log(str(path), log_format="combined"))
    assert out["requests"].sum() == want["requests"].sum() == len(data[cut:].splitlines())


def test_rotated_names_are_the_path_and_its_logrotate_names(tmp_path):
    for name in ("pg.log", "pg.log.1", "pg.log.2.gz", "pg.log-20261207", "pg.logger", "other.log"):
        (tmp_path / name).write_text("")
    names = [os.path.basename(p) for p in rotated_names(str(tmp_path / "pg.log"))]
    assert names == ["pg.log", "pg.log-20261207", "pg.log.1", "pg.log.2.gz"]


def test_a_memory_store_prunes_the_same_way(tmp_path):
    store = StateStore()
    digest_file(rotated_once(tmp_path, store), state=store)
    kept = [k for k in store._memory if k.startswith("inode-")]
    assert len(kept) == 1
    os.unlink(tmp_path / "server.log.1")
    assert store.prune_kept() == kept
    assert not any(k.startswith("inode-") for k in store._memory)


def two_logs(tmp_path: Path, name: str) -> tuple[Path, bytes, bytes, Path, Path]:
    """A state folder, a log's two halves, ``name`` holding the first (digested with the state)
    and ``other.log`` the second (not yet digested)."""
    state = tmp_path / "state"
    first, second = halves(LOGS["postgres-stderr"])
    path, other = tmp_path / name, tmp_path / "other.log"
    path.write_bytes(first)
    other.write_bytes(second)
    digest_file(path, state=state)
    return state, first, second, path, other


def test_a_deleted_logs_own_state_goes_at_the_next_save(tmp_path):
    # GIVEN two logs digested with one state folder
    state, first, _, gone, other = two_logs(tmp_path, "gone.log")
    digest_file(other, state=state)
    assert len(states(state)) == 2
    # WHEN one log is deleted and the other digested again (a save prunes)
    os.unlink(gone)
    with open(other, "ab") as fh:
        fh.write(first)
    out = digest_file(other, state=state)
    # THEN only the other log's state is left (nothing can continue from the deleted one's)
    assert states(state) == [s for s in states(state) if s.startswith("other.log-")] and len(states(state)) == 1
    same_as_full_read(out, other, tmp_path)


def test_a_renamed_log_with_nothing_new_at_its_path_goes_on_under_its_new_name(tmp_path):
    # GIVEN a log digested with a state, then renamed, and no new file at its path yet
    state, _, second, path, other = two_logs(tmp_path, "server.log")
    os.rename(path, tmp_path / "server.log.1")
    # WHEN another log's save prunes: the path's own state is kept under the file's identity
    digest_file(other, state=state)
    inode = (tmp_path / "server.log.1").stat().st_ino
    assert f"inode-{other.stat().st_dev}-{inode}.json" in states(state)
    # THEN the renamed file, grown, is read on from that state under its new name
    with open(tmp_path / "server.log.1", "ab") as fh:
        fh.write(second)
    out = digest_file(tmp_path / "server.log.1", state=state)
    assert out.attrs["source"]["incremental"].startswith("resumed at byte")
    same_as_full_read(out, tmp_path / "server.log.1", tmp_path)
    assert not any(s.startswith("inode-") for s in states(state))
