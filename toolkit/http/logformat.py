"""Compile an nginx ``log_format`` string into ONE line pattern and typed columns.

Reference: nginx 1.22 ``ngx_http_log_module`` (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format)
and the variable index (https://nginx.org/en/docs/varindex.html). Apache ``LogFormat`` strings are
translated to the same :class:`Field` list by :mod:`toolkit.http.apache`.

The pattern matches one whole line. It has two forms, one the statement of the other:

- ``CompiledFormat.atoms``: the literals and value patterns in order, each value pattern one of a
  few kinds (:func:`native_atoms`), which the compiled scanner (:mod:`toolkit.native.accesslog`)
  matches every line with, in C, trying each pattern's candidates in the regex's order;
- ``CompiledFormat.regex``: the same as a regular expression, ``^(?:FIELDS|(.*))$`` (the last
  group, the whole line, filled only when the line does not match), which reads the rare lines
  the C pass leaves undecided (:func:`toolkit.http.scanner._groups` says which) and states the
  rule its tests hold the C pass to.

Quirks, each next to what nginx writes:

- ``escape=default``: ``"`` ``\\`` and bytes outside 0x20-0x7E are written as ``\\xHH``::

      "GET /api/search?q=\\x22quoted\\x22&name=caf\\xC3\\xA9 HTTP/1.1"

  so a quoted value never holds a raw ``"``; the reader decodes ``\\xHH`` runs as UTF-8.
- ``escape=json``: ``"`` and ``\\`` become ``\\"`` and ``\\\\``, control bytes ``\\u00HH``.
- An empty variable is written as ``-`` (``escape=json``: as an empty string).
- ``$upstream_response_time`` and the other ``$upstream_*`` lists: ``0.010, 0.020`` (", " between
  servers of one upstream, " : " between upstream groups after an internal redirect), or ``-``.

Example::

    >>> fmt = compile_log_format('$remote_addr [$time_local] "$request" $status $request_time')
    >>> [f.column for f in fmt.fields]
    ['client', 'timestamp', 'request', 'status', 'request_time_s']
"""

from __future__ import annotations

import dataclasses
import re

from ..errors import LogFormatError

COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
            '"$http_referer" "$http_user_agent"')
# nginx's built-in "combined"; Debian's nginx.conf and most images call their variant "main".
MAIN = COMBINED + ' "$http_x_forwarded_for"'
NAMED_FORMATS = {"combined": COMBINED, "main": MAIN}

# Variables of nginx 1.22's http modules (core, log, upstream, gzip, realip, ssl, geoip, ...).
KNOWN_VARIABLES = frozenset("""
args binary_remote_addr body_bytes_sent bytes_sent connection connection_requests connection_time
content_length content_type document_root document_uri host hostname https is_args limit_rate
msec nginx_version pid pipe proxy_add_x_forwarded_for proxy_host proxy_port proxy_protocol_addr
proxy_protocol_port proxy_protocol_server_addr proxy_protocol_server_port query_string
realpath_root remote_addr remote_port remote_user request request_body request_body_file
request_completion request_filename request_id request_length request_method request_time
request_uri scheme server_addr server_name server_port server_protocol status tcpinfo_rtt
tcpinfo_rttvar tcpinfo_snd_cwnd tcpinfo_rcv_space time_iso8601 time_local uri upstream_addr
upstream_bytes_received upstream_bytes_sent upstream_cache_status upstream_connect_time
upstream_header_time upstream_queue_time upstream_response_length upstream_response_time
upstream_status gzip_ratio realip_remote_addr realip_remote_port ssl_protocol ssl_cipher
ssl_ciphers ssl_curves ssl_session_id ssl_session_reused ssl_server_name ssl_early_data
ssl_client_verify ssl_client_s_dn ssl_client_i_dn ssl_client_serial ssl_client_fingerprint
http2 http3 limit_req_status limit_conn_status secure_link secure_link_expires
geoip_country_code geoip_country_name geoip_city geoip_region geoip_latitude geoip_longitude
geoip_org geoip_area_code geoip_postal_code invalid_referer uid_got uid_set uid_reset
""".split())
KNOWN_PREFIXES = ("http_", "sent_http_", "sent_trailer_", "cookie_", "arg_", "upstream_http_",
                  "upstream_cookie_", "upstream_trailer_")

INT_VARIABLES = frozenset({"status", "body_bytes_sent", "bytes_sent", "request_length", "connection",
                           "connection_requests", "remote_port", "server_port", "pid",
                           "content_length", "realip_remote_port", "proxy_protocol_port",
                           "tcpinfo_rtt", "tcpinfo_rttvar", "tcpinfo_snd_cwnd", "tcpinfo_rcv_space",
                           "sent_http_content_length"})
FLOAT_VARIABLES = frozenset({"request_time", "msec", "gzip_ratio", "connection_time"})
# Comma / colon separated per-try lists: kept as raw text (``upstream_response_time`` is summed).
LIST_VARIABLES = frozenset({"upstream_addr", "upstream_status", "upstream_response_time",
                            "upstream_connect_time", "upstream_header_time", "upstream_queue_time",
                            "upstream_response_length", "upstream_bytes_received",
                            "upstream_bytes_sent"})
TIME_VARIABLES = ("msec", "time_iso8601", "time_local")  # best resolution first

# nginx variable -> canonical http_requests column (toolkit.schema); the rest keep their name.
CANONICAL = {"remote_addr": "client", "request_time": "request_time_s",
             "http_referer": "referer", "http_user_agent": "user_agent",
             "request_method": "method", "request_uri": "url", "uri": "path",
             "args": "query", "query_string": "query", "server_protocol": "protocol",
             "msec": "timestamp", "time_iso8601": "timestamp", "time_local": "timestamp"}

_NUM = r"[0-9.]*+|-"
_INT = r"-?[0-9]++|-"
_TIME_LOCAL = r"\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"
_TIME_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)"
_LIST_UNQUOTED = r"-|[^ ,\n]++(?:(?:, | : )[^ ,\n]++)*+"
# Quoted values: default escaping never leaves a raw quote inside; JSON escaping uses \".
# Quoted values: nginx's default escaping never leaves a raw quote or backslash inside (both are
# written \xHH); JSON escaping and Apache write \" and \\. The backslash-aware pattern fits all
# three, so a combined log written by either server reads with the same format.
# The fast pattern for nginx's default escaping is used first; a line it rejects that holds a
# backslash is tried again with the tolerant variant (CompiledFormat.tolerant).
_QUOTED_VALUE = r'(?:[^"\\\n]++|\\.)*+'
_QUOTED = {"default": r'[^"\n]*+', "json": _QUOTED_VALUE, "none": r'[^"\n]*+', "apache": _QUOTED_VALUE}
_TOKEN = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_DIRECTIVE = re.compile(r"^\s*log_format\s+(\S+)((?:\s+escape=\S+)?)\s+(.*?);?\s*$", re.S)


@dataclasses.dataclass(frozen=True)
class Field:
    """One variable of a format: where its value lands and how it is typed.

    ``kind`` is one of: str, int, float, list (raw text), time_local, time_iso8601, msec,
    time_apache (``[%d/%b/%Y:%H:%M:%S %z]``), request (split into method/url/path/query/protocol),
    usec / msec_int (durations in micro / milliseconds, converted to seconds), sec (seconds),
    bytes_dash (Apache ``%b``: ``-`` means 0), token (text without spaces, even as the last field:
    the unnamed extra fields of :mod:`toolkit.http.dialects`).
    """

    variable: str
    column: str
    kind: str


@dataclasses.dataclass(frozen=True)
class CompiledFormat:
    """A compiled log format: ``regex`` matches one line; group i+1 belongs to ``groups[i]``."""

    name: str
    source: str
    escape: str
    fields: tuple[Field, ...]
    regex: str
    groups: tuple[str, ...]  # group names in findall order; the last is "_line" (unmatched)
    tokens: tuple[tuple[str, str], ...] = ()
    capture: frozenset[str] | None = None
    is_tolerant: bool = False
    joined: bool = False
    # The line pattern as the compiled scanner's atoms (see :func:`native_atoms`): what
    # toolkit.native.accesslog matches each line with; None when a pattern has no atom.
    atoms: tuple[tuple[int, bytes, int, int], ...] | None = None

    def only(self, columns: set[str] | frozenset[str], *, joined: bool = False) -> CompiledFormat:
        """The same format capturing only what ``columns`` need (plus the timestamp).

        ``joined=True`` (for aggregates that work on distinct values) captures fewer, wider
        groups, each string costing time per line: two integers separated by one space
        (``$status $body_bytes_sent``) as one group ``fA__fB``."""
        return build(list(self.tokens), list(self.fields), name=self.name, source=self.source,
                     escape=self.escape, capture=frozenset(columns) | {"timestamp"}, joined=joined)

    def tolerant(self) -> CompiledFormat:
        """The same groups, with quoted values that may hold ``\\"`` and ``\\\\`` (Apache's and
        JSON's escapes): for lines the fast default pattern rejected."""
        return build(list(self.tokens), list(self.fields), name=self.name, source=self.source,
                     escape=self.escape, capture=self.capture, tolerant=True, joined=self.joined)

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.regex)


_CACHE: dict[str, re.Pattern] = {}


def _compiled(regex: str) -> re.Pattern:
    pat = _CACHE.get(regex)
    if pat is None:
        pat = _CACHE[regex] = re.compile(regex, re.M)
    return pat


def parse_directive(text: str) -> tuple[str | None, str, str]:
    """Accept a pasted ``log_format name [escape=..] '...' '...';`` directive or a bare format.

    Returns (name, escape, format string). Quoted pieces (single or double quotes) are joined.
    """
    text = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")).strip()
    m = _DIRECTIVE.match(text)
    if not m:
        return None, "default", text
    name, esc, body = m.group(1), m.group(2).strip(), m.group(3).strip()
    escape = esc.split("=", 1)[1] if esc else "default"
    pieces = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", body)
    if not pieces:
        raise LogFormatError(f"log_format {name}: expected quoted format strings, got {body[:80]!r}")
    return name, escape, "".join(a or b for a, b in pieces)


def column_for(var: str) -> tuple[str, str]:
    """(column, kind) for an nginx variable."""
    if var in ("time_local", "time_iso8601", "msec"):
        return "timestamp", var
    if var == "request":
        return "request", "request"
    if var in LIST_VARIABLES:
        return var, "list"
    if var == "body_bytes_sent":  # nginx writes 0; Apache's %b (same column) writes "-" for 0
        return var, "bytes_dash"
    kind = "int" if var in INT_VARIABLES else "float" if var in FLOAT_VARIABLES else "str"
    return CANONICAL.get(var, var), kind


def compile_log_format(log_format: str, *, escape: str | None = None, name: str | None = None,
                       variables: tuple[str, ...] = ()) -> CompiledFormat:
    """Compile an nginx ``log_format`` (a name like ``combined``, a format string, or a pasted
    ``log_format`` directive) into a :class:`CompiledFormat`.

    ``variables`` declares extra variable names (from ``map`` / ``set``) as known strings.
    Raises :class:`LogFormatError` for an unknown variable, unbalanced quotes or an empty format.
    """
    fmt_name, dir_escape, text = parse_directive(log_format)
    if text in NAMED_FORMATS:
        fmt_name, text = text, NAMED_FORMATS[text]
    escape = escape or dir_escape
    if escape not in ("default", "json", "none"):
        raise LogFormatError(f"escape must be default, json or none, not {escape!r}")
    tokens: list[tuple[str, str]] = []  # ("lit", text) / ("var", name)
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            tokens.append(("lit", text[pos:m.start()]))
        tokens.append(("var", m.group(1) or m.group(2)))
        pos = m.end()
    if pos < len(text):
        tokens.append(("lit", text[pos:]))
    if not any(t == "var" for t, _ in tokens):
        raise LogFormatError(f"log format {text[:80]!r} has no $variables")
    if "$" in "".join(v for t, v in tokens if t == "lit"):
        raise LogFormatError(f"log format {text[:80]!r}: a '$' not followed by a variable name")
    quotes = sum(v.count('"') for t, v in tokens if t == "lit")
    if quotes % 2:
        raise LogFormatError(f"log format {text[:80]!r} has unbalanced double quotes ({quotes})")
    extra = set(variables)
    for t, v in tokens:
        if t == "var" and v not in KNOWN_VARIABLES and v not in extra and not v.startswith(KNOWN_PREFIXES):
            raise LogFormatError(f"unknown nginx variable ${v} in log format; pass "
                                 f"variables=({v!r},) if it comes from map/set")
    fields = [Field(v, *column_for(v)) for t, v in tokens if t == "var"]
    return build(tokens, fields, name=fmt_name or "nginx", source=text, escape=escape)


def build(tokens: list[tuple[str, str]], fields: list[Field], *, name: str, source: str,
          escape: str, capture: frozenset[str] | None = None, tolerant: bool = False,
          joined: bool = False) -> CompiledFormat:
    """Turn tokens (literals and variables, with ``fields`` in variable order) into the line regex.

    ``capture`` (column names) limits the capturing groups to what a caller needs: every
    capture costs a string per line, so a streaming aggregate reads faster with fewer.
    """
    parts: list[str] = []
    groups: list[str] = []
    in_quotes = False
    fi = 0
    pattern_escape = "apache" if tolerant else escape

    def grp(group: str, pattern: str, wanted: bool) -> str:
        if not wanted:
            return f"(?:{pattern})"
        groups.append(group)
        return f"(?P<{group}>{pattern})"

    def want(column: str) -> bool:
        return capture is None or column in capture

    skip_to = -1
    # the line as (None, literal) and (value pattern, group or None) items, for native_atoms
    items: list[tuple[str | None, str | None]] = []
    for i, (t, v) in enumerate(tokens):
        if i <= skip_to:
            continue
        if t == "lit":
            parts.append(re.escape(v))
            items.append((None, v))
            in_quotes ^= v.count('"') % 2 == 1
            continue
        field = fields[fi]
        fi += 1
        if i + 1 == len(tokens):
            nxt = None  # the last token: the value runs to the end of the line
        elif tokens[i + 1][0] == "var":
            nxt = ""  # two variables back to back: take as little as the next one allows
        else:
            nxt = tokens[i + 1][1]
        group = f"f{fi - 1}"
        if field.kind == "request" and in_quotes and nxt and nxt.startswith('"'):
            # The whole request line as one group (always: method and malformed come from it);
            # the scanner splits each distinct one into method / url / path / query / protocol.
            parts.append(grp(group, _QUOTED[pattern_escape], True))
            items.append((_QUOTED[pattern_escape], group))
            continue
        if (joined and not in_quotes and field.kind in _JOINABLE and tokens[i + 1:i + 2] == [("lit", " ")]
                and i + 2 < len(tokens) and tokens[i + 2][0] == "var" and fields[fi].kind in _JOINABLE
                and want(field.column) and want(fields[fi].column)):
            parts.append(grp(f"{group}__f{fi}", f"(?:{_INT})\\ (?:{_INT})", True))
            items.append((_JOINED, f"{group}__f{fi}"))
            fi += 1
            skip_to = i + 2
            continue
        pattern = _value_pattern(field, in_quotes, nxt, pattern_escape)
        wanted = want(field.column)
        parts.append(grp(group, pattern, wanted))
        items.append((pattern, group if wanted else None))
    regex = "^(?:" + "".join(parts) + r"|(?P<_line>.*))$"
    groups.append("_line")
    return CompiledFormat(name, source, escape, tuple(fields), regex, tuple(groups), tuple(tokens),
                          capture, tolerant, joined, native_atoms(items, groups))


# The compiled scanner's atom kinds (toolkit/native/accesslog.c: the same numbers)
LIT, UNTIL, REST, LAZY, ESCAPED, INT, NUM, TLOCAL, TISO, LIST = range(10)
MAX_ATOMS, MAX_GROUPS = 256, 128  # (accesslog.c's limits; a format beyond them reads by the regex)
_JOINED = f"(?:{_INT})\\ (?:{_INT})"  # endpoints' "$status $body_bytes_sent" as one group
_UNTIL_CLASS = re.compile(r"\[\^(\\?.)\\n\]\*\+", re.S)  # "[^C\n]*+" (C escaped or not)


def native_atoms(items: list[tuple[str | None, str | None]], groups: list[str]
                 ) -> tuple[tuple[int, bytes, int, int], ...] | None:
    """The line pattern as the atoms :mod:`toolkit.native.accesslog` matches lines with: per
    literal or value pattern ``(kind, argument bytes, group it opens, group it closes)`` (-1:
    none; a group is its index in ``groups``). Every value pattern :func:`_value_pattern` and
    :func:`build` write has its atom kind (the C matcher tries the same candidates in the same
    order as the regex), so the C scanner reads every text format; None only if a pattern were
    added here without one."""
    index = {g: k for k, g in enumerate(groups)}
    atoms: list[tuple[int, bytes, int, int]] = []

    def one(kind: int, g: int, arg: str = "") -> None:
        atoms.append((kind, arg.encode(), g, g))

    for pattern, group in items:
        if pattern is None:  # a literal (``group`` holds its text)
            text = (group or "").encode()
            if atoms and atoms[-1][0] == LIT and atoms[-1][2:] == (-1, -1):
                atoms[-1] = (LIT, atoms[-1][1] + text, -1, -1)  # (two literals in a row: one atom)
            elif text:
                atoms.append((LIT, text, -1, -1))
            continue
        g = -1 if group is None else index[group]
        if pattern == _JOINED:
            atoms += [(INT, b"", g, -1), (LIT, b" ", -1, -1), (INT, b"", -1, g)]
        elif pattern == r"\[" + _TIME_LOCAL + r"\]":
            atoms += [(LIT, b"[", g, -1), (TLOCAL, b"", -1, -1), (LIT, b"]", -1, g)]
        elif pattern in _SIMPLE_ATOMS:
            one(_SIMPLE_ATOMS[pattern], g)
        elif pattern == r".*+":
            one(REST, g)
        elif m := _UNTIL_CLASS.fullmatch(pattern):
            one(UNTIL, g, m.group(1)[-1])
        else:
            return None
    if len(atoms) > MAX_ATOMS or len(groups) > MAX_GROUPS:  # (the C matcher's fixed tables)
        return None
    return tuple(atoms)


_SIMPLE_ATOMS = {_QUOTED_VALUE: ESCAPED, _INT: INT, _NUM: NUM, _TIME_LOCAL: TLOCAL, _TIME_ISO: TISO,
                 _LIST_UNQUOTED: LIST, r"[^\n]*?": LAZY}


_JOINABLE = ("int", "bytes_dash")


def _value_pattern(field: Field, in_quotes: bool, nxt: str | None, escape: str) -> str:
    kind = field.kind
    if in_quotes:
        if kind == "time_local":
            return _TIME_LOCAL
        return _QUOTED[escape]
    if kind == "time_local" and nxt and nxt.startswith("]"):
        return r"[^\]\n]*+"  # checked when parsed (a bad time becomes NaT)
    if kind in ("int", "bytes_dash"):
        return _INT
    if kind in ("float", "msec", "usec", "msec_int", "sec"):
        return _NUM
    if kind == "time_local":
        return _TIME_LOCAL
    if kind == "time_apache":
        return r"\[" + _TIME_LOCAL + r"\]"
    if kind == "time_iso8601":
        return _TIME_ISO
    if kind == "list":
        return _LIST_UNQUOTED
    if kind == "token":  # one space-free value, even last on the line (toolkit.http.dialects)
        return r"[^ \n]*+"
    if nxt is None:
        return r".*+"
    if nxt == "":
        return r"[^\n]*?"
    return rf"[^{re.escape(nxt[0])}\n]*+"
