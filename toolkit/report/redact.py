"""Redact literal values before a report is shared: SQL literals and bind parameters, URL
query values, client addresses (stable pseudonyms) and e-mail addresses.

What is redacted, and how (shapes stay readable, values go):

- SQL (statements, digest examples, bind parameters, logged plans' conditions): string
  literals (``'...'``, ``E'...'``, ``$tag$...$tag$``), numbers and hex literals become ``?``;
  identifiers (``"t1"``, ``users2``), placeholders (``$1``, ``?``, ``%s``, ``:name``) and
  comments are kept. Double-quoted text is treated as an identifier (PostgreSQL), so a MySQL
  ``"string"`` literal is kept.
- URLs: each query value becomes ``?`` (``/search?q=bob&page=2`` -> ``/search?q=?&page=?``),
  user:password@ is dropped, the path is kept (templated endpoints hold no ids anyway).
- Client addresses (IPv4, IPv6, host names): ``client-1``, ``client-2``... in order of first
  appearance, the same address always getting the same name within one :class:`Redactor`
  (ports are dropped); ``[local]`` is kept.
- E-mail addresses anywhere: ``[email]``.
- Free text (finding evidence, server messages): SQL in backticks (as the detectors quote it)
  gets the SQL rules; e-mails, addresses, URL query values, quoted values after
  ``=``/``IN (``/``LIKE`` and key values (``Key (id)=(42)``) everywhere; other bare numbers in
  prose are statistics and are kept.

Function names in profiles are code, not data, and are not redacted.

Example::

    >>> r = Redactor()
    >>> r.sql("SELECT * FROM users WHERE email = 'bob@example.com' AND id IN (1, 2)")
    'SELECT * FROM users WHERE email = ? AND id IN (?, ?)'
    >>> r.url("/search?q=bob&page=2")
    '/search?q=?&page=?'
    >>> r.client("10.1.2.3"), r.client("10.9.9.9"), r.client("10.1.2.3")
    ('client-1', 'client-2', 'client-1')
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

_SQL = re.compile(
    r"""
      (?P<ident>"(?:[^"]|"")*")                                 # "quoted identifier": kept
    | (?P<comment>--[^\n]*|/\*.*?\*/)                           # comments: kept
    | (?P<dollar>\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?\$(?P=tag)\$)     # $tag$ ... $tag$
    | (?P<string>(?<![\w$])(?:[EeNnBbXx]|[Uu]&)?'(?:[^'\\]|''|\\.)*')   # 'literal'
    | (?P<open>(?<![\w$])(?:[EeNnBbXx]|[Uu]&)?'.*\Z)            # unterminated literal (cut log)
    | (?P<hex>(?<![\w$.])0[xX][0-9A-Fa-f]+\b)
    | (?P<number>(?<![\w$.:])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]))
    """,
    re.VERBOSE | re.DOTALL,
)

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IPV4 = r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"
# IPv6: eight groups, or any form with "::" (a time like 12:34:56 has neither).
_IPV6 = (r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
         r"|(?:[0-9A-Fa-f]{1,4}:){0,6}(?:[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){0,6}"
         r"(?:[0-9A-Fa-f]{1,4}|" + _IPV4[len(r"(?<![\w.])"):] + r")?)(?![\w:])")
_IP = re.compile(f"{_IPV6}|{_IPV4}")
_URL_IN_TEXT = re.compile(r"(?:https?://[^\s\"']+|(?<![\w/])/[^\s?\"']*\?[^\s\"']+)")
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][\w+.-]*://)[^/@\s]*@")
# Quoted values after a comparison: `= 'bob'`, `IN ('a', 'b')`, `LIKE '%x%'`, `, 'c'`.
_QUOTED_VALUE = re.compile(r"(?i)((?:=|<>|!=|<|>|\blike|\bin\s*\(|,)\s*)'(?:[^']|'')*'")
# PostgreSQL's unique-violation detail: Key (email)=(bob@example.com) already exists.
_KEY_VALUE = re.compile(r"(\)\s*=\s*\()([^)]*)(\))")
# SQL quoted in prose the way the detectors write it: `SELECT ... WHERE id = 5`
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_LOCAL_CLIENTS = frozenset({"", "[local]", "local", "-"})


def _sql_sub(m: re.Match) -> str:
    if m.group("ident") is not None or m.group("comment") is not None:
        return m.group(0)
    return "?"


class Redactor:
    """Redaction rules plus the address -> pseudonym table, so one report names each client
    consistently across its tables. ``frame(df, table)`` redacts a canonical table."""

    def __init__(self) -> None:
        self.pseudonyms: dict[str, str] = {}

    # -- values ---------------------------------------------------------------------------
    def sql(self, text: Any) -> Any:
        """SQL text with string/number literals replaced by ``?`` (see the module docs)."""
        if not isinstance(text, str) or not text:
            return text
        return _EMAIL.sub("[email]", _SQL.sub(_sql_sub, text))

    def plan(self, text: Any) -> Any:
        """A logged plan (JSON text): SQL literals redacted inside its string values only, so
        the JSON stays valid and costs/row counts stay; non-JSON text is treated as SQL."""
        if not isinstance(text, str) or not text:
            return text
        try:
            obj = json.loads(text)
        except ValueError:
            return self.sql(text)

        def walk(o: Any) -> Any:
            if isinstance(o, str):
                return self.sql(o)
            if isinstance(o, list):
                return [walk(v) for v in o]
            if isinstance(o, dict):
                return {k: walk(v) for k, v in o.items()}
            return o
        return json.dumps(walk(obj))

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

    def url(self, url: Any) -> Any:
        """A URL or request target with its query values and user-info redacted."""
        if not isinstance(url, str) or not url:
            return url
        url = _USERINFO.sub(r"\g<scheme>", url)
        fragment = ""
        if "#" in url:
            url, fragment = url.split("#", 1)
            fragment = "#?" if fragment else "#"
        if "?" in url:
            path, query = url.split("?", 1)
            url = f"{path}?{self.query_string(query)}"
        return _EMAIL.sub("[email]", url) + fragment

    def text(self, text: Any) -> Any:
        """Free text (messages, evidence): e-mails, addresses, URL query values, quoted values
        after comparisons and ``Key (col)=(value)`` values; other words and numbers kept."""
        if not isinstance(text, str) or not text:
            return text
        text = _BACKTICKED.sub(lambda m: "`" + self.sql(m.group(1)) + "`", text)
        text = _URL_IN_TEXT.sub(lambda m: self.url(m.group(0)), text)
        text = _EMAIL.sub("[email]", text)
        text = _IP.sub(lambda m: self.pseudonym(m.group(0)), text)
        text = _QUOTED_VALUE.sub(lambda m: m.group(1) + "?", text)
        text = _KEY_VALUE.sub(lambda m: m.group(1) + "?" + m.group(3), text)
        return text

    # -- tables ---------------------------------------------------------------------------
    # canonical table -> {column: rule}; other string columns get `text`.
    RULES: dict[str, dict[str, str]] = {
        "query_events": {"statement": "sql", "parameters": "sql", "plan": "plan",
                         "client": "client"},
        "server_events": {"statement": "sql", "message": "text", "detail": "text"},
        "http_requests": {"url": "url", "query": "query_string", "referer": "url",
                          "client": "client", "path": "text"},
        "digest": {"example": "sql", "fingerprint": "sql", "parameters": "sql"},
        "endpoints": {"endpoint": "url", "example": "url"},
        "findings": {"title": "text", "evidence": "text"},
    }
    # Columns that are names chosen by the operator or the program, not user data.
    KEEP = frozenset({"user_agent", "method", "protocol", "kind", "event", "database", "user",
                      "application", "session", "relation", "sqlstate", "rule", "area",
                      "practice", "severity", "fix", "file", "function", "format", "status",
                      "timestamp", "source_line", "line"})

    def frame(self, df: pd.DataFrame | None, table: str) -> pd.DataFrame | None:
        """A redacted copy of a canonical table (the input is not modified; attrs kept)."""
        if df is None:
            return None
        rules = self.RULES.get(table, {})
        out = df.copy()
        for col in out.columns:
            series = out[col]
            if not (pd.api.types.is_string_dtype(series.dtype)
                    or pd.api.types.is_object_dtype(series.dtype)):
                continue
            rule = rules.get(str(col))
            if rule is None:
                if str(col) in self.KEEP:
                    continue
                rule = "text"
            fn = getattr(self, rule)
            values = [fn(v) if isinstance(v, str) else v for v in series.tolist()]
            out[col] = pd.Series(values, index=series.index, dtype=series.dtype)
        out.attrs = dict(df.attrs)
        return out


def redact_sql(text: str) -> str:
    """:meth:`Redactor.sql` without a pseudonym table."""
    return Redactor().sql(text)


def redact_url(url: str) -> str:
    return Redactor().url(url)


def redact_text(text: str) -> str:
    return Redactor().text(text)


def redact_frame(df: pd.DataFrame, table: str, redactor: Redactor | None = None) -> pd.DataFrame:
    """A redacted copy of ``df`` (a canonical ``table``); pass one ``redactor`` for a whole
    report so pseudonyms agree across tables."""
    return (redactor or Redactor()).frame(df, table)
