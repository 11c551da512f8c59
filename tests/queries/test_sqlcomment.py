"""sqlcommenter and marginalia tags: parsed into query-event columns by every query reader; the
fingerprint ignores them."""

from __future__ import annotations

import pandas as pd

import toolkit as tk
from toolkit.queries.sqlcomment import add_comment_columns, parse_comment, tag_column, trace_ids

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_sqlcommenter_values_are_url_decoded_and_escaped_quotes_restored():
    sql = ("SELECT 1 /*action='%2Fparam*d',controller='index',framework='spring',"
           "traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01',"
           "tracestate='congo%3Dt61rcWkgMzE%2Crojo%3D00f067aa0ba902b7',note='it\\'s'*/")
    assert parse_comment(sql) == {
        "action": "/param*d", "controller": "index", "framework": "spring",
        "traceparent": "00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01",
        "tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", "note": "it's"}


def test_marginalia_prepended_or_appended_and_other_comments_ignored():
    assert parse_comment("/*application:Shop,controller:users,action:show*/ SELECT 1") == {
        "application": "Shop", "controller": "users", "action": "show"}
    # a version hint, a prose comment and an unterminated comment carry no tags
    assert parse_comment("SELECT /*!40001 SQL_NO_CACHE */ 1 /* plain words */") == {}
    assert parse_comment("SELECT 1 /*controller='x'") == {}
    assert parse_comment(None) == {}


def test_traceparent_gives_trace_and_span_ids_only_when_well_formed():
    assert trace_ids(TRACEPARENT) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert trace_ids("00-short-b7ad6b7169203331-01") == (None, None)
    assert tag_column("Request-Id") == "tag_request_id"


def test_columns_are_added_only_where_tags_exist_and_attrs_are_kept():
    df = pd.DataFrame({"statement": [f"SELECT 1 /*route='/a',traceparent='{TRACEPARENT}'*/",
                                     "SELECT 2", None, "SELECT 3 /*route='/b'*/"]})
    df.attrs["source"] = {"path": "x.log"}
    out = add_comment_columns(df)
    assert out["tag_route"].tolist() == ["/a", pd.NA, pd.NA, "/b"]
    assert out["trace_id"].tolist() == ["0af7651916cd43dd8448eb211c80319c", pd.NA, pd.NA, pd.NA]
    assert out.attrs == {"source": {"path": "x.log"}}
    assert "tag_route" not in df.columns  # the input is not changed
    untagged = pd.DataFrame({"statement": ["SELECT 1", "SELECT /* why */ 2"]})
    assert add_comment_columns(untagged) is untagged


def test_read_queries_adds_the_tags_and_the_fingerprint_ignores_them(fixtures):
    # GIVEN a PostgreSQL log whose statements carry sqlcommenter and marginalia comments
    events = tk.read_queries(fixtures / "queries" / "postgres" / "sqlcommenter.log")
    # THEN the tags are columns, null on BEGIN/COMMIT
    assert len(events) == 10
    assert events["tag_controller"].tolist() == [pd.NA] + ["orders"] * 7 + ["users", pd.NA]
    assert events["tag_route"].dropna().unique().tolist() == ["/customers/<int:id>/orders"]
    assert events["tag_action"].dropna().tolist() == ["show"]
    assert events["trace_id"].dropna().unique().tolist() == ["0af7651916cd43dd8448eb211c80319c"]
    assert events.attrs["source"]["records"] == 10
    # AND the six item lookups share one fingerprint, the comment gone
    fps = events["statement"].map(tk.fingerprint)
    assert fps.iloc[2:8].nunique() == 1
    # (pt-query-digest's rules keep the space before a removed comment: "... = ? ")
    assert fps.iloc[2] == "select * from order_items where order_id = ? "
    assert tk.fingerprint("SELECT name FROM users WHERE id = 3 /*application:Shop,action:show*/") == \
        tk.fingerprint(f"select name from users where id = 9 /*controller='u',traceparent='{TRACEPARENT}'*/") == \
        "select name from users where id = ? "
    digest = tk.digest(events)
    assert digest.loc[digest["fingerprint"] == fps.iloc[2], "calls"].item() == 6


def test_the_shop_sample_tags_every_application_statement(samples):
    events = tk.read_queries(samples / "web" / "shop" / "postgresql.log.gz")
    app = events[events["tag_controller"].notna()]
    # every statement the app sent through SQLAlchemy, with the nginx request id as trace id
    assert set(app["tag_framework"]) == {"flask:3.1.3"} and set(app["tag_db_driver"]) == {"psycopg"}
    assert app["trace_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert set(app["tag_route"]) == {"/customers/<int:cid>/orders", "/orders/<int:oid>",
                                     "/products/search", "/reports/top-customers"}


def test_tags_found_in_object_and_string_columns_alike():
    # GIVEN statements with and without tags, nulls and a non-text value, as an object column
    # (the readers' dtype) and as a string column
    values = ["select 1 /*route='/a'*/", None, float("nan"), 7, "select 2", "/*application:Shop*/ select 3"]
    for dtype in (object, "string"):
        frame = pd.DataFrame({"statement": pd.Series(values if dtype is object else
                                                     [v if isinstance(v, str) else None for v in values],
                                                     dtype=dtype)})
        # WHEN their tags become columns
        out = add_comment_columns(frame)
        # THEN each tag on its own row only, nulls and non-text values without tags
        assert out["tag_route"].tolist() == ["/a", pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]
        assert out["tag_application"].tolist() == [pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, "Shop"]
    # AND a column without any comment is returned as it is (no tag columns)
    plain = pd.DataFrame({"statement": pd.Series(["select 1", None], dtype=object)})
    assert add_comment_columns(plain) is plain
