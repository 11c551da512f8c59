"""Bad values in profiles, one class of issue 11 (section 4) per test: integers of 2^63 and
more in sample counts and line numbers, ``1e309`` / NaN / Infinity in weights and times, JSON
fields of the wrong type, other digits. A sample or record with a bad measure is skipped and
counted; a bad line number or file is left out (null) and the frame kept; a document whose
structure cannot be read is a ParseError; nothing else escapes and nothing wraps.
"""

from __future__ import annotations

import json
import marshal
import math

import pytest

import toolkit as tk


def speedscope(frames, samples, weights) -> bytes:
    return json.dumps({"$schema": "https://www.speedscope.app/file-format-schema.json",
                       "shared": {"frames": frames},
                       "profiles": [{"type": "sampled", "name": "t", "unit": "seconds", "startValue": 0,
                                     "endValue": 1, "samples": samples, "weights": weights}]}).encode()


def test_folded_counts_beyond_int64_or_in_other_digits_skip_their_line():
    # GIVEN folded stacks whose counts are 2^63 (an OverflowError in the model before), in
    # Arabic-Indic digits (float() takes them) and a plain 3
    text = ("main (a.py:1);work (a.py:9) 9223372036854775808\n"
            "main (a.py:1);idle (a.py:12) \u0661\u0662\n"
            "main (a.py:1);work (a.py:9) 3\n")
    prof = tk.read_profile(text.encode(), format="pyspy-raw", rate=100)
    # THEN the good line is read, the others skipped with the reason
    assert prof.samples == 3 and prof.duration_s == pytest.approx(0.03)
    assert prof.source["skip_reasons"] == {"sample count is out of range": 1, "sample count is not a number": 1}
    assert prof.source["records"] == 1 and prof.source["lines_read"] == 3


def test_folded_line_numbers_beyond_a_c_int_are_null_and_the_frame_kept():
    prof = tk.read_profile(b"main (a.py:99999999999999999999);work (a.py:9223372036854775807) 4\n",
                           format="pyspy-raw", rate=100)
    functions = prof.functions().set_index("function")
    assert functions.loc["work", "self_s"] == pytest.approx(0.04)
    assert functions["line"].isna().all()  # (2^63 - 1 made the model's Int64 cast fail)
    assert prof.tree()["line"].isna().all()


@pytest.mark.parametrize(("weight", "reason"), [
    ("1e400", "weight is not a finite number"), ("NaN", "weight is not a finite number"),
    ('"0.01"', None), ('"x"', "weight is not a number"), ("[1]", "weight is a list, not a number"),
    ("-1", "weight is out of range"), ("null", "weight is missing"), ("true", "weight is a boolean, not a number"),
])
def test_speedscope_weights_that_are_no_finite_number_skip_their_sample(weight, reason):
    doc = speedscope([{"name": "main"}, {"name": "work"}], [[0, 1], [0, 1]], [0.5, 0]).replace(
        b"[0.5, 0]", b"[0.5, " + weight.encode() + b"]")
    prof = tk.read_profile(doc, format="speedscope")
    if reason is None:  # text holding a number is a number
        assert prof.samples == 2 and prof.duration_s == pytest.approx(0.51)
        return
    assert prof.samples == 1 and prof.duration_s == pytest.approx(0.5)
    assert prof.source["skip_reasons"] == {f"sampled profile 0: {reason}": 1}


@pytest.mark.parametrize("index", ["-1", "2", "1.5", "true", '"1"', "9223372036854775808"])
def test_speedscope_frame_indexes_that_are_not_one_skip_their_sample(index):
    doc = speedscope([{"name": "main"}, {"name": "work"}], [[0, 1], [0, 99]], [0.5, 0.25]).replace(
        b"[0, 99]", b"[0, " + index.encode() + b"]")
    prof = tk.read_profile(doc, format="speedscope")
    assert prof.samples == 1 and prof.source["lines_skipped"] == 1
    assert list(prof.source["skip_reasons"]) == [
        "sampled profile 0: a sample refers to a frame that is not in shared.frames"]


def test_speedscope_frame_details_of_the_wrong_type_are_left_out_and_a_bad_name_is_a_parse_error():
    doc = speedscope([{"name": "main", "line": float("inf"), "file": 5}, {"name": "work", "line": 2 ** 63}],
                     [[0, 1]], [1.0]).replace(b"Infinity", b"1e400")
    functions = tk.read_profile(doc, format="speedscope").functions()
    assert functions["line"].isna().all() and functions["file"].isna().all()
    with pytest.raises(tk.ParseError, match="frame 0: name is a list, not a string"):
        tk.read_profile(speedscope([{"name": ["main"]}], [[0]], [1.0]), format="speedscope")
    with pytest.raises(tk.ParseError, match="no shared.frames list"):
        tk.read_profile(json.dumps({"shared": [1], "profiles": []}).encode(), format="speedscope")


def test_speedscope_evented_times_that_are_no_finite_number_are_a_parse_error():
    doc = {"shared": {"frames": [{"name": "main"}]}, "profiles": [{
        "type": "evented", "unit": "seconds", "startValue": 0, "endValue": 1,
        "events": [{"type": "O", "at": 0, "frame": 0}, {"type": "C", "at": 1e400, "frame": 0}]}]}
    with pytest.raises(tk.ParseError, match=r"event 1 is not .* \(at is not a finite number\)"):
        tk.read_profile(json.dumps(doc).encode(), format="speedscope")


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("pid", [1], "pid is a list, not a number or a string"),
    ("tid", {"a": 1}, "tid is an object, not a number or a string"),
    ("args", [1, 2], "args is a list, not an object"),
])
def test_chrome_trace_events_with_fields_of_the_wrong_type_are_skipped(field, value, reason):
    events = [{"ph": "X", "name": "main", "pid": 1, "tid": 2, "ts": 0, "dur": 100, "args": {"line": 3}},
              {"ph": "X", "name": "work", "pid": 1, "tid": 2, "ts": 10, "dur": 50}]
    events[1][field] = value
    prof = tk.read_profile(json.dumps(events).encode(), format="chrometrace")
    assert prof.source["records"] == 1 and prof.source["skip_reasons"] == {reason: 1}
    assert prof.duration_s == pytest.approx(100e-6)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("pid", [1], "pid is a list, not a number or a string"),
    ("tid", {"a": 1}, "tid is an object, not a number or a string"),
])
def test_chrome_trace_metadata_with_fields_of_the_wrong_type_is_skipped_not_a_crash(field, value, reason):
    # GIVEN a thread_name metadata event whose pid or tid cannot be a key
    meta = {"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "worker"}}
    meta[field] = value
    events = [meta, {"ph": "X", "name": "main", "pid": 1, "tid": 2, "ts": 0, "dur": 100}]
    # WHEN the trace is read THEN that event is skipped with its reason, and the thread is unnamed
    prof = tk.read_profile(json.dumps(events).encode(), format="chrometrace")
    assert prof.source["records"] == 1 and prof.source["skip_reasons"] == {reason: 1}
    assert prof.duration_s == pytest.approx(100e-6)


def test_chrome_trace_cpu_profile_events_with_a_pid_of_the_wrong_type_are_skipped_not_a_crash():
    # GIVEN a DevTools trace whose one CPU profile event has a list as its pid
    cpu = {"nodes": [{"id": 1, "callFrame": {"functionName": "(root)"}},
                     {"id": 2, "parent": 1, "callFrame": {"functionName": "work"}}],
           "samples": [2, 2], "timeDeltas": [0, 1000]}
    good = {"ph": "P", "name": "CpuProfile", "pid": 1, "tid": 2, "ts": 0, "args": {"data": {"cpuProfile": cpu}}}
    bad = {**good, "pid": [1], "tid": 3}
    # WHEN it is read THEN the bad event is skipped with its reason and the good one is the profile
    prof = tk.read_profile(json.dumps([good, bad]).encode(), format="chrometrace")
    assert prof.source["skip_reasons"] == {"pid is a list, not a number or a string": 1}
    assert prof.source["records"] == 1
    assert prof.duration_s == pytest.approx(0.001)  # the good profile's two samples, 1 ms apart


def test_chrome_trace_times_that_are_no_finite_number():
    base = {"ph": "X", "name": "main", "pid": 1, "tid": 2, "ts": 0, "dur": 100,
            "args": {"line": float("inf"), "filename": ["a.py"]}}
    prof = tk.read_profile(json.dumps([base, {**base, "dur": 1e400}]).replace("Infinity", "1e400").encode(),
                           format="chrometrace")
    assert prof.source["skip_reasons"] == {"dur is not a finite number": 1}
    functions = prof.functions()
    assert functions["line"].isna().all() and functions["file"].isna().all()
    with pytest.raises(tk.ParseError, match=r"event 0 has no numeric ts \(ts is not a finite number\)"):
        tk.read_profile(json.dumps([{**base, "ts": 1e400}]).replace("Infinity", "1e400").encode(),
                        format="chrometrace")


def test_pyinstrument_session_records_and_metadata_of_the_wrong_type():
    info = "main\x00a.py\x00\u0661\x01l9223372036854775808"
    doc = {"start_time": "yesterday", "duration": 1e400, "sample_count": 2 ** 64, "min_interval": 0.001,
           "frame_records": [[[info], 0.5], [[info], float("nan")], 7, [[info, 3], 0.1], [[info], "0.25"]]}
    prof = tk.read_profile(json.dumps(doc).encode(), format="pyinstrument-session")
    # THEN the good records (the numeric text among them) are read, the others counted
    assert prof.source["records"] == 2 and prof.duration_s == pytest.approx(0.75)
    assert prof.source["skip_reasons"] == {
        "seconds is not a finite number": 1, "a frame record is not [[frame_info, ...], seconds]": 1,
        "a frame record's stack is not a list of frame_info strings": 1}
    assert prof.samples == 2  # sample_count beyond int64: the records' count instead
    assert prof.start_time is None and prof.meta["session_duration_s"] is None
    assert prof.functions()["line"].isna().all()


@pytest.mark.parametrize(("change", "message"), [
    ({"function": ["f"]}, "function is a list, not a string"),
    ({"time": "1e400"}, "time is not a finite number"),
    ({"children": 5}, "children is not a list"),
])
def test_pyinstrument_json_nodes_that_are_not_frames_are_a_parse_error(change, message):
    root = {"function": "main", "file_path": "a.py", "line_no": 1, "time": 1.0,
            "children": [{"function": "work", "file_path": "a.py", "line_no": float("inf"), "time": 0.5}]}
    prof = tk.read_profile(json.dumps({"root_frame": root}).replace("Infinity", "1e400").encode(),
                           format="pyinstrument-json")
    assert prof.duration_s == pytest.approx(1.0) and prof.functions()["line"].isna().sum() == 1
    root["children"][0].update(change)
    with pytest.raises(tk.ParseError, match=message):
        tk.read_profile(json.dumps({"root_frame": root}).encode(), format="pyinstrument-json")


@pytest.mark.parametrize(("entry", "reason"), [
    ((("a.py", 2 ** 40, "f"), (1, 1, 0.1, 0.1, {})), "line is out of range"),
    ((("a.py", 1, "f"), (1, 2 ** 63, 0.1, 0.1, {})), "calls is out of range"),
    ((("a.py", 1, "f"), (1, 1, math.nan, 0.1, {})), "own time is not a finite number"),
    ((("a.py", 1, "f"), (True, 1, 0.1, 0.1, {})), "primitive calls is a boolean, not a number"),
    ((("a.py", 1, "f"), (1, 1, 0.1, math.inf, {})), "cumulative time is not a finite number"),
    ((("a.py", 1, "f"), (1, 1, 0.1, 0.1, {("a.py", 2, "g"): (1, 1, -1.0, 0.1)})),
     "a caller's own time is out of range"),
])
def test_pstats_entries_with_numbers_beyond_their_range_are_left_out_and_counted(entry, reason):
    key, value = entry
    stats = {key: value, ("b.py", 3, "main"): (1, 1, 0.5, 0.5, {})}
    prof = tk.read_profile(marshal.dumps(stats), format="pstats")
    assert prof.functions()["function"].tolist() == ["main"]
    assert prof.source["skip_reasons"] == {reason: 1} and prof.duration_s == pytest.approx(0.5)
