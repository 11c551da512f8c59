"""toolkit.sources: every way in, every compression, line endings, bad bytes, accounting."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import re
import socket

import pytest
import zstandard

from toolkit.errors import InputError, ParseError
from toolkit.sources import (
    Accounting,
    Limits,
    Source,
    expanded_size,
    iter_files,
    load_json,
    long_line_reason,
    open_source,
    read_range,
    recut,
)

TEXT = b"first line\nsecond line\r\nthird line\rfourth line\n"
LINES = [(1, "first line"), (2, "second line"), (3, "third line"), (4, "fourth line")]

COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_compressed_input_is_recognised_by_magic_bytes_not_suffix(tmp_path, name):
    # GIVEN a compressed file whose name says nothing about compression
    path = tmp_path / "trace.log"
    path.write_bytes(COMPRESSORS[name](TEXT))
    # WHEN it is opened
    src = open_source(path)
    # THEN it is decompressed transparently, lines numbered from 1
    assert src.compression == name
    assert list(src.iter_lines()) == LINES
    assert src.accounting.lines_read == 4


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_truncated_compressed_input_is_a_parse_error_that_says_so(tmp_path, name):
    body = os.urandom(200_000).hex().encode()  # incompressible enough to span blocks
    data = COMPRESSORS[name](body)
    path = tmp_path / "cut.bin"
    path.write_bytes(data[: len(data) // 2])
    src = open_source(path)
    with pytest.raises(ParseError) as err:
        src.read_bytes()
    assert f"truncated or corrupt {name} stream" in str(err.value)
    assert str(path) in str(err.value)


def test_truncated_gzip_head_is_still_readable_for_sniffing(tmp_path):
    data = gzip.compress(b"hello world\n" * 10_000)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[:-30])
    assert open_source(path).head(11) == b"hello world"


def test_concatenated_gzip_members_are_all_read():
    data = gzip.compress(b"a\n") + gzip.compress(b"b\n")
    assert [line for _, line in open_source(data).iter_lines()] == ["a", "b"]


def test_crlf_and_lone_cr_end_lines():
    src = open_source(b"a\r\nb\rc\n\nd")
    assert list(src.iter_lines()) == [(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]
    assert src.accounting.lines_read == 5


def test_crlf_split_across_read_blocks_is_one_line_break():
    # the CR ends one block and the LF starts the next: still one break, not two
    data = b"x" * 9 + b"\r\n" + b"y\n"
    src = open_source(data)
    chunks = list(src.iter_chunks(size=10))
    assert "".join(t for _, t in chunks) == "x" * 9 + "\ny\n"
    assert src.accounting.lines_read == 2


def test_undecodable_bytes_are_replaced_and_counted_never_fatal():
    src = open_source(b"caf\xc3\xa9 ok\nbad \xff\xfe bytes\n\xc3\n")
    lines = [line for _, line in src.iter_lines()]
    assert lines == ["café ok", "bad \ufffd\ufffd bytes", "\ufffd"]
    assert src.accounting.replaced_bytes == 3


def test_empty_input_has_no_lines():
    src = open_source(b"")
    assert list(src.iter_lines()) == []
    assert src.read_text() == ""
    assert src.accounting.lines_read == 0


def test_empty_file(tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    src = open_source(path)
    assert list(src.iter_lines()) == []
    assert src.accounting.as_dict()["lines_read"] == 0


def test_a_10_mb_single_line_is_an_ordinary_line():
    # GIVEN a 10 MB statement on one line (under the 16 MiB line limit)
    line = b"x" * (10 * 1024 * 1024)
    src = open_source(line + b"\nshort\n")
    # WHEN it is read line by line THEN it is one whole line, nothing skipped
    got = list(src.iter_lines())
    assert len(got) == 2
    assert len(got[0][1]) == 10 * 1024 * 1024
    assert got[1] == (2, "short")
    assert src.accounting.lines_skipped == 0


def test_chunks_end_at_line_breaks_and_carry_line_numbers():
    data = b"".join(b"line %d\n" % i for i in range(1, 1001))
    src = open_source(data)
    chunks = list(src.iter_chunks(size=1000))
    assert len(chunks) > 5
    for first, text in chunks:
        assert text.endswith("\n")
        assert text.split("\n", 1)[0] == f"line {first}"
    assert src.accounting.lines_read == 1000


def test_inputs_path_bytes_str_content_and_file_object(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"one\ntwo\n")
    expected = [(1, "one"), (2, "two")]
    assert list(open_source(path).iter_lines()) == expected
    assert list(open_source(str(path)).iter_lines()) == expected
    assert list(open_source(b"one\ntwo\n").iter_lines()) == expected
    assert list(open_source("one\ntwo\n").iter_lines()) == expected
    assert list(open_source(io.BytesIO(b"one\ntwo\n")).iter_lines()) == expected
    assert open_source(path).name == str(path)


def test_missing_path_and_directory_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_source(tmp_path / "nope.log")
    with pytest.raises(InputError, match="is a directory"):
        open_source(tmp_path)
    with pytest.raises(InputError, match="cannot read input of type int"):
        open_source(42)


def test_accounting_records_skips_with_reasons_and_examples():
    src = open_source(b"ok\nbad\n")
    acct = src.accounting
    acct.skip(2, "not a record", "bad")
    acct.skip(7, "not a record", "x", count=3)
    d = acct.as_dict()
    assert d["lines_skipped"] == 4
    assert d["skip_reasons"] == {"not a record": 4}
    assert d["skipped"][0] == {"line": 2, "reason": "not a record", "text": "bad"}


def test_accounting_in_raise_mode_raises_parse_error_with_file_and_line(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(b"a\n")
    src = open_source(path, errors="raise")
    with pytest.raises(ParseError) as err:
        src.accounting.skip(12, "expected a timestamp")
    assert str(err.value) == f"{path}:12: expected a timestamp"
    assert err.value.line == 12


def test_errors_mode_is_checked():
    with pytest.raises(ValueError):
        open_source(b"x\n", errors="ignore")


# ---- limits: over-long lines ------------------------------------------------------------------

def small(data: bytes, limit: int = 10, **options) -> Source:
    return open_source(data, limits=Limits(line_bytes=limit), **options)


def test_an_over_long_line_is_left_out_and_counted_with_its_number_and_start():
    # GIVEN a line of 30 bytes between short ones, with a 10-byte line limit
    src = small(b"one\n" + b"y" * 30 + b"\nthree\nfour")
    # WHEN read line by line
    got = list(src.iter_lines())
    # THEN the long line is left out, the others keep their numbers, and it is counted
    assert got == [(1, "one"), (3, "three"), (4, "four")]
    acct = src.accounting.as_dict()
    assert acct["lines_read"] == 4 and acct["lines_skipped"] == 1
    assert acct["skip_reasons"] == {long_line_reason(10): 1}
    assert acct["skipped"] == [{"line": 2, "reason": long_line_reason(10), "text": "y" * 30}]
    assert long_line_reason(10) == "line longer than 10 bytes (Limits.line_bytes): left out"


def test_chunks_around_a_left_out_line_are_separate_and_say_so_by_their_numbers():
    src = small(b"a\nb\n" + b"z" * 50 + b"\nc\nd\n")
    assert list(src.iter_chunks(size=1 << 20)) == [(1, "a\nb\n"), (4, "c\nd\n")]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r", b""])
def test_an_over_long_last_line_with_any_ending_is_counted_once(ending):
    src = small(b"ok\n" + b"q" * 25 + ending)
    assert list(src.iter_lines()) == [(1, "ok")]
    assert src.accounting.lines_read == 2 and src.accounting.lines_skipped == 1


def test_a_line_exactly_at_the_limit_is_kept():
    src = small(b"x" * 10 + b"\r\n" + b"y" * 11 + b"\r\n")
    assert list(src.iter_lines()) == [(1, "x" * 10)]
    assert src.accounting.lines_skipped == 1


def reference_lines(data: bytes, limit: int) -> tuple[list[tuple[int, str]], list[int], int]:
    """Kept (number, line), left-out numbers and the line count, the obvious way."""
    parts = re.split(rb"(\r\n|\r|\n)", data)
    kept, left_out, n = [], [], 0
    for i in range(0, len(parts), 2):
        if i + 1 >= len(parts) and parts[i] == b"":
            break
        n += 1
        if len(parts[i]) > limit:
            left_out.append(n)
        else:
            kept.append((n, parts[i].decode("utf-8", "replace")))
    return kept, left_out, n


def test_left_out_lines_match_a_plain_split_for_any_block_size():
    # GIVEN 400 inputs made of short and long runs and every kind of line break, read in blocks
    # of 1 to 16 bytes (so lines, CRLFs and long lines straddle blocks in every way)
    rng = random.Random(11)
    for _ in range(400):
        pieces = [rng.choice([b"a", b"bc", b"\n", b"\r", b"\r\n", b"z" * rng.randint(0, 14)]) for _ in range(25)]
        data, limit, block = b"".join(pieces), rng.randint(1, 8), rng.randint(1, 16)
        src = small(data, limit)
        # WHEN read through iter_chunks in those blocks
        got = [(first + i, line) for first, text in src.iter_chunks(size=block)
               for i, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"))]
        # THEN the same lines, numbers, left-out lines and count as splitting the whole input
        kept, left_out, n = reference_lines(data, limit)
        assert got == kept, (data, limit, block)
        assert [x["line"] for x in src.accounting.skipped] == left_out[:20]
        assert src.accounting.lines_read == n and src.accounting.lines_skipped == len(left_out)


def test_reading_twice_counts_an_over_long_line_once():
    src = small(b"a\n" + b"z" * 20 + b"\nb\n")
    assert list(src.iter_lines()) == list(src.iter_lines()) == [(1, "a"), (3, "b")]
    assert src.accounting.lines_skipped == 1 and src.accounting.lines_read == 3


def test_read_range_leaves_out_the_same_lines_as_iter_chunks(tmp_path):
    # GIVEN a file with long lines; the byte-range readers read pieces of it
    data = b"".join(b"line %d\n" % i if i % 7 else b"w" * 40 + b"\n" for i in range(1, 200))
    path = tmp_path / "ranges.log"
    path.write_bytes(data)
    whole = small(data, 20)
    expected = list(whole.iter_chunks(size=64))
    # WHEN the file is read as two byte ranges (cut at a line start) with the same limit
    cut = data.index(b"\n", len(data) // 2) + 1
    acct = Accounting()
    with open(path, "rb") as fh:
        got = [*read_range(fh, acct, 0, cut, 1, chunk_size=64, line_bytes=20),
               *read_range(fh, acct, cut, len(data), 1 + data[:cut].count(b"\n"), chunk_size=64, line_bytes=20)]
    # THEN the same text and numbers, the same lines counted and left out
    assert "".join(t for _, t in got) == "".join(t for _, t in expected)
    lines = lambda chunks: [(f + i, x) for f, t in chunks for i, x in enumerate(t.split("\n")[:-1])]  # noqa: E731
    assert lines(got) == lines(expected)
    assert acct.lines_read == whole.accounting.lines_read == 199
    assert acct.lines_skipped == whole.accounting.lines_skipped == 28
    assert acct.skip_reasons == {long_line_reason(20): 28}


def test_recut_ends_the_carried_record_at_a_gap_in_line_numbers():
    # GIVEN chunks whose records are carried on (the cut never finds a boundary), with line 3
    # left out between them
    chunks = [(1, "r1 a\nr1 b\n"), (4, "r2 a\n"), (5, "r2 b\n")]
    # WHEN re-cut
    got = list(recut(iter(chunks), lambda buf, carried: 0))
    # THEN the text before the gap is handed out on its own, numbers follow the text
    assert got == [(1, "r1 a\nr1 b\n"), (4, "r2 a\nr2 b\n")]


def test_accounting_add_shifts_lines_and_raises_in_raise_mode():
    part = Accounting(lines_read=5, records=3, replaced_bytes=2)
    part.skip(2, "bad", "x")
    whole = Accounting(path="a.log", lines_read=10)
    whole.add(part, line_offset=10)
    assert (whole.lines_read, whole.records, whole.lines_skipped, whole.replaced_bytes) == (15, 3, 1, 2)
    assert whole.skipped == [{"line": 12, "reason": "bad", "text": "x"}]
    strict = Accounting(path="a.log", errors="raise")
    with pytest.raises(ParseError, match="a.log:12: bad"):
        strict.add(part, line_offset=10)


def test_head_lines_passes_over_lines_longer_than_the_head():
    src = open_source(b"z" * 100_000 + b"\nfirst\r\nsecond\n")
    assert src.head(10) == b"z" * 10
    assert src.head_lines() == "first\nsecond\n"
    assert open_source(b"a\n" + b"b" * 70_000).head_lines() == "a\n"


# ---- limits: documents, file objects, special files, compression -----------------------------

def test_a_whole_document_over_its_limit_is_a_parse_error(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b"[" + b"0," * 600 + b"0]")
    with pytest.raises(ParseError, match="more than 1000 bytes, the most a whole document may hold"):
        open_source(path, limits=Limits(document_bytes=1000)).read_bytes()
    gz = tmp_path / "big.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(ParseError, match="Limits.document_bytes"):
        open_source(gz, limits=Limits(document_bytes=1000)).read_text()
    assert len(open_source(path, limits=Limits(document_bytes=1203)).read_bytes()) == 1203


def test_a_file_object_is_read_up_to_the_document_limit():
    assert open_source(io.BytesIO(b"x" * 100), limits=Limits(document_bytes=100)).read_bytes() == b"x" * 100
    with pytest.raises(InputError, match="a file object gives more than 100 bytes"):
        open_source(io.BytesIO(b"x" * 101), limits=Limits(document_bytes=100))
    assert open_source(io.StringIO("a\nb\n")).read_text() == "a\nb\n"


def test_special_files_are_read_once_with_a_cap_or_refused(tmp_path):
    assert open_source("/dev/null").read_bytes() == b""
    with pytest.raises(InputError, match="is a character device, not a regular file, and gives more than 4096"):
        open_source("/dev/zero", limits=Limits(document_bytes=4096))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s"))
    try:
        with pytest.raises(InputError, match="is a socket, not a regular file"):
            open_source(tmp_path / "s")
    finally:
        sock.close()


def test_iter_files_passes_over_special_files_in_folders_with_the_reason(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "a.log").write_bytes(b"x\n")
    passed: list = []
    assert list(iter_files([tmp_path], skipped=passed)) == [str(tmp_path / "a.log")]
    assert passed == [(str(tmp_path / "pipe"), "a FIFO (named pipe), not a regular file: not read")]
    assert list(iter_files([tmp_path / "pipe"])) == [str(tmp_path / "pipe")]  # named: yielded


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_expansion_beyond_the_limits_is_a_parse_error(tmp_path, name):
    # GIVEN 4 MiB of text, compressed
    path = tmp_path / "x.log"
    path.write_bytes(COMPRESSORS[name](b"line\n" * (4 << 18)))
    # WHEN read with a 1 MiB expanded-size limit THEN a ParseError says which limit
    with pytest.raises(ParseError, match=f"the {name} stream expands to more than 1048576 bytes"):
        list(open_source(path, limits=Limits(expanded_bytes=1 << 20)).iter_chunks(1 << 16))
    # and with the defaults (its ratio stays under the 64 MiB floor) it reads
    assert open_source(path).read_text().count("\n") == 4 << 18


def test_zstd_is_expanded_a_little_at_a_time_across_frames():
    # GIVEN two zstd frames back to back, one of them an RLE run far larger than its input
    frames = zstandard.ZstdCompressor().compress(b"a\n" * 5000) + zstandard.ZstdCompressor().compress(bytes(1 << 22))
    src = open_source(frames)
    # WHEN read in 64 KiB blocks THEN every block is at most 64 KiB and all content arrives
    blocks = list(src._blocks(1 << 16))
    assert max(map(len, blocks)) <= 1 << 16
    assert b"".join(blocks) == b"a\n" * 5000 + bytes(1 << 22)


def test_expanded_size_counts_decompressed_bytes_and_stops_past_a_limit(tmp_path):
    plain, gz, zst = tmp_path / "a.log", tmp_path / "a.log.gz", tmp_path / "a.log.zst"
    body = b"0123456789\n" * 200_000
    plain.write_bytes(body)
    gz.write_bytes(gzip.compress(body))
    zst.write_bytes(zstandard.ZstdCompressor().compress(body))
    assert expanded_size(plain) == expanded_size(gz) == expanded_size(zst) == len(body)
    assert os.path.getsize(gz) < 100_000  # on disk it looks small: streaming decides on this
    assert 1_000_000 < expanded_size(gz, limit=1_000_000) <= len(body)
    os.mkfifo(tmp_path / "pipe")
    assert expanded_size(tmp_path / "pipe") == 0  # not read: that would use it up


def test_load_json_turns_every_failure_into_a_parse_error():
    assert load_json(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(ParseError) as err:
        load_json("[" * 100_000 + "]" * 100_000, "deep.json")
    assert str(err.value) == "deep.json: JSON nested deeper than Python's recursion limit (expected JSON)"
    with pytest.raises(ParseError, match=r"x.json:3: invalid JSON: Expecting property name enclosed in double quotes at column 6"):
        load_json('{\n"a":\n  1, ]\n}', "x.json")
    with pytest.raises(ParseError, match=r"log:7: JSON ends early \(truncated file\?\)"):
        load_json('{"a": [1, ', "log", 7)
    with pytest.raises(ParseError, match="not UTF-8 text"):
        load_json(b'"\xff"', "bad.json")
