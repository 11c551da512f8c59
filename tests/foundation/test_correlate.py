"""tk.correlate: the shop sample's access log, PostgreSQL log and py-spy profile joined; attribution
checked against the app's own request ids and routes (its sqlcommenter tags); small hand-built
cases for the time, transaction and session rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit import correlation as C
from toolkit.errors import InputError

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_traces"

ROUTES = {"/customers/<int:cid>/orders": "/customers/{id}/orders", "/orders/<int:oid>": "/orders/{id}",
          "/products/search": "/products/search", "/reports/top-customers": "/reports/top-customers"}


@pytest.fixture(scope="module")
def shop():
    d = SAMPLES / "web" / "shop"
    run = json.loads((d / "run.json").read_text())
    requests = tk.read_access_log(d / "access.log.gz")
    events = tk.read_queries(d / "postgresql.log.gz")
    profile = tk.read_profile(d / "profile.chrometrace.json.gz")
    joined = C.join(requests, events, profile, profile_start=run["profile_start"], freq="5s")
    return {"run": run, "requests": requests, "events": events, "profile": profile, "joined": joined}


def _tagged(events: pd.DataFrame) -> pd.Series:
    return events["tag_route"].notna()


def test_every_tagged_statement_goes_to_its_own_request_and_route(shop):
    ev = shop["joined"].events
    tagged = ev[_tagged(ev)]
    # THEN by request id (nginx's $request_id = the traceparent's trace id), all of them
    assert shop["joined"].summary["keys"] == {"requests": "request_id", "events": "trace_id"}
    assert (tagged["attributed_by"] == "request id").all()
    assert (tagged["request_id"] == tagged["trace_id"]).all()
    assert (tagged["endpoint"] == tagged["tag_route"].map(ROUTES)).all()
    # and the untagged BEGIN / ROLLBACK of those transactions follow their statements
    tx = ev[ev["statement"].isin(["BEGIN", "ROLLBACK"]) & ev["request"].notna()]
    assert len(tx) > 1000 and set(tx["attributed_by"]) <= {"time", "session and time"}


def test_without_ids_time_and_sessions_put_95_percent_of_database_time_on_the_right_endpoint(shop):
    # GIVEN the same evidence, ids ignored (a log without comments)
    truth = shop["joined"].events
    guess = C.attribute_events(shop["requests"], shop["events"], event_key=False)
    tagged = _tagged(truth)
    right = tagged & (guess["endpoint"] == truth["tag_route"].map(ROUTES)).fillna(False)
    wrong = tagged & guess["request"].notna() & ~right
    time_ms = truth["duration_ms"]
    # THEN >= 95 % of the app's database time lands on its own endpoint, and almost none elsewhere
    assert time_ms[right].sum() / time_ms[tagged].sum() >= 0.95
    assert time_ms[wrong].sum() / time_ms[tagged].sum() < 0.01
    assert set(guess["attributed_by"]) <= {"time", "session and time", "ambiguous", "none"}


def test_the_breakdown_counts_what_the_logs_hold(shop):
    j = shop["joined"]
    table = j.breakdown.set_index("endpoint")
    reqs = shop["requests"]
    counts = tk.http.template_paths(reqs["path"]).value_counts()
    assert table["requests"].to_dict() == counts.to_dict()
    # one joinedload query per order page, inside BEGIN ... ROLLBACK
    assert table.loc["/orders/{id}", "queries_p95"] == 3
    # the search: one statement doing a scan, most of the request's time in the database
    assert table.loc["/products/search", "db_share_pct"] > 50
    assert table.loc["/health", "queries_mean"] == 0
    # N+1 loops only after the release that brought them (POST /deploy/2)
    deploy = pd.Timestamp(shop["run"]["deploy_at"], unit="s", tz="UTC")
    per = j.requests
    cust = per[per["endpoint"] == "/customers/{id}/orders"]
    assert (cust.loc[cust["timestamp"] < deploy, "n_plus_one"] == 0).all()
    late = cust[cust["timestamp"] > deploy + pd.Timedelta(seconds=1)]
    assert (late["n_plus_one"] == 1).all() and len(late) > 50
    assert table.loc["/customers/{id}/orders", "requests_with_n_plus_one"] == int((cust["n_plus_one"] > 0).sum())
    # database time: the per-request sums add up to what was attributed
    attributed = j.events.loc[j.events["request"].notna(), "duration_ms"].sum()
    assert per["db_ms"].sum() == pytest.approx(attributed)
    assert j.summary["db_ms"] == pytest.approx(shop["events"]["duration_ms"].sum(), abs=1e-3)


def test_findings_name_the_database_bound_endpoint_and_the_query_budget_regression(shop):
    f = shop["joined"].findings
    assert set(f["rule"]) == {"requests.database_time", "requests.query_budget"}
    db = f[f["rule"] == "requests.database_time"]
    assert db["endpoint"].tolist() == ["/products/search"]
    assert db.iloc[0]["title"].startswith("GET /products/search spends ")
    assert "of its time in the database, 3 queries per request" in db.iloc[0]["title"]
    budget = f[f["rule"] == "requests.query_budget"].iloc[0]
    assert budget["endpoint"] == "/customers/{id}/orders"
    assert budget["title"].startswith("GET /customers/{id}/orders: queries per request rose from 5.0 to ")


def test_profile_time_goes_to_the_functions_of_each_endpoint(shop):
    j = shop["joined"]
    timeline = shop["profile"].meta["timeline"]
    assert timeline["duration_s"].sum() == pytest.approx(shop["profile"].duration_s)
    table = j.breakdown.set_index("endpoint")
    assert table.loc["/reports/top-customers", "top_functions"].startswith("rank_customers (app.py)")
    assert table.loc["/customers/{id}/orders", "top_functions"].startswith("order_lines (app.py)")
    assert j.summary["profile_attributed_pct"] > 50
    # only request work is sampled: idle workers and the main loop are not
    assert not j.samples["function"].isin(["main", "<module>"]).any()


def test_tk_correlate_is_the_breakdown(shop):
    table = tk.correlate(shop["requests"], shop["events"])
    assert list(table.columns[:3]) == ["endpoint", "method", "requests"]
    assert table.attrs["summary"]["db_attributed_pct"] > 85
    assert table["top_functions"].isna().all()  # no profile given


# --------------------------------------------------------------------------- hand-built cases

T0 = pd.Timestamp("2026-01-01 12:00:00", tz="UTC")


def _requests(*spans):
    """(path, start ms, end ms) -> an http_requests-like table."""
    return pd.DataFrame({"timestamp": [T0 + pd.Timedelta(milliseconds=e) for _, _, e in spans],
                         "request_time_s": [(e - s) / 1e3 for _, s, e in spans],
                         "path": [p for p, _, _ in spans], "method": "GET", "status": 200})


def _events(*rows):
    """(session, end ms, duration ms, statement) -> query events."""
    return pd.DataFrame({"session": [r[0] for r in rows],
                         "timestamp": [T0 + pd.Timedelta(milliseconds=r[1]) for r in rows],
                         "duration_ms": [float(r[2]) for r in rows], "statement": [r[3] for r in rows],
                         "kind": "statement"})


def test_overlapping_requests_are_told_apart_by_transactions_and_sessions():
    # GIVEN /a (0-100 ms) and /b (40-60 ms) in flight together; /a's transaction on session 1
    # starts before /b does, /b's transaction on session 2 lies inside both windows
    reqs = _requests(("/a", 0, 100), ("/b", 40, 60))
    ev = _events(("1", 10, 1, "BEGIN"), ("1", 50, 2, "SELECT 1"), ("1", 90, 1, "ROLLBACK"),
                 ("2", 45, 1, "BEGIN"), ("2", 52, 3, "SELECT 2"), ("2", 58, 1, "ROLLBACK"),
                 ("3", 200, 1, "VACUUM"))
    out = C.attribute_events(reqs, ev)
    assert out["endpoint"].tolist() == ["/a", "/a", "/a", "/b", "/b", "/b", pd.NA]
    assert out["attributed_by"].tolist() == ["time", "session and time", "time",
                                             "session and time", "session and time", "session and time",
                                             "none"]


def test_a_tie_with_no_evidence_stays_ambiguous():
    reqs = _requests(("/a", 0, 100), ("/b", 0, 100))
    out = C.attribute_events(reqs, _events(("1", 50, 1, "SELECT 1")))
    assert out["attributed_by"].tolist() == ["ambiguous"] and out["request"].isna().all()


def test_request_ids_win_over_time_and_bad_input_is_named():
    reqs = _requests(("/a", 0, 100), ("/b", 0, 100)).assign(request_id=["A" * 32, "b" * 32])
    ev = _events(("1", 50, 1, "SELECT 1 /*x*/")).assign(trace_id=["a" * 32])
    out = C.attribute_events(reqs, ev)
    assert out[["endpoint", "attributed_by"]].values.tolist() == [["/a", "request id"]]
    with pytest.raises(InputError, match="lack"):
        C.attribute_events(reqs.drop(columns="request_time_s"), ev)
    with pytest.raises(InputError, match="no column 'nope'"):
        C.attribute_events(reqs, ev, event_key="nope")


def test_assign_by_time_handles_no_requests():
    pos, how = C.assign_by_time(np.array([1, 2]), np.array(["s", "s"], dtype=object),
                                np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert pos.tolist() == [-1, -1] and how.tolist() == ["none", "none"]
