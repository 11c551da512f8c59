"""The reading layer (``toolkit.sources``) against a copy of itself as it was before it was made
cheaper (#12, session 24): for arbitrary bytes (CR, CRLF split across blocks, invalid UTF-8,
over-long lines, no final break, tiny chunk sizes) the pieces, their first line numbers, the
lines read, the skipped lines and the replaced bytes are the same."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit.sources as sources
from toolkit.errors import ParseError
from toolkit.sources import Accounting, Limits, Source, long_line_reason, read_range, watch_reads

# --- the oracle: today's functions as they were, copied verbatim (names prefixed with o_) ---
_SURROGATE = re.compile("[\udc80-\udcff]")


def o_first_break(data: bytes, start: int = 0) -> int:
    lf, cr = data.find(b"\n", start), data.find(b"\r", start)
    return lf if cr < 0 else cr if lf < 0 else min(lf, cr)


def o_after_break(data: bytes, end: int) -> tuple[int, bool]:
    if data[end:end + 1] == b"\r":
        if end + 1 == len(data):
            return end + 1, True
        if data[end + 1:end + 2] == b"\n":
            return end + 2, False
    return end + 1, False


def o_decode(data: bytes, accounting: Accounting) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text, n = _SURROGATE.subn("\ufffd", data.decode("utf-8", "surrogateescape"))
        accounting.replaced_bytes += n
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def o_line_pieces(blocks: Iterable[bytes], accounting: Accounting, line: int, limit: int,
                  long_line: Callable[[int, str], None]) -> Iterator[tuple[int, str, int]]:
    carry = b""
    skipping: tuple[int, str] | None = None
    eat_lf = False
    for block in blocks:
        if eat_lf and block:
            eat_lf = False
            if block[:1] == b"\n":
                block = block[1:]
        if skipping is not None:
            end = o_first_break(block)
            if end < 0:
                continue
            long_line(*skipping)
            skipping = None
            line += 1
            after, eat_lf = o_after_break(block, end)
            block = block[after:]
        data = carry + block if carry else block
        start = pos = 0
        while len(data) - pos > limit:
            k = max(data.rfind(b"\n", pos, pos + limit + 1), data.rfind(b"\r", pos, pos + limit + 1))
            if k >= 0:
                pos = k + 1
                continue
            if pos > start:
                text = o_decode(data[start:pos], accounting)
                n = text.count("\n")
                yield line, text, n
                line += n
            end = o_first_break(data, pos + limit + 1)
            example = data[pos:pos + 200 if end < 0 else min(pos + 200, end)].decode("utf-8", "replace")
            if end < 0:
                skipping, carry = (line, example), b""
                break
            long_line(line, example)
            line += 1
            start, eat_lf = o_after_break(data, end)
            pos = start
        else:
            rest = data[start:] if start else data
            stop = len(rest) - 1 if rest.endswith(b"\r") else len(rest)
            cut = max(rest.rfind(b"\n", 0, stop), rest.rfind(b"\r", 0, stop))
            carry = rest[cut + 1:]
            if cut >= 0:
                text = o_decode(rest[:cut + 1], accounting)
                n = text.count("\n")
                yield line, text, n
                line += n
    if skipping is not None:
        long_line(*skipping)
        line += 1
    elif carry:
        text = o_decode(carry, accounting)
        n = text.count("\n") + (0 if text.endswith("\n") else 1)
        yield line, text, n
        line += n
    yield line, "", 0


def o_read_range(fh, accounting: Accounting, lo: int, hi: int, first_line: int,
                 chunk_size: int, line_bytes: int) -> Iterator[tuple[int, str]]:
    limit = line_bytes

    def blocks() -> Iterator[bytes]:
        fh.seek(lo)
        left = hi - lo
        while left > 0:
            block = fh.read(min(left, chunk_size))
            if not block:
                break
            left -= len(block)
            yield block

    def long_line(line: int, example: str) -> None:
        accounting.skip(line, long_line_reason(limit), example)

    counted = first_line - 1
    for first, text, n in o_line_pieces(blocks(), accounting, first_line, limit, long_line):
        accounting.lines_read += first - 1 + n - counted
        counted = first - 1 + n
        if text:
            yield first, text


# --- the inputs: lines of ASCII, CR, CRLF, LF, invalid UTF-8 and multi-byte characters ---
_ATOMS = [b"a", b"bc", b"select 1;", b"\n", b"\r", b"\r\n", b"\xff", b"\xe2\x82", b"\xe2\x82\xac",
          b"\xc3\xa9", b" ", b"\n\n", b"x" * 40]
DATA = st.lists(st.sampled_from(_ATOMS), max_size=80).map(b"".join)


def _accounting_view(acc: Accounting) -> tuple:
    return (acc.lines_read, acc.lines_skipped, dict(acc.skip_reasons), acc.skipped, acc.replaced_bytes)


@settings(max_examples=400, deadline=None)
@given(data=DATA, chunk=st.integers(1, 64), limit=st.integers(1, 48), lo=st.integers(0, 40),
       first=st.integers(1, 5), count_slice=st.sampled_from([3, 1 << 18]))
def test_read_range_equals_the_oracle(data: bytes, chunk: int, limit: int, lo: int, first: int,
                                      count_slice: int) -> None:
    """``count_slice`` 3: every piece of 3 bytes or more is counted by the vectorised path."""
    lo = min(lo, len(data))
    got_acc, want_acc = Accounting(), Accounting()
    saved, sources._COUNT_SLICE = sources._COUNT_SLICE, count_slice
    try:
        got = list(read_range(io.BytesIO(data), got_acc, lo, len(data), first, chunk, line_bytes=limit))
    finally:
        sources._COUNT_SLICE = saved
    want = list(o_read_range(io.BytesIO(data), want_acc, lo, len(data), first, chunk, limit))
    assert got == want
    assert _accounting_view(got_acc) == _accounting_view(want_acc)


@settings(max_examples=300, deadline=None)
@given(data=DATA, chunk=st.integers(1, 64), limit=st.integers(1, 48), count_slice=st.sampled_from([3, 1 << 18]))
def test_iter_chunks_equals_the_oracle(data: bytes, chunk: int, limit: int, count_slice: int) -> None:
    src = Source(data, limits=Limits(line_bytes=limit))
    saved, sources._COUNT_SLICE = sources._COUNT_SLICE, count_slice
    try:
        got = list(src.iter_chunks(chunk))
    finally:
        sources._COUNT_SLICE = saved
    want_acc = Accounting()
    seen: set[int] = set()

    def long_line(line: int, example: str) -> None:
        if line not in seen:
            seen.add(line)
            want_acc.skip(line, long_line_reason(limit), example)

    want, lines = [], 0
    blocks = (data[i:i + chunk] for i in range(0, len(data), chunk))
    for f, text, n in o_line_pieces(blocks, want_acc, 1, limit, long_line):
        lines = f - 1 + n
        if text:
            want.append((f, text))
    want_acc.lines_read = lines
    assert got == want
    assert _accounting_view(src.accounting) == _accounting_view(want_acc)


def test_big_pieces_are_counted_in_slices_as_one() -> None:
    """Pieces larger than the counting slice (256 KiB) are counted by the vectorised path: the
    line numbers and the lines read agree with the oracle on a 1 MiB input of lines of
    varying length, with and without CRs, in 300,000-byte chunks."""
    lines = [b"line %d " % i + b"q" * (i % 97) for i in range(12000)]
    for sep in (b"\n", b"\r\n"):
        data = sep.join(lines) + b"\xff tail"
        got_acc, want_acc = Accounting(), Accounting()
        got = list(read_range(io.BytesIO(data), got_acc, 0, len(data), 1, 300_000, line_bytes=1 << 20))
        want = list(o_read_range(io.BytesIO(data), want_acc, 0, len(data), 1, 300_000, 1 << 20))
        assert got == want
        assert got_acc.lines_read == 12000 and got_acc.replaced_bytes == 1
        assert _accounting_view(got_acc) == _accounting_view(want_acc)


@settings(max_examples=150, deadline=None)
@given(data=DATA, chunk=st.integers(1, 64), limit=st.integers(1, 48), lo=st.integers(0, 40))
def test_read_range_of_a_real_file_equals_the_oracle(tmp_path_factory, data: bytes, chunk: int, limit: int,
                                                     lo: int) -> None:
    """A file on disk (read into one reused buffer with ``readinto``), as the byte-range readers
    open it, gives what the oracle gives from the same bytes."""
    path = tmp_path_factory.mktemp("range") / "log"
    path.write_bytes(data)
    lo = min(lo, len(data))
    got_acc, want_acc = Accounting(), Accounting()
    with open(path, "rb") as fh:
        got = list(read_range(fh, got_acc, lo, len(data), 1, chunk, line_bytes=limit))
    want = list(o_read_range(io.BytesIO(data), want_acc, lo, len(data), 1, chunk, limit))
    assert got == want
    assert _accounting_view(got_acc) == _accounting_view(want_acc)


def test_a_reader_that_stops_early_leaves_the_pieces_it_got_intact() -> None:
    """The buffer under the pieces is reused, but the pieces are str copies: pieces taken
    before the next one was read are unchanged after it, and closing the generator midway
    (a reader that stops at the first bad record) raises nothing."""
    data = b"".join(b"line %05d\n" % i for i in range(3000))
    pieces = read_range(io.BytesIO(data), Accounting(), 0, len(data), 1, 1000, line_bytes=100)
    first = next(pieces)
    second = next(pieces)
    assert first == (1, "".join(f"line {i:05d}\n" for i in range(90)))
    assert second[0] == 91 and second[1].startswith("line 00090\n")
    pieces.close()


@settings(max_examples=150, deadline=None)
@given(data=DATA, chunk=st.integers(1, 64), limit=st.integers(1, 48))
def test_iter_chunks_of_a_real_file_equals_the_oracle(tmp_path_factory, data: bytes, chunk: int,
                                                      limit: int) -> None:
    """A plain file read from disk gives the pieces and accounting of the same bytes held in
    memory, and a watch_reads watcher hears of every byte once."""
    path = tmp_path_factory.mktemp("chunks") / "log"
    path.write_bytes(data)
    src = Source(str(path), limits=Limits(line_bytes=limit))
    seen: list[int] = []
    with watch_reads(seen.append):
        got = list(src.iter_chunks(chunk))
    want_src = Source(data, limits=Limits(line_bytes=limit))  # held in memory: no reused buffer
    assert got == list(want_src.iter_chunks(chunk))
    assert _accounting_view(src.accounting) == _accounting_view(want_src.accounting)
    assert sum(seen) == len(data)


def test_a_file_removed_after_opening_is_a_parse_error_naming_it(tmp_path) -> None:
    """The size test that picks reading straight into the window does not turn a file removed
    between opening and reading into a bare OSError: it stays the ParseError it was."""
    path = tmp_path / "gone.log"
    path.write_bytes(b"a\n" * 100)
    src = Source(str(path))
    path.unlink()
    with pytest.raises(ParseError, match="cannot read") as err:
        list(src.iter_chunks(16))
    assert str(path) in str(err.value)
