"""py-spy ``record --format raw`` (collapsed / folded stacks), and any FlameGraph folded file.

Format: https://github.com/benfred/py-spy/blob/v0.4.3/src/flamegraph.rs (``write_raw``) and
Brendan Gregg's ``stackcollapse`` output (https://github.com/brendangregg/FlameGraph/blob/
41fee1f99f9276008b7cd112fca19dc3ea84ac32/flamegraph.pl, "input format"). One line per unique
stack, frames root first joined by ``;``, a space, the sample count; lines in no order::

    <module> (demo.py:115);main (demo.py:108);run (demo.py:93);dedupe (demo.py:72) 41

Quirks, each seen in ``sample_traces/profiles/py-spy``:

- ``--nolineno``: ``dedupe (demo.py)``; ``--full-filenames``: ``dedupe (/work/.../demo.py:72)``.
- ``-t`` adds a root frame ``thread (12921)`` or ``thread (12921): MainThread``; the same thread
  may appear with and without its name. It becomes the ``thread`` column (``MainThread (12921)``).
- ``-s`` adds ``process 12255:"python demo.py --tag a;b`` + newline + ``c"`` frames: the command
  line may hold ``;`` and newlines, so one record can span lines. It becomes ``process``.
- ``--native``: ``0x7f996da3b24a (libc.so.6)``, ``encoder_call (_json.c:1305)``: kept as frames.
- A line with an empty stack (`` 2``) or only a thread frame (``thread (12927) 4``) is a sample
  without Python frames: counted in the duration, in no function.
- The file does not record the sampling rate: ``rate=`` (Hz, default py-spy's 100) converts
  counts to seconds and the Profile says the rate was assumed.
- Numbers are read by :mod:`toolkit.schema`: a count in other digits (``١٢``), beyond int64 or
  not finite skips its line with the reason; a frame's line number in other digits or beyond a
  C int becomes null (the frame stays).

Example::

    >>> prof = read_pyspy_raw("sample_traces/profiles/py-spy/demo_slow.txt", rate=100)  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterator
from typing import Any

from .. import formats, schema
from ..errors import ParseError
from ..sources import HEAD_BYTES, Source, open_source
from ._io import line_number
from .model import Frame, ProfileBuilder, Sample

DEFAULT_RATE = 100.0
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::(?P<line>-?\d+))?\)$", re.S)
_THREAD = re.compile(r"^thread \((?P<id>[^)]*)\)(?:: (?P<name>.*))?$", re.S)
_PROCESS = re.compile(r'^process (?P<pid>\d+):"(?P<cmd>.*)"$', re.S)
_TOKENS = re.compile(r'process \d+:"[^"]*"|[^;]+')
_COUNT = re.compile(r"^(?P<stack>.*) (?P<count>\d+(?:\.\d+)?)$", re.S)
_COUNT_TEXT = re.compile(r"\d+(?:\.\d+)?\Z")  # the count's shape; toolkit.schema reads its value


def _parse_frame(text: str) -> Frame:
    m = _FRAME.match(text)
    if m is None:
        return Frame(text)
    # a line number that is not one (other digits, beyond a C int) is left out: the frame stays
    return Frame(m.group("name"), m.group("file"), line_number(m.group("line"))[0])


_PROCESS_START = re.compile(r'process \d+:"')
MAX_JOINED = 100  # physical lines one -s command line may span


def _logical_lines(src: Source) -> Iterator[tuple[int, int, str]]:
    """(first line, physical line count, text): a record that starts with a process frame whose
    command line holds newlines spans several physical lines (its quotes are unbalanced until
    the end). A quote elsewhere, or one not closed within :data:`MAX_JOINED` lines (damage),
    joins nothing: those lines are read one by one."""
    buf: list[tuple[int, str]] = []
    lines = src.iter_lines()
    again: collections.deque = collections.deque()
    while True:
        item = again.popleft() if again else next(lines, None)
        if item is None:
            break
        buf.append(item)
        if _PROCESS_START.match(buf[0][1]) and sum(line.count('"') for _, line in buf) % 2:
            if len(buf) < MAX_JOINED:
                continue
            again.extendleft(reversed(buf[1:]))  # never closed: the first line alone
            buf = buf[:1]
        yield buf[0][0], len(buf), "\n".join(line for _, line in buf)
        buf = []
    if buf:  # the file ends inside a command line: a record if it ends with a count
        yield buf[0][0], len(buf), "\n".join(line for _, line in buf)


def _records(src: Source, rate: float, threads: dict[str, str], b: ProfileBuilder) -> Iterator[Sample]:
    """One Sample per line (stacks as frame ids, each distinct frame text parsed and interned
    once); thread names seen go into ``threads`` (id -> name)."""
    cache: dict[str, int | tuple[str, str]] = {}
    get = cache.get
    acc = src.accounting

    def intern(part: str) -> int | tuple[str, str]:
        t = _THREAD.match(part) if part.startswith("thread (") else None
        p = _PROCESS.match(part) if part.startswith("process ") else None
        if t:
            value: int | tuple[str, str] = ("thread", t.group("id"))
            if t.group("name"):
                threads[t.group("id")] = t.group("name")
        elif p:
            value = ("process", f"{p.group('pid')} {p.group('cmd')}")
        else:
            value = b.frame(_parse_frame(part))
        cache[part] = value
        return value

    for first, nlines, text in _logical_lines(src):
        stack_text, _, count_text = text.rpartition(" ")
        if not _COUNT_TEXT.match(count_text):
            reason = "blank line" if not text.strip() else "no sample count at the end of the line"
            acc.skip(first, reason, text, count=nlines)
            continue
        # a count in other digits, too big for a sample count, or not finite: the line is skipped
        count, why = schema.float_value(count_text, "sample count", lo=0.0)
        samples = 0
        if why is None and count.is_integer():
            samples, why = schema.int_value(count, "sample count", lo=0)
        if why is not None:
            acc.skip(first, why, text, count=nlines)
            continue
        parts = _TOKENS.findall(stack_text) if '"' in stack_text else stack_text.split(";")
        ids: list[int] = []
        thread = process = None
        for part in parts:
            v = get(part)
            if v is None:
                if not part:
                    continue
                v = intern(part)
            if v.__class__ is int:
                ids.append(v)
            elif v[0] == "thread":
                thread = v[1]
            else:
                process = v[1]
        acc.records += nlines
        yield Sample(tuple(ids), count / rate, samples, thread, process)


def sidecar_rate(path: str) -> float | None:
    """The sampling rate written in ``PATH.rate`` beside a raw file (Hz, as given to
    ``py-spy record --rate``), or None when there is none; a file that holds no positive number
    is a ParseError naming it."""
    side = path + ".rate"
    if not os.path.isfile(side):
        return None
    with open(side, encoding="utf-8", errors="replace") as fh:
        text = fh.read(100).strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ParseError(f"expected a sampling rate in Hz (a positive number), got {text[:40]!r}", side, 1,
                         expected="py-spy's --rate")
    return value


def read_pyspy_raw(source: Any, *, rate: float | None = None, errors: str = "skip") -> Any:
    """Read py-spy raw output or any folded-stacks file into a :class:`Profile`.

    ``rate``: samples per second used to turn counts into seconds. The file does not say: without
    ``rate``, a ``NAME.rate`` file beside it gives it (the number passed to ``py-spy record
    --rate``), else py-spy's default 100 is assumed, ``profile.rate_assumed`` is True and every
    output says so.
    """
    src = open_source(source, errors=errors)
    src.accounting.format = "pyspy-raw"
    given = "given by the caller"
    if rate is None and src.path:
        rate, given = sidecar_rate(src.path), f"from {os.path.basename(src.path)}.rate"
    assumed = rate is None
    hz = float(DEFAULT_RATE if rate is None else rate)
    if not 0 < hz < float("inf"):
        raise ValueError("rate must be a positive number of samples per second")
    threads: dict[str, str] = {}
    b = ProfileBuilder()
    b.feed(_records(src, hz, threads, b))
    b.rename_threads({tid: f"{name} ({tid})" for tid, name in threads.items()})
    has_lines = any(f.line is not None for f in b._frames)
    notes = [f"the file does not record its sampling rate: assumed {hz:g} Hz (py-spy's default); "
             f"pass rate= (perf-toolkit analyze --rate) or write it in {os.path.basename(src.name)}.rate"] \
        if assumed else [f"rate {hz:g} Hz {given}"]
    if src.accounting.lines_read and not b._records and src.accounting.lines_skipped:
        raise ParseError("no line looks like folded stacks ('frame;frame;... COUNT')", src.name, 1,
                         expected="py-spy raw / collapsed stacks")
    return b.build(format="pyspy-raw", producer="py-spy", path=src.path, rate_hz=hz, rate_assumed=assumed,
                   has_lines=has_lines, notes=notes, source=src.accounting.as_dict())


# What py-spy writes for one frame (see the module doc): a Python or native frame
# ``name (file:line)`` / ``name (file)`` where the file looks like one (a dot, a slash or
# ``<frozen ...>``), a ``thread (ID)[: NAME]`` root, or a ``process PID:"command line"`` frame.
_SNIFF_FRAME = re.compile(r'^[^"\n]+? \((?=[^()"\n]*[./<?])[^()"\n]+?(?::-?\d+)?\)$')
_SNIFF_THREAD = re.compile(r"^thread \([^()\n]*\)(?:: [^\n]*)?$")
_SNIFF_COUNT = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$", re.S)
SNIFF_LINES = 200


def _sniff_frame(part: str) -> bool:
    return bool(_SNIFF_FRAME.match(part) or _SNIFF_THREAD.match(part) or _PROCESS.match(part))


def sniff(head: formats.Head) -> formats.Sniffed:
    """py-spy raw: every complete line of the head (up to 200 records) is ``frames COUNT``, the
    count a whole number and every frame of py-spy's shape, and some record has a real frame.

    Strict on purpose: an access log whose user agent holds ``;`` and whose last field is a
    number (``$request_time``) has a line of the form ``text;text 0.1``; its "frames" are not
    ``name (file:line)``. Other folded-stacks files (perf, dtrace) are read when named
    ``.folded`` / ``.collapsed`` or with ``format="pyspy-raw"``.
    """
    if b"\x00" in head.data[:4096]:
        return formats.Sniffed(False)
    lines = head.text.replace("\r\n", "\n").split("\n")
    if len(head.data) >= HEAD_BYTES:
        lines = lines[:-1]  # the last line of a cut head is partial
    records: list[tuple[int, str]] = []
    buf: list[str] = []
    first = 0
    for no, line in enumerate(lines, 1):
        if not buf:
            if not line.strip():
                continue
            first = no
        buf.append(line)
        text = "\n".join(buf)
        if text.count('"') % 2:  # a -s command line that holds a newline: the record goes on
            continue
        records.append((first, text))
        buf = []
        if len(records) >= SNIFF_LINES:
            break
    if not records:
        return formats.Sniffed(False, "no complete line")
    framed = False
    for no, text in records:
        m = _SNIFF_COUNT.match(text)
        parts = [] if m is None else [p for p in (_TOKENS.findall(m.group("stack")) if '"' in text
                                                   else m.group("stack").split(";")) if p]
        if m is None:
            return formats.Sniffed(False)  # not even 'text COUNT': nothing worth saying
        if not all(_sniff_frame(p) for p in parts):
            hint = ("; folded stacks of another profiler are read when named .folded or with "
                    "format='pyspy-raw'") if '"' not in text else ""
            return formats.Sniffed(False, f"line {no} ends in a count but its frames are not py-spy's "
                                          f"'name (file:line)' ({text[:60]!r}){hint}")
        framed = framed or any(_SNIFF_FRAME.match(p) for p in parts)
    if not framed:
        return formats.Sniffed(False, "no line holds a Python or native frame")
    return formats.Sniffed(True, f"{len(records)} lines of py-spy stacks")


formats.register("pyspy-raw", "profile", read_pyspy_raw, sniff=sniff, suffixes=(".folded", ".collapsed"),
                 description="py-spy record --format raw; any FlameGraph folded stacks file (rate= Hz)")
