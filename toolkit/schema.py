"""The canonical tables: column names, dtypes and units, and :func:`validate`.

Units are in the column names (``_s`` seconds, ``_ms`` milliseconds, ``_bytes`` bytes,
``_pct`` percent 0-100). Dtype families: ``str`` (object or pandas string), ``float``,
``int`` (numpy or nullable ``Int64``), ``datetime`` (tz-aware UTC), ``bool``.
Tables may carry extra columns; :func:`validate` checks the canonical ones.

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
            if c.dtype == "datetime":
                out[c.name] = pd.to_datetime(out[c.name], utc=True)
            else:
                out[c.name] = out[c.name].astype(target)
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
