"""Access logs (nginx ``log_format``, Apache ``LogFormat``, JSON lines) as the ``http_requests`` table.

Formats: nginx 1.22 ``log_format`` (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format),
Apache 2.4 ``LogFormat`` (https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats), and
JSON lines as written by nginx's ``escape=json`` formats (one object per line).

A real line of the ``combined`` format (nginx 1.22, sample_traces/http/nginx/combined.log.gz)::

    127.0.0.12 - - [26/Nov/2026:05:15:04 +0000] "GET /api/users/517 HTTP/1.1" 200 29 "-" "Mozilla/5.0 ..."

and of a request that is not HTTP (TLS bytes sent to the plain HTTP port; kept as a row with
``malformed`` True, ``method``/``path`` null)::

    127.0.0.99 - - [26/Nov/2026:05:15:40 +0000] "\\x16\\x03\\x01\\x02\\x00..." 400 157 "-" "-"

Values: text becomes a number or a time in :mod:`toolkit.schema`. A line whose time (the best
time field) is not a valid time or lies outside the years 1678-2261 is skipped, counted with the
reason; a number that is not one of its kind (``-``, ``1.2.3``, a status beyond int64) is null,
the line kept: nothing else on it is wrong.

Speed: the compiled format is ONE regex run with ``findall`` over chunks of ~16 MiB; columns are
converted with pandas / numpy on the distinct values only (``pd.factorize``), so no Python code
runs per line unless the line is bad. Every input line is a row or a counted skip
(``df.attrs["source"]``).

Example::

    >>> import toolkit as tk
    >>> df = tk.read_access_log("sample_traces/http/nginx/combined.log.gz")   # doctest: +SKIP
    >>> df[["timestamp", "method", "path", "status"]].head()                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import formats, schema
from ..errors import LogFormatError, ParseError
from ..sources import CHUNK_BYTES, Source, load_json, open_source
from . import apache
from .logformat import TIME_VARIABLES, CompiledFormat, compile_log_format

_TIME_LOCAL_FMT = "%d/%b/%Y:%H:%M:%S %z"
_REQUEST_PARTS = ("method", "url", "path", "query", "protocol")


def compile_format(log_format: str | CompiledFormat, *, escape: str | None = None,
                   variables: tuple[str, ...] = ()) -> CompiledFormat:
    """An nginx or Apache format (name, format string or pasted directive) -> CompiledFormat.

    Apache is recognised by its ``%`` directives (``%h %l %u %t \\"%r\\" %>s %b``) or by the
    names ``common`` / ``combined_apache`` / a pasted ``LogFormat`` line.
    """
    if isinstance(log_format, CompiledFormat):
        return log_format
    if not isinstance(log_format, str) or not log_format.strip():
        raise LogFormatError(f"log_format must be a non-empty string, not {log_format!r}")
    # comment lines of a pasted config excerpt (or of a NAME.log_format file) are not the format
    text = "\n".join(ln for ln in log_format.splitlines() if not ln.lstrip().startswith("#")).strip()
    if not text:
        raise LogFormatError("log_format holds only comments")
    if apache.looks_like_apache(text):
        return apache.compile_apache_format(text)
    return compile_log_format(text, escape=escape, variables=variables)


# ----------------------------------------------------------------------------------- conversion

def _factorized(arr: np.ndarray, convert) -> np.ndarray:
    """Apply ``convert`` (uniques -> array) to the distinct values of ``arr`` only."""
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    conv = np.asarray(convert(np.asarray(uniques, dtype=object)))
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
    for i, u in enumerate(uniques):
        if u is None:
            continue
        parts = [schema.float_value(part)[0] for part in re.split(r",\s*|\s+:\s+", u)]
        seen = [p for p in parts if p is not None]
        total = schema.float_value(sum(seen))[0] if seen else None  # (a sum may overflow)
        if total is not None:
            out[i] = total
    return out


def _decode_json(uniques: np.ndarray) -> np.ndarray:
    def one(s):
        if s is None or "\\" not in s:
            return s
        try:
            return json.loads(f'"{s}"')
        except ValueError:
            return s
    return np.array([one(s) for s in uniques], dtype=object)


_APACHE_ESC = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+|\\(.)")


def _decode_apache(uniques: np.ndarray) -> np.ndarray:
    """Apache writes \\" and \\\\ for a quote and a backslash, \\xhh for other bytes."""
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


def time_values(raw: np.ndarray, kind: str) -> schema.Checked:
    """Time strings (object array, None for null) of a time field ``kind`` -> UTC nanoseconds
    (:mod:`toolkit.schema`: NaT where absent or bad) and the reason of each bad one (not a valid
    time, outside the years 1678-2261): the readers skip such lines, counting the reason."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)  # the distinct values only
    uniques = np.asarray(uniques, dtype=object)
    if kind == "msec":
        # $msec has ms resolution: whole milliseconds, no float rounding
        got = schema.epoch_values(uniques, "timestamp", decimals=3)
    elif kind in ("time_local", "time_apache"):
        text = np.array([v.strip("[]") if isinstance(v, str) else v for v in uniques], dtype=object)
        got = schema.time_values(text, "timestamp", format=_TIME_LOCAL_FMT)
    else:
        got = schema.time_values(uniques, "timestamp", format="ISO8601")
    stamps = np.append(got.values.tz_localize(None).to_numpy(), np.datetime64("NaT", "ns"))  # code -1: null
    reasons = np.append(got.reasons, None)
    return schema.Checked(pd.DatetimeIndex(stamps[codes]).tz_localize("UTC"), reasons[codes])


def _drop_bad_times(fmt: CompiledFormat, cols: dict[str, np.ndarray], line_numbers: np.ndarray,
                    line_text) -> tuple[dict[str, np.ndarray], np.ndarray, list[tuple]]:
    """Convert the line's time (the best time field) once: lines whose time is bad are skipped
    (``(line, reason, text)`` items; ``line_text(i)`` gives the i-th line's text), the others'
    times go in ``cols["_ts"]`` (a UTC DatetimeIndex) for :func:`_frame` and the aggregates."""
    best = best_time_field(fmt)
    group = None if best is None else f"f{best}"
    if group is None or group not in cols:
        return cols, line_numbers, []
    times = time_values(_nullify(cols[group], fmt.escape), fmt.fields[best].kind)
    skips: list[tuple] = []
    bad = times.bad
    stamps = times.values
    if bad.any():
        skips = [(int(line_numbers[i]), times.reasons[i], line_text(i)) for i in np.flatnonzero(bad)]
        keep = ~bad
        cols = {k: v[keep] for k, v in cols.items()}
        line_numbers, stamps = line_numbers[keep], stamps[keep]
    cols["_ts"] = stamps
    return cols, line_numbers, skips


def best_time_field(fmt: CompiledFormat) -> int | None:
    """Index in ``fmt.fields`` of the time variable that becomes ``timestamp`` (the best
    resolution of those present: ``$msec``, ``$time_iso8601``, ``$time_local`` / ``%t``)."""
    order = {k: i for i, k in enumerate(TIME_VARIABLES + ("time_apache",))}
    found = [(order[f.kind], i) for i, f in enumerate(fmt.fields) if f.kind in order]
    return min(found)[1] if found else None


def _ints(raw: np.ndarray, kind: str) -> pd.arrays.IntegerArray:
    """An integer field's text -> Int64, converting the distinct values only (nginx's ``-`` is
    null; Apache's ``%b`` writes ``-`` for 0 bytes)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    vals = integers(uniques)
    if kind == "bytes_dash":
        vals[uniques == "-"] = 0
    return vals.take(codes, allow_fill=True)


def _as_series(arr: np.ndarray) -> pd.Series:
    return pd.Series(arr, dtype=object)


def _frame(cols: dict[str, np.ndarray], fmt: CompiledFormat, text_has_escapes: bool,
           arrays: bool = False) -> pd.DataFrame | dict[str, Any]:
    """Typed columns from the raw matched strings of one chunk (group name -> object array).

    ``arrays=True`` returns the columns as a dict of numpy arrays instead (numbers as float64
    with NaN, strings as object arrays): what a streaming aggregate needs, without building
    nullable integer columns and a DataFrame per chunk."""
    out: dict[str, Any] = {}
    _str_series = (lambda a: a) if arrays else _as_series
    escape = fmt.escape
    # nginx's default escaping (\xHH) is a subset of Apache's (\xhh, \", \\): one decoder
    decode = _decode_json if escape == "json" else _decode_apache
    time_fields = [f for f in fmt.fields if f.kind in TIME_VARIABLES or f.kind == "time_apache"]
    best = best_time_field(fmt)
    best_time = None if best is None else fmt.fields[best]
    used: set[str] = set()
    for i, field in enumerate(fmt.fields):
        g = f"f{i}"
        kind = field.kind
        if g not in cols and not (kind == "request" and g + "_m" in cols):
            continue  # not captured (see CompiledFormat.only)
        raw = cols.get(g)
        if field in time_fields:
            if field is best_time:
                out["timestamp"] = (cols["_ts"] if "_ts" in cols
                                    else time_values(_nullify(raw, escape), kind).values)
            continue
        column = field.column
        if column in used or (kind == "request" and any(p in used for p in _REQUEST_PARTS)):
            column = field.variable  # a second source for the same column keeps its own name
        if kind == "request":
            method = cols[g + "_m"].copy()
            malformed = method == ""
            method[malformed] = None
            if raw is not None:
                req = _nullify(raw, escape)
                out[column] = _str_series(decode(req) if text_has_escapes else req)
            for part, suffix in (("method", "_m"), ("url", "_u"), ("path", "_p"), ("query", "_q"),
                                 ("protocol", "_v")):
                if g + suffix not in cols:
                    continue
                vals = cols[g + suffix].copy()
                vals[malformed] = None
                if part == "query":
                    vals[vals == ""] = None
                if text_has_escapes and part in ("url", "path", "query"):
                    vals = _factorized(vals, decode)
                out[part] = _str_series(vals)
                used.add(part)
            out["malformed"] = malformed
        elif kind in ("int", "bytes_dash"):
            vals = _ints(raw, kind)
            out[column] = vals.to_numpy(dtype=np.float64, na_value=np.nan) if arrays else vals
        elif kind in ("float", "usec", "msec_int", "sec"):
            vals = _factorized(raw, numbers)
            divisor = {"usec": 1e6, "msec_int": 1e3}.get(kind)  # divide: 87 / 1e3 is exactly 0.087
            out[column] = vals / divisor if divisor else vals
        elif kind == "list":
            vals = _nullify(raw, escape)
            out[column] = _str_series(vals)
            if field.variable == "upstream_response_time" and "upstream_time_s" not in used:
                out["upstream_time_s"] = _factorized(vals, _sum_list)
                used.add("upstream_time_s")
        else:
            vals = _nullify(raw, escape)
            if text_has_escapes:
                vals = _factorized(vals, decode)
            out[column] = _str_series(vals)
        used.add(column)
    if "path" in out and "url" not in out:  # $uri / %U without the request line
        out["url"] = out["path"]
    return out if arrays else pd.DataFrame(out)


# ----------------------------------------------------------------------------------- reading

def _skip_reason(line: str, fmt: CompiledFormat) -> str:
    if line == "":
        return "empty line"
    if "\x00" in line:
        return "binary data (NUL bytes)"
    return f"does not match log format {fmt.name!r}"


def parse_chunk(fmt: CompiledFormat, first: int, text: str, *, arrays: bool = False
                ) -> tuple[pd.DataFrame | dict[str, Any] | None, list[tuple]]:
    """One chunk of log text (lines ``first``...) -> (rows as a DataFrame, or a dict of column
    arrays with ``arrays=True``, or None; skipped lines as ``(line_number, reason, text)``).
    Pure: workers of a process pool can run it."""
    cols, line_numbers, skips = match_chunk(fmt, first, text)
    if cols is None:
        return None, skips
    df = _frame(cols, fmt, "\\" in text, arrays=arrays)
    df["source_line"] = line_numbers
    return df, skips


def match_chunk(fmt: CompiledFormat, first: int, text: str
                ) -> tuple[dict[str, np.ndarray] | None, np.ndarray, list[tuple]]:
    """The regex step of :func:`parse_chunk`: (raw matched strings per group of the matched
    lines, or None when no line matched; their line numbers; skipped lines)."""
    if text.endswith("\n"):
        text = text[:-1]
    pattern = fmt.pattern
    ngroups = len(fmt.groups)
    rows = pattern.findall(text)
    nlines = text.count("\n") + 1
    if len(rows) != nlines:  # cannot happen with ^(?:...|(.*))$, but never lose a line
        rows = [pattern.findall(line)[0] if line else ("",) * ngroups for line in text.split("\n")]
    if ngroups == 1:
        rows = [(r,) for r in rows]
    table = np.empty((len(rows), ngroups), dtype=object)
    table[:] = rows  # one C-level pass; rows are tuples of equal length
    cols = {g: table[:, i] for i, g in enumerate(fmt.groups)}
    line_col = cols.pop("_line")
    # A matched line leaves the fallback group empty; a bad line fills it, except an empty line,
    # which leaves every group empty.
    bad = line_col != ""
    if bad.any() and fmt.escape in ("default", "none") and not fmt.is_tolerant:
        _retry_tolerant(fmt, table, bad, line_col)
    bad |= _empty_lines(text, cols, nlines)
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
        return None, line_numbers, skips
    return cols, line_numbers, skips


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


def iter_chunks(source: Any, log_format: str | CompiledFormat = "combined", *, errors: str = "skip",
                chunk_size: int = CHUNK_BYTES, escape: str | None = None,
                variables: tuple[str, ...] = (), columns: set[str] | None = None,
                arrays: bool = False) -> Iterator[pd.DataFrame]:
    """Stream an access log as DataFrames of up to ``chunk_size`` bytes of input each
    (canonical ``http_requests`` columns plus one per other variable; only ``columns`` plus
    ``timestamp``, ``method``, ``malformed`` and ``source_line`` when given). The format is
    compiled before any line is read. The source's accounting is complete when the iterator is
    exhausted. ``arrays=True`` yields dicts of numpy arrays instead (see :func:`parse_chunk`).
    """
    fmt = compile_format(log_format, escape=escape, variables=variables)
    if columns is not None:
        fmt = fmt.only(columns)
    src = open_source(source, errors=errors)
    acc = src.accounting
    acc.format = f"access_log:{fmt.name}"
    for first, text in src.iter_chunks(chunk_size):
        df, skips = parse_chunk(fmt, first, text, arrays=arrays)
        for line, reason, bad in skips:
            acc.skip(line, reason, bad)
        if df is not None:
            acc.records += len(df["source_line"])
            yield df


def _empty_lines(text: str, cols: dict[str, np.ndarray], nlines: int) -> np.ndarray:
    """Which lines are empty: every group empty (checked on one column, then the few candidates),
    confirmed on the text itself."""
    out = np.zeros(nlines, dtype=bool)
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


def _finish(frames: list[pd.DataFrame], src: Source) -> pd.DataFrame:
    df = pd.concat(frames, ignore_index=True) if frames else schema.empty("http_requests")
    if "malformed" not in df.columns:
        df["malformed"] = pd.Series(False, index=df.index, dtype=bool)
    df = schema.coerce(df, "http_requests")
    df.attrs["source"] = src.accounting.as_dict()
    return df


def read_nginx(source: Any, log_format: str | CompiledFormat = "combined", *, errors: str = "skip",
               escape: str | None = None, variables: tuple[str, ...] = (),
               chunk_size: int = CHUNK_BYTES) -> pd.DataFrame:
    """Read an access log written with ``log_format`` (nginx or Apache) into ``http_requests``.

    Columns: the canonical ones (timestamp UTC, client, method, url, path, query, protocol,
    status, body_bytes_sent, bytes_sent, request_time_s, upstream_time_s, referer, user_agent,
    source_line) plus ``request`` (raw request line), ``malformed`` (the request line is not
    ``METHOD target [HTTP/x]``) and one column per other variable, named after it
    (``upstream_cache_status``, ``connection_requests``, ``gzip_ratio``, ...).
    """
    fmt = compile_format(log_format, escape=escape, variables=variables)
    src = open_source(source, errors=errors)
    frames = list(iter_chunks(src, fmt, errors=errors, chunk_size=chunk_size))
    if not frames:  # no request: the format's columns all the same (a log's parts concatenate)
        empty = {g: np.empty(0, dtype=object) for g in fmt.groups if g != "_line"}
        frames = [_frame(empty, fmt, False).assign(source_line=np.empty(0, dtype=np.int64))]
    return _finish(frames, src)


# ----------------------------------------------------------------------------------- JSON lines

# JSON keys that mean a canonical column (besides nginx variable names, which map as in log_format).
_JSON_ALIASES = {"time": "time_iso8601", "timestamp": "time_iso8601", "@timestamp": "time_iso8601",
                 "time_local": "time_local", "msec": "msec", "ip": "remote_addr", "client": "remote_addr",
                 "remote_ip": "remote_addr", "method": "request_method", "user_agent": "http_user_agent",
                 "referer": "http_referer", "referrer": "http_referer", "duration": "request_time",
                 "response_time": "request_time"}


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


def _json_format(keys: list[str]) -> CompiledFormat:
    from .logformat import Field, _column_for
    fields = []
    for key in keys:
        var = _JSON_ALIASES.get(key, key)
        column, kind = _column_for(var)
        if column == var and kind == "str" and var != key:
            column = key
        fields.append(Field(var, column if column != var else key, kind))
    return CompiledFormat("json", "", "default", tuple(fields), "", ())


def read_json_lines(source: Any, *, errors: str = "skip", chunk_size: int = CHUNK_BYTES) -> pd.DataFrame:
    """Read a JSON-lines access log (one object per line, keys named after nginx variables,
    e.g. nginx ``log_format x escape=json '{"status":"$status",...}'``) into ``http_requests``.

    Lines that are not a JSON object are counted as skipped. Values may be strings or numbers.
    A real line (nginx 1.22, sample_traces/http/nginx/access.jsonl.gz; an empty variable is
    ``""`` under ``escape=json``, not ``-``, and becomes null)::

        {"time":"2026-11-26T05:15:40+00:00","msec":"1795670140.346","remote_addr":"127.0.0.99",
         "request":"PROPFIND / HTTP/1.1","status":"405","body_bytes_sent":"157","request_time":"0.000",
         "upstream_response_time":"","upstream_addr":"","upstream_cache_status":"", ...}
    """
    src = open_source(source, errors=errors)
    acc = src.accounting
    acc.format = "access_log:json"
    frames = []
    for first, text in src.iter_chunks(chunk_size):
        records, lines = [], []
        breaks = text.count("\n")  # once per chunk: counting per line made reading quadratic
        texts: dict[int, str] = {}
        for i, line in enumerate(text.split("\n")):
            if i == breaks and line == "":
                break
            line_no = first + i
            stripped = line.strip()
            if not stripped:
                acc.skip(line_no, "empty line")
                continue
            try:
                obj = load_json(stripped, src.name, line_no)
            except ParseError:
                acc.skip(line_no, "not a JSON object", line)
                continue
            if not isinstance(obj, dict):
                acc.skip(line_no, "not a JSON object", line)
                continue
            records.append(obj)
            lines.append(line_no)
            texts[line_no] = line
        if not records:
            continue
        raw = pd.DataFrame.from_records(records)
        keys = list(raw.columns)
        fmt = _json_format(keys)
        cols = {}
        for i, key in enumerate(keys):
            vals = np.array([_json_text(v) for v in raw[key].to_numpy(dtype=object)], dtype=object)
            if fmt.fields[i].kind == "request":
                req = pd.Series(vals, dtype=object).str.extract(
                    r"^([A-Za-z][A-Za-z0-9_-]{0,31}) (([^ ?]*)(?:\?([^ ]*))?)(?: (HTTP/[0-9.]{1,5}))?$")
                cols[f"f{i}"] = vals
                for j, suffix in enumerate(("_m", "_u", "_p", "_q", "_v")):
                    part = req[j].to_numpy(dtype=object).copy()
                    part[pd.isna(part)] = ""  # an empty method marks the request line malformed
                    cols[f"f{i}{suffix}"] = part
            else:
                cols[f"f{i}"] = vals
        jfmt = CompiledFormat("json", "", "json", fmt.fields, "", ())
        text_of = [texts[n] for n in lines]
        cols, line_numbers, bad_times = _drop_bad_times(jfmt, cols, np.array(lines, dtype=np.int64),
                                                        text_of.__getitem__)
        for line_no, reason, bad in bad_times:
            acc.skip(line_no, reason, bad)
        if not len(line_numbers):
            continue
        df = _frame(cols, jfmt, False)
        df["source_line"] = line_numbers
        acc.records += len(df)
        frames.append(df)
    return _finish(frames, src)


# ----------------------------------------------------------------------------------- public API

def read_access_log(path: Any, log_format: str | CompiledFormat | None = None, *, format: str | None = None,
                    errors: str = "skip", escape: str | None = None, variables: tuple[str, ...] = (),
                    chunk_size: int = CHUNK_BYTES) -> pd.DataFrame:
    """Read an HTTP access log into the ``http_requests`` table (see :mod:`toolkit.schema`).

    ``log_format``: ``None`` detects combined / common / JSON lines from the content; otherwise a
    name (``"combined"``, ``"main"``, ``"common"``), the user's own nginx ``log_format`` string
    (or the whole pasted directive), or an Apache ``LogFormat`` string. A custom format cannot be
    guessed: pass it. The format is checked before any line is read (:class:`LogFormatError`).

    Example::

        >>> df = read_access_log("sample_traces/http/nginx/access.log.gz",          # doctest: +SKIP
        ...                      log_format=open("my_log_format.txt").read())
    """
    if log_format is not None:
        fmt = compile_format(log_format, escape=escape, variables=variables)
        return read_nginx(path, fmt, errors=errors, chunk_size=chunk_size)
    return formats.read(path, kind="access_log", format=format, errors=errors, chunk_size=chunk_size)


def _head_lines(head, limit: int = 50) -> list[str]:
    lines = head.text.split("\n")
    if len(head.data) >= (1 << 16) - 1 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a full head may be cut
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:limit]


def _sniff_with(fmt_text: str):
    def sniff(head) -> bool:
        lines = _head_lines(head)
        if not lines:
            return False
        pat = re.compile(compile_format(fmt_text).regex)
        ok = sum(1 for ln in lines if (m := pat.match(ln)) and m.group("_line") is None)
        return ok >= max(1, int(0.8 * len(lines)))
    return sniff


_JSON_NOT_ACCESS = {"error_severity", "traceEvents", "profiles", "frame_records", "root_frame"}


def _sniff_json(head) -> bool:
    lines = _head_lines(head, 5)
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        obj = load_json(lines[0])
    except ParseError:
        return False
    if not isinstance(obj, dict) or _JSON_NOT_ACCESS & set(obj):
        return False
    has_status = any(k in obj for k in ("status", "status_code", "response_status"))
    has_request = any(k in obj for k in ("request", "request_uri", "uri", "url", "path"))
    return has_status and has_request


def _read_combined(source: Any, **options: Any) -> pd.DataFrame:
    return read_nginx(source, "combined", **options)


def _read_common(source: Any, **options: Any) -> pd.DataFrame:
    return read_nginx(source, "common", **options)


def sidecar_formats(path: Any) -> list[tuple[str, CompiledFormat]]:
    """The ``*.log_format`` files beside ``path`` (each holding an nginx ``log_format`` directive
    or string, or an Apache ``LogFormat`` line), compiled; unreadable or invalid ones are ignored.

    Putting the format next to the log (``access.log`` + ``perf.log_format``) lets detection and
    ``tk.read_access_log(path)`` read a custom format without ``log_format=``.
    """
    import os
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        return []
    folder = os.path.dirname(os.path.abspath(path))
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".log_format"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                out.append((name, compile_format(fh.read(8192))))
        except (OSError, UnicodeDecodeError, LogFormatError):
            continue
    return out


def _matching_sidecar(path: Any, lines: list[str]) -> CompiledFormat | None:
    for _name, fmt in sidecar_formats(path):
        pat = re.compile(fmt.regex)
        ok = sum(1 for ln in lines if (m := pat.match(ln)) and m.group("_line") is None)
        if lines and ok >= max(1, int(0.8 * len(lines))):
            return fmt
    return None


def _sniff_sidecar(head) -> bool:
    return _matching_sidecar(head.name, _head_lines(head)) is not None


def _read_custom(source: Any, log_format: str | CompiledFormat | None = None, **options: Any) -> pd.DataFrame:
    if log_format is None:
        src = open_source(source, errors=options.get("errors", "skip"))
        text = src.head_lines()  # complete lines, over-long ones passed over (as detection sees them)
        from ..formats import Head
        log_format = _matching_sidecar(src.path, _head_lines(Head(text.encode(), text, src.name)))
        if log_format is None:
            raise LogFormatError("a custom nginx / Apache format needs log_format= (paste it from nginx.conf "
                                 "or httpd.conf), or a NAME.log_format file beside the log")
        source = src
    return read_nginx(source, log_format, **options)


formats.register("combined", "access_log", _read_combined, sniff=_sniff_with("combined"),
                 priority=1,
                 description="nginx / Apache combined access log")
formats.register("common", "access_log", _read_common, sniff=_sniff_with("common"),
                 description="Apache / NCSA common log format")
formats.register("access-json", "access_log", read_json_lines, sniff=_sniff_json,
                 description="JSON-lines access log (nginx escape=json log_format)")
# Highest priority: a log whose own format file sits beside it and matches its lines.
formats.register("nginx", "access_log", _read_custom, sniff=_sniff_sidecar, priority=2,
                 description="nginx / Apache access log in a custom format: log_format= or a "
                             "NAME.log_format file beside the log")
