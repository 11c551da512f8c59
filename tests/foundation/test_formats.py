"""toolkit.formats: one registry; detection by suffix first, then content; never a guess."""

from __future__ import annotations

import gzip

import pytest
from conftest import FIXTURES

from toolkit import formats
from toolkit.errors import UnknownFormatError


@pytest.fixture
def registry():
    """Two test formats, removed afterwards so the real registry is untouched."""
    added = [
        formats.register("test-alpha", "benchmark", lambda src, **kw: "alpha",
                         sniff=lambda h: h.text.startswith("ALPHA"), suffixes=(".alpha",)),
        formats.register("test-beta", "benchmark", lambda src, **kw: "beta",
                         sniff=lambda h: h.text.startswith("BETA"), suffixes=(".beta", ".b.json")),
    ]
    yield added
    for fmt in added:
        formats._REGISTRY.pop(fmt.name, None)


def _only_test_formats(monkeypatch):
    real = formats.formats
    monkeypatch.setattr(formats, "formats",
                        lambda kind=None: [f for f in real(kind) if f.name.startswith("test-")])


def test_detect_by_suffix_and_content(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "run.alpha"
    path.write_text("ALPHA 1\n")
    assert formats.detect(path).name == "test-alpha"


def test_detect_by_content_when_the_suffix_says_nothing(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "run.txt"
    path.write_text("BETA 1\n")
    assert formats.detect(path).name == "test-beta"


def test_content_wins_over_a_misleading_suffix(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "run.alpha"
    path.write_text("BETA 1\n")
    assert formats.detect(path).name == "test-beta"


def test_compression_suffix_is_stripped_and_content_decompressed(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "run.b.json.gz"
    path.write_bytes(gzip.compress(b"something else\n"))
    # content matches nothing, but exactly one format claims the suffix: its reader decides
    assert formats.detect(path).name == "test-beta"


def test_unknown_content_lists_what_was_tried(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "mystery.dat"
    path.write_bytes(b"\x00\x01\x02 binary")
    with pytest.raises(UnknownFormatError) as err:
        formats.detect(path)
    assert err.value.tried == ["test-alpha", "test-beta"]
    assert "binary content matched no known format" in str(err.value)
    assert "tried: test-alpha, test-beta" in str(err.value)


def test_empty_input_is_unknown_with_reason(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "empty.alpha"
    path.write_bytes(b"")
    with pytest.raises(UnknownFormatError, match="the input is empty"):
        formats.detect(path)


def test_two_sniffers_accepting_is_ambiguous_not_a_guess(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    formats.register("test-gamma", "benchmark", lambda src, **kw: "gamma",
                     sniff=lambda h: h.text.startswith("ALPHA"))
    try:
        path = tmp_path / "x.txt"
        path.write_text("ALPHA\n")
        with pytest.raises(UnknownFormatError, match="ambiguous: content fits test-alpha, test-gamma"):
            formats.detect(path)
    finally:
        formats._REGISTRY.pop("test-gamma")


def test_read_dispatches_and_checks_kind(tmp_path, registry, monkeypatch):
    _only_test_formats(monkeypatch)
    path = tmp_path / "x.alpha"
    path.write_text("ALPHA\n")
    assert formats.read(path) == "alpha"
    assert formats.read(path, format="test-beta") == "beta"
    with pytest.raises(UnknownFormatError, match="is a benchmark format, not profile"):
        formats.read(path, kind="profile", format="test-alpha")
    with pytest.raises(UnknownFormatError, match="no format named 'nope'"):
        formats.read(path, format="nope")


def test_every_reader_module_registers_and_every_format_has_a_sniffer():
    import importlib

    for module in formats.READER_MODULES:
        importlib.import_module(module)  # every listed reader exists and imports
    names = [f.name for f in formats.formats()]
    assert len(names) == len(set(names))
    for fmt in formats.formats():
        assert fmt.description, fmt.name
        # only a format that cannot be recognised without the user's own definition has no sniffer
        assert fmt.sniff is not None or "pass log_format" in fmt.description, fmt.name


def test_formats_table_columns():
    table = formats.formats_table()
    assert list(table.columns) == ["name", "kind", "suffixes", "description"]


PG_LINE = b"2026-11-26 05:09:21.878 UTC [11999] postgres@app LOG:  duration: 1.5 ms  statement: SELECT 1\n"


def test_a_first_line_longer_than_the_head_does_not_hide_the_format(tmp_path):
    # GIVEN a PostgreSQL log that starts with a 100 KB line of noise (longer than the 64 KiB
    # the sniffers see first; not over the line limit), and a gzipped copy whose name says nothing
    path = tmp_path / "server.txt"
    path.write_bytes(b"#" * 100_000 + b"\n" + PG_LINE * 3)
    (tmp_path / "server.bin").write_bytes(gzip.compress(path.read_bytes()))
    for name in ("server.txt", "server.bin"):
        # WHEN detected and read
        fmt = formats.detect(tmp_path / name)
        events = formats.read(tmp_path / name, kind="queries")
        # THEN the lines after it decide the format and give the reader its prefix; the noise
        # is a skipped line, as anywhere else in a log
        assert fmt.name == "postgres-stderr"
        assert events["duration_ms"].tolist() == [1.5] * 3
        source = events.attrs["source"]
        assert source["lines_read"] == 4 and source["lines_skipped"] == 1 and source["skipped"][0]["line"] == 1


def test_content_that_no_line_of_fits_is_still_unknown(tmp_path):
    path = tmp_path / "noise.dat"
    path.write_bytes(b"q" * 100_000 + b"\nnot a log line\n" * 10)
    with pytest.raises(UnknownFormatError, match="content matched no known format"):
        formats.detect(path)


def test_a_truncated_gzip_is_detected_from_what_it_holds_or_said_to_be_truncated(samples):
    from toolkit.errors import ParseError
    from toolkit.sources import open_source

    data = (samples / "queries/postgresql/app/postgresql.log.gz").read_bytes()
    # GIVEN the log cut inside gzip's first block: its first lines are still there
    assert formats.detect(open_source(data[:300], name="cut.log.gz")).name == "postgres-stderr"
    # GIVEN it cut inside the gzip header: nothing can be decompressed, and that is what is said
    with pytest.raises(ParseError, match=r"cut\.log\.gz: truncated or corrupt gzip stream: nothing could"):
        formats.detect(open_source(data[:10], name="cut.log.gz"))


UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
TIMED = f'127.0.0.1 - - [07/Dec/2026:12:30:08 +0000] "GET /a HTTP/1.1" 200 6 "-" "{UA}" 18\n'


def test_an_access_log_with_a_trailing_count_is_never_a_pyspy_profile(tmp_path):
    # GIVEN a combined log with a number appended (the known bad case: its user agent holds ';'
    # and its last field is a count, so each line looked like 'frames COUNT')
    path = tmp_path / "access.txt"
    path.write_text(TIMED * 20)
    # WHEN detected THEN it is not called a profile, whatever the access-log sniffers say today
    try:
        fmt = formats.detect(path)
    except UnknownFormatError as err:
        assert "pyspy-raw" in err.tried
        assert "pyspy-raw" not in err.seen or not err.seen["pyspy-raw"].ok
    else:
        assert fmt.kind == "access_log"
    with pytest.raises(UnknownFormatError):
        formats.detect(path, "profile")


def test_an_unrecognised_log_is_not_called_postgres_for_its_suffix(tmp_path):
    # GIVEN a .log that no format accepts (an nginx error log)
    path = tmp_path / "error.log"
    path.write_text('2026/12/07 12:30:08 [error] 12#12: *1 open() "/www/x" failed (2: No such file '
                    'or directory), client: 127.0.0.1, server: _, request: "GET /x HTTP/1.1"\n' * 5)
    # THEN it is unknown, not handed to the PostgreSQL reader because of ".log"
    with pytest.raises(UnknownFormatError, match="content matched no known format"):
        formats.detect(path)


def test_what_each_sniffer_saw_is_in_the_error(tmp_path):
    path = tmp_path / "stacks.txt"
    path.write_text("main;work 3\nmain 1\n")  # folded stacks of another profiler
    with pytest.raises(UnknownFormatError) as err:
        formats.detect(path)
    assert "pyspy-raw: line 1 ends in a count but its frames are not py-spy's" in str(err.value)
    assert err.value.seen["pyspy-raw"].ok is False


def test_nginx_main_is_recognised_without_options(tmp_path):
    path = tmp_path / "access.log"
    path.write_text(TIMED.replace(" 18\n", ' "203.0.113.7"\n') * 5)
    assert formats.detect(path).kind == "access_log"


def test_combined_with_trailing_fields_is_recognised_without_options(tmp_path):
    path = tmp_path / "access.log"
    path.write_text(TIMED * 5)
    assert formats.detect(path).kind == "access_log"


def test_a_csvlog_with_quoted_times_named_log_is_a_csvlog():
    path = FIXTURES / "third_party" / "pgbadger" / "csv_statement_without_duration.log"
    assert formats.detect(path).name == "postgres-csvlog"
