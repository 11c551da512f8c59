"""Access-log formats found in server configuration: nginx ``log_format`` directives and Apache
``LogFormat`` lines, in a pasted excerpt or a whole ``nginx.conf`` / ``httpd.conf``.

References: nginx 1.22 ``log_format`` (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format:
``log_format name [escape=default|json|none] string ...;``, the strings concatenated, comments
from ``#`` to the end of the line outside quotes) and Apache 2.4 ``LogFormat``
(https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#logformat: ``LogFormat "format" nickname``).
A real nginx.conf (``sample_traces/http/nginx/nginx.conf.in``) holds one across several lines::

    log_format jsonl escape=json '{"time":"$time_iso8601","msec":"$msec",'
                    '"request":"$request","status":"$status"}';

The command line (``--log-format``), ``tk.analyze(log_format=...)`` and the curated notebooks'
``LOG_FORMAT`` take the same forms: a format string, a pasted directive, a whole configuration
(the format whose fields match each log is used), or ``@FILE`` holding any of these.

    >>> conf = "http {\\n  log_format main '$remote_addr [$time_local] \\"$request\\"'\\n" \\
    ...        "                  ' $status'; # the default\\n  access_log x.log main;\\n}"
    >>> log_formats(conf)
    {'main': 'log_format main \\'$remote_addr [$time_local] "$request"\\' \\' $status\\';'}
"""

from __future__ import annotations

import re

from ..errors import InputError, LogFormatError

_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
# a log_format directive: its name, its escape= and its quoted strings up to the ';'
_NGINX = re.compile(rf"(?<![\w$])log_format\s+([\w.-]+)((?:\s+escape=\w+)?)((?:\s*(?:{_QUOTED}))+)\s*;", re.S)
_APACHE = re.compile(r'^[ \t]*LogFormat[ \t]+"((?:[^"\\]|\\.)*)"[ \t]+([\w.-]+)[ \t]*$', re.M | re.I)
_COMMENT = re.compile(rf"({_QUOTED})|#[^\n]*", re.S)


def _without_comments(text: str) -> str:
    """nginx / Apache comments (``#`` to the end of the line, outside quotes) removed."""
    return _COMMENT.sub(lambda m: m.group(1) or "", text)


def log_formats(text: str) -> dict[str, str]:
    """Every access-log format defined in ``text``: name -> its directive (nginx ``log_format
    NAME [escape=..] '...' ...;``, joined on one line) or Apache ``LogFormat "..." nickname``
    line, in the order they appear; what :func:`toolkit.http.accesslog.compile_format` takes.
    Empty when ``text`` defines none (it is then a format string itself)."""
    text = _without_comments(text)
    found: list[tuple[int, str, str]] = []
    for m in _NGINX.finditer(text):
        parts = " ".join(re.findall(_QUOTED, m.group(3)))
        found.append((m.start(), m.group(1), f"log_format {m.group(1)}{m.group(2)} {parts};"))
    for m in _APACHE.finditer(text):
        found.append((m.start(), m.group(2), f'LogFormat "{m.group(1)}" {m.group(2)}'))
    return {name: directive for _, name, directive in sorted(found)}


def candidates(text: str) -> list[str]:
    """The formats ``text`` offers: each directive of a configuration (:func:`log_formats`), or
    the text itself when it defines none (a format string, or a name like ``combined``)."""
    formats = log_formats(text)
    return list(formats.values()) if formats else [text]


def format_option(value: str | None, name: str | None = None) -> str | None:
    """A ``--log-format`` / ``LOG_FORMAT`` value as text: ``@FILE`` is the file's content (an
    InputError names the file when it cannot be read); anything else is itself. ``name``
    (``--log-format-name``, the library's ``name=``) picks that one ``log_format`` /
    ``LogFormat`` of the configuration (:func:`named_format`)."""
    if name is not None:
        if not value:
            raise InputError(f"a log format name ({name!r}) picks one log_format of a configuration: "
                             "give the configuration too (--log-format @/etc/nginx/nginx.conf)")
        return named_format(log_formats(format_option(value) or ""), name)
    if not value or not value.startswith("@"):
        return value
    path = value[1:]
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the log format ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: the log format file is not UTF-8 text") from exc


def named_format(defined: dict[str, str], name: str) -> str:
    """The directive called ``name`` of a configuration's formats (:func:`log_formats`); a
    LogFormatError lists the names it defines otherwise."""
    if name not in defined:
        raise LogFormatError(f"no log_format / LogFormat named {name!r} in the configuration given; "
                             f"it defines: {', '.join(defined) or 'none'}")
    return defined[name]
