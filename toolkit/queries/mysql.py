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

- Logs without ``# User@Host:`` (old servers: ``# Time:`` + ``# Thread_id:``, or records that
  start at ``# Query_time:``; pt-query-digest's ``--output slowlog`` with ``# Client: ip:port``):
  a record starts at its ``# Time:``, else ``# User@Host:``, else the first ``#`` line of the
  header that ends with its ``# Query_time:`` line (:mod:`toolkit.queries.mysql_slow`);
  ``# Client:`` / ``# User:`` give ``client`` / ``user`` where no ``User@Host`` does.
- A blank line or no line break at the end of the file changes no statement.
- A statement with an odd count of quotes is read again following string literals across lines:
  header-like lines inside a literal stay in the statement.
- pt-query-digest 3.2.1 glues a mid-file start banner and the record after it onto the statement
  before (it reports one record less): this reader keeps that record (see the samples' README).
- Values go through :mod:`toolkit.schema`: a record whose Query_time / Lock_time is not a finite
  number >= 0, whose Rows_sent / Rows_examined is not a whole number within int64 (``0x1F``,
  ``١٢``, ``NaN``, 2^63, a NUL), or whose time stamp is not a valid time of the years 1678-2261,
  is skipped with that reason (all its lines); the other header columns keep their text when
  any of their values is no number (nothing is lost). Every way reads the same.

Reading is buffer-level: ONE compiled pass (:mod:`toolkit.native.slowlog`) finds the whole records
of a 4 MiB piece of text and hands out their fields as codes into distinct values and their
figures as numbers, so Python work is per distinct value and per column, never per line;
:func:`iter_mysql_slow` streams the same records as DataFrames, piece by
piece, for files bigger than memory, and :func:`split_mysql_slow` reads byte ranges of a plain file
(a Dask partition each). The scanner is :mod:`toolkit.queries.mysql_slow`;
:func:`toolkit.queries.digest.digest_file` digests the records straight from the same scanner (:mod:`toolkit.queries.mysql_digest` is its
sink), over byte ranges of one file in parallel processes
(:func:`toolkit.queries.mysql_slow.range_pieces`). All give the same records and line accounting
as :func:`read_mysql_slow`.

    >>> import toolkit as tk
    >>> events = tk.read_queries("sample_traces/queries/mariadb/app-slow.log")  # doctest: +SKIP
    >>> events[["timestamp", "duration_ms", "rows_examined", "statement"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import formats, schema
from ..sources import CHUNK_BYTES, Accounting, Source, check_errors_mode, open_source
from .mysql_digest import SLOW_DIGEST
from .mysql_slow import (
    CANONICAL,
    FIGURES,
    FORMAT,
    PIECE_BYTES,
    Batch,
    Coded,
    Figures,
    batches,
    batches_from,
    check_found_something,
    parse_time,
    parse_userhost,
    range_pieces,
    state_before,
    who,
)


def _snake(key: str) -> str:
    return key.lower()  # keys already use underscores: InnoDB_IO_r_ops -> innodb_io_r_ops


# A record's '# Query_time:' line, whole: the four figures, numbers (logs without '# User@Host:'
# are recognised by it, not by a '#' and a colon somewhere)
_QUERY_TIME_LINE = re.compile(r"^# Query_time: [\d.]+\s+Lock_time: [\d.]+\s+Rows_sent: \d+\s+Rows_examined:[ \t]*\d+",
                              re.MULTILINE)


# What pt-query-digest is given as a slow log and reads (percona-toolkit's t/lib/samples/slowlogs):
# a log that starts at a bare '# Query_time: N' line (slow047: one record), a record's '# Time:'
# and '# User@Host:' lines and nothing more (slow015), a mk-log-player session file (slow006-
# session-1). The last two hold no record: reading them says so, as pt-query-digest finds none.
_RECORDLESS = re.compile(r"# Query_time: \d+(?:\.\d+)?\n|# Time: [^\n]+\n# User@Host: |-- START SESSION \d+\n")


def sniff(head: formats.Head) -> bool:
    """A slow log has a ``# User@Host: a[b] @ ...`` line and a ``# Query_time:`` header, or a
    whole ``# Query_time: .. Lock_time: .. Rows_sent: .. Rows_examined: ..`` line at the start of
    a record (logs without ``# User@Host:``: old servers, pt-query-digest's ``--output slowlog``,
    logs that start at ``# Query_time:``), or starts with mysqld's banner."""
    text = head.text
    if "# User@Host: " in text and "# Query_time: " in text:
        return True
    if _QUERY_TIME_LINE.search(text) or _RECORDLESS.match(text):
        return True
    first = text.split("\n", 1)[0]
    return bool(re.match(r"\S*(?:mysqld|mariadbd)\S*, Version: .*started with:", first))


def _convert(values: Any) -> pd.Series:
    """The values of a header that is not a canonical column (str or None) as boolean (all
    Yes/No), Int64 (all whole numbers within int64), float64 (all finite numbers) or, when any
    is none of those (``0x1F``, ``NaN``, other digits), the text as logged: nothing is lost.
    Each distinct value is converted once (a header repeats few: Rows_affected, Full_scan) and
    the column is taken from them."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))  # (None: code -1)
    return pd.Series(_convert_distinct(uniques.tolist()).array.take(codes, allow_fill=True))


def _convert_distinct(values: list[Any]) -> pd.Series:
    """:func:`_convert` of values without nulls (the distinct values of a column)."""
    s = pd.Series(values, dtype=object)
    if s.empty:
        return s.astype("string")
    if s.isin(["Yes", "No"]).all():
        return s.map({"Yes": True, "No": False}).astype("boolean")
    ints = schema.int_values(s)
    if not ints.bad.any():
        return pd.Series(ints.values, dtype="Int64")
    floats = schema.float_values(s)
    if not floats.bad.any():
        return pd.Series(floats.values, dtype="float64")
    return s.astype("string")


# The pool of the string columns' buffers: the C library's allocator. Arrow's default (mimalloc)
# maps each big buffer (a piece's statements: megabytes) anew and faults its pages in every time:
# the string columns of a 240 MB log took 1.0 CPU s from it, 0.4 from this one (2.0 and 0.5 s
# wall), and the reader's peak memory was 120 MB higher.
_POOL = pa.system_memory_pool()


def _strings(values: list[Any], repeats: bool = True) -> pd.api.extensions.ExtensionArray:
    """A ``string`` column from a list of str and None, built as one Arrow array (pandas' own
    conversion looks at each value in Python: a quarter of the reader's time on big logs). A
    column that repeats its values (database, user, the EXPLAIN's JSON: the scanner shares one
    str per distinct EXPLAIN) is its distinct values converted once and taken for every row;
    ``repeats=False`` (the statements: each a new str, so hashing them costs more than copying
    them) converts every value."""
    try:
        codes, uniques = (pd.factorize(np.asarray(values, dtype=object)) if repeats  # (None: code -1)
                          else (None, values))
        if len(uniques) * 2 > len(values):  # mostly distinct
            arrow = pa.array(values, type=pa.large_string(), memory_pool=_POOL)
        else:
            arrow = pc.take(pa.array(uniques.tolist(), type=pa.large_string(), memory_pool=_POOL),
                            pa.array(codes, mask=codes < 0), memory_pool=_POOL)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # (a value that is not text: pandas converts it)
        return pd.array(values, dtype="string")
    return pd.array(arrow, dtype="string")


def _taken(values: list[Any], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A ``string`` column of ``values[codes]`` (str or None; ``codes`` index ``values``): the
    column of :func:`_strings` for values already numbered (no hashing of a str per row)."""
    try:
        arrow = pc.take(pa.array(values, type=pa.large_string(), memory_pool=_POOL), pa.array(codes),
                        memory_pool=_POOL)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # (a value that is not text: pandas converts it)
        return pd.array(np.asarray(values, dtype=object)[codes], dtype="string")
    return pd.array(arrow, dtype="string")


def _figure_columns(figures: Figures, texts: list[list[Any]]) -> tuple[dict[str, Any], np.ndarray]:
    """The four figures of many records as their columns (float64 ms, Int64 rows), and each
    record's first reason (None: all good): the scanner's numbers (:class:`Figures`), and for
    the figures it left to the rules (not plain numbers) :mod:`toolkit.schema`'s conversion of
    their text (``texts``: one list per :data:`FIGURES` key)."""
    n = len(figures)
    cols: dict[str, Any] = {}
    why = np.full(n, None, dtype=object)
    st = figures.status
    values = (figures.query_time, figures.lock_time, figures.rows_sent, figures.rows_examined)
    for k, ((key, col, factor), got_c, text) in enumerate(zip(FIGURES, values, texts, strict=True)):
        slow = np.flatnonzero(st & (1 << k))
        reasons = None
        if factor is None:
            out, mask = got_c.copy(), (st & (0x11 << k)) != 0  # (absent or left to the rules)
            if len(slow):
                got = schema.int_values([text[i] for i in slow.tolist()], key, lo=0)
                out[slow] = got.values.to_numpy(dtype=np.int64, na_value=0)
                mask[slow] = got.values.isna()
                reasons = got.reasons
            cols[col] = pd.Series(pd.arrays.IntegerArray(out, mask))
        else:
            out = got_c
            if len(slow):
                got = schema.float_values([text[i] for i in slow.tolist()], key, lo=0.0)
                out = out.copy()
                out[slow] = got.values
                reasons = got.reasons
            cols[col] = out * factor
        if reasons is not None:
            whyk = np.full(n, None, dtype=object)
            whyk[slow] = reasons
            why = np.where(why == None, whyk, why)  # noqa: E711
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
            reasons[i] = why
    return schema.Checked(pd.DatetimeIndex(values).tz_localize("UTC"), reasons)


def _who_columns(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """user, client and session of each record (:func:`toolkit.queries.mysql_slow.who`): from
    its ``User@Host`` value (parsed once per distinct value) and the headers before its
    '# Query_time:' line (the scanner shares one dict per distinct text), once per distinct
    pair of them (a log has few): ``(codes, table)``, each record's row of the table of
    distinct ``(user, client, session)``."""
    coded = Coded.concat(batch.who_codes)
    parsed: dict[str, tuple] = {}
    table = np.empty((len(coded.values), 3), dtype=object)
    for k, (uh, headers) in enumerate(coded.values):
        p = parsed.get(uh)
        if p is None:
            p = parsed[uh] = parse_userhost(uh)
        table[k] = who(p, headers)
    return coded.codes, table


def _drop_bad(df: pd.DataFrame, why: np.ndarray, batch: Batch, acct) -> pd.DataFrame:
    """Skip the records with a reason (their lines, counted), keep the others."""
    bad = why != None  # noqa: E711
    if not bad.any():
        return df
    for i in np.flatnonzero(bad).tolist():
        acct.skip(batch.first[i], why[i], "# User@Host: " + batch.userhost[i], count=batch.nlines[i])
        acct.records -= 1
    return df[~bad].reset_index(drop=True)


def _columns(batch: Batch) -> tuple[np.ndarray, np.ndarray, dict[str, Any], schema.Checked, np.ndarray]:
    """What both frames take from a batch: user, client, session (:func:`_who_columns`), the
    figures' columns, the time stamps, and each record's first reason to be skipped (the
    figures', then the time's)."""
    who_codes, who_table = _who_columns(batch)
    figures, why = _figure_columns(Figures.concat(batch.figures), list(batch.q))
    ts = _timestamps(batch.ts, batch.time)
    return who_codes, who_table, figures, ts, np.where(why == None, ts.reasons, why)  # noqa: E711


def _extra_columns(extra: list[Any] | np.ndarray, typed: bool) -> dict[str, Any]:
    """The extra header columns (every header that is no canonical column, lower_snake) of rows
    whose header dicts are ``extra``: converted (:func:`_convert`) or, ``typed=False``, as text.
    The scanner shares one dict per distinct header text: the columns are made from the distinct
    dicts (in order of first appearance: the columns' order) and taken for every row."""
    n = len(extra)
    codes, ids = pd.factorize(np.fromiter(map(id, extra), dtype=np.int64, count=n))
    firsts = np.unique(codes, return_index=True)[1]
    headers = [extra[i] for i in firsts.tolist()]
    keys: dict[str, None] = {}
    for h in headers:
        keys.update(dict.fromkeys(h))
    cols: dict[str, Any] = {}
    for key in keys:
        if key not in CANONICAL:  # (the session, database and figures: as every way reads them)
            distinct = np.empty(len(headers), dtype=object)
            distinct[:] = [h.get(key) for h in headers]
            values = distinct[codes]
            cols[_snake(key)] = _convert(values) if typed else pd.Series(values, dtype=object)
    return cols


def _frame(batch: Batch, acct, typed: bool = True) -> pd.DataFrame:
    """The records of ``batch`` as ``query_events`` (records with a bad figure or time stamp are
    skipped here, counted in ``acct``). ``typed=False`` leaves the extra header columns as text
    for :func:`_typed` to convert over all batches at once (their type then does not depend on
    where the pieces were cut)."""
    if not batch.statement:
        return schema.empty("query_events")
    return _records_frame(batch, acct, _extra_columns(batch.extra, typed))[0]


def _records_frame(batch: Batch, acct, cols: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`_frame` with the extra header columns ``cols``, and the mask of the batch's rows
    it keeps."""
    n = len(batch.statement)
    who_codes, who_table, figures, ts, why = _columns(batch)
    statements, plans = Coded.concat(batch.statement_codes), Coded.concat(batch.plan_codes)
    columns: dict[str, Any] = {
        "timestamp": ts.values,
        "duration_ms": figures["duration_ms"],
        "statement": _taken(statements.values, statements.codes),
        "kind": _taken(["statement"], np.zeros(n, dtype=np.intp)),
        "database": _strings(batch.database),
        "user": _taken(who_table[:, 0].tolist(), who_codes),
        "session": _taken(who_table[:, 2].tolist(), who_codes),
        "client": _taken(who_table[:, 1].tolist(), who_codes),
        "rows_sent": figures["rows_sent"],
        "rows_examined": figures["rows_examined"],
        "lock_ms": figures["lock_ms"],
        "plan": _taken(plans.values, plans.codes),
        "source_line": pd.Series(batch.source_line, dtype="Int64"),
    }
    # the extra columns after the canonical ones (a header named like one replaces it in place),
    # all in one frame: as Series, so text left for _typed stays object (not inferred per column)
    columns.update(cols)
    return _drop_bad(pd.DataFrame(columns), why, batch, acct), why == None  # noqa: E711


def _table(batches_: Iterator[Batch], acct) -> pd.DataFrame:
    """The ``query_events`` rows of all ``batches_`` as one frame, the extra header columns made
    once over the whole table (typed over all of it, as :func:`_typed` types them; one column
    per header instead of one per header and piece)."""
    frames, extras = [], []
    for b in batches_:
        if not b.statement:
            continue
        f, kept = _records_frame(b, acct, {})
        if len(f):
            frames.append(f)
            extras.append(np.asarray(b.extra, dtype=object)[kept] if not kept.all() else b.extra)
    if not frames:
        return schema.empty("query_events")
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    keys = {k for h in {id(h): h for e in extras for h in e}.values() for k in h if k not in CANONICAL}
    snakes = [_snake(k) for k in keys]
    if len(set(snakes)) < len(snakes) or not set(snakes).isdisjoint(df.columns):
        # (a header named like a canonical column, or two named alike: the columns as each piece
        # makes them, in place, then typed over all of them)
        parts = []
        for f, e in zip(frames, extras, strict=True):
            columns = dict(f.items())
            columns.update(_extra_columns(e, typed=False))
            parts.append(pd.DataFrame(columns))
        return _typed(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])
    for name, col in _extra_columns([h for e in extras for h in e], typed=True).items():
        df[name] = col
    return df


def split_mysql_slow(path: str, start: int, end: int, *, chunk_size: int = PIECE_BYTES,
                     errors: str = "skip", first_line: int | None = None) -> Iterator[pd.DataFrame]:
    """The records that start in bytes ``[start, end)`` of a plain (uncompressed) slow log file,
    as one ``query_events`` frame with the reader's columns (the extra header columns included,
    typed over the whole range as :func:`read_mysql_slow` types them over the whole file): a
    Dask partition, or the piece of :func:`toolkit.queries.digest.digest_file`'s worker when the
    streaming digest cannot group by what was asked. Both ends move forward to a record start, so
    ranges that tile the file read every record exactly once; ``source_line`` stays the line
    number in the whole file. The ``use db`` and ``# Time:`` that carry into the range come from
    before it (:func:`state_before`). ``first_line`` numbers the range's first line without
    counting the lines before it (a caller that knows it, or renumbers afterwards)."""
    acct = Accounting(path=os.fspath(path), format=FORMAT, errors=check_errors_mode(errors))
    pieces = range_pieces(path, start, end, acct, chunk_size, first_line)
    df = _table(batches_from(pieces, acct, state=state_before(path, start)), acct)
    out = schema.coerce(df, "query_events")
    out.attrs["source"] = acct.as_dict()  # (complete: every piece of the range has been read)
    yield out


def _finish(df: pd.DataFrame, src: Source) -> pd.DataFrame:
    acct = src.accounting
    acct.format = FORMAT
    out = schema.coerce(df, "query_events")
    out.attrs["source"] = acct.as_dict()
    return out


def read_mysql_slow(source: Any, *, errors: str = "skip", chunk_size: int = PIECE_BYTES) -> pd.DataFrame:
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
    df = _table(batches(src, chunk_size), src.accounting)
    check_found_something(src, len(df))
    return _finish(df, src)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The extra header columns (text) converted by :func:`_convert`, over the whole table."""
    canonical = set(schema.columns("query_events"))
    for c in df.columns:
        if c not in canonical and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)):
            # (as one object array: every kind of null, None, NaN or NA, is a null to _convert)
            df[c] = _convert(df[c].to_numpy(dtype=object)).array
    return df


def iter_mysql_slow(source: Any, *, errors: str = "skip", chunk_size: int = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    """The same records as :func:`read_mysql_slow`, one ``query_events`` DataFrame per piece of
    about ``chunk_size`` bytes: bounded memory for any file size. ``attrs["source"]`` of the last
    frame holds the final accounting."""
    src = open_source(source, errors=errors)
    records = 0
    for batch in batches(src, chunk_size):
        if not batch.statement:
            continue
        df = _frame(batch, src.accounting)
        records += len(df)
        yield _finish(df, src)
    check_found_something(src, records)


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
    for batch in batches(src, chunk_size):
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


formats.register(
    FORMAT, "queries", read_mysql_slow, sniff=sniff, suffixes=("-slow.log", "slow.log", "_slow.log"),
    description="MySQL / MariaDB / Percona slow query log (every '# Key: value' header as a column)",
    extras=formats.Extras(tables={"server_events": read_mysql_slow_server_events}, chunks=iter_mysql_slow,
                          split=split_mysql_slow, digest=SLOW_DIGEST),
)
