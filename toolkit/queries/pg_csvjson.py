"""PostgreSQL csvlog and jsonlog record batches as raw log records (see :mod:`toolkit.queries.pg_events`).

The scanners (:mod:`toolkit.queries.pg_csvlog`, :mod:`toolkit.queries.pg_jsonlog`) give record
batches with the same columns; :func:`structured_raw` turns one into the raw-records frame the
stderr reader makes too, so all three formats share one builder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from ..sources import Source
from .pg_csvlog import csv_batches
from .pg_events import raw_frame, split_message
from .pg_jsonlog import json_batches
from .pg_time import utc_times
from .records import RecordBatch


def iter_csv_raw(src: Source, log_timezone: str | None, chunk_bytes: int) -> Iterator[pd.DataFrame]:
    """Raw-record frames of a csvlog, a buffer at a time (skipped lines into its accounting)."""
    return _raw_frames(csv_batches(src, chunk_bytes), src, log_timezone)


def iter_json_raw(src: Source, log_timezone: str | None, chunk_bytes: int) -> Iterator[pd.DataFrame]:
    """Raw-record frames of a jsonlog, a chunk at a time (skipped lines into its accounting)."""
    return _raw_frames(json_batches(src, chunk_bytes), src, log_timezone)


def _raw_frames(batches: Iterator[RecordBatch], src: Source, log_timezone: str | None) -> Iterator[pd.DataFrame]:
    for batch in batches:
        batch.account(src.accounting, count=False)  # (the reader counts its table's rows)
        if len(batch):
            yield structured_raw(batch, src.name, log_timezone)


def structured_raw(batch: RecordBatch, name: str, log_timezone: str | None) -> pd.DataFrame:
    """Raw records from a csvlog/jsonlog batch (columns named as :data:`toolkit.queries.pg_csvlog.STRUCTURED`)."""
    n = len(batch)
    c = batch.columns

    def get(key):
        v = c.get(key)
        return [None] * n if v is None else [None if x == "" else x for x in v]

    stamps = [s or "" for s in get("ts")]
    local = [s.rsplit(" ", 1)[0] for s in stamps]
    zones = [s.rsplit(" ", 1)[1] if " " in s else "" for s in stamps]
    detail = get("detail")
    params = [None] * n
    for i, d in enumerate(detail):
        if d and d.startswith(("parameters: ", "Parameters: ")):
            params[i] = d[12:]
            detail[i] = None
    messages = ["" if m is None else m for m in get("message")]
    client = get("client")
    durs, verbs, pnames, rests = split_message(messages)
    sev_v = get("severity")
    stamps = utc_times(local, zones, name=name, log_timezone=log_timezone)
    return raw_frame({
        "source_line": batch.first_line, "nlines": batch.nlines, "timestamp": stamps.values,
        "problem": stamps.reasons,
        "session": get("session"), "pid": [None if p is None else str(p) for p in get("pid")],
        "user": get("user"), "database": get("database"), "application": get("application"), "client": client,
        "severity": sev_v, "sqlstate": [None if s in (None, "", "00000") else s for s in get("sqlstate")],
        "dur": durs, "verb": verbs, "pname": pnames,
        "message": [r if v else m for r, v, m in zip(rests, verbs, messages, strict=True)]
        if any(verbs) or any(durs) else messages,
        "detail": detail, "hint": get("hint"), "context": get("context"), "statement": get("statement"),
        "parameters": params,
        "query_id": [None if q in (None, "", 0, "0") else str(q) for q in get("query_id")],
    })
