"""The PostgreSQL jsonlog scanner: text of whole records -> record batches.

Reference (PostgreSQL 15): https://www.postgresql.org/docs/15/runtime-config-logging.html,
"Using JSON-Format Log Output". A jsonlog line is one object; keys whose value is NULL are left
out (a key of the wrong JSON type, e.g. a list as ``message``, skips its line with the reason)::

    {"timestamp":"2026-11-26 05:09:21.105 UTC","pid":11948,"session_id":"6b07bf01.2eac",
     "line_num":1,...,"error_severity":"LOG","message":"starting PostgreSQL 15.18 ...",...}

The batches (:class:`~toolkit.queries.records.RecordBatch`) hold the columns under the csvlog
scanner's names (:data:`toolkit.queries.pg_csvlog.STRUCTURED`), numbers as their decimal text.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import schema
from ..errors import ParseError
from ..sources import Source, load_json
from .records import RecordBatch, ahead

JSON_KEYS = ("timestamp", "user", "dbname", "pid", "remote_host", "session_id", "error_severity",
             "state_code", "message", "detail", "hint", "context", "statement", "application_name",
             "query_id")
# batch column of each key (the csvlog scanner's names)
JSON_NAMES = ("ts", "user", "database", "pid", "client", "session", "severity", "sqlstate", "message",
              "detail", "hint", "context", "statement", "application", "query_id")
# The keys PostgreSQL writes as JSON numbers (elog.c, write_jsonlog); the others are strings.
JSON_NUMBERS = ("pid", "query_id")
_JSON_TEXT = tuple(k for k in JSON_KEYS if k not in JSON_NUMBERS)


def json_values(obj: dict) -> tuple[list | None, str | None]:
    """The :data:`JSON_KEYS` values of one jsonlog record (numbers as their decimal text), or
    None and the reason when one has the wrong JSON type (a list where a string belongs, a
    string or a fraction where an integer belongs): the record is skipped then."""
    for key in _JSON_TEXT:
        v = obj.get(key)
        if v is not None and not isinstance(v, str):
            return None, schema.text_value(v, key)[1]
    values = [obj.get(k) for k in JSON_KEYS]
    for key in JSON_NUMBERS:
        v = obj.get(key)
        if v is not None:
            n, why = schema.int_value(v, key)
            if why is not None:
                return None, why
            values[JSON_KEYS.index(key)] = str(n)
    return values, None


def scan_json(text: str, first: int, name: str) -> RecordBatch:
    """The records of ``text`` (jsonlog lines from input line ``first``; ``name``: the input's,
    for messages). A line that is not a JSON object with ``error_severity``, or has a value of
    the wrong type, is a skipped line with its reason. One line per record (line breaks of a
    message are inside its JSON string)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    cols: list[list] = [[] for _ in JSON_KEYS]
    starts = []
    skips: list[tuple[int, str, str, int]] = []
    for k, line in enumerate(lines):
        try:
            obj = load_json(line, name, first + k)
        except ParseError:
            obj = None
        if not isinstance(obj, dict) or "error_severity" not in obj:
            skips.append((first + k, "blank line" if not line.strip() else
                          "not a jsonlog record (a JSON object with error_severity)", line, 1))
            continue
        values, why = json_values(obj)
        if why is not None:
            skips.append((first + k, why, line, 1))
            continue
        starts.append(first + k)
        for col, v in zip(cols, values, strict=True):
            col.append(v)
    if not starts:
        return RecordBatch.empty(first, len(lines), skips=skips)
    return RecordBatch.of(first, len(lines), dict(zip(JSON_NAMES, cols, strict=True)), starts,
                          [1] * len(starts), skips=skips)


def json_batches(src: Source, chunk_bytes: int) -> Iterator[RecordBatch]:
    """The record batches of a jsonlog, a chunk of lines at a time."""
    for first, text in ahead(src.iter_chunks(chunk_bytes)):
        yield scan_json(text, first, src.name)
