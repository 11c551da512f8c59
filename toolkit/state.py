"""Remembered reads of growing logs: one JSON state file per input, for incremental analysis.

``tk.digest_file(path, state=DIR)`` and ``tk.endpoints(path, state=DIR)`` (and ``perf-toolkit
analyze --state DIR``) keep here, per input file, what the last run read and what it found, so
that the next run reads only the bytes appended since. This module holds what both share: who
a file is, whether it is still the file that was read (or was rotated, truncated, rewritten),
and the state files themselves. What a state holds of the analysis (the digest's groups, the
endpoint table's counts) is written by :mod:`toolkit.queries.incremental` and
:mod:`toolkit.http.incremental`.

A state file (:class:`FileState`, JSON) holds:

=============  ==================================================================================
field          meaning
=============  ==================================================================================
version        :data:`STATE_VERSION` and the toolkit's ``__version__`` that wrote it
kind           ``"digest"`` or ``"endpoints"``
options        what the analysis depends on: format, ``by``, fingerprint options, reader options,
               routes, log format (JSON); a state written for other options is not used
path           the input's absolute path when it was read
device, inode  the file's identity (``os.stat``): a file replaced by another (rotation) differs
head_len,      the SHA-256 of the file's first ``head_len`` bytes (up to :data:`HEAD_BYTES`):
head_sha       a new file that reuses the old inode, or a rewritten start, differs
size           the file's size when it was read
position       the byte offset up to which the state holds the analysis: the start of the last
               record (one still open, which more lines may extend) or of an unfinished last
               line; the next run reads from here
mark_start,    the SHA-256 of bytes ``[mark_start, mark_end)`` around ``position``: the bytes
mark_sha       the next run continues from must be unchanged
data           the mergeable analysis of bytes ``[0, position)`` and its accounting
reported_      the records in the table that run returned (it counts the open last record
records        too), so the next run can say how many are new
=============  ==================================================================================

A state directory is plain JSON (no pickle: reading one runs no code), but it is trusted input
all the same: a hand-edited state gives a wrong answer. Files are written atomically (a
temporary file, then ``os.replace``), so a run that is killed leaves the previous state.

When a file was rotated (another file at the path: another device or inode, or another start),
its state is kept under its identity (``inode-DEV-INO.json``): the old file read again under its
new name (``postgresql.log.1``) continues from it, and the new file at the path is read from 0.

A kept state does not stay for ever (:meth:`StateStore.prune_kept`, at every save): it goes once
its file has been read under its new name (the state is then that name's own), or once no file
with its device and inode is left at its path or at one of the path's rotated names
(:func:`rotated_names`: ``postgresql.log.1``, ``postgresql.log-20261207``; a compressed copy is
another file): the file was deleted or compressed, so nothing can continue from it. A path's own
state whose path no longer exists is kept like a rotated file's (under its identity), so it is
pruned by the same rule instead of staying for ever.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from importlib import metadata
from typing import Any

from .errors import InputError

# 3: a digest group's lock time is summed as whole nanoseconds (2: milliseconds, a float);
# 2: its durations are distinct values with their counts (1: every call's). A state of another
# version is not used (the file is read from 0 and the state replaced)
STATE_VERSION = 3
HEAD_BYTES = 4096   # the start of the file that identifies it (with the inode)
MARK_BYTES = 4096   # the bytes before the remembered position that must not have changed
_SUFFIX = ".json"
_KEPT = re.compile(r"inode-\d+-\d+")  # the key of a rotated file's kept state (a path's key has a hash)


def toolkit_version() -> str:
    try:
        return metadata.version("perf-toolkit")
    except metadata.PackageNotFoundError:  # a source tree that was not installed
        return "0+unknown"


def _sha(path: str, start: int, end: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            block = fh.read(min(left, 1 << 20))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


@dataclasses.dataclass
class FileState:
    """One input's remembered read (the fields are the module docstring's table)."""

    kind: str
    options: dict[str, Any]
    path: str
    device: int
    inode: int
    head_len: int
    head_sha: str
    size: int
    position: int
    mark_start: int
    mark_end: int
    mark_sha: str
    data: dict[str, Any]
    reported_records: int = 0  # the records of the table that run returned (for new_records)
    version: int = STATE_VERSION
    toolkit: str = dataclasses.field(default_factory=toolkit_version)

    @classmethod
    def of(cls, path: str, kind: str, options: dict[str, Any], size: int, position: int,
           data: dict[str, Any], readable_end: int) -> FileState:
        """The state of ``path`` read up to ``position`` (``size`` bytes seen; the bytes up to
        ``readable_end`` are whole lines that will not change in an appended-to file)."""
        st = os.stat(path)
        head_len = min(size, HEAD_BYTES)
        mark_start, mark_end = max(0, position - MARK_BYTES), max(position, min(readable_end, position + 256))
        return cls(kind=kind, options=normal(options), path=os.path.abspath(path), device=st.st_dev,
                   inode=st.st_ino, head_len=head_len, head_sha=_sha(path, 0, head_len), size=size,
                   position=position, mark_start=mark_start, mark_end=mark_end,
                   mark_sha=_sha(path, mark_start, mark_end), data=data)

    def changed(self, path: str) -> str | None:
        """Why the file at ``path`` cannot be read on from :attr:`position` (None: it can)."""
        st = os.stat(path)
        if (st.st_dev, st.st_ino) != (self.device, self.inode):
            return "another file at this path (rotated: another inode)"
        if st.st_size < self.size:
            return f"truncated ({self.size} bytes when last read, {st.st_size} now; copytruncate?)"
        if _sha(path, 0, self.head_len) != self.head_sha:
            return f"its first {self.head_len} bytes changed"
        if _sha(path, self.mark_start, self.mark_end) != self.mark_sha:
            return f"bytes {self.mark_start}-{self.mark_end} (before the remembered position) changed"
        return None

    def same_file(self, path: str) -> bool:
        """``path`` is this state's file, maybe under another name (same inode and start)."""
        st = os.stat(path)
        return ((st.st_dev, st.st_ino) == (self.device, self.inode) and st.st_size >= self.size
                and _sha(path, 0, self.head_len) == self.head_sha)


def normal(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as JSON gives them back (tuples as lists, keys sorted), so they compare."""
    return json.loads(json.dumps(options, sort_keys=True, default=str))


class StateStore:
    """The states of many inputs: a directory of JSON files (``StateStore("state/")``, created
    when missing), or, with no directory, a dict in memory (for one session).

        >>> import toolkit as tk
        >>> store = tk.StateStore("/var/tmp/perf-state")                        # doctest: +SKIP
        >>> tk.digest_file("/var/log/postgresql/postgresql.log", state=store)   # doctest: +SKIP
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = None if directory is None else os.fspath(directory)
        self._memory: dict[str, str] = {}
        if self.directory is not None:
            try:
                os.makedirs(self.directory, exist_ok=True)
            except OSError as exc:
                raise InputError(f"{self.directory}: cannot make the state folder ({exc.strerror or exc})") from exc

    @staticmethod
    def of(state: Any) -> StateStore:
        """``state`` as given to ``digest_file`` / ``endpoints``: a store, or a directory path."""
        return state if isinstance(state, StateStore) else StateStore(state)

    # -- names -----------------------------------------------------------------------------
    @staticmethod
    def _path_key(path: str) -> str:
        absolute = os.path.abspath(path)
        stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in os.path.basename(absolute))[:60]
        return f"{stem}-{hashlib.sha256(absolute.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"

    @staticmethod
    def _inode_key(device: int, inode: int) -> str:
        return f"inode-{device}-{inode}"

    def _get(self, key: str) -> str | None:
        if self.directory is None:
            return self._memory.get(key)
        try:  # (bytes that are not UTF-8 make JSON that does not parse: a note, not a crash)
            with open(os.path.join(self.directory, key + _SUFFIX), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"{self.directory}: cannot read the state of an input ({exc.strerror or exc})") from exc

    def _put(self, key: str, text: str) -> None:
        if self.directory is None:
            self._memory[key] = text
            return
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, os.path.join(self.directory, key + _SUFFIX))  # atomic: old or new, never half
        except OSError as exc:  # disk full, read-only folder...: the old state stays as it was
            raise InputError(f"{self.directory}: cannot write the state of an input "
                             f"({exc.strerror or exc})") from exc
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)

    def _drop(self, key: str) -> None:
        if self.directory is None:
            self._memory.pop(key, None)
        else:
            try:
                os.unlink(os.path.join(self.directory, key + _SUFFIX))
            except FileNotFoundError:
                pass

    # -- states ----------------------------------------------------------------------------
    @staticmethod
    def _parse(text: str | None) -> tuple[FileState | None, str]:
        if text is None:
            return None, ""
        try:
            raw = json.loads(text)
            state = FileState(**raw)
        except (ValueError, TypeError) as exc:
            return None, f"state file unreadable ({exc})"
        if state.version != STATE_VERSION or state.toolkit != toolkit_version():
            return None, (f"state written by perf-toolkit {state.toolkit} (state version {state.version}), "
                          f"this is {toolkit_version()} (version {STATE_VERSION})")
        return state, ""

    def load(self, path: str, kind: str, options: dict[str, Any]) -> tuple[FileState | None, str]:
        """The state to read ``path`` on from, or None and why the file is read from byte 0
        ("" for a file never read). A state of a rotated file is kept under its inode; a state
        for other options or of another toolkit version is not used (and replaced when saved)."""
        key = self._path_key(path)
        state, note = self._parse(self._get(key))
        if state is not None and state.kind != kind:
            state, note = None, ""
        if state is not None and state.options != normal(options):
            return None, "state written for other options " + _differences(state.options, normal(options))
        if state is not None:
            why = state.changed(path)
            if why is None:
                return state, ""
            if "rotated" in why:  # keep the old file's state: it may be read again under another name
                self._put(self._inode_key(state.device, state.inode), json.dumps(dataclasses.asdict(state)))
            note = why
        st = os.stat(path)  # a file read before under another name (postgresql.log -> .log.1)?
        moved, _ = self._parse(self._get(self._inode_key(st.st_dev, st.st_ino)))
        if (moved is not None and moved.kind == kind and moved.options == normal(options)
                and moved.same_file(path) and moved.changed(path) is None):
            return moved, ""
        return None, note

    def save(self, state: FileState) -> None:
        """Write ``state`` as its path's state file (atomically); then :meth:`prune_kept`."""
        self._put(self._path_key(state.path), json.dumps(dataclasses.asdict(state)))
        self._drop(self._inode_key(state.device, state.inode))  # (a moved file's state now lives here)
        self.prune_kept()

    def _keys(self, prefix: str) -> list[str]:
        if self.directory is None:
            return sorted(k for k in self._memory if k.startswith(prefix))
        return sorted(n[:-len(_SUFFIX)] for n in os.listdir(self.directory)
                      if n.startswith(prefix) and n.endswith(_SUFFIX))

    def prune_kept(self) -> list[str]:
        """Remove the kept states of rotated files (``inode-DEV-INO``) that no file can continue
        from any more: no file with that device and inode at the state's path or at one of its
        :func:`rotated_names` (deleted, or compressed into another file), or a state this
        toolkit cannot read. A path's own state whose path is gone (the log deleted, or renamed
        with nothing new at its path yet) is kept the same way, under its file's identity, so
        it goes too once no file can continue from it. Returns the keys removed."""
        gone = []
        for key in self._keys(""):
            if _KEPT.fullmatch(key):
                continue
            state, _ = self._parse(self._get(key))
            if state is not None and not os.path.lexists(state.path):
                kept = self._inode_key(state.device, state.inode)
                if self._get(kept) is None:
                    self._put(kept, json.dumps(dataclasses.asdict(state)))
                self._drop(key)
                gone.append(key)
        for key in self._keys("inode-"):
            if not _KEPT.fullmatch(key):
                continue
            state, _ = self._parse(self._get(key))
            if state is None or not any(_is_file(p, state.device, state.inode) for p in rotated_names(state.path)):
                self._drop(key)
                gone.append(key)
        return gone


def rotated_names(path: str) -> list[str]:
    """``path`` and the files beside it that rotation names after it: ``path`` followed by ``.``
    or ``-`` and anything (logrotate's ``postgresql.log.1``, ``postgresql.log.2.gz``, dateext's
    ``postgresql.log-20261207``)."""
    folder, base = os.path.split(os.path.abspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return [path]
    return [path] + [os.path.join(folder, n) for n in sorted(names)
                     if len(n) > len(base) + 1 and n.startswith(base) and n[len(base)] in ".-"]


def _is_file(path: str, device: int, inode: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return "(" + ", ".join(f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in keys) + ")"


def last_line_end(path: str, size: int) -> int:
    """The offset just after the last newline in the first ``size`` bytes (0: none): the bytes
    after it are a line still being written."""
    with open(path, "rb") as fh:
        end = size
        while end > 0:
            start = max(0, end - (1 << 16))
            fh.seek(start)
            block = fh.read(end - start)
            i = block.rfind(b"\n")
            if i >= 0:
                return start + i + 1
            end = start
    return 0


def start_of_last_lines(path: str, end: int, lines: int) -> int:
    """The offset where the last ``lines`` lines of bytes ``[0, end)`` start (an unfinished last
    line counts as one, as the readers count it)."""
    if lines <= 0:
        return end
    with open(path, "rb") as fh:
        fh.seek(max(0, end - 1))
        # the newline that ends the last line is not one before it; an unfinished line has none
        left = lines + 1 if fh.read(1) == b"\n" else lines
        pos = end
        while pos > 0:
            start = max(0, pos - (1 << 16))
            fh.seek(start)
            block = fh.read(pos - start)
            k = len(block)
            while (i := block.rfind(b"\n", 0, k)) >= 0:
                left -= 1
                if left == 0:
                    return start + i + 1
                k = i
            pos = start
    return 0


def run_summary(stored: FileState | None, start: int, size: int, records: int, pending: int,
                note: str) -> dict[str, Any]:
    """What an incremental run read, for the accounting: ``incremental`` (in words),
    ``new_bytes`` (appended since the last run: its size to this one's), ``bytes_read`` (from the
    remembered position on), ``new_records`` (this table's records less the last run's) and
    ``pending_bytes`` (at the end, not counted yet: an unfinished line, and for a query log the
    records from the last record start before it)."""
    before_size, before_records = (stored.size, stored.reported_records) if stored is not None else (0, 0)
    if stored is not None:
        how = f"resumed at byte {start}"
    elif note:
        how = f"read from byte 0 ({note})"
    else:
        how = "first read"
    new_bytes, new_records = size - before_size, records - before_records
    text = f"{how}: {new_bytes} new byte(s), {new_records} new record(s)"
    if pending:
        text += f"; the last {pending} byte(s) end in an unfinished line, counted when it is finished"
    return {"incremental": text, "new_bytes": new_bytes, "bytes_read": size - start,
            "new_records": new_records, "pending_bytes": pending}


def full_read_note(src: Any, why: str | None = None) -> dict[str, Any]:
    """The accounting's ``incremental`` for an input read whole despite a state: ``why``, else
    what keeps the source (:class:`toolkit.sources.Source`) from being read in byte ranges."""
    if why is None:
        why = (f"{src.compression}-compressed: no byte ranges" if src.compression
               else "not a file on disk: no byte ranges")
    return {"incremental": f"full read: {why}"}
