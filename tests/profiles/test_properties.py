"""Property tests of the profile readers (hypothesis; see tests/helpers/strategies.py for the
profiles: ``HYPOTHESIS_PROFILE=long`` runs many more examples).

For every reader: any bytes give a Profile or a ToolkitError, and a Profile's tables can be
computed. What each reader's accounting (``profile.source``) holds:

- ``pyspy-raw`` (folded stacks, one sample line each): ``lines_read == records +
  lines_skipped`` (``records`` counts lines, a multi-line ``-s`` command line included);
- ``speedscope``: ``records + lines_skipped`` = samples + events (items of the JSON document);
- ``chrometrace``: ``records + lines_skipped`` = events;
- ``pyinstrument-session``: ``records + lines_skipped`` = frame records;
- ``pstats``: ``records + lines_skipped`` = entries of the stats dict.

``lines_read`` of the JSON formats counts the file's lines. A file and its gzip / zstd copy give
equal tables; folded stacks cut at a line boundary give two profiles that add up to the whole.
"""

from __future__ import annotations

import json
import marshal
import math

import pytest
from conftest import SAMPLES
from helpers.strategies import BAD_DIGITS, compressed, hostile_text, json_values, maybe_bad, mutated, words
from hypothesis import given
from hypothesis import strategies as st

import toolkit as tk
from toolkit import schema
from toolkit.errors import ToolkitError

pytestmark = pytest.mark.properties

PROFILE_FORMATS = ("pyspy-raw", "speedscope", "chrometrace", "pyinstrument-session", "pyinstrument-json", "pstats")
REAL = {
    "pyspy-raw": SAMPLES / "profiles/py-spy/demo_threads.txt",
    "speedscope": SAMPLES / "profiles/py-spy/demo_threads.speedscope.json",
    "chrometrace": SAMPLES / "profiles/py-spy/demo_fixed.chrometrace.json",
    "pyinstrument-session": SAMPLES / "profiles/pyinstrument/demo_fixed.pyisession.gz",
    "pyinstrument-json": SAMPLES / "profiles/pyinstrument/demo_fixed.json",
    "pstats": SAMPLES / "profiles/cprofile/demo_fixed.prof",
}


def read(data: bytes, fmt: str | None, **options):
    """The Profile, or None for a ToolkitError (anything else fails the test)."""
    try:
        prof = tk.read_profile(data, format=fmt, **options)
    except ToolkitError:
        return None
    # every table can be computed and has its canonical columns
    for table, df in (("profile_functions", prof.functions()), ("profile_lines", prof.lines()),
                      ("profile_tree", prof.tree()), ("profile_stacks", prof.stacks())):
        schema.validate(df, table)
    prof.hot_paths()
    repr(prof)
    assert math.isfinite(prof.duration_s)
    return prof


def equal_profiles(a, b) -> None:
    for get in (lambda p: p.functions(), lambda p: p.stacks(), lambda p: p.tree()):
        assert get(a).equals(get(b))
    assert a.duration_s == b.duration_s and a.samples == b.samples


# -- any bytes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", PROFILE_FORMATS)
@given(data=st.binary(max_size=600))
def test_any_bytes_give_a_profile_or_a_toolkit_error(fmt, data):
    read(data, fmt)


@pytest.mark.parametrize("fmt", PROFILE_FORMATS)
@given(data=st.data())
def test_damaged_real_files_give_a_profile_or_a_toolkit_error(fmt, data):
    # GIVEN a real file of the format, damaged (cut, spans deleted or doubled, bytes replaced)
    # (pstats: CPython's marshal crashed the interpreter on such files)
    original = tk.sources.open_source(REAL[fmt]).read_bytes()
    damaged = data.draw(mutated(original))
    # WHEN read with the format named and detected THEN a Profile or a ToolkitError
    read(damaged, fmt)
    read(damaged, None)


# -- folded stacks (py-spy raw) ---------------------------------------------------------------

FRAME = st.builds(lambda name, file, line: f"{name} ({file}.py:{line})", words(), words(),
                  maybe_bad(st.integers(0, 5000).map(str), BAD_DIGITS, p_bad=0.1))
GOOD_COUNT = st.integers(1, 1000).map(str)


@st.composite
def folded(draw):
    """Folded-stack lines: ``(text, count or None when the line must be skipped)``."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["sample", "sample", "sample", "bad count", "junk", "blank"]))
        stack = ";".join(draw(st.lists(FRAME, min_size=1, max_size=4)))
        if kind == "sample":
            count = draw(GOOD_COUNT)
            lines.append((f"{stack} {count}", int(count)))
        elif kind == "bad count":  # digits that are no sample count: other digits, beyond int64
            lines.append((f"{stack} {draw(st.sampled_from(BAD_DIGITS))}", None))
        elif kind == "junk":
            lines.append((draw(hostile_text()).replace("\n", "") + "!", None))
        else:
            lines.append(("", None))
    return lines


@given(lines=folded(), kind=st.sampled_from(["gz", "zst"]))
def test_folded_stacks_count_every_line_and_read_the_same_compressed(lines, kind):
    data = "".join(text + "\n" for text, _ in lines).encode()
    prof = read(data, "pyspy-raw", rate=100)
    good = [c for _, c in lines if c is not None]
    if prof is None:  # only when no line at all is a sample
        assert not good and lines
        return
    src = prof.source
    # THEN every line is a record or skipped, the samples are exactly the good counts
    assert src["lines_read"] == len(lines) == src["records"] + src["lines_skipped"]
    assert src["records"] == len(good)
    assert prof.samples == sum(good)
    assert prof.duration_s == pytest.approx(sum(good) / 100)
    # AND the gzip / zstd copy gives the same tables
    equal_profiles(read(compressed(data, kind), "pyspy-raw", rate=100), prof)


@given(lines=folded(), cut=st.integers(0, 12))
def test_folded_stacks_cut_at_a_line_add_up_to_the_whole(lines, cut):
    texts = [t + "\n" for t, _ in lines]
    whole, a, b = ("".join(part).encode() for part in (texts, texts[:cut], texts[cut:]))
    pw, pa, pb = (read(x, "pyspy-raw", rate=100) for x in (whole, a, b))
    if pw is None:
        return
    parts = [p for p in (pa, pb) if p is not None]
    assert sum(p.samples for p in parts) == pw.samples
    assert sum(p.duration_s for p in parts) == pytest.approx(pw.duration_s)
    # per function, the self times add up
    total = {}
    for p in parts:
        for row in p.functions().itertuples():
            total[(row.function, row.file)] = total.get((row.function, row.file), 0.0) + row.self_s
    assert {k: pytest.approx(v) for k, v in total.items()} == {
        (r.function, r.file): r.self_s for r in pw.functions().itertuples()}


# -- speedscope --------------------------------------------------------------------------------

@st.composite
def speedscope_doc(draw):
    """A sampled speedscope document with hostile frames, indexes and weights; the good samples'
    count and weight."""
    frames = []
    for _ in range(draw(st.integers(1, 5))):
        frame = {"name": draw(st.one_of(words(), words(), json_values()))}
        if draw(st.booleans()):
            frame["file"] = draw(st.one_of(words(), json_values()))
        if draw(st.booleans()):
            frame["line"] = draw(st.one_of(st.integers(0, 500), json_values()))
        frames.append(frame)
    good_index = st.integers(0, len(frames) - 1)
    samples, weights, good_n, good_w = [], [], 0, 0.0
    for _ in range(draw(st.integers(0, 10))):
        stack = draw(st.lists(st.one_of(good_index, good_index, st.sampled_from([-1, len(frames), 1.5, True])),
                              max_size=4))
        weight = draw(st.one_of(st.floats(0, 1), st.floats(0, 1), json_values()))
        samples.append(stack)
        weights.append(weight)
        ok_stack = all(type(j) is int and 0 <= j < len(frames) for j in stack)
        w, why = schema.float_value(weight, lo=0.0, hi=1e290)
        if ok_stack and w is not None:
            good_n += 1
            good_w += w
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": frames},
           "profiles": [{"type": "sampled", "name": "t", "unit": "seconds", "startValue": 0, "endValue": 1,
                         "samples": samples, "weights": weights}]}
    return doc, len(samples), good_n, good_w


@given(spec=speedscope_doc())
def test_speedscope_counts_every_sample_and_keeps_the_good_ones(spec):
    doc, n, good_n, good_w = spec
    prof = read(json.dumps(doc).encode(), "speedscope")
    if prof is None:  # a frame's name of the wrong type: the file is refused, with the reason
        assert any(isinstance(f["name"], (list, dict)) for f in doc["shared"]["frames"])
        return
    src = prof.source
    assert src["records"] + src["lines_skipped"] == n
    assert src["records"] == good_n
    assert prof.duration_s == pytest.approx(good_w)


# -- chrome trace ------------------------------------------------------------------------------

@st.composite
def trace_events(draw):
    events = []
    for _ in range(draw(st.integers(0, 6))):
        pid = draw(st.one_of(st.just(1), json_values()))
        tid = draw(st.one_of(st.just(2), json_values()))
        ts = draw(st.one_of(st.integers(0, 10 ** 6), json_values()))
        args = draw(st.one_of(st.fixed_dictionaries({"filename": words(), "line": maybe_bad(st.integers(1, 99))}),
                              json_values()))
        ph = draw(st.sampled_from(["B", "E", "X", "M", "I", 3]))
        ev = {"ph": ph, "pid": pid, "tid": tid, "ts": ts, "name": draw(words()), "args": args}
        if ph == "X":
            ev["dur"] = draw(st.one_of(st.integers(0, 1000), json_values()))
        events.append(ev)
    return events


@given(events=trace_events(), wrapped=st.booleans())
def test_chrome_traces_count_every_event(events, wrapped):
    doc = {"traceEvents": events} if wrapped else events
    prof = read(json.dumps(doc).encode(), "chrometrace")
    if prof is not None:
        assert prof.source["records"] + prof.source["lines_skipped"] == len(events)


# -- pyinstrument ------------------------------------------------------------------------------

@st.composite
def session(draw):
    info = st.builds(lambda f, file, line, lno: f"{f}\x00{file}.py\x00{line}\x01l{lno}", words(), words(),
                     maybe_bad(st.integers(1, 900).map(str), BAD_DIGITS), maybe_bad(st.integers(1, 900).map(str)))
    records, good = [], []
    for _ in range(draw(st.integers(0, 8))):
        rec = draw(st.one_of(st.tuples(st.lists(info, max_size=4), st.floats(0, 2)).map(list),
                             st.tuples(st.lists(info, max_size=2), json_values()).map(list),
                             json_values()))
        records.append(rec)
        ok = (isinstance(rec, list) and len(rec) == 2 and isinstance(rec[0], list)
              and all(isinstance(i, str) for i in rec[0]) and rec[1] is not None
              and schema.float_value(rec[1], lo=0.0, hi=1e290)[0] is not None)
        if ok:
            good.append(schema.float_value(rec[1])[0])
    doc = {"start_time": draw(st.one_of(st.floats(0, 2e9), json_values())), "duration": draw(json_values()),
           "sample_count": draw(st.one_of(st.integers(0, 99), json_values())), "min_interval": 0.001,
           "max_interval": 0.001, "start_call_stack": draw(st.one_of(st.just([]), json_values())),
           "target_description": draw(st.one_of(words(), json_values())), "cpu_time": 0.1,
           "sys_path": [], "sys_prefixes": [], "frame_records": records}
    return doc, good


@given(spec=session())
def test_pyinstrument_sessions_count_every_frame_record(spec):
    doc, good = spec
    prof = read(json.dumps(doc).encode(), "pyinstrument-session")
    assert prof is not None  # a frame_records list: always a profile, bad records skipped
    assert prof.source["records"] == len(good)
    assert prof.source["records"] + prof.source["lines_skipped"] == len(doc["frame_records"])
    assert prof.duration_s == pytest.approx(sum(good))
    assert prof.start_time is None or math.isfinite(prof.start_time)


@st.composite
def pyinstrument_tree(draw, depth=0):
    node = {"function": draw(st.one_of(words(), words(), json_values())), "file_path": draw(words()),
            "line_no": draw(st.one_of(st.integers(1, 99), json_values())),
            "time": draw(st.one_of(st.floats(0, 5), st.floats(0, 5), json_values()))}
    if depth < 2:
        node["children"] = draw(st.one_of(st.lists(pyinstrument_tree(depth + 1), max_size=2), json_values()))
    return node


@given(root=pyinstrument_tree())
def test_pyinstrument_trees_give_a_profile_or_a_parse_error(root):
    read(json.dumps({"root_frame": root, "duration": 1.0, "sample_count": 3}).encode(), "pyinstrument-json")


# -- pstats ------------------------------------------------------------------------------------

NUMBER = st.one_of(st.integers(0, 10 ** 6), st.floats(0, 100),
                   st.sampled_from([2 ** 63, -1, math.inf, math.nan, True, 10 ** 30]))


@st.composite
def stats_dict(draw):
    keys = draw(st.lists(st.tuples(words(), st.one_of(st.integers(0, 999), st.sampled_from([2 ** 40, -1, True])),
                                   words()), min_size=1, max_size=6, unique=True))
    stats = {}
    for key in keys:
        numbers = tuple(draw(NUMBER) for _ in range(4))
        callers = {c: tuple(draw(NUMBER) for _ in range(4)) for c in draw(st.lists(st.sampled_from(keys), max_size=2))}
        stats[key] = (*numbers, callers)
    return stats


@given(stats=stats_dict())
def test_pstats_files_keep_the_entries_whose_numbers_are_good(stats):
    prof = read(marshal.dumps(stats), "pstats")
    assert prof is not None
    src = prof.source
    assert src["records"] + src["lines_skipped"] == len(stats)
    functions = prof.functions()
    # every kept entry's figures are exact: calls within int64, times finite
    assert (functions["calls"] >= 0).all() and functions["self_s"].map(math.isfinite).all()
