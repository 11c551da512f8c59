"""The scan rules: what a statement reads (``queries.select_star``, ``queries.offset_pagination``,
``queries.missing_index``, ``queries.wildcard_search``, ``queries.seq_scan``,
``queries.slow_query``), from the statements, their logged plans (auto_explain) and, in
MySQL/MariaDB slow logs, the rows examined. Index fixes are checked against the filter's shape
(:mod:`toolkit.queries.advice`). See :mod:`toolkit.queries.detectors` for every query rule.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .. import rules as R
from ..ranking import to_frame
from .advice import conditions, index_advice
from .statements import (
    cached,
    example,
    executed,
    line_of,
    lines,
    relation,
    sessions_text,
    short,
    source_path,
    span_s,
    sql_dialect,
    ts,
    verb,
)

SELECT_STAR = R.rule(
    "queries.select_star", "SELECT *",
    "Queries that select every column.", severity="low",
    fix="Name the columns the code uses: less data read and sent, index-only scans become "
        "possible, and schema changes stop breaking callers.",
    thresholds={"min_star_calls": 1})
OFFSET_PAGINATION = R.rule(
    "queries.offset_pagination", "pagination",
    "A LIMIT/OFFSET query whose duration grows with the offset.", severity="medium",
    fix="Use keyset (seek) pagination: `WHERE (created_at, id) > ($last_created_at, $last_id) "
        "ORDER BY created_at, id LIMIT 50` on an index over the sort key; every page then "
        "costs the same.",
    thresholds={"min_pages": 5, "min_rho": 0.8, "min_growth": 2.0})
MISSING_INDEX = R.rule(
    "queries.missing_index", "indexes",
    "Sequential scans that read a table to keep few rows (rows removed by filter), or "
    "statements that examine far more rows than they return.", severity="high",
    fix="Create the index the filter needs (the finding names the statement, checked against "
        "the filter's shape), then check the new plan with EXPLAIN (ANALYZE, BUFFERS).",
    thresholds={"min_rows_removed": 10_000, "min_removed_share": 0.9, "min_examined": 10_000,
                "min_examined_ratio": 100.0})
WILDCARD_SEARCH = R.rule(
    "queries.wildcard_search", "indexes",
    "Searches with a leading wildcard (`LIKE '%term%'`, ILIKE): no B-tree index can serve them, "
    "so each call reads the whole table.", severity="high",
    fix="PostgreSQL: a pg_trgm GIN index (`CREATE INDEX ... USING gin (col gin_trgm_ops)`) or "
        "full-text search; MySQL/MariaDB: a FULLTEXT index with MATCH ... AGAINST.",
    thresholds={"min_total_ms": 100.0})
SEQ_SCAN = R.rule(
    "queries.seq_scan", "indexes",
    "Logged plans that read a large table sequentially (no filter that an index would serve "
    "better, or a filter that keeps many rows).", severity="medium",
    fix="Read less: an index on the ORDER BY or join key, a covering index for an index-only "
        "scan, a partial index for the rows the query wants, or a precomputed result "
        "(materialized view, summary table).",
    thresholds={"min_rows": 100_000, "min_total_ms": 100.0})
SLOW_QUERY = R.rule(
    "queries.slow_query", "indexes",
    "SELECT statements slower than a threshold (Sentry's slow DB query: 500 ms).",
    severity="medium",
    fix="EXPLAIN (ANALYZE, BUFFERS) the statement: add the index its filter or sort needs, "
        "fetch fewer rows, or precompute the result.",
    thresholds={"slow_ms": 500.0})

_SELECT_STAR = re.compile(r"\bselect\s+(?:distinct\s+)?(?:\w+\.)?\*\s*(?:,|from\b)", re.I)
_OFFSET = re.compile(r"\boffset\s+(\$\d+|\d+)|\blimit\s+(\$\d+|\d+)\s*,\s*(?:\$\d+|\d+)", re.I)
_PARAM = re.compile(r"\$(\d+)\s*=\s*(?:'((?:[^']|'')*)'|(NULL))")
_LIKE = re.compile(r"\b(?:i?like)\b|~~", re.I)


def select_star(events: pd.DataFrame, *, min_star_calls: int = 1) -> pd.DataFrame:
    """Fingerprints that ``SELECT *`` (or ``t.*``), with their share of all calls and time.
    What naming the columns saves cannot be read from a log (it depends on the columns the
    code does not use), so these findings carry no estimate and rank after those that do."""
    ex = executed(events)
    path = source_path(events)
    if ex.empty:
        return to_frame([])
    star = ex[ex["fingerprint"].str.contains(_SELECT_STAR)]
    total_calls, total_ms = len(ex), float(ex["duration_ms"].sum())
    rows = []
    for fp, g in star.groupby("fingerprint", sort=False):
        if len(g) < min_star_calls:
            continue
        ms = float(g["duration_ms"].sum())
        calls_pct = 100.0 * len(g) / total_calls
        time_pct = 100.0 * ms / total_ms if total_ms else 0.0
        evidence = (f"`{short(fp)}`: {len(g)} calls ({calls_pct:.1f} % of {total_calls}), "
                    f"{ms:.1f} ms ({time_pct:.1f} % of all time), sessions "
                    f"{sessions_text(g['session'], 5)}; e.g. `{example(g.iloc[0])}` "
                    f"at {ts(g['timestamp'].iloc[0])}; {lines(g)}.")
        rows.append(R.finding(SELECT_STAR, f"SELECT * in {len(g)} calls ({time_pct:.1f} % of time)",
                              evidence, key=fp, file=path, line=line_of(g["source_line"].min()),
                              occurrences=len(g), saving="not measurable from a log: less data read "
                              "and sent, depending on the columns the code does not use",
                              calls=len(g), calls_pct=round(calls_pct, 3), total_ms=round(ms, 3),
                              time_pct=round(time_pct, 3), fingerprint=fp, example=example(g.iloc[0])))
    return to_frame(rows)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties, as scipy.stats.spearmanr)."""
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _trend(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Spearman rho of y on x, mean y of the top quarter of x / mean y of the bottom quarter)."""
    order = np.argsort(x, kind="stable")
    q = max(1, len(order) // 4)
    low, high = y[order[:q]].mean(), y[order[-q:]].mean()
    return _spearman(x, y), (float(high / low) if low > 0 else float("inf"))


def _offset_of(statement: str, parameters: Any) -> float:
    m = _OFFSET.search(statement)
    if not m:
        return np.nan
    token = m.group(1) or m.group(2)
    if token.startswith("$"):
        if parameters is None or pd.isna(parameters):
            return np.nan
        params = {int(n): v for n, v, _null in _PARAM.findall(str(parameters))}
        value = params.get(int(token[1:]))
        try:
            return float(value)
        except (TypeError, ValueError):
            return np.nan
    return float(token)


def offset_pagination(events: pd.DataFrame, *, min_pages: int = 5, min_rho: float = 0.8,
                      min_growth: float = 2.0) -> pd.DataFrame:
    """One fingerprint with LIMIT/OFFSET run at ``min_pages`` or more distinct offsets, whose
    duration rises with the offset: Spearman's rank correlation >= ``min_rho`` and the mean
    duration of the deepest quarter of pages >= ``min_growth`` x the shallowest quarter's.
    The saving is what the pages cost above the shallowest quarter's mean (keyset pagination
    makes every page cost the same).

    Extra columns: ``pages``, ``rho``, ``slope_ms_per_1k`` (least-squares ms per 1,000 rows of
    offset), ``growth``, ``max_offset``."""
    ex = executed(events)
    span = span_s(ex)
    path = source_path(events)
    ex = ex[ex["statement"].str.contains(r"\boffset\b|\blimit\s+\S+\s*,", case=False, regex=True)]
    rows = []
    for fp, g in ex.groupby("fingerprint", sort=False):
        offsets = np.array([_offset_of(s, p) for s, p in zip(g["statement"], g["parameters"], strict=True)])
        ok = ~np.isnan(offsets)
        g, offsets = g[ok], offsets[ok]
        if len(np.unique(offsets)) < min_pages:
            continue
        ms = g["duration_ms"].to_numpy(dtype=float)
        order = np.argsort(offsets, kind="stable")
        rho, growth = _trend(offsets, ms)
        measure = "duration"
        examined = g["rows_examined"].astype(float).to_numpy()
        if not (rho >= min_rho and growth >= min_growth) and not np.isnan(examined).any():
            # MySQL/MariaDB log the rows each call read: a direct measure of the work skipped
            # rows cost, steadier than durations with 1-second timestamps on a busy machine
            rho, growth = _trend(offsets, examined)
            measure = "rows examined"
        if not (rho >= min_rho and growth >= min_growth):
            continue
        slope = float(np.polyfit(offsets / 1000.0, ms, 1)[0])
        base = float(ms[order[: max(1, len(order) // 4)]].mean())
        saved_ms = float(np.clip(ms - base, 0, None).sum())
        first, deepest = g.iloc[order[0]], g.iloc[order[-1]]
        evidence = (f"`{short(fp)}` ran at {len(np.unique(offsets))} offsets "
                    f"({offsets.min():.0f} to {offsets.max():.0f}) in session(s) "
                    f"{sessions_text(g['session'])}: {first['duration_ms']:.2f} ms at "
                    f"offset {offsets[order[0]]:.0f} (line {line_of(first['source_line'])}), "
                    f"{deepest['duration_ms']:.2f} ms at offset {offsets[order[-1]]:.0f} "
                    f"(line {line_of(deepest['source_line'])}); Spearman rho of {measure} against offset {rho:.2f}, "
                    f"+{slope:.3f} ms per 1,000 rows skipped, deepest pages {growth:.1f}x the first.")
        rows.append(R.finding(OFFSET_PAGINATION, f"OFFSET pagination: deep pages {growth:.1f}x slower",
                              evidence, key=fp, file=path, line=line_of(g["source_line"].min()),
                              occurrences=len(g), saving_s=saved_ms / 1000.0, span_s=span,
                              session=str(g["session"].iloc[0]), pages=int(len(np.unique(offsets))),
                              rho=round(rho, 4), measure=measure, slope_ms_per_1k=round(slope, 4),
                              growth=round(growth, 3), max_offset=int(offsets.max()), fingerprint=fp,
                              example=example(deepest)))
    return to_frame(rows)


_FILTER_LITERAL = re.compile(r"'(?:[^']|'')*'(?:::[\w ]+(?:\[\])?)?")
_CAST = re.compile(r"::[\w ]+?(?:\[\])?(?=[\s),=<>!~]|$)")
_IDENT = re.compile(r"\b([A-Za-z_][\w$]*)(?:\.([A-Za-z_][\w$]*))?\b(?!\s*\()")
_NOT_COLUMNS = {"and", "or", "not", "is", "null", "true", "false", "any", "all", "array", "like",
                "ilike", "in", "between", "similar", "to", "escape", "some", "distinct", "from",
                "subplan", "initplan", "hashed", "returns"}


def filter_columns(condition: str) -> list[str]:
    """The columns a plan's filter condition reads, in order of appearance.

        >>> filter_columns("((reference)::text = 'R00012345'::text)")
        ['reference']
        >>> filter_columns("((o.customer_id = 5) AND (o.status = ANY ('{new,paid}'::text[])))")
        ['customer_id', 'status']
    """
    text = _CAST.sub("", _FILTER_LITERAL.sub(" ", condition or ""))
    cols: list[str] = []
    for a, b in _IDENT.findall(text):
        name = b or a
        if name.lower() in _NOT_COLUMNS or name.startswith("$") or name in cols:
            continue
        cols.append(name)
    return cols


def _seq_scans(events: pd.DataFrame) -> pd.DataFrame:
    """The Seq Scan nodes of the logged plans (PostgreSQL's auto_explain; a MySQL/MariaDB slow
    log's EXPLAIN lines are not such plans), with ``rows_read`` (kept + removed, all loops) and
    ``fingerprint`` of their statement; read once per log for the rules that use them."""
    if "plan" not in events.columns or not events["plan"].notna().any() or sql_dialect(events) == "mysql":
        return pd.DataFrame()
    return cached(events, "seq_scans", lambda: _read_seq_scans(events))


def _read_seq_scans(events: pd.DataFrame) -> pd.DataFrame:
    from .fingerprint import Fingerprinter
    from .plans import plan_nodes

    nodes = plan_nodes(events)
    scans = nodes[nodes["node_type"].str.contains("Seq Scan", na=False)].copy()
    if scans.empty:
        return scans
    # "Rows Removed by Filter" is per loop (a parallel scan's workers, a nested loop's inner side)
    loops = scans["actual_loops"].astype(float).fillna(1.0)
    scans["removed_total"] = scans["rows_removed_by_filter"].astype(float).fillna(0.0) * loops
    scans["rows_read"] = scans["rows_total"].astype(float).fillna(0.0) + scans["removed_total"]
    fp = Fingerprinter(readable=True)
    scans["fingerprint"] = scans["statement"].map(lambda s: fp(s) if isinstance(s, str) else None)
    return scans


def missing_index(events: pd.DataFrame, *, min_rows_removed: int = 10_000,
                  min_removed_share: float = 0.9, min_examined: int = 10_000,
                  min_examined_ratio: float = 100.0) -> pd.DataFrame:
    """Sequential scans in logged plans (auto_explain) that remove at least ``min_rows_removed``
    rows by filter, at least ``min_removed_share`` of what they read; grouped by table and
    filter columns. For logs without plans (MySQL/MariaDB slow log), fingerprints that examine
    at least ``min_examined`` rows per call and ``min_examined_ratio`` x the rows they send.
    Leading-wildcard searches are left to ``queries.wildcard_search`` (a B-tree index would not
    help them). The fix names the index statement, checked against the filter's shape
    (:func:`~toolkit.queries.advice.index_advice`). The saving is the time of those scans.

    Extra columns: ``relation``, ``columns`` (comma separated), ``calls``, ``rows_removed``,
    ``advice`` (the kind of index), ``index_statement``."""
    path = source_path(events)
    dialect = sql_dialect(events)
    rows = []
    span = span_s(events)
    scans = _seq_scans(events)
    if not scans.empty:
        removed = scans["removed_total"]
        kept = scans["rows_total"].fillna(0.0)
        share = removed / (removed + kept).where(removed + kept > 0)
        # (a plan cut before its Filter: line, as truncated logs have them, names no columns)
        scans = scans[scans["rows_removed_by_filter"].notna() & scans["filter"].notna()
                      & (removed >= min_rows_removed) & (share >= min_removed_share)]
        if not scans.empty:
            scans = scans.assign(columns=scans["filter"].map(lambda f: ", ".join(filter_columns(f))))
            for (rel, cols), g in scans.groupby(["relation", "columns"], sort=False):
                first = g.iloc[0]
                conds, has_or = conditions(first["filter"])
                if any(c.leading_wildcard for c in conds):
                    continue
                # the filter's own columns (``customer_id = c.id`` compares to the outer query's
                # c.id), equality before range as the index would have them
                order = {"eq": 0, "range": 1}
                cols = ", ".join(dict.fromkeys(c.expression or c.column for c in sorted(
                    conds, key=lambda c: order.get(c.kind, 2)) if c.column)) or cols
                advice = index_advice(rel, conds, has_or=has_or, dialect="postgresql")
                n_removed = int(g["removed_total"].sum())
                # a subplan or a nested loop's inner side scans once per loop
                n_scans = int(g["actual_loops"].astype(float).fillna(1.0).sum())
                ms = float(g["actual_total_ms"].sum())
                statement = first.get("statement")
                evidence = (f"{len(g)} logged plan(s) scan all of `{rel}` {n_scans:,} time(s) with Filter "
                            f"`{first['filter']}` and remove {n_removed:,} rows "
                            f"(mean {n_removed / n_scans:,.0f} per scan, keeping "
                            f"{g['rows_total'].sum() / n_scans:,.0f}); {ms:.1f} ms in these scans; "
                            f"session {first.get('session')}, {ts(first.get('timestamp'))}, "
                            f"{lines(g)}; statement `{short(statement)}`.")
                rows.append(R.finding(MISSING_INDEX, f"No index on {rel}({cols}): {n_scans:,} seq scans "
                                      f"remove {n_removed / n_scans:,.0f} rows each", evidence,
                                      key=f"{rel}({cols})", file=path,
                                      line=line_of(g["source_line"].min()) if "source_line" in g else None,
                                      occurrences=len(g), saving_s=ms / 1000.0, span_s=span,
                                      relation=rel, columns=cols, calls=len(g), rows_removed=n_removed,
                                      fix=advice.text, advice=advice.kind,
                                      index_statement=advice.statement,
                                      fingerprint=first.get("fingerprint"), example=short(statement)))
    if "rows_examined" in events.columns and events["rows_examined"].notna().any():
        ex = executed(events)
        ex = ex[ex["rows_examined"].notna()]
        for fp, g in ex.groupby("fingerprint", sort=False):
            examined = g["rows_examined"].astype(float)
            sent = g["rows_sent"].astype(float).fillna(0.0)
            # reports (GROUP BY) read many rows to send few by design
            if verb(fp) not in ("select", "with", "update", "delete") or " group by " in fp:
                continue
            per_call = examined.mean()
            ratio = examined.sum() / max(sent.sum(), len(g))
            if per_call < min_examined or ratio < min_examined_ratio:
                continue
            statement = g["statement"].iloc[0]
            conds, has_or = conditions(statement)
            usable = [c for c in conds if c.column and c.kind in ("eq", "range", "pattern")]
            if not usable or any(c.leading_wildcard for c in conds):
                continue  # no filter (a sort or a full read), or a search: other rules
            rel = relation(statement)
            cols = ", ".join(dict.fromkeys(c.column for c in usable))
            advice = index_advice(rel, conds, has_or=has_or, dialect=dialect)
            ms = float(g["duration_ms"].sum())
            evidence = (f"`{short(fp)}`: {len(g)} calls examine {per_call:,.0f} rows each to send "
                        f"{sent.mean():,.3g} ({ratio:,.0f}x), {ms:.1f} ms in all; "
                        f"session {g['session'].iloc[0]}, {ts(g['timestamp'].iloc[0])}, {lines(g)}.")
            rows.append(R.finding(MISSING_INDEX, f"No index on {rel}({cols})? {per_call:,.0f} rows "
                                  f"examined per call to return {sent.mean():,.3g}", evidence,
                                  key=f"{rel}({cols})", file=path, line=line_of(g["source_line"].min()),
                                  occurrences=len(g), saving_s=ms * (1 - 1 / ratio) / 1000.0, span_s=span,
                                  relation=rel, columns=cols, calls=len(g),
                                  rows_removed=int(examined.sum() - sent.sum()), fix=advice.text,
                                  advice=advice.kind, index_statement=advice.statement,
                                  fingerprint=fp, example=example(g.iloc[0])))
    return to_frame(rows)


def wildcard_search(events: pd.DataFrame, *, min_total_ms: float = 100.0) -> pd.DataFrame:
    """Statements filtering with a leading-wildcard ``LIKE``/``ILIKE`` (the pattern read from the
    statement's literal or its logged parameter), one finding per fingerprint when their calls
    take ``min_total_ms`` or more in all: a search no B-tree index can serve. The fix is a
    pg_trgm GIN index or full-text search (PostgreSQL), a FULLTEXT index (MySQL/MariaDB).

    Extra columns: ``relation``, ``column``, ``calls``, ``patterns`` (distinct search terms),
    ``index_statement``."""
    ex = executed(events)
    span = span_s(ex)
    path = source_path(events)
    dialect = sql_dialect(events)
    ex = ex[ex["statement"].str.contains(_LIKE)]
    if ex.empty:
        return to_frame([])
    found: dict[tuple[str, Any], Any] = {}
    for s, p in set(zip(ex["statement"], ex["parameters"].astype("object"), strict=True)):
        conds, _or = conditions(s, None if p is None or pd.isna(p) else str(p))
        found[(s, p)] = next((c for c in conds if c.leading_wildcard), None)
    wild = ex[[found[(s, p)] is not None for s, p in zip(ex["statement"], ex["parameters"].astype("object"),
                                                         strict=True)]]
    out = []
    for fp, g in wild.groupby("fingerprint", sort=False):
        ms = float(g["duration_ms"].sum())
        if ms < min_total_ms:
            continue
        worst = g.loc[g["duration_ms"].idxmax()]
        cond = found[(worst["statement"], worst["parameters"])]
        patterns = {found[(s, p)].value for s, p in zip(g["statement"], g["parameters"], strict=True)}
        rel = relation(worst["statement"])
        advice = index_advice(rel, [cond], dialect=dialect)
        evidence = (f"`{short(fp)}`: {len(g)} calls with {len(patterns)} different search "
                    f"pattern(s) such as '{short(cond.value, 40)}', {ms:.1f} ms in all (mean "
                    f"{ms / len(g):.1f} ms, worst {worst['duration_ms']:.1f} ms in session "
                    f"{worst['session']} at {ts(worst['timestamp'])}, line {line_of(worst['source_line'])}); "
                    f"a pattern that starts with a wildcard makes every call read all of {rel}.")
        out.append(R.finding(WILDCARD_SEARCH, f"Leading-wildcard search on {rel}.{cond.column}: "
                             f"{len(g)} full scans, {R.duration(ms / 1000)}", evidence, key=fp, file=path,
                             line=line_of(g["source_line"].min()), occurrences=len(g),
                             saving_s=ms / 1000.0, span_s=span, fix=advice.text, relation=rel,
                             column=cond.column, calls=len(g), patterns=len(patterns),
                             index_statement=advice.statement, fingerprint=fp, example=example(worst)))
    return to_frame(out)


def seq_scan(events: pd.DataFrame, *, min_rows: int = 100_000, min_total_ms: float = 100.0) -> pd.DataFrame:
    """Sequential scans in logged plans that read at least ``min_rows`` rows of one table (all
    loops) and take ``min_total_ms`` or more, per (table, statement), when they are not a
    missing index (a filter removing most rows) or a leading-wildcard search: a whole table
    read to sort it, to aggregate it, or with a filter that keeps many rows. The fix depends on
    which (an index on the sort key; a partial index; a precomputed result)."""
    scans = _seq_scans(events)
    path = source_path(events)
    span = span_s(events)
    if scans.empty:
        return to_frame([])
    removed = scans["removed_total"]
    kept = scans["rows_total"].astype(float).fillna(0.0)
    share = removed / (removed + kept).where(removed + kept > 0)
    big = scans[(scans["rows_read"] >= min_rows) & ~(share >= 0.9)]
    out = []
    for (rel, fp), g in big.groupby(["relation", "fingerprint"], sort=False):
        ms = float(g["actual_total_ms"].sum())
        if ms < min_total_ms:
            continue
        first = g.iloc[0]
        statement = str(first["statement"])
        conds, has_or = conditions(first["filter"]) if isinstance(first["filter"], str) else ([], False)
        if any(c.leading_wildcard for c in conds):
            continue
        kept_share = float(kept[g.index].sum() / max(float(g["rows_read"].sum()), 1.0))
        if conds:
            advice = index_advice(rel, conds, has_or=has_or, kept_share=kept_share)
            fix, why = advice.text, f"Filter `{first['filter']}` keeps {100 * kept_share:.0f} % of the rows"
        elif re.search(r"\border\s+by\b", statement, re.I):
            cols = re.search(r"\border\s+by\s+(.+?)(?:\blimit\b|\boffset\b|$)", statement, re.I | re.S)
            key = cols.group(1).strip().rstrip(";") if cols else "the sort key"
            fix = (f"The query reads all of {rel} to sort it: an index on the ORDER BY columns "
                   f"(`CREATE INDEX CONCURRENTLY ON {rel} ({key});`) lets it read rows in order and "
                   "stop at the LIMIT; keyset pagination instead of a deep OFFSET.")
            why = "no filter; the rows are sorted after the scan"
        else:
            fix = (f"The query reads all of {rel} on every call: precompute the result (a "
                   "materialized view or a summary table refreshed on change), or a covering index "
                   "for an index-only scan of the columns it needs.")
            why = "no filter: every row is read"
        evidence = (f"{len(g)} logged plan(s) of `{short(statement, 100)}` read {g['rows_read'].mean():,.0f} "
                    f"rows of `{rel}` per call in a Seq Scan ({why}); {ms:.1f} ms in these scans; session "
                    f"{first.get('session')}, {ts(first.get('timestamp'))}, {lines(g)}.")
        out.append(R.finding(SEQ_SCAN, f"Seq scan of {rel} ({g['rows_read'].mean():,.0f} rows per call, "
                             f"{len(g)} call(s)) for `{short(fp, 60)}`", evidence, key=f"{rel}: {fp}", file=path,
                             line=line_of(g["source_line"].min()), occurrences=len(g), saving_s=ms / 1000.0,
                             span_s=span, fix=fix, relation=rel, calls=len(g),
                             rows_read=int(g["rows_read"].sum()), fingerprint=fp, example=short(statement)))
    return to_frame(out)


def slow_query(events: pd.DataFrame, *, slow_ms: float = 500.0) -> pd.DataFrame:
    """SELECT statements of ``slow_ms`` ms or more, one finding per fingerprint (Sentry's slow DB
    query rule). Calls to sleep functions (``pg_sleep``, ``SLEEP``) are not queries. The saving
    is the slow calls' time (an upper bound: what the fix leaves is not known)."""
    ex = executed(events)
    span = span_s(ex)
    path = source_path(events)
    slow = ex[ex["is_select"] & (ex["duration_ms"] >= slow_ms)
              & ~ex["statement"].str.contains(r"\b(?:pg_sleep\w*|sleep)\s*\(", case=False, regex=True)]
    rows = []
    for fp, g in slow.groupby("fingerprint", sort=False):
        worst = g.loc[g["duration_ms"].idxmax()]
        ms = float(g["duration_ms"].sum())
        evidence = (f"`{short(fp)}`: {len(g)} call(s) >= {slow_ms:g} ms, worst {worst['duration_ms']:.1f} ms "
                    f"in session {worst['session']} at {ts(worst['timestamp'])} (line "
                    f"{line_of(worst['source_line'])}): `{example(worst)}`.")
        rows.append(R.finding(SLOW_QUERY, f"Slow SELECT: {worst['duration_ms']:.0f} ms", evidence, key=fp,
                              file=path, line=line_of(worst["source_line"]), occurrences=len(g),
                              saving_s=ms / 1000.0, span_s=span,
                              saving=f"up to {R.duration(R.per_hour(ms / 1000.0, span))} per hour of "
                                     f"evidence (the slow calls' {R.duration(ms / 1000.0)})",
                              session=str(worst["session"]), calls=len(g), max_ms=float(worst["duration_ms"]),
                              fingerprint=fp, example=example(worst)))
    return to_frame(rows)
