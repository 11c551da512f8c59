"""toolkit.sources: every way in, every compression, line endings, bad bytes, accounting."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os

import pytest
import zstandard

from toolkit.errors import InputError, ParseError
from toolkit.sources import open_source

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
