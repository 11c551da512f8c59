"""PostgreSQL logs inside an envelope: syslog, Heroku logplex, Google Cloud SQL, CloudNativePG,
and Amazon RDS's one-space severity, unwrapped line for line into the plain stderr or jsonlog
lines the readers read.

An envelope is recognised from the head (:func:`recognise`: most of the first lines are its
shape); each input line becomes exactly one plain line, so every reader, its accounting and its
``source_line`` numbers work unchanged on the unwrapped text (:func:`unwrap`), and a line that is
no PostgreSQL line of the envelope (another program's syslog line, an operator's own JSON message)
is passed on as it is, for the reader to count as skipped. The shapes, next to real lines
(pgBadger's test logs, whose ``-f`` names are given):

- ``syslog`` (``log_destination = syslog``; https://www.postgresql.org/docs/15/runtime-config-logging.html)::

      Feb 11 13:15:39 test-pc postgres[10808]: [1-1] db=,user=,app=,client= LOG:  listening on ...
      Feb 11 13:15:40 test-pc postgres[10819]: [7-2] #011       pg_catalog.pg_get_userbyid(...

  ``[N-M]``: line N of the session, piece M of one message. PostgreSQL sends a message's lines
  as pieces (``syslog_split_messages``): a DETAIL/STATEMENT/... line with the prefix, a
  continuation line (a TAB, which rsyslog writes ``#011``), or the rest of a line longer than
  syslog's 900-byte limit (cut at a space). The year is not written: the current one is taken
  (the previous one for a date later than tomorrow), and the time is UTC unless ``log_timezone``
  names the server's zone. ``syslog2``: the same with rsyslog's RFC 3339 time stamp.
- ``logplex`` (Heroku Postgres; log_line_prefix ``' sql_error_code = %e '``)::

      2019-03-14T00:22:56+00:00 app[postgres.4882]: [GREEN] [15-1]  sql_error_code = 00000 LOG:  ...

- ``cloudsql`` (Google Cloud Logging's export: one JSON entry per line, the server's line in
  ``textPayload`` with Cloud SQL's prefix ``[%p]: [%l-1] db=%d,user=%u ``, the time in
  ``timestamp``); ``cnpg`` (CloudNativePG: one JSON line per record, the csvlog columns under
  ``record``; its operator's other messages are not records) becomes jsonlog.
- ``rds-one-space``: ``LOG: duration: 0.054 ms statement: ...`` with one space where PostgreSQL
  writes two (seen in Amazon RDS/Aurora logs as users download them).

The unwrapped stderr lines start with ``%m [%p]: [%l-1] `` (syslog, logplex) or ``%m ``
(Cloud SQL) before the server's own log_line_prefix: :func:`unwrap` returns the prefix to read
them with when the caller names the server's.

Example::

    >>> env = recognise(["2019-03-14T00:22:56+00:00 app[postgres.4882]: [GREEN] [15-1]  "
    ...                  "sql_error_code = 00000 LOG:  duration: 1.5 ms  statement: SELECT 1"])
    >>> env.name, env.plain(env_state(env), "2019-03-14T00:22:56+00:00 app[postgres.4882]: [GREEN] "
    ...                     "[15-1]  sql_error_code = 00000 LOG:  duration: 1.5 ms  statement: SELECT 1")
    ('logplex', '2019-03-14 00:22:56.000 +0000 [4882]: [15-1]  sql_error_code = 00000 LOG:  duration: 1.5 ms  statement: SELECT 1')
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from ..sources import CHUNK_BYTES, HEAD_BYTES, Source

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                       "Oct", "Nov", "Dec"), 1)}
_ISO = r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))"
_MARKER = r"\[(?P<seq>\d+)-(?P<piece>\d+)\] "
_SYSLOG = re.compile(r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) \S+ "
                     r"[\w./-]+\[(?P<pid>\d+)\]: " + _MARKER + "(?P<rest>.*)", re.S)
_SYSLOG2 = re.compile(_ISO + r" \S+ [\w./-]+\[(?P<pid>\d+)\]: " + _MARKER + "(?P<rest>.*)", re.S)
_LOGPLEX = re.compile(_ISO + r" (?:\S+ )?app\[postgres\.(?P<pid>\d+)\]:? \[\w+\] " + _MARKER + "(?P<rest>.*)",
                      re.S)
_ISO_PARTS = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)")
# a message's later piece that is a line of its own: a secondary severity after the prefix
_SECONDARY_PIECE = re.compile(r"^.{0,300}?\b(?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  ", re.S)
# RDS: the prefix %t:%r:%u@%d:[%p]: and one space after the severity
_RDS_ONE_SPACE = re.compile(r"(?P<pre>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})? [^\s:]+:[^:\n]*:[^@\n]*@[^:\n]*:"
                            r"\[\d+\]:)(?P<sev>[A-Z]{3,9}): (?=\S)")
_RDS_MS = re.compile(r"^(duration: \d+(?:\.\d+)? ms) (?=(?:statement|parse|bind|execute|plan)\b)")


def _iso_stamp(iso: str) -> str:
    """``2019-03-14T00:22:56.38Z`` -> ``2019-03-14 00:22:56.380 UTC`` (%m, a zone PostgreSQL
    could print: UTC or ``+0100``)."""
    date, time, frac, zone = _ISO_PARTS.match(iso).groups()
    zone = "UTC" if zone == "Z" else zone.replace(":", "")
    return f"{date} {time}.{(frac or '').ljust(3, '0')[:3]} {zone}"


@dataclasses.dataclass
class State:
    """What unwrapping a file's lines needs beyond one line: the year of BSD syslog time stamps
    and the zone written for them."""

    today: datetime.date
    zone: str


def env_state(env: Envelope, log_timezone: str | None = None) -> State:
    """The :class:`State` for unwrapping a file now: syslog times are the server's local time,
    written with a zone that makes the readers take ``log_timezone`` (UTC when None)."""
    return State(datetime.date.today(), "LOCAL" if log_timezone else "UTC")


def _later_piece(rest: str) -> str | None:
    """A message's piece M > 1: a continuation line (TAB), or the rest of a long line (None: a
    line of its own, such as DETAIL)."""
    if rest.startswith("\t"):
        return rest
    if _SECONDARY_PIECE.match(rest):
        return None
    # the rest of a line over syslog's limit (PostgreSQL cut it at a space): a continuation
    # line, whose line break the readers fold into the text as whitespace
    return "\t" + rest


def _marked(m: re.Match, stamp: Callable[[], str | None]) -> str | None:
    """The plain line of a ``[N-M]``-marked line (``m``: its match, with ``pid``, ``seq``,
    ``piece`` and ``rest``): a continuation, or a line of its own of message N with the header
    ``stamp()`` (its %m; None: no time stamp, not a line of the envelope), ``[pid]:`` and
    ``[N-1]`` as pgBadger's ``[%l-1]``."""
    rest = m["rest"].replace("#011", "\t")
    if m["piece"] != "1":
        later = _later_piece(rest)
        if later is not None:
            return later
    header = stamp()
    return None if header is None else f"{header} [{m['pid']}]: [{m['seq']}-1] {rest}"


def _syslog_line(state: State, line: str) -> str | None:
    m = _SYSLOG.match(line)
    if m is None:
        return None

    def stamp() -> str | None:
        mon, day = _MONTHS.get(m["mon"]), int(m["day"])
        if mon is None:
            return None
        year = state.today.year
        if (mon, day) > (state.today.month, state.today.day + 1):
            year -= 1  # a date later than tomorrow: last year's
        return f"{year}-{mon:02d}-{day:02d} {m['time']}.000 {state.zone}"
    return _marked(m, stamp)


def _iso_marked(rx: re.Pattern) -> Callable[[State, str], str | None]:
    def plain(state: State, line: str) -> str | None:
        m = rx.match(line)
        return None if m is None else _marked(m, lambda: _iso_stamp(m["iso"]))
    return plain


def _json(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _cloudsql_line(state: State, line: str) -> str | None:
    obj = _json(line)
    if obj is None or "cloudsql.googleapis.com" not in str(obj.get("logName", "")):
        return None
    text, stamp = obj.get("textPayload"), obj.get("timestamp")
    if not isinstance(text, str) or not isinstance(stamp, str) or not _ISO_PARTS.match(stamp):
        return None
    text = text.replace("\n", " ")  # one line for one entry: a payload's own line breaks as spaces
    if text.startswith("\t"):  # a continuation line of the message before
        return text
    return f"{_iso_stamp(stamp)} {text}"


# CloudNativePG record keys (csvlog's column names) -> PostgreSQL jsonlog keys
_CNPG_KEYS = {"log_time": "timestamp", "user_name": "user", "database_name": "dbname",
              "process_id": "pid", "connection_from": "remote_host", "session_id": "session_id",
              "session_line_num": "line_num", "command_tag": "ps", "session_start_time": "session_start",
              "virtual_transaction_id": "vxid", "transaction_id": "txid", "error_severity": "error_severity",
              "sql_state_code": "state_code", "message": "message", "detail": "detail", "hint": "hint",
              "internal_query": "internal_query", "context": "context", "query": "statement",
              "application_name": "application_name", "backend_type": "backend_type", "query_id": "query_id"}
_CNPG_NUMBERS = ("pid", "query_id", "line_num")


def _cnpg_line(state: State, line: str) -> str | None:
    obj = _json(line)
    if obj is None or obj.get("logger") != "postgres" or not isinstance(obj.get("record"), dict):
        return None
    out: dict[str, Any] = {}
    for key, value in obj["record"].items():
        name = _CNPG_KEYS.get(key)
        if name is None or value in (None, ""):
            continue
        if name in _CNPG_NUMBERS and isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if name == "remote_host" and isinstance(value, str) and value[-1:].isdigit() and ":" in value:
            value = value.rsplit(":", 1)[0]  # host:port, as csvlog writes it
        out[name] = value
    if "timestamp" not in out or "error_severity" not in out:
        return None
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))  # as PostgreSQL writes it


def _rds_line(state: State, line: str) -> str | None:
    m = _RDS_ONE_SPACE.match(line)
    if m is None:
        return None
    message = _RDS_MS.sub(r"\1  ", line[m.end():], count=1)
    return f"{m['pre']}{m['sev']}:  {message}"


@dataclasses.dataclass(frozen=True)
class Envelope:
    """One envelope: ``plain(state, line)`` is the unwrapped line (None: not a PostgreSQL line
    of this envelope); ``format`` the format of the unwrapped lines; ``header`` the
    log_line_prefix escapes the unwrapped stderr lines start with before the server's own."""

    name: str
    format: str
    header: str
    plain: Callable[[State, str], str | None]
    description: str

    def prefix(self, server_prefix: str | None) -> str | None:
        """The log_line_prefix of the unwrapped lines, given the server's (None: detect it)."""
        if server_prefix is None or self.format != "postgres-stderr":
            return server_prefix
        return self.header + server_prefix


ENVELOPES = (
    Envelope("syslog", "postgres-stderr", "%m [%p]: [%l-1] ", _syslog_line,
             "syslog (log_destination = syslog), [N-M] continuation markers"),
    Envelope("syslog2", "postgres-stderr", "%m [%p]: [%l-1] ", _iso_marked(_SYSLOG2),
             "syslog with RFC 3339 time stamps (rsyslog), [N-M] continuation markers"),
    Envelope("logplex", "postgres-stderr", "%m [%p]: [%l-1] ", _iso_marked(_LOGPLEX),
             "Heroku logplex"),
    Envelope("cloudsql", "postgres-stderr", "%m ", _cloudsql_line,
             "Google Cloud SQL (Cloud Logging JSON, textPayload)"),
    Envelope("cnpg", "postgres-jsonlog", "", _cnpg_line, "CloudNativePG JSON (csvlog columns under record)"),
    Envelope("rds-one-space", "postgres-stderr", "", _rds_line,
             "Amazon RDS/Aurora lines with one space after the severity"),
)


def recognise(lines: list[str]) -> Envelope | None:
    """The envelope most of ``lines`` (the head of a file; blank lines aside) are in, or None."""
    lines = [ln for ln in lines[:200] if ln.strip()]
    if not lines:
        return None
    state = State(datetime.date.today(), "UTC")
    for env in ENVELOPES:
        hits = 0
        for k, line in enumerate(lines):
            if env.plain(state, line) is not None:
                hits += 1
            elif k >= 20 and hits == 0:
                break
        # most lines (a syslog file holds other programs' lines too)
        if hits * 2 > len(lines):
            return env
    return None


def unwrap_text(env: Envelope, state: State, text: str, *, drop: bool = False) -> str:
    """``text`` (whole lines) with each line unwrapped; a line that is not one of the envelope's
    stays as it is, or goes when ``drop`` (for sniffing: the other lines' shape is what counts)."""
    out = []
    lines = text.split("\n")
    last = lines.pop()  # "" after a final line break
    for line in lines:
        plain = env.plain(state, line)
        if plain is not None:
            out.append(plain)
        elif not drop:
            out.append(line)
    body = "".join(x + "\n" for x in out)
    if last:
        plain = env.plain(state, last)
        body += plain if plain is not None else ("" if drop else last)
    return body


def unwrapped_head(head: Any) -> Any:
    """A sniffer's :class:`toolkit.formats.Head` with its envelope taken off (the head itself
    when it is in none): the lines it holds in the envelope, unwrapped."""
    lines = head.text.split("\n")
    env = recognise(lines[:-1] if len(lines) > 1 else lines)
    if env is None:
        return head
    text = unwrap_text(env, env_state(env), head.text, drop=True)
    return dataclasses.replace(head, data=text.encode("utf-8", "surrogatepass"), text=text)


class Unwrapped(Source):
    """A :class:`~toolkit.sources.Source` whose text is unwrapped line for line (see the module
    docstring); everything else is the wrapped source's."""

    def __init__(self, src: Source, env: Envelope, state: State):  # noqa: D107 (no Source.__init__)
        self.__dict__.update(src.__dict__)
        self.wrapped, self.envelope, self.state = src, env, state

    def _text(self, text: str) -> str:
        return unwrap_text(self.envelope, self.state, text)

    def head(self, size: int = HEAD_BYTES) -> bytes:
        data = self.wrapped.head(size)
        self.head_error = self.wrapped.head_error
        text = data.decode("utf-8", "replace")
        if len(data) == size and "\n" in text:  # the last line of a head may be cut: unwrapped as is
            body, tail = text.rsplit("\n", 1)
            return (self._text(body + "\n") + tail).encode("utf-8", "surrogatepass")
        return self._text(text).encode("utf-8", "surrogatepass")

    def head_lines(self, *args: Any, **kwargs: Any) -> str:
        return self._text(self.wrapped.head_lines(*args, **kwargs))

    def iter_chunks(self, size: int = CHUNK_BYTES) -> Iterator[tuple[int, str]]:
        for first, text in self.wrapped.iter_chunks(size):
            yield first, self._text(text)

    def read_text(self) -> str:
        return self._text(self.wrapped.read_text())


def plain_text(src: Source, text: str) -> str:
    """``text`` (whole lines read from ``src`` around it) as the readers read it: unwrapped when
    ``src`` is :class:`Unwrapped`."""
    return src._text(text) if isinstance(src, Unwrapped) else text


def unwrap(src: Source, log_line_prefix: str | None = None,
           log_timezone: str | None = None) -> tuple[Source, str | None]:
    """``(source, log_line_prefix)`` to read ``src`` with: an :class:`Unwrapped` source and the
    prefix of its unwrapped lines when ``src`` is in an envelope, else both as given."""
    if isinstance(src, Unwrapped):
        return src, log_line_prefix
    text = src.head_lines()
    lines = text.split("\n")
    if len(text) >= HEAD_BYTES - 1 and len(lines) > 1:
        lines = lines[:-1]
    env = recognise(lines)
    if env is None:
        return src, log_line_prefix
    return Unwrapped(src, env, env_state(env, log_timezone)), env.prefix(log_line_prefix)


__all__ = ["ENVELOPES", "Envelope", "State", "Unwrapped", "env_state", "plain_text", "recognise", "unwrap",
           "unwrap_text", "unwrapped_head"]
