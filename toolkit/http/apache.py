"""Apache ``LogFormat`` strings compiled to the same line regex as nginx formats.

Reference: Apache httpd 2.4 mod_log_config, "Custom Log Formats"
(https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats).

Quirks, next to what Apache writes::

    127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326

- ``%t`` includes the square brackets; ``%b`` writes ``-`` for a zero-byte body (``%B`` writes 0).
- ``%D`` is microseconds, ``%T`` whole seconds, ``%{ms}T`` / ``%{us}T`` milli / microseconds:
  all become ``request_time_s`` in seconds.
- In ``%r`` and ``%{X}i`` a ``"`` is written ``\\"``, a backslash ``\\\\`` and other
  non-printable bytes ``\\xhh``.
- ``%>s`` is the final status, ``%s`` the original one; conditions like ``%400,501{User-agent}i``
  and ``%!200a`` are accepted (the value is ``-`` when the condition does not hold).

Example::

    >>> fmt = compile_apache_format('%h %l %u %t "%r" %>s %b %D')
    >>> [f.column for f in fmt.fields][-2:]
    ['body_bytes_sent', 'request_time_s']
"""

from __future__ import annotations

import re

from ..errors import LogFormatError
from .logformat import CompiledFormat, Field, build

NAMED = {
    "common": '%h %l %u %t "%r" %>s %b',
    "combined_apache": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "combinedio": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %I %O',
}

# directive letter -> (variable, column, kind)
_SIMPLE = {
    "a": ("remote_addr", "client", "str"), "A": ("server_addr", "server_addr", "str"),
    "B": ("body_bytes_sent", "body_bytes_sent", "int"),
    "b": ("body_bytes_sent", "body_bytes_sent", "bytes_dash"),
    "D": ("request_time_us", "request_time_s", "usec"), "f": ("request_filename", "request_filename", "str"),
    "h": ("remote_host", "client", "str"), "H": ("server_protocol", "protocol", "str"),
    "k": ("keepalive_requests", "keepalive_requests", "int"), "l": ("remote_logname", "remote_logname", "str"),
    "L": ("log_id", "log_id", "str"), "m": ("request_method", "method", "str"),
    "p": ("server_port", "server_port", "int"), "P": ("pid", "pid", "int"),
    "q": ("query_string", "query", "str"), "r": ("request", "request", "request"),
    "R": ("handler", "handler", "str"), "s": ("status", "status", "int"),
    "t": ("time_apache", "timestamp", "time_apache"), "T": ("request_time", "request_time_s", "sec"),
    "u": ("remote_user", "remote_user", "str"), "U": ("uri", "path", "str"),
    "v": ("server_name", "server_name", "str"), "V": ("server_name", "server_name", "str"),
    "X": ("connection_status", "connection_status", "str"), "I": ("request_length", "request_length", "int"),
    "O": ("bytes_sent", "bytes_sent", "int"), "S": ("bytes_transferred", "bytes_transferred", "int"),
}
_HEADER_CANONICAL = {"referer": "referer", "user_agent": "user_agent"}
_TOKEN = re.compile(r"%(?P<mod>(?:[<>]|!?\d{3}(?:,\d{3})*)*)(?:\{(?P<arg>[^}]*)\})?(?P<letter>\^t[io]|[a-zA-Z%])")
_LOGFORMAT_LINE = re.compile(r'^\s*(?:Custom)?LogFormat\s+"((?:[^"\\]|\\.)*)"(?:\s+(\S+))?\s*$', re.I)


def looks_like_apache(text: str) -> bool:
    """True for ``common`` & co, a pasted ``LogFormat`` line, or a string of ``%`` directives."""
    if text in NAMED or _LOGFORMAT_LINE.match(text):
        return True
    return "$" not in text and bool(_TOKEN.search(text))


def compile_apache_format(text: str) -> CompiledFormat:
    """Compile an Apache ``LogFormat`` string (or a name from :data:`NAMED`, or a pasted
    ``LogFormat "..." nickname`` line) into a :class:`CompiledFormat`.

    Raises :class:`LogFormatError` for an unknown directive or unbalanced quotes.
    """
    name = "apache"
    if text in NAMED:
        name, text = text, NAMED[text]
    else:
        m = _LOGFORMAT_LINE.match(text)
        if m:
            text = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
            name = m.group(2) or name
    tokens: list[tuple[str, str]] = []
    fields: list[Field] = []
    pos = 0
    literal = ""
    for m in _TOKEN.finditer(text):
        literal += text[pos:m.start()]
        pos = m.end()
        letter, arg = m.group("letter"), m.group("arg")
        if letter == "%":
            literal += "%"
            continue
        field = _field(letter, arg, m.group(0))
        if literal:
            tokens.append(("lit", literal))
            literal = ""
        tokens.append(("var", field.variable))
        fields.append(field)
    literal += text[pos:]
    if "%" in literal:
        raise LogFormatError(f"Apache LogFormat {text[:80]!r}: a '%' not followed by a known directive")
    if literal:
        tokens.append(("lit", literal))
    if not fields:
        raise LogFormatError(f"Apache LogFormat {text[:80]!r} has no % directives")
    quotes = sum(v.count('"') for t, v in tokens if t == "lit")
    if quotes % 2:
        raise LogFormatError(f"Apache LogFormat {text[:80]!r} has unbalanced double quotes ({quotes})")
    return build(tokens, fields, name=name, source=text, escape="apache")


def _field(letter: str, arg: str | None, directive: str) -> Field:
    if letter in ("i", "o", "C", "e", "n", "^ti", "^to"):
        if not arg:
            raise LogFormatError(f"Apache directive {directive} needs a {{name}}")
        key = re.sub(r"[^a-z0-9]+", "_", arg.lower()).strip("_")
        if letter == "i":
            return Field(f"http_{key}", _HEADER_CANONICAL.get(key, f"http_{key}"), "str")
        prefix = {"o": "sent_http_", "C": "cookie_", "e": "env_", "n": "note_", "^ti": "trailer_in_",
                  "^to": "trailer_out_"}[letter]
        return Field(prefix + key, prefix + key, "str")
    if letter == "T" and arg:
        kind = {"s": "sec", "ms": "msec_int", "us": "usec"}.get(arg)
        if kind is None:
            raise LogFormatError(f"Apache directive {directive}: unit must be s, ms or us")
        return Field(f"request_time_{arg}", "request_time_s", kind)
    if letter == "t" and arg:
        raise LogFormatError(f"Apache directive {directive}: strftime time formats are not supported; "
                             "use %t")
    if letter == "a" and arg == "c":
        return Field("peer_addr", "peer_addr", "str")
    if letter == "p" and arg:
        return Field(f"{arg}_port", f"{arg}_port", "int")
    if letter not in _SIMPLE:
        raise LogFormatError(f"unknown Apache LogFormat directive {directive}")
    return Field(*_SIMPLE[letter])
