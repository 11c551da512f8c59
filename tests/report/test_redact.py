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


@pytest.mark.parametrize("text, expected", [
    # values PostgreSQL echoes in its messages; the names it quotes stay
    ('invalid input syntax for type integer: "4111 1111"', 'invalid input syntax for type integer: "?"'),
    ('duplicate key value violates unique constraint "users_email_key"',
     'duplicate key value violates unique constraint "users_email_key"'),
    ('null value in column "card" of relation "users" violates not-null constraint',
     'null value in column "card" of relation "users" violates not-null constraint'),
    ("Failing row contains (3, b@example.org, null, 4111 1111 1111 1111).", "Failing row contains (?)."),
    ("parameters: $1 = 'alice', $2 = '42'", "parameters: $1 = ?, $2 = ?"),
    # credentials wherever they are
    ("statement: ALTER ROLE app PASSWORD 'hunter2'", "statement: ALTER ROLE app PASSWORD ?"),
    ("CREATE USER 'app'@'localhost' IDENTIFIED BY 'hunter2'", "CREATE USER 'app'@'localhost' IDENTIFIED BY ?"),
    ("host=db user=report password=Tr0ub4dor dbname=app", "host=db user=report password=[redacted] dbname=app"),
    ("could not connect to postgresql://report:Tr0ub4dor@db:5432/app", "could not connect to postgresql://db:5432/app"),
    ('{"api_key": "AKIAIOSFODNN7EXAMPLE", "n": 1}', '{"api_key": [redacted], "n": 1}'),
    ("Authorization: Bearer abc.def.ghi12345", "Authorization: [redacted]"),
    ("Cookie: sessionid=7c1d2e3f; csrftoken=x", "Cookie: [redacted]"),
    ("X-Auth-Token: tok_123456", "X-Auth-Token: [redacted]"),
    # tokens, cards, addresses
    ("reset eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln done", "reset [token] done"),
    ("handler_9f8e7d6c5b4a3f2e1d0c (views.py:12)", "handler_[token] (views.py:12)"),
    ("card 4111-1111-1111-1111 and order 4111111111111112", "card [card] and order 4111111111111112"),
    ("mail alice.secret@example.com, not a@b.c1", "mail [email], not a@b.c1"),
    # a skipped access-log line: the basic-auth user and the request target's secrets go
    ('203.0.113.9 - carol [10/Oct/2025:13:55:36 +0000] "GET /r/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln?token=t1 '
     'HTTP/1.1" 200 5',
     'client-1 - [user] [10/Oct/2025:13:55:36 +0000] "GET /r/[token]?token=? HTTP/1.1" 200 5'),
])
def test_free_text_loses_echoed_values_credentials_and_tokens(text, expected):
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "Http2ConnectionPool.get_connection (pool.py:310)",    # code names stay
    "select (selectors.py:468)",
    "SELECT * in 12 calls (3.4 % of time)",                 # prose about SQL keeps its statistics
    "no 'gzip off' in this location; 1,234 requests at 10:15:30 on 2026-01-02",
    "relation \"orders\" does not exist",
])
def test_names_statistics_and_prose_are_kept(text):
    assert redact_text(text) == text


@pytest.mark.parametrize("url, expected", [
    ("/api/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", "/api/reset/[token]"),
    ("/orders/550e8400-e29b-41d4-a716-446655440000/items", "/orders/[token]/items"),
    ("/files/alice%40example.com/x", "/files/[email]/x"),
    ("/account;jsessionid=ABCDEF123456?x=1", "/account;jsessionid=??x=?"),
    ("https://host/p/9f8e7d6c5b4a3f2e1d0c", "https://host/p/[token]"),
    ("/api/v2/users/{id}/orders", "/api/v2/users/{id}/orders"),
])
def test_tokens_in_url_paths_are_redacted(url, expected):
    assert redact_url(url) == expected


def test_double_quotes_follow_the_dialect():
    sql = 'SELECT * FROM "users" WHERE email = "bob@example.com" AND note <> "hunter2"'
    assert redact_sql(sql, "mysql") == "SELECT * FROM ? WHERE email = ? AND note <> ?"
    assert redact_sql(sql, "postgres") == ('SELECT * FROM "users" WHERE email = "[email]" '
                                           'AND note <> "hunter2"')
    # unknown dialect: identifier-shaped names stay, anything compared or not name-shaped goes
    assert redact_sql(sql) == 'SELECT * FROM "users" WHERE email = ? AND note <> ?'
    assert redact_sql('SELECT "Order Items".x FROM t') == "SELECT ?.x FROM t"
    # MySQL's backticks are names; comments stay, their credentials do not
    assert redact_sql("SELECT `email` FROM t /* api_key=abc123 */ -- me@x.org") == \
        "SELECT `email` FROM t /* api_key=[redacted] */ -- [email]"


def test_a_frame_is_redacted_by_its_format_and_column_names():
    # GIVEN MySQL query events (attrs say so) and an access-log table with logged credentials
    events = pd.DataFrame({"statement": ['SELECT 1 FROM t WHERE a = "x"']})
    events.attrs["source"] = {"format": "mysql-slow"}
    assert redact_frame(events, "query_events")["statement"].tolist() == ["SELECT ? FROM t WHERE a = ?"]
    requests = pd.DataFrame({"remote_user": ["carol", "-"], "http_authorization": ["Basic Y2Fy", "-"],
                             "http_cookie": ["sid=1", None], "arg_token": ["t1", "t2"], "status": [200, 401]})
    out = redact_frame(requests, "http_requests")
    assert out["remote_user"].tolist() == ["[redacted]", "-"]
    assert out["http_authorization"].tolist() == ["[redacted]", "-"]
    assert out["http_cookie"].tolist()[0] == "[redacted]" and out["arg_token"].tolist() == ["[redacted]"] * 2


def test_a_table_without_a_name_is_redacted_by_columns_index_and_labels():
    # GIVEN tables a notebook builds: a groupby on client, a pivot whose columns are data
    r = Redactor()
    per_client = pd.DataFrame({"requests": [3, 1]}, index=pd.Index(["10.0.0.1", "10.0.0.2"], name="client"))
    assert r.frame(per_client).index.tolist() == ["client-1", "client-2"]
    pivot = pd.DataFrame([[1, 2]], columns=pd.Index(["10.0.0.2", "HIT"], name="upstream"),
                         index=pd.MultiIndex.from_tuples([("GET", "/a?q=bob")], names=["method", "url"]))
    out = r.frame(pivot)
    assert out.columns.tolist() == ["client-2", "HIT"]
    assert out.index.tolist() == [("GET", "/a?q=?")]
    # the example column is SQL in a digest and a URL in an endpoint table: told by its shape
    examples = pd.DataFrame({"example": ["SELECT 'x'", "/p?token=1"]})
    assert r.frame(examples)["example"].tolist() == ["SELECT ?", "/p?token=?"]


def test_a_printed_literal_keeps_its_shape():
    r = Redactor()
    assert r.value("{'format': 'postgres-stderr', 'lines_read': 12, 'client': '10.1.1.1'}") == \
        "{'format': 'postgres-stderr', 'lines_read': 12, 'client': 'client-1'}"
    assert r.cell("SELECT * FROM t WHERE id = 42") == "SELECT * FROM t WHERE id = ?"
    assert r.cell("SELECT * in 12 calls") == "SELECT * in 12 calls"


def test_figures_are_redacted_where_drawn_and_typed_arrays_kept():
    fig = {"data": [{"type": "bar", "y": ["/r/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "/b"],
                     "x": {"dtype": "f8", "bdata": "AAAAAAAA8D8AAAAAAAAAQA=="},
                     "hovertemplate": "GET /p?token=abc<br>%{x}<extra></extra>"}],
           "layout": {"title": {"text": "from 10.0.0.1"}, "template": {"layout": {"font": {"family": "x"}}}}}
    out = Redactor().figure(fig)
    assert out["data"][0]["y"] == ["/r/[token]", "/b"]
    assert out["data"][0]["x"] == fig["data"][0]["x"]
    assert out["data"][0]["hovertemplate"] == "GET /p?token=?<br>%{x}<extra></extra>"
    assert out["layout"]["title"]["text"] == "from client-1"


@pytest.mark.parametrize("size, make", [
    (20_000_000, lambda n: "INSERT INTO t VALUES ('" + "a" * n + "')"),       # a 20 MB literal
    (2_000_000, lambda n: "INSERT INTO t VALUES ('" + "a''b " * (n // 5)),    # cut, full of escaped quotes
    (2_000_000, lambda n: "SELECT $x$" + "a" * n + " /* " + "b" * n),          # unterminated quote, comment
    (2_000_000, lambda n: "x = '" + "a" * n + "' " + "b@" + "c." * (n // 4)),  # text rules on long runs
], ids=["literal", "cut-literal", "dollar-comment", "text"])
def test_redaction_memory_is_linear_in_the_text(size, make):
    # GIVEN a huge value (each of these took ~300 bytes of backtracking stack per character)
    import tracemalloc

    text = make(size)
    r = Redactor()
    tracemalloc.start()
    try:
        for fn in (r.sql, r.text):
            fn(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # THEN the peak is a few copies of the text (a lower-case copy, each rule's result), not
    # hundreds of bytes per character
    assert peak < 8 * len(text), f"{peak / len(text):.1f} bytes per character"
