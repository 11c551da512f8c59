"""Context that applications write into their SQL as comments: sqlcommenter and marginalia tags.

Formats:

- sqlcommenter (https://google.github.io/sqlcommenter/spec/, as written by
  google-cloud-sqlcommenter 2.0 and OpenTelemetry's SQLCommenter): one comment appended to the
  statement, ``key='value'`` pairs joined by ``,``, keys sorted, keys and values URL-encoded, a
  ``'`` in a value escaped as ``\\'``::

      SELECT * FROM orders WHERE id = 7 /*controller='orders',db_driver='psycopg',
      framework='flask%3A3.1.1',route='/orders/%3Cint%3Aid%3E',
      traceparent='00-5f1b6c0e9d8a4b3c2d1e0f9a8b7c6d5e-00f067aa0ba902b7-01'*/

  ``traceparent`` is W3C Trace Context: ``version-trace_id(32 hex)-span_id(16 hex)-flags``.
- marginalia (Rails, https://github.com/basecamp/marginalia, v1.11): ``key:value`` pairs joined
  by ``,``, no quoting, appended or prepended::

      SELECT `users`.* FROM `users` /*application:Shop,controller:users,action:show*/

Each key becomes a column ``tag_<key>`` (lower_snake); a ``traceparent`` also gives ``trace_id``
and ``span_id``. MySQL version hints (``/*!40001 ... */``) and comments that are not wholly
tags are ignored. :func:`toolkit.queries.fingerprint.fingerprint` removes these comments, so
the same query with different tags keeps one fingerprint.

    >>> parse_comment("select 1 /*controller='orders',route='/orders/%3Cid%3E'*/")
    {'controller': 'orders', 'route': '/orders/<id>'}
    >>> parse_comment("select 1 /*application:Shop,action:show*/")
    {'application': 'Shop', 'action': 'show'}
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa

_COMMENT = re.compile(r"/\*(?!!)(.*?)\*/", re.S)
# sqlcommenter: key='value' with \' inside values; the whole comment must be such pairs
_SQLCOMMENTER = re.compile(r"\s*([^=,'\s]+)='((?:[^'\\]|\\.)*)'\s*(?:,|\Z)", re.S)
# marginalia: key:value, values without commas
_MARGINALIA = re.compile(r"\s*(\w+):([^,]*?)\s*(?:,|\Z)", re.S)
_TRACEPARENT = re.compile(r"\A([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\Z")
_NOT_SNAKE = re.compile(r"[^0-9a-z]+")


def _pairs(body: str, pattern: re.Pattern) -> list[tuple[str, str]] | None:
    """Every pair of ``body`` when the pairs are all it holds, else None."""
    pos, out = 0, []
    body = body.strip()
    while pos < len(body):
        m = pattern.match(body, pos)
        if not m or m.end() == pos:
            return None
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    return out or None


def parse_comment(sql: Any) -> dict[str, str]:
    """The tags of every sqlcommenter or marginalia comment in ``sql`` (first one wins per key);
    an empty dict when there are none. sqlcommenter keys and values are URL-decoded."""
    if not isinstance(sql, str) or "/*" not in sql:
        return {}
    tags: dict[str, str] = {}
    for m in _COMMENT.finditer(sql):
        body = m.group(1)
        pairs = _pairs(body, _SQLCOMMENTER)
        if pairs is not None:
            pairs = [(unquote(k), unquote(v.replace("\\'", "'"))) for k, v in pairs]
        else:
            pairs = _pairs(body, _MARGINALIA)
        for key, value in pairs or ():
            tags.setdefault(key, value)
    return tags


def tag_column(key: str) -> str:
    """The column a tag goes to: ``tag_`` + the key in lower_snake (``db_driver`` ->
    ``tag_db_driver``, ``Request-Id`` -> ``tag_request_id``)."""
    return "tag_" + _NOT_SNAKE.sub("_", key.lower()).strip("_")


def trace_ids(traceparent: Any) -> tuple[str | None, str | None]:
    """(trace_id, span_id) of a W3C ``traceparent``; (None, None) when it is not one."""
    m = _TRACEPARENT.match(traceparent.strip().lower()) if isinstance(traceparent, str) else None
    return (m.group(2), m.group(3)) if m else (None, None)


_OPENER = re.compile(rb"/\*")
# An object column whose first this many values repeat (a quarter or fewer distinct) is searched
# text by distinct text: a log repeats few statements many times (pgbench's extended protocol:
# 51 texts in 250,000 rows), unlike a log of inline literals (pg-simple: 294,000 in 525,000).
_SAMPLE = 4096


def _may_have_comment(text: pd.Series) -> bool:
    """False when no value of ``text`` can hold ``/*``; True when one may (then
    :func:`_has_comment` looks value by value). A log without comments, the usual case, is
    answered without a Python str per row: a pyarrow string column by one search of its
    character buffers (a match across two values' boundary only sends it the exact way), an
    object column of repeated texts by its distinct texts."""
    storage = getattr(text.dtype, "storage", None)
    if storage == "pyarrow":
        arrow = pa.array(text.array)  # (the column's own buffers: no copy)
        chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
        if all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in chunks):
            return any(c.buffers()[2] is not None and _OPENER.search(memoryview(c.buffers()[2]))
                       for c in chunks)
        return True
    if text.dtype == object:
        values = text.to_numpy(object).tolist()
        try:
            if len(dict.fromkeys(values[:_SAMPLE])) * 4 <= min(len(values), _SAMPLE):
                values = dict.fromkeys(values)
        except TypeError:  # an unhashable value: looked at one by one
            pass
        return any(isinstance(v, str) and "/*" in v for v in values)
    return True


def _has_comment(text: pd.Series) -> np.ndarray:
    """Which values of ``text`` hold ``/*`` (nulls and non-strings do not), as a bool array.
    Object columns are looked at value by value: converting them to a string dtype first
    would copy every statement (a third of a second per 500,000 rows) to find that none has a
    comment, the usual case."""
    if text.dtype == object:
        values = text.to_numpy(object)
        return np.fromiter([isinstance(v, str) and "/*" in v
                            for v in values], bool, len(values))
    return text.astype("string").str.contains("/*", regex=False).fillna(False).to_numpy(dtype=bool)


def add_comment_columns(events: pd.DataFrame, column: str = "statement") -> pd.DataFrame:
    """``events`` with one ``tag_<key>`` column per tag key found in ``column`` (string dtype,
    null where a statement lacks it), plus ``trace_id`` and ``span_id`` (32 and 16 hex digits)
    when any statement carries a ``traceparent``.

    Returns ``events`` itself when no statement carries tags (a log without them keeps its
    columns); otherwise a new frame with the same ``attrs``. Each distinct text is parsed once.

        >>> df = pd.DataFrame({"statement": ["select 1 /*route='/a'*/", "select 2"]})
        >>> add_comment_columns(df)["tag_route"].tolist()
        ['/a', <NA>]
    """
    if column not in events.columns or events.empty:
        return events
    text = events[column]
    if not _may_have_comment(text):
        return events
    has = _has_comment(text)
    if not has.any():
        return events
    codes, uniques = pd.factorize(text[has])
    parsed = [parse_comment(s) for s in uniques]
    keys = list(dict.fromkeys(k for tags in parsed for k in tags))
    if not keys:
        return events
    out = events.copy()
    for key in keys:
        values = pd.array([tags.get(key) for tags in parsed], dtype="string")
        col = pd.Series(pd.NA, index=events.index, dtype="string")
        col[has] = values.take(codes)
        out[tag_column(key)] = col
    if "traceparent" in keys:
        ids = out["tag_traceparent"].map(trace_ids, na_action="ignore")
        out["trace_id"] = ids.map(lambda t: t[0], na_action="ignore").astype("string")
        out["span_id"] = ids.map(lambda t: t[1], na_action="ignore").astype("string")
    out.attrs = dict(events.attrs)
    return out
