"""Redaction: literal values go, shapes and pseudonyms stay; input frames are not modified."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from toolkit.report.redact import Redactor, redact_frame, redact_sql, redact_text, redact_url


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM users WHERE email = 'bob@example.com' AND id = 42",
     "SELECT * FROM users WHERE email = ? AND id = ?"),
    ("select a from t where s = 'it''s' and x in (1, 2.5, -3, 1e6, .5)",
     "select a from t where s = ? and x in (?, ?, -?, ?, ?)"),
    ("SELECT E'a\\'b', $$body 1$$, $fn$ x $fn$, 0xFF, X'0A'", "SELECT ?, ?, ?, ?, ?"),
    # identifiers, placeholders and comments are kept
    ('SELECT "t1".c2, users2.a FROM "t1" WHERE a = $1 AND b = ? AND c = %s -- id 5',
     'SELECT "t1".c2, users2.a FROM "t1" WHERE a = $1 AND b = ? AND c = %s -- id 5'),
    ("INSERT INTO t VALUES ('cut off by the log", "INSERT INTO t VALUES (?"),
    ("$1 = '42', $2 = 'bob'", "$1 = ?, $2 = ?"),
])
def test_sql_literals_become_question_marks(sql, expected):
    assert redact_sql(sql) == expected


@pytest.mark.parametrize("url, expected", [
    ("/search?q=bob&page=2", "/search?q=?&page=?"),
    ("/a?flag&x=1;y=2", "/a??&x=?;y=?"),
    ("https://user:secret@example.com/p?token=abc#frag", "https://example.com/p?token=?#?"),
    ("/users/42/orders", "/users/42/orders"),
    ("/mail/bob@example.com", "/mail/[email]"),
])
def test_urls_keep_path_and_keys_not_values(url, expected):
    assert redact_url(url) == expected


def test_client_pseudonyms_are_stable_and_ports_dropped():
    r = Redactor()
    assert r.client("10.0.0.1(5432)") == "client-1"
    assert r.client("2001:db8::7") == "client-2"
    assert r.client("10.0.0.1:9999") == "client-1"
    assert r.client("db.internal") == "client-3"
    assert r.client("[local]") == "[local]"
    # the same address in free text gets the same name
    assert r.text("connection from 10.0.0.1 and 2001:db8::7") == "connection from client-1 and client-2"


def test_free_text_keeps_statistics_and_times():
    text = ("12 calls in 3.5 s at 10:15:30 of SELECT ... WHERE name = 'bob' "
            "Key (email)=(bob@example.com) already exists; GET /p?id=7")
    assert redact_text(text) == ("12 calls in 3.5 s at 10:15:30 of SELECT ... WHERE name = ? "
                                 "Key (email)=(?) already exists; GET /p?id=?")


def test_sql_quoted_in_backticks_in_evidence_gets_the_sql_rules():
    text = "session 104: 1 statement(s): `UPDATE accounts SET balance = 1 WHERE id = 7` in 3 ms"
    assert redact_text(text) == "session 104: 1 statement(s): `UPDATE accounts SET balance = ? WHERE id = ?` in 3 ms"


def test_plan_json_stays_valid_with_costs_kept():
    plan = json.dumps([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "users",
                                 "Filter": "(email = 'bob@example.com'::text)", "Total Cost": 12.5,
                                 "Plan Rows": 3}}])
    out = json.loads(Redactor().plan(plan))
    assert out[0]["Plan"]["Filter"] == "(email = ?::text)"
    assert out[0]["Plan"]["Total Cost"] == 12.5 and out[0]["Plan"]["Relation Name"] == "users"


def test_frame_redaction_returns_a_copy_and_keeps_dtypes_and_attrs():
    # GIVEN query events with literals, a client and attrs
    df = pd.DataFrame({"statement": ["SELECT 1", "SELECT 'x'"], "client": ["10.1.1.1", "10.1.1.2"],
                       "duration_ms": [1.0, 2.0], "user": ["web", "web"]})
    df.attrs["source"] = {"path": "x.log"}
    before = df.copy()
    # WHEN redacted
    out = redact_frame(df, "query_events")
    # THEN the input is unchanged and the copy is redacted
    pd.testing.assert_frame_equal(df, before)
    assert out["statement"].tolist() == ["SELECT ?", "SELECT ?"]
    assert out["client"].tolist() == ["client-1", "client-2"]
    assert out["user"].tolist() == ["web", "web"]
    assert out["statement"].dtype == df["statement"].dtype
    assert out.attrs == df.attrs


def test_requests_redaction_covers_url_query_referer_and_extra_columns():
    df = pd.DataFrame({"url": ["/s?q=alice"], "query": ["q=alice"], "referer": ["https://x/?u=alice"],
                       "client": ["192.0.2.1"], "user_agent": ["curl/8"],
                       "http_x_forwarded_for": ["198.51.100.9"]})
    out = redact_frame(df, "http_requests")
    assert out.iloc[0].tolist() == ["/s?q=?", "q=?", "https://x/?u=?", "client-1", "curl/8", "client-2"]
