"""Redact literal values and secrets before a report or a notebook export is shared: SQL
literals and bind parameters, URL query values and tokens, credentials, client addresses
(stable pseudonyms), e-mail addresses and card numbers.

What is redacted, and how (shapes stay readable, values go):

- SQL (statements, digest examples, bind parameters, logged plans' conditions): string
  literals (``'...'``, ``E'...'``, ``$tag$...$tag$``, also one cut off by the end of the text),
  numbers and hex literals become ``?``; placeholders (``$1``, ``?``, ``%s``, ``:name``) are
  kept, and comments too, with any credential, token or e-mail in them redacted. Double-quoted
  text depends on the dialect: an identifier in PostgreSQL (kept), a string literal in MySQL
  (``?``); when the dialect is not known (``"auto"``) it is kept only when it looks like an
  identifier (``"t1"``, ``"Order"``) and does not follow a comparison (``= "bob"``).
- URLs: each query value becomes ``?`` (``/search?q=bob&page=2`` -> ``/search?q=?&page=?``),
  ``user:password@`` is dropped, path parameters (``;jsessionid=...``) lose their values, and a
  path segment that is a token (a JWT, or 16+ characters mixing letters and digits, also when
  percent-encoded) becomes ``[token]``; other segments are kept (templated endpoints hold no ids
  anyway).
- Client addresses (IPv4, IPv6, host names): ``client-1``, ``client-2``... in order of first
  appearance, the same address always getting the same name within one :class:`Redactor`
  (ports are dropped); ``[local]`` is kept.
- Anywhere: e-mail addresses (``[email]``), card numbers (13-19 digits passing the Luhn check:
  ``[card]``), JWTs and long random-looking tokens (``[token]``), the values of credentials
  written as ``key=value`` or ``key: value`` (password, secret, token, api_key, session ids,
  csrf...: ``[redacted]``), ``Authorization`` and ``Cookie`` header values, ``scheme://user:pw@``
  in connection strings, and the basic-auth user of an access-log line (``[user]``).
- Free text (finding evidence, server messages, skipped lines, function names): SQL in
  backticks (as the detectors quote it) or after ``statement:`` / ``execute name:``, or text
  that is a whole statement (:meth:`Redactor.cell`), gets the SQL rules; single-quoted values
  after a comparison or in a list (``= 'bob'``, ``IN ('a', 'b')``) become ``?``; double-quoted
  values a server echoes (``invalid input syntax for type integer: "abc"``) become ``"?"``,
  while names after ``relation``/``column``/``constraint``/``index``... stay; ``Key (id)=(42)``
  and ``Failing row contains (...)`` lose their values; other words and bare numbers (the
  statistics of a finding) are kept.
- Plotly figures: every string drawn (labels, hover text, titles) gets the free-text rules.

Every pattern runs in linear time and constant memory per match (possessive repeats, no
nested backtracking): a 50 MB literal costs its own size, not gigabytes.

Example::

    >>> r = Redactor()
    >>> r.sql("SELECT * FROM users WHERE email = 'bob@example.com' AND id IN (1, 2)")
    'SELECT * FROM users WHERE email = ? AND id IN (?, ?)'
    >>> r.url("/search?q=bob&page=2")
    '/search?q=?&page=?'
    >>> r.client("10.1.2.3"), r.client("10.9.9.9"), r.client("10.1.2.3")
    ('client-1', 'client-2', 'client-1')
    >>> r.text('invalid input syntax for type integer: "4111" in relation "orders"')
    'invalid input syntax for type integer: "?" in relation "orders"'
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pandas as pd

from ..markup import map_drawn, map_strings

_SQL = re.compile(
    r"""
      (?P<ident>"(?:[^"]++|"")*+"?)                              # "quoted": see the dialects
    | (?P<btick>`(?:[^`]++|``)*+`?)                              # `identifier` (MySQL): kept
    | (?P<comment>--[^\n]*+|/\*(?:[^*]++|\*(?!/))*+(?:\*/)?)     # comments (cut: to the end)
    | (?P<dollar>\$(?P<tag>(?:[A-Za-z_]\w*+)?)\$(?:.*?\$(?P=tag)\$|.*+))   # $tag$ ... $tag$
    | (?P<string>(?<![\w$])(?:[EeNnBbXx]|[Uu]&)?'(?:[^'\\]++|''|\\.)*+(?:'|.*+))  # 'literal'
    | (?P<hex>(?<![\w$.])0[xX][0-9A-Fa-f]++\b)
    | (?P<number>(?<![\w$.:])(?:\d++\.\d*+|\.\d++|\d++)(?:[eE][-+]?\d++)?(?![\w.]))
    """,
    re.VERBOSE | re.DOTALL,
)
_IDENTIFIER = re.compile(r'"[A-Za-z_][A-Za-z0-9_$]{0,62}"')
_COMPARISON_BEFORE = re.compile(r"(?i)(?:[=<>]|\blike|\bin\s*\(|\bvalues\s*\()\s*\Z")
# a whole text that is a statement (a table cell, a hover text), not prose that starts with a
# keyword ("SELECT * in 12 calls", "select (selectors.py:468)")
_SQL_STATEMENT = re.compile(
    r"(?is)\s*+(?:select\s.*?\bfrom\b|insert\s++into\b|update\s++\S++\s++set\b|delete\s++from\b|"
    r"with\s++\S++\s++as\s*+\(|(?:alter|create|drop)\s++(?:unique\s++)?(?:table|index|role|user|database|"
    r"schema|view|sequence|function|extension|policy)\b|(?:grant|revoke|copy|call|truncate|vacuum)\s|"
    r"set\s++\S++\s*+(?:=|to\b)|values\s*+\()")
# SQL inside a server message or log line: "statement: ...", "execute S_1: ...", "bind <unnamed>: ..."
_SQL_AFTER = re.compile(r"(?i)(\b(?:statement|query|(?:execute|parse|bind)\s++[^\s:]*+):[ \t]++)(.++)",
                        re.DOTALL)
_BACKTICKED = re.compile(r"`([^`\n]++)`")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++")
_IPV4 = r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"
# IPv6: eight groups, or any form with "::" (a time like 12:34:56 has neither).
_IPV6 = (r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
         r"|(?:[0-9A-Fa-f]{1,4}:){0,6}(?:[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){0,6}"
         r"(?:[0-9A-Fa-f]{1,4}|" + _IPV4[len(r"(?<![\w.])"):] + r")?)(?![\w:])")
_IP = re.compile(f"{_IPV6}|{_IPV4}")
# a URL with a scheme (https://, postgresql://...), or a path with a query string, in free text
_URL_IN_TEXT = re.compile(r"(?<![\w+.-])[A-Za-z][\w+.-]*+://[^\s\"'<>]++"
                          r"|(?<![^\s\"'(\[=,])/[^\s?\"'<>]*+\?[^\s\"'<>]++")
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][\w+.-]*+://)[^/@\s]*+@")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+")
_WORDISH = re.compile(r"(?<![\w-])[\w-]{16,}+(?![\w-])")
_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w.-])")
# credentials by name: password=..., "api_key": "...", X-Auth-Token: ..., sessionid=...
_SECRET_NAME = (r"[\w.-]{0,40}?(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
                r"auth[_-]?key|session[_-]?id|sessid|jsessionid|phpsessid|csrf[\w-]*+|credentials?|"
                r"private[_-]?key|signature)")
_SECRET_VALUE = r"(?:\"[^\"\n]*+\"|'[^'\n]*+'|[^\s&;,\"'<>)\]}]++)"
_SECRET_KV = re.compile(rf"(?i)(?<![\w.-])({_SECRET_NAME}[\"']?\s*+[=:]\s*+){_SECRET_VALUE}")
_AUTH_HEADER = re.compile(r"(?i)(\b(?:proxy-)?authorization[\"']?\s*+[:=]\s*+[\"']?)"
                          r"(?:(?:bearer|basic|digest|negotiate|token)\s++)?[^\s\"',;]++")
_BEARER = re.compile(r"(?i)\b(bearer\s++)[A-Za-z0-9._~+/=-]{8,}+")
_COOKIE = re.compile(r"(?i)(\b(?:set-)?cookie[\"']?\s*+[:=]\s*+)[^\r\n\"]++")
_PASSWORD_LITERAL = re.compile(r"(?i)(\b(?:password|identified\s++by)\s++)(?:'[^'\n]*+'|\"[^\"\n]*+\")")
# an access-log line's basic-auth user: `203.0.113.5 - bob [10/Oct/2025:...`
_LOG_USER = re.compile(r"(?m)^([0-9A-Fa-f:.]++|[\w.-]++)(\s++-\s++)(?!-\s)[^\s\[]++(?=\s++\[\d)")
# a quoted value after a comparison or in a list: `= 'bob'`, `IN ('a', 'b')`, `LIKE '%x%'`, `('c'`
_QUOTED_VALUE = re.compile(r"(?i)((?:[=<>(,]|\blike|\bin)\s*+)'(?:[^'\n]++|'')*+'")
_DOUBLE_QUOTED = re.compile(r'"[^"\n]*+"')
_REQUEST_LINE = re.compile(r'"([A-Z]{3,10} )(\S++)( HTTP/[\d.]++)"')
# words after which a double-quoted name is an identifier the server names, not a value it echoes
_NAMED_BEFORE = re.compile(
    r"(?i)\b(?:relation|table|column|constraint|index|role|user|database|schema|function|procedure|"
    r"type|parameter|sequence|view|trigger|extension|operator|tablespace|publication|subscription|"
    r"policy|rule|domain|collation|aggregate|cursor|portal|savepoint|statement|server|language|"
    r"channel|attribute|enum|field|key|slot|event)\s*+\Z")
# PostgreSQL's unique-violation detail: Key (email)=(bob@example.com) already exists.
_KEY_VALUE = re.compile(r"(\)\s*+=\s*+\()[^)]*+(\))")
_FAILING_ROW = re.compile(r"(?i)(failing row contains \().*(\))")
_LOCAL_CLIENTS = frozenset({"", "[local]", "local", "-"})
# column names that hold credentials whatever the table (nginx $http_authorization, $cookie_x,
# $arg_token, $remote_user...): the whole value goes
_SECRET_COLUMN = re.compile(r"(?i)authorization|cookie|token|passw|secret|api_?key|session_?id|"
                            r"sessid|csrf|credential|remote_user|^arg_")


_CHARACTER_RUNS = re.compile(r"\d++|[A-Z]++|[a-z]++|[^A-Za-z\d]++")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn(digits) else m.group(0)


def _email(m: re.Match) -> str:
    # the last label must be a top-level domain (letters): "a@b.c1" is not an address
    return "[email]" if re.fullmatch(r"[A-Za-z]{2,}", m.group(0).rsplit(".", 1)[-1]) else m.group(0)


def _random_looking(piece: str, *, loose: bool = False) -> bool:
    """A token rather than a word: long, with digits and letters mixed. ``loose`` (URL path
    segments, which are data) asks only for length and both kinds of character; code and prose
    (function names) ask for several digits and frequent switches between letters, digits and
    case, so ``Http2ConnectionPool`` stays."""
    if len(piece) < 16:
        return False
    digits = sum(map(str.isdigit, piece))
    letters = sum(map(str.isalpha, piece))
    if loose:
        return (digits >= 1 and letters >= 1) or len(piece) >= 32
    if digits < 3 or letters < 3:
        return False
    runs = sum(1 for _ in _CHARACTER_RUNS.finditer(piece))  # digits, capitals, small letters
    return runs - 1 >= 0.3 * len(piece)


def _token(m: re.Match) -> str:
    # only the random-looking pieces go: "handler_9f8e7d6c5b4a3f2e1d0c" -> "handler_[token]"
    return re.sub(r"[^_-]++", lambda p: "[token]" if _random_looking(p.group(0)) else p.group(0), m.group(0))


def _secret_kv(m: re.Match) -> str:
    value = m.group(0)[len(m.group(1)):]
    # already redacted (a URL's "token=?") stays as it is
    return m.group(0) if value in ("?", "[redacted]") else m.group(1) + "[redacted]"


_Rule = tuple[re.Pattern, Any, tuple[str, ...]]  # pattern, replacement, needles


def _apply(rules: list[_Rule], text: str) -> str:
    """Each (pattern, replacement, needles) rule in turn; a rule whose needles (lower case) do
    not occur in the text is skipped: most texts hold no "@", no "cookie", no "eyJ"... and a
    long one is then scanned a few times, not twenty (replacements add none of the needles)."""
    low = text.lower()
    for pattern, repl, needles in rules:
        if not needles or any(n in low for n in needles):
            text = pattern.sub(repl, text)
    return text


_SECRET_RULES: list[_Rule] = [
    (_AUTH_HEADER, r"\1[redacted]", ("authorization",)),
    (_BEARER, r"\1[redacted]", ("bearer",)),
    (_COOKIE, r"\1[redacted]", ("cookie",)),
    (_SECRET_KV, _secret_kv, ("pass", "pwd", "secret", "token", "key", "sess", "sid", "csrf", "credential",
                              "signature")),
    (_PASSWORD_LITERAL, r"\1?", ("password", "identified")),
    (_JWT, "[token]", ("eyj",)),
    (_WORDISH, _token, ()),
    (_EMAIL, _email, ("@",)),
    (_CARD, _card, ()),
]


def _secrets(text: str) -> str:
    """Credentials, tokens, card numbers and e-mails, wherever they are."""
    return _apply(_SECRET_RULES, text)


def dialect_of(fmt: Any) -> str:
    """The SQL dialect of a reader's format name: ``mysql``, ``postgres`` or ``auto``."""
    fmt = str(fmt or "").lower()
    if fmt.startswith(("mysql", "mariadb", "percona")):
        return "mysql"
    if fmt.startswith(("postgres", "pg")):
        return "postgres"
    return "auto"


class Redactor:
    """Redaction rules plus the address -> pseudonym table, so one report names each client
    consistently across its tables. ``frame(df, table)`` redacts a canonical table (or any
    table, by its column names), ``figure(fig)`` a plotly figure."""

    def __init__(self) -> None:
        self.pseudonyms: dict[str, str] = {}

    # -- values ---------------------------------------------------------------------------
    def sql(self, text: Any, dialect: str = "auto") -> Any:
        """SQL text with string/number literals replaced by ``?`` (see the module docs);
        ``dialect`` is ``postgres``, ``mysql`` or ``auto`` (for double-quoted text)."""
        if not isinstance(text, str) or not text:
            return text

        def sub(m: re.Match) -> str:
            kind = m.lastgroup
            if kind == "ident":
                quoted = m.group(0)
                if dialect == "postgres":
                    return quoted
                if dialect == "auto" and _IDENTIFIER.fullmatch(quoted) and not _COMPARISON_BEFORE.search(
                        m.string, max(0, m.start() - 12), m.start()):
                    return quoted
                return "?"
            if kind == "btick":
                return m.group(0)
            if kind == "comment":
                return _secrets(m.group(0))
            return "?"

        return _EMAIL.sub(_email, _SQL.sub(sub, text))

    def plan(self, text: Any, dialect: str = "auto") -> Any:
        """A logged plan (JSON text): SQL literals redacted inside its string values only, so
        the JSON stays valid and costs/row counts stay; non-JSON text is treated as SQL."""
        if not isinstance(text, str) or not text:
            return text
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            return self.sql(text, dialect)
        return json.dumps(map_strings(obj, lambda s: self.sql(s, dialect)))

    def pseudonym(self, address: str) -> str:
        key = address.strip().lower()
        if key not in self.pseudonyms:
            self.pseudonyms[key] = f"client-{len(self.pseudonyms) + 1}"
        return self.pseudonyms[key]

    def client(self, value: Any) -> Any:
        """A client address (``10.0.0.5``, ``10.0.0.5(53211)``, ``[::1]:443``, a host name)
        -> its stable pseudonym; ``[local]`` and empty values are kept."""
        if not isinstance(value, str) or value.strip() in _LOCAL_CLIENTS:
            return value
        m = _IP.search(value)
        if m:
            return self.pseudonym(m.group(0))
        host = re.sub(r"[(:]\d+\)?$", "", value.strip())  # drop a port
        return self.pseudonym(host)

    def query_string(self, query: Any) -> Any:
        """``a=1&b=x`` -> ``a=?&b=?`` (keys kept, a bare value becomes ``?``)."""
        if not isinstance(query, str) or not query:
            return query
        parts = []
        for part in re.split(r"([&;])", query):
            if part in ("&", ";") or part == "":
                parts.append(part)
            elif "=" in part:
                parts.append(part.split("=", 1)[0] + "=?")
            else:
                parts.append("?")
        return "".join(parts)

    @staticmethod
    def _segment(segment: str) -> str:
        """One path segment: path parameters' values go; a token becomes ``[token]``; an
        e-mail or credential in it (also percent-encoded) is redacted."""
        if len(segment) < 8 and not any(c in segment for c in "@=%;"):
            return segment  # "users", "v2", "{id}": nothing to find (and fast on hostile paths)
        name, sep, params = segment.partition(";")
        if sep:
            params = ";".join(p.split("=", 1)[0] + "=?" if "=" in p else "?" for p in params.split(";"))
        plain = unquote(name)
        if _JWT.search(plain) or _random_looking(plain, loose=True):
            name = "[token]"
        else:
            cleaned = _secrets(plain)
            if cleaned != plain:
                name = cleaned
        return name + sep + params

    def url(self, url: Any) -> Any:
        """A URL or request target with its query values, user-info and path tokens redacted."""
        if not isinstance(url, str) or not url:
            return url
        url = _USERINFO.sub(r"\g<scheme>", url)
        fragment = ""
        if "#" in url:
            url, fragment = url.split("#", 1)
            fragment = "#?" if fragment else "#"
        path, mark, query = url.partition("?")
        scheme, slashes, rest = path.partition("://")
        if slashes:  # keep the host, redact the path after it
            host, slash, tail = rest.partition("/")
            path = scheme + slashes + host + slash + re.sub(r"[^/]++", lambda m: self._segment(m.group(0)), tail)
        else:
            path = re.sub(r"[^/]++", lambda m: self._segment(m.group(0)), path)
        return path + (mark + self.query_string(query) if mark else "") + fragment

    def example(self, value: Any) -> Any:
        """A digest's SQL example or an endpoint table's URL example, told apart by its shape."""
        if isinstance(value, str) and (value.startswith("/") or "://" in value[:16]):
            return self.url(value)
        return self.sql(value)

    @staticmethod
    def secret(value: Any) -> Any:
        """A value that is a credential as a whole (an Authorization header, a cookie, a
        basic-auth user): ``[redacted]``; empty and ``-`` are kept."""
        if not isinstance(value, str) or value.strip() in ("", "-"):
            return value
        return "[redacted]"

    def credentials(self, text: Any) -> Any:
        """Only what is secret whatever the context (credentials, tokens, e-mails, card numbers,
        URL query values and user-info, client addresses): for text that is the user's own
        choice, like the parameters a notebook was run with, where paths and names stay."""
        if not isinstance(text, str) or not text:
            return text
        return _apply([(_URL_IN_TEXT, lambda m: self.url(m.group(0)), ("://", "?")), *_SECRET_RULES,
                       (_IP, lambda m: self.pseudonym(m.group(0)), (".", ":"))], text)

    def _quoted(self, m: re.Match) -> str:
        if _NAMED_BEFORE.search(m.string, max(0, m.start() - 24), m.start()):
            return m.group(0)
        if m.string[m.end():m.end() + 2].lstrip()[:1] == ":":  # a JSON key, not a value
            return m.group(0)
        request = _REQUEST_LINE.fullmatch(m.group(0))
        if request:  # an access log's "GET /path?query HTTP/1.1": its target redacted, its shape kept
            return f'"{request.group(1)}{self.url(request.group(2))}{request.group(3)}"'
        return '"?"'

    def text(self, text: Any) -> Any:
        """Free text (messages, evidence, skipped lines, names): the rules of the module docs;
        other words and numbers kept."""
        if not isinstance(text, str) or not text:
            return text
        return _apply([
            (_SQL_AFTER, lambda m: m.group(1) + self.sql(m.group(2)), ("statement", "query", "execute", "parse",
                                                                       "bind")),
            (_BACKTICKED, lambda m: "`" + self.sql(m.group(1)) + "`", ("`",)),
            (_LOG_USER, r"\1\2[user]", (" - ",)),
            (_URL_IN_TEXT, lambda m: self.url(m.group(0)), ("://", "?")),
            *_SECRET_RULES,
            (_IP, lambda m: self.pseudonym(m.group(0)), (".", ":")),
            (_QUOTED_VALUE, r"\1?", ("'",)),
            (_DOUBLE_QUOTED, self._quoted, ('"',)),
            (_KEY_VALUE, r"\1?\2", (")",)),
            (_FAILING_ROW, r"\1?\2", ("failing row",)),
        ], text)

    def cell(self, value: Any) -> Any:
        """A table cell or a drawn label whose whole text may be a statement (then the SQL
        rules first), else :meth:`value`."""
        if isinstance(value, str) and _SQL_STATEMENT.match(value):
            value = self.sql(value)
        return self.value(value)

    def value(self, value: Any) -> Any:
        """Any displayed value: strings get :meth:`text`; a Python literal's repr (a dict, a
        list, as a notebook prints them) gets it string by string, so its shape stays."""
        if not isinstance(value, str) or not value:
            return value
        stripped = value.strip()
        if stripped[:1] in "{[(" and len(stripped) < 1_000_000:
            try:
                obj = ast.literal_eval(stripped)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                obj = None
            if isinstance(obj, dict | list | tuple):
                return repr(map_strings(obj, self.text))
        return self.text(value)

    # -- figures --------------------------------------------------------------------------
    def figure(self, fig: Any) -> dict[str, Any]:
        """A plotly figure (Figure, dict or JSON) as a dict whose drawn strings (labels, hover
        text, names, titles, annotations) have the free-text rules applied."""
        return map_drawn(fig, self.cell)

    # -- tables ---------------------------------------------------------------------------
    # canonical table -> {column: rule}; other string columns get `text`.
    RULES: dict[str, dict[str, str]] = {
        "query_events": {"statement": "sql", "parameters": "sql", "plan": "plan",
                         "client": "client"},
        "server_events": {"statement": "sql", "message": "text", "detail": "text"},
        "http_requests": {"url": "url", "path": "url", "query": "query_string", "referer": "url",
                          "client": "client", "remote_user": "secret"},
        "digest": {"example": "sql", "fingerprint": "sql", "parameters": "sql"},
        "endpoints": {"endpoint": "url", "example": "url"},
        "findings": {"title": "text", "evidence": "text"},
        "hot_paths": {"path": "text"},  # a call path ("main → handler"), not a URL
    }
    # Any table: a column's rule by its name (``example`` is SQL or a URL, by its shape).
    COLUMN_RULES: dict[str, str] = {
        **{c: r for rules in RULES.values() for c, r in rules.items()}, "example": "example",
        "path": "url", "endpoint": "url", "upstream_addr": "client", "server_addr": "client",
        "remote_addr": "client", "http_x_forwarded_for": "text"}
    # Columns that are names chosen by the operator or the program, not user data.
    KEEP = frozenset({"user_agent", "method", "protocol", "kind", "event", "database", "user",
                      "application", "session", "relation", "sqlstate", "rule", "area",
                      "practice", "severity", "fix", "format", "status", "timestamp",
                      "source_line", "line", "node_type", "complexity", "class", "verdict"})
    _SQL_RULES = frozenset({"sql", "plan"})

    def _rule(self, column: Any, table: str | None, dialect: str) -> Callable[[Any], Any] | None:
        name = str(column)
        rule = (self.RULES.get(table or "", {}).get(name) or self.COLUMN_RULES.get(name))
        if rule is None:
            if name in self.KEEP:
                return None
            rule = "secret" if _SECRET_COLUMN.search(name) else "text"
        fn = getattr(self, rule)
        return functools.partial(fn, dialect=dialect) if rule in self._SQL_RULES else fn

    def _labels(self, index: pd.Index, table: str | None, dialect: str) -> pd.Index:
        """Index or column labels that come from data (a groupby on client, a pivot on
        status): redacted by the rule of their level's name."""
        if isinstance(index, pd.MultiIndex):
            levels = [self._labels(level.rename(name), table, dialect)
                      for level, name in zip(index.levels, index.names, strict=True)]
            return index.set_levels(levels, verify_integrity=False)
        if not (pd.api.types.is_string_dtype(index.dtype) or pd.api.types.is_object_dtype(index.dtype)):
            return index
        fn = self._rule(index.name, table, dialect) if index.name is not None else self.text
        if fn is None:
            return index
        return pd.Index([fn(v) if isinstance(v, str) else v for v in index], name=index.name,
                        dtype=index.dtype, tupleize_cols=False)

    def frame(self, df: pd.DataFrame | None, table: str | None = None, *,
              dialect: str | None = None) -> pd.DataFrame | None:
        """A redacted copy of a table (the input is not modified; attrs kept). ``table`` names
        a canonical table for its rules; without it each column's rule comes from its name.
        ``dialect`` of the SQL columns: by default from ``attrs["source"]["format"]``. Index and
        column labels that come from data are redacted too."""
        if df is None:
            return None
        if dialect is None:
            dialect = dialect_of((df.attrs.get("source") or {}).get("format"))
        out = df.copy()
        for i, col in enumerate(out.columns):
            series = out.iloc[:, i]
            if not (pd.api.types.is_string_dtype(series.dtype)
                    or pd.api.types.is_object_dtype(series.dtype)):
                continue
            fn = self._rule(col, table, dialect)
            if fn is None:
                continue
            values = [fn(v) if isinstance(v, str) else v for v in series.tolist()]
            out.isetitem(i, pd.Series(values, index=series.index, dtype=series.dtype))
        out.index = self._labels(out.index, table, dialect)
        out.columns = self._labels(out.columns, None, dialect)
        out.attrs = dict(df.attrs)
        return out

    def series(self, s: pd.Series, table: str | None = None) -> pd.Series:
        """A redacted copy of a Series (its name picks the rule, as a column's would)."""
        frame = self.frame(s.to_frame(name=s.name if s.name is not None else "value"), table)
        out = frame.iloc[:, 0]
        out.name = s.name
        return out


def redact_sql(text: str, dialect: str = "auto") -> str:
    """:meth:`Redactor.sql` without a pseudonym table."""
    return Redactor().sql(text, dialect)


def redact_url(url: str) -> str:
    return Redactor().url(url)


def redact_text(text: str) -> str:
    return Redactor().text(text)


def redact_frame(df: pd.DataFrame, table: str | None = None, redactor: Redactor | None = None) -> pd.DataFrame:
    """A redacted copy of ``df`` (a canonical ``table``, or any table by its column names);
    pass one ``redactor`` for a whole report so pseudonyms agree across tables."""
    return (redactor or Redactor()).frame(df, table)
