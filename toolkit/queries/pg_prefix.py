"""PostgreSQL's ``log_line_prefix`` compiled into a regular expression, and the common prefixes.

Reference (PostgreSQL 15): https://www.postgresql.org/docs/15/runtime-config-logging.html#GUC-LOG-LINE-PREFIX

Each ``%`` escape becomes a named group (``ts``/``tz`` for ``%m``/``%t``, ``pid`` for ``%p``,
``user``, ``database``, ``application``, ``client``, ``session`` for ``%c``, ...); other text
is literal. ``%q`` makes the rest of the prefix optional: non-session processes (checkpointer,
autovacuum, the postmaster) stop the prefix there, e.g. with Debian's ``%m [%p] %q%u@%d ``::

    2026-11-26 05:09:21.116 UTC [11948] LOG:  database system is ready to accept connections
    2026-11-26 05:09:21.825 UTC [11999] postgres@app LOG:  connection authorized: user=postgres ...

Padding (``%-10u``, ``%10p``, PostgreSQL 13+) pads with spaces, so padded escapes also take the
surrounding spaces. Fields that may hold any text (user, database, application, command tag)
match lazily up to the literal that follows them, which is how PostgreSQL itself would have to
split them.

Example::

    >>> rx = compile_prefix("%m [%p] %q%u@%d ")
    >>> m = rx.match("2026-11-26 05:09:21.825 UTC [11999] postgres@app LOG:  statement: SELECT 1")
    >>> m["ts"], m["tz"], m["pid"], m["user"], m["database"], m["severity"], m["message"]
    ('2026-11-26 05:09:21.825', 'UTC', '11999', 'postgres', 'app', 'LOG', 'statement: SELECT 1')
"""

from __future__ import annotations

import re

from ..errors import LogFormatError

# Prefixes recognised without being told, most specific first (ties go to the earlier one).
KNOWN_PREFIXES = (
    "%m [%p] %q%u@%d ",                                   # Debian / Ubuntu packages
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",    # pgBadger's recommendation
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] ",
    "%m [%p]: [%l-1] ",
    "%t [%p-%l] %q%u@%d ",                                # older Debian packages
    "%m [%p-%l] %q%u@%d ",
    "%m [%p] %q[%u@%d] ",
    "%m [%p] %u@%d ",
    "%t:%r:%u@%d:[%p]:",                                  # Amazon RDS
    "%m:%r:%u@%d:[%p]:",
    "%m [%p] ",                                           # PostgreSQL's own default (13+)
    "%t [%p] ",
    "%m [%p] %q%u@%d/%a ",
    "%m %c %u %d ",
)

SEVERITIES = ("LOG", "ERROR", "WARNING", "FATAL", "PANIC", "NOTICE", "INFO", "DEBUG", "DEBUG1",
              "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "DETAIL", "HINT", "CONTEXT", "STATEMENT",
              "QUERY", "LOCATION")

# A severity word in any language: upper-case letters (translated logs say FEHLER, ERREUR, ...),
# then ':' and the two spaces PostgreSQL always writes before the message.
SEVERITY_RE = r"(?P<severity>[^\W\d_a-z]{2,12}[1-5]?):  "

_TS_MS = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (?P<tz>[^\s\]:,]+|[+-]\d\d(?::?\d\d)?)"
_TS_S = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<tz>[^\s\]:,]+|[+-]\d\d(?::?\d\d)?)"
_ANY = r"[^\n]*?"

ESCAPES = {
    "a": ("application", _ANY),
    "u": ("user", _ANY),
    "d": ("database", _ANY),
    "r": ("client", r"(?P<client>[^\s(]*)(?:\(\d*\))?"),  # host(port): the port is dropped
    "h": ("client", r"[^\s,\]:]*"),
    "b": ("backend_type", _ANY),
    "p": ("pid", r"\d+"),
    "P": ("leader_pid", r"\d*"),
    "t": ("ts", _TS_S),
    "m": ("ts", _TS_MS),
    "n": ("epoch", r"\d+\.\d{3}"),
    "i": ("command_tag", _ANY),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "c": ("session", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("session_line", r"\d+"),
    "s": ("session_start", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+"),
    "v": ("vxid", r"[^\s\]]*"),
    "x": ("txid", r"\d*"),
    "Q": ("query_id", r"-?\d+"),
}

_ESCAPE_RE = re.compile(r"%(-?\d+)?(.)")


def prefix_pattern(prefix: str) -> str:
    """The regular expression source of ``prefix`` (no anchors, no severity)."""
    parts: list[str] = []
    optional_from: int | None = None
    seen: set[str] = set()
    pos = 0
    for m in _ESCAPE_RE.finditer(prefix):
        parts.append(re.escape(prefix[pos:m.start()]))
        pos = m.end()
        pad, esc = m.group(1), m.group(2)
        if esc == "%":
            parts.append("%")
            continue
        if esc == "q":
            optional_from = len(parts)
            continue
        if esc not in ESCAPES:
            raise LogFormatError(f"log_line_prefix {prefix!r}: unknown escape %{esc}; known: "
                                 + " ".join("%" + e for e in sorted(ESCAPES)) + " %q %%")
        name, rx = ESCAPES[esc]
        src = rx if rx.startswith("(?P<") else f"(?P<{name}>{rx})"
        names = set(re.findall(r"\(\?P<(\w+)>", src))
        if names & seen:  # a second %t/%m/%h/...: matched, not captured
            src = re.sub(r"\(\?P<\w+>", "(?:", src)
        seen |= names
        if pad:
            src = f" *{src} *"
        parts.append(src)
    parts.append(re.escape(prefix[pos:]))
    if optional_from is not None:
        parts[optional_from:] = ["(?:" + "".join(parts[optional_from:]) + ")?"]
    return "".join(parts)


def compile_prefix(prefix: str) -> re.Pattern:
    """A pattern matching one log line: the prefix, ``severity`` and ``message`` (rest of line)."""
    try:
        return re.compile(prefix_pattern(prefix) + SEVERITY_RE + r"(?P<message>[^\n]*)")
    except re.error as exc:
        raise LogFormatError(f"log_line_prefix {prefix!r} cannot be compiled: {exc}") from exc


_COMPILED = [(p, compile_prefix(p)) for p in KNOWN_PREFIXES]


def detect_prefix(lines: list[str]) -> str | None:
    """The known prefix matching the most of ``lines`` (continuation lines ignored), or None.

    A prefix must match at least half of the record lines, and with an English severity.
    """
    records = [line for line in lines if line and not line.startswith("\t")]
    if not records:
        return None
    best, best_hits = None, 0
    for prefix, rx in _COMPILED:
        hits = 0
        for line in records:
            m = rx.match(line)
            if m and m["severity"] in SEVERITIES:
                hits += 1
        if hits > best_hits:
            best, best_hits = prefix, hits
    if best is None or best_hits * 2 < len(records):
        return None
    return best


def unknown_prefix_error(name: str, first_line: str) -> LogFormatError:
    return LogFormatError(
        f"{name}: the log_line_prefix of this PostgreSQL log is not one of the common ones; "
        f"first line: {first_line[:200]!r}. Pass it as log_line_prefix='...' (run "
        "'SHOW log_line_prefix;' on the server), e.g. tk.read_queries(path, "
        "log_line_prefix='%m [%p] %q%u@%d ')")
