"""The one scanner of access logs: text (a compiled ``log_format`` / ``LogFormat``, or JSON
lines) -> :class:`Batch` es of typed column arrays with line accounting.

Every consumer reads through it: :func:`toolkit.http.accesslog.read_access_log` concatenates the
batches into the ``http_requests`` DataFrame, :func:`toolkit.http.endpoints.endpoints` folds them
into its accumulator (from a file: one process, or byte ranges read by worker processes, each
running :func:`scan_range`), and :mod:`toolkit.http.timeseries` reads a log path through it with
only the columns a series needs. A batch never depends on where its piece of text was cut: each line
is scanned alone by the format's one line pattern (compiled to C atoms, below; or ``json.loads``),
and the values are converted per distinct value, which gives the same value whichever rows share
a batch.

A batch of lines ``first ... first + lines - 1``:

- ``columns``: column name -> array of the matched lines' values (``http_requests`` names; strings
  as object arrays with None for null, numbers as float64 with NaN or Int64 arrays, ``timestamp``
  a UTC DatetimeIndex, ``malformed`` a bool array: the per-row status of the request line);
- ``source_line``: each row's line number (int64);
- ``skips``: the other lines, as ``(line, reason, text)``: every line is a row or a skip;
- ``coded``: for text columns converted per distinct value (the request's parts), the same values
  as :class:`Coded` (codes into distinct values), so a consumer that groups rows
  (:mod:`toolkit.http.endpoints`) does not hash every row's string again.

Text formats: the compiled scanner (:mod:`toolkit.native.accesslog`, :func:`native_lines`) reads
the piece in ONE C pass: it splits the lines, matches each against the compiled format's atoms
(``CompiledFormat.atoms``: the line regex's literals and value patterns, tried in the regex's
order, so a line it matches has the strings the regex would capture) and codes each group's
values into its distinct values, hashed in C; so no Python code runs per line unless the line is
bad, and the conversions below run per distinct value. Each line gets a status (matched, empty,
bad, undecided); the rules for the others are today's (:func:`_groups`): a bad line with a
backslash is tried again with the backslash-aware atoms, an undecided one (rare: see
:func:`_groups`) is read by the line regex, the rule the C pass follows. A line whose time (the
best time field) is not a valid time, or lies outside the years 1678-2261, is skipped with the
reason; a number that is not one of its kind (``-``, ``1.2.3``, a status beyond int64) is null,
the line kept.

Example::

    >>> from toolkit.http.accesslog import compile_format
    >>> b = scan_text(compile_format("combined"), 1,
    ...     '1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /a?x=1 HTTP/1.1" 200 29 "-" "curl"\\nnope\\n')
    >>> b.columns["path"].tolist(), b.columns["status"].tolist(), b.skips[0][:2]
    (['/a'], [200], (2, "does not match log format 'combined'"))
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import LogFormatError, ParseError
from ..native import accesslog as native_accesslog
from ..sources import CHUNK_BYTES, Accounting, Source, load_json, read_range
from .logformat import CANONICAL, TIME_VARIABLES, CompiledFormat, Field, column_for

_TIME_LOCAL_FMT = "%d/%b/%Y:%H:%M:%S %z"
_REQUEST_PARTS = ("method", "url", "path", "query", "protocol")
JSON_FORMAT = "json"  # the ``fmt`` of :func:`scan` for JSON lines


@dataclasses.dataclass
class Batch:
    """Lines ``first .. first + lines - 1`` of a log: the matched ones as ``columns`` (arrays of
    equal length, see the module) with their ``source_line``, the others in ``skips`` as
    ``(line, reason, text)``. ``len(source_line) + len(skips) == lines``."""

    first: int
    lines: int
    columns: dict[str, Any]
    source_line: np.ndarray
    skips: list[tuple]
    coded: dict[str, Coded] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.source_line)

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (``source_line`` last)."""
        df = pd.DataFrame({k: (pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v)
                           for k, v in self.columns.items()})
        df["source_line"] = self.source_line
        return df


# ----------------------------------------------------------------------------------- conversion

class Coded:
    """A column of raw strings as ``codes`` into ``uniques`` (an object array; codes never -1):
    the form the compiled scanner gives, so the conversions (:func:`factorize` and its callers)
    start from the distinct values without hashing every row again. Rows are selected like an
    array's (``coded[mask]``); ``np.asarray(coded)`` gives the strings. ``uniques`` may hold a
    value twice (pieces merged): every conversion is per value, so that changes nothing."""

    __slots__ = ("codes", "uniques")

    def __init__(self, codes: np.ndarray, uniques: np.ndarray):
        self.codes, self.uniques = codes, uniques

    def __getitem__(self, rows: Any) -> Coded:
        return Coded(self.codes[rows], self.uniques)

    def __len__(self) -> int:
        return len(self.codes)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.uniques[self.codes]


def factorize(raw: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values as an object array) of a raw column (an object array with None
    for null: code -1; or a :class:`Coded`)."""
    if isinstance(raw, Coded):
        return raw.codes, raw.uniques
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def per_distinct(arr: np.ndarray, convert: Callable[[np.ndarray], Any] | None = None) -> np.ndarray:
    """Apply ``convert`` (distinct values -> array) to the distinct values of ``arr`` only and
    spread the results back (None / NaN / NaT where ``arr`` is None). Without ``convert`` the
    rows share one string object per distinct value: a column of a long log holds few distinct
    clients, agents or methods, and a pointer per row instead of a string keeps it small."""
    codes, uniques = factorize(arr)
    conv = np.asarray(uniques if convert is None else convert(uniques))
    if conv.dtype.kind in "fc":
        fill = np.nan
    elif conv.dtype.kind == "M":
        fill = np.datetime64("NaT")
    else:
        conv = conv.astype(object)
        fill = None
    out = np.append(conv, np.array([fill], dtype=conv.dtype))  # code -1 -> the fill value
    return out[codes]


def numbers(uniques: np.ndarray) -> np.ndarray:
    """Decimal text -> float64 (:func:`toolkit.schema.float_values`): NaN where a value is not a
    finite number (``-``, ``1.2.3``, ``1e309``): an optional figure of the line, null."""
    return schema.float_values(uniques).values


def integers(uniques: np.ndarray) -> pd.arrays.IntegerArray:
    """Decimal text -> Int64 (:func:`toolkit.schema.int_values`): null where a value is not a
    whole number within int64 (``-``, ``99999999999999999999``)."""
    return schema.int_values(uniques).values


def _sum_list(uniques: np.ndarray) -> np.ndarray:
    """``0.010, 0.020`` / ``0.010 : 0.020`` / ``-`` -> summed seconds (NaN when nothing numeric)."""
    out = np.full(len(uniques), np.nan)
    # one value (the usual case): converted at once; + 0.0 as the sum below (-0.0 -> 0.0)
    single = np.array([u is not None and "," not in u and ":" not in u for u in uniques], dtype=bool)
    if single.any():
        out[single] = schema.float_values(np.asarray(uniques, dtype=object)[single]).values + 0.0
    for i in np.flatnonzero(~single).tolist():
        u = uniques[i]
        if u is None:
            continue
        parts = [schema.float_value(part)[0] for part in re.split(r",\s*|\s+:\s+", u)]
        seen = [p for p in parts if p is not None]
        total = schema.float_value(sum(seen))[0] if seen else None  # (a sum may overflow)
        if total is not None:
            out[i] = total
    return out


def decode_json(uniques: np.ndarray) -> np.ndarray:
    """Values written with nginx's ``escape=json`` (``\\"``, ``\\\\``, ``\\u00HH``) -> text."""
    def one(s):
        if s is None or "\\" not in s:
            return s
        try:
            return json.loads(f'"{s}"')
        except ValueError:
            return s
    return np.array([one(s) for s in uniques], dtype=object)


_APACHE_ESC = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+|\\(.)")


def decode_apache(uniques: np.ndarray) -> np.ndarray:
    """Apache writes \\" and \\\\ for a quote and a backslash, \\xhh for other bytes; nginx's
    default escaping (\\xHH) is a subset of it: one decoder for both."""
    def sub(m):
        if m.group(1) is not None:
            return {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1))
        return bytes.fromhex(m.group().replace("\\x", "")).decode("utf-8", "replace")

    return np.array([s if s is None or "\\" not in s else _APACHE_ESC.sub(sub, s) for s in uniques],
                    dtype=object)


def _nullify(arr: np.ndarray, escape: str) -> np.ndarray:
    """nginx writes an empty value as ``-`` (``escape=json``: as an empty string)."""
    arr = arr.copy()
    arr[arr == "-"] = None
    if escape == "json":
        arr[arr == ""] = None
    return arr


def distinct_times(raw: Any, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time strings (object array, None for null, or :class:`Coded`) of a time field ``kind``,
    converted per distinct value: (codes, the distinct values as UTC nanoseconds
    (``datetime64[ns]``, NaT where absent or bad), the reason of each bad one (not a valid
    time, outside the years 1678-2261; None else)), both with one entry more, for code -1
    (null: NaT, None). Rows are ``values[codes]``; a caller that needs only the bad rows
    gathers no reason for the others."""
    codes, uniques = factorize(raw)  # the distinct values only
    uniques = _nullify(uniques, "json")  # "-" and "" are no time
    if kind == "msec":
        # $msec has ms resolution: whole milliseconds, no float rounding
        got = schema.epoch_values(uniques, "timestamp", decimals=3)
    elif kind in ("time_local", "time_apache"):
        text = np.array([v.strip("[]") if isinstance(v, str) else v for v in uniques], dtype=object)
        got = schema.time_values(text, "timestamp", format=_TIME_LOCAL_FMT)
    else:
        got = schema.time_values(uniques, "timestamp", format="ISO8601")
    stamps = np.append(got.values.tz_localize(None).to_numpy(), np.datetime64("NaT", "ns"))  # code -1: null
    return codes, stamps, np.append(got.reasons, None)


def time_values(raw: Any, kind: str) -> schema.Checked:
    """Time strings (object array, None for null) of a time field ``kind`` -> UTC nanoseconds
    (:mod:`toolkit.schema`: NaT where absent or bad) and the reason of each bad one (not a valid
    time, outside the years 1678-2261): the scanner skips such lines, counting the reason."""
    codes, stamps, reasons = distinct_times(raw, kind)
    return schema.Checked(pd.DatetimeIndex(stamps[codes]).tz_localize("UTC"), reasons[codes])


def best_time_field(fmt: CompiledFormat) -> int | None:
    """Index in ``fmt.fields`` of the time variable that becomes ``timestamp`` (the best
    resolution of those present: ``$msec``, ``$time_iso8601``, ``$time_local`` / ``%t``)."""
    order = {k: i for i, k in enumerate(TIME_VARIABLES + ("time_apache",))}
    found = [(order[f.kind], i) for i, f in enumerate(fmt.fields) if f.kind in order]
    return min(found)[1] if found else None


def _drop_bad_times(fmt: CompiledFormat, cols: dict[str, Any], line_numbers: np.ndarray,
                    line_text: Callable[[int], str]) -> tuple[dict[str, Any], np.ndarray, list[tuple]]:
    """Convert each line's time once: the first time field the line has a value in, best
    resolution first (``$msec``, ``$time_iso8601``, ``$time_local`` / ``%t``), so a line's time
    never depends on the other lines of its piece. Lines whose time is bad are skipped
    (``(line, reason, text)`` items; ``line_text(i)`` gives the i-th line's text), the others'
    times go in ``cols["_ts"]`` (a UTC DatetimeIndex, NaT where no field has a value).
    Everything is decided per distinct value (:func:`distinct_times`): the rows get one gather
    of their times, and only bad rows a reason."""
    order = {k: i for i, k in enumerate(TIME_VARIABLES + ("time_apache",))}
    fields = sorted((order[f.kind], i) for i, f in enumerate(fmt.fields) if f.kind in order and f"f{i}" in cols)
    if not fields:
        return cols, line_numbers, []
    values: np.ndarray | None = None
    rows: np.ndarray | None = None  # the rows still without a time (None: all of them)
    bad_parts: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, their reasons)
    for _, i in fields:
        raw = cols[f"f{i}"]
        codes, stamps, reasons = distinct_times(raw if rows is None else raw[rows], fmt.fields[i].kind)
        if rows is None:
            values = stamps[codes]
        else:
            values[rows] = stamps[codes]
        bad_u = reasons != None  # noqa: E711 (elementwise)
        if bad_u.any():
            at = np.flatnonzero(bad_u[codes])
            bad_parts.append((at if rows is None else rows[at], reasons[codes[at]]))
        absent_u = np.isnat(stamps) & ~bad_u
        if not absent_u.any():
            break
        at = np.flatnonzero(absent_u[codes])
        rows = at if rows is None else rows[at]
        if not len(rows):
            break
    stamps_all = pd.DatetimeIndex(values).tz_localize("UTC")
    skips: list[tuple] = []
    if bad_parts:
        bad_rows = np.concatenate([r for r, _ in bad_parts])
        why = np.concatenate([w for _, w in bad_parts])
        order_rows = np.argsort(bad_rows, kind="stable")
        skips = [(int(line_numbers[r]), w, line_text(r)) for r, w in zip(bad_rows[order_rows].tolist(),
                                                                         why[order_rows].tolist(), strict=True)]
        keep = np.ones(len(line_numbers), dtype=bool)
        keep[bad_rows] = False
        cols = {k: v[keep] for k, v in cols.items()}
        line_numbers, stamps_all = line_numbers[keep], stamps_all[keep]
    cols["_ts"] = stamps_all
    return cols, line_numbers, skips


def _ints(raw: np.ndarray, kind: str) -> pd.arrays.IntegerArray:
    """An integer field's text -> Int64, converting the distinct values only (nginx's ``-`` is
    null; Apache's ``%b`` writes ``-`` for 0 bytes)."""
    codes, uniques = factorize(raw)
    vals = integers(uniques)
    if kind == "bytes_dash":
        vals[uniques == "-"] = 0
    return vals.take(codes, allow_fill=True)


def _joined_ints(raw: np.ndarray, first: Field, second: Field) -> tuple[Any, Any]:
    """A joined group ``"200 29"`` (``CompiledFormat.only(joined=True)``) -> its two Int64
    columns, converted per distinct pair."""
    codes, uniques = factorize(raw)
    halves = [(u.split(" ", 1) + [""])[:2] for u in uniques]  # (a value no row uses may be "")
    out = []
    for side, field in enumerate((first, second)):
        text = np.array([h[side] for h in halves], dtype=object)
        vals = integers(text)
        if field.kind == "bytes_dash":
            vals[text == "-"] = 0
        out.append(vals.take(codes, allow_fill=True))
    return out[0], out[1]


def split_requests(lines: np.ndarray, text: bool,
                   decode: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Distinct request lines -> ``method``, ``url``, ``path``, ``query``, ``protocol`` (object
    arrays, None where absent; an empty query is None) and ``malformed`` (bool: the line is not
    ``METHOD target [HTTP/x]``, all parts None). Each array has one entry more than ``lines``,
    for a line that has no request (None: not malformed). ``decode`` turns the target's escapes
    into text.

    The split is the compiled scanner's (:func:`toolkit.native.accesslog.split_requests`, one C
    pass over the distinct lines), by this grammar (``text``: a text log's lines, escapes still
    in: ``\\x22``, ``\\"``, an escape pair one character of the target; else JSON lines', already
    decoded)::

        METHOD    [A-Za-z][A-Za-z0-9_-]{0,31}, one space
        path      text: (?:[^ "?\\\n]++|\\.)*+     JSON: [^ ?]*
        ?query    text: (?:[^ "\\\n]++|\\.)*+      JSON: [^ ]*      (optional)
        protocol  " HTTP/" and 1-5 of [0-9.] ending the line           (optional)
    """
    method, url, path, query, protocol, malformed = native_accesslog.split_requests(lines, text)
    parts = {}
    for name, values in (("method", method), ("url", url), ("path", path), ("query", query),
                         ("protocol", protocol)):
        arr = np.empty(len(values) + 1, dtype=object)  # (the last entry: no request line, None)
        arr[:-1] = values
        parts[name] = arr
    if decode is not None:
        for k in ("url", "path", "query"):
            parts[k] = decode(parts[k])
    return {**parts, "malformed": np.append(np.frombuffer(malformed, dtype=np.uint8).astype(bool), False)}


def columns_of(cols: dict[str, np.ndarray], fmt: CompiledFormat, text_has_escapes: bool,
               coded: dict[str, Coded] | None = None) -> dict[str, Any]:
    """Typed ``http_requests`` columns (see the module) from the raw matched strings of one piece
    of text (group name -> object array, as :func:`match_text` gives them). ``coded``, when
    given, receives the request's parts as :class:`Coded` too (:attr:`Batch.coded`)."""
    out: dict[str, Any] = {}
    escape = fmt.escape
    decode = decode_json if escape == "json" else decode_apache
    time_fields = [f for f in fmt.fields if f.kind in TIME_VARIABLES or f.kind == "time_apache"]
    best = best_time_field(fmt)
    best_time = None if best is None else fmt.fields[best]
    used: set[str] = set()

    def spread(name: str, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The rows' values: ``values`` (one per distinct value, then the null entry for code
        -1) taken by ``codes``; kept in ``coded`` too."""
        codes = codes if not len(codes) or codes.min() >= 0 else np.where(codes < 0, len(values) - 1, codes)
        if coded is not None:
            coded[name] = Coded(codes, values)
        return values[codes]

    def text_column(name: str, raw: np.ndarray) -> np.ndarray:  # "-" (json: "") is null; escapes decoded
        codes, uniques = factorize(raw)
        text = _nullify(uniques, escape)
        text = np.asarray(decode(text) if text_has_escapes else text).astype(object)
        return spread(name, codes, np.append(text, np.array([None], dtype=object)))

    for name, raw in cols.items():
        if "__" in name:  # two integers captured as one group: split per distinct pair
            a, b = (fmt.fields[int(g[1:])] for g in name.split("__"))
            out[a.column], out[b.column] = _joined_ints(raw, a, b)
            used.update((a.column, b.column))
    for i, field in enumerate(fmt.fields):
        g = f"f{i}"
        kind = field.kind
        if g not in cols:
            continue  # not captured (see CompiledFormat.only)
        raw = cols.get(g)
        if field in time_fields:
            if field is best_time:
                out["timestamp"] = (cols["_ts"] if "_ts" in cols
                                    else time_values(_nullify(np.asarray(raw), escape), kind).values)
            continue
        column = field.column
        if column in used or (kind == "request" and any(p in used for p in _REQUEST_PARTS)):
            column = field.variable  # a second source for the same column keeps its own name
        if kind == "request":
            codes, uniques = factorize(raw)
            if fmt.capture is None or "request" in fmt.capture:
                raw_lines = _nullify(uniques, escape)
                raw_lines = decode(raw_lines) if text_has_escapes else raw_lines
                out[column] = spread(column, codes, np.append(raw_lines, None))
            split = split_requests(uniques, bool(fmt.regex), decode if text_has_escapes else None)
            # code -1 (no request line): the last entry of each part
            codes = codes if not len(codes) or codes.min() >= 0 else np.where(codes < 0, len(uniques), codes)
            for part, values in split.items():
                if part in ("method", "malformed") or fmt.capture is None or part in fmt.capture:
                    out[part] = values[codes]
                    if coded is not None and part != "malformed":
                        coded[part] = Coded(codes, values)
                    used.add(part)
        elif kind in ("int", "bytes_dash"):
            out[column] = _ints(raw, kind)
        elif kind in ("float", "usec", "msec_int", "sec", "nsec"):
            vals = per_distinct(raw, numbers)
            divisor = {"usec": 1e6, "msec_int": 1e3, "nsec": 1e9}.get(kind)  # divide: 87 / 1e3 is exactly 0.087
            out[column] = vals / divisor if divisor else vals
        elif kind == "list":
            codes, uniques = factorize(raw)
            uniques = _nullify(uniques, escape)
            out[column] = spread(column, codes, np.append(uniques, None))
            if field.variable == "upstream_response_time" and "upstream_time_s" not in used:
                out["upstream_time_s"] = np.append(_sum_list(uniques), np.nan)[codes]
                used.add("upstream_time_s")
        else:
            out[column] = text_column(column, raw)
        used.add(column)
    if "path" in out and "url" not in out:  # $uri / %U without the request line
        out["url"] = out["path"]
        if coded is not None and "path" in coded:
            coded["url"] = coded["path"]
    if "url" in out and "path" not in out:  # $request_uri (Caddy's uri, Traefik's RequestPath) alone
        out["path"] = per_distinct(out["url"], lambda u: np.array(
            [None if v is None else v.partition("?")[0] for v in u], dtype=object))
        out["query"] = per_distinct(out["url"], lambda u: np.array(
            [None if v is None or "?" not in v else v.partition("?")[2] for v in u], dtype=object))
    return out


# ----------------------------------------------------------------------------------- text formats

def _skip_reason(line: str, fmt: CompiledFormat) -> str:
    if line == "":
        return "empty line"
    if "\x00" in line:
        return "binary data (NUL bytes)"
    return f"does not match log format {fmt.name!r}"


# The compiled scanner's per-line status (toolkit/native/accesslog.c)
MATCHED, EMPTY, BAD, UNDECIDED = range(4)


@dataclasses.dataclass
class NativeLines:
    """What :func:`native_lines` read of a piece: each line's ``status`` (uint8: MATCHED, EMPTY,
    BAD (the format's pattern does not match it), UNDECIDED (left to the line regex: see
    :func:`_groups`)), the raw strings of the matched lines per group of ``fmt.groups`` as
    :class:`Coded` (code -1 on the other lines), and the text of the other lines (``others``, in
    line order)."""

    nlines: int
    status: np.ndarray
    columns: dict[str, Coded]
    others: list[str]


def native_lines(fmt: CompiledFormat, text: str) -> NativeLines:
    """The lines of ``text`` (a line break at its end ends the last line) matched by the compiled scanner
    (:mod:`toolkit.native.accesslog`) against ``fmt.atoms``, the format's line pattern: one C
    pass that splits the lines, matches each as the line regex would (same groups, same
    strings) and codes each group's values into its distinct values (hashed in C), so the
    conversions run per distinct value and no Python code runs per line."""
    groups = fmt.groups[:-1]  # (the last group is the regex's unmatched line)
    nlines, status, codes, uniques, others = native_accesslog.scan(text, fmt.atoms, len(groups))
    columns = {}
    for g, c, u in zip(groups, codes, uniques, strict=True):
        distinct = np.empty(len(u), dtype=object)
        distinct[:] = u
        columns[g] = Coded(np.frombuffer(c, dtype=np.int64), distinct)
    return NativeLines(nlines, np.frombuffer(status, dtype=np.uint8), columns, others)


def _merge(columns: dict[str, Coded], rows: np.ndarray, got: Mapping[str, Any]) -> None:
    """Put the values ``got`` (per group: a :class:`Coded` or an object array of strings, one per
    row of ``rows``) into ``columns`` at ``rows``: codes past the columns' distinct values."""
    for g, values in got.items():
        codes, uniques = factorize(values)
        col = columns[g]
        merged = np.array(col.codes)  # (writable)
        merged[rows] = codes + len(col.uniques)
        columns[g] = Coded(merged, np.concatenate((col.uniques, uniques)))


def _regex_groups(fmt: CompiledFormat, text: str, nlines: int | None = None
                  ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The line regex over ``text`` (lines without the last line break): (raw strings per group,
    each line's text where it did not match, which lines are bad). The slow path of
    :func:`_groups`: it reads only the lines the compiled scanner leaves undecided (and a format
    without atoms), by the rule the C pass follows."""
    pattern = fmt.pattern
    ngroups = len(fmt.groups)
    rows = pattern.findall(text)
    nlines = text.count("\n") + 1 if nlines is None else nlines
    if len(rows) != nlines:  # cannot happen with ^(?:...|(.*))$, but never lose a line
        rows = [pattern.findall(line)[0] if line else ("",) * ngroups for line in text.split("\n")]
    if ngroups == 1:
        rows = [(r,) for r in rows]
    table = np.empty((len(rows), ngroups), dtype=object)
    table[:] = rows  # one C-level pass; rows are tuples of equal length
    del rows
    cols = {g: table[:, i] for i, g in enumerate(fmt.groups)}
    line_col = cols.pop("_line")
    # A matched line leaves the fallback group empty; a bad line fills it, except an empty line,
    # which leaves every group empty.
    bad = line_col != ""
    if bad.any() and fmt.escape in ("default", "none") and not fmt.is_tolerant:
        _retry_tolerant(fmt, table, bad, line_col)
    bad |= _empty_lines(text, cols, nlines)
    return cols, line_col, bad


def _groups(fmt: CompiledFormat, text: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    """Every line of ``text`` (a line break at its end ends the last line) tokenized: (raw strings per group,
    as :class:`Coded`; each line's text where it did not match; which lines are bad; the number
    of lines). The compiled scanner (:func:`native_lines`) decides the lines; today's rules
    for the others, on their flag:

    - a line the format does not match that holds a backslash, in a format with nginx's default
      escaping, is tried again with the backslash-aware atoms (``fmt.tolerant()``: Apache's
      ``\\"`` in a combined log), by the same C pass;
    - an UNDECIDED line goes to the line regex (:func:`_regex_groups`): the C matcher reads
      ASCII digits where the regex's ``\\d`` reads any Unicode decimal digit, and it stops
      backtracking after a budget of tries, where the regex takes as long as it takes. Such
      lines are rare (a time written in other digits, a pathological line), and the regex is
      the rule the C pass follows, so they get the same answer it would."""
    if fmt.atoms is None:  # (every pattern logformat writes has atoms: kept so a new one still reads)
        text = text[:-1] if text.endswith("\n") else text
        nlines = text.count("\n") + 1
        return (*_regex_groups(fmt, text, nlines), nlines)
    got = native_lines(fmt, text)
    nlines, status, columns = got.nlines, np.array(got.status), got.columns
    line_col = np.full(nlines, "", dtype=object)
    other_rows = np.flatnonzero(status != MATCHED)
    line_col[other_rows] = got.others
    if fmt.escape in ("default", "none") and not fmt.is_tolerant and len(other_rows):
        retry = other_rows[[status[i] == BAD and "\\" in line_col[i] for i in other_rows.tolist()]]
        if len(retry):
            again = native_lines(fmt.tolerant(), "\n".join(line_col[retry]))
            took = again.status == MATCHED
            _merge(columns, retry[took], {g: c[took] for g, c in again.columns.items()})
            status[retry] = again.status
            line_col[retry[took]] = ""
    undecided = np.flatnonzero(status == UNDECIDED)
    bad = (status == EMPTY) | (status == BAD)
    if len(undecided):
        slow, slow_line_col, slow_bad = _regex_groups(fmt, "\n".join(line_col[undecided]), len(undecided))
        _merge(columns, undecided, slow)
        line_col[undecided] = slow_line_col
        bad[undecided] = slow_bad
    return columns, line_col, bad, nlines


def match_text(fmt: CompiledFormat, first: int, text: str
               ) -> tuple[dict[str, Any] | None, np.ndarray, list[tuple], int]:
    """The tokenizing step of :func:`scan_text`: (raw matched strings per group of the matched
    lines (object arrays or :class:`Coded`), or None when no line matched; their line numbers;
    skipped lines; the number of lines of ``text``). A line break ending ``text`` ends its last
    line (no copy of the piece without it: the compiled scanner stops before it)."""
    cols, line_col, bad, nlines = _groups(fmt, text)
    line_numbers = np.arange(first, first + nlines, dtype=np.int64)
    skips = []
    if bad.any():
        for idx in np.flatnonzero(bad):
            skips.append((int(line_numbers[idx]), _skip_reason(line_col[idx], fmt), line_col[idx]))
        keep = ~bad
        cols = {k: v[keep] for k, v in cols.items()}
        line_numbers = line_numbers[keep]
    lines: list[str] = []

    def line_text(i: int) -> str:  # the text of a matched line (split only when one is needed)
        if not lines:
            lines.extend(text.split("\n"))
        return lines[int(line_numbers[i]) - first]

    cols, line_numbers, bad_times = _drop_bad_times(fmt, cols, line_numbers, line_text)
    if bad_times:
        skips = sorted(skips + bad_times, key=lambda x: x[0])
    if len(line_numbers) == 0:
        return None, line_numbers, skips, nlines
    return cols, line_numbers, skips, nlines


def _retry_tolerant(fmt: CompiledFormat, table: np.ndarray, bad: np.ndarray, line_col: np.ndarray) -> None:
    """Lines the fast pattern rejected that hold a backslash (Apache's \\" in a combined log) get a
    second try with the backslash-aware variant; rows it matches are filled in ``table``."""
    tolerant = fmt.tolerant().pattern
    for i in np.flatnonzero(bad):
        if "\\" not in line_col[i]:
            continue
        found = tolerant.findall(line_col[i])
        row = found[0] if found else None
        if row is not None and (row if isinstance(row, str) else row[-1]) == "":
            table[i, :] = row
            bad[i] = False


def _empty_lines(text: str, cols: dict[str, np.ndarray], nlines: int) -> np.ndarray:
    """Which lines are empty: every group empty (checked on one column, then the few candidates),
    confirmed on the text itself."""
    out = np.zeros(nlines, dtype=bool)
    if text and "\n\n" not in text and text[0] != "\n" and text[-1] != "\n":
        return out  # no empty line (the common case: no scan of the columns)
    if not cols:
        cand = np.arange(nlines)
    else:
        first = next(iter(cols.values()))
        cand = np.flatnonzero(first == "")
        for col in cols.values():
            if len(cand) == 0:
                return out
            cand = cand[col[cand] == ""]
    if len(cand) == 0:
        return out
    lines = text.split("\n")
    for i in cand:
        out[i] = lines[i] == ""
    return out


def scan_text(fmt: CompiledFormat, first: int, text: str) -> Batch:
    """One piece of log text (whole lines, numbered from ``first``) in a text format -> a Batch.
    Pure: worker processes run it."""
    if not text:
        return Batch(first, 0, {}, np.empty(0, dtype=np.int64), [])
    cols, line_numbers, skips, lines = match_text(fmt, first, text)
    coded: dict[str, Coded] = {}
    columns = {} if cols is None else columns_of(cols, fmt, "\\" in text, coded)
    return Batch(first, lines, columns, line_numbers, skips, coded)


# ----------------------------------------------------------------------------------- JSON lines

# JSON keys that mean a canonical column (besides nginx variable names, which map as in log_format):
# the names users give their nginx escape=json fields, Caddy's structured access log (its nested
# ``request`` object flattened to ``request.uri`` & co, see _flat) and Traefik's JSON access log.
# A key not listed keeps its name as a column. Add to this mapping (key -> nginx variable) to
# read other names; ``date`` is typed by its value (an epoch number, a time_local, or ISO 8601).
JSON_KEYS = {
    "time": "time_iso8601", "timestamp": "time_iso8601", "@timestamp": "time_iso8601",
    "time_local": "time_local", "msec": "msec", "ip": "remote_addr", "client": "remote_addr",
    "remote_ip": "remote_addr", "method": "request_method", "user_agent": "http_user_agent",
    "referer": "http_referer", "referrer": "http_referer", "duration": "request_time",
    "response_time": "request_time", "bytes": "body_bytes_sent",
    # Caddy 2 (https://caddyserver.com/docs/caddyfile/directives/log, "handled request" entries)
    "ts": "msec", "size": "body_bytes_sent", "bytes_read": "request_length",
    "request.remote_ip": "remote_addr", "request.client_ip": "client_ip", "request.method": "request_method",
    "request.uri": "request_uri", "request.proto": "server_protocol", "request.host": "host",
    "request.headers.User-Agent": "http_user_agent", "request.headers.Referer": "http_referer",
    # Traefik 2/3 (https://doc.traefik.io/traefik/observability/access-logs/, format: json)
    "ClientHost": "remote_addr", "RequestMethod": "request_method", "RequestPath": "request_uri",
    "RequestProtocol": "server_protocol", "RequestHost": "host", "DownstreamStatus": "status",
    "DownstreamContentSize": "body_bytes_sent", "StartUTC": "time_iso8601", "Duration": "request_time_ns",
    "request_User-Agent": "http_user_agent", "request_Referer": "http_referer",
}
_JSON_KIND = {"request_time_ns": ("request_time_s", "nsec")}  # JSON-only variables: (column, kind)
# A column named as a json_keys target -> the variable that fills it ("date": typed by its value)
_COLUMN_VARIABLE = {**{col: var for var, col in CANONICAL.items() if col != "timestamp"},
                    "timestamp": "date", "path": "uri", "query": "args", "url": "request_uri"}


class JsonKeys(str):
    """The scanner's :data:`JSON_FORMAT` with a caller's own key mapping (``json_keys=`` of
    ``read_access_log``, ``endpoints`` and the time series), which wins over :data:`JSON_KEYS`.

    Each key of the log maps to a canonical ``http_requests`` column (``"timestamp"``,
    ``"path"``, ``"url"``, ``"status"``, ``"request_time_s"``, ``"client"``, ...) or to the nginx
    variable that fills one (``"request_time"``, ``"$request_uri"``); any other name renames the
    key's column. A key mapped to ``"timestamp"`` is typed by its value, as ``date`` is: an
    epoch number, a ``time_local`` or ISO 8601 text.

        >>> JsonKeys({"when": "timestamp", "took": "request_time_s"}).mapping
        {'when': 'date', 'took': 'request_time'}
    """

    mapping: dict[str, str]

    def __new__(cls, json_keys: Mapping[str, str]) -> JsonKeys:
        if not isinstance(json_keys, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and v.strip("$")
                                                          for k, v in json_keys.items()):
            raise LogFormatError(f"json_keys must map JSON keys to column names (str -> str), not {json_keys!r}")
        obj = super().__new__(cls, JSON_FORMAT)
        obj.mapping = {}
        for key, target in json_keys.items():
            target = target.lstrip("$")
            obj.mapping[key] = _COLUMN_VARIABLE.get(target, target)
        return obj

    def __reduce__(self):  # (worker processes get the mapping too)
        return JsonKeys, ({k: "timestamp" if v == "date" else v for k, v in self.mapping.items()},)


def with_json_keys(fmt: CompiledFormat | str, json_keys: Mapping[str, str] | None,
                   name: str) -> CompiledFormat | str:
    """``fmt`` with the caller's ``json_keys`` (:class:`JsonKeys`); a LogFormatError when the log
    (``name``) is not JSON lines, so the option is never silently ignored."""
    if json_keys is None:
        return fmt
    if not isinstance(fmt, str):
        raise LogFormatError(f"{name}: json_keys applies to JSON access logs; this log is read with the "
                             f"log_format {fmt.name!r}")
    return JsonKeys(json_keys)
_REQUEST_KEYS = ("request", "request_uri", "uri", "url", "path", "request.uri", "RequestPath")
# docker compose's "service  | " before each line (lnav/logfile_caddy_log.0)
_COMPOSE = re.compile(r"[\w.-]+ +\| (?=\{)")
_DATE_LOCAL = re.compile(r"\d{2}/[A-Za-z]{3}/\d{4}:")


def _flat(obj: dict) -> dict:
    """Caddy's nested ``request`` object as dotted keys (``request.uri``, a header's first
    value as ``request.headers.User-Agent``); any other object as it is."""
    req = obj.get("request")
    if not isinstance(req, dict) or not ("uri" in req or "method" in req):
        return obj
    out = {k: v for k, v in obj.items() if k != "request"}
    for key, value in req.items():
        if key == "headers" and isinstance(value, dict):
            for name, values in value.items():
                out[f"request.headers.{name}"] = values[0] if isinstance(values, list) and values else values
        else:
            out[f"request.{key}"] = value
    return out


def _date_key(value: Any) -> str:
    """The variable a ``date`` value is: ``msec`` (an epoch number), ``time_local`` or ``time_iso8601``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "msec"
    if isinstance(value, str) and _DATE_LOCAL.match(value):
        return "time_local"
    if isinstance(value, str) and value.replace(".", "", 1).isdigit():
        return "msec"
    return "time_iso8601"


def json_record(line: str) -> dict | None:
    """A JSON-lines access-log line as a flat object (docker compose's prefix passed over,
    Caddy's ``request`` flattened), or None when it is not a JSON object."""
    text = line.strip()
    if text[:1] != "{" and (m := _COMPOSE.match(text)):
        text = text[m.end():]
    try:
        obj = load_json(text)
    except ParseError:
        return None
    return _flat(obj) if isinstance(obj, dict) else None


def is_server_message(obj: dict) -> bool:
    """A structured server log entry that is no request (Caddy's / Traefik's "msg" lines between
    the access entries): no request key and no status."""
    return "msg" in obj and "status" not in obj and not any(k in obj for k in _REQUEST_KEYS)


def _json_text(v: Any) -> str | None:
    """A JSON value as the text a log_format would have written (numbers in decimal, an
    integral float as an integer), so one conversion (:mod:`toolkit.schema`) reads all."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, float):
        if v != v:
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 2 ** 63 else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def json_format(keys: list[str], mapping: Mapping[str, str] | None = None) -> CompiledFormat:
    """The format of JSON objects with these keys: each key a field named after the nginx
    variable it is (or that ``mapping``, a :class:`JsonKeys` mapping, else :data:`JSON_KEYS`
    maps it to), typed and named as in a log_format."""
    fields = []
    for key in keys:
        var = (mapping or {}).get(key) or JSON_KEYS.get(key, key)
        if key.startswith("date#"):
            var = key[5:]
        column, kind = _JSON_KIND.get(var) or column_for(var)  # a mapped key: its variable's column
        fields.append(Field(var, column, kind))
    return CompiledFormat("json", "", "json", tuple(fields), "", ())


def scan_json(first: int, text: str, source_name: str | None = None,
              mapping: Mapping[str, str] | None = None) -> Batch:
    """One piece of a JSON-lines access log (one object per line) -> a Batch. A line that is not
    a JSON object is skipped with the reason; the columns are the keys the log uses (a key
    absent from a line is null there), named by ``mapping`` (:class:`JsonKeys`) or
    :data:`JSON_KEYS`."""
    records, line_numbers, texts, skips = [], [], [], []
    mapping = mapping or {}
    dates = ["date", *(k for k, v in mapping.items() if v == "date" and k != "date")]
    split = text.split("\n")
    if split and split[-1] == "":
        split.pop()  # the line break ending the piece
    for i, line in enumerate(split):
        line_no = first + i
        stripped = line.strip()
        if not stripped:
            skips.append((line_no, "empty line", ""))
            continue
        obj = json_record(stripped)
        if obj is None:
            skips.append((line_no, "not a JSON object", line))
            continue
        if is_server_message(obj):
            skips.append((line_no, "a server message, not a request (no request, no status)", line))
            continue
        for key in dates:  # typed by its value, each value on its own (see JSON_KEYS)
            if key in obj:
                obj = {**obj, f"date#{_date_key(obj[key])}": obj.pop(key)}
        records.append(obj)
        line_numbers.append(line_no)
        texts.append(line)
    if not records:
        return Batch(first, len(split), {}, np.empty(0, dtype=np.int64), skips)
    keys = list(dict.fromkeys(k for obj in records for k in obj))  # in order of first use
    fmt = json_format(keys, mapping)
    cols = {}
    for i, key in enumerate(keys):
        vals = np.array([_json_text(obj.get(key)) for obj in records], dtype=object)
        cols[f"f{i}"] = vals
    cols, lines_kept, bad_times = _drop_bad_times(fmt, cols, np.array(line_numbers, dtype=np.int64),
                                                  texts.__getitem__)
    if bad_times:
        skips = sorted(skips + bad_times, key=lambda x: x[0])
    # (a line without the request key has no request line, so none that is malformed: the same
    # answer as for a piece of the log where the key never appears)
    columns = columns_of(cols, fmt, False) if len(lines_kept) else {}
    return Batch(first, len(split), columns, lines_kept, skips)


# ----------------------------------------------------------------------------------- drivers

def scan_piece(fmt: CompiledFormat | str, first: int, text: str, source_name: str | None = None) -> Batch:
    """:func:`scan_text` for a compiled format, :func:`scan_json` for ``fmt == JSON_FORMAT``."""
    if isinstance(fmt, str):
        return scan_json(first, text, source_name, getattr(fmt, "mapping", None))
    return scan_text(fmt, first, text)


def account(acc: Accounting, batch: Batch) -> None:
    """Count a batch's rows and skipped lines in ``acc`` (raises there in ``errors="raise"``)."""
    for line, reason, bad in batch.skips:
        acc.skip(line, reason, bad)
    acc.records += len(batch)


def scan(src: Source, fmt: CompiledFormat | str, chunk_size: int = CHUNK_BYTES) -> Iterator[Batch]:
    """The batches of a source (pieces of about ``chunk_size`` bytes), each counted in
    ``src.accounting``, which is complete once the iterator is exhausted."""
    for first, text in src.iter_chunks(chunk_size):
        batch = scan_piece(fmt, first, text, src.name)
        account(src.accounting, batch)
        yield batch


def scan_range(path: str, fmt: CompiledFormat | str, lo: int, hi: int,
               chunk_size: int = CHUNK_BYTES) -> tuple[Iterator[Batch], Accounting]:
    """The batches of bytes ``lo:hi`` of an uncompressed file (both at line starts), lines
    numbered from 1 at ``lo`` (the caller shifts them), and the range's accounting (lines read,
    replaced bytes, lines left out as longer than the line limit; complete once the batches are
    exhausted). Decoding, newline and line-limit rules are those of ``Source.iter_chunks``."""
    ranged = Accounting(path=path)

    def batches() -> Iterator[Batch]:
        with open(path, "rb") as fh:
            for first, text in read_range(fh, ranged, lo, hi, 1, chunk_size):
                yield scan_piece(fmt, first, text, path)
    return batches(), ranged
