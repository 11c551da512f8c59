"""The access-log dialects read without options: ``combined`` and ``common``, nginx's default
``main``, either with any number of extra trailing fields, and Apache's ``vhost_combined``
(``%v:%p`` first). Detection and ``tk.read_access_log(path)`` use :func:`infer_format`.

References: nginx 1.22 ``ngx_http_log_module`` (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format,
the predefined ``combined``), the ``main`` format of the nginx.conf that nginx.org's packages and
the official Docker image ship (combined plus ``"$http_x_forwarded_for"``), and Apache 2.4's
``vhost_combined`` (https://httpd.apache.org/docs/2.4/mod/mod_log_config.html). Real lines:

    # main (nginx 1.22, tests/fixtures/third_party/produced-here/nginx1.22-main.log)
    127.0.0.1 - - [07/Dec/2026:12:30:08 +0000] "GET / HTTP/1.1" 200 6 "-" "curl/7.88.1" "203.0.113.0"
    # combined + $request_time (produced-here/nginx1.22-combined-request-time.log)
    127.0.0.1 - - [07/Dec/2026:12:30:08 +0000] "GET / HTTP/1.1" 200 6 "-" "curl/7.88.1" 0.000
    # vhost combined + %D (lnav's test corpus, lnav/logfile_regexp_access_log.0)
    localhost:443 178.20.184.42 1j0vhgd jsmith [26/Jul/2023:00:01:26 -0700] "GET /x HTTP/2.0" 200 17163 "-" "Mozilla/5.0" 116075

The format is inferred from the first line that has the combined / common shape, then checked
on the head: at least 80% of its lines must match it, or the log is not this dialect.

- Extra trailing fields become columns ``extra_1``, ``extra_2``, ... (text, as written: ``-``
  is null), one per field, a quoted field (``"..."``) being one field even with spaces inside.
  Their meaning is not guessed (``0.000`` may be ``$request_time`` or ``$upstream_response_time``);
  pass ``log_format=`` to have them typed and named. The one exception is nginx's ``main``:
  exactly one quoted extra field after combined is ``$http_x_forwarded_for``, column
  ``http_x_forwarded_for``.
- A line with more or fewer extra fields than the head's is skipped and counted ("does not
  match log format"), never read with its fields shifted.
- The ident field (``%l``, ``-`` in nginx's formats) is kept as ``remote_logname`` when a log
  fills it; a ``%v:%p`` prefix gives ``server_name`` and ``server_port``.

Example::

    >>> fmt = infer_format(['1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET / HTTP/1.1" 200 5 "-" "curl" 0.004 "-"'])
    >>> fmt.name, [f.column for f in fmt.fields][-2:]
    ('combined+2', ['extra_1', 'extra_2'])
"""

from __future__ import annotations

import dataclasses
import re

from ..errors import LogFormatError
from .apache import compile_apache_format
from .logformat import COMBINED, CompiledFormat, build, compile_log_format

_Q = r'"(?:[^"\\\n]|\\.)*"'
# the combined / common shape, loosely (the compiled format checks each field exactly)
_SHAPE = re.compile(
    rf'^(?P<vhost>\S+:\d+ )?\S+ (?P<ident>\S+) \S+ \[[^\]\n]*\] {_Q} -?\d+ (?:\d+|-)'
    rf'(?P<refua> {_Q} {_Q})?(?P<tail>(?: (?:{_Q}|[^ "\n]+))*)$')
_TAIL_FIELD = re.compile(rf'{_Q}|[^ "\n]+')
_COMMON = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'


# HAProxy's HTTP log (option httplog, https://docs.haproxy.org/2.8/configuration.html#8.2.3):
# client:port [accept date with ms] frontend backend/server Tq/Tw/Tc/Tr/Ta status bytes ...
_HAPROXY = re.compile(r"\S+:\d+ \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3}\] \S+ \S+/\S+ "
                      r"[-+]?\d+/[-+]?\d+/[-+]?\d+/[-+]?\d+/[-+]?\d+ -?\d+ ")
HAPROXY_REFUSED = ("HAProxy's HTTP log (option httplog) is not read: its timers (Tq/Tw/Tc/Tr/Ta), "
                   "termination state, captured headers and syslog prefix fit no log_format; have "
                   "HAProxy write a combined-like log-format instead (e.g. log-format "
                   "'%ci - - [%trl] \"%r\" %ST %B \"-\" \"-\" %Ta') and read it with log_format=")


def haproxy_line(lines: list[str]) -> int | None:
    """The index of the first line of ``lines`` that is a HAProxy HTTP log line, or None."""
    return next((i for i, ln in enumerate(lines) if _HAPROXY.search(ln)), None)


def fits(fmt: CompiledFormat, lines: list[str]) -> bool:
    """Whether at least 80% of ``lines`` (and at least one) match ``fmt`` whole. A line with a
    backslash is tried with the format's tolerant variant too, as the scanner tries it (Apache
    writes a quote inside a quoted value as ``\\"``)."""
    pat = fmt.pattern
    tolerant = None

    def matches(line: str) -> bool:
        nonlocal tolerant
        m = pat.match(line)
        if m is not None and m.group("_line") is None:
            return True
        if "\\" not in line:
            return False
        tolerant = tolerant or fmt.tolerant().pattern
        m = tolerant.match(line)
        return m is not None and m.group("_line") is None

    ok = sum(1 for ln in lines if matches(ln))
    return bool(lines) and ok >= max(1, int(0.8 * len(lines)))


def _shape_format(m: re.Match) -> tuple[str, CompiledFormat]:
    """(base name, format) of a line of the combined / common shape."""
    base = "combined" if m.group("refua") else "common"
    text = COMBINED if base == "combined" else _COMMON
    extras = _TAIL_FIELD.findall(m.group("tail"))
    if base == "combined" and not m.group("vhost") and len(extras) == 1 and extras[0].startswith('"'):
        return base, compile_log_format("main")
    names: list[str] = []
    if m.group("ident") != "-":
        text = text.replace("$remote_addr - ", "$remote_addr $remote_logname ", 1)
        names.append("remote_logname")
    if m.group("vhost"):
        text = "$server_name:$server_port " + text
    for i, value in enumerate(extras, 1):
        names.append(f"extra_{i}")
        text += f' "$extra_{i}"' if value.startswith('"') else f" $extra_{i}"
    fmt = compile_log_format(text, variables=tuple(names))
    name = ("vhost_" if m.group("vhost") else "") + base + (f"+{len(extras)}" if extras else "")
    # an unquoted extra field is one token, the last one too: a line with one more is no match
    fields = [dataclasses.replace(f, kind="token") if f.variable.startswith("extra_") else f for f in fmt.fields]
    return base, build(list(fmt.tokens), fields, name=name, source=fmt.source, escape=fmt.escape)


def infer(lines: list[str]) -> tuple[str, CompiledFormat] | None:
    """(``"combined"`` or ``"common"``, the format) that the head ``lines`` are written in, or
    None when they are not one of the dialects of this module (see the module)."""
    for name in ("combined", "common", "main"):
        fmt = compile_apache_format(name) if name == "common" else compile_log_format(name)
        if fits(fmt, lines):
            return ("common" if name == "common" else "combined"), fmt
    for line in lines[:5]:
        m = _SHAPE.match(line)
        if m is None:
            continue
        try:
            base, fmt = _shape_format(m)
        except LogFormatError:
            continue
        if fits(fmt, lines):
            return base, fmt
    return None


def infer_format(lines: list[str]) -> CompiledFormat | None:
    """The format of :func:`infer` alone."""
    found = infer(lines)
    return None if found is None else found[1]

