"""The shape of a statement's filter, and index advice checked against that shape.

:func:`conditions` reads a WHERE clause (of a statement, a fingerprint, or a plan's ``Filter:``
line) into :class:`Condition` rows: which column (or expression), which kind of comparison.
:func:`index_advice` turns them into the fix a DBA would write, with the statement ready to
paste, the way pgBadger and pganalyze's index advisor word it:

- a leading-wildcard ``LIKE``/``ILIKE`` (``'%term%'``) cannot use a B-tree index: PostgreSQL
  wants a pg_trgm GIN index (or full-text search), MySQL/MariaDB a FULLTEXT index;
- a function on the column (``lower(email) = ?``) needs an expression index on that expression;
- ``a = ? OR b = ?`` across columns needs an index per column (BitmapOr / index_merge) or a UNION;
- a column with few distinct values (``status``) or a filter that keeps a large share of the
  table gains little from a B-tree: a partial index, or the column after a selective one;
- several columns: equality columns first, then one range column (a B-tree uses columns left
  to right and stops at the first range).

Example::

    >>> conds, has_or = conditions("WHERE customer_id = $1 AND created_at > $2 ORDER BY id")
    >>> [(c.column, c.kind) for c in conds], has_or
    ([('customer_id', 'eq'), ('created_at', 'range')], False)
    >>> index_advice("orders", conds).statement
    'CREATE INDEX CONCURRENTLY ON orders (customer_id, created_at);'
    >>> index_advice("orders", conditions("((note)::text ~~ '%abc%'::text)")[0]).kind
    'trigram'
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence

_CAST = re.compile(r"::\s*(?:\"[^\"]+\"|[a-z_][\w ]*?)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])?(?=[\s),=<>!~]|$)", re.I)
_OPERATOR = re.compile(
    r"(!~~\*|!~~|~~\*|~~|<>|!=|<=|>=|=|<|>|\bnot\s+i?like\b|\bi?like\b|\bnot\s+in\b|\bin\b|"
    r"\bbetween\b|\bis\b|@@|\bregexp\b|\brlike\b|~\*?|\bsimilar\s+to\b)", re.I)
_COLUMN = re.compile(r'^[`"]?([A-Za-z_][\w$]*)[`"]?(?:\s*\.\s*[`"]?([A-Za-z_][\w$]*)[`"]?)?$')
_FUNCTION = re.compile(r"^([A-Za-z_][\w.]*)\s*\((.*)\)$", re.S)
_IDENT = re.compile(r'[`"]?\b([A-Za-z_][\w$]*)\b[`"]?(?!\s*\()')
_WHERE_END = re.compile(r"\b(?:order\s+by|group\s+by|having|limit|offset|returning|for\s+update|"
                        r"for\s+share|union|window|fetch)\b", re.I)
_LITERAL = re.compile(r"^'((?:[^']|'')*)'")
# a value written first, as ORMs write their lazy loads: `? = items.order_id`, `:param_1 = id`
_VALUE_FIRST = re.compile(r"^(?:\?|\$\d+|%s|%\(\w+\)s|:\w+|'(?:[^']|'')*'|-?\d+(?:\.\d+)?)$")
_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_PARAM = re.compile(r"\$(\d+)\s*=\s*(?:'((?:[^']|'')*)'|(NULL))")
_KEYWORDS = {"and", "or", "not", "is", "null", "true", "false", "any", "all", "array", "like", "ilike",
             "in", "between", "distinct", "from", "select", "where", "case", "when", "then", "else",
             "end", "cast", "as", "text", "integer", "varchar", "numeric", "timestamp", "date"}


@dataclasses.dataclass(frozen=True)
class Condition:
    """One comparison of a filter.

    ``kind``: "eq" (``=``, ``IN``, ``= ANY``, ``IS``), "range" (``<``, ``>``, ``BETWEEN``),
    "pattern" (``LIKE``/``ILIKE``/``~~``), "negated" (``<>``, ``NOT LIKE``, ``NOT IN``: no index
    helps), "other". ``column`` is the column compared (for a function of a column, the column
    inside it), ``expression`` the left side as written when it is a function (``lower(email)``),
    ``value`` the compared literal where the text has one (a LIKE pattern)."""

    column: str | None
    kind: str
    operator: str
    expression: str | None = None
    value: str | None = None

    @property
    def leading_wildcard(self) -> bool:
        """A LIKE/ILIKE pattern that starts with ``%`` or ``_``: no B-tree index can serve it."""
        return self.kind == "pattern" and self.value is not None and self.value[:1] in ("%", "_")


@dataclasses.dataclass(frozen=True)
class Advice:
    """``kind``: "trigram", "fulltext", "expression", "or", "low_selectivity", "btree" or "none";
    ``text``: the fix in words; ``statement``: the DDL to paste ("" when there is none)."""

    kind: str
    text: str
    statement: str = ""


def _top_level(text: str) -> Iterator[tuple[int, int]]:
    """(position, parenthesis depth) of each character of ``text`` outside quotes ('...',
    "...", `...`), the depth counted before a closing parenthesis."""
    depth, quote = 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in ("'", '"', "`"):
            quote = ch
            continue
        if ch == ")":
            depth -= 1
        yield i, depth
        if ch == "(":
            depth += 1


def _word_at(low: str, i: int, words: re.Pattern) -> re.Match | None:
    """``words`` matched at ``i`` when a word starts there."""
    if i > 0 and (low[i - 1].isalnum() or low[i - 1] == "_"):
        return None
    return words.match(low, i)


_WHERE = re.compile(r"where\b")
_JOINERS = re.compile(r"(and|or|between)\b")


def where_clause(sql: str) -> str | None:
    """The top-level WHERE clause of ``sql`` (without ORDER BY, LIMIT, ...), or None."""
    if not sql:
        return None
    low, start = sql.lower(), None
    for i, depth in _top_level(sql):
        if depth < 0 and start is not None:
            return sql[start:i]  # the end of the subquery the WHERE belongs to
        if depth != 0:
            continue
        if start is None and _word_at(low, i, _WHERE):
            start = i + 5
        elif start is not None and _word_at(low, i, _WHERE_END):
            return sql[start:i]
    return sql[start:] if start is not None else None


def _split(text: str) -> list[tuple[str, str]]:
    """Top-level parts of a boolean expression with the word before each ("", "and", "or");
    the AND of ``BETWEEN a AND b`` does not split."""
    parts, last, between, word, skip = [], 0, False, "", -1
    low = text.lower()
    for i, depth in _top_level(text):
        if depth != 0 or i < skip:
            continue
        m = _word_at(low, i, _JOINERS)
        if not m:
            continue
        if m.group(1) == "between":
            between = True
        elif m.group(1) == "and" and between:
            between = False
        else:
            parts.append((word, text[last:i]))
            word, last = m.group(1), i + len(m.group(1))
        skip = i + len(m.group(1))
    parts.append((word, text[last:]))
    return [(w, p.strip()) for w, p in parts if p.strip()]


def _unwrap(text: str) -> str:
    """Remove parentheses that enclose the whole text."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


def _atom(text: str, params: Mapping[int, str]) -> Condition:
    text = _CAST.sub("", _unwrap(text))
    m = _OPERATOR.search(text)
    if not m:
        return Condition(None, "other", "")
    lhs, op, rhs = _unwrap(text[: m.start()]), " ".join(m.group(1).lower().split()), text[m.end():].strip()
    if _VALUE_FIRST.match(lhs) and _COLUMN.match(_unwrap(rhs)) and op in ("=", *_MIRRORED):
        lhs, op, rhs = _unwrap(rhs), _MIRRORED.get(op, op), lhs
    kind = ("eq" if op in ("=", "in", "is") else "range" if op in ("<", ">", "<=", ">=", "between")
            else "pattern" if op in ("like", "ilike", "~~", "~~*") else
            "negated" if op in ("<>", "!=", "not like", "not ilike", "!~~", "!~~*", "not in") else "other")
    value = None
    lit = _LITERAL.match(_unwrap(rhs))
    if lit:
        value = lit.group(1).replace("''", "'")
    elif re.match(r"\$\d+", rhs) and int(rhs[1:].split()[0].rstrip(")")) in params:
        value = params[int(rhs[1:].split()[0].rstrip(")"))]
    col = _COLUMN.match(lhs)
    if col:
        return Condition(col.group(2) or col.group(1), kind, op, None, value)
    fn = _FUNCTION.match(lhs)
    if fn:
        inner = [n for n in _IDENT.findall(_CAST.sub("", fn.group(2))) if n.lower() not in _KEYWORDS]
        # PostgreSQL's plans write lower((email)::text): the cast goes, then the doubled parentheses
        expression = re.sub(r"\(\(\s*([\w.]+)\s*\)\)", r"(\1)", _CAST.sub("", lhs))
        return Condition(inner[0] if inner else None, kind, op, expression, value)
    return Condition(None, kind, op, None, value)


def parameters(text: str | None) -> dict[int, str]:
    """PostgreSQL's logged parameters (``$1 = 'a', $2 = NULL``) by number."""
    if not text:
        return {}
    return {int(n): v.replace("''", "'") for n, v, _null in _PARAM.findall(str(text))}


def conditions(where: str | None, params: Mapping[int, str] | str | None = None
               ) -> tuple[list[Condition], bool]:
    """The comparisons of a filter (a WHERE clause, a statement, or a plan's ``Filter:``), and
    whether they are joined by an OR anywhere. ``params`` ($1 = ... as logged, or a mapping)
    give ``$n`` placeholders their values (a LIKE pattern's wildcard)."""
    if where is None:
        return [], False
    params = parameters(params) if isinstance(params, str) or params is None else params
    if re.search(r"\bwhere\b", where, re.I):
        where = where_clause(where) or ""
    out: list[Condition] = []
    has_or = False
    todo = [where]
    while todo:
        parts = _split(_unwrap(todo.pop()))
        has_or |= any(w == "or" for w, _ in parts)
        for _w, part in parts:
            inner = _unwrap(part)
            if len(_split(inner)) > 1:
                todo.append(inner)
            else:
                out.append(_atom(inner, params))
    return out, has_or


# Columns that hold keys, as ORMs and schemas name them: id, customer_id, userId, uuid, sku, ...
KEY_COLUMN = re.compile(r"^(?:id|uuid|guid|pk|sku|slug|code|key)$|_(?:id|uuid|guid|key|code|sku|pk)$|[a-z]Id$")


def is_key_lookup(conds: Sequence[Condition]) -> bool:
    """A lookup by key: an equality (``=``, ``IN``) on a key column (:data:`KEY_COLUMN`: ``id``,
    ``customer_id``, ``uuid``, ``sku``, ...), and no pattern or negated test.

        >>> is_key_lookup(conditions("WHERE customer_id = ? AND status = ?")[0])
        True
        >>> is_key_lookup(conditions("WHERE carrier = ? AND shipped_at >= ?")[0])
        False
    """
    return any(c.kind == "eq" and c.expression is None and c.column and KEY_COLUMN.search(c.column)
               for c in conds) and not any(c.kind in ("pattern", "negated") for c in conds)


def _create(relation: str, body: str, dialect: str, using: str = "") -> str:
    if dialect == "mysql":
        return f"ALTER TABLE {relation} ADD INDEX ({body});"
    return f"CREATE INDEX CONCURRENTLY ON {relation}{' USING ' + using if using else ''} ({body});"


def index_advice(relation: str, conds: Sequence[Condition], *, has_or: bool = False,
                 dialect: str = "postgresql", kept_share: float | None = None,
                 few_values: Mapping[str, Sequence[str]] | None = None) -> Advice:
    """The index fix for a scan of ``relation`` filtered by ``conds``.

    ``dialect``: "postgresql" or "mysql" (MySQL and MariaDB). ``kept_share``: the share of the
    rows read that the filter kept (from a plan), ``few_values``: columns seen with only a few
    distinct values in the log (e.g. ``{"status": ["new", "paid"]}``); both mark columns an
    index alone would not help."""
    few_values = few_values or {}
    wild = [c for c in conds if c.leading_wildcard]
    if wild:
        c = wild[0]
        col = c.expression or c.column
        if dialect == "mysql":
            stmt = f"ALTER TABLE {relation} ADD FULLTEXT INDEX ({c.column});"
            return Advice("fulltext", (
                f"`{col} LIKE '{c.value}'` starts with a wildcard, so no B-tree index can serve it "
                f"(an index on ({c.column}) would not be used). For word searches use a FULLTEXT index "
                f"and MATCH({c.column}) AGAINST (...): `{stmt}`; for substrings inside words, an "
                "n-gram FULLTEXT parser (MySQL: WITH PARSER ngram) or a search engine."), stmt)
        op = "gin_trgm_ops"
        stmt = (f"CREATE EXTENSION IF NOT EXISTS pg_trgm; "
                f"{_create(relation, f'{col} {op}', dialect, 'gin')}")
        return Advice("trigram", (
            f"`{col} {'ILIKE' if c.operator in ('ilike', '~~*') else 'LIKE'} '{c.value}'` starts with a "
            f"wildcard, so no B-tree index can serve it (an index on ({c.column}) would not be used). "
            f"A trigram index can (LIKE and ILIKE, any position): `{stmt}`; for word searches, "
            "full-text search (to_tsvector(...) @@ websearch_to_tsquery(...) on a GIN index)."), stmt)
    # LIKE 'abc%' (no leading wildcard) is a range scan of a B-tree, like col >= 'abc' AND col < 'abd'
    usable = [c if c.kind != "pattern" else dataclasses.replace(c, kind="range") for c in conds
              if c.column and (c.kind in ("eq", "range") or (c.kind == "pattern" and c.value is not None))]
    prefix = any(c.kind == "pattern" and c.value is not None for c in conds)
    if has_or:
        cols = list(dict.fromkeys(c.expression or c.column for c in usable))
        if len(cols) > 1:
            stmts = " ".join(_create(relation, col if "(" not in col else f"({col})", dialect) for col in cols)
            how = "index_merge" if dialect == "mysql" else "a BitmapOr"
            return Advice("or", (
                f"The filter ORs different columns ({', '.join(cols)}): one index cannot serve it. "
                f"Index each column so the planner can combine them ({how}): `{stmts}`, or rewrite "
                "the query as a UNION of one indexed query per column."), stmts)
    funcs = [c for c in usable if c.expression]
    if funcs:
        c = funcs[0]
        if dialect == "mysql":
            stmt = f"ALTER TABLE {relation} ADD INDEX (({c.expression}));"
            return Advice("expression", (
                f"The filter applies {c.expression.split('(')[0]}() to {c.column}, so an index on "
                f"({c.column}) cannot be used. Index the expression: MySQL 8.0.13+ `{stmt}`; MariaDB: "
                f"a generated column `ALTER TABLE {relation} ADD {c.column}_key ... AS ({c.expression}) "
                f"VIRTUAL, ADD INDEX ({c.column}_key);` and filter on it."), stmt)
        stmt = _create(relation, f"({c.expression})", dialect)
        return Advice("expression", (
            f"The filter applies {c.expression.split('(')[0]}() to {c.column}, so an index on "
            f"({c.column}) cannot be used. Index the expression itself, exactly as the query writes "
            f"it: `{stmt}`"), stmt)
    eq = list(dict.fromkeys(c.column for c in usable if c.kind == "eq"))
    rng = list(dict.fromkeys(c.column for c in usable if c.kind == "range" and c.column not in eq))
    few = [c for c in eq if c in few_values]
    selective = [c for c in eq if c not in few_values]
    if not eq and not rng:
        return Advice("none", "No column of this filter can use an index (negated or computed "
                      "tests); rewrite the filter, or precompute the result.")
    keeps_many = kept_share is not None and kept_share >= 0.1
    if not rng and (not selective or keeps_many):
        col = few[0] if few else eq[0]
        values = ", ".join(map(str, list(few_values.get(col, []))[:4]))
        share = f"the filter keeps {100 * kept_share:.0f} % of the rows it reads" if kept_share is not None else ""
        what = f"{col} has few distinct values ({values})" if values else ""
        why = "; ".join(x for x in (what, share) if x)
        return Advice("low_selectivity", (
            f"{why}: a B-tree index on ({col}) alone would barely narrow the scan. If the query "
            f"asks for a rare value, a partial index serves it: "
            f"`CREATE INDEX CONCURRENTLY ON {relation} (id) WHERE {col} = '<rare value>';`; "
            "otherwise put a selective column first, or precompute the result (summary table, "
            "materialized view)."))
    cols = selective + few + rng[:1]
    stmt = _create(relation, ", ".join(cols), dialect)
    order = (" (equality columns first, then the range column: a B-tree stops at the first range)"
             if rng and (selective or few) else "")
    lead = (f"Index suggestion for {relation}{order}: `{stmt}` then check with EXPLAIN "
            + ("(ANALYZE, BUFFERS)" if dialect != "mysql" else "")
            + " that the plan uses it").replace("EXPLAIN  that", "EXPLAIN that")
    if few and selective:
        lead += f"; {', '.join(few)} has few distinct values, so it comes after {selective[0]}"
    if prefix and dialect != "mysql":
        lead += ("; for LIKE 'prefix%' in a database whose collation is not C, declare the column "
                 "with text_pattern_ops")
    return Advice("btree", lead + ".", stmt)
