"""Hostile and damaged input: bounded memory and time on any input (issue #11, section 3).

Two kinds of test:

- the hostile inputs themselves (decompression bombs, a 50 MB line, ``/dev/zero``, NUL-filled
  files, FIFOs, 50,000-frame profiles, 100,000-level nested JSON) run in a fresh interpreter that
  reports its own peak resident memory (``ru_maxrss``), which must stay under 1 GB, and the
  error (a ToolkitError subclass) or the result it got;
- a line over the line limit in the middle of a record, for every line-oriented reader, on the
  genuine sample logs: the file still reads, the accounting adds up (every line is in a record,
  in the other table, or skipped with a reason), and every other record is unchanged. These use
  a small limit (:class:`toolkit.sources.Limits`) so that the over-long line is small too.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pytest
from conftest import ROOT, SAMPLES

import toolkit as tk
from toolkit import sources
from toolkit.errors import ParseError, UnknownFormatError
from toolkit.queries.digest import digest_file
from toolkit.sources import Limits, long_line_reason, open_source

LIMIT = 1 << 16  # longer than every line of the bundled samples
LONG = b"x" * (LIMIT + 100)
PEAK_MB = 1024


def isolated(code: str, timeout: float = 120) -> dict:
    """Run ``code`` in a fresh interpreter (it leaves a JSON-able ``result``); returns that and
    the interpreter's own peak resident memory in MB."""
    program = textwrap.dedent(code) + textwrap.dedent("""
        import json as _json, resource as _resource
        print(_json.dumps({"result": result,
                           "peak_mb": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# What the child programs share: call a function, say what it returned or raised.
OUTCOME = """
import toolkit as tk
from toolkit.errors import ToolkitError

def outcome(fn, *args, **kwargs):
    try:
        value = fn(*args, **kwargs)
    except ToolkitError as exc:
        return [type(exc).__name__, str(exc)]
    return ["ok", value]
"""

ACCESS_LINE = (b'127.0.0.1 - - [26/Nov/2026:05:15:40 +0000] "GET /users/42 HTTP/1.1" 200 157 "-" '
               b'"curl/8.0"\n')


# ---------------------------------------------------------------------------- hostile inputs

def test_decompression_bombs_are_parse_errors_within_bounded_memory(tmp_path):
    # GIVEN bombs of every compression: a member (zstd: a frame) holding three access-log lines,
    # then 2,048 members of 1 MiB of NUL bytes each (2 GiB expanded), and one zstd frame of RLE
    # blocks: 128 KiB of input standing for 4 GiB of zeros (zstd expands a whole block per
    # call; fed at once, this took 4 GB in detect)
    code = OUTCOME + f"""
import bz2, gzip, lzma, os, zstandard
from toolkit import formats
compressors = {{"gzip": lambda b: gzip.compress(b, 9), "bzip2": lambda b: bz2.compress(b, 9),
               "xz": lzma.compress, "zstd": zstandard.ZstdCompressor(level=19).compress}}
result = {{}}
for name, compress in compressors.items():
    path = {str(tmp_path)!r} + "/access." + name
    zeros = compress(bytes(1 << 20))
    with open(path, "wb") as fh:
        fh.write(compress({ACCESS_LINE!r} * 3))
        for _ in range(2048):
            fh.write(zeros)
    result[name] = {{"size": os.path.getsize(path),
                    "detect": outcome(lambda p: formats.detect(p).name, path),
                    "read": outcome(lambda p: len(tk.read_access_log(p)), path),
                    "endpoints": outcome(lambda p: len(tk.endpoints(p)), path)}}
# a zstd frame by hand: magic, no content size, a 128 KiB window, then 32,768 RLE blocks (a 3-byte
# header: last-block bit, type 1 = RLE, size 128 KiB; then the byte to repeat)
rle = (((131072 << 3) | 2).to_bytes(3, "little") + b"\\0") * 32767 + (((131072 << 3) | 3).to_bytes(3, "little") + b"\\0")
path = {str(tmp_path)!r} + "/zeros.zst"
with open(path, "wb") as fh:
    fh.write(b"\\x28\\xb5\\x2f\\xfd\\x00\\x38" + rle)
result["rle"] = {{"detect": outcome(lambda p: formats.detect(p).name, path),
                 "read": outcome(lambda p: len(tk.read_queries(p, format="mysql-slow")), path),
                 "profile": outcome(lambda p: tk.read_profile(p, format="speedscope").duration_s, path)}}
"""
    got = isolated(code)
    # THEN reading any of them is a ParseError that names the bomb; detection reads only its
    # head (the content is a valid access log); memory stays bounded
    for name in ("gzip", "bzip2", "xz", "zstd"):
        one = got["result"][name]
        assert one["size"] < 8 << 20
        assert one["detect"] == ["ok", "combined"]
        for call in ("read", "endpoints"):
            kind, message = one[call]
            assert kind == "ParseError", (name, call, message)
            assert f"the {name} stream expands more than 200 times" in message and "decompression bomb" in message
    rle = got["result"]["rle"]
    assert rle["detect"][0] == "UnknownFormatError" and "binary content" in rle["detect"][1]
    assert rle["read"][0] == "ParseError" and "expands more than 200 times" in rle["read"][1]
    assert rle["profile"][0] == "ParseError" and "expands more than 200 times" in rle["profile"][1]
    assert got["peak_mb"] < PEAK_MB


def test_a_50_mb_line_is_skipped_and_counted_by_detection_and_readers(tmp_path):
    # GIVEN a PostgreSQL log and an access log holding a 50 MB line: a SQL literal in the middle
    # of the log, and as the very first line (undetectable before: the head was all one line)
    code = OUTCOME + f"""
from toolkit import formats
from toolkit.queries.digest import digest_file
ok = b"2026-11-26 05:09:21.878 UTC [11999] postgres@app LOG:  duration: 11.709 ms  statement: SELECT 1\\n"
literal = b"2026-11-26 05:09:21.879 UTC [11999] postgres@app LOG:  duration: 1.0 ms  statement: SELECT '" + b"x" * 50_000_000 + b"'\\n"
tmp = {str(tmp_path)!r}
with open(tmp + "/middle.log", "wb") as fh:
    fh.write(ok * 3 + literal + ok * 2)
with open(tmp + "/first.log", "wb") as fh:
    fh.write(literal + ok * 2)
with open(tmp + "/access.log", "wb") as fh:
    fh.write(b"x" * 50_000_000 + b"\\n" + {ACCESS_LINE!r} * 3)

def read(path, reader):
    df = reader(path)
    s = df.attrs["source"]
    return [formats.detect(path).name, len(df), s["lines_read"], s["lines_skipped"], s["skip_reasons"],
            [x["line"] for x in s["skipped"]], len(s["skipped"][0]["text"])]

result = {{"middle": outcome(read, tmp + "/middle.log", tk.read_queries),
           "first": outcome(read, tmp + "/first.log", tk.read_queries),
           "digest": outcome(lambda p: digest_file(p)["calls"].sum().item(), tmp + "/middle.log"),
           "access": outcome(read, tmp + "/access.log", tk.read_access_log)}}
"""
    got = isolated(code)
    reason = long_line_reason(sources.DEFAULT_LIMITS.line_bytes)
    # THEN each file is detected as what it is, the line is skipped with its reason and number
    # (its example cut to 200 characters), every other line is read, memory stays bounded
    assert got["result"]["middle"] == ["ok", ["postgres-stderr", 5, 6, 1, {reason: 1}, [4], 200]]
    assert got["result"]["first"] == ["ok", ["postgres-stderr", 2, 3, 1, {reason: 1}, [1], 200]]
    assert got["result"]["digest"] == ["ok", 5]
    assert got["result"]["access"] == ["ok", ["combined", 3, 4, 1, {reason: 1}, [1], 200]]
    assert got["peak_mb"] < PEAK_MB


def test_dev_zero_nul_files_and_nested_json_are_clear_errors_within_bounded_memory(tmp_path):
    # GIVEN /dev/zero named as an input, a 64 MiB file of NUL bytes, and JSON nested 100,000
    # levels deep as a speedscope file, a jsonlog line, a JSON access-log line and a plan
    code = OUTCOME + f"""
from toolkit import formats
from toolkit.sources import open_source
tmp = {str(tmp_path)!r}
with open(tmp + "/nul.bin", "wb") as fh:
    fh.write(bytes(64 << 20))
deep = "[" * 100_000 + "]" * 100_000
with open(tmp + "/deep.speedscope.json", "w") as fh:
    fh.write(deep)
jsonlog = ('{{"timestamp":"2026-11-26 05:09:21.105 UTC","error_severity":"LOG",'
           '"message":"duration: 1.0 ms  statement: SELECT 1"}}\\n')
with open(tmp + "/postgresql.json", "w") as fh:
    fh.write(jsonlog + '{{"a":' * 100_000 + "1" + "}}" * 100_000 + "\\n" + jsonlog)
with open(tmp + "/access.jsonl", "w") as fh:
    fh.write('{{"request":"GET / HTTP/1.1","status":"200"}}\\n' + deep + "\\n")

def accounting(df):
    s = df.attrs["source"]
    return [len(df), s["lines_read"], s["lines_skipped"], sorted(s["skip_reasons"])]

result = {{
    "zero": outcome(open_source, "/dev/zero"),
    "nul_detect": outcome(lambda p: formats.detect(p).name, tmp + "/nul.bin"),
    "nul_access": outcome(lambda p: accounting(tk.read_access_log(p, format="combined")), tmp + "/nul.bin"),
    "nul_mysql": outcome(lambda p: accounting(tk.read_queries(p, format="mysql-slow")), tmp + "/nul.bin"),
    "nul_pyspy": outcome(lambda p: tk.read_profile(p, format="pyspy-raw").source["lines_skipped"], tmp + "/nul.bin"),
    "deep_speedscope": outcome(lambda p: tk.read_profile(p).duration_s, tmp + "/deep.speedscope.json"),
    "deep_jsonlog": outcome(lambda p: accounting(tk.read_queries(p, format="postgres-jsonlog")),
                            tmp + "/postgresql.json"),
    "deep_access": outcome(lambda p: accounting(tk.read_access_log(p, format="access-json")), tmp + "/access.jsonl"),
    "deep_plan": outcome(lambda text: len(tk.read_plan(text)), deep),
}}
"""
    got = isolated(code)
    r = got["result"]
    # THEN each is a clear ToolkitError or a counted skip, never a crash or a hang
    assert r["zero"][0] == "InputError"
    assert "is a character device, not a regular file, and gives more than 268435456 bytes" in r["zero"][1]
    assert r["nul_detect"][0] == "UnknownFormatError" and "binary content matched no known format" in r["nul_detect"][1]
    long_reason = long_line_reason(sources.DEFAULT_LIMITS.line_bytes)
    # the NUL "line" is 64 MiB: over the line limit, skipped whole and counted once
    assert r["nul_access"] == ["ok", [0, 1, 1, [long_reason]]]
    assert r["nul_mysql"][0] in ("ok", "ParseError")
    if r["nul_mysql"][0] == "ParseError":
        assert "no slow log record found" in r["nul_mysql"][1]
    assert r["nul_pyspy"][0] in ("ok", "ParseError")
    assert r["deep_speedscope"][0] == "ParseError"
    assert "JSON nested deeper than Python's recursion limit" in r["deep_speedscope"][1]
    assert "deep.speedscope.json" in r["deep_speedscope"][1]
    # one-object-per-line readers skip the deep line with their reason, and read the others
    assert r["deep_jsonlog"] == ["ok", [2, 3, 1, ["not a jsonlog record (a JSON object with error_severity)"]]]
    assert r["deep_access"] == ["ok", [1, 2, 1, ["not a JSON object"]]]
    assert r["deep_plan"][0] == "ParseError" and "nested deeper" in r["deep_plan"][1]
    assert got["peak_mb"] < PEAK_MB


def test_profiles_50000_frames_deep_stay_linear_in_time_and_memory(tmp_path):
    # GIVEN py-spy collapsed stacks 10,000 and 40,000 frames deep (and 50,000 for memory): one
    # deep stack and one that leaves it half way (before: 20,000 frames took 1.3 GB, quadratic);
    # and a speedscope evented profile and a Chrome trace 50,000 frames deep with time at every
    # depth: 50,000 distinct stacks, 1.25 billion frames from 5 MB of JSON
    code = OUTCOME + f"""
import json, resource, time
from toolkit.plots.flame import flame

def collapsed(depth):
    frames = [f"f{{i}} (app.py:{{i}})" for i in range(depth)]
    return (";".join(frames) + " 5\\n" + ";".join(frames[: depth // 2]) + ";leaf (b.py:1) 3\\n").encode()

def work(depth):
    prof = tk.read_profile(collapsed(depth), format="pyspy-raw")
    t0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    tree, hot, funcs = prof.tree(), prof.hot_paths(), prof.functions()
    fig = flame(prof)
    seconds = resource.getrusage(resource.RUSAGE_SELF).ru_utime - t0
    return seconds, len(tree), hot["self_s"].tolist(), len(funcs), len(fig.data[0].ids)

work(2000)  # warm up (imports, first calls)
small, big = work(10_000), work(40_000)
deepest = tk.read_profile(collapsed(50_000), format="pyspy-raw")
D = 50_000
events = ([{{"type": "O", "at": i, "frame": i}} for i in range(D)]
          + [{{"type": "C", "at": D + i, "frame": D - 1 - i}} for i in range(D)])
with open({str(tmp_path)!r} + "/deep.speedscope.json", "w") as fh:
    json.dump({{"shared": {{"frames": [{{"name": f"f{{i}}"}} for i in range(D)]}},
               "profiles": [{{"type": "evented", "name": "x", "unit": "seconds", "startValue": 0,
                             "endValue": 2 * D, "events": events}}]}}, fh)
with open({str(tmp_path)!r} + "/deep.trace.json", "w") as fh:
    json.dump([{{"ph": "B", "name": f"f{{i}}", "ts": i, "pid": 1, "tid": 1}} for i in range(D)]
              + [{{"ph": "E", "ts": D + i, "pid": 1, "tid": 1}} for i in range(D)], fh)
result = {{"small": small, "big": big, "deepest": [len(deepest.tree()), deepest.hot_paths()["self_s"].tolist()],
          "flame": len(flame(deepest).data[0].ids),
          "evented": outcome(tk.read_profile, {str(tmp_path)!r} + "/deep.speedscope.json"),
          "trace": outcome(tk.read_profile, {str(tmp_path)!r} + "/deep.trace.json")}}
"""
    got = isolated(code)
    r = got["result"]
    # THEN the tables are right (one node per frame plus the leaf; the two leaves' seconds),
    # the flame figure stays within its box limit, 4x the depth costs well under 16x the time
    # (quadratic), and memory stays bounded
    for key, depth in (("small", 10_000), ("big", 40_000)):
        seconds, nodes, hot, funcs, boxes = r[key]
        assert nodes == depth + 1 and funcs == depth + 1
        assert hot == [0.05, 0.03]  # 5 and 3 samples at py-spy's assumed 100 Hz
        assert boxes <= 2000
    assert r["big"][0] < 8 * max(r["small"][0], 0.05), (r["small"][0], r["big"][0])
    assert r["deepest"] == [50_001, [0.05, 0.03]]
    assert r["flame"] == 2000
    for key, name in (("evented", "deep.speedscope.json"), ("trace", "deep.trace.json")):
        assert r[key][0] == "ParseError"
        assert r[key][1].startswith(f"{tmp_path / name}: the profile's distinct stacks hold more than 33554432 frames")
    assert got["peak_mb"] < PEAK_MB


def test_a_fifo_is_never_waited_for(tmp_path):
    # GIVEN a FIFO no process writes to, alone and inside a folder
    folder = tmp_path / "logs"
    folder.mkdir()
    fifo = folder / "pipe.log"
    os.mkfifo(fifo)
    (folder / "access.log").write_bytes(ACCESS_LINE * 2)
    code = OUTCOME + f"""
import os
from toolkit import formats
from toolkit.report.analyze import analyze
from toolkit.sources import iter_files, open_source
passed = []
files = list(iter_files([{str(folder)!r}], skipped=passed))
a = analyze([{str(folder)!r}], run_findings=False)
result = {{"open": outcome(lambda p: open_source(p).read_bytes().decode(), {str(fifo)!r}),
           "detect": outcome(lambda p: formats.detect(p).name, {str(fifo)!r}),
           "files": files, "passed": passed,
           "analyze": [[os.path.basename(i.path), i.status, i.reason] for i in a.inputs]}}
"""
    # WHEN it is named, detected, and found in a folder walk (in a child with a timeout: a
    # blocking open would hang it)
    got = isolated(code, timeout=60)
    r = got["result"]
    # THEN named explicitly, it is opened without waiting and read (nothing was written);
    # found in a folder, it is passed over with its reason, which analyze lists
    assert r["open"] == ["ok", ""]
    assert r["detect"][0] == "UnknownFormatError" and "empty" in r["detect"][1]
    assert r["files"] == [str(folder / "access.log")]
    assert r["passed"] == [[str(fifo), "a FIFO (named pipe), not a regular file: not read"]]
    assert ["pipe.log", "skipped", "a FIFO (named pipe), not a regular file: not read"] in r["analyze"]
    assert ["access.log", "read", ""] in r["analyze"]


def test_a_fifo_named_explicitly_is_read_while_a_writer_writes(tmp_path):
    fifo = tmp_path / "access.log"
    os.mkfifo(fifo)
    # GIVEN a process that has the FIFO open for writing (a reader end held open meanwhile lets
    # it open without waiting) and writes three requests, one at a time, then closes it
    held = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY)

    def write() -> None:
        for _ in range(3):
            os.write(writer, ACCESS_LINE)
        os.close(writer)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    # WHEN the FIFO's path is read (once: a FIFO cannot be read again)
    src = open_source(fifo)
    thread.join(10)
    os.close(held)
    df = tk.read_access_log(src, format="combined")
    # THEN the reader waited for the writer to finish and read all of it, as from a file
    assert len(df) == 3 and df.attrs["source"]["lines_read"] == 3
    assert src.path is None and src.name == str(fifo)


# ------------------------------------------------------- an over-long line inside a record

@pytest.fixture
def small_limit(monkeypatch):
    """The byte-range workers and readers that open their own Source use DEFAULT_LIMITS."""
    monkeypatch.setattr(sources, "DEFAULT_LIMITS", Limits(line_bytes=LIMIT))
    return LIMIT


def damaged(raw: bytes, line: int) -> bytes:
    """``raw`` with line ``line`` (1-based) replaced by one over the limit."""
    lines = raw.split(b"\n")
    lines[line - 1] = LONG
    return b"\n".join(lines)


def src_of(data: bytes) -> sources.Source:
    return open_source(data, limits=Limits(line_bytes=LIMIT))


def unchanged(clean: pd.DataFrame, hurt: pd.DataFrame, but: set[int]) -> None:
    """Every row of ``clean`` whose source_line is not in ``but`` is in ``hurt``, unchanged, and
    ``hurt`` has no other rows than those and rows at ``but``."""
    keep = clean[~clean["source_line"].isin(but)].reset_index(drop=True)
    rest = hurt[~hurt["source_line"].isin(but)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, keep)


def pg_accounted(df: pd.DataFrame) -> bool:
    s = df.attrs["source"]
    return s["lines_read"] == s["record_lines"] + s["lines_skipped"] + sum(s["lines_in_other_table"].values())


def next_record(raw: bytes, line: int, starts: re.Pattern) -> int:
    """The number of the first line after ``line`` that starts a record."""
    lines = raw.split(b"\n")
    return next(k for k in range(line + 1, len(lines) + 1) if starts.match(lines[k - 1]))


STDERR_RECORD = re.compile(rb"[^\t]")  # continuation lines start with a TAB
CSV_RECORD = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # log_time


def damage_a_statement(sample: str, fmt: str, record: re.Pattern) -> tuple:
    """The sample's first statement of four lines or more (with its auto_explain plan attached),
    read as it is and with its third line over the limit: (clean, damaged, the clean row, its
    first line, the first line of the next record)."""
    raw = gzip.decompress((SAMPLES / "queries/postgresql" / sample).read_bytes())
    clean = tk.read_queries(src_of(raw), format=fmt)
    n = clean["statement"].fillna("").str.count("\n")
    row = clean[(n >= 3) & (clean["kind"] == "statement")].iloc[0]
    first = int(row["source_line"])
    hurt = tk.read_queries(src_of(damaged(raw, first + 2)), format=fmt)
    return clean, hurt, row, first, next_record(raw, first, record)


def detached_plan(clean: pd.DataFrame, hurt: pd.DataFrame, row: pd.Series) -> int:
    """The line of the one plan row the damaged read has and the clean read has not: the plan
    that was attached to ``row``."""
    plan = hurt[(hurt["kind"] == "plan") & ~hurt["source_line"].isin(clean["source_line"])]
    assert len(plan) == 1 and plan.iloc[0]["plan"] == row["plan"]
    return int(plan.iloc[0]["source_line"])


def test_postgres_stderr_record_ends_at_a_left_out_continuation_line():
    # GIVEN a multi-line statement whose third line is over the limit
    clean, hurt, row, first, after = damage_a_statement("app/postgresql.log.gz", "postgres-stderr", STDERR_RECORD)
    s = hurt.attrs["source"]
    # THEN the statement ends where the line was; the lines after it that belonged to it are
    # skipped with their reason; its plan, no longer matching it, stays a plan row of its own
    cut = hurt[hurt["source_line"] == first].iloc[0]
    assert cut["statement"] == "\n".join(row["statement"].split("\n")[:2])
    assert cut["duration_ms"] == row["duration_ms"] and pd.isna(cut["plan"])
    plan_line = detached_plan(clean, hurt, row)
    assert s["skip_reasons"] == {long_line_reason(LIMIT): 1,
                                 "continuation line without a record before it": after - first - 3}
    assert s["lines_read"] == clean.attrs["source"]["lines_read"] and pg_accounted(hurt)
    unchanged(clean, hurt, {first, plan_line})


def test_postgres_csvlog_record_with_a_left_out_line_is_dropped_and_counted():
    # GIVEN a statement whose quoted, multi-line message has its third line over the limit
    clean, hurt, row, first, after = damage_a_statement("app/postgresql.csv.gz", "postgres-csvlog", CSV_RECORD)
    s = hurt.attrs["source"]
    # THEN the record is dropped: every line of it is skipped with a reason (the left-out one
    # and the two halves that no longer hold 26 columns); its plan stays a plan row; the
    # records after it are read as before
    assert first not in set(hurt["source_line"])
    assert s["lines_skipped"] == after - first and s["skip_reasons"][long_line_reason(LIMIT)] == 1
    assert s["record_lines"] == clean.attrs["source"]["record_lines"] - (after - first)
    plan_line = detached_plan(clean, hurt, row)
    assert s["lines_read"] == clean.attrs["source"]["lines_read"] and pg_accounted(hurt)
    unchanged(clean, hurt, {first, plan_line})


def test_postgres_jsonlog_record_on_a_left_out_line_is_dropped_and_counted():
    raw = gzip.decompress((SAMPLES / "queries/postgresql/app/postgresql.json.gz").read_bytes())
    clean = tk.read_queries(src_of(raw), format="postgres-jsonlog")
    # GIVEN a statement without a plan (one line per record) over the limit
    plain = clean[(clean["kind"] == "statement") & clean["plan"].isna()]
    row = plain.iloc[len(plain) // 2]
    line = int(row["source_line"])
    hurt = tk.read_queries(src_of(damaged(raw, line)), format="postgres-jsonlog")
    s = hurt.attrs["source"]
    # THEN that record alone is gone, counted as one skipped line
    assert s["skip_reasons"] == {long_line_reason(LIMIT): 1} and s["skipped"][0]["line"] == line
    assert len(hurt) == len(clean) - 1 and pg_accounted(hurt)
    unchanged(clean, hurt, {line})


def test_mysql_slow_log_record_with_a_left_out_line_is_dropped_and_counted():
    text = (SAMPLES / "queries/mariadb/app-slow.log").read_bytes()
    clean = tk.read_queries(src_of(text), format="mysql-slow")
    # GIVEN a record (its '# Time:' line included) whose statement line is over the limit
    first, after = (int(x) for x in clean["source_line"].iloc[[10, 11]])
    lines = text.split(b"\n")
    start = first - 1 if lines[first - 2].startswith(b"# Time: ") else first
    hurt = tk.read_queries(src_of(damaged(text, after - 1)), format="mysql-slow")
    s, c = hurt.attrs["source"], clean.attrs["source"]
    # THEN the record is dropped, each of its lines skipped with a reason; the other records
    # (their times and databases, which carry from one record to the next, included) unchanged
    assert first not in set(hurt["source_line"]) and len(hurt) == len(clean) - 1
    assert s["lines_skipped"] - c["lines_skipped"] == after - start
    assert s["skip_reasons"][long_line_reason(LIMIT)] == 1
    assert s["skip_reasons"]["truncated record (no statement)"] == after - start - 1
    assert s["lines_read"] == c["lines_read"]
    unchanged(clean, hurt, {first})


@pytest.mark.parametrize("name, fmt", [("nginx/combined.log.gz", "combined"),
                                       ("nginx/access.jsonl.gz", "access-json")])
def test_access_log_request_on_a_left_out_line_is_dropped_and_counted(name, fmt):
    raw = gzip.decompress((SAMPLES / "http" / name).read_bytes())
    clean = tk.read_access_log(src_of(raw), format=fmt)
    line = len(clean) // 2
    hurt = tk.read_access_log(src_of(damaged(raw, line)), format=fmt)
    s = hurt.attrs["source"]
    assert s["skip_reasons"] == {long_line_reason(LIMIT): 1} and s["skipped"][0]["line"] == line
    assert len(hurt) + s["lines_skipped"] == s["lines_read"] == clean.attrs["source"]["lines_read"]
    unchanged(clean, hurt, {line})


def test_pyspy_stack_on_a_left_out_line_is_dropped_and_counted():
    raw = (SAMPLES / "profiles/py-spy/demo_slow.txt").read_bytes()
    clean = tk.read_profile(src_of(raw), format="pyspy-raw")
    lines = raw.split(b"\n")
    gone = lines[4].decode()
    hurt = tk.read_profile(src_of(damaged(raw, 5)), format="pyspy-raw")
    s = hurt.source
    assert s["skip_reasons"] == {long_line_reason(LIMIT): 1} and s["skipped"][0]["line"] == 5
    assert s["records"] == clean.source["records"] - 1 and s["lines_read"] == clean.source["lines_read"]
    samples = int(gone.rsplit(" ", 1)[1])
    assert hurt.samples == clean.samples - samples
    assert hurt.duration_s == pytest.approx(clean.duration_s - samples / 100)


def test_byte_range_workers_leave_out_the_same_lines(tmp_path, small_limit):
    # GIVEN a PostgreSQL log, a slow log and an access log, each with an over-long line inside
    # a record, as plain files (the two-process paths read byte ranges of them)
    pg = tmp_path / "postgresql.log"
    pg_raw = gzip.decompress((SAMPLES / "queries/postgresql/app/postgresql.log.gz").read_bytes())
    pg.write_bytes(damaged(pg_raw, 58))
    my = tmp_path / "slow.log"
    my.write_bytes(damaged((SAMPLES / "queries/mariadb/app-slow.log").read_bytes(), 10))
    web = tmp_path / "access.log"
    web.write_bytes(damaged(gzip.decompress((SAMPLES / "http/nginx/combined.log.gz").read_bytes()), 700))
    for path in (pg, my):
        # WHEN digested in one process and in two
        one = digest_file(path, workers=1)
        two = digest_file(path, workers=2)
        # THEN the same digest and the same accounting, the left-out line counted once
        pd.testing.assert_frame_equal(one, two)
        for key in ("lines_read", "lines_skipped", "skip_reasons"):
            assert one.attrs["source"][key] == two.attrs["source"][key], (path, key)
        assert one.attrs["source"]["skip_reasons"][long_line_reason(LIMIT)] == 1
    one, two = tk.endpoints(web, jobs=1), tk.endpoints(web, jobs=2)
    pd.testing.assert_frame_equal(one, two)
    for key in ("lines_read", "lines_skipped", "skip_reasons", "records"):
        assert one.attrs["source"][key] == two.attrs["source"][key], key
    assert one.attrs["source"]["skipped"] == two.attrs["source"]["skipped"]
    assert two.attrs["source"]["skipped"][0]["line"] == 700


def test_an_over_long_line_where_the_workers_cut_the_file_is_passed_over(tmp_path, small_limit):
    # GIVEN logs whose middle byte (where two workers cut them) lies inside an over-long line,
    # longer than the windows the boundary search reads
    pg_line = b"2026-11-26 05:09:21.878 UTC [11999] postgres@app LOG:  duration: 1.5 ms  statement: SELECT 1\n"
    cases = {"postgresql.log": (pg_line, digest_file), "access.log": (ACCESS_LINE, tk.endpoints)}
    very_long = LONG * 10
    for name, (line, run) in cases.items():
        path = tmp_path / name
        path.write_bytes(line * 200 + very_long + b"\n" + line * 200)
        assert 200 * len(line) + (1 << 18) < path.stat().st_size // 2
        # WHEN read by one process and by two
        options = {"workers": 2} if run is digest_file else {"jobs": 2}
        one, two = run(path), run(path, **options)
        # THEN the same result: every record read, the line left out once
        pd.testing.assert_frame_equal(one, two)
        for result in (one, two):
            source = result.attrs["source"]
            assert source["lines_read"] == 401 and source["skip_reasons"] == {long_line_reason(LIMIT): 1}
        assert (one["calls"] if "calls" in one else one["requests"]).sum() == 400


def test_errors_raise_stops_at_an_over_long_line():
    data = ACCESS_LINE + LONG + b"\n" + ACCESS_LINE
    with pytest.raises(ParseError) as err:
        tk.read_access_log(src_of(data), format="combined", errors="raise")
    assert err.value.line == 2 and "line longer than 65536 bytes" in str(err.value)


def test_nested_json_is_a_parse_error_naming_file_and_line(tmp_path):
    path = tmp_path / "deep.speedscope.json"
    path.write_text('{"a": ' * 50_000 + "1" + "}" * 50_000)
    with pytest.raises(ParseError) as err:
        tk.read_profile(path, format="speedscope")
    assert str(path) in str(err.value) and "nested deeper" in str(err.value)
    with pytest.raises(UnknownFormatError):  # detection does not crash on it either
        tk.formats.detect(b"[" * 100_000)
