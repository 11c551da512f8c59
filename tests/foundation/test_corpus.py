"""The corpus: real files from other projects and from real software run here, in every format.

GIVEN each file of tests/fixtures/third_party (listed in manifest.json with the format it is and
what the established tool reports of it: pt-query-digest, pgBadger, GoAccess, pstats,
speedscope's importer)
WHEN it is detected and read
THEN it is detected as its format and nothing else, read without error, every line or item is
accounted for, and the totals equal the established tool's.

Files the toolkit cannot read yet carry their reason in the manifest and are xfail(strict=True):
the work that reads them turns them green, and the manifest loses their reason (make_manifest.py
writes it from :func:`problem`). A file the toolkit does not read by design carries ``refused``
(what detection's error must say), and a log without a record, where the established tool finds
none either, ``no_records`` (what reading it must say).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from toolkit import formats
from toolkit.errors import ToolkitError

CORPUS = FIXTURES / "third_party"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
LOG_KINDS = ("queries", "access_log")


def _data(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _items(fmt: str, data: bytes) -> int | None:
    """How many records a JSON profile holds, counted here independently of the readers."""
    if fmt == "cpuprofile":
        return len(json.loads(data)["samples"])
    if fmt == "chrometrace":
        text = data.strip()
        doc = json.loads(text if not text.startswith(b"[") or text.endswith(b"]")
                         else text.rstrip(b", \t\r\n") + b"]")
        events = doc["traceEvents"] if isinstance(doc, dict) else doc
        return len(events) + (len(doc.get("samples") or []) if isinstance(doc, dict) else 0)
    if fmt == "speedscope":
        doc = json.loads(data)
        return sum(len(p.get("samples") or p.get("events") or []) for p in doc["profiles"])
    if fmt == "pyinstrument-session":
        return len(json.loads(data)["frame_records"])
    return None


def _check_accounting(fmt: str, kind: str, table, data: bytes) -> str | None:
    src = table.attrs["source"] if kind in LOG_KINDS else table.source
    if src["lines_skipped"] != sum(src["skip_reasons"].values()):
        return f"{src['lines_skipped']} lines skipped but the reasons count {sum(src['skip_reasons'].values())}"
    if fmt != "pstats" and src["lines_read"] != _lines(data):
        return f"lines_read {src['lines_read']}, the file has {_lines(data)} lines"
    if kind in LOG_KINDS and src["records"] != len(table):
        return f"{src['records']} records but {len(table)} rows"
    if kind == "access_log" and src["lines_read"] != src["records"] + src["lines_skipped"]:
        return f"{src['lines_read']} lines read but {src['records']} requests + {src['lines_skipped']} skipped"
    if fmt == "pyspy-raw" and src["lines_read"] != src["records"] + src["lines_skipped"]:
        return f"{src['lines_read']} lines read but {src['records']} stacks + {src['lines_skipped']} skipped"
    items = _items(fmt, data)
    if items is not None and src["records"] + src["lines_skipped"] != items:
        return f"{items} records in the file but {src['records']} read + {src['lines_skipped']} skipped"
    return None


def _check_oracle(fmt: str, kind: str, table, oracle: dict, path: Path) -> str | None:
    tool = oracle["tool"]
    if "queries" in oracle and "query_time_s" in oracle:  # pt-query-digest
        total = float(table["duration_ms"].sum()) / 1000
        if len(table) != oracle["queries"] or abs(total - oracle["query_time_s"]) > 1e-6 * max(1, len(table)):
            return f"{len(table)} statements, {total:.6f} s; {tool}: {oracle['queries']}, {oracle['query_time_s']:.6f} s"
    elif "queries" in oracle:  # pgBadger: statements and executes (parse and bind are parts of one),
        # those without a duration too (log_statement lines no duration line followed)
        table = table[table["kind"].isin(["statement", "execute"])]
        total = float(table["duration_ms"].sum())
        if len(table) != oracle["queries"] or abs(total - oracle["duration_ms"]) > 0.01 * max(1, len(table)):
            return f"{len(table)} statements, {total:.3f} ms; {tool}: {oracle['queries']}, {oracle['duration_ms']:.3f} ms"
    elif "valid_requests" in oracle:  # GoAccess
        if len(table) != oracle["valid_requests"]:
            return f"{len(table)} requests; {tool}: {oracle['valid_requests']} valid"
    elif "total_tt_s" in oracle:  # pstats
        if abs(table.duration_s - oracle["total_tt_s"]) > 1e-9:
            return f"{table.duration_s} s; {tool}: total_tt {oracle['total_tt_s']} s"
    elif "self_us_by_function" in oracle:  # speedscope
        ours = (table.functions().groupby("function")["self_s"].sum() * 1e6).round(3)
        ours = {k: v for k, v in ours.items() if v > 0}
        theirs = {k: round(v, 3) for k, v in oracle["self_us_by_function"].items()}
        if ours != theirs:
            diff = sorted(set(ours.items()) ^ set(theirs.items()))[:4]
            return f"self times differ from {tool}: {diff}"
    return None


def problem(path: Path, entry: dict) -> str | None:
    """What goes wrong with ``path`` today (None: it is detected as ``entry["format"]``, read,
    accounted for, and its totals are the established tool's), the file named by its name."""
    why = _problem(path, entry)
    return None if why is None else why.replace(str(path), path.name)[:300]


def _problem(path: Path, entry: dict) -> str | None:
    fmt = entry["format"]
    refused = entry.get("refused")  # a file the toolkit does not read: detection says so, in these words
    try:
        found = formats.detect(path)
    except ToolkitError as exc:
        if refused and refused in str(exc):
            return None
        return f"not detected ({type(exc).__name__}: {getattr(exc, 'reason', '') or exc})"
    if refused:
        return f"detected as {found.name}, not refused saying {refused!r}"
    if found.name != fmt:
        return f"detected as {found.name}, not {fmt}"
    kind = found.kind
    options = entry.get("options", {})  # what its user must pass (a log_line_prefix no one could guess)
    try:
        table = formats.read(path, format=fmt, **options)
    except ToolkitError as exc:
        # a log without a record (the established tool finds none either): reading says so
        if entry.get("no_records") and entry["no_records"] in str(exc):
            return None
        return f"read fails: {type(exc).__name__}: {exc}"
    if entry.get("no_records"):
        return f"read as {len(table)} records, not refused saying {entry['no_records']!r}"
    if kind == "queries" and len(table) == 0 and len(formats.read(path, format=fmt, table="server_events",
                                                                  **options)) == 0:
        return "read as empty tables (no statement, no server event)"
    if kind == "access_log" and len(table) == 0:
        return "read as an empty table"
    if kind == "profile" and not table.duration_s > 0:
        return "read as an empty profile"
    data = _data(path)
    why = _check_accounting(fmt, kind, table, data)
    if why is None and entry.get("oracle"):
        why = _check_oracle(fmt, kind, table, entry["oracle"], path)
    return why


def _param(rel: str, entry: dict):
    marks = [pytest.mark.xfail(strict=True, reason=entry["xfail"])] if "xfail" in entry else []
    return pytest.param(rel, entry, id=rel, marks=marks)


def test_the_manifest_lists_every_corpus_file():
    from fixtures.third_party.make_manifest import corpus_files
    assert sorted(MANIFEST) == corpus_files()


def test_the_corpus_stays_small():
    assert sum((CORPUS / rel).stat().st_size for rel in MANIFEST) < 4_000_000


@pytest.mark.parametrize(("rel", "entry"), [_param(rel, e) for rel, e in sorted(MANIFEST.items())])
def test_corpus_file(rel, entry):
    # GIVEN a real file and what it is WHEN it is detected and read
    # THEN nothing goes wrong (problem() names the first thing that does)
    assert problem(CORPUS / rel, entry) is None


def test_every_format_of_every_kind_is_in_the_corpus_from_two_sources():
    # the profile and log formats the toolkit reads: each has real files from at least two
    # independent sources (another project, and real software run here), or is pending
    sources: dict[str, set[str]] = {}
    for rel, entry in MANIFEST.items():
        sources.setdefault(entry["format"], set()).add(rel.split("/", 1)[0])
    for fmt in ("cpuprofile", "chrometrace", "postgres-stderr", "postgres-csvlog", "postgres-jsonlog",
                "mysql-slow", "combined"):
        assert len(sources.get(fmt, ())) >= 2, (fmt, sources.get(fmt))
    readable = {e["format"] for e in MANIFEST.values() if "xfail" not in e}
    assert {"pyspy-raw", "speedscope", "pyinstrument-session", "pyinstrument-json", "pstats"} <= readable
