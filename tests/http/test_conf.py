"""Access-log formats found in server configuration (toolkit.http.conf): the nginx.conf and
httpd.conf that wrote the samples, and the forms of --log-format / LOG_FORMAT."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import toolkit as tk
from toolkit.errors import InputError
from toolkit.http import conf
from toolkit.http.accesslog import compile_format

HTTP = Path(__file__).resolve().parents[2] / "sample_traces" / "http"


def test_the_directives_of_the_real_nginx_conf_are_found_whole_across_lines():
    # GIVEN the nginx.conf that wrote the samples: a multi-line escape=json log_format, comments,
    # access_log lines naming formats, and the perf format included from its own file
    found = conf.log_formats((HTTP / "nginx/nginx.conf.in").read_text())
    assert list(found) == ["jsonl"]
    # THEN the directive compiles to the fields it names, and reads the log it wrote
    fields = [f.column for f in compile_format(found["jsonl"]).fields]
    assert fields[:3] == ["timestamp", "timestamp", "client"] and fields[-1] == "referer"
    assert compile_format(found["jsonl"]).escape == "json"
    requests = tk.read_access_log(HTTP / "nginx/access.jsonl.gz", log_format=found["jsonl"])
    assert requests.attrs["source"]["lines_skipped"] == 0 and len(requests) == 2438


def test_apache_logformat_lines_are_found_with_their_nicknames():
    found = conf.log_formats((HTTP / "apache/httpd.conf.in").read_text())
    assert list(found) == ["common", "combined"]
    assert found["common"] == 'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common'
    assert compile_format(found["combined"]).escape == "apache"


def test_a_format_string_is_its_own_only_candidate_and_a_conf_offers_each_directive():
    assert conf.candidates("$remote_addr $status") == ["$remote_addr $status"]
    text = ("log_format a '$remote_addr $status';  # the short one\n"
            "log_format b escape=json '{\"s\":\"$status\"}';\n")
    assert conf.candidates(text) == ["log_format a '$remote_addr $status';",
                                     "log_format b escape=json '{\"s\":\"$status\"}';"]


def test_a_hash_inside_quotes_is_not_a_comment():
    found = conf.log_formats("log_format x '$remote_addr #$status';")
    assert found == {"x": "log_format x '$remote_addr #$status';"}


def test_format_option_reads_at_files_and_names_a_missing_one(tmp_path):
    (tmp_path / "f.conf").write_text("log_format x '$status';")
    assert conf.format_option(f"@{tmp_path / 'f.conf'}") == "log_format x '$status';"
    assert conf.format_option("combined") == "combined" and conf.format_option(None) is None
    with pytest.raises(InputError, match="nope.conf: cannot read the log format"):
        conf.format_option(f"@{tmp_path / 'nope.conf'}")


def test_the_modules_examples_hold():
    assert doctest.testmod(conf).failed == 0
