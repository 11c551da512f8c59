"""The Profile: one model for every profiler's output, built by one shared builder.

Each producer module (``pyspy``, ``speedscope``, ``chrometrace``, ``pyinstrument``, ``pstats``)
has a private generator of small records, ``Sample(stack, weight_s, samples, thread, process)``,
that feeds :class:`ProfileBuilder`, the way speedscope's importers feed its one profile builder.
The builder keeps unique (stack, thread, process) records with their summed weight and sample
count; every table is computed from those with numpy (grouping by stack and function ids), so a
million samples cost what their unique stacks cost.

A frame is ``(function, file, line, first_line)``: ``line`` is the line the producer wrote for
the frame (the executing line for py-spy and pyinstrument sessions, the definition line for
cProfile), ``first_line`` the function's first line where the producer records it. A *function*
is ``(function, file)``. Thread and process are columns of a record, never frames.

Example::

    >>> b = ProfileBuilder()
    >>> b.add([Frame("main", "app.py", 3), Frame("work", "app.py", 9)], 0.02, samples=2)
    >>> b.add([Frame("main", "app.py", 4)], 0.01, samples=1)
    >>> prof = b.build(format="example", rate_hz=100.0)
    >>> prof.functions()[["function", "self_s", "total_s"]].values.tolist()
    [['work', 0.02, 0.02], ['main', 0.01, 0.03]]
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import sysconfig
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import schema
from ..errors import InputError, ParseError
from ..sources import default_limits
from .export import frame_label, to_collapsed, to_speedscope


class Frame(NamedTuple):
    """One stack frame as a producer wrote it."""

    function: str
    file: str | None = None
    line: int | None = None
    first_line: int | None = None


class Sample(NamedTuple):
    """A record a reader yields: a stack (root first, Frames or interned frame ids), its weight
    in seconds and its sample count."""

    stack: Sequence[Frame] | Sequence[int]
    weight_s: float
    samples: int = 0
    thread: str | None = None
    process: str | None = None


class ProfileBuilder:
    """Collects records (from a reader's generator) into a :class:`Profile`.

    ``add`` interns frames and sums weights of identical (stack, thread, process) records.
    ``add_ids`` takes already interned frame ids (for readers that intern once per frame table).
    """

    def __init__(self) -> None:
        self._frame_ids: dict[Frame, int] = {}
        self._frames: list[Frame] = []
        self._records: dict[tuple[tuple[int, ...], str | None, str | None], list[float]] = {}
        self._held = 0  # frames in the distinct stacks, at most Limits.stack_frames
        self._most = default_limits().stack_frames

    def frame(self, frame: Frame) -> int:
        """The id of ``frame`` (interned)."""
        fid = self._frame_ids.get(frame)
        if fid is None:
            fid = len(self._frames)
            self._frame_ids[frame] = fid
            self._frames.append(frame)
        return fid

    def add(self, stack: Iterable[Frame], weight_s: float, samples: int = 0,
            thread: str | None = None, process: str | None = None) -> None:
        """Add ``weight_s`` seconds (and ``samples`` samples) to the stack, root first."""
        self.add_ids(tuple(map(self.frame, stack)), weight_s, samples, thread, process)

    def add_ids(self, ids: tuple[int, ...], weight_s: float, samples: int = 0,
                thread: str | None = None, process: str | None = None) -> None:
        key = (ids, thread, process)
        acc = self._records.get(key)
        if acc is None:
            self._held += len(ids)
            if self._held > self._most:
                raise ParseError(f"the profile's distinct stacks hold more than {self._most} frames "
                                 "(Limits.stack_frames)", expected="a profile of fewer or shallower stacks")
            self._records[key] = [float(weight_s), int(samples)]
        else:
            acc[0] += weight_s
            acc[1] += samples

    def feed(self, records: Iterable[Sample]) -> ProfileBuilder:
        """Add every record of a reader's generator. A record's stack holds Frames, or frame ids
        from :meth:`frame` (readers of big files intern each distinct frame once)."""
        for r in records:
            stack = r.stack
            if stack and type(stack[0]) is int:
                self.add_ids(tuple(stack), r.weight_s, r.samples, r.thread, r.process)
            else:
                self.add(stack, r.weight_s, r.samples, r.thread, r.process)
        return self

    def rename_threads(self, names: dict[str, str]) -> None:
        """Replace thread values (e.g. ids by ``name (id)``), merging records that meet."""
        if not names:
            return
        old, self._records = self._records, {}
        for (ids, thread, process), (w, c) in old.items():
            self.add_ids(ids, w, c, names.get(thread, thread) if thread is not None else None, process)

    def build(self, **meta: Any) -> Profile:
        """The Profile; ``meta`` keys: format, producer, path, rate_hz, rate_assumed, samples,
        has_lines, notes, function_table, duration_s, start_time, source."""
        keys = list(self._records)
        values = list(self._records.values())
        weights = np.fromiter((v[0] for v in values), dtype=np.float64, count=len(values))
        counts = np.fromiter((v[1] for v in values), dtype=np.int64, count=len(values))
        return Profile(self._frames, [k[0] for k in keys], weights, counts,
                       [k[1] for k in keys], [k[2] for k in keys], **meta)


# --- library classification -------------------------------------------------------------------

_LIB_DIRS = tuple({p for p in (sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("platstdlib"),
                               sys.base_prefix, sys.prefix) if p})
_LIB_MARKERS = ("site-packages", "dist-packages", "<frozen ", "/lib/python3", "\\lib\\python3")
_NATIVE = re.compile(r"\.so(\.\d+)*$|\.dylib$|\.dll$|\.pyd$")


def is_library(file: str | None, function: str = "") -> bool:
    """True for installed packages, the standard library, builtins and native code.

    Recognised by the path (``site-packages``, ``dist-packages``, ``lib/python3.X``,
    ``<frozen ...>``), cProfile's ``~`` builtins, ``<built-in ...>`` names and shared objects;
    a relative path (py-spy's short names) is the standard library when its first part is a
    standard-library module (``json/decoder.py``), else application code.
    """
    if function.startswith("<built-in") or function.startswith("<method "):
        return True
    if not file:
        return False
    if file == "~" or _NATIVE.search(file):
        return True
    if any(m in file for m in _LIB_MARKERS):
        return True
    if not os.path.isabs(file):  # py-spy's short names: "json/decoder.py", "threading.py"
        top = file.replace("\\", "/").split("/", 1)[0]
        return top.removesuffix(".py") in sys.stdlib_module_names
    return bool(os.path.isabs(file) and file.startswith(_LIB_DIRS) and "/home/" not in file
                and not file.startswith(os.getcwd()))


# --- the Profile --------------------------------------------------------------------------------

_FRAME_COLS = ["function", "file", "line", "first_line"]
# Tree levels with at most this many records that deep are walked frame by frame (see _tree_arrays).
_NARROW_LEVEL = 64
# A call path of more functions than this is shortened in tree()["path"] (see call_paths).
PATH_FUNCTIONS = 64
_PATH_HEAD, _PATH_TAIL = 16, 32


class Profile:
    """Where the time went: unique stacks with weights, and the tables computed from them.

    Attributes: ``duration_s`` (sum of all weights, s), ``samples`` (sample count or None when
    the producer does not sample, e.g. cProfile), ``rate_hz`` and ``rate_assumed`` (True when
    the file does not record its rate and a default or ``rate=`` was used), ``format``,
    ``producer``, ``path``, ``notes`` (list of str: assumptions and approximations), ``meta``.

    Tables (pandas DataFrames, times in seconds, percentages of ``duration_s``):
    :meth:`functions`, :meth:`lines`, :meth:`tree`, :meth:`stacks`, :meth:`hot_paths`.
    Filters return a new Profile: :meth:`focus`, :meth:`without_library`,
    :meth:`collapse_recursion`, :meth:`thread`.
    """

    def __init__(self, frames: Sequence[Frame], stacks: Sequence[tuple[int, ...]],
                 weights: np.ndarray, counts: np.ndarray, threads: Sequence[str | None],
                 processes: Sequence[str | None], *, format: str | None = None,
                 producer: str | None = None, path: str | None = None, rate_hz: float | None = None,
                 rate_assumed: bool = False, samples: int | None = None, has_lines: bool = False,
                 notes: Sequence[str] = (), function_table: pd.DataFrame | None = None,
                 duration_s: float | None = None, start_time: float | None = None,
                 source: dict | None = None, **extra: Any):
        self._frames = list(frames)
        self._stacks = [tuple(s) for s in stacks]
        self._weights = np.asarray(weights, dtype=np.float64)
        self._counts = np.asarray(counts, dtype=np.int64)
        self._threads = list(threads)
        self._processes = list(processes)
        self.format = format
        self.producer = producer
        self.path = path
        self.rate_hz = rate_hz
        self.rate_assumed = rate_assumed
        self.has_lines = has_lines
        self.notes = list(notes)
        self.start_time = start_time
        self.source = source or {}
        self.meta = dict(extra)
        self._function_table = function_table
        self._duration = duration_s
        if samples is None and rate_hz is not None:
            samples = int(self._counts.sum())
        self.samples = samples
        self._cache: dict[str, Any] = {}

    # -- basic facts --------------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        """Sum of all weights in seconds (for cProfile: the sum of every function's own time)."""
        if self._duration is not None:
            return float(self._duration)
        return float(self._weights.sum())

    @property
    def threads(self) -> list[str]:
        """The distinct thread names/ids, in first-seen order (None left out)."""
        return list(dict.fromkeys(t for t in self._threads if t is not None))

    def __repr__(self) -> str:
        parts = [self.format or "profile", f"{self.duration_s:.3f} s"]
        if self.samples is not None:
            rate = f" at {self.rate_hz:g} Hz" if self.rate_hz else ""
            parts.append(f"{self.samples} samples{rate}" + (" (rate assumed)" if self.rate_assumed else ""))
        if len(self.threads) > 1:
            parts.append(f"{len(self.threads)} threads")
        parts.append(f"{len(self._func_index()[1])} functions")
        return f"<Profile {', '.join(parts)}>"

    # -- vectorised internals ---------------------------------------------------------------

    def _frame_table(self) -> pd.DataFrame:
        if "frames" not in self._cache:
            df = pd.DataFrame(self._frames, columns=_FRAME_COLS)
            if df.empty:
                df = pd.DataFrame({"function": pd.Series([], dtype=object), "file": pd.Series([], dtype=object),
                                   "line": pd.Series([], dtype="Int64"), "first_line": pd.Series([], dtype="Int64")})
            df["line"] = df["line"].astype("Int64")
            df["first_line"] = df["first_line"].astype("Int64")
            self._cache["frames"] = df
        return self._cache["frames"]

    def _func_index(self) -> tuple[np.ndarray, list[tuple[str, str | None]]]:
        """frame id -> function id, and the function keys (function, file)."""
        if "func" not in self._cache:
            ids: dict[tuple[str, str | None], int] = {}
            of_frame = np.fromiter((ids.setdefault((f.function, f.file), len(ids)) for f in self._frames),
                                   dtype=np.int64, count=len(self._frames))
            self._cache["func"] = (of_frame, list(ids))
        return self._cache["func"]

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR form of the stacks: flat frame ids, lengths, offsets (len n+1)."""
        if "flat" not in self._cache:
            lengths = np.fromiter(map(len, self._stacks), dtype=np.int64, count=len(self._stacks))
            flat = np.fromiter(itertools.chain.from_iterable(self._stacks), dtype=np.int64,
                               count=int(lengths.sum()))
            offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            self._cache["flat"] = (flat, lengths, offsets)
        return self._cache["flat"]

    def _function_rows(self) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str | None]]]:
        of_frame, keys = self._func_index()
        nfunc = len(keys)
        flat, lengths, offsets = self._flat()
        w = self._weights
        nonempty = lengths > 0
        leaf_frames = flat[offsets[1:][nonempty] - 1]
        self_s = np.bincount(of_frame[leaf_frames], weights=w[nonempty], minlength=nfunc)
        rec = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        key = np.sort(rec * max(nfunc, 1) + of_frame[flat])  # each function once per stack
        if len(key):
            key = key[np.concatenate(([True], key[1:] != key[:-1]))]
        total_s = np.bincount(key % max(nfunc, 1), weights=w[key // max(nfunc, 1)], minlength=nfunc)
        return self_s, total_s, keys

    def _pct(self, seconds: pd.Series) -> pd.Series:
        d = self.duration_s
        return seconds * (100.0 / d) if d > 0 else seconds * 0.0

    # -- tables -------------------------------------------------------------------------------

    def functions(self) -> pd.DataFrame:
        """One row per function (function, file): ``function, file, line, self_s, total_s,
        self_pct, total_pct`` (plus ``samples`` for sampled profiles: leaf samples), sorted by
        ``self_s`` descending. Recursion is counted once in ``total_s``; ``line`` is the
        function's first line where known, else the lowest line seen.

        >>> prof.functions().head(3)     # doctest: +SKIP
        """
        if self._function_table is not None:
            df = self._function_table.copy()
            df["self_pct"] = self._pct(df["self_s"])
            df["total_pct"] = self._pct(df["total_s"])
            df = df.sort_values(["self_s", "total_s"], ascending=False, kind="stable").reset_index(drop=True)
            return schema.coerce(df, "profile_functions")
        if not self._frames:
            return schema.empty("profile_functions")
        self_s, total_s, keys = self._function_rows()
        of_frame, _ = self._func_index()
        frames = self._frame_table()
        first = frames["first_line"].groupby(of_frame).min()
        lowest = frames["line"].groupby(of_frame).min()
        line = first.fillna(lowest).reindex(range(len(keys)))
        df = pd.DataFrame({"function": [k[0] for k in keys], "file": [k[1] for k in keys],
                           "line": line.to_numpy(), "self_s": self_s, "total_s": total_s})
        if self.samples is not None:
            flat, lengths, offsets = self._flat()
            nonempty = lengths > 0
            leaf = flat[offsets[1:][nonempty] - 1]
            df["samples"] = np.bincount(of_frame[leaf], weights=self._counts[nonempty],
                                        minlength=len(keys)).astype(np.int64)
        df = df[df["total_s"] > 0] if (df["total_s"] > 0).any() else df
        df["self_pct"] = self._pct(df["self_s"])
        df["total_pct"] = self._pct(df["total_s"])
        df = df.sort_values(["self_s", "total_s"], ascending=False, kind="stable").reset_index(drop=True)
        return schema.coerce(df, "profile_functions")

    def lines(self) -> pd.DataFrame:
        """Where inside each function the time goes: ``function, file, line, self_s`` (the
        executing line of the leaf frame), sorted by ``self_s`` descending. Empty (with the
        columns) when the producer does not record executing lines (cProfile, pyinstrument's
        processed ``-r json`` tree)."""
        if not self.has_lines or not self._frames:
            return schema.empty("profile_lines")
        flat, lengths, offsets = self._flat()
        nonempty = lengths > 0
        leaf = flat[offsets[1:][nonempty] - 1]
        by_frame = np.bincount(leaf, weights=self._weights[nonempty], minlength=len(self._frames))
        frames = self._frame_table()[["function", "file", "line"]].assign(self_s=by_frame)
        frames = frames[frames["self_s"] > 0]
        df = (frames.groupby(["function", "file", "line"], dropna=False, sort=False, as_index=False)["self_s"].sum()
              .sort_values("self_s", ascending=False, kind="stable").reset_index(drop=True))
        df["pct"] = self._pct(df["self_s"])
        return schema.coerce(df, "profile_lines")

    def _tree_arrays(self) -> dict[str, np.ndarray]:
        """The call tree by function: per node parent, function id, depth, self, total; and
        per record its leaf node. Parents get lower ids than their children.

        Built level by level, nodes numbered by level, then parent, then function: with
        np.unique over the records still that deep (longest first, so they are a prefix of one
        ordering), no per-sample loop, each level costing what its own frames cost. Once few
        records go deeper (a 50,000-frame recursion), the rest of the levels are done in plain
        Python: a numpy round per level would cost more than the level itself. Linear in the
        frames of the unique stacks either way.
        """
        if "tree" in self._cache:
            return self._cache["tree"]
        of_frame, keys = self._func_index()
        nfunc = max(len(keys), 1)
        flat, lengths, offsets = self._flat()
        fn_flat = of_frame[flat]
        n = len(lengths)
        current = np.full(n, -1, dtype=np.int64)
        parents, funcs, depths = [], [], []
        next_id = 0
        maxdepth = int(lengths.max()) if n else 0
        deepest_first = np.argsort(-lengths, kind="stable")
        descending = -lengths[deepest_first]  # ascending, for searchsorted
        d = 0
        while d < maxdepth:
            deeper = int(np.searchsorted(descending, -d, side="left"))  # records with length > d
            if deeper <= _NARROW_LEVEL:
                break
            active = deepest_first[:deeper]
            f = fn_flat[offsets[active] + d]
            key = (current[active] + 1) * nfunc + f
            uniq, inv = np.unique(key, return_inverse=True)
            parents.append(uniq // nfunc - 1)
            funcs.append(uniq % nfunc)
            depths.append(np.full(len(uniq), d, dtype=np.int64))
            current[active] = next_id + inv
            next_id += len(uniq)
            d += 1
        levels = next_id  # nodes made with numpy; the narrow rest follows
        tail_levels: list[int] = []  # where each of the rest's levels starts
        if d < maxdepth:
            # the same levels, numbered the same way (by parent, then function), in plain Python
            tail_parent: list[int] = []
            tail_func: list[int] = []
            tail_depth: list[int] = []
            fn_list = fn_flat.tolist()
            deep = deepest_first[:int(np.searchsorted(descending, -d, side="left"))].tolist()
            length = {r: int(lengths[r]) for r in deep}
            base = {r: int(offsets[r]) for r in deep}
            node = {r: int(current[r]) for r in deep}
            for depth in range(d, maxdepth):
                tail_levels.append(next_id)
                while length[deep[-1]] <= depth:  # deepest first: the shallowest are at the end
                    deep.pop()
                groups: dict[tuple[int, int], list[int]] = {}
                for r in deep:
                    groups.setdefault((node[r], fn_list[base[r] + depth]), []).append(r)
                for key in sorted(groups):
                    tail_parent.append(key[0])
                    tail_func.append(key[1])
                    tail_depth.append(depth)
                    for r in groups[key]:
                        node[r] = next_id
                    next_id += 1
            for r, leaf in node.items():
                current[r] = leaf
            parents.append(np.array(tail_parent, dtype=np.int64))
            funcs.append(np.array(tail_func, dtype=np.int64))
            depths.append(np.array(tail_depth, dtype=np.int64))
        parent = np.concatenate(parents) if parents else np.zeros(0, dtype=np.int64)
        func = np.concatenate(funcs) if funcs else np.zeros(0, dtype=np.int64)
        depth = np.concatenate(depths) if depths else np.zeros(0, dtype=np.int64)
        nonempty = lengths > 0
        self_s = np.bincount(current[nonempty], weights=self._weights[nonempty], minlength=next_id)
        total_s = self_s.copy()
        # children before parents, level by level (contiguous id ranges), deepest first, each
        # level in id order (the order np.add.at adds in, so sums round the same either way):
        # the narrow rest node by node, then the numpy levels
        if tail_levels:
            tail_total, up = total_s.tolist(), parent.tolist()
            for lo, hi in reversed(list(zip(tail_levels, [*tail_levels[1:], next_id], strict=True))):
                for i in range(lo, hi):
                    if up[i] >= 0:
                        tail_total[up[i]] += tail_total[i]
            total_s = np.asarray(tail_total, dtype=np.float64)
        bounds = np.searchsorted(depth[:levels], np.arange(d + 1), side="left")
        for lv in range(d - 1, 0, -1):
            rows = slice(bounds[lv], bounds[lv + 1])
            np.add.at(total_s, parent[rows], total_s[rows])
        out = {"parent": parent, "func": func, "depth": depth, "self_s": self_s, "total_s": total_s,
               "leaf": current}
        self._cache["tree"] = out
        return out

    def tree(self) -> pd.DataFrame:
        """The call tree, one node per call path of functions: ``node_id, parent_id (null for
        roots), depth (0 for roots), function, file, line, self_s, total_s`` plus ``path``
        (functions root first joined by ';', shortened past 64 functions: see
        :func:`call_paths`) and ``total_pct``. Parents come before children."""
        if self._function_table is not None and not self._stacks:
            return schema.empty("profile_tree")
        if "tree_df" not in self._cache:  # hot_paths and the flame graphs ask again
            self._cache["tree_df"] = self._tree_frame()
        return self._cache["tree_df"].copy()

    def _tree_frame(self) -> pd.DataFrame:
        t = self._tree_arrays()
        if len(t["func"]) == 0:
            return schema.empty("profile_tree")
        fdf = self._functions_lookup()
        names = fdf["function"].to_numpy(dtype=object)
        func = t["func"]
        parent = t["parent"]
        paths = call_paths(parent.tolist(), names[func].tolist())
        df = pd.DataFrame({
            "node_id": np.arange(len(func), dtype=np.int64),
            "parent_id": pd.array(np.where(parent < 0, 0, parent), dtype="Int64"),
            "depth": t["depth"], "function": names[func],
            "file": fdf["file"].to_numpy(dtype=object)[func],
            "line": fdf["line"].to_numpy()[func], "self_s": t["self_s"], "total_s": t["total_s"],
            "path": paths})
        df.loc[parent < 0, "parent_id"] = pd.NA
        df["total_pct"] = self._pct(df["total_s"])
        return schema.coerce(df, "profile_tree")

    def _functions_lookup(self) -> pd.DataFrame:
        """function, file, line per function id (line as in :meth:`functions`)."""
        of_frame, keys = self._func_index()
        frames = self._frame_table()
        first = frames["first_line"].groupby(of_frame).min()
        lowest = frames["line"].groupby(of_frame).min()
        line = first.fillna(lowest).reindex(range(len(keys)))
        return pd.DataFrame({"function": [k[0] for k in keys], "file": [k[1] for k in keys],
                             "line": line.astype("Int64").to_numpy()})

    def stacks(self) -> pd.DataFrame:
        """One row per unique stack and thread: ``stack`` (frames ``name (file:line)`` root
        first, joined by ';'), ``weight_s``, ``thread``, plus ``samples`` and ``process``."""
        if not self._stacks:
            return schema.empty("profile_stacks")
        labels = [frame_label(f.function, f.file, f.line) for f in self._frames]
        stack = [";".join([labels[i] for i in s]) for s in self._stacks]
        df = pd.DataFrame({"stack": stack, "weight_s": self._weights, "thread": self._threads,
                           "samples": self._counts, "process": self._processes})
        df = df.sort_values("weight_s", ascending=False, kind="stable").reset_index(drop=True)
        return schema.coerce(df, "profile_stacks")

    def hot_paths(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` heaviest root-to-leaf call paths by self time at the leaf: ``path``
        (functions root first, ';'), ``function``, ``file``, ``line`` (leaf), ``self_s``,
        ``pct`` (of duration), ``depth``, ``node_id`` (in :meth:`tree`)."""
        tree = self.tree()
        cols = ["path", "function", "file", "line", "self_s", "pct", "depth", "node_id"]
        if tree.empty:
            return pd.DataFrame({c: [] for c in cols})
        top = tree[tree["self_s"] > 0].nlargest(n, "self_s", keep="first")
        out = top.assign(pct=self._pct(top["self_s"]))[cols].reset_index(drop=True)
        return out

    # -- filters (each returns a new Profile) ----------------------------------------------

    def _derive(self, stacks: list[tuple[int, ...]], keep: np.ndarray | None = None,
                note: str | None = None) -> Profile:
        """A new Profile over the same frames with rewritten stacks (records may merge)."""
        idx = np.arange(len(self._stacks)) if keep is None else np.nonzero(keep)[0]
        b = ProfileBuilder()
        b._frames = list(self._frames)
        b._frame_ids = {f: i for i, f in enumerate(self._frames)}
        for i in idx.tolist():
            b.add_ids(stacks[i], float(self._weights[i]), int(self._counts[i]), self._threads[i],
                      self._processes[i])
        notes = self.notes + ([note] if note else [])
        kept_samples = int(self._counts[idx].sum()) if self.samples is not None else None
        return b.build(format=self.format, producer=self.producer, path=self.path, rate_hz=self.rate_hz,
                       rate_assumed=self.rate_assumed, samples=kept_samples, has_lines=self.has_lines,
                       notes=notes, start_time=self.start_time, source=self.source, **self.meta)

    def _match(self, function: str, file: str | None) -> set[int]:
        ids = {i for i, f in enumerate(self._frames)
               if (f.function == function or f.function.rsplit(".", 1)[-1] == function)
               and (file is None or f.file == file or (f.file or "").endswith(file))}
        if not ids:
            raise InputError(f"no function named {function!r}" + (f" in {file!r}" if file else "")
                             + " in this profile")
        return ids

    def focus(self, function: str, file: str | None = None) -> Profile:
        """Only the stacks through ``function`` (name or qualified name), each cut to start at
        its first occurrence: the function becomes the root, as speedscope's "focus" does."""
        ids = self._match(function, file)
        stacks: list[tuple[int, ...]] = []
        keep = np.zeros(len(self._stacks), dtype=bool)
        for i, s in enumerate(self._stacks):
            for j, fid in enumerate(s):
                if fid in ids:
                    stacks.append(s[j:])
                    keep[i] = True
                    break
            else:
                stacks.append(s)
        return self._derive(stacks, keep, note=f"focused on {function}")

    def without_library(self, mode: str = "collapse",
                        is_lib: Callable[[str | None, str], bool] = is_library) -> Profile:
        """Library and standard-library frames removed from every stack.

        ``mode="collapse"`` keeps the first frame of each run of library frames (the call into
        the library, which then holds the library's time as its own); ``mode="drop"`` removes
        them all (their time becomes the calling application function's own time; stacks made
        only of library frames keep their outermost frame). ``is_lib(file, function)`` decides.
        """
        if mode not in ("collapse", "drop"):
            raise ValueError("mode must be 'collapse' or 'drop'")
        lib = [is_lib(f.file, f.function) for f in self._frames]
        stacks = []
        for s in self._stacks:
            out: list[int] = []
            prev_lib = False
            for fid in s:
                if lib[fid]:
                    if not prev_lib and (mode == "collapse" or not out):
                        out.append(fid)
                    prev_lib = True
                else:
                    out.append(fid)
                    prev_lib = False
            if mode == "drop" and len(out) > 1 and lib[out[0]]:
                out = out[1:] if any(not lib[f] for f in out) else out
            stacks.append(tuple(out))
        return self._derive(stacks, note=f"library frames {'collapsed' if mode == 'collapse' else 'dropped'}")

    def collapse_recursion(self) -> Profile:
        """Recursion folded: when a function re-enters (directly or through others), the frames
        of the cycle are removed so it appears once per stack, at its outermost call."""
        of_frame, _ = self._func_index()
        stacks = []
        for s in self._stacks:
            out: list[int] = []
            pos: dict[int, int] = {}
            for fid in s:
                fn = int(of_frame[fid])
                if fn in pos:
                    cut = pos[fn]
                    for dropped in out[cut + 1:]:
                        pos.pop(int(of_frame[dropped]), None)
                    del out[cut + 1:]  # in place: a copy of the kept part per cut is quadratic
                else:
                    pos[fn] = len(out)
                    out.append(fid)
            stacks.append(tuple(out))
        return self._derive(stacks, note="recursion collapsed")

    def thread(self, name: str) -> Profile:
        """Only the samples of one thread (exact name/id, else the one containing ``name``)."""
        names = self.threads
        chosen = [t for t in names if t == str(name)] or [t for t in names if str(name) in t]
        if len(chosen) != 1:
            raise InputError(f"thread {name!r} matches {len(chosen)} of the threads {names}")
        keep = np.array([t == chosen[0] for t in self._threads], dtype=bool)
        return self._derive(self._stacks, keep, note=f"thread {chosen[0]} only")

    def call_path(self, node_id: int) -> list[str]:
        """The functions from the root to the node ``node_id`` of :meth:`tree` (as
        :meth:`hot_paths` names its rows): a list, so a function whose name holds ';' (a
        py-spy process frame's command line) stays one function."""
        tree = self.tree()
        parent = dict(zip(tree["node_id"].tolist(), tree["parent_id"].tolist(), strict=True))
        name = dict(zip(tree["node_id"].tolist(), tree["function"].tolist(), strict=True))
        if node_id not in name:
            raise InputError(f"no node {node_id} in this profile's tree")
        path: list[str] = []
        node: Any = node_id
        while node is not None and node is not pd.NA and node in name:
            path.append(str(name[node]))
            node = parent[node]
        return path[::-1]

    def busiest_thread(self) -> Profile:
        """The samples of the thread with the most time (this Profile itself when it records
        one thread, or none): where a program's work is, away from threads that only wait."""
        names = self.threads
        if len(names) < 2:
            return self
        weight = pd.Series(self._weights).groupby(pd.Series(self._threads, dtype=object)).sum()
        return self.thread(str(weight.idxmax()))

    # -- export -------------------------------------------------------------------------------

    def to_speedscope(self, path: str | os.PathLike) -> str:
        """Write a speedscope file (one sampled profile per thread); returns the path."""
        return to_speedscope(self, path)

    def to_collapsed(self, path: str | os.PathLike, **options: Any) -> str:
        """Write collapsed stacks (flamegraph.pl / inferno input); returns the path."""
        return to_collapsed(self, path, **options)


def call_paths(parent: Sequence[int], names: Sequence[str]) -> list[str]:
    """Each node's call path: the names from its root down to it, joined by ';'. Nodes are
    listed parents first; ``parent`` is -1 for a root.

    A path of more than ``PATH_FUNCTIONS`` (64) names keeps its first 16 and last 32 around
    ``…N more #digest…``, where ``digest`` (16 hex digits of blake2b over the whole path) keeps
    distinct paths distinct and equal paths equal, in any profile: so the paths of a
    50,000-deep recursion take linear, not quadratic, memory, and still match path by path
    (:func:`diff_profiles`).

        >>> call_paths([-1, 0, 1], ["main", "work", "leaf"])
        ['main', 'main;work', 'main;work;leaf']
    """
    import hashlib

    out: list[str] = []
    depth: list[int] = []
    head: list[str | None] = []  # the path of the ancestor at depth _PATH_HEAD - 1
    tail: list[tuple[str, ...] | None] = []  # the last _PATH_TAIL names (deep nodes only)
    digest: list[bytes | None] = []  # of the whole path (deep nodes only)
    for p, name in zip(parent, names, strict=True):
        name = str(name)
        d = 0 if p < 0 else depth[p] + 1
        depth.append(d)
        if d < PATH_FUNCTIONS:
            path = name if p < 0 else f"{out[p]};{name}"
            out.append(path)
            head.append(path if d == _PATH_HEAD - 1 else head[p] if d >= _PATH_HEAD else None)
            tail.append(None)
            digest.append(None)
            continue
        if tail[p] is None:  # the parent is the last node with a whole path: start from it
            names_up, k = [], p
            while len(names_up) < _PATH_TAIL - 1:
                names_up.append(str(names[k]))
                k = parent[k]
            tail_p: tuple[str, ...] = tuple(reversed(names_up))
            before = out[p].encode("utf-8", "surrogatepass")
        else:
            tail_p = tail[p][1:]
            before = digest[p]
        mine = (*tail_p, name)
        dig = hashlib.blake2b(before + b"\x1f" + name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        head.append(head[p])
        tail.append(mine)
        digest.append(dig)
        middle = d + 1 - _PATH_HEAD - _PATH_TAIL
        out.append(f"{head[p]};…{middle} more #{dig.hex()}…;{';'.join(mine)}")
    return out


# --- comparing and merging --------------------------------------------------------------------

def diff_profiles(before: Profile, after: Profile, level: str = "function") -> pd.DataFrame:
    """Compare two profiles.

    ``level="function"``: one row per (function, file) with ``self_before_s, self_after_s,
    self_delta_s, self_ratio, total_before_s, total_after_s, total_delta_s, total_ratio``
    (ratio = after / before; inf when new, 0 when gone), sorted by ``|self_delta_s|``
    descending. ``level="path"``: the same per call path (``path``, functions joined by ';')
    with ``self_*`` and ``total_*`` from :meth:`Profile.tree`.
    """
    if level == "function":
        keys = ["function", "file"]
        a = before.functions()[keys + ["line", "self_s", "total_s"]]
        b = after.functions()[keys + ["line", "self_s", "total_s"]]
    elif level == "path":
        keys = ["path"]
        a = before.tree()
        b = after.tree()
        a = a[["path", "function", "file", "self_s", "total_s"]] if "path" in a else a
        b = b[["path", "function", "file", "self_s", "total_s"]] if "path" in b else b
    else:
        raise ValueError("level must be 'function' or 'path'")
    m = a.merge(b, on=keys, how="outer", suffixes=("_before", "_after"))
    for c in ("self", "total"):
        bef = m[f"{c}_s_before"].astype(float).fillna(0.0)
        aft = m[f"{c}_s_after"].astype(float).fillna(0.0)
        m[f"{c}_before_s"] = bef
        m[f"{c}_after_s"] = aft
        m[f"{c}_delta_s"] = aft - bef
        with np.errstate(divide="ignore", invalid="ignore"):
            m[f"{c}_ratio"] = np.where(bef > 0, aft / np.where(bef > 0, bef, 1), np.where(aft > 0, np.inf, np.nan))
    if level == "function":
        m["line"] = m["line_before"].fillna(m["line_after"]).astype("Int64")
        lead = ["function", "file", "line"]
    else:
        m["function"] = m["function_before"].fillna(m["function_after"])
        m["file"] = m["file_before"].fillna(m["file_after"])
        lead = ["path", "function", "file"]
    cols = lead + [f"{c}_{w}" for c in ("self", "total") for w in ("before_s", "after_s", "delta_s", "ratio")]
    out = m[cols]
    order = out["self_delta_s"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


def merge_profiles(*profiles: Profile) -> Profile:
    """One Profile holding every stack of ``profiles`` (weights of identical stacks summed).

    Keeps the rate when all share it; sample counts add up; notes say what was merged.
    """
    if len(profiles) == 1 and not isinstance(profiles[0], Profile):
        profiles = tuple(profiles[0])
    if not profiles:
        raise InputError("merge_profiles needs at least one Profile")
    b = ProfileBuilder()
    for p in profiles:
        if not isinstance(p, Profile):
            raise InputError(f"merge_profiles takes Profiles, not {type(p).__name__}")
        ids = [b.frame(f) for f in p._frames]
        for s, w, c, t, pr in zip(p._stacks, p._weights.tolist(), p._counts.tolist(), p._threads, p._processes, strict=True):
            b.add_ids(tuple(ids[i] for i in s), w, c, t, pr)
    rates = {p.rate_hz for p in profiles}
    sampled = all(p.samples is not None for p in profiles)
    fmts = {p.format for p in profiles}
    return b.build(format=fmts.pop() if len(fmts) == 1 else "merged", producer="merge_profiles",
                   rate_hz=rates.pop() if len(rates) == 1 else None,
                   rate_assumed=any(p.rate_assumed for p in profiles),
                   samples=sum(p.samples for p in profiles) if sampled else None,
                   has_lines=all(p.has_lines for p in profiles),
                   notes=[f"merged from {len(profiles)} profiles"])
