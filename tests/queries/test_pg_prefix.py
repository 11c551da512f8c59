"""log_line_prefix dialects (issue #13): every escape's real shape, detection of the prefixes
users have, a prefix inferred from the lines' shape, and a wrong explicit prefix refused.

The lines are PostgreSQL 15's own (tests/fixtures/third_party/produced-here/pg15-prefix-*.log,
written by make.py's ``postgres_prefixes`` under the prefixes of its PG_PREFIXES) and pgBadger's
test logs (tests/fixtures/third_party/pgbadger/).
"""

from __future__ import annotations

import pytest
from conftest import FIXTURES

import toolkit as tk
from toolkit.errors import LogFormatError
from toolkit.queries.pg_prefix import (
    KNOWN_PREFIXES,
    check_prefix,
    compile_prefix,
    detect_prefix,
    infer_prefix,
)

CORPUS = FIXTURES / "third_party"
HERE = CORPUS / "produced-here"

# The prefixes make.py gave the server, per file.
PRODUCED = {
    "pg15-prefix-hostname-remote.log": "%m [%p] %q%u@%d %r ",
    "pg15-prefix-xid-sqlstate.log": "%t [%p]: [%l-1] [%x] %v %e %c %b %Q usr=%u,db=%d,appli=%a ",
    "pg15-prefix-padded.log": "%m %-10u %-12d %6p %-8a|",
    "pg15-prefix-rds.log": "%t:%r:%u@%d:[%p]:",
    "pg15-prefix-session.log": "%n %s %i %P [%p] %q%u@%d %h ",
}


def head(path, n: int = 400) -> list[str]:
    return path.read_text().split("\n")[:n]


def line_with(name: str, *needles: str) -> str:
    """The first line of produced file ``name`` holding all ``needles``."""
    return next(ln for ln in head(HERE / name, 10_000) if all(n in ln for n in needles))


def fields(prefix: str, line: str, *names: str) -> tuple:
    m = compile_prefix(prefix).match(line)
    assert m is not None, line
    return tuple(m[n] for n in names)


# ------------------------------------------------------------------ every escape, real lines


def test_remote_host_is_local_ipv6_or_a_host_name():
    # GIVEN PostgreSQL 15 with log_hostname=on and '%r': clients over the socket, 127.0.0.1, ::1
    name, prefix = "pg15-prefix-hostname-remote.log", PRODUCED["pg15-prefix-hostname-remote.log"]
    # THEN the client is "[local]", the resolved name (port dropped), or the IPv6 address
    assert fields(prefix, line_with(name, "[local] LOG:  connection received"), "client", "user", "database") \
        == ("[local]", "[unknown]", "[unknown]")
    assert fields(prefix, line_with(name, "localhost(", "pg_sleep"), "ts", "pid", "client", "user") \
        == ("2026-12-07 13:23:55.762", "2353", "localhost", "postgres")
    assert fields(prefix, line_with(name, "::1(", "connection received"), "client") == ("::1",)
    # AND a postmaster line stops at %q
    assert fields(prefix, line_with(name, "listening on IPv6"), "pid", "user", "client", "severity") \
        == ("2343", None, None, "LOG")


def test_rds_prefix_with_an_ipv6_client_keeps_the_colons_apart():
    name, prefix = "pg15-prefix-rds.log", PRODUCED["pg15-prefix-rds.log"]
    line = line_with(name, ":::1(46652):postgres@postgres", "CREATE TABLE")
    assert fields(prefix, line, "ts", "tz", "client", "user", "database", "pid") \
        == ("2026-12-07 13:24:02", "UTC", "::1", "postgres", "postgres", "2451")
    # a background process: empty host, user and database
    assert fields(prefix, line_with(name, "UTC::@:"), "client", "user", "database", "pid") \
        == ("", "", "", "2439")


def test_transaction_sqlstate_session_backend_type_and_query_id():
    name, prefix = "pg15-prefix-xid-sqlstate.log", PRODUCED["pg15-prefix-xid-sqlstate.log"]
    line = line_with(name, "[2383]", "STATEMENT:  SELECT 1 / 0")
    assert fields(prefix, line, "session_line", "txid", "vxid", "sqlstate", "session", "backend_type",
                  "query_id", "user", "application", "severity") == (
        "69", "0", "3/19", "22012", "6b16b36d.94f", "client backend", "-8441324848661855122", "postgres",
        "corpus", "STATEMENT")
    # the UPDATE in a transaction has a transaction id
    assert fields(prefix, line_with(name, "[2383]", "UPDATE items SET name"), "txid", "vxid") == ("731", "3/17")
    # the postmaster: no virtual transaction (empty), query id 0, empty user/db/app
    assert fields(prefix, line_with(name, "[2375]", "listening on IPv6"), "vxid", "backend_type", "query_id",
                  "user", "database", "application") == ("", "postmaster", "0", "", "", "")


def test_padded_escapes_are_read_without_their_padding():
    name, prefix = "pg15-prefix-padded.log", PRODUCED["pg15-prefix-padded.log"]
    assert fields(prefix, line_with(name, "pg_sleep"), "user", "database", "pid", "application", "message") == (
        "postgres", "postgres", "2415", "corpus", "duration: 20.348 ms  statement: SELECT pg_sleep(0.02)")
    # all-blank padded fields of the postmaster are empty, not spaces
    assert fields(prefix, line_with(name, "starting PostgreSQL"), "user", "database", "pid", "application") \
        == ("", "", "2407", "")


def test_epoch_session_start_command_tag_and_parallel_leader():
    name, prefix = "pg15-prefix-session.log", PRODUCED["pg15-prefix-session.log"]
    line = line_with(name, "CREATE TABLE  [2483]")
    assert fields(prefix, line, "epoch", "session_start", "command_tag", "leader_pid", "pid", "client") == (
        "1796649844.642", "2026-12-07 13:24:04 UTC", "CREATE TABLE", "", "2483", "::1")


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(("rel", "prefix"), [
    ("pgbadger/begin_end.log", "%t [%p]: db=%d,user=%u,app=%a,client=%h "),
    ("pgbadger/multiline_param.log", "%m [%p] user=%u,db=%d "),
    ("pgbadger/postgresql_param_range.log", "%t [%p]: [%l-1] [%x] usr=%u,db=%d,appli=%a "),
    # user=%u,db=%d would match too, its database swallowing ",host=...,app=...": not taken
    ("pgbadger/pg_vacuums.log", "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a "),
    ("pgbadger/light.postgres.log", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "),
    ("pgbadger/rds.log", "%t:%r:%u@%d:[%p]:"),
    ("lnav/logfile_postgres.1", "%m [%p] %q%u@%d "),
    ("produced-here/pg15-prefix-rds.log", "%t:%r:%u@%d:[%p]:"),
    # %u@%d would match as many lines, its database holding "postgres [local]": the longer wins
    ("produced-here/pg15-prefix-hostname-remote.log", "%m [%p] %q%u@%d %r "),
    # not a known prefix: inferred from the shape ("[queryid=...]" is a key=value)
    ("pgbadger/queryid.log", "%m [%p] [queryid=%Q] %u@%d "),
])
def test_the_prefix_of_real_logs_is_detected(rel, prefix):
    assert detect_prefix(head(CORPUS / rel)) == prefix


@pytest.mark.parametrize(("rel", "prefix"), [
    ("pgbadger/begin_end.log", "%t [%p]: db=%d,user=%u,app=%a,client=%h "),
    ("pgbadger/postgresql_param_range.log", "%t [%p]: [%l-1] [%x] usr=%u,db=%d,appli=%a "),
    ("pgbadger/rds.log", "%t:%r:%u@%d:[%p]:"),
    ("produced-here/pg15-prefix-rds.log", "%t:%r:%u@%d:[%p]:"),
    # %q where the postmaster's lines stop
    ("produced-here/pg15-prefix-hostname-remote.log", "%m [%p] %q%u@%d %r "),
    ("produced-here/pg15-prefix-local.log", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "),
])
def test_inference_alone_finds_the_prefix_the_server_was_given(rel, prefix):
    # GIVEN real lines, WHEN no known prefix is tried THEN the shape gives the server's prefix
    records = [ln for ln in head(CORPUS / rel) if ln.strip() and not ln.startswith("\t")]
    assert infer_prefix(records) == prefix


def test_inferred_prefix_is_read_like_the_given_one():
    # GIVEN pgBadger's queryid.log, whose prefix is in no list WHEN read without a prefix
    path = CORPUS / "pgbadger" / "queryid.log"
    assert "%m [%p] [queryid=%Q] %u@%d " not in KNOWN_PREFIXES
    q = tk.read_queries(path)
    # THEN pgBadger's figures (manifest.json: 20 queries, 13595.422 ms) and clean user names
    st = q[q.kind.isin(["statement", "execute"]) & q.duration_ms.notna()]
    assert (len(st), round(float(st.duration_ms.sum()), 3)) == (20, 13595.422)
    assert sorted(q.user.dropna().unique()) == ["postgres"]


@pytest.mark.parametrize("name", ["pg15-prefix-padded.log", "pg15-prefix-session.log",
                                  "pg15-prefix-xid-sqlstate.log"])
def test_shapes_it_cannot_read_are_not_guessed(name):
    # GIVEN bare values (padded names, epoch, command tags, backend types) THEN no prefix at all
    assert detect_prefix(head(HERE / name)) is None
    # AND reading asks for the prefix, showing the first line
    with pytest.raises(LogFormatError, match="log_line_prefix=") as err:
        tk.read_queries(HERE / name)
    assert head(HERE / name)[0][:60] in str(err.value)


def test_other_logs_get_no_prefix():
    for path in (FIXTURES / "third_party" / "produced-here" / "nginx1.22-main.log",
                 FIXTURES / "third_party" / "produced-here" / "mariadb10.11-verbosity-innodb-slow.log"):
        assert detect_prefix(head(path)) is None


@pytest.mark.parametrize("name", sorted(PRODUCED))
def test_every_produced_log_reads_the_same_workload(name):
    # GIVEN the same workload logged under each prefix WHEN read with the prefix the server had
    q = tk.read_queries(HERE / name, log_line_prefix=PRODUCED[name])
    st = q[q.kind.isin(["statement", "execute"]) & q.duration_ms.notna()]
    # THEN the 51 statements pgBadger counts where it reads the prefix, no line skipped
    assert len(st) == 51
    assert q.attrs["source"]["lines_skipped"] == 0
    assert set(st.statement.str.split().str[0]) == {"CREATE", "INSERT", "SELECT", "UPDATE", "BEGIN", "COMMIT"}


# ------------------------------------------------------------------ a wrong explicit prefix


def test_a_prefix_matching_no_line_is_refused_with_the_first_line_and_the_pattern():
    path = CORPUS / "pgbadger" / "begin_end.log"
    # WHEN read with Debian's prefix, which matches none of its lines
    with pytest.raises(LogFormatError) as err:
        tk.read_queries(path, log_line_prefix="%m [%p] %q%u@%d ")
    msg = str(err.value)
    # THEN the error names the file, shows the first line, the prefix, its pattern, and the right one
    assert "begin_end.log" in msg
    assert "2021-02-14 01:34:02 CET [30291]: db=[unknown],user=[unknown]" in msg
    assert "log_line_prefix='%m [%p] %q%u@%d '" in msg and "(?P<pid>" in msg
    assert "log_line_prefix='%t [%p]: db=%d,user=%u,app=%a,client=%h '" in msg


def test_a_prefix_matching_some_lines_passes():
    lines = head(HERE / "pg15-prefix-hostname-remote.log")
    check_prefix("%m [%p] ", lines, "x.log")  # the postmaster's lines match: no error
    with pytest.raises(LogFormatError, match="matches none of the first 3 lines"):
        check_prefix("%t [%p] ", ["2026-12-07 13:23:55.465 UTC [2343] LOG:  x", "", "\tcont", "a", "b"], "x.log")
