"""The shared builder of the PostgreSQL readers: raw log records -> query_events, server_events.

Every PostgreSQL reader (stderr, csvlog, jsonlog) produces the same *raw records* frame, one row
per logged message with its DETAIL/HINT/CONTEXT/STATEMENT/QUERY already attached:

``source_line, nlines, timestamp, session, pid, user, database, application, client, severity,
sqlstate, dur, verb, pname, message, detail, hint, context, statement, parameters, query_id,
problem``

``problem`` is the reason a record cannot be read (a time stamp that is not valid or outside
the years :mod:`toolkit.schema` holds), None for the others: the readers skip such records,
counting the reason. ``dur``/``verb``/``pname`` come from :data:`MESSAGE_RE` (``duration: 0.250 ms  execute
<unnamed>: SELECT ...`` gives ``'0.250'``, ``'execute'``, ``'<unnamed>'`` and the message
``SELECT ...``; the text becomes a number in :mod:`toolkit.schema`, and a record whose duration
is not a finite number is skipped with its reason). :func:`split_events` turns them into the two
canonical tables.

Query events (``kind``):

- ``statement`` / ``parse`` / ``bind`` / ``execute``: ``duration: X ms  <kind> [name]: SQL``;
  ``execute fetch from`` is ``execute``. ``parameters`` holds the DETAIL ``parameters: $1 = ...``
  text after the colon.
- ``log_statement`` lines (``statement: SQL`` without a duration) wait for the next line of the
  same session: a duration-only ``duration: X ms`` line (``log_duration = on``) gives them their
  duration and is folded into them; a ``duration: X ms  statement: SQL`` line with the same SQL
  (log_statement *and* log_min_duration_statement) replaces them. Otherwise they stay with a
  null ``duration_ms``.
- ``duration``: a duration-only line no statement claimed (with log_duration, parse and bind
  have no log_statement line), ``statement`` null.
- auto_explain's ``duration: X ms  plan:`` is **attached** to its statement's row (``plan``
  column, the text after ``plan:`` as logged: JSON text or the text plan with its ``Query
  Text:`` line) and then dropped, so the plan's time is never counted twice. With the simple
  protocol the plan comes *before* its ``statement`` line; with the extended protocol *after*
  its ``execute`` line for a SELECT (the executor ends when the portal is dropped) and *before*
  it for an INSERT/UPDATE/DELETE (run to completion inside the execute). A ``log_statement``
  line is written when its statement starts, so its plan always comes after it. So a plan goes
  to the previous ``execute`` (SELECT) or log_statement line, or the next ``statement``/``execute``
  logged at its end (DML, simple protocol), of its session, whose SQL equals the plan's Query
  Text and whose duration is not shorter. A plan whose statement was not logged (``log_min_duration_statement`` above its
  duration, or auto_explain alone) stays as a ``kind="plan"`` row with the Query Text as
  ``statement`` and auto_explain's duration: digests must skip ``kind == "plan"`` rows to stay
  comparable with pg_stat_statements (the same statement may have been counted below the
  threshold of the statement log but not be in the log at all).

The plan rule does not depend on how the log is read: a stderr log is cut into chunks (and into
byte ranges for ``digest_file``'s workers) only where no session waits for a later record of its
own (:func:`toolkit.queries.pg_stderr.session_waits`: a plan, a parse or bind, a log_statement
line, and a timed execute, whose SELECT plan comes after it, possibly after other sessions'
records), so a plan meets its statement in every piece size and worker count
(tests/queries/test_chunking.py). The one limit: where a chunk's last 256 KiB hold no such place
(a session left waiting at every record in it), the cut falls back to looking at the record
before it alone.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ParseError
from ..sources import Accounting, load_json

# What follows the severity of a LOG line (csvlog/jsonlog: the message column).
MESSAGE_RE = re.compile(
    r"(?:duration: (?P<dur>\d+(?:\.\d+)?) ms(?:  |$|(?=\n)))?"
    r"(?:(?P<verb>statement|parse|bind|execute fetch from|execute|plan)"
    r"(?: (?P<pname>[^:\n]*?))?:(?: |$|(?=\n)))?", re.S)

QUERY_VERBS = {"statement": "statement", "parse": "parse", "bind": "bind", "execute": "execute",
               "execute fetch from": "execute"}
# The verbs as the compiled stderr scanner codes them (its verb_code column: 0 no verb, else the
# position here + 1), and the query_events kind of each code.
VERB_CODES = ("statement", "parse", "bind", "execute fetch from", "execute", "plan")
_KIND_OF_CODE = np.array(["duration", *(QUERY_VERBS.get(v, v) for v in VERB_CODES)], dtype=object)

SECONDARY = ("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION")
ENGLISH = {"LOG", "ERROR", "WARNING", "FATAL", "PANIC", "NOTICE", "INFO", "DEBUG", "DEBUG1",
           "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", *SECONDARY}

RAW_COLUMNS = ("source_line", "nlines", "timestamp", "session", "pid", "user", "database",
               "application", "client", "severity", "sqlstate", "dur", "verb", "pname", "message",
               "detail", "hint", "context", "statement", "parameters", "query_id", "problem")

# Server events recognised by their message (LOG severity), in the order tried.
_SERVER_PATTERNS = [
    ("connection_received", re.compile(r"connection received: ")),
    ("connection_authorized", re.compile(r"connection authorized: ")),
    ("disconnection", re.compile(r"disconnection: session time: (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)")),
    ("checkpoint_starting", re.compile(r"(?:checkpoint|restartpoint) starting: ")),
    ("checkpoint_complete", re.compile(r"(?:checkpoint|restartpoint) complete: .*?total=(?P<total>[\d.]+) s")),
    ("temp_file", re.compile(r"temporary file: path \"(?P<path>[^\"]*)\", size (?P<size>\d+)")),
    ("lock_wait", re.compile(r"process \d+ still waiting for (?P<lock>.*?) after (?P<ms>[\d.]+) ms")),
    ("lock_acquired", re.compile(r"process \d+ acquired (?P<lock>.*?) after (?P<ms>[\d.]+) ms")),
    ("deadlock", re.compile(r"process \d+ detected deadlock while waiting for (?P<lock>.*?) after (?P<ms>[\d.]+) ms")),
    ("autovacuum", re.compile(r"automatic (?:aggressive )?vacuum (?:to prevent wraparound )?of table \"(?P<rel>[^\"]+)\"")),
    ("autoanalyze", re.compile(r"automatic analyze of table \"(?P<rel>[^\"]+)\"")),
]
_ELAPSED = re.compile(r"elapsed: (?P<s>[\d.]+) s")

# A "duration" message in a translated lc_messages (Dauer:, durée :, длительность:, ...).
TRANSLATED_DURATION = re.compile(r"^[^\W\d_]+ ?: \d+[.,]\d+ ms  ")

# stderr has no SQLSTATE unless %e is in the prefix: the common ones, from their messages
# (src/backend/utils/errcodes.txt, PostgreSQL 15).
_SQLSTATE_BY_MESSAGE = [
    (re.compile(r"deadlock detected"), "40P01"),
    (re.compile(r"relation \".*\" does not exist"), "42P01"),
    (re.compile(r"column \".*\" does not exist"), "42703"),
    (re.compile(r"function .* does not exist"), "42883"),
    (re.compile(r"syntax error at or near"), "42601"),
    (re.compile(r"division by zero"), "22012"),
    (re.compile(r"duplicate key value violates unique constraint"), "23505"),
    (re.compile(r"violates foreign key constraint"), "23503"),
    (re.compile(r"null value in column .* violates not-null constraint"), "23502"),
    (re.compile(r"canceling statement due to statement timeout"), "57014"),
    (re.compile(r"canceling statement due to lock timeout"), "55P03"),
    (re.compile(r"could not serialize access"), "40001"),
    (re.compile(r"current transaction is aborted"), "25P02"),
    (re.compile(r"password authentication failed"), "28P01"),
    (re.compile(r"database \".*\" does not exist"), "3D000"),
    (re.compile(r"terminating connection due to administrator command"), "57P01"),
    (re.compile(r"invalid input syntax for type"), "22P02"),
]


def split_message(messages: list[str]) -> tuple[list, list, list, list]:
    """``(dur, verb, pname, rest)`` lists for csvlog/jsonlog messages (stderr does this in its
    line regex)."""
    durs, verbs, pnames, rests = [], [], [], []
    match = MESSAGE_RE.match
    for msg in messages:
        m = match(msg)
        end = m.end()
        durs.append(m.group("dur") or "")
        verbs.append(m.group("verb") or "")
        pnames.append(m.group("pname") or "")
        rests.append(msg[end:] if end else msg)
    return durs, verbs, pnames, rests


_NULLABLE = ("session", "user", "database", "application", "client")
_SHARED = frozenset({*_NULLABLE, "message"})


def raw_columns(cols: dict, made_once: frozenset = frozenset(), names=RAW_COLUMNS) -> dict:
    """The ``names`` columns of a raw-records frame as arrays (int64 line numbers, the time
    stamps as given, object arrays for the others) from column lists: missing columns are
    nulls; ``""`` and ``[unknown]`` in the connection columns are nulls. ``made_once``:
    columns whose values the scanner already made once per distinct value (the compiled stderr
    scanner's table of repeated values), taken as they are."""
    n = len(cols["source_line"])
    data = {}
    for c in names:
        v = cols.get(c)
        if v is None:
            data[c] = np.full(n, None, dtype=object)
        elif c in ("source_line", "nlines"):
            data[c] = np.asarray(v, dtype=np.int64)
        elif c == "timestamp":
            data[c] = v
        elif c in _SHARED and c not in made_once:
            # one str object per distinct value (the scanner makes one per row): a session's
            # user, database, ... and a repeated statement are held once, and pickled once when
            # a worker process sends the frame back
            seen: dict = {}
            a = np.fromiter(map(seen.setdefault, v, v), dtype=object, count=n)
            if c in _NULLABLE:
                a[(a == "") | (a == "[unknown]")] = None
            data[c] = a
        else:
            a = np.asarray(v, dtype=object) if not isinstance(v, np.ndarray) else v
            if c in _NULLABLE:
                # numpy compares the values; isin would hash every new string of the chunk
                blank = (a == "") | (a == "[unknown]")
                if blank.any():
                    a = a.copy() if a is v else a
                    a[blank] = None
            data[c] = a
    return data


def raw_frame(cols: dict, made_once: frozenset = frozenset()) -> pd.DataFrame:
    """A raw-records frame (:data:`RAW_COLUMNS`) from column lists (:func:`raw_columns`)."""
    data = raw_columns(cols, made_once)
    return pd.DataFrame({c: pd.Series(v) if c in ("source_line", "nlines", "timestamp")
                         else pd.Series(v, dtype=object) for c, v in data.items()})


def row_flags(raw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(is_log, has_duration, has_verb)`` as numpy booleans (object -> bool is a C loop)."""
    is_log = raw["severity"].to_numpy() == "LOG"
    has_dur = raw["dur"].to_numpy().astype(bool)  # "" and None are False
    has_verb = raw["verb"].to_numpy().astype(bool)
    return is_log, has_dur, has_verb


def _query_mask(raw: pd.DataFrame, flags=None) -> np.ndarray:
    is_log, has_dur, has_verb = flags or row_flags(raw)
    return is_log & (has_dur | has_verb)


QUERY_RAW = ("source_line", "nlines", "timestamp", "session", "user", "database", "application",
              "client", "dur", "verb", "message", "parameters")


def split_events(raw: pd.DataFrame, *, server: bool = True,
                 flags: tuple | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """``(query_events, server_events, counts)`` from a raw-records frame (file order).

    ``counts`` holds the number of input lines that ended in each table. ``server=False``
    leaves the server_events table empty (a reader of query events only does not need it).
    ``flags``: ``row_flags(raw)`` when the caller has them already.
    """
    raw = raw.reset_index(drop=True)
    qmask = _query_mask(raw, flags)
    nlines = raw["nlines"].to_numpy()
    server_lines = int(nlines[~qmask].sum())
    qe, query_lines = query_rows(raw.loc[qmask, list(QUERY_RAW)])
    counts = {"query_events": query_lines, "server_events": server_lines}
    return qe, _server(raw[~qmask]) if server else schema.empty("server_events"), counts


def query_rows(q, verb_code: np.ndarray | None = None,
               dur_ms: np.ndarray | None = None) -> tuple[pd.DataFrame, int]:
    """``(query_events, lines)`` from the raw records that are query events (``QUERY_RAW``
    columns, file order; a frame, or a dict of :func:`raw_columns`' arrays): kinds and
    durations, log_statement lines paired, plans attached.
    ``lines``: the input lines those rows hold. ``verb_code`` / ``dur_ms``: the verbs and the
    durations as the compiled stderr scanner gives them too (codes of :data:`VERB_CODES`, ms as
    float64: plain ASCII digits, what the checked conversion gives them), for its rows.

    The rules work on the columns as numpy arrays and the frame is made once at the end (a
    frame's column inserts, selections and copies were most of the cost on a log of many
    distinct statements)."""
    if isinstance(q, pd.DataFrame):
        q = {c: q[c].array if c == "timestamp" else q[c].to_numpy() for c in QUERY_RAW}
    q = dict(q)
    if verb_code is not None:
        kind = _KIND_OF_CODE[verb_code]
    else:
        verbs = _objects(q["verb"])
        kind = pd.Series(verbs, dtype=object).map(QUERY_VERBS).to_numpy()
        kind[verbs == "plan"] = "plan"
        kind[~verbs.astype(bool)] = "duration"
    q["kind"] = kind
    q["duration_ms"] = dur_ms.copy() if dur_ms is not None else schema.float_values(q["dur"], "duration").values
    q["plan"] = np.full(len(kind), None, dtype=object)
    q = _pair_log_statement(q)
    q = _attach_plans(q)
    message = _objects(q["message"])
    q["statement"] = np.where(q["kind"] != "duration", message, None)
    lines = int(q["nlines"].sum())
    qe = pd.DataFrame({c: pd.Series(q[c]) if c in ("source_line", "timestamp", "duration_ms")
                       else pd.Series(q[c], dtype=object)
                       for c in ("source_line", "timestamp", "session", "user", "database", "application",
                                 "client", "parameters")})
    # (set as a column, kind takes the dtype pandas infers for text, as it always has: "str")
    qe["kind"] = q["kind"]
    qe["duration_ms"] = pd.Series(q["duration_ms"])
    qe["plan"] = pd.Series(q["plan"], dtype=object)
    qe["statement"] = pd.Series(q["statement"], dtype=object)
    return schema.coerce(qe, "query_events"), lines


def _taken(q: dict, keep: np.ndarray) -> dict:
    """The rows ``keep`` of every column of ``q``."""
    return {c: v[keep] for c, v in q.items()}


def pair_statements(verbs, durs, messages, sessions, session_codes: np.ndarray | None = None
                    ) -> tuple[dict[int, int], dict[int, int]]:
    """The log_statement rule (see the module docstring) on columns of query records in file
    order (``sessions`` with nulls as None): a record without a duration (a log_statement line:
    every query record without a duration has a verb) pairs with the next record of its session
    that is not a plan, a timed parse or a timed bind. Returns ``(took, replaced)``: a
    log_statement row -> the duration-only row that gives it its duration (folded into it), and
    a log_statement row -> the timed row with the same SQL that replaces it. Row positions.
    ``session_codes``: the sessions as integer codes, when the caller has them.

    Column-wise: the records that take part (not a plan, not a timed parse/bind), by session
    in file order; each untimed one with the next of its session when that one is timed (a
    record always ends the wait of the one before it)."""
    n = len(verbs)
    if not n:
        return {}, {}
    # (object arrays: truth values and comparisons are C loops; "" and None are False)
    timed = _objects(durs).astype(bool)
    v = _objects(verbs)
    timed_pb = ((v == "parse") | (v == "bind")) & timed
    cand = np.flatnonzero(~timed_pb & (v != "plan"))
    if session_codes is None:
        session_codes = pd.factorize(_objects(sessions), use_na_sentinel=False)[0]
    order = np.argsort(session_codes[cand], kind="stable")
    rows = cand[order]
    s = session_codes[rows]
    same = s[1:] == s[:-1]
    p, k = rows[:-1][same], rows[1:][same]
    pair = ~timed[p] & timed[k]
    p, k = p[pair], k[pair]
    by_k = np.argsort(k, kind="stable")  # (in file order of the record that ends the wait)
    p, k = p[by_k], k[by_k]
    alone = ~v[k].astype(bool)
    took = dict(zip(p[alone].tolist(), k[alone].tolist(), strict=True))
    replaced = {a: b for a, b in zip(p[~alone].tolist(), k[~alone].tolist(), strict=True)
                if messages[b] == messages[a]}
    return took, replaced


def _objects(values) -> np.ndarray:
    """``values`` as a 1-d object array (no copy when they are one)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return a


def _pair_log_statement(q: dict) -> dict:
    """Fold log_statement lines and their duration-only lines (:func:`pair_statements`)."""
    durs = _objects(q["dur"])
    if durs.astype(bool).all():
        return q
    sessions = np.array(q["session"], dtype=object, copy=True)
    na = pd.isna(sessions)
    if na.any():  # (one null session, as a groupby with dropna=False has it)
        sessions[na] = None
    took, replaced = pair_statements(_objects(q["verb"]), durs, _objects(q["message"]), sessions)
    if not took and not replaced:
        return q
    duration = q["duration_ms"].copy()
    nlines = q["nlines"].copy()
    if took:
        # duration-only line -> the pending statement's duration; the duration line is folded in
        p, k = np.fromiter(took, np.int64, len(took)), np.fromiter(took.values(), np.int64, len(took))
        duration[p] = duration[k]
        nlines[p] += nlines[k]
    if replaced:
        # log_statement and log_min_duration_statement both: keep the one with the duration
        p = np.fromiter(replaced, np.int64, len(replaced))
        k = np.fromiter(replaced.values(), np.int64, len(replaced))
        nlines[k] += nlines[p]
    q = {**q, "duration_ms": duration, "nlines": nlines}
    keep = np.ones(len(durs), dtype=bool)
    keep[list(took.values())] = False
    keep[list(replaced)] = False
    return _taken(q, keep)


def query_text(plan: str, load=load_json) -> str | None:
    """The Query Text of an auto_explain plan (JSON or text). ``load``: reads the JSON text."""
    body = plan.lstrip("\n")
    if body.startswith("{"):
        try:
            return load(body).get("Query Text")
        except (ParseError, AttributeError):
            return None
    if not body.startswith("Query Text: "):
        return None
    lines = body[len("Query Text: "):].split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        if PLAN_NODE.match(line):
            break
        out.append(line)
    return "\n".join(out)


PLAN_NODE = re.compile(r"^\S.*(?:  \(cost=|\(actual time=|\(never executed\)|\(actual rows=)"
                        r"|^[A-Z][A-Za-z ]*(?:Scan|Join|Loop|Aggregate|Sort|Hash|Result|Append|Limit"
                        r"|Gather|Insert|Update|Delete|Merge|Materialize|Unique|SetOp|WindowAgg|Group"
                        r"|Memoize|LockRows|ProjectSet)\b")


_DML_TEXT = re.compile(r"^(?:Insert|Update|Delete|Merge) on ", re.M)


def is_dml(plan: str, load=load_json) -> bool:
    """A plan whose root modifies a table: with the extended protocol it is logged before its
    ``execute`` line (the portal runs to completion inside Execute); a SELECT's after it.
    ``load``: reads the JSON text."""
    if plan.lstrip().startswith("{"):
        try:
            return load(plan)["Plan"]["Node Type"] == "ModifyTable"
        except (ParseError, KeyError, TypeError):
            return False
    return bool(_DML_TEXT.search(plan))


def _attach_plans(q: dict) -> dict:
    kinds = q["kind"]
    is_plan = kinds == "plan"
    if not is_plan.any():
        return q
    message = list(q["message"])
    plan_col = list(q["plan"])
    for i in np.flatnonzero(is_plan):
        m = message[i]
        plan_col[i] = message[i] = m[1:] if m.startswith("\n") else m
    kind = kinds.tolist()
    duration = q["duration_ms"]
    nlines = q["nlines"].copy()
    # log_statement lines (their duration, if any, came from a later line): logged when the
    # statement starts, so its plan comes after such a row, never before it
    at_start = ~_objects(q["dur"]).astype(bool)
    cand = np.flatnonzero((kinds == "statement") | (kinds == "execute") | is_plan)
    # the previous and next candidate row of the same session (nulls form one session), by a
    # stable sort on the session's code: numpy, not a groupby per chunk
    codes = pd.factorize(np.asarray(q["session"])[cand], use_na_sentinel=True)[0]
    order = np.argsort(codes, kind="stable")
    sc, sp = codes[order], cand[order]
    same = sc[1:] == sc[:-1]
    prev_a = np.full(len(kinds), -1, dtype=np.int64)
    next_a = np.full(len(kinds), -1, dtype=np.int64)
    prev_a[sp[1:][same]] = sp[:-1][same]
    next_a[sp[:-1][same]] = sp[1:][same]
    taken: set = set()
    keep = np.ones(len(kinds), dtype=bool)
    # query_text and is_dml read the same JSON plan text: parsed once (read-only use)
    parsed: dict = {}

    def load(text: str):
        doc = parsed.get(text)
        if doc is None:
            doc = parsed[text] = load_json(text)
        return doc

    for i in np.flatnonzero(is_plan).tolist():  # plans are a small share: a plain loop
        text = query_text(plan_col[i], load)
        if text is None:
            continue
        best = None
        before, after = int(prev_a[i]), int(next_a[i])
        for j in ((after, before) if is_dml(plan_col[i], load) else (before, after)):
            if j < 0:
                continue
            if j == before:  # an execute (a SELECT's plan follows it), or a log_statement line
                fits = kind[j] == "execute" or (kind[j] == "statement" and at_start[j])
            else:            # a statement or execute logged when it ended
                fits = not at_start[j]
            # the statement's time includes its executor's: never shorter than the plan's
            if fits and j not in taken and message[j] == text \
                    and not duration[j] < duration[i] - 0.01:
                best = j
                break
        if best is None:
            message[i] = text
            continue
        taken.add(best)
        plan_col[best] = plan_col[i]
        nlines[best] += nlines[i]
        keep[i] = False
    q = {**q, "message": _objects(message), "plan": _objects(plan_col), "nlines": nlines}
    return _taken(q, keep)


def _number(value, factor: float = 1.0) -> float:
    """A figure of a server event's message (text, or a float computed from such figures) times
    ``factor``; NaN when it is not a finite number (:func:`toolkit.schema.float_value`)."""
    v = schema.float_value(value)[0]
    if v is None:
        return np.nan
    v = schema.float_value(v * factor)[0]  # (a huge figure times 1000 is no longer finite)
    return np.nan if v is None else v


def _server(s: pd.DataFrame) -> pd.DataFrame:
    """server_events rows from the raw records that are not query events."""
    n = len(s)
    event = np.full(n, "other", dtype=object)
    duration = np.full(n, np.nan)
    size = [None] * n
    relation = [None] * n
    sev = s["severity"].to_numpy()
    msgs = s["message"].to_numpy()
    sqlstate = s["sqlstate"].to_numpy().copy()
    for i in range(n):  # server events are a small share of a log: a plain loop is fine
        sv, msg = sev[i], msgs[i]
        if sv in ("ERROR", "WARNING", "FATAL", "PANIC"):
            event[i] = {"ERROR": "error", "WARNING": "warning"}.get(sv, "fatal")
            if sqlstate[i] is None:
                for rx, code in _SQLSTATE_BY_MESSAGE:
                    if rx.search(msg):
                        sqlstate[i] = code
                        break
            if sqlstate[i] == "40P01":
                event[i] = "deadlock"
            continue
        if sv != "LOG":
            continue
        for name, rx in _SERVER_PATTERNS:
            m = rx.match(msg)
            if not m:
                continue
            event[i] = name
            g = m.groupdict()
            # the figures come from the message, which is kept: one that is not a number (a
            # damaged line) leaves duration_ms / size_bytes null, the event stays
            if name == "disconnection":
                duration[i] = _number(_number(g["h"]) * 3600 + _number(g["m"]) * 60 + _number(g["s"]), 1000)
            elif name == "checkpoint_complete":
                duration[i] = _number(g["total"], 1000)
            elif name == "temp_file":
                size[i] = schema.int_value(g["size"], "size", lo=0)[0]
                relation[i] = g["path"]
            elif name in ("lock_wait", "lock_acquired", "deadlock"):
                duration[i] = _number(g["ms"])
                relation[i] = g["lock"]
            elif name in ("autovacuum", "autoanalyze"):
                relation[i] = g["rel"]
                e = _ELAPSED.search(msg)
                if e:
                    duration[i] = _number(e["s"], 1000)
            break
    out = pd.DataFrame({
        "timestamp": s["timestamp"].reset_index(drop=True), "event": event, "session": s["session"].to_numpy(),
        "database": s["database"].to_numpy(), "user": s["user"].to_numpy(), "duration_ms": duration,
        "size_bytes": pd.array(size, dtype="Int64"), "relation": relation, "sqlstate": sqlstate,
        "message": msgs, "detail": s["detail"].to_numpy(), "statement": s["statement"].to_numpy(),
        "source_line": s["source_line"].to_numpy(), "severity": sev,
        "application": s["application"].to_numpy(), "client": s["client"].to_numpy(),
        "hint": s["hint"].to_numpy(), "context": s["context"].to_numpy(),
    })
    return schema.coerce(out, "server_events")


def translated_lines(raw: pd.DataFrame, english: bool = False, flags: tuple | None = None) -> np.ndarray:
    """Rows whose severity or duration message is not English (a non-English lc_messages).
    ``english``: the severities are known to be English already (only the messages are checked)."""
    bad = (np.zeros(len(raw), dtype=bool) if english
           else ~raw["severity"].isin(ENGLISH).to_numpy())
    is_log, has_dur, has_verb = flags or row_flags(raw)
    other = np.flatnonzero(is_log & ~has_dur & ~has_verb)
    msgs = raw["message"].to_numpy()[other]
    match = TRANSLATED_DURATION.match
    bad[other] |= np.fromiter((match(m) is not None for m in msgs), dtype=bool, count=len(msgs))
    return bad


TRANSLATED = "message is not in English (lc_messages is not 'C'): set lc_messages = 'C' to read such logs"


def split_checked(raw: pd.DataFrame, acc: Accounting, server: bool = True, english: bool = False):
    """:func:`split_events` of the raw records that can be read; the others are skipped (in
    file order) with their reason: a message not in English, a bad time stamp (``problem``), a
    duration that is not a finite number (``duration: ١٢ ms``: non-ASCII digits).
    ``english``: every severity is known to be English (the stderr parser skips the others)."""
    flags = row_flags(raw)
    why = np.where(translated_lines(raw, english, flags), TRANSLATED, None)
    problem = raw["problem"].to_numpy()
    why = np.where(why == None, problem, why)  # noqa: E711
    why = np.where(why == None, schema.float_values(raw["dur"], "duration").reasons, why)  # noqa: E711
    bad = why != None  # noqa: E711
    if bad.any():
        flags = None  # rows go: split_events computes them again
        for line, msg, n, reason in zip(raw["source_line"][bad], raw["message"][bad], raw["nlines"][bad],
                                        why[bad], strict=True):
            acc.skip(int(line), reason, str(msg), count=int(n))
        raw = raw[~bad]
    return split_events(raw, server=server, flags=flags)
