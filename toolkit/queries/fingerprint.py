"""Query fingerprints: statements that differ only in their literals share one fingerprint.

The default rules are pt-query-digest's (percona-toolkit 3.x, ``QueryRewriter::fingerprint``,
https://github.com/percona/percona-toolkit/blob/3.x/lib/QueryRewriter.pm), applied in its order,
so a fingerprint here equals ``pt-fingerprint --query "..."`` (tests check it against the real
program). In order:

1. ``SELECT /*!40001 SQL_NO_CACHE */ * FROM `...`` -> ``mysqldump``; percona-toolkit's own
   checksum queries -> ``percona-toolkit``; ``administrator command: ...`` is kept as is;
   ``CALL proc(...)`` -> ``call proc``.
2. A multi-row ``INSERT`` / ``REPLACE ... VALUES (...), (...)`` is cut to its first tuple.
3. Comments are removed: ``/* ... */`` (but not ``/*!`` version hints), ``-- ...`` and ``# ...``.
4. ``USE db`` -> ``use ?`` (and nothing else is done).
5. Quoted strings (``'...'`` and ``"..."``, which also catches double-quoted identifiers) -> ``?``.
6. Numbers -> ``?``: every run starting with a digit, ``+`` or ``-`` (hex, floats, exponents),
   including digits inside identifiers (``t1`` -> ``t?``) unless
   ``keep_digits_in_identifiers=True`` (pt's ``--preserve-embedded-numbers``).
7. Whitespace collapsed to one space, leading whitespace removed; lowercased.
8. ``null`` -> ``?``; ``IN (...)`` / ``VALUE(S) (...)`` lists of placeholders -> ``in(?+)``;
   repeated ``UNION [ALL]`` of the same select -> ``select ... /*repeat union*/``.
9. The first ``limit ?, ?`` / ``limit ? offset ?`` -> ``limit ?``; ``ASC`` after ``ORDER BY``
   dropped (the default order).

Additions that pt-query-digest lacks (they do not change a MySQL statement's fingerprint):
PostgreSQL's ``$1`` parameters -> ``?`` (so ``execute`` of a prepared statement and the same
statement with literals agree), and ``keep_quoted_identifiers=True`` keeps ``"users"."id"`` (for
PostgreSQL, where ORMs quote every identifier; off by default, as in pt).

``readable=True`` is the form to show a person: it reads as SQL. Numbers become ``?`` only where
they are numeric literals, so operators stay (pt folds every ``+``/``-`` and digit run: ``balance
= balance + 10`` becomes ``balance = balance ? ?``, here ``balance = balance + ?``; a unary sign
goes with its number: ``x = -1.5`` -> ``x = ?``), and digits inside identifiers stay (``t1``).
It groups a little finer than pt (``+ ?`` and ``- ?`` differ); the default keeps pt's grouping
for comparisons with pt-query-digest.

``method="pglast"`` returns PostgreSQL's own parse-tree fingerprint (libpg_query via pglast, the
one pg_stat_statements-style tools use: 16 hex digits; ``IN (1,2,3)`` equals ``IN (1)``);
statements pglast cannot parse fall back to the default rules.

    >>> fingerprint("SELECT * FROM orders WHERE id IN (1, 2, 3) AND note = 'x'  LIMIT 10, 20")
    'select * from orders where id in(?+) and note = ? limit ?'
    >>> fingerprint_id("select ?")  # the first 16 hex digits of pt-query-digest's query ID
    '1FE1379FE2A31B8D'
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

import pandas as pd

from ..errors import MissingDependencyError

_MYSQLDUMP = re.compile(r"\ASELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `")
_PTOOLKIT = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/")
_CALL = re.compile(r"\A\s*(call\s+\S+)\(", re.I)
_MULTI_INSERT = re.compile(r"\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(", re.I | re.S)
_MLC = re.compile(r"/\*[^!].*?\*/", re.S | re.M)
_OLC = re.compile(r"(?:--|#)[^'\"\r\n]*(?=[\r\n]|\n?\Z)")  # Perl's \Z: end, or before a final \n
_USE = re.compile(r"\Ause \S+(?=\n?\Z)", re.I)
_ESCAPED_QUOTE = re.compile(r"\\[\"']")
_DQ = re.compile(r'".*?"', re.S)
_SQ = re.compile(r"'.*?'", re.S)
_DOLLAR = re.compile(r"\$[0-9]+\b")
_NUM = re.compile(r"[0-9+-][0-9a-f.xb+-]*")
_NUM_WORD = re.compile(r"\b[0-9+-][0-9a-f.xb+-]*")
_NUM_SUFFIX = re.compile(r"[xb.+-]\?")
# readable=True: whole numeric literals only (not inside identifiers, not operators)
_SQL_NUM = re.compile(r"(?<![\w$.?])(?:0x[0-9a-f]+|(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(?![\w.])", re.I)
_UNARY = re.compile(r"([=<>(,]|\b(?:and|or|not|then|else|when|in|values|select|return|between|like))(\s*)[-+]\s*\?", re.I)
_LEAD = re.compile(r"\A\s+")
_WS = re.compile(r"[ \n\t\r\f]+")
_NULL = re.compile(r"\bnull\b")
_LISTS = re.compile(r"\b(in|values?)(?:[\s,]*\([\s?,]*\))+")
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+")
_LIMIT = re.compile(r"\blimit \?(?:, ?\?| offset \?)?")
_ORDER_BY = re.compile(r"\bORDER BY ", re.I)
_ASC = re.compile(r"(.+?)\s+ASC", re.I)
_QUOTED_IDENT = re.compile(r'"(?:[^"]|"")*"')
_SENTINEL = "\x00{}\x00"


def _default(query: str, keep_digits: bool, keep_quoted: bool, readable: bool = False) -> str:
    # Each rule runs only when the text holds what its pattern needs to match (a substring test
    # is a C-level scan, a regular expression's search costs a call per rule): the same result
    # as running every rule, several times faster on the usual statement, which needs few.
    if query.startswith("SELECT /*!40001") and _MYSQLDUMP.match(query):
        return "mysqldump"
    comments = "/*" in query
    if comments and _PTOOLKIT.search(query):
        return "percona-toolkit"
    if query.startswith("administrator command: "):
        return query
    m = _CALL.match(query) if query[:1] in "cC" or query[:1].isspace() else None
    if m:
        return m.group(1).lower()
    # (the pattern is case-insensitive: I also matches U+0130 and U+0131)
    m = _MULTI_INSERT.match(query) if query[:1] in "iIrR\u0130\u0131" else None
    if m:
        query = m.group(1)
        comments = "/*" in query
    if comments:
        query = _MLC.sub("", query)
    if "--" in query or "#" in query:
        query = _OLC.sub("", query)
    if query[:4].casefold() == "use ":
        query, n = _USE.subn("use ?", query)
        if n:
            return query
    idents: list[str] = []
    if keep_quoted and '"' in query:  # park "identifiers" where the string and number rules cannot reach them
        def park(m: re.Match) -> str:
            idents.append(m.group(0))
            return _SENTINEL.format(chr(0xE000 + len(idents) - 1))
        query = _QUOTED_IDENT.sub(park, query)
    if "\\" in query:
        query = _ESCAPED_QUOTE.sub("", query)
    if not keep_quoted and '"' in query:
        query = _DQ.sub("?", query)
    if "'" in query:
        query = _SQ.sub("?", query)
    if "$" in query:
        query = _DOLLAR.sub("?", query)
    if readable:
        query = _UNARY.sub(r"\1\2?", _SQL_NUM.sub("?", query))
    else:
        query = _suffixes_folded((_NUM_WORD if keep_digits else _NUM).sub("?", query))
    out = _folded(query)
    if idents:
        # (by the exact sentinel: a \x00 of the statement's own beside one must not shift them)
        for k, ident in enumerate(idents):
            out = out.replace(_SENTINEL.format(chr(0xE000 + k)), ident)
    return out


_TAILS: dict[str, str] = {}  # text whose literals are ?, stripped -> its fingerprint (_folded)
_TAILS_MAX = 100_000
# fingerprint_many's: a statement's text after the joined literal pass, as it is (its ends and
# the suffix rule not yet done) -> its fingerprint. Apart from _TAILS, whose keys are texts
# after the suffix rule: one text can be both, with different fingerprints ("x x?").
_PARTS: dict[str, str] = {}
_SEP = "\x00"  # joins statements for one regex pass: no rule's pattern matches or spans it
# What, in a joined text (each statement after its own _SEP), makes a statement need more than
# the literal rules and the tail: a comment, a backslash escape, a double quote (_MARKS); a
# CALL / USE / administrator command head (_HEAD: the case-folded letters spelt out, as
# casefold() and re.I match them); a multi-row INSERT, which has ")," then "(" (_TUPLES, then
# _multi_row_insert decides). Each is searched alone: a literal start is scanned fast, a set of
# starts is not. They may flag more than needed (fingerprinted one by one, always right), never fewer.
_MARKS = ("/*", "--", "#", "\\", '"')
_HEAD = re.compile(r"\x00\s*(?:[cC][aA][lL][lL]|[uU][sS\u017f][eE] |administrator command: )")
_TUPLES = re.compile(r"\)\s*,\s*\(")
# the literal rules over a joined text: a quote is never closed by a neighbour's
_JOINED_SQ = re.compile(r"'[^'\x00]*'")


def _multi_row_insert(query: str) -> bool:
    # (the pattern is case-insensitive: I also matches U+0130 and U+0131)
    return query[:1] in "iIrR\u0130\u0131" and _MULTI_INSERT.match(query) is not None


def _special(text: str, queries: list[str], marks: bool) -> set[int]:
    """Which of ``queries``, joined in ``text`` (each after its own :data:`_SEP`), need
    :func:`_default`'s rules beyond the literals and the tail: those with one of
    :data:`_MARKS` (``marks``), else those with a :data:`_HEAD` or a multi-row INSERT."""
    special: set[int] = set()
    ends: list[int] = []  # ends[i]: where statement i+1's separator is

    def at(pos: int) -> int:  # the statement that holds text[pos]
        if not ends:
            ends.extend(accumulate(map((1).__add__, map(len, queries))))
        return bisect_right(ends, pos)

    if marks:
        for mark in _MARKS:
            pos = text.find(mark)
            while pos >= 0:
                i = at(pos)
                special.add(i)
                pos = text.find(mark, ends[i])
        return special
    special.update(at(m.start()) for m in _HEAD.finditer(text))
    m = _TUPLES.search(text)
    while m:
        i = at(m.start())
        if _multi_row_insert(queries[i]):
            special.add(i)
        m = _TUPLES.search(text, ends[i])
    return special


def _suffixes_folded(query: str) -> str:
    """Rule 6's last step: a hex/binary/decimal/sign prefix left before a ``?`` joins it."""
    if "?" in query and ("x?" in query or "b?" in query or ".?" in query or "+?" in query or "-?" in query):
        query = _NUM_SUFFIX.sub("?", query)
    return query


def fingerprint_many(queries: list[str], keep_digits: bool = False) -> list[str]:
    """``[fingerprint(q, keep_digits_in_identifiers=keep_digits) for q in queries]`` (the
    default method, not readable, quoted identifiers folded), faster on many distinct
    statements: all are joined by :data:`_SEP` into one text; a few searches of it find those
    that need rules beyond the literals (:func:`_special`: done one by one); the literal rules
    run once over the text of the others (no match reaches into a neighbour: each pattern
    stops at the separator); the tail rules run once per distinct literal-free text
    (:func:`_folded`)."""
    n = len(queries)
    text = _SEP + _SEP.join(queries)  # statement i follows the i-th separator
    if text.count(_SEP) != n or not n:  # a statement holds the separator itself
        return [_default(q, keep_digits, False) for q in queries]
    special: set[int] = set()
    plain = queries
    # the heads and multi-row INSERTs first: a bulk INSERT can be most of the text, so the
    # searches for the marks go faster without them
    for marks in (False, True):
        found = _special(text, plain, marks)
        if found:  # left out of the passes that follow (they go one by one)
            special |= found
            plain = list(plain) if plain is queries else plain
            for i in found:
                plain[i] = ""
            text = _SEP + _SEP.join(plain)
    if "'" in text:
        text = _JOINED_SQ.sub("?", text)
    if "$" in text:
        text = _DOLLAR.sub("?", text)
    text = (_NUM_WORD if keep_digits else _NUM).sub("?", text)
    parts = text.split(_SEP)
    del parts[0]
    known = _PARTS
    if len(known) >= _TAILS_MAX:
        known.clear()
    for part in dict.fromkeys(parts).keys() - known.keys():  # (a few hundred on most logs)
        known[part] = _folded(_suffixes_folded(part))
    out = list(map(known.__getitem__, parts))
    for i in special:
        out[i] = _default(queries[i], keep_digits, False)
    return out


def _folded(query: str) -> str:
    """The fingerprint of a text whose literals are ``?`` already: without leading whitespace
    and a last line break, then :func:`_tail`'s rules. Those depend on this text alone, and
    statements that differ only in their literals share it: done once per distinct text (a
    log of 100,000 distinct literal statements holds a few hundred such texts)."""
    if query[:1].isspace():
        query = _LEAD.sub("", query)
    if query.endswith("\n"):
        query = query[:-1]
    out = _TAILS.get(query)
    if out is None:
        if len(_TAILS) >= _TAILS_MAX:
            _TAILS.clear()
        out = _TAILS[query] = _tail(query)
    return out


def _tail(query: str) -> str:
    """Rules 7-9 (whitespace and case, null, lists, unions, limit, ASC) of a text whose
    literals are ``?`` already."""
    query = _WS.sub(" ", query).lower()
    if "null" in query:
        query = _NULL.sub("?", query)
    if "(" in query:
        query = _LISTS.sub(r"\1(?+)", query)
    if "union" in query:
        query = _UNION.sub(r"\1 /*repeat\2*/", query)
    if "limit ?" in query:
        query = _LIMIT.sub("limit ?", query, count=1)
    m = _ORDER_BY.search(query) if "order by " in query else None
    if m:
        # Perl: 1 while $query =~ s/\G(.+?)\s+ASC/$1/gi && pos $query; -- one anchored /g pass
        pos, parts = m.end(), []
        while True:
            a = _ASC.match(query, pos)
            if not a:
                break
            parts.append(a.group(1))
            pos = a.end()
        if parts:
            query = query[:m.end()] + "".join(parts) + query[pos:]
    return query


def _pglast(query: str) -> str:
    try:
        import pglast
    except ImportError:
        raise MissingDependencyError("pglast (for method='pglast')", "pip install pglast") from None
    try:
        return pglast.fingerprint(query)
    except Exception:  # not PostgreSQL (or not parseable): fall back to the text rules
        return _default(query, False, False)


def fingerprint(sql: str, *, keep_digits_in_identifiers: bool = False, method: str = "default",
                keep_quoted_identifiers: bool = False, readable: bool = False) -> str:
    """The fingerprint of one statement (see the module docstring for the rules).

    ``method`` is ``"default"`` (pt-query-digest's rules) or ``"pglast"`` (PostgreSQL's parse-tree
    fingerprint, 16 hex digits; needs pglast, else :class:`MissingDependencyError`).
    ``readable=True``: the form to show a person (numbers folded only where they are literals).

        >>> fingerprint("INSERT INTO t1 (a, b) VALUES (1, 'x'), (2, 'y')")
        'insert into t? (a, b) values(?+)'
        >>> fingerprint("select * from t1", keep_digits_in_identifiers=True)
        'select * from t1'
        >>> fingerprint("UPDATE accounts SET balance = balance + 10 WHERE id = -1", readable=True)
        'update accounts set balance = balance + ? where id = ?'
    """
    if method == "pglast":
        return _pglast(sql)
    if method != "default":
        raise ValueError(f"method must be 'default' or 'pglast', not {method!r}")
    return _default(sql, keep_digits_in_identifiers or readable, keep_quoted_identifiers, readable)


def fingerprint_id(fp: str) -> str:
    """A short stable id for a fingerprint: the first 16 hex digits (upper case) of the MD5 of
    its text, i.e. the start of the query ID pt-query-digest prints (``0x`` + 32 hex) for it."""
    return hashlib.md5(fp.encode("utf-8", "surrogatepass")).hexdigest().upper()[:16]


class Fingerprinter:
    """Fingerprints with a cache keyed by statement text: a log repeats few distinct statements
    many times, so each distinct text is fingerprinted once. The cache is cleared when it holds
    ``max_cache`` texts, which bounds memory on logs of ever-new literals."""

    def __init__(self, *, keep_digits_in_identifiers: bool = False, method: str = "default",
                 keep_quoted_identifiers: bool = False, readable: bool = False, max_cache: int = 200_000):
        if method not in ("default", "pglast"):
            raise ValueError(f"method must be 'default' or 'pglast', not {method!r}")
        if method == "pglast":
            _pglast("select 1")  # fail early when pglast is missing
        self.options = dict(keep_digits_in_identifiers=keep_digits_in_identifiers, method=method,
                            keep_quoted_identifiers=keep_quoted_identifiers, readable=readable)
        self.cache: dict[str, str] = {}
        self.max_cache = max_cache

    def __call__(self, sql: str) -> str:
        fp = self.cache.get(sql)
        if fp is None:
            if len(self.cache) >= self.max_cache:
                self.cache.clear()
            fp = self.cache[sql] = fingerprint(sql, **self.options)
        return fp

    def many(self, statements: Iterable[Any]) -> list[str | None]:
        """Fingerprints of ``statements`` in order; anything not a str (None, NaN, NA) gives None.
        The new distinct texts are fingerprinted together (:func:`fingerprint_many`)."""
        stmts = statements if isinstance(statements, list) else list(statements)
        cache = self.cache
        try:
            out = list(map(cache.get, stmts))  # one C-level pass; the cache holds str keys only
            if None not in out:
                return out
            texts = [s for s in dict.fromkeys(stmts) if isinstance(s, str) and s not in cache]
        except TypeError:  # an unhashable value: not a str, so None
            return [self(str(s)) if isinstance(s, str) else None for s in stmts]
        if not texts:
            return out
        opts = self.options
        if len(texts) > 16 and opts["method"] == "default" and not opts["readable"] \
                and not opts["keep_quoted_identifiers"]:
            fps = fingerprint_many(texts, opts["keep_digits_in_identifiers"])
        else:
            fps = [fingerprint(t, **opts) for t in texts]
        if len(cache) + len(texts) > self.max_cache:
            # full: start again from this call's texts, the ones it found cached kept with them
            # (they are answered from the cache below; they are in memory anyway)
            kept = {s: fp for s, fp in zip(stmts, out, strict=True) if fp is not None}
            cache.clear()
            cache.update(kept)
        cache.update(zip(texts, fps, strict=True))
        return list(map(cache.get, stmts))


def fingerprint_series(statements: pd.Series, **options) -> pd.Series:
    """Fingerprints of a whole Series of statements, computed once per distinct text.

    Returns a ``string`` Series aligned with ``statements`` (nulls stay null).

        >>> fingerprint_series(pd.Series(["select 1", "SELECT 2", None])).tolist()
        ['select ?', 'select ?', <NA>]
    """
    codes, uniques = pd.factorize(statements, use_na_sentinel=True)
    fper = Fingerprinter(**options)
    fps = pd.array(fper.many(uniques), dtype="string")
    out = fps.take(codes, allow_fill=True)
    return pd.Series(out, index=statements.index, name="fingerprint", dtype="string")
