"""Property tests of the MySQL / MariaDB slow-log reader and its direct digest (hypothesis;
``HYPOTHESIS_PROFILE=long`` runs many more examples, see tests/helpers/strategies.py).

Logs are built from realistic records (``# Time:`` old and ISO forms, ``# User@Host:`` with or
without ``Id:``, MariaDB's ``# Thread_id:`` / ``Schema:`` line, the ``# Query_time:`` line,
extra headers, ``use db;``, ``SET timestamp=N;``, statements over several lines, restart
banners, stray lines) with hostile values mixed in: figures that are no number of their kind
(``0x1F``, NaN, other digits, 2^63 rows, ``1e309``, NUL), timestamps beyond datetime64[ns],
control characters in headers.

The accounting: ``lines_read`` = the lines of the records read + ``lines_skipped``, and
``records`` counts records (several lines each); here both are checked against what the log was
built from. Every way agrees: the reader, the direct digest in one process, in two and three
byte ranges (worker processes), and a log cut at any record start read as two byte ranges.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SAMPLES
from helpers.strategies import BAD_NUMBERS, CONTROL, compressed, few, mutated, words
from hypothesis import given
from hypothesis import strategies as st

import toolkit as tk
from toolkit.errors import ToolkitError
from toolkit.queries.digest import digest_file
from toolkit.queries.mysql import split_mysql_slow

pytestmark = pytest.mark.properties

ACCOUNTING = ("lines_read", "records", "lines_skipped", "skip_reasons")
BANNER = ["/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:",
          "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock", "Time\t\t    Id Command\tArgument"]


# (a figure with white space in it breaks the '# Query_time:' line's pattern: no record at all)
BAD_FIGURES = tuple(b for b in BAD_NUMBERS if not any(c.isspace() for c in b))


def figure(draw, good):
    return draw(st.one_of(good, good, good, st.sampled_from(BAD_FIGURES)))


@st.composite
def slow_records(draw):
    """``(lines, kind, good, duration ms)`` units: a record, a banner or a stray line."""
    out = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["record"] * 6 + ["banner", "stray"]))
        if kind == "banner":
            out.append((BANNER, "banner", False, None))
            continue
        if kind == "stray":
            out.append(([draw(st.sampled_from(["garbage", "# just a comment", "", "\x00\x00"]))], "stray", False, None))
            continue
        lines = []
        time_kind = draw(st.sampled_from(["none", "old", "iso", "bad"]))
        if time_kind == "old":
            lines.append(f"# Time: 261126  5:09:{draw(st.integers(10, 59))}")
        elif time_kind == "iso":
            lines.append(f"# Time: {draw(st.sampled_from(['2024', '1700']))}-03-01T10:00:0{draw(st.integers(0, 9))}.123456Z")
        elif time_kind == "bad":
            year = draw(st.sampled_from(["9999", "0000", "\u0662\u0660\u0662\u0664"]))
            lines.append(f"# Time: {year}-03-01T10:00:00Z")
        user = draw(words()) + draw(st.sampled_from(("",) + CONTROL)).replace("\t", "")
        lines.append(f"# User@Host: {user}[{user}] @ localhost [127.0.0.1]" + draw(st.sampled_from(["", "  Id:     8"])))
        if draw(st.booleans()):
            lines.append(f"# Thread_id: {draw(st.integers(1, 99))}  Schema: {draw(words())}  QC_hit: No")
        qt = figure(draw, st.integers(0, 10 ** 6).map(lambda n: f"{n / 1e6:.6f}"))
        lt = figure(draw, st.just("0.000010"))
        rs = figure(draw, st.integers(0, 10 ** 6).map(str))
        rx = figure(draw, st.integers(0, 10 ** 9).map(str))
        lines.append(f"# Query_time: {qt}  Lock_time: {lt}  Rows_sent: {rs}  Rows_examined: {rx}")
        if draw(st.booleans()):
            lines.append(f"# Rows_affected: {figure(draw, st.just('0'))}  Bytes_sent: {figure(draw, st.just('186'))}")
        if draw(st.booleans()):
            lines.append(f"use {draw(words())};")
        set_ts = draw(st.sampled_from(["1709287200", "1709287201", "99999999999999", "none"]))
        if set_ts != "none":
            lines.append(f"SET timestamp={set_ts};")
        tail = draw(st.sampled_from(["", " -- \u00e9", " /* \x0b */"]))
        lines.append(f"SELECT {draw(words())} FROM t{tail}")
        if draw(st.booleans()):
            lines.append(f"  WHERE id = {draw(st.integers(0, 9))};")
        good_figures = all(_plain(v, kind) for v, kind in ((qt, "f"), (lt, "f"), (rs, "i"), (rx, "i")))
        # the time stamp: an ISO '# Time:' wins; SET timestamp; else an old-form '# Time:' of
        # this record or one before (tracked by the test below)
        out.append((lines, "record", good_figures, float(qt) * 1000 if good_figures else None,
                    time_kind, set_ts))
    return out


def _plain(text: str, kind: str) -> bool:
    if not text.isascii() or "_" in text or text.strip() != text or "\x00" in text or "\x0b" in text:
        return False
    try:
        v = float(text) if kind == "f" else int(text)
    except ValueError:
        return False
    return v == v and abs(v) != float("inf") and v >= 0 and (kind == "f" or v < 2 ** 63)


def expect(units) -> dict:
    """What the reader must give: records and skipped lines, the good records' durations. A stray
    line after a record is a line of its statement (the statement runs to the next header); at
    the start, or after a restart banner, it is skipped. A '#' line just before a record (which
    starts at '# Time:' or '# User@Host:' here), directly or through more '#' lines, is a header
    line, so the statement ends above it, and no record's (skipped)."""
    records, skipped, total = 0, 0, 0.0
    time = None     # the '# Time:' in effect (it carries to the records after it)
    current = None  # the record stray lines join: True (read) / False (skipped) / None (none)
    for k, unit in enumerate(units):
        lines, kind = unit[0], unit[1]
        if kind == "banner":
            skipped += len(lines)
            current = None
        elif kind == "stray":
            after = next((u for u in units[k + 1:] if not (u[1] == "stray" and u[0][0].startswith("#"))), None)
            if lines[0].startswith("#") and after is not None and after[1] == "record":
                skipped += 1
            else:
                skipped += 0 if current else 1
        else:
            time_kind, set_ts = unit[4], unit[5]
            time = time_kind if time_kind != "none" else time
            # ISO '# Time:' (of this record or carried) wins; else SET timestamp; else old form
            if time in ("iso", "bad"):
                time_ok = time == "iso"
            else:
                time_ok = set_ts != "99999999999999"
            current = unit[2] and time_ok
            if current:
                records += 1
                total += unit[3]
            else:
                skipped += len(lines)
    return {"records": records, "skipped": skipped, "total_ms": total}


def text_of(units) -> bytes:
    return "".join(line + "\n" for unit in units for line in unit[0]).encode("utf-8", "surrogatepass")


@given(units=slow_records())
def test_slow_log_accounts_for_every_line_and_keeps_only_good_values(units):
    data = text_of(units)
    try:
        events = tk.read_queries(data, format="mysql-slow")
    except ToolkitError:  # only when no record at all is readable and a line is not a banner
        assert expect(units)["records"] == 0
        return
    src, want = events.attrs["source"], expect(units)
    assert src["lines_read"] == sum(len(u[0]) for u in units)
    assert (src["records"], src["lines_skipped"]) == (want["records"], want["skipped"])
    assert len(events) == want["records"]
    assert events["duration_ms"].sum() == pytest.approx(want["total_ms"])
    # figures are exact and in range, time stamps the logged ones (never a wrapped year)
    assert (events["rows_sent"].dropna() >= 0).all() and str(events["rows_sent"].dtype) == "Int64"
    assert set(events["timestamp"].dt.year.dropna()) <= {2024, 1700, 2026}
    assert tk.read_server_events(data, format="mysql-slow").event.eq("other").sum() == sum(
        1 for u in units if u[1] == "banner")


@few(5)
@given(units=slow_records())
def test_direct_digests_in_one_two_and_three_ranges_give_the_readers_digest(tmp_path_factory, units):
    path = tmp_path_factory.mktemp("my") / "x-slow.log"
    path.write_bytes(text_of(units))
    try:
        events = tk.read_queries(path, format="mysql-slow")
    except ToolkitError:
        return
    whole = tk.digest(events)
    for workers in (1, 2, 3):
        got = digest_file(path, format="mysql-slow", workers=workers)
        pd.testing.assert_frame_equal(got, whole, check_dtype=False)
        assert {k: got.attrs["source"][k] for k in ACCOUNTING} == {k: events.attrs["source"][k] for k in ACCOUNTING}


@given(units=slow_records(), cut=st.integers(0, 10 ** 6), kind=st.sampled_from(["gz", "zst", "bz2"]))
def test_byte_ranges_cut_anywhere_and_a_compressed_copy_read_as_the_whole(tmp_path_factory, units, cut, kind):
    data = text_of(units)
    path = tmp_path_factory.mktemp("my") / "x-slow.log"
    path.write_bytes(data)
    try:
        whole = tk.read_queries(path, format="mysql-slow")
    except ToolkitError:
        return
    pd.testing.assert_frame_equal(tk.read_queries(compressed(data, kind), format="mysql-slow"), whole)
    # two ranges cut at any byte (each moved to a record start): every record once, with the
    # database and time that carry into the second range from before it
    cut = cut % (len(data) + 1)
    frames = [f for lo, hi in ((0, cut), (cut, len(data))) for f in split_mysql_slow(path, lo, hi)]
    got = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    cols = ["timestamp", "duration_ms", "statement", "database", "user", "session", "rows_sent", "source_line"]

    def plain(df):  # (the range reader's lean columns are numpy ones: compare the values)
        return [[None if pd.isna(v) else float(v) if c == "rows_sent" else v for c, v in zip(cols, row, strict=True)]
                for row in df[cols].astype(object).itertuples(index=False)]

    assert plain(got) == plain(whole)


@given(data=st.data())
def test_damaged_logs_and_any_bytes_give_tables_or_a_toolkit_error(data):
    real = b"\n".join(tk.sources.open_source(SAMPLES / "queries/mariadb/app-slow.log").read_bytes().split(b"\n")[:120])
    damaged = data.draw(st.one_of(mutated(real), st.binary(max_size=300)))
    for reader in (tk.read_queries, tk.read_server_events):
        for options in ({"format": "mysql-slow"}, {}):
            try:
                df = reader(damaged, **options)
            except ToolkitError:
                continue
            assert df.attrs["source"]["records"] >= 0
