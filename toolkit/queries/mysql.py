"""MySQL / MariaDB / Percona Server slow query log -> the ``query_events`` table.

Format documentation (pinned):
- MariaDB 10.11: https://mariadb.com/kb/en/slow-query-log-extended-statistics/ and
  https://github.com/MariaDB/server/blob/10.11/sql/log.cc (``MYSQL_QUERY_LOG::write``)
- MySQL 8.0: https://dev.mysql.com/doc/refman/8.0/en/slow-query-log.html
- Percona Server 8.0: https://docs.percona.com/percona-server/8.0/slow-extended.html

A record, as MariaDB 10.11 writes it with ``log_slow_verbosity=query_plan,explain``
(``sample_traces/queries/mariadb/app-slow.log.gz``)::

    # Time: 261126  5:09:02                           <- optional: only when the second changed
    # User@Host: root[root] @ localhost [127.0.0.1]   <- MySQL adds "  Id:     8" here
    # Thread_id: 4  Schema: shop  QC_hit: No          <- MariaDB / Percona extras
    # Query_time: 0.149685  Lock_time: 0.000472  Rows_sent: 20000  Rows_examined: 40000
    # Rows_affected: 0  Bytes_sent: 4905253
    # Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No
    # Filesort: Yes  Filesort_on_disk: No  Merge_passes: 27  Priority_queue: No
    #
    # explain: id	select_type	table	type	possible_keys	key	key_len	ref	rows	r_rows	...
    # explain: 1	SIMPLE	orders	ALL	NULL	NULL	NULL	NULL	19582	20000.00	...
    #
    use `shop`;                                       <- optional: when the current db changed
    SET timestamp=1795669742;                         <- the statement's start, epoch seconds
    SELECT id, customer_id, note FROM orders ORDER BY note DESC, total;

Quirks, each handled here:
- ``# Time:`` is written once for all records logged in the same second, so records share it.
  Old / MariaDB form ``YYMMDD H:MM:SS`` (hour space-padded, server local time, read as UTC);
  MySQL 5.7+ form ``2023-01-01T10:00:00.123456Z`` (UTC, microseconds; preferred when present).
- ``SET timestamp=N;`` is the statement's start in epoch seconds: used for ``timestamp``
  unless an ISO ``# Time:`` with microseconds belongs to the record.
- ``Schema:`` may be empty (``Schema:   QC_hit: No``) and ``use db;`` appears only when the
  current database changes, so the database is carried forward from the last ``use``.
- ``Id:     8`` (MySQL) pads with spaces; MariaDB writes ``Thread_id: 8`` instead.
- Every ``# Key: value`` header becomes a column: Query_time -> ``duration_ms``, Lock_time ->
  ``lock_ms`` (table locks only: InnoDB row-lock waits are inside Query_time), Rows_sent,
  Rows_examined, Thread_id / Id -> ``session``, Schema -> ``database``; the others as lower_snake
  extra columns (``qc_hit``, ``rows_affected``, ``bytes_sent``, ``full_scan``, ``filesort``,
  ``merge_passes``, ``tmp_table_on_disk``, Percona's ``innodb_io_r_ops`` ...), Yes/No as booleans.
- ``# explain:`` lines (MariaDB) are the tab-separated EXPLAIN of the statement: kept in ``plan``
  as JSON, a list of row objects (``"NULL"`` -> null).
- The server's start banner (``/usr/sbin/mariadbd, Version: ... started with:``, ``Tcp port:``,
  ``Time Id Command Argument``) appears at every restart: counted as skipped lines with the reason
  "server start banner" here, and returned as events by :func:`read_mysql_slow_server_events`.
- mysqld appends ``;`` to the statement when it lacks one; that ``;`` is removed (as
  pt-query-digest does). MySQL logs ``# administrator command: Quit;`` for protocol commands: the
  statement becomes ``administrator command: Quit``.

- pt-query-digest 3.2.1 glues a mid-file start banner and the record after it onto the statement
  before (it reports one record less): this reader keeps that record (see the samples' README).
- Values go through :mod:`toolkit.schema`: a record whose Query_time / Lock_time is not a finite
  number >= 0, whose Rows_sent / Rows_examined is not a whole number within int64 (``0x1F``,
  ``١٢``, ``NaN``, 2^63, a NUL), or whose time stamp is not a valid time of the years 1678-2261,
  is skipped with that reason (all its lines); the other header columns keep their text when
  any of their values is no number (nothing is lost). Every way reads the same.

Reading is buffer-level: one regex finds whole records in a 16 MiB piece of text, so Python work is
per record, never per line; :func:`iter_mysql_slow` streams the same records as DataFrames, piece by
piece, for files bigger than memory. A leaner path (one ``findall`` per piece and column-wise
list operations, only the columns a digest needs) serves :func:`toolkit.queries.digest.digest_stream`
of its chunks; :func:`toolkit.queries.digest.digest_file` digests the records straight from the
same regex (:mod:`toolkit.queries.mysql_digest`), over byte ranges of one file in parallel
processes (:func:`range_pieces`). All give the same records and line accounting as
:func:`read_mysql_slow`.

    >>> import toolkit as tk
    >>> events = tk.read_queries("sample_traces/queries/mariadb/app-slow.log")  # doctest: +SKIP
    >>> events[["timestamp", "duration_ms", "rows_examined", "statement"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import operator
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import formats, schema
from ..errors import ParseError
from ..sources import CHUNK_BYTES, Accounting, Source, check_errors_mode, decode, open_source

FORMAT = "mysql-slow"

_HEADER_START = r"# (?:Time|User@Host): "
_KV = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_]*): (\S*)")
_USERHOST = re.compile(r"(?P<priv>[^\[]*)\[(?P<user>[^\]]*)\]\s*@\s*(?P<host>[^\[]*?)\s*"
                       r"(?:\[(?P<ip>[^\]]*)\])?(?:\s+Id:\s*(?P<id>\d+))?\s*$")
_BANNER = re.compile(r"[^\n]*, Version: [^\n]*started with:\n(?:Tcp port:[^\n]*\n)?"
                     r"(?:Time\s+Id\s+Command\s+Argument[^\n]*(?:\n|$))?")

# header keys that are canonical columns, not extra ones: the four figures (FIGURES), the session
# (Thread_id / Id) and the database (Schema, or the last `use`), read the same way by every way
_CANONICAL = frozenset({"Query_time", "Lock_time", "Rows_sent", "Rows_examined", "Thread_id", "Id", "Schema"})
_BANNER_REASON = "server start banner (see read_server_events)"


def _snake(key: str) -> str:
    return key.lower()  # keys already use underscores: InnoDB_IO_r_ops -> innodb_io_r_ops


def sniff(head: formats.Head) -> bool:
    """A slow log has a ``# User@Host: a[b] @ ...`` line and a ``# Query_time:`` header, or
    starts with mysqld's banner."""
    text = head.text
    if "# User@Host: " in text and "# Query_time: " in text:
        return True
    first = text.split("\n", 1)[0]
    return bool(re.match(r"\S*(?:mysqld|mariadbd)\S*, Version: .*started with:", first))


class _State:
    """What carries from one record to the next: the current database and ``# Time:``."""

    def __init__(self) -> None:
        self.database: str | None = None
        self.time: str | None = None


def parse_time(value: str) -> tuple[pd.Timestamp | None, str | None]:
    """A ``# Time:`` value as UTC (:func:`toolkit.schema.time_value`): ``(time, None)`` or
    ``(None, reason)``. ISO (MySQL 5.7+: ``2023-01-01T10:00:00.123456Z``), or the old form
    ``YYMMDD H:MM:SS`` (hour space-padded, the server's local time, read as UTC)."""
    value = value.strip()
    if "T" in value or "-" in value:
        return schema.time_value(value, "timestamp")
    parts = value.split()
    try:
        if not value.isascii():
            raise ValueError(value)
        d = _dt.datetime.strptime(parts[0] + " " + parts[1], "%y%m%d %H:%M:%S")
    except (ValueError, IndexError):
        return None, "timestamp is not a valid time"
    return pd.Timestamp(d, tz="UTC").as_unit("ns"), None


def _explain_json(lines: list[str]) -> str | None:
    rows = [line.split("\t") for line in lines]
    if len(rows) < 2:
        return None
    header = rows[0]
    out = [{k: (None if v == "NULL" else v) for k, v in zip(header, r, strict=False)} for r in rows[1:]]
    return json.dumps(out)


class _Batch:
    """Column lists for the records of one piece of text."""

    def __init__(self, lean: bool = False) -> None:
        self.lean = lean  # for the digest: no plan, no extra header columns, plain arrays
        self.source_line: list[int] = []
        self.ts: list[Any] = []
        self.time: list[Any] = []
        self.userhost: list[str] = []
        self.headers: list[dict[str, str]] = []  # the headers before '# Query_time:' (Schema, Thread_id)
        # Query_time, Lock_time, Rows_sent, Rows_examined as logged (strings), one list each
        self.q: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
        self.database: list[Any] = []
        self.statement: list[str] = []
        self.plan: list[Any] = []
        self.extra: list[dict[str, str] | None] = []  # every header (not lean): the extra columns
        self.first: list[int] = []   # each record's first line (its '# Time:' line if it has one)
        self.nlines: list[int] = []  # ... and its lines: a record skipped for a bad value skips them
        self.banners: list[dict[str, Any]] = []

    def count(self) -> int:
        """Records so far (where a banner falls among them)."""
        return len(self.statement)


def _parse_segment(text: str, first_line: int, acct, state: _State, batch: _Batch) -> int | None:
    """Records of ``text`` (no banner inside) into ``batch``; every line accounted for. A digest
    sink (:class:`toolkit.queries.mysql_digest.SlowDigest`) takes them itself and returns the
    line after them. Every way reads records with the one pattern :data:`_LEAN_ITEM`, so they
    agree on where records are and which lines are skipped, damaged input included."""
    if getattr(batch, "direct", False):
        return batch.segment(text, first_line, acct, state)
    _parse_segment_lean(text, first_line, acct, state, batch)
    return None


# The records' regex, of every way (the readers, the digest, byte ranges): the Query_time line is
# part of the record pattern, so its four figures come out of the one findall; a record without
# it is not a record (its lines become junk lines, and a junk run holding a '# User@Host:' line is
# reported as a truncated record). A '# Time:' or '# User@Host:' line always starts a record (never
# a header or statement line of the one before), so a byte range cut at one reads as the whole.
_LEAN_ITEM = re.compile(
    # (old servers sometimes wrote '# Time: ...' and '# User@Host: ...' on one line)
    r"((?:# Time: ([^\n]*?)(?:\n| (?=# User@Host: )))?"
    r"# User@Host: ([^\n]*)\n"
    rf"((?:#(?! Query_time: | {_HEADER_START[2:]})[^\n]*\n)*)"
    r"# Query_time: (\S+)\s+Lock_time: (\S+)\s+Rows_sent: (\S+)\s+Rows_examined: (\S+)([^\n]*)\n"
    rf"((?:#(?! {_HEADER_START[2:]})[^\n]*\n)*)"
    r"(?:use ([^\n]*);\n)?"
    r"(?:SET timestamp=(\d+);\n)?"
    rf"((?:(?!{_HEADER_START})[^\n]*\n)*(?:(?!{_HEADER_START})[^\n]+$)?))"
    r"|([^\n]*\n|[^\n]+$)"
)


def _carry_forward(values, current, convert=None) -> tuple[list, Any]:
    """Each item's latest non-empty value so far (``current`` before the first), and the last."""
    n = len(values)
    has = np.fromiter(map(bool, values), dtype=bool, count=n)
    if not has.any():
        return [current] * n, current
    pos = np.maximum.accumulate(np.where(has, np.arange(1, n + 1), 0))
    table = np.empty(n + 1, dtype=object)
    table[0] = current
    at = np.flatnonzero(has)
    table[at + 1] = [convert(values[i]) for i in at.tolist()] if convert else [values[i] for i in at.tolist()]
    out = table[pos].tolist()
    return out, out[-1]


def _parse_segment_lean(text: str, first_line: int, acct, state: _State, batch: _Batch) -> None:
    """One ``findall`` over the text (records, or single lines no record claims), then
    column-wise list operations instead of a loop body per record. A batch that is not lean also
    gets every header as a column (``extra``) and the EXPLAIN rows (``plan``)."""
    items = _LEAN_ITEM.findall(text)
    if not items:
        return
    (whole, times, userhosts, pres, qt, lt, rs, rx, tails, posts, uses, tss, stmts,
     junks) = zip(*items, strict=True)
    # lines per item: its line breaks, plus one for a last line without a break (one count over
    # the whole record, captured by the outer group, instead of one per part)
    # (only the text's last item can lack its line break: every other ends where the next begins)
    nl = list(map(str.count, whole, itertools.repeat("\n")))
    recs = [i for i, j in enumerate(junks) if not j]
    if len(recs) < len(items):
        for i, j in enumerate(junks):
            if j:
                nl[i] = 1  # a junk item is one line
    if not junks[-1] and whole[-1][-1] != "\n":
        nl[-1] += 1
    del whole
    starts = list(itertools.accumulate(nl, initial=first_line))
    # junk lines, in runs
    if len(recs) < len(items):
        is_rec = set(recs)
        i, n = 0, len(items)
        while i < n:
            if i in is_rec:
                i += 1
                continue
            k = i
            while k < n and k not in is_rec:
                k += 1
            run = "".join(junks[i:k])
            reason = ("truncated record (no '# Query_time:' header)" if "# User@Host: " in run
                      else "not part of a slow log record")
            acct.skip(starts[i], reason, run, count=k - i)
            i = k
    if not recs:
        return
    if len(recs) == len(items):  # the common case: every item is a record
        def pick(seq):
            return seq
    else:
        pick = operator.itemgetter(*recs) if len(recs) > 1 else (lambda seq: (seq[recs[0]],))
    times, userhosts, pres, tails, posts, uses, tss, stmts = (
        pick(x) for x in (times, userhosts, pres, tails, posts, uses, tss, stmts))
    # '# Time:' and 'use db;' carry forward (numpy positions, not a loop per record)
    time_col, state.time = _carry_forward(times, state.time)
    use_col, state.database = _carry_forward(uses, state.database, lambda u: u.strip("`"))
    # mysqld's ';' and the line break after it go; one pass (a last record may lack the break)
    stmts = [st[:-2] if st[-2:] == ";\n" else st[:-1] if st[-1:] in ";\n" and st else st for st in stmts]
    cache: dict[str, dict[str, str]] = {}
    kv_findall = _KV.findall
    for p in set(pres):
        cache[p] = dict(kv_findall(p))
    kvs = [cache[p] for p in pres]
    keep = None
    # the rare cases, one look each: only statements that start with '#' or whitespace, or are empty
    rare = [k for k, st in enumerate(stmts) if not st or st[0] == "#" or st[0].isspace()]
    for k in rare:
        st = stmts[k]
        if st[:1] == "#" and st.startswith("# administrator command: "):
            stmts[k] = st[2:]
        elif not st.strip():
            if uses[k] and not tss[k]:
                stmts[k] = f"use {uses[k]}"
            else:
                keep = keep or [True] * len(stmts)
                keep[k] = False
                i = recs[k]
                acct.skip(starts[i], "truncated record (no statement)", "# User@Host: " + userhosts[k], count=nl[i])
    lines = [starts[i] + (t != "") for i, t in zip(recs, times, strict=True)]
    qs = [list(pick(c)) for c in (qt, lt, rs, rx)]
    dbs = [kv.get("Schema") or d for kv, d in zip(kvs, use_col, strict=True)]
    firsts = [starts[i] for i in recs]
    counts = [nl[i] for i in recs]
    extra: list[Any] = [None] * len(stmts)
    plans: list[Any] = [None] * len(stmts)
    if not batch.lean:  # every header line (the '# Query_time:' line's tail too) and the EXPLAIN
        for k, (pre, tail, post) in enumerate(zip(pres, tails, posts, strict=True)):
            headers = pre + tail + "\n" + post
            cut = headers.find("# explain: ")
            if cut >= 0:  # MariaDB writes the EXPLAIN rows after every other header
                plans[k] = _explain_json([h[11:] for h in headers[cut:].split("\n")
                                          if h.startswith("# explain: ")])
                headers = headers[:cut]
            extra[k] = dict(kv_findall(headers))
    cols = [lines, [x or None for x in tss], time_col, list(userhosts), kvs, dbs, stmts, firsts, counts,
            extra, plans, *qs]
    if keep is not None:
        cols = [[v for v, ok in zip(c, keep, strict=True) if ok] for c in cols]
    batch.source_line += cols[0]
    batch.ts += cols[1]
    batch.time += cols[2]
    batch.userhost += cols[3]
    batch.headers += cols[4]
    batch.database += cols[5]
    batch.statement += cols[6]
    batch.first += cols[7]
    batch.nlines += cols[8]
    batch.extra += cols[9]
    batch.plan += cols[10]
    for have, new in zip(batch.q, cols[11:], strict=True):
        have += new
    acct.records += len(cols[6])


def _parse_text(text: str, first_line: int, acct, state: _State, batch: _Batch) -> None:
    """Split ``text`` at server start banners, parse the pieces between them."""
    if "started with:" not in text:
        _parse_segment(text, first_line, acct, state, batch)
        return
    pos, line = 0, first_line
    search = 0
    while True:
        hit = text.find("started with:", search)
        if hit < 0:
            break
        search = hit + 1
        bol = text.rfind("\n", 0, hit) + 1
        m = _BANNER.match(text, bol)
        if not m or bol < pos:
            continue
        seg = text[pos:bol]
        after = _parse_segment(seg, line, acct, state, batch)
        line = after if after is not None else line + seg.count("\n")
        banner = m.group(0)
        n = banner.count("\n") + (0 if banner.endswith("\n") else 1)
        first = banner.split("\n", 1)[0]
        batch.banners.append({"event": "other", "message": "server start: " + first.replace(" started with:", ""),
                              "detail": " | ".join(x.strip() for x in banner.split("\n")[1:] if x.strip()),
                              "source_line": line, "_records_before": batch.count()})
        acct.skip(line, _BANNER_REASON, first, count=n)
        line += n
        pos = m.end()
        search = pos
    _parse_segment(text[pos:], line, acct, state, batch)


def _convert(values: list[Any]) -> pd.Series:
    """The values of a header that is not a canonical column (str or None) as boolean (all
    Yes/No), Int64 (all whole numbers within int64), float64 (all finite numbers) or, when any
    is none of those (``0x1F``, ``NaN``, other digits), the text as logged: nothing is lost."""
    s = pd.Series(values, dtype=object)
    present = s.dropna()
    if present.empty:
        return s.astype("string")
    if present.isin(["Yes", "No"]).all():
        return s.map({"Yes": True, "No": False}).astype("boolean")
    ints = schema.int_values(s)
    if not ints.bad.any():
        return pd.Series(ints.values, dtype="Int64")
    floats = schema.float_values(s)
    if not floats.bad.any():
        return pd.Series(floats.values, dtype="float64")
    return s.astype("string")


# The '# Query_time:' line's figures: header key, canonical column, factor to the column's unit.
# All four are validated for every record, whichever way it is read (a record with one that is
# not a number of its kind, or negative, is skipped with the reason).
FIGURES = (("Query_time", "duration_ms", 1000.0), ("Lock_time", "lock_ms", 1000.0),
           ("Rows_sent", "rows_sent", None), ("Rows_examined", "rows_examined", None))


def figure(key: str, text: Any) -> tuple[float | None, str | None]:
    """One figure of the '# Query_time:' line (see :data:`FIGURES`) in its column's unit, as a
    float: ``(value, None)``, ``(None, None)`` when absent, or ``(None, reason)``."""
    if key in ("Rows_sent", "Rows_examined"):
        v, why = schema.int_value(text, key, lo=0)
        return (None if v is None else float(v)), why
    v, why = schema.float_value(text, key, lo=0.0)
    return (None if v is None else v * 1000.0), why


def _figure_columns(texts: list[list[Any]]) -> tuple[dict[str, Any], np.ndarray]:
    """The four figures of many records (``texts``: one list per :data:`FIGURES` key) as their
    columns (float64 ms, Int64 rows), and each record's first reason (None: all good)."""
    cols: dict[str, Any] = {}
    why = np.full(len(texts[0]), None, dtype=object)
    for (key, col, factor), values in zip(FIGURES, texts, strict=True):
        if factor is None:
            got = schema.int_values(values, key, lo=0)
            cols[col] = pd.Series(got.values, dtype="Int64")
        else:
            got = schema.float_values(values, key, lo=0.0)
            cols[col] = got.values * factor
        why = np.where(why == None, got.reasons, why)  # noqa: E711
    return cols, why


def _timestamps(set_ts: list[Any], times: list[Any]) -> schema.Checked:
    """SET timestamp (epoch seconds), replaced by an ISO '# Time:' (microseconds) where the
    record has one, and filled from the shared old-form '# Time:' where SET timestamp is absent;
    with the reason of each bad one (:mod:`toolkit.schema`)."""
    epoch = schema.epoch_values(set_ts, "timestamp", decimals=0)
    if None not in set_ts and not any("T" in t for t in set(times) if t):
        return epoch  # the common case: every record has SET timestamp, no ISO '# Time:'
    need = [i for i, (s, t) in enumerate(zip(set_ts, times, strict=True))
            if (s is None and t is not None) or (t is not None and "T" in t)]
    values = epoch.values.to_numpy(dtype="datetime64[ns]").copy()
    reasons = epoch.reasons.copy()
    if need:
        parsed = {t: parse_time(t) for t in {times[i] for i in need}}
        for i in need:
            ts, why = parsed[times[i]]
            values[i] = np.datetime64("NaT") if ts is None else ts.to_datetime64()
            # an old-form '# Time:' that is no time at all (percona-toolkit's slow022 has
            # 'margdl 11:48:27') says nothing, like a missing one: the record is kept without
            # a time, as pt-query-digest keeps it; an ISO time out of range is still skipped
            reasons[i] = None if ts is None and "T" not in times[i] and "-" not in times[i] else why
    return schema.Checked(pd.DatetimeIndex(values).tz_localize("UTC"), reasons)


def _userhost_columns(values: list[str]) -> tuple[list[Any], list[Any], list[Any]]:
    """user, client and MySQL's ``Id`` from each ``User@Host`` value (parsed once per distinct
    value: a log has few)."""
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    parsed = []
    for v in uniques:
        m = _USERHOST.match(v)
        if m:
            parsed.append((m.group("user") or m.group("priv").strip() or None,
                           (m.group("ip") or m.group("host") or "").strip() or None, m.group("id")))
        else:
            parsed.append((None, None, None))
    if not parsed:
        return [], [], []
    cols = np.array(parsed, dtype=object)[codes]
    return cols[:, 0].tolist(), cols[:, 1].tolist(), cols[:, 2].tolist()


def _drop_bad(df: pd.DataFrame, why: np.ndarray, batch: _Batch, acct) -> pd.DataFrame:
    """Skip the records with a reason (their lines, counted), keep the others."""
    bad = why != None  # noqa: E711
    if not bad.any():
        return df
    for i in np.flatnonzero(bad).tolist():
        acct.skip(batch.first[i], why[i], "# User@Host: " + batch.userhost[i], count=batch.nlines[i])
        acct.records -= 1
    return df[~bad].reset_index(drop=True)


def _columns(batch: _Batch) -> tuple[list, list, list, dict[str, Any], schema.Checked, np.ndarray]:
    """What both frames take from a batch: user, client, session, the figures' columns, the
    time stamps, and each record's first reason to be skipped (the figures', then the time's)."""
    users, clients, ids = _userhost_columns(batch.userhost)
    session = [h.get("Thread_id") or h.get("Id") or i for h, i in zip(batch.headers, ids, strict=True)]
    figures, why = _figure_columns(list(batch.q))
    ts = _timestamps(batch.ts, batch.time)
    return users, clients, session, figures, ts, np.where(why == None, ts.reasons, why)  # noqa: E711


def _lean_frame(batch: _Batch, acct) -> pd.DataFrame:
    """Only what a digest needs, as plain numpy / object columns (no dtype casts)."""
    users, clients, session, figures, ts, why = _columns(batch)
    df = pd.DataFrame({
        "timestamp": ts.values,
        "duration_ms": figures["duration_ms"],
        "statement": np.array(batch.statement, dtype=object),
        "database": np.array(batch.database, dtype=object),
        "user": np.array(users, dtype=object),
        "session": np.array(session, dtype=object),
        "client": np.array(clients, dtype=object),
        "rows_sent": figures["rows_sent"].to_numpy(dtype=np.float64, na_value=np.nan),
        "rows_examined": figures["rows_examined"].to_numpy(dtype=np.float64, na_value=np.nan),
        "lock_ms": figures["lock_ms"],
        "source_line": np.array(batch.source_line, dtype=np.int64),
    })
    return _drop_bad(df, why, batch, acct)


def _frame(batch: _Batch, acct, typed: bool = True) -> pd.DataFrame:
    """The records of ``batch`` as ``query_events`` (records with a bad figure or time stamp are
    skipped here, counted in ``acct``). ``typed=False`` leaves the extra header columns as text
    for :func:`_typed` to convert over all batches at once (their type then does not depend on
    where the pieces were cut)."""
    n = len(batch.statement)
    if n == 0:
        return schema.empty("query_events")
    if batch.lean:
        return _lean_frame(batch, acct)
    headers = batch.extra
    keys: dict[str, None] = {}
    for h in headers[:1000]:
        keys.update(dict.fromkeys(h))
    if any(h.keys() - keys.keys() for h in headers):
        for h in headers:
            keys.update(dict.fromkeys(h))
    cols: dict[str, Any] = {}
    for key in keys:
        if key not in _CANONICAL:  # (the session, database and figures: as every way reads them)
            values = [h.get(key) for h in headers]
            cols[_snake(key)] = _convert(values) if typed else pd.Series(values, dtype=object)
    users, clients, session, figures, ts, why = _columns(batch)
    df = pd.DataFrame({
        "timestamp": ts.values,
        "duration_ms": figures["duration_ms"],
        "statement": pd.Series(batch.statement, dtype="string"),
        "kind": pd.Series(["statement"] * n, dtype="string"),
        "database": pd.Series(batch.database, dtype="string"),
        "user": pd.Series(users, dtype="string"),
        "session": pd.Series(session, dtype="string"),
        "client": pd.Series(clients, dtype="string"),
        "rows_sent": figures["rows_sent"],
        "rows_examined": figures["rows_examined"],
        "lock_ms": figures["lock_ms"],
        "plan": pd.Series(batch.plan, dtype="string"),
        "source_line": pd.Series(batch.source_line, dtype="Int64"),
    })
    for k, v in cols.items():
        df[k] = v.values if hasattr(v, "values") else v
    return _drop_bad(df, why, batch, acct)


def _batches(src: Source, chunk_size: int) -> Iterator[_Batch]:
    """One _Batch per piece of input (see :func:`_batches_from`)."""
    return _batches_from(src.iter_chunks(chunk_size), src.accounting)


def _batches_from(pieces, acct, lean: bool = False, sink=None, state: _State | None = None) -> Iterator[_Batch]:
    """One _Batch per piece of text; a record cut by a piece boundary moves to the next piece.
    ``sink``: a digest (:class:`toolkit.queries.mysql_digest.SlowDigest`) that takes the records
    of every piece instead (it is what is yielded). ``state``: what carries in from before the
    first piece (:func:`state_before`)."""
    state = state or _State()
    carry, carry_line = "", 1

    def parsed(text: str, line: int) -> _Batch:
        batch = sink if sink is not None else _Batch(lean)
        _parse_text(text, line, acct, state, batch)
        return batch

    for first_line, text in pieces:
        if carry and first_line != carry_line + carry.count("\n"):
            # a line between the pieces was left out (longer than the line limit): the record
            # kept back ends where it was
            yield parsed(carry, carry_line)
            carry = ""
        if carry:
            text, first_line = carry + text, carry_line
        # the last record may continue in the next piece (a long statement spans several): keep
        # it back, from its '# Time:' line when it has one, even when it starts the piece
        start = text.rfind("\n# User@Host: ") + 1
        if start == 0 and not text.startswith("# User@Host: "):
            start = -1
        if start >= 0:
            prev = text.rfind("\n", 0, start - 1) + 1 if start > 0 else -1
            if prev >= 0 and text.startswith("# Time: ", prev):
                start = prev
            body, carry = text[:start], text[start:]
            carry_line = first_line + body.count("\n")
        else:
            body, carry = text, ""
        yield parsed(body, first_line)
    if carry:
        yield parsed(carry, carry_line)


def _record_start(fh, pos: int, size: int) -> int:
    """The offset of the first record that starts at or after ``pos`` (``size`` if none): its
    ``# User@Host:`` line, or the ``# Time:`` line just before it. Deterministic, so two ranges
    cut at the same ``pos`` agree on where one ends and the next begins."""
    if pos <= 0:
        return 0
    window = 1 << 20
    while pos < size:
        fh.seek(pos - 1)
        data = fh.read(window)
        i = data.find(b"\n# User@Host: ")
        if i >= 0:
            start = pos + i  # the '#' of '# User@Host:'
            lo = max(0, start - 4096)
            fh.seek(lo)
            before = fh.read(start - lo)
            prev = before.rfind(b"\n", 0, len(before) - 1) + 1
            if before.startswith(b"# Time: ", prev):
                start = lo + prev
            return start
        if len(data) < window:
            break
        pos += window - 64  # overlap: the marker may straddle two windows
    return size


def split_mysql_slow(path: str, start: int, end: int, *, chunk_size: int = CHUNK_BYTES,
                     errors: str = "skip", first_line: int | None = None) -> Iterator[pd.DataFrame]:
    """The records that start in bytes ``[start, end)`` of a plain (uncompressed) slow log file,
    as ``query_events`` frames: the pieces of :func:`toolkit.queries.digest.digest_file`'s worker
    processes. Both ends move forward to a record start, so ranges that tile the file read every
    record exactly once; ``source_line`` stays the line number in the whole file. The ``use db``
    and ``# Time:`` that carry into the range come from before it (:func:`state_before`).
    ``first_line`` numbers the range's first line without counting the lines before it (a caller
    that knows it, or renumbers afterwards)."""
    acct = Accounting(path=os.fspath(path), format=FORMAT, errors=check_errors_mode(errors))
    pieces = range_pieces(path, start, end, acct, chunk_size, first_line)
    for batch in _batches_from(pieces, acct, lean=True, state=state_before(path, start)):
        if batch.statement:
            out = _frame(batch, acct)
            out.attrs["source"] = acct.as_dict()
            yield out
    # the final accounting, also for a range that held no complete record
    last = _lean_frame(_Batch(lean=True), acct)
    last.attrs["source"] = acct.as_dict()
    yield last


def state_before(path: str, start: int) -> _State:
    """What carries into the records of the range that starts at byte ``start``: the ``use db``
    and the ``# Time:`` of the last records before the range's first record that have them, found
    by searching backwards from it (each candidate checked to be a record as the reader reads
    it), so a range read on its own gives its records the database and time they have when the
    whole file is read."""
    import mmap

    state = _State()
    size = os.path.getsize(path)
    if size == 0:
        return state
    with open(path, "rb") as fh:
        lo = _record_start(fh, start, size)
        if lo == 0:
            return state
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            def record_at(line_start: int) -> re.Match | None:
                """The record (a match of _LEAN_ITEM's record part) whose '# User@Host:' line or
                '# Time:' line before it starts the line at ``line_start``, if the reader reads
                one there."""
                begin = line_start
                if not mm[begin:begin + 13] == b"# User@Host: ":
                    return None
                prev = mm.rfind(b"\n", 0, max(begin - 1, 0)) + 1 if begin > 0 else -1
                if prev >= 0 and mm[prev:prev + 8] == b"# Time: " and mm[begin - 1:begin] == b"\n":
                    begin = prev
                # up to the next record start: headers and the use / SET lines come before it
                nxt = [i for i in (mm.find(b"\n# User@Host: ", line_start, lo),
                                   mm.find(b"\n# Time: ", line_start, lo)) if i >= 0]
                stop = min([*nxt, lo, line_start + (1 << 20)]) + 1
                text = decode(mm[begin:stop], Accounting())
                m = _LEAN_ITEM.match(text)
                return m if m is not None and m.group(1) is not None else None  # (not a junk line)

            def last(marker: bytes, pick) -> str | None:
                """The value ``pick(record)`` of the last record before ``lo`` that has one, found
                from the nearest line starting with ``marker`` backwards."""
                end = lo
                while end > 0:
                    i = mm.rfind(b"\n" + marker, 0, end)
                    at = i + 1 if i >= 0 else (0 if mm[:len(marker)] == marker else -1)
                    if at < 0:
                        return None
                    if marker == b"# Time: ":  # a '# Time:' line belongs to the record after it
                        head = mm.find(b"\n", at, lo) + 1 or lo
                    else:  # a 'use' line to the record whose '# User@Host:' line is before it
                        head = mm.rfind(b"\n# User@Host: ", 0, at) + 1
                    m = record_at(head) if head < lo else None
                    value = pick(m) if m is not None else None
                    if value:
                        return value
                    end = max(i, 0)
                return None

            state.time = last(b"# Time: ", lambda m: m.group(2))
            use = last(b"use ", lambda m: m.group(11))
            state.database = use.strip("`") if use else None
    return state


def range_pieces(path: str, start: int, end: int, acct, chunk_size: int = CHUNK_BYTES,
                 first_line: int | None = None) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` pieces of whole lines of the records that start in bytes
    ``[start, end)`` (both ends moved to a record start), decoded as :class:`Source` does;
    counts the lines read in ``acct``."""
    from ..sources import lines_before, read_range

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        lo, hi = _record_start(fh, start, size), _record_start(fh, end, size)
        line0 = 1 + lines_before(fh, lo) if first_line is None else first_line
        yield from read_range(fh, acct, lo, hi, line0, chunk_size)


def _finish(df: pd.DataFrame, src: Source) -> pd.DataFrame:
    acct = src.accounting
    acct.format = FORMAT
    out = schema.coerce(df, "query_events")
    out.attrs["source"] = acct.as_dict()
    return out


def _check_found_something(src: Source, records: int) -> None:
    acct = src.accounting
    junk = acct.lines_skipped - acct.skip_reasons.get(_BANNER_REASON, 0)
    if records == 0 and junk > 0:
        first = next((s for s in acct.skipped if s["reason"] != _BANNER_REASON), {})
        raise ParseError(f"no slow log record found ({junk} lines; first: {first.get('text', '')[:80]!r})",
                         src.name, first.get("line"),
                         expected="records starting with '# User@Host:' and '# Query_time:'")


def read_mysql_slow(source: Any, *, errors: str = "skip", chunk_size: int = CHUNK_BYTES) -> pd.DataFrame:
    """Read a MySQL / MariaDB / Percona slow query log into the ``query_events`` table.

    Columns: the canonical ones (``timestamp`` UTC, ``duration_ms``, ``lock_ms``, ``rows_sent``,
    ``rows_examined``, ``statement``, ``kind`` = "statement", ``database``, ``user``,
    ``session`` = thread id, ``client``, ``plan`` = EXPLAIN rows as JSON, ``source_line`` = the
    record's ``# User@Host:`` line), then one lower_snake column per other header key
    (``rows_affected``, ``bytes_sent``, ``qc_hit``, ``full_scan``, ``filesort``, ...).

        >>> df = read_mysql_slow(b"# User@Host: app[app] @ localhost []  Id:     8\\n"
        ...                      b"# Query_time: 0.25  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 9\\n"
        ...                      b"SET timestamp=1700000000;\\nselect 1;\\n")
        >>> row = df.iloc[0]
        >>> float(row["duration_ms"]), row["session"], row["user"], row["statement"]
        (250.0, '8', 'app', 'select 1')
    """
    src = open_source(source, errors=errors)
    frames = [_frame(b, src.accounting, typed=False) for b in _batches(src, chunk_size)]
    frames = [f for f in frames if len(f)] or [schema.empty("query_events")]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    _check_found_something(src, len(df))
    return _finish(_typed(df), src)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The extra header columns (text) converted by :func:`_convert`, over the whole table."""
    canonical = set(schema.columns("query_events"))
    for c in df.columns:
        if c not in canonical and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)):
            values = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in df[c]]
            df[c] = _convert(values).array
    return df


def iter_mysql_slow(source: Any, *, errors: str = "skip", chunk_size: int = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    """The same records as :func:`read_mysql_slow`, one ``query_events`` DataFrame per piece of
    about ``chunk_size`` bytes: bounded memory for any file size. ``attrs["source"]`` of the last
    frame holds the final accounting."""
    src = open_source(source, errors=errors)
    records = 0
    for batch in _batches(src, chunk_size):
        if not batch.statement:
            continue
        df = _frame(batch, src.accounting)
        records += len(df)
        yield _finish(df, src)
    _check_found_something(src, records)


def _digest_chunks(source: Any, *, errors: str = "skip", chunk_size: int = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    """Lean frames for :func:`toolkit.queries.digest.digest_file`: the digest's columns only."""
    src = open_source(source, errors=errors)
    records = 0
    for batch in _batches_from(src.iter_chunks(chunk_size), src.accounting, lean=True):
        if batch.statement:
            frame = _frame(batch, src.accounting)
            records += len(frame)
            yield frame
    _check_found_something(src, records)
    src.accounting.format = FORMAT


def read_mysql_slow_server_events(source: Any, *, errors: str = "skip",
                                  chunk_size: int = CHUNK_BYTES) -> pd.DataFrame:
    """The slow log's server events: one ``other`` event per start banner (a restart).

    ``message`` is the banner's first line (program and version), ``detail`` the port and socket
    line; ``timestamp`` is that of the first record after the banner (the slow log does not
    time the start itself), null when none follows.
    """
    src = open_source(source, errors=errors)
    rows = []
    pending: list[dict[str, Any]] = []
    for batch in _batches(src, chunk_size):
        ts = None
        if batch.statement:
            _frame(batch, src.accounting)  # the same accounting as the query events' reader
            ts = pd.Series(_timestamps(batch.ts, batch.time).values)  # a bad one: NaT here
        for b in batch.banners:
            k = b.pop("_records_before")
            if ts is not None and k < len(ts):
                b["timestamp"] = ts.iloc[k]
                for p in pending:
                    p["timestamp"] = ts.iloc[k]
                pending = []
            else:
                pending.append(b)
            rows.append(b)
        if ts is not None and len(ts) and pending:
            for p in pending:
                p["timestamp"] = ts.iloc[0]
            pending = []
    df = pd.DataFrame(rows) if rows else schema.empty("server_events")
    if rows and "timestamp" in df:
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    out = schema.coerce(df, "server_events")
    src.accounting.format = FORMAT
    out.attrs["source"] = src.accounting.as_dict()
    return out


def _digest_direct(source: Any, **options: Any):
    """:func:`toolkit.queries.mysql_digest.digest_mysql_slow` (``digest_file``'s way)."""
    from .mysql_digest import digest_mysql_slow

    return digest_mysql_slow(source, **options)


def _digest_supports(by: Any) -> bool:
    from .mysql_digest import supports

    return supports(by)


formats.register(
    FORMAT, "queries", read_mysql_slow, sniff=sniff, suffixes=("-slow.log", "slow.log", "_slow.log"),
    description="MySQL / MariaDB / Percona slow query log (every '# Key: value' header as a column)",
    extras={"server_events": read_mysql_slow_server_events, "chunks": iter_mysql_slow,
            "digest_chunks": _digest_chunks,
            "split": split_mysql_slow, "digest": _digest_direct, "digest_supports": _digest_supports},
)
