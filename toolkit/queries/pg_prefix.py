"""PostgreSQL's ``log_line_prefix`` compiled into a regular expression (the full scan, detection)
and into a program for the compiled scanner (:func:`prefix_program`, the hot path), and the
common prefixes.

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
from collections import Counter

from ..errors import LogFormatError

# Prefixes recognised without being told, most specific first (ties go to the earlier one):
# the packagers' defaults, the ones pgBadger's README recommends and its test logs use, and the
# ones users post. A line that several match goes to the one that matches the most lines.
KNOWN_PREFIXES = (
    "%m [%p] %q%u@%d ",                                   # Debian / Ubuntu packages
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",    # pgBadger's recommendation
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: db=%d,user=%u,app=%a,client=%h ",           # pgBadger t/fixtures/begin_end.log
    "%m [%p]: db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: [%l-1] [%x] usr=%u,db=%d,appli=%a ",        # pgBadger's README (param range)
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,host=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a ",       # pgBadger t/fixtures/pg_vacuums.log
    "%m [%p] user=%u,db=%d ",                             # pgBadger t/fixtures/multiline_param.log
    "%t [%p] user=%u,db=%d ",
    "%m [%p] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] ",
    "%m [%p]: [%l-1] ",
    "%t [%p-%l] %q%u@%d ",                                # older Debian packages
    "%m [%p-%l] %q%u@%d ",
    "%m [%p] %q[%u@%d] ",
    "%m [%p] %u@%d ",
    "%m [%p] %q%u@%d %r ",
    "%m [%p] %q%u@%d %h ",
    "%m [%p]: [%l-1]  sql_error_code = %e ",              # Heroku, as pg_envelope unwraps logplex
    "%t:%r:%u@%d:[%p]:",                                  # Amazon RDS / Aurora
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

_TZ = r"(?P<tz>[^\s\]:,]+|[+-]\d\d(?::?\d\d)?)"
_TS_MS = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) " + _TZ
_TS_S = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) " + _TZ
_ANY = r"[^\n]*?"
# %h and %r: "[local]" for unix-socket clients, an IPv4 or IPv6 address (scope id allowed), or a
# host name when log_hostname is on; empty for processes without a client.
_HOST = r"\[local\]|[0-9A-Za-z_.:%-]*"

ESCAPES = {
    "a": ("application", _ANY),
    "u": ("user", _ANY),
    "d": ("database", _ANY),
    "r": ("client", rf"(?P<client>{_HOST})(?:\(\d*\))?"),  # host(port): the port is dropped
    "h": ("client", _HOST),
    "b": ("backend_type", _ANY),       # "client backend", "autovacuum worker", "not initialized"
    "p": ("pid", r"\d+"),
    "P": ("leader_pid", r"\d*"),       # empty unless a parallel worker
    "t": ("ts", _TS_S),
    "m": ("ts", _TS_MS),
    "n": ("epoch", r"\d+\.\d{3}"),
    "i": ("command_tag", _ANY),        # "SELECT", "idle", "authentication", "" ...
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "c": ("session", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("session_line", r"\d+"),
    "s": ("session_start", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+"),
    "v": ("vxid", r"(?:\d+/-?\d+)?"),  # empty outside a backend
    "x": ("txid", r"\d*"),             # 0 without a transaction id
    "Q": ("query_id", r"-?\d+"),       # 0 unless compute_query_id
}
# Free-text escapes when padded (%-10u): the padding spaces are not part of the value.
_PADDED_ANY = r"(?:\S(?:[^\n]*?\S)?)?"

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
        if pad and rx == _ANY:
            rx = _PADDED_ANY
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


# ------------------------------------------------------------------------------ program

# The prefix as a program for the compiled scanner (toolkit/native/pgstderr.c), node for node the
# pattern prefix_pattern() writes, so the C matcher, trying alternatives in the order the regex
# engine does, finds the same fields: (0, text) a literal; (1, class, min, max, greedy) a class
# repeated (max -1: unbounded); (2, nodes) a sequence; (3, node) optional; (4, nodes)
# alternatives; (5, name, node) a captured field (its name becomes a slot number).
_DIGIT, _NOTNL, _HOSTC, _HEX, _UPDIG, _NOTSPACE, _TZC, _SPACE, _SIGN = range(9)


def _lit(text: str) -> tuple:
    return (0, text)


def _rep(cls: int, lo: int = 0, hi: int = -1, greedy: bool = True) -> tuple:
    return (1, cls, lo, hi, int(greedy))


def _seq(*nodes) -> tuple:
    return (2, tuple(nodes))


def _opt(node) -> tuple:
    return (3, node)


def _cap(name: str, node) -> tuple:
    return (5, name, node)


def _d(n: int) -> tuple:
    return _rep(_DIGIT, n, n)


_P_ANY = _rep(_NOTNL, 0, -1, greedy=False)                                        # [^\n]*?
_P_PADDED_ANY = _opt(_seq(_rep(_NOTSPACE, 1, 1),                                   # (?:\S(?:[^\n]*?\S)?)?
                          _opt(_seq(_P_ANY, _rep(_NOTSPACE, 1, 1)))))
_P_HOST = (4, (_lit("[local]"), _rep(_HOSTC)))                                     # _HOST
_P_TZ = _cap("tz", (4, (_rep(_TZC, 1), _seq(_rep(_SIGN, 1, 1), _d(2), _opt(_seq(_opt(_lit(":")), _d(2)))))))
_P_DATE = (_d(4), _lit("-"), _d(2), _lit("-"), _d(2), _lit(" "), _d(2), _lit(":"), _d(2), _lit(":"), _d(2))
_PROGRAMS = {
    "r": _seq(_cap("client", _P_HOST), _opt(_seq(_lit("("), _rep(_DIGIT), _lit(")")))),
    "h": _cap("client", _P_HOST),
    "p": _cap("pid", _rep(_DIGIT, 1)),
    "P": _cap("leader_pid", _rep(_DIGIT)),
    "t": _seq(_cap("ts", _seq(*_P_DATE)), _lit(" "), _P_TZ),
    "m": _seq(_cap("ts", _seq(*_P_DATE, _lit("."), _d(3))), _lit(" "), _P_TZ),
    "n": _cap("epoch", _seq(_rep(_DIGIT, 1), _lit("."), _d(3))),
    "e": _cap("sqlstate", _rep(_UPDIG, 5, 5)),
    "c": _cap("session", _seq(_rep(_HEX, 1), _lit("."), _rep(_HEX, 1))),
    "l": _cap("session_line", _rep(_DIGIT, 1)),
    "s": _cap("session_start", _seq(*_P_DATE, _lit(" "), _rep(_NOTSPACE, 1))),
    "v": _cap("vxid", _opt(_seq(_rep(_DIGIT, 1), _lit("/"), _opt(_lit("-")), _rep(_DIGIT, 1)))),
    "x": _cap("txid", _rep(_DIGIT)),
    "Q": _cap("query_id", _seq(_opt(_lit("-")), _rep(_DIGIT, 1))),
}


def _uncaptured(node, names: set[str]) -> tuple:
    """``node`` without the captures of ``names`` (a second %t/%m/%h/...: matched, not captured)."""
    kind = node[0]
    if kind == 5:
        inner = _uncaptured(node[2], names)
        return inner if node[1] in names else (5, node[1], inner)
    if kind in (2, 4):
        return (kind, tuple(_uncaptured(k, names) for k in node[1]))
    if kind == 3:
        return (3, _uncaptured(node[1], names))
    return node


def _captured(node) -> set[str]:
    kind = node[0]
    if kind == 5:
        return {node[1]} | _captured(node[2])
    if kind in (2, 4):
        return set().union(*map(_captured, node[1]))
    return _captured(node[1]) if kind == 3 else set()


def _slotted(node, slots: dict[str, int]) -> tuple:
    kind = node[0]
    if kind == 5:
        return (5, slots.setdefault(node[1], len(slots)), _slotted(node[2], slots))
    if kind in (2, 4):
        return (kind, tuple(_slotted(k, slots) for k in node[1]))
    if kind == 3:
        return (3, _slotted(node[1], slots))
    return node


def prefix_program(prefix: str) -> tuple[tuple, dict[str, int]]:
    """``(program, slots)``: ``prefix`` as the compiled scanner's program (the nodes above: what
    :func:`prefix_pattern` writes as a regular expression, the same escapes, the same order of
    alternatives) and the slot of each field it captures (``ts``, ``tz``, ``pid``, ``user``, ...).
    A prefix holding a line break, or longer than 1000 characters, has no program (ValueError):
    a stderr record line never starts with the one, and the matcher's depth grows with the other."""
    if "\n" in prefix or len(prefix) > 1000:
        raise ValueError("a log_line_prefix with a line break, or over 1000 characters")
    parts: list[tuple] = []
    optional_from: int | None = None
    seen: set[str] = set()
    pos = 0
    for m in _ESCAPE_RE.finditer(prefix):
        if m.start() > pos:
            parts.append(_lit(prefix[pos:m.start()]))
        pos = m.end()
        pad, esc = m.group(1), m.group(2)
        if esc == "%":
            parts.append(_lit("%"))
            continue
        if esc == "q":
            optional_from = len(parts)
            continue
        if esc not in ESCAPES:
            prefix_pattern(prefix)  # (raises the LogFormatError naming the escape)
        name, rx = ESCAPES[esc]
        if rx == _ANY:
            node = _cap(name, _P_PADDED_ANY if pad else _P_ANY)
        else:
            node = _PROGRAMS[esc]
        names = _captured(node)
        if names & seen:
            node = _uncaptured(node, names & seen | names)
        seen |= names
        if pad:
            node = _seq(_rep(_SPACE), node, _rep(_SPACE))
        parts.append(node)
    if pos < len(prefix):
        parts.append(_lit(prefix[pos:]))
    if optional_from is not None:
        parts[optional_from:] = [_opt(_seq(*parts[optional_from:]))]
    slots: dict[str, int] = {}
    return _slotted(_seq(*parts), slots), slots


def compile_prefix(prefix: str) -> re.Pattern:
    """A pattern matching one log line: the prefix, ``severity`` and ``message`` (rest of line)."""
    try:
        return re.compile(prefix_pattern(prefix) + SEVERITY_RE + r"(?P<message>[^\n]*)")
    except re.error as exc:
        raise LogFormatError(f"log_line_prefix {prefix!r} cannot be compiled: {exc}") from exc


_COMPILED = [(p, compile_prefix(p)) for p in KNOWN_PREFIXES]


def _record_lines(lines: list[str]) -> list[str]:
    """The lines that start a record: not continuation lines (tab) and not blank."""
    return [line for line in lines if line.strip() and not line.startswith("\t")]


_FREE_TEXT = ("user", "database", "application", "command_tag", "backend_type")


def _score(rx: re.Pattern, records: list[str]) -> tuple[int, int]:
    """How many of ``records`` ``rx`` matches with an English severity and plausible values,
    and minus the characters its free-text fields (user, database, ...) took, so that of two
    prefixes matching as many lines the one that names more of each line wins (``%u@%d %r``
    over ``%u@%d`` whose database would be "app [local]"). A free-text value holding ``=`` has
    swallowed what a longer prefix names (``user=%u,db=%d `` on ``user=u,db=d,app=a`` lines),
    so that line does not count; so does a user or database name holding a space (a bare value
    that follows them: ``%u@%d`` on ``u@db psql`` lines)."""
    free = [g for g in _FREE_TEXT if g in rx.groupindex]
    names = [g for g in ("user", "database") if g in rx.groupindex]
    hits = chars = 0
    for line in records:
        m = rx.match(line)
        if m is None or m["severity"] not in SEVERITIES:
            continue
        values = [m[g] or "" for g in free]
        if any("=" in v for v in values) or any(" " in (m[g] or "") for g in names):
            continue
        hits += 1
        chars += sum(map(len, values))
    return hits, -chars


def _hits(rx: re.Pattern, records: list[str]) -> int:
    return _score(rx, records)[0]


def detect_prefix(lines: list[str]) -> str | None:
    """The ``log_line_prefix`` of a stderr log, from its first lines; None when unsure.

    First the known prefixes (:data:`KNOWN_PREFIXES`): the one matching the most record lines
    (continuation and blank lines ignored), if it matches at least half of them with an English
    severity. Failing those, a prefix inferred from the lines' shape (:func:`infer_prefix`),
    which must match at least 80% of them. Give it the first few hundred lines: every
    candidate is tried on every line.
    """
    records = _record_lines(lines)
    if not records:
        return None
    best, best_score = None, (0, 0)
    for prefix, rx in _COMPILED:
        score = _score(rx, records)
        if score > best_score:
            best, best_score = prefix, score
    if best is not None and best_score[0] * 2 >= len(records):
        return best
    return infer_prefix(records)


# ------------------------------------------------------------------------------ inference

# The severity that ends a prefix: the first English severity word followed by ':  '.
_SEVERITY_AT = re.compile(r"(?<![\w@=])(?:" + "|".join(sorted(SEVERITIES, key=len, reverse=True))
                          + r"):  ")

# key=value keys users write, to the escape they stand for.
_KEYS = {
    "user": "u", "usr": "u", "u": "u", "username": "u", "role": "u",
    "db": "d", "database": "d", "dbname": "d",
    "app": "a", "appli": "a", "application": "a", "application_name": "a", "appname": "a",
    "client": "h", "host": "h", "remote": "h", "client_addr": "h", "clientip": "h", "ip": "h",
    "pid": "p", "xid": "x", "txid": "x", "vxid": "v", "session": "c", "sess": "c",
    "line": "l", "sqlstate": "e", "queryid": "Q", "query_id": "Q", "backend": "b",
}
_IP = r"\[local\]|\d{1,3}(?:\.\d{1,3}){3}|(?!:::)[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*|localhost"
# One value token of a prefix, tried in this order at each position; what none matches is literal.
_TOKENS = re.compile(
    r"(?P<m>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (?:[A-Za-z]{2,6}|[+-]\d\d(?::?\d\d)?))"
    r"|(?P<t>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?:[A-Za-z]{2,6}|[+-]\d\d(?::?\d\d)?))"
    r"|(?P<n>\d{10}\.\d{3})"
    r"|\[(?P<pid_line>\d+-\d+)\]"
    r"|\[(?P<num>\d+)\]"
    r"|(?P<kv>(?P<key>[A-Za-z_]+)=(?P<val>\[local\]|\[unknown\]|[^,\s\]]*))"
    r"|(?P<userdb>[\w.$-]*|\[unknown\])@(?P<db>[\w.$-]*|\[unknown\])(?=[\s:\]]|$)"
    rf"|(?P<r>(?:{_IP})\(\d+\))"
    rf"|(?P<h>(?:{_IP}))(?=[\s:,\]]|$)"
    r"|(?P<c>[0-9a-f]{6,8}\.[0-9a-f]+)(?=\s|$)"
)


def _shape(pre: str) -> list[str] | None:
    """The prefix text ``pre`` (what precedes the severity) as a list of prefix pieces (escapes
    and literals), or None when a piece is not one of the known shapes."""
    out: list[str] = []
    pos, numbers = 0, 0
    for m in _TOKENS.finditer(pre):
        lit = pre[pos:m.start()]
        if lit.strip(" :[]-|,/") or re.search(r"\d", lit):
            return None  # an unrecognised value between tokens
        if lit:
            out.append(lit.replace("%", "%%"))
        pos = m.end()
        kind = m.lastgroup
        if kind in ("m", "t", "n", "r", "h", "c"):
            out.append("%" + kind)
        elif kind == "pid_line":
            # "[pid-line]" (old Debian %p-%l) or, after a [pid], pgBadger's "[%l-1]"
            out.append("[%l-1]" if numbers and m["pid_line"].endswith("-1") else "[%p-%l]")
            numbers += 1
        elif kind == "num":
            if len(out) >= 2 and out[-2] == "[%l-1]" and not out[-1].strip():
                out.append("[%x]")  # pgBadger's "[%l-1] [%x]"
            elif numbers:
                return None  # another bracketed number: not guessed
            else:
                out.append("[%p]")
            numbers += 1
        elif kind == "kv":
            esc = _KEYS.get(m["key"].lower())
            if esc is None:
                return None
            if esc == "h" and re.search(r"\(\d+\)$", m["val"]):
                esc = "r"
            out.append(f"{m['key']}=%{esc}")
        elif kind in ("userdb", "db"):
            out.append("%u@%d")
    tail = pre[pos:]
    if tail.strip(" :[]-|,/"):
        return None
    if tail:
        out.append(tail)
    return out


def infer_prefix(records: list[str]) -> str | None:
    """A prefix built from the shape of record lines, or None when none fits 80% of them.

    Each line's text before its severity (``LOG:  ``, ``ERROR:  ``, ...) is read as a sequence
    of time stamps (``%m``, ``%t``, ``%n``), ``[pid]``, ``[pid-line]`` / ``[line-1]`` (then
    ``[xid]``), ``key=value`` with known keys (user, db, app, client, ...), ``user@db``, client
    addresses (``%h``, ``%r`` with a port) and session ids, joined by punctuation. The commonest
    shapes are the candidates, each also with ``%q`` where a shorter shape (a background
    process's line) stops; the candidate matching the most lines wins, the longer on a tie.
    """
    shapes: Counter[tuple[str, ...]] = Counter()
    for line in records:
        m = _SEVERITY_AT.search(line)
        if m is None or m.start() > 300:
            continue
        shape = _shape(line[:m.start()])
        if shape is not None:
            shapes[tuple(shape)] += 1
    common = [shape for shape, _ in shapes.most_common(6)]
    candidates = set()
    for main in common:
        candidates.add("".join(main))
        for short in common:  # a shorter shape that is main's beginning: %q where it stops
            k = len(short)
            if k < len(main) and main[:k - 1] == short[:-1] and short[-1].strip() == "" \
                    and main[k - 1] == short[-1]:
                candidates.add("".join(main[:k]) + "%q" + "".join(main[k:]))
    best, best_hits = None, 0
    for prefix in sorted(candidates, key=len, reverse=True):
        try:
            hits = _hits(compile_prefix(prefix), records)
        except LogFormatError:
            continue
        if hits > best_hits:
            best, best_hits = prefix, hits
    return best if best_hits >= 0.8 * len(records) else None


# ------------------------------------------------------------------------------ messages

def check_prefix(prefix: str, lines: list[str], name: str) -> None:
    """Raise a LogFormatError when an explicit ``prefix`` matches none of ``lines`` (the head of
    file ``name``): the error shows the first line, the prefix and the pattern it became, and
    the prefix detected from the lines if there is one. A prefix matching some lines passes
    (lines it does not match are the reader's to count as skipped)."""
    rx = compile_prefix(prefix)
    records = _record_lines(lines)
    if not records or any(rx.match(line) for line in records):
        return
    found = detect_prefix(lines)
    hint = (f" This log looks written with log_line_prefix={found!r}." if found
            else " Run 'SHOW log_line_prefix;' on the server and pass that.")
    raise LogFormatError(
        f"{name}: log_line_prefix={prefix!r} matches none of the first {len(records)} lines; "
        f"first line: {records[0][:200]!r}; expected the prefix as the pattern "
        f"{prefix_pattern(prefix)!r} followed by a severity such as 'LOG:  '.{hint}")


def unknown_prefix_error(name: str, first_line: str) -> LogFormatError:
    return LogFormatError(
        f"{name}: the log_line_prefix of this PostgreSQL log is not one of the common ones; "
        f"first line: {first_line[:200]!r}. Pass it as log_line_prefix='...' (run "
        "'SHOW log_line_prefix;' on the server), e.g. tk.read_queries(path, "
        "log_line_prefix='%m [%p] %q%u@%d ')")
