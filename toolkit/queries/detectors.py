"""Query detectors: the checklist rules (ids ``queries.*``) run on query events and server events.

Every rule is a function ``DataFrame in -> findings DataFrame`` (see :mod:`toolkit.rules`) with
its thresholds as keyword options; :func:`findings` runs them all and returns the ranked table
(:func:`toolkit.ranking.to_frame`). A finding is about one thing (its ``key``: a fingerprint, a
table's columns, a parent/child pair of fingerprints), names the sessions, times and input
lines of its evidence and an example statement, so it can be checked in the log it came from,
and estimates what fixing it saves (``saving``, ``saving_s_per_hour``).

Fingerprints shown and grouped on are the readable form
(:func:`~toolkit.queries.fingerprint.fingerprint` with ``readable=True``: ``balance + ?``, not
pt-query-digest's ``balance ? ?``); ``pt_fingerprints=True`` groups as pt-query-digest does.

============================ ============================ =====================================
rule                          practice                     fires when (defaults)
============================ ============================ =====================================
queries.n_plus_one            N+1 and ORM queries          in one session a SELECT (the parent) is
                                                           followed by >= 5 cheap key lookups
                                                           (``id = ?``, ``customer_id = ?``) of
                                                           one other fingerprint (median <= 50 ms)
                                                           that differ only in their parameters;
                                                           the pattern over the whole log costs
                                                           >= 50 ms of server time or >= 50
                                                           avoidable round trips
queries.repeated              caching                      one SELECT with the same parameters
                                                           >= 10 times in a row in one session (a
                                                           loop, <= 2 other statements between),
                                                           or >= 10 times within 60 s across
                                                           sessions when a call costs >= 1 ms
                                                           (median: a cache would save time)
queries.select_star           SELECT *                     a fingerprint selects ``*``
queries.offset_pagination     pagination                   one fingerprint with LIMIT/OFFSET over
                                                           >= 5 offsets whose duration grows with
                                                           the offset (Spearman rho >= 0.8, the
                                                           deepest pages >= 2x the first)
queries.missing_index         indexes                      a logged plan's Seq Scan removes
                                                           >= 10,000 rows (>= 90 %) by filter; or,
                                                           without plans, a fingerprint examines
                                                           >= 10,000 rows per call and >= 100x
                                                           what it sends (MySQL/MariaDB)
queries.wildcard_search       indexes                      LIKE/ILIKE with a leading wildcard,
                                                           >= 100 ms in all
queries.seq_scan              indexes                      logged plans read >= 100,000 rows of
                                                           one table in Seq Scans, >= 100 ms in
                                                           all (not already a missing index or a
                                                           search)
queries.slow_query            indexes                      a SELECT takes >= 500 ms (Sentry)
queries.temp_files            indexes                      a query wrote temporary files
queries.lock_waits            monitoring                   lock waits >= 100 ms, deadlocks
queries.statement_timeout     monitoring                   statements cancelled by
                                                           statement_timeout
queries.long_transactions     monitoring                   a transaction stays open >= 1 s
queries.errors                monitoring                   statements fail (ERROR / FATAL)
queries.connection_churn      connection pooling           >= 20 sessions shorter than 1 s,
                                                           >= half of all sessions
============================ ============================ =====================================

Only executed statements count (``kind`` statement / execute, or no kind): a PostgreSQL
extended-protocol query also logs ``parse`` and ``bind`` rows, which are not queries run again.

Example::

    >>> import toolkit as tk                                                   # doctest: +SKIP
    >>> events = tk.read_queries("sample_traces/queries/postgresql/app/postgresql.log.gz")
    >>> others = tk.read_server_events("sample_traces/queries/postgresql/app/postgresql.log.gz")
    >>> findings(events, others)[["rank", "rule", "title", "saving"]]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd

from .. import rules as R
from .. import schema
from ..ranking import to_frame
from .loops import N_PLUS_ONE, REPEATED, n_plus_one, repeated
from .scans import (
    MISSING_INDEX,
    OFFSET_PAGINATION,
    SELECT_STAR,
    SEQ_SCAN,
    SLOW_QUERY,
    WILDCARD_SEARCH,
    filter_columns,
    missing_index,
    offset_pagination,
    select_star,
    seq_scan,
    slow_query,
    wildcard_search,
)
from .server_rules import (
    CONNECTION_CHURN,
    ERRORS,
    LOCK_WAITS,
    LONG_TRANSACTIONS,
    STATEMENT_TIMEOUT,
    TEMP_FILES,
    connection_churn,
    errors,
    lock_waits,
    long_transactions,
    statement_timeout,
    temp_files,
)
from .statements import prepared

RULES = (N_PLUS_ONE, REPEATED, SELECT_STAR, OFFSET_PAGINATION, MISSING_INDEX, WILDCARD_SEARCH,
         SEQ_SCAN, SLOW_QUERY, TEMP_FILES, LOCK_WAITS, STATEMENT_TIMEOUT, LONG_TRANSACTIONS, ERRORS,
         CONNECTION_CHURN)
# the rule functions, for callers that run one rule (detectors.n_plus_one(events, ...))
__all__ = ["RULES", "QUERY_DETECTORS", "SERVER_DETECTORS", "findings", "filter_columns", "n_plus_one",
           "repeated", "select_star", "offset_pagination", "missing_index", "wildcard_search", "seq_scan",
           "slow_query", "temp_files", "lock_waits", "statement_timeout", "long_transactions", "errors",
           "connection_churn"]

# --------------------------------------------------------------------------- all of them

QUERY_DETECTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "queries.n_plus_one": n_plus_one, "queries.repeated": repeated,
    "queries.select_star": select_star, "queries.offset_pagination": offset_pagination,
    "queries.missing_index": missing_index, "queries.wildcard_search": wildcard_search,
    "queries.seq_scan": seq_scan, "queries.slow_query": slow_query,
    "queries.long_transactions": long_transactions,
}
SERVER_DETECTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "queries.temp_files": temp_files, "queries.lock_waits": lock_waits,
    "queries.statement_timeout": statement_timeout, "queries.errors": errors,
    "queries.connection_churn": connection_churn,
}


def _options_for(fn: Callable[..., Any], rule_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options ``fn`` takes: by their own name (``min_repeats``) or prefixed with the rule's
    name (``n_plus_one_min_repeats``, as the HTTP rules take theirs)."""
    names = {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}
    prefix = rule_id.split(".", 1)[1] + "_"
    out = {k: v for k, v in options.items() if k in names}
    out.update({k[len(prefix):]: v for k, v in options.items()
                if k.startswith(prefix) and k[len(prefix):] in names})
    return out


def findings(events: pd.DataFrame | None, server_events: pd.DataFrame | None = None, *,
             rules: list[str] | None = None, per_rule: int | None = R.PER_RULE, dedupe: bool = True,
             pt_fingerprints: bool = False, **options: Any) -> pd.DataFrame:
    """Run every query rule on ``events`` (query_events; None when there are only server events)
    and ``server_events`` -> the ranked findings table (as :func:`toolkit.findings` builds it:
    grouped, ranked by saving, ``per_rule`` rows per rule then an "and N more" row; None keeps
    every row). ``rules`` picks some rule ids; other keyword options are thresholds for the
    rules that take them, by name (``min_repeats=8``, ``slow_ms=200``: each name belongs to one
    rule) or prefixed with the rule (``n_plus_one_min_repeats=8``). Options no query rule takes
    are ignored: :func:`toolkit.findings` passes the same options to every domain.
    ``pt_fingerprints=True`` groups statements by pt-query-digest's fingerprints.

        >>> findings(events, server_events, slow_ms=200).top(5)        # doctest: +SKIP
    """
    if events is None:
        events = schema.empty("query_events")
    frames = []
    with prepared(events, server_events, pt_fingerprints):
        for rid, fn in QUERY_DETECTORS.items():
            if rules is None or rid in rules:
                frames.append(fn(events, **_options_for(fn, rid, options)))
        for rid, fn in SERVER_DETECTORS.items():
            if rules is None or rid in rules:
                if rid == "queries.errors":
                    frames.append(fn(server_events, **_options_for(fn, rid, options)))
                else:
                    frames.append(fn(server_events, events, **_options_for(fn, rid, options)))
    return to_frame((r for f in frames for r in f.to_dict("records")), per_rule=per_rule, dedupe=dedupe)
