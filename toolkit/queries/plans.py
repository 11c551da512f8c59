"""PostgreSQL query plans (EXPLAIN, EXPLAIN ANALYZE, auto_explain) as a DataFrame of plan nodes.

Format reference (PostgreSQL 15): https://www.postgresql.org/docs/15/using-explain.html and
https://www.postgresql.org/docs/15/auto-explain.html; the labels come from
``src/backend/commands/explain.c`` (REL_15_STABLE).

Both output formats are read, and give the same rows:

- ``FORMAT JSON`` (and auto_explain's ``log_format = json``): a list
  ``[{"Plan": {...}, "Planning Time": 0.45, "Execution Time": 0.19}]`` from EXPLAIN, an object
  ``{"Query Text": "...", "Plan": {...}}`` from auto_explain, or a bare plan node;
- text (and auto_explain's default ``log_format = text``), e.g.::

      Nested Loop  (cost=0.57..408.88 rows=50 width=19) (actual time=0.034..0.143 rows=49 loops=1)
        ->  Index Scan using customers_pkey on customers c  (cost=0.28..13.26 rows=50 width=17) (...)
              Index Cond: (id < 200)
              Filter: (country = 'DE'::text)
              Rows Removed by Filter: 150

Figures go through :mod:`toolkit.schema`: one that is not a number of its kind (``1.2.3``,
``1e309``, a list in JSON, a count beyond int64) becomes null and the node stays; a JSON node
that is not an object with a text ``Node Type`` (or whose ``Plans`` is not a list) is a
ParseError.

Quirks handled: a child's ``->`` column gives its depth; ``SubPlan 1`` / ``InitPlan 1 (returns
$0)`` label the node below them; ``(never executed)`` nodes have no actual figures; the text
label folds several JSON fields (``Hash Left Join`` = Node Type ``Hash Join`` + Join Type
``Left``; ``HashAggregate`` = ``Aggregate`` + Strategy ``Hashed``; ``Parallel``/``Partial``/
``Finalize`` prefixes): ``node_type`` is always the text label, so both formats agree; auto_explain
lines in a log start with a TAB, psql's aligned output adds a ``QUERY PLAN`` header, ``+`` line
continuations and a ``(N rows)`` footer: all are stripped.

``Actual Total Time`` and ``Actual Rows`` are averages per loop: ``actual_total_ms`` multiplies
by ``actual_loops`` (below a ``Gather``, the time of every process that ran the node: the work
done), and ``wall_ms`` divides that by the processes that ran it side by side (``Workers
Launched`` + the leader, as PostgreSQL counts its loops): the time the query waited for it, never
more than the query took. ``self_ms`` is wall time too, so a plan tree adds up to its query.

Example::

    >>> nodes = read_plan('[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", '
    ...                   '"Plan Rows": 5, "Actual Rows": 500, "Actual Loops": 1, '
    ...                   '"Actual Total Time": 2.5, "Rows Removed by Filter": 9500}}]')
    >>> nodes.loc[0, ["node_type", "relation", "rows_removed_by_filter", "misestimate"]].tolist()
    ['Seq Scan', 't', 9500, 100.0]
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from .. import schema
from ..errors import InputError, ParseError
from ..sources import load_json

MISESTIMATE_FACTOR = 10.0  # a node's rows are "misestimated" when off by this factor either way

schema.register_table("plan_nodes", [
    ("plan_id", "int", "which plan (0 for a single plan; one per event with plan_nodes(events))"),
    ("node_id", "int", "0 for the root, then depth-first in EXPLAIN's order"),
    ("parent_id", "int", "null for the root"),
    ("depth", "int", "0 for the root"),
    ("node_type", "str", "EXPLAIN's text label, e.g. 'Seq Scan', 'Hash Left Join', 'HashAggregate'"),
    ("parent_relationship", "str", "Outer / Inner / SubPlan / InitPlan / Member (JSON only, "
                                   "SubPlan/InitPlan also from text)"),
    ("subplan_name", "str", "e.g. 'SubPlan 1', 'InitPlan 1 (returns $0)'"),
    ("relation", "str", "table scanned"),
    ("index", "str", "index used"),
    ("alias", "str", ""),
    ("startup_cost", "float", "planner cost units"),
    ("total_cost", "float", "planner cost units"),
    ("plan_rows", "float", "estimated rows per loop"),
    ("actual_rows", "float", "rows per loop (average over loops)"),
    ("actual_loops", "int", "times the node ran; 0 when never executed"),
    ("actual_startup_ms", "float", "ms to the first row, per loop"),
    ("actual_time_ms", "float", "ms per loop (EXPLAIN's 'actual time' upper figure)"),
    ("actual_total_ms", "float", "actual_time_ms x actual_loops: the node's time with its children, "
                                 "every parallel process's added up"),
    ("wall_ms", "float", "actual_total_ms / the processes that ran the node side by side (below a "
                         "Gather: workers launched + leader): its wall time with its children"),
    ("self_ms", "float", "wall_ms minus its children's (>= 0): wall time in the node itself"),
    ("rows_total", "float", "actual_rows x actual_loops"),
    ("filter", "str", "Filter condition"),
    ("rows_removed_by_filter", "int", "total over loops, as EXPLAIN prints it"),
    ("workers_launched", "int", "parallel workers a Gather / Gather Merge started"),
    ("index_cond", "str", "Index Cond (or Recheck Cond)"),
    ("join_cond", "str", "Hash Cond / Merge Cond / Join Filter"),
    ("sort_key", "str", ""),
    ("sort_method", "str", "e.g. 'quicksort', 'external merge'"),
    ("sort_space_kb", "int", "memory or disk used by the sort"),
    ("sort_space_type", "str", "Memory / Disk"),
    ("shared_hit_blocks", "int", "with BUFFERS"), ("shared_read_blocks", "int", "with BUFFERS"),
    ("temp_read_blocks", "int", "with BUFFERS"), ("temp_written_blocks", "int", "with BUFFERS"),
    ("misestimate", "float", "max(actual/estimated, estimated/actual) rows, each floored at 1"),
    ("misestimated", "bool", "misestimate >= the threshold (10 by default)"),
    ("never_executed", "bool", ""),
])

# JSON key -> column, for the keys copied as they are.
_JSON_KEYS = {
    "Relation Name": "relation", "Index Name": "index", "Alias": "alias",
    "Startup Cost": "startup_cost", "Total Cost": "total_cost", "Plan Rows": "plan_rows",
    "Actual Rows": "actual_rows", "Actual Loops": "actual_loops",
    "Actual Startup Time": "actual_startup_ms", "Actual Total Time": "actual_time_ms",
    "Filter": "filter", "Rows Removed by Filter": "rows_removed_by_filter",
    "Index Cond": "index_cond", "Sort Method": "sort_method", "Sort Space Used": "sort_space_kb",
    "Sort Space Type": "sort_space_type", "Parent Relationship": "parent_relationship",
    "Subplan Name": "subplan_name", "Workers Launched": "workers_launched",
    "Shared Hit Blocks": "shared_hit_blocks", "Shared Read Blocks": "shared_read_blocks",
    "Temp Read Blocks": "temp_read_blocks", "Temp Written Blocks": "temp_written_blocks",
}
# Text property "Key: value" -> column.
_TEXT_KEYS = {"Filter": "filter", "Rows Removed by Filter": "rows_removed_by_filter",
              "Index Cond": "index_cond", "Hash Cond": "join_cond", "Merge Cond": "join_cond",
              "Join Filter": "join_cond", "Sort Key": "sort_key", "Workers Launched": "workers_launched"}
_INT_COLS = ("actual_loops", "rows_removed_by_filter", "workers_launched", "sort_space_kb", "shared_hit_blocks",
             "shared_read_blocks", "temp_read_blocks", "temp_written_blocks")
# Node types whose "on X" names something other than a table.
_NOT_A_RELATION = {"CTE Scan", "Function Scan", "Subquery Scan", "WorkTable Scan",
                   "Table Function Scan", "Named Tuplestore Scan", "Values Scan"}
_AGG_STRATEGY = {"Plain": "Aggregate", "Sorted": "GroupAggregate", "Hashed": "HashAggregate",
                 "Mixed": "MixedAggregate"}

_NUM = r"-?[\d.]+(?:e[-+]?\d+)?"
_NODE = re.compile(
    r"^(?P<indent>\s*)(?P<arrow>->\s+)?(?P<label>\S.*?)"
    rf"(?:\s+\(cost=(?P<sc>{_NUM})\.\.(?P<tc>{_NUM}) rows=(?P<rows>{_NUM}) width=\d+\))?"
    rf"(?:\s+\((?:actual time=(?P<as>{_NUM})\.\.(?P<at>{_NUM}) rows=(?P<ar>{_NUM}) loops=(?P<al>\d+)"
    rf"|actual rows=(?P<ar2>{_NUM}) loops=(?P<al2>\d+)|(?P<never>never executed))\))?\s*$")
_PROP = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Z][A-Za-z /]*?):\s*(?P<value>.*)$")
_SUBPLAN = re.compile(r"^(?P<indent>\s*)(?P<name>(?:SubPlan|InitPlan) \d+.*|CTE \S+)$")
_SORT = re.compile(r"^(?P<method>[a-z -]+?)\s+(?P<type>Memory|Disk):\s*(?P<kb>\d+)kB")
_BUFFERS = re.compile(r"(shared|local|temp) ((?:(?:hit|read|dirtied|written)=\d+\s*)+)")
_TIME = re.compile(rf"^(Planning|Execution) Time: ({_NUM}) ms")
# explain.c's node names: a plan printed without costs must start with one of them
_KNOWN_NODE = re.compile(
    r"^(?:Parallel |Partial |Finalize )*(?:Result|ProjectSet|Insert|Update|Delete|Merge|Append|"
    r"Merge Append|Recursive Union|BitmapAnd|BitmapOr|Nested Loop|\w+ (?:\w+ )?Join|Seq Scan|"
    r"Sample Scan|Gather|Gather Merge|Index Scan|Index Only Scan|Bitmap Index Scan|"
    r"Bitmap Heap Scan|Tid Scan|Tid Range Scan|Subquery Scan|Function Scan|Table Function Scan|"
    r"Values Scan|CTE Scan|Named Tuplestore Scan|WorkTable Scan|Foreign Scan|Custom Scan|"
    r"Materialize|Memoize|Sort|Incremental Sort|Group|Aggregate|GroupAggregate|HashAggregate|"
    r"MixedAggregate|WindowAgg|Unique|SetOp|HashSetOp|LockRows|Limit|Hash)\b")
_PSQL_NOISE = re.compile(r"^\s*(QUERY PLAN|-+|\(\d+ rows?\))\s*$")


def read_plan(plan: Any, *, misestimate: float = MISESTIMATE_FACTOR) -> pd.DataFrame:
    """One plan (EXPLAIN JSON or text, auto_explain JSON or text, or a path to a file holding
    one) -> the ``plan_nodes`` table, one row per node, root first.

    ``df.attrs`` carries ``planning_ms``, ``execution_ms`` and ``query_text`` where the plan
    has them. Raises :class:`~toolkit.errors.ParseError` when the input is not a plan.
    """
    rows, attrs = _rows(plan)
    df = _frame(rows, misestimate)
    df.attrs.update(attrs)
    return df


def _rows(plan: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    text, parsed, path = _load(plan)
    rows: list[dict[str, Any]] = []
    attrs: dict[str, Any] = {}
    if parsed is not None:
        tops = parsed if isinstance(parsed, list) else [parsed]
        for plan_id, top in enumerate(tops):
            if not isinstance(top, dict):
                raise ParseError("a JSON plan must be an object or a list of objects", path, 1,
                                 expected='{"Plan": {"Node Type": ...}}')
            root = top.get("Plan", top)
            if not isinstance(root, dict) or "Node Type" not in root:
                raise ParseError("no \"Plan\" with a \"Node Type\" in this JSON", path, 1,
                                 expected='EXPLAIN (FORMAT JSON) output')
            _attrs_from_json(top, attrs)
            rows.extend(dict(r, plan_id=plan_id) for r in _walk_json(root, path))
    else:
        rows = [dict(r, plan_id=0) for r in _parse_text(text, path, attrs)]
    return rows, attrs


def plan_nodes(evidence: Any, *, misestimate: float = MISESTIMATE_FACTOR,
               fingerprint: str | None = None) -> pd.DataFrame:
    """Plan nodes of every logged plan in ``query_events`` (the ``plan`` column), or of one plan.

    With events, ``plan_id`` numbers the plans in event order and each row also carries the
    event's ``event_index`` (its index label), ``session``, ``timestamp``, ``duration_ms``,
    ``statement`` and ``source_line``. Plans that cannot be read are left out and counted in
    ``df.attrs["unreadable_plans"]``. ``fingerprint`` keeps the plans of the statements with
    that fingerprint (:func:`toolkit.fingerprint`, as in a digest's ``fingerprint`` column).

        >>> plan_nodes(events).query("misestimated")           # doctest: +SKIP
        >>> plan_nodes(events, fingerprint=tk.digest(events)["fingerprint"].iloc[0])  # doctest: +SKIP
    """
    if not isinstance(evidence, pd.DataFrame):
        return read_plan(evidence, misestimate=misestimate)
    if "plan" not in evidence.columns:
        raise InputError("plan_nodes() needs query events with a 'plan' column "
                         "(or one plan as JSON or text)")
    logged = evidence[evidence["plan"].notna()]
    rows: list[dict[str, Any]] = []
    bad = 0
    context = [c for c in ("session", "timestamp", "duration_ms", "statement", "source_line")
               if c in evidence.columns]
    records = logged[context].to_dict("records")
    plan_id = 0
    for label, plan, event in zip(logged.index, logged["plan"], records, strict=True):
        try:
            nodes, attrs = _rows(str(plan))
        except ParseError:
            bad += 1
            continue
        if "statement" in event and pd.isna(event["statement"]) and attrs.get("query_text"):
            event["statement"] = attrs["query_text"]
        if fingerprint is not None and not _has_fingerprint(event.get("statement"), fingerprint):
            continue
        rows.extend({**r, **event, "plan_id": plan_id, "event_index": label}
                    for r in nodes if r["plan_id"] == 0)
        plan_id += 1
    out = _frame(rows, misestimate)
    for c in context:  # present even when no plan could be read
        if c not in out.columns:
            out[c] = pd.Series(dtype=evidence[c].dtype)
    if "event_index" not in out.columns:
        out["event_index"] = pd.Series(dtype=evidence.index.dtype)
    out.attrs = {"unreadable_plans": bad}
    return out


def _has_fingerprint(statement: Any, fp: str) -> bool:
    from .fingerprint import fingerprint

    return isinstance(statement, str) and fingerprint(statement) == fp


# --------------------------------------------------------------------------- input

def _load(plan: Any) -> tuple[str, Any, str | None]:
    """-> (text, parsed JSON or None, path)."""
    path = None
    if isinstance(plan, (dict, list)):
        return "", plan, None
    if isinstance(plan, bytes):
        plan = plan.decode("utf-8", "replace")
    if isinstance(plan, os.PathLike) or (isinstance(plan, str) and "\n" not in plan
                                         and not plan.lstrip().startswith(("{", "["))
                                         and os.path.isfile(plan)):
        path = os.fspath(plan)
        from ..sources import open_source
        plan = open_source(path).read_text()
    if not isinstance(plan, str):
        raise InputError(f"read_plan() takes JSON or text (str, bytes, dict, list) or a path, "
                         f"not {type(plan).__name__}")
    text = _clean(plan)
    first = text.lstrip().split("\n", 1)
    if len(first) == 2 and first[0].rstrip().endswith("plan:"):  # a whole auto_explain log record
        text = _clean(first[1])
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return text, load_json(stripped, path, what="EXPLAIN (FORMAT JSON) output"), path
    return text, None, path


def _clean(text: str) -> str:
    """Strip psql's decorations and auto_explain's leading TAB, keep everything else."""
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    for line in lines:
        if _PSQL_NOISE.match(line):
            continue
        if line.endswith("+") and (line.endswith(" +") or line.rstrip("+").endswith(" ")):
            line = line[:-1].rstrip()
        out.append(line)
    # auto_explain lines start with one TAB; psql's aligned output with one space
    for prefix in ("\t", " "):
        body = [x for x in out if x.strip()]
        if body and all(x.startswith(prefix) for x in body):
            out = [x[len(prefix):] for x in out]
    return "\n".join(out)


def _attrs_from_json(top: dict, attrs: dict) -> None:
    for key, name in (("Planning Time", "planning_ms"), ("Execution Time", "execution_ms"),
                      ("Query Text", "query_text")):
        if key in top and name not in attrs:
            convert = schema.text_value if name == "query_text" else schema.float_value
            value = convert(top[key], key)[0]  # of the wrong type or not finite: left out
            if value is not None:
                attrs[name] = value


# The JSON keys' values by the type of their column: numbers through toolkit.schema (a value of
# the wrong type, not finite or out of range becomes null: the node stays), text as text.
_INT_KEYS = {key for key, col in _JSON_KEYS.items() if col in _INT_COLS}
_TEXT_KEYS_JSON = {"Relation Name", "Index Name", "Alias", "Filter", "Index Cond", "Sort Method",
                   "Sort Space Type", "Parent Relationship", "Subplan Name", "Hash Cond", "Merge Cond",
                   "Join Filter", "Recheck Cond", "Strategy", "Operation", "Join Type", "Partial Mode"}


def _json_value(node: dict, key: str) -> Any:
    value = node.get(key)
    if key in _INT_KEYS:
        return schema.int_value(value, key, lo=0)[0]
    if key in _TEXT_KEYS_JSON:
        return schema.text_value(value, key)[0]
    return schema.float_value(value, key)[0]


# --------------------------------------------------------------------------- JSON

def _label(node: dict) -> str:
    """EXPLAIN's text label for a JSON node (explain.c builds both from the same fields)."""
    kind = node["Node Type"]
    if kind == "Aggregate":
        kind = _AGG_STRATEGY.get(_json_value(node, "Strategy") or "Plain", kind)
    elif kind == "SetOp":
        kind = "HashSetOp" if node.get("Strategy") == "Hashed" else "SetOp"
    elif kind == "ModifyTable":
        kind = _json_value(node, "Operation") or kind
    join = _json_value(node, "Join Type")
    if join and join != "Inner":
        kind = f"{kind} {join} Join" if kind == "Nested Loop" else kind.replace(" Join", f" {join} Join")
    if node.get("Partial Mode") in ("Partial", "Finalize"):
        kind = f"{node['Partial Mode']} {kind}"
    if node.get("Parallel Aware") is True:
        kind = f"Parallel {kind}"
    return kind


def _walk_json(root: dict, path: str | None = None) -> Iterator[dict[str, Any]]:
    counter = 0
    stack: list[tuple[Any, int | None, int]] = [(root, None, 0)]
    while stack:
        node, parent, depth = stack.pop()
        children = node.get("Plans", []) if isinstance(node, dict) else None
        if not isinstance(node, dict) or not isinstance(node.get("Node Type"), str) \
                or not isinstance(children, list):
            raise ParseError("a plan node is not an object with a \"Node Type\" text and a \"Plans\" list",
                             path, None, expected='EXPLAIN (FORMAT JSON) output')
        row: dict[str, Any] = {"node_id": counter, "parent_id": parent, "depth": depth,
                               "node_type": _label(node)}
        for key, col in _JSON_KEYS.items():
            if key in node:
                row[col] = _json_value(node, key)
        cond = [_json_value(node, k) for k in ("Hash Cond", "Merge Cond", "Join Filter") if k in node]
        if cond:
            row["join_cond"] = cond[0]
        if "Recheck Cond" in node and "index_cond" not in row:
            row["index_cond"] = _json_value(node, "Recheck Cond")
        keys = node.get("Sort Key")
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            row["sort_key"] = ", ".join(keys)
        if row.get("actual_loops") == 0:
            row["never_executed"] = True
            for c in ("actual_rows", "actual_startup_ms", "actual_time_ms"):
                row[c] = None
        yield row
        me = counter
        counter += 1
        for child in reversed(children):
            stack.append((child, me, depth + 1))


# --------------------------------------------------------------------------- text

def _parse_text(text: str, path: str | None, attrs: dict) -> list[dict[str, Any]]:
    lines = text.split("\n")
    start = 0
    for i, line in enumerate(lines):  # auto_explain: "Query Text: ..." (maybe several lines)
        if line.lstrip().startswith("Query Text:"):
            j = i + 1
            while j < len(lines) and not _is_stats_line(lines[j]):
                j += 1
            attrs["query_text"] = "\n".join([line.lstrip()[len("Query Text:"):].strip(),
                                             *lines[i + 1:j]]).strip()
            start = j
            break
    else:  # start at the first node line (anything before it is not the plan)
        start = next((i for i, x in enumerate(lines) if _is_stats_line(x)), 0)
    body = [(n, x) for n, x in enumerate(lines[start:], start + 1) if x.strip()]
    if not body:
        raise ParseError("empty plan", path, None, expected="EXPLAIN output")
    rows: list[dict[str, Any]] = []
    stack: list[tuple[int, int]] = []  # (column of the node's label, node_id)
    pending_subplan: tuple[int, str] | None = None
    root_col = None
    footer = False
    for lineno, line in body:
        m = _NODE.match(line)
        is_node = m is not None and (m["arrow"] is not None or (not rows and (_is_stats_line(line)
                                                                           or not _PROP.match(line))))
        if is_node and not footer:
            col = len(m["indent"]) + (len(m["arrow"]) if m["arrow"] else 0)
            if root_col is None:
                if not _is_stats_line(line) and not _KNOWN_NODE.match(m["label"]):
                    raise ParseError(f"not an EXPLAIN plan: {line.strip()[:80]!r}", path, lineno,
                                     expected="a plan node like 'Seq Scan on t  (cost=...)' or JSON")
                root_col = col
            elif not m["arrow"]:
                raise ParseError(f"unexpected line in a plan: {line.strip()[:80]!r}", path, lineno,
                                 expected="'->  Node' or 'Key: value'")
            arrow_col = len(m["indent"])
            while stack and stack[-1][0] > arrow_col:
                stack.pop()
            row = _text_node(m)
            row.update(node_id=len(rows), parent_id=stack[-1][1] if stack else None,
                       depth=len(stack))
            if pending_subplan and pending_subplan[0] < arrow_col:
                name = pending_subplan[1]
                row["subplan_name"] = name
                row["parent_relationship"] = name.split()[0] if name.split()[0] in (
                    "SubPlan", "InitPlan") else "InitPlan"
            pending_subplan = None
            rows.append(row)
            stack.append((col, row["node_id"]))
            continue
        if not rows:
            raise ParseError(f"not an EXPLAIN plan: {line.strip()[:80]!r}", path, lineno,
                             expected="a plan node like 'Seq Scan on t  (cost=...)' or JSON")
        indent = len(line) - len(line.lstrip())
        if indent <= (root_col or 0):
            footer = True
            t = _TIME.match(line.strip())
            if t and _float(t[2]) is not None:
                attrs["planning_ms" if t[1] == "Planning" else "execution_ms"] = _float(t[2])
            continue
        if footer:
            continue
        s = _SUBPLAN.match(line)
        if s:
            pending_subplan = (len(s["indent"]), s["name"])
            continue
        p = _PROP.match(line)
        if p:
            _text_property(rows[stack[-1][1]] if stack else rows[-1], p["key"], p["value"])
            continue
        # anything else (e.g. VERBOSE "Output:" continuations) belongs to the node: ignored
    return rows


def _is_stats_line(line: str) -> bool:
    return "(cost=" in line or "(actual " in line or "(never executed)" in line


def _text_node(m: re.Match) -> dict[str, Any]:
    label = m["label"].strip()
    row: dict[str, Any] = {}
    on = None
    if " using " in label:
        label, rest = label.split(" using ", 1)
        if " on " in rest:
            row["index"], on = rest.split(" on ", 1)
        else:
            row["index"] = rest
    elif " on " in label:
        label, on = label.split(" on ", 1)
    label = label.replace(" Backward", "")
    row["node_type"] = label
    if on:
        parts = on.split()
        target = parts[0]
        if label.endswith("Bitmap Index Scan"):
            row["index"] = target
        elif label in _NOT_A_RELATION or label.split()[-2:] == ["Subquery", "Scan"]:
            row["alias"] = parts[-1]
        else:
            row["relation"] = target.split(".")[-1]
            row["alias"] = parts[1] if len(parts) > 1 else row["relation"]
    # the figures through toolkit.schema: one that is not a number (1.2.3, other digits, beyond
    # int64) becomes null, the node stays
    if m["sc"] is not None:
        row.update(startup_cost=_float(m["sc"]), total_cost=_float(m["tc"]), plan_rows=_float(m["rows"]))
    if m["at"] is not None:
        row.update(actual_startup_ms=_float(m["as"]), actual_time_ms=_float(m["at"]),
                   actual_rows=_float(m["ar"]), actual_loops=_int(m["al"]))
    elif m["ar2"] is not None:
        row.update(actual_rows=_float(m["ar2"]), actual_loops=_int(m["al2"]))
    elif m["never"]:
        row.update(actual_loops=0, never_executed=True)
    return row


def _float(text: str) -> float | None:
    return schema.float_value(text)[0]


def _int(text: str) -> int | None:
    """A whole number >= 0 (a count in a text plan; ``99950.0`` is taken as 99950)."""
    value = schema.float_value(text, lo=0.0)[0]
    return None if value is None else schema.int_value(value)[0]


def _text_property(row: dict[str, Any], key: str, value: str) -> None:
    value = value.strip()
    if key in _TEXT_KEYS:
        col = _TEXT_KEYS[key]
        if col == "rows_removed_by_filter":
            row[col] = _int(value)
        elif col not in row:
            row[col] = value
    elif key == "Recheck Cond" and "index_cond" not in row:
        row["index_cond"] = value
    elif key == "Sort Method":
        s = _SORT.match(value)
        if s:
            row.update(sort_method=s["method"].strip(), sort_space_type=s["type"],
                       sort_space_kb=_int(s["kb"]))
        else:
            row["sort_method"] = value
    elif key == "Buffers":
        for kind, counts in _BUFFERS.findall(value):
            if kind == "local":
                continue
            for name, n in re.findall(r"(\w+)=(\d+)", counts):
                col = f"{kind}_{name}_blocks"
                if col in ("shared_hit_blocks", "shared_read_blocks", "temp_read_blocks",
                           "temp_written_blocks"):
                    row[col] = _int(n)


# --------------------------------------------------------------------------- table

def _parallel_processes(df: pd.DataFrame, loops: pd.Series) -> pd.Series:
    """Per node, how many processes ran it side by side: 1, or below a ``Gather`` /
    ``Gather Merge`` its workers launched plus the leader (at most the node's loops: a leader
    that does not participate adds no loop)."""
    if "workers_launched" not in df:
        return pd.Series(1.0, index=df.index)
    workers = pd.to_numeric(df["workers_launched"], errors="coerce")
    gather = df["node_type"].astype(str).isin(("Gather", "Gather Merge"))
    procs: dict[tuple[Any, Any], float] = {}
    out = []
    for plan, node, parent, is_gather, w, n in zip(df["plan_id"], df["node_id"], df["parent_id"], gather,
                                                   workers, loops, strict=True):
        inherited = procs.get((plan, parent), 1.0) if parent is not None and not pd.isna(parent) else 1.0
        procs[(plan, node)] = (float(w) + 1.0) if is_gather and not pd.isna(w) else inherited
        here = inherited  # the Gather itself runs in the leader
        out.append(max(1.0, min(here, n)) if not pd.isna(n) and n > 0 else 1.0)
    return pd.Series(out, index=df.index)


def _frame(rows: list[dict[str, Any]], threshold: float) -> pd.DataFrame:
    if not rows:
        return schema.empty("plan_nodes")
    df = pd.DataFrame(rows)
    for c in ("plan_rows", "actual_rows", "actual_time_ms", "actual_startup_ms",
              "startup_cost", "total_cost"):
        if c not in df:
            df[c] = float("nan")
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    if "actual_loops" not in df:
        df["actual_loops"] = pd.NA
    loops = pd.to_numeric(df["actual_loops"], errors="coerce").astype("float64")
    df["actual_total_ms"] = df["actual_time_ms"] * loops
    # below a Gather, the loops include the processes that ran the node side by side: the
    # query waited for their time once, not once per process (PostgreSQL averages over them)
    df["wall_ms"] = df["actual_total_ms"] / _parallel_processes(df, loops)
    df.loc[loops == 0, ["actual_total_ms", "wall_ms"]] = 0.0
    df["rows_total"] = df["actual_rows"] * loops
    df["never_executed"] = loops == 0
    # text EXPLAIN prints "Rows Removed by Filter" only when > 0; JSON always (with ANALYZE)
    if "filter" in df:
        if "rows_removed_by_filter" not in df:
            df["rows_removed_by_filter"] = pd.NA
        zero = df["filter"].notna() & loops.notna() & df["rows_removed_by_filter"].isna()
        df.loc[zero, "rows_removed_by_filter"] = 0
    # buffers are not printed in text when all zero: fill zeros where BUFFERS was on
    for c in ("shared_hit_blocks", "shared_read_blocks", "temp_read_blocks", "temp_written_blocks"):
        if c not in df:
            df[c] = pd.NA
    children = df.dropna(subset=["parent_id"]).groupby(["plan_id", "parent_id"])["wall_ms"].sum()
    key = pd.MultiIndex.from_arrays([df["plan_id"], df["node_id"].astype("float64")])
    child_ms = children.reindex(key).fillna(0.0).to_numpy()
    # InitPlans/SubPlans run inside their parent's time; CTE Scans too. Clamp at 0.
    df["self_ms"] = (df["wall_ms"] - child_ms).clip(lower=0.0)
    est = df["plan_rows"].clip(lower=1.0)
    act = df["actual_rows"].clip(lower=1.0)
    ratio = act / est
    df["misestimate"] = ratio.where(ratio >= 1.0, 1.0 / ratio).round(6)
    df.loc[df["actual_rows"].isna() | df["plan_rows"].isna(), "misestimate"] = math.nan
    df["misestimated"] = (df["misestimate"] >= threshold).fillna(False)
    for c in _INT_COLS:
        if c in df:  # (whole numbers already: their values, not through float64)
            df[c] = pd.Series(schema.int_values(df[c]).values, index=df.index)
    out = schema.coerce(df, "plan_nodes")
    return schema.validate(out, "plan_nodes")
