"""Access logs written by real servers in configurations the samples do not use
(tests/fixtures/third_party/produced-here/make.py, steps ``apache`` and ``nginx_json``)."""

import json
from pathlib import Path

import pytest

import toolkit as tk

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "third_party" / "produced-here"


@pytest.mark.parametrize("name", ["apache2.4-combined.log", "apache2.4-vhost-combined.log",
                                  "apache2.4-combined-usec.log"])
def test_apache_escaped_quotes_are_detected_and_decoded(name):
    # GIVEN Apache 2.4's log, a third of whose user agents hold a quote written as \"
    path = HERE / name
    lines = path.read_text().splitlines()
    assert sum('\\"' in ln for ln in lines) == 15
    # WHEN it is read without options
    df = tk.read_access_log(path)
    # THEN every line is a request (GoAccess counts 45 valid requests in each), the quote decoded
    assert len(df) == 45 and df.attrs["source"]["lines_skipped"] == 0
    assert (df.user_agent == 'probe "quoted" agent').sum() == 15
    assert df.status.value_counts().to_dict() == {200: 27, 404: 18}


def test_nginx_escape_json_keys_map_to_the_canonical_columns():
    # GIVEN nginx's escape=json log with its own key names ("ip", "bytes", "duration")
    path = HERE / "nginx1.22-escape-json.log"
    records = [json.loads(ln) for ln in path.read_text().splitlines()]
    # WHEN it is read without options
    df = tk.read_access_log(path)
    # THEN each key lands in its column, the JSON escapes decoded
    assert len(df) == len(records) == 40
    assert df.body_bytes_sent.sum() == sum(r["bytes"] for r in records)
    assert df.client.eq("127.0.0.1").all()
    assert (df.user_agent == 'probe "quoted" \\ agent').sum() == 20
    assert df.request_time_s.notna().all()
