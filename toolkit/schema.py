"""The canonical tables: column names, dtypes and units, and :func:`validate`.

Units are in the column names (``_s`` seconds, ``_ms`` milliseconds, ``_bytes`` bytes,
``_pct`` percent 0-100). Dtype families: ``str`` (object or pandas string), ``float``,
``int`` (numpy or nullable ``Int64``), ``datetime`` (tz-aware UTC), ``bool``.
Tables may carry extra columns; :func:`validate` checks the canonical ones.

Values: this module is the one place where text (or a JSON value) becomes a number or a
timestamp. Each conversion is range-checked and never wraps; it gives a value or the reason
there is none:

- scalar: :func:`int_value`, :func:`float_value`, :func:`time_value`, :func:`epoch_value`,
  :func:`text_value` return ``(value, reason)``: ``(v, None)`` for a good value, ``(None, None)``
  for an absent one (``None``, ``""``), ``(None, "rows_sent is out of range")`` for a bad one
  (a float NaN too: JSON and marshal carry it as a value);
- vectorised: :func:`int_values`, :func:`float_values`, :func:`time_values`,
  :func:`epoch_values` return :class:`Checked` ``(values, reasons)``: an ``Int64`` array, a
  float64 array or a UTC ``DatetimeIndex`` (nanoseconds) with nulls where a value is absent or
  bad, and an object array holding each bad value's reason (None elsewhere); there pandas'
  missing values (None, NaN, NaT) and ``""`` are absent.

What is accepted: integers and decimals in ASCII digits (``-12``, ``0.25``, ``1e-3``), no
``NaN`` / ``Infinity`` / ``1e309`` (not finite), no non-ASCII digits (``١٢``), no hex, no
underscores, no spaces around; integers within int64 (or the range the caller gives); floats
finite; timestamps from 1678 to 2261 (the years a ``datetime64[ns]`` holds, with a margin for
time zones). Reasons name the field and the problem, never the value (they are counted as skip
reasons; the line itself is the example). What a reader does with a bad value is the reader's
rule, documented in each: a record whose timestamp or measure is bad is skipped with the reason
counted in ``df.attrs["source"]``; an optional detail (a profile frame's line number, a server
event's size, an access log's byte count) becomes null.

Example::

    >>> import toolkit.schema as schema
    >>> df = schema.empty("profile_functions")
    >>> list(df.columns)[:3]
    ['function', 'file', 'line']
    >>> schema.validate(df, "profile_functions") is df
    True
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .errors import SchemaError


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # str | float | int | datetime | bool
    description: str = ""


def _cols(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


TABLES: dict[str, tuple[Column, ...]] = {
    "profile_functions": _cols(
        ("function", "str", "function name (qualified where the producer gives it)"),
        ("file", "str", "source file as the producer wrote it"),
        ("line", "int", "the function's first line where known, else the lowest line seen"),
        ("self_s", "float", "seconds spent in the function itself"),
        ("total_s", "float", "seconds with the function on the stack (recursion counted once)"),
        ("self_pct", "float", "self_s as percent of the profile's duration"),
        ("total_pct", "float", "total_s as percent of the profile's duration"),
    ),
    "profile_lines": _cols(
        ("function", "str", ""), ("file", "str", ""),
        ("line", "int", "the executing line"), ("self_s", "float", "seconds on that line"),
    ),
    "profile_tree": _cols(
        ("node_id", "int", "unique per call path"), ("parent_id", "int", "null for roots"),
        ("depth", "int", "0 for roots"), ("function", "str", ""), ("file", "str", ""),
        ("line", "int", ""), ("self_s", "float", ""), ("total_s", "float", ""),
    ),
    "profile_stacks": _cols(
        ("stack", "str", "frames joined by ';', root first"),
        ("weight_s", "float", "seconds"), ("thread", "str", "thread name or id"),
    ),
    "query_events": _cols(
        ("timestamp", "datetime", "UTC"), ("duration_ms", "float", "milliseconds"),
        ("statement", "str", "SQL text"),
        ("kind", "str", "statement / execute / bind / parse / plan"),
        ("database", "str", ""), ("user", "str", ""), ("session", "str", "pid or session id"),
        ("application", "str", ""), ("client", "str", ""),
        ("parameters", "str", "bind parameters as logged"),
        ("rows_sent", "int", ""), ("rows_examined", "int", ""), ("lock_ms", "float", ""),
        ("plan", "str", "JSON text of a logged plan"), ("source_line", "int", "1-based input line"),
    ),
    "server_events": _cols(
        ("timestamp", "datetime", "UTC"), ("event", "str", "see SERVER_EVENTS"),
        ("session", "str", ""), ("database", "str", ""), ("user", "str", ""),
        ("duration_ms", "float", ""), ("size_bytes", "int", ""), ("relation", "str", ""),
        ("sqlstate", "str", ""), ("message", "str", ""), ("detail", "str", ""),
        ("statement", "str", ""), ("source_line", "int", ""),
    ),
    "http_requests": _cols(
        ("timestamp", "datetime", "UTC"), ("client", "str", ""), ("method", "str", ""),
        ("url", "str", "request target as sent"), ("path", "str", ""), ("query", "str", ""),
        ("protocol", "str", ""), ("status", "int", ""), ("body_bytes_sent", "int", "bytes"),
        ("bytes_sent", "int", "bytes, where logged"), ("request_time_s", "float", "seconds"),
        ("upstream_time_s", "float", "seconds, summed over upstream tries"),
        ("referer", "str", ""), ("user_agent", "str", ""), ("source_line", "int", ""),
    ),
    "digest": _cols(
        ("fingerprint", "str", ""), ("calls", "int", ""), ("total_ms", "float", ""),
        ("mean_ms", "float", ""), ("p50_ms", "float", ""), ("p95_ms", "float", ""),
        ("p99_ms", "float", ""), ("max_ms", "float", ""),
        ("pct_total", "float", "percent of all logged time"), ("example", "str", ""),
    ),
    "endpoints": _cols(
        ("endpoint", "str", "templated path, e.g. /users/{id}"), ("requests", "int", ""),
        ("p50_s", "float", ""), ("p95_s", "float", ""), ("p99_s", "float", ""),
    ),
    "scaling": _cols(
        ("n", "int", "input size"), ("repeat", "int", "0-based repetition"),
        ("time_s", "float", "seconds per call"),
    ),
    "findings": _cols(
        ("rule", "str", "rule id, e.g. queries.n_plus_one"),
        ("area", "str", "checklist area (see toolkit.findings.AREAS)"),
        ("practice", "str", "checklist practice the rule checks"),
        ("severity", "str", "high / medium / low"),
        ("title", "str", "one line"), ("evidence", "str", "what was seen, with numbers"),
        ("fix", "str", "suggested fix"), ("file", "str", "input the evidence came from"),
        ("line", "int", "first input line of the evidence, where known"),
    ),
}

SERVER_EVENTS = (
    "connection_received", "connection_authorized", "disconnection", "checkpoint_starting",
    "checkpoint_complete", "temp_file", "lock_wait", "lock_acquired", "deadlock", "autovacuum",
    "autoanalyze", "error", "warning", "fatal", "other",
)

_PANDAS_DTYPE = {"str": "string", "float": "float64", "int": "Int64",
                 "datetime": "datetime64[ns, UTC]", "bool": "boolean"}


def register_table(name: str, columns: list[tuple[str, str, str]]) -> None:
    """Declare a module's own table (e.g. plan nodes) so it can be validated."""
    TABLES[name] = _cols(*columns)


def columns(table: str) -> list[str]:
    """The canonical column names of ``table``, in order."""
    return [c.name for c in _table(table)]


def _table(table: str) -> tuple[Column, ...]:
    try:
        return TABLES[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; known: {', '.join(TABLES)}") from None


def empty(table: str) -> pd.DataFrame:
    """An empty DataFrame with ``table``'s columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=_PANDAS_DTYPE[c.dtype]) for c in _table(table)})


def coerce(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Add missing canonical columns as nulls and cast each to its canonical dtype.

    Returns a new frame: canonical columns first, extra columns after, ``attrs`` kept.
    """
    out = df.copy()
    for c in _table(table):
        target = _PANDAS_DTYPE[c.dtype]
        if c.name not in out.columns:
            out[c.name] = pd.Series(pd.NA if c.dtype != "float" else float("nan"),
                                    index=out.index, dtype=target)
        elif not _fits(out[c.name], c.dtype):
            # readers convert their values here first (int_values, ...): a cast that fails is a
            # column a caller built by hand, named in a SchemaError rather than a pandas error
            try:
                if c.dtype == "datetime":
                    out[c.name] = pd.to_datetime(out[c.name], utc=True)
                else:
                    out[c.name] = out[c.name].astype(target)
            except (ValueError, TypeError, OverflowError) as exc:
                raise SchemaError(f"{table}: column {c.name!r} cannot be made {c.dtype}: {exc}") from None
    order = columns(table) + [c for c in out.columns if c not in set(columns(table))]
    out = out[order]
    out.attrs = dict(df.attrs)
    return out


def _fits(series: pd.Series, family: str) -> bool:
    dtype = series.dtype
    if family == "str":
        return ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype)
    if family == "float":
        return ptypes.is_float_dtype(dtype)
    if family == "int":
        return ptypes.is_integer_dtype(dtype)
    if family == "datetime":
        return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    if family == "bool":
        return ptypes.is_bool_dtype(dtype)
    raise SchemaError(f"unknown dtype family {family!r}")


def validate(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Check ``df`` against ``table``; return it unchanged or raise SchemaError naming every
    missing column and every column of the wrong dtype."""
    problems = []
    for c in _table(table):
        if c.name not in df.columns:
            problems.append(f"missing column {c.name!r}")
        elif not _fits(df[c.name], c.dtype):
            problems.append(f"column {c.name!r} has dtype {df[c.name].dtype}, expected {c.dtype}")
    if problems:
        raise SchemaError(f"{table}: " + "; ".join(problems))
    return df


# -- values: the one place where text becomes a number or a timestamp -----------------------

INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1
# The years a datetime64[ns] holds (1677-09-21 .. 2262-04-11), with a margin for time zones.
TIME_MIN = pd.Timestamp("1678-01-01", tz="UTC")
TIME_MAX = pd.Timestamp("2262-01-01", tz="UTC")  # exclusive
_TIME_RANGE = "outside the years 1678-2261"
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
_SPACE = re.compile(r"\s")


class Checked(NamedTuple):
    """A vectorised conversion's result: ``values`` (nulls where absent or bad) and ``reasons``
    (object array: why each bad value is bad, None for good and absent values)."""

    values: Any
    reasons: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """Boolean mask of the bad values."""
        return self.reasons != None  # noqa: E711 (elementwise on an object array)


def json_kind(value: Any) -> str:
    """What a JSON value is, for reasons: "a list", "an object", "a string", "a number", ..."""
    for t, name in _JSON_TYPES.items():
        if isinstance(value, t):
            return name
    return "a number" if isinstance(value, (int, float, np.number)) else f"a {type(value).__name__}"


def _absent(value: Any) -> bool:
    # (a float NaN is a value here: JSON and marshal write it; the vectorised functions take
    # pandas' missing values, NaN included, as absent before they get here)
    return value is None or (isinstance(value, str) and value == "")


def _plain(text: str) -> bool:
    """ASCII, no underscore, no white space: what float()/int() accept beyond the plain number
    grammar (non-ASCII digits, ``1_000``, `` 12 ``) is refused."""
    return text.isascii() and "_" not in text and _SPACE.search(text) is None


def int_value(value: Any, what: str = "value", *, lo: int = INT_MIN, hi: int = INT_MAX
              ) -> tuple[int | None, str | None]:
    """``(int, None)``, ``(None, None)`` when absent, or ``(None, reason)``.

    Takes decimal text (ASCII digits, optional sign), a Python/numpy integer or an integral
    finite float (``3.0``: JSON producers write some integers so). Booleans are refused.

        >>> int_value("42"), int_value("", "rows"), int_value("9223372036854775808", "rows")
        ((42, None), (None, None), (None, 'rows is out of range'))
    """
    if _absent(value):
        return None, None
    if isinstance(value, (bool, np.bool_)):
        return None, f"{what} is a boolean, not a number"
    if isinstance(value, (int, np.integer)):
        v = int(value)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return None, f"{what} is not a finite number"
        if not float(value).is_integer():
            return None, f"{what} is not a whole number"
        v = int(value)
    elif isinstance(value, str):
        if not _plain(value) or not value.lstrip("+-")[:1].isdigit():
            return None, f"{what} is not a whole number"
        if len(value) > 40:  # (int() of thousands of digits is slow, then refused)
            return None, f"{what} is out of range"
        try:
            v = int(value)
        except ValueError:
            return None, f"{what} is not a whole number"
    else:
        return None, f"{what} is {json_kind(value)}, not a number"
    if not lo <= v <= hi:
        return None, f"{what} is out of range"
    return v, None


def float_value(value: Any, what: str = "value", *, lo: float = -math.inf, hi: float = math.inf
                ) -> tuple[float | None, str | None]:
    """``(float, None)``, ``(None, None)`` when absent, or ``(None, reason)``: decimal text or a
    number, finite (``NaN``, ``Infinity`` and ``1e309`` are refused) and within ``[lo, hi]``.

        >>> float_value("0.25"), float_value("1e309", "duration_ms")
        ((0.25, None), (None, 'duration_ms is not a finite number'))
    """
    if _absent(value):
        return None, None
    if isinstance(value, (bool, np.bool_)):
        return None, f"{what} is a boolean, not a number"
    if isinstance(value, str):
        try:
            v = float(value)
        except ValueError:
            return None, f"{what} is not a number"
        if not _plain(value):
            return None, f"{what} is not a number"
    elif isinstance(value, (int, float, np.integer, np.floating)):
        try:
            v = float(value)
        except OverflowError:
            return None, f"{what} is out of range"
    else:
        return None, f"{what} is {json_kind(value)}, not a number"
    if v - v != 0:  # inf or nan (also the text "nan", "inf")
        return None, f"{what} is not a finite number"
    if not lo <= v <= hi:
        return None, f"{what} is out of range"
    return v, None


def text_value(value: Any, what: str = "value") -> tuple[str | None, str | None]:
    """A JSON string field: ``(str, None)``, ``(None, None)`` when absent (null), or ``(None,
    reason)`` when it holds a number, a list, an object or a boolean."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, None
    return None, f"{what} is {json_kind(value)}, not a string"


def _objects(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object, na_value=None)
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def _present(arr: np.ndarray) -> np.ndarray:
    return ~(pd.isna(arr) | (arr == ""))


def _each(arr: np.ndarray, scalar: Callable[[Any], tuple[Any, str | None]]) -> tuple[list, list]:
    """``scalar`` on the distinct values of ``arr`` only (logs repeat their values), mapped back.
    Values of other types (JSON's) one by one: ``False == 0`` and ``True == 1.0`` would share a
    code, and lists and objects have none."""
    if all(v.__class__ is str for v in arr):
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
        table = [scalar(v) for v in uniques]
        pairs = [table[c] for c in codes.tolist()]
    else:
        pairs = [scalar(v) for v in arr]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _fast_text(vals: np.ndarray) -> bool:
    """Every value is plain ASCII text (checked on their concatenation, at C speed)."""
    try:
        joined = "".join(vals)
    except TypeError:
        return False
    return _plain(joined)


def float_values(values: Any, what: str = "value", *, lo: float = -math.inf, hi: float = math.inf) -> Checked:
    """:func:`float_value` over a sequence: float64 array (NaN where absent or bad), reasons."""
    arr = _objects(values)
    out = np.full(len(arr), np.nan)
    reasons = np.full(len(arr), None, dtype=object)
    present = _present(arr)
    if not present.any():
        return Checked(out, reasons)
    vals = arr[present]
    got = None
    if _fast_text(vals):
        try:
            got = vals.astype(np.float64)
        except (ValueError, TypeError):
            got = None
    if got is not None and bool((np.isfinite(got) & (got >= lo) & (got <= hi)).all()):
        out[present] = got
        return Checked(out, reasons)
    v, r = _each(vals, lambda x: float_value(x, what, lo=lo, hi=hi))
    out[present] = np.array([np.nan if x is None else x for x in v], dtype=np.float64)
    reasons[present] = r
    return Checked(out, reasons)


def int_values(values: Any, what: str = "value", *, lo: int = INT_MIN, hi: int = INT_MAX) -> Checked:
    """:func:`int_value` over a sequence: an ``Int64`` array (null where absent or bad), reasons."""
    arr = _objects(values)
    n = len(arr)
    out = np.zeros(n, dtype=np.int64)
    reasons = np.full(n, None, dtype=object)
    present = _present(arr)
    if present.any():
        vals = arr[present]
        got = None
        if _fast_text(vals) and max(map(len, vals)) <= 18:  # 18 digits always fit in int64
            try:
                got = vals.astype(np.int64)
            except (ValueError, TypeError, OverflowError):
                got = None
        if got is not None and bool(((got >= lo) & (got <= hi)).all()):
            out[present] = got
        else:
            v, r = _each(vals, lambda x: int_value(x, what, lo=lo, hi=hi))
            out[present] = [0 if x is None else x for x in v]
            reasons[present] = r
    good = present & (reasons == None)  # noqa: E711
    return Checked(pd.arrays.IntegerArray(out, ~good), reasons)


def _in_range(stamps: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((stamps >= TIME_MIN) & (stamps < TIME_MAX), dtype=bool)


def utc_ns(stamps: Any, what: str = "timestamp") -> Checked:
    """UTC timestamps of any resolution (a tz-aware or UTC-naive ``DatetimeIndex``, or
    datetime64 values) as nanoseconds, never wrapping: those outside the years 1678-2261 become
    NaT with a reason."""
    idx = pd.DatetimeIndex(stamps)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    elif str(idx.tz) != "UTC":
        idx = idx.tz_convert("UTC")
    reasons = np.full(len(idx), None, dtype=object)
    ok = _in_range(idx)
    out = idx.as_unit("ns") if ok.all() else idx.where(ok).as_unit("ns")  # NaT first: no wrap
    reasons[~ok & ~np.asarray(idx.isna())] = f"{what} is {_TIME_RANGE}"
    return Checked(out, reasons)


def time_values(values: Any, what: str = "timestamp", *, format: str = "ISO8601") -> Checked:
    """Time text (``format``: ``"ISO8601"`` or a strftime pattern; text without a zone is UTC)
    -> UTC nanoseconds: a ``DatetimeIndex`` with NaT where absent or bad, and the reasons
    ("not a valid time", "outside the years 1678-2261")."""
    arr = _objects(values)
    present = _present(arr)
    reasons = np.full(len(arr), None, dtype=object)
    stamps = pd.DatetimeIndex(np.full(len(arr), np.datetime64("NaT"), dtype="datetime64[ns]")).tz_localize("UTC")
    if not present.any():
        return Checked(stamps, reasons)
    vals = arr[present]
    text = np.array([v if isinstance(v, str) else None for v in vals], dtype=object)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    # (pandas reads other digits too: '٢٠٢٦-11-26' would be 2026; time text is ASCII)
    uniques = np.array([u if u.isascii() else "" for u in uniques], dtype=object)
    parsed = pd.DatetimeIndex(pd.to_datetime(pd.Series(uniques, dtype=object), format=format, utc=True,
                                             errors="coerce"))
    conv = utc_ns(parsed, what)
    why = np.where(np.asarray(parsed.isna()), f"{what} is not a valid time", conv.reasons)
    why = np.append(why.astype(object), f"{what} is not text")  # code -1: not a string
    got = np.append(conv.values.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    reasons[present] = why[codes]
    values_ns = np.full(len(arr), np.datetime64("NaT"), dtype="datetime64[ns]")
    values_ns[present] = got[codes]
    return Checked(pd.DatetimeIndex(values_ns).tz_localize("UTC"), reasons)


def time_value(value: Any, what: str = "timestamp", *, format: str = "ISO8601"
               ) -> tuple[pd.Timestamp | None, str | None]:
    """:func:`time_values` for one value: ``(Timestamp UTC ns, None)``, ``(None, None)`` or
    ``(None, reason)``. ISO text that Python's ``datetime.fromisoformat`` reads takes a few
    microseconds (readers call this per distinct time); anything else goes through pandas."""
    if format == "ISO8601" and isinstance(value, str) and value.isascii():
        try:
            dt = datetime.datetime.fromisoformat(value)
        except ValueError:
            dt = None
        if dt is not None:
            ts = pd.Timestamp(dt)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            if not TIME_MIN <= ts < TIME_MAX:
                return None, f"{what} is {_TIME_RANGE}"
            return ts.as_unit("ns"), None
    got = time_values([value], what, format=format)
    if got.reasons[0] is not None:
        return None, got.reasons[0]
    ts = got.values[0]
    return (None if pd.isna(ts) else ts), None


def epoch_values(values: Any, what: str = "timestamp", *, decimals: int = 3) -> Checked:
    """Unix epoch seconds (text or numbers), rounded to ``decimals`` places (3: milliseconds, as
    PostgreSQL's ``%n`` and nginx's ``$msec`` write them; exact for such text), -> UTC
    nanoseconds with the reasons of bad values (not a number, outside the years 1678-2261)."""
    nums = float_values(values, what)
    scale = 10.0 ** decimals
    scaled = np.round(nums.values * scale)
    lo, hi = TIME_MIN.value / 1e9 * scale, TIME_MAX.value / 1e9 * scale
    ok = (scaled >= lo) & (scaled < hi)  # NaN compares False
    reasons = nums.reasons.copy()
    reasons[~ok & ~np.isnan(scaled)] = f"{what} is {_TIME_RANGE}"
    ints = np.where(ok, scaled, 0).astype(np.int64)
    ns = ints * (10 ** (9 - decimals)) if decimals <= 9 else ints // (10 ** (decimals - 9))
    out = ns.view("datetime64[ns]").copy()
    out[~ok] = np.datetime64("NaT")
    return Checked(pd.DatetimeIndex(out).tz_localize("UTC"), reasons)


def epoch_value(value: Any, what: str = "timestamp", *, decimals: int = 3
                ) -> tuple[pd.Timestamp | None, str | None]:
    """:func:`epoch_values` for one value (the same rounding and range, without arrays)."""
    seconds, why = float_value(value, what)
    if seconds is None:
        return None, why
    scaled = round(seconds * 10.0 ** decimals)
    ns = scaled * 10 ** (9 - decimals) if decimals <= 9 else scaled // 10 ** (decimals - 9)
    if not TIME_MIN.value <= ns < TIME_MAX.value:
        return None, f"{what} is {_TIME_RANGE}"
    return pd.Timestamp(ns, tz="UTC"), None
