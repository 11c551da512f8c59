"""A JSON access log whose keys are the application's own names, read with ``json_keys=``
(key -> column, over toolkit.http.scanner.JSON_KEYS), and the CLI's ``--log-format-name`` (the
library's ``name=``).

The fixture tests/fixtures/http/json_own_key_names.jsonl has four requests: ISO 8601 and epoch
times, one line without a time or a path."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest
from conftest import FIXTURES

import toolkit as tk
from toolkit.cli import main
from toolkit.errors import LogFormatError, UnknownFormatError
from toolkit.http.scanner import JsonKeys

LOG = FIXTURES / "http" / "json_own_key_names.jsonl"
KEYS = {"when": "timestamp", "addr": "client", "verb": "method", "uri": "url", "code": "status",
        "took": "request_time_s", "sent": "$body_bytes_sent"}
MAIN_LOG = FIXTURES / "third_party" / "produced-here" / "nginx1.22-main.log"


def test_unknown_key_names_are_not_guessed():
    with pytest.raises(UnknownFormatError):
        tk.read_access_log(LOG)


def test_json_keys_map_the_logs_names_to_columns():
    # GIVEN the log's own key names WHEN read with json_keys
    df = tk.read_access_log(LOG, json_keys=KEYS)
    # THEN each key fills its column, typed: times from ISO 8601 or an epoch, seconds, statuses
    assert df["timestamp"].tolist()[:3] == [pd.Timestamp("2026-11-26 05:15:40", tz="UTC"),
                                            pd.Timestamp("2026-11-26 05:15:41", tz="UTC"),
                                            pd.Timestamp("2026-11-26 05:15:42.5", tz="UTC")]
    assert df["path"].tolist()[:3] == ["/users/12", "/users/13", "/orders"]
    assert df["query"].tolist()[0] == "x=1"
    assert df["status"].tolist() == [200, 500, 201, 404]
    assert df["request_time_s"].tolist() == [0.12, 0.3, 0.05, 0.001]
    assert df["body_bytes_sent"].tolist()[:3] == [512, 20, 0]
    assert df["method"].tolist() == ["GET", "GET", "POST", "GET"]
    # and the row without a time or a path is kept and counted
    assert df.attrs["source"]["rows_without"] == {"timestamp": 1, "path": 1}
    assert df.attrs["source"]["lines_read"] == df.attrs["source"]["records"] == 4


def test_endpoints_take_json_keys_in_one_process_or_two():
    for jobs in (1, 2):
        table = tk.endpoints(LOG, json_keys=KEYS, jobs=jobs).set_index(["endpoint", "method"])
        assert table.loc[("/users/{id}", "GET"), "requests"] == 2
        assert table.loc[("/users/{id}", "GET"), "errors_5xx_pct"] == 50.0
        assert table.loc[("/users/{id}", "GET"), "total_s"] == pytest.approx(0.42)
        assert table.loc[("/orders", "POST"), "requests"] == 1
        assert table["requests"].sum() == 4  # the line without a path counted too


def test_json_keys_on_a_log_that_is_not_json_is_an_error():
    with pytest.raises(LogFormatError, match="json_keys applies to JSON access logs.*'main'"):
        tk.read_access_log(MAIN_LOG, json_keys=KEYS)
    with pytest.raises(LogFormatError, match="json_keys applies to JSON access logs"):
        tk.read_access_log(MAIN_LOG, "main", json_keys=KEYS)
    with pytest.raises(LogFormatError, match="str -> str"):
        tk.read_access_log(LOG, json_keys={"when": 3})


def test_the_mapping_survives_a_worker_process():
    keys = JsonKeys(KEYS)
    assert pickle.loads(pickle.dumps(keys)).mapping == keys.mapping
    assert keys.mapping["when"] == "date" and keys.mapping["took"] == "request_time"


CONF = """log_format main '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"';
log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent $request_time';
"""


def test_the_cli_picks_a_log_format_by_name_as_the_library_does(tmp_path, capsys):
    # GIVEN an nginx.conf defining main and timed, and a log written with main
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF)
    library = tk.read_access_log(MAIN_LOG, f"@{conf}", name="main")
    # WHEN the CLI is told the same name THEN it reads the log with it
    assert main(["analyze", str(MAIN_LOG), "--log-format", f"@{conf}", "--log-format-name", "main",
                 "--no-report", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"nginx (log_format main): {len(library)} record(s)" in out
    # and a name the configuration lacks, or a name without a configuration, is exit code 2
    assert main(["analyze", str(MAIN_LOG), "--log-format", f"@{conf}", "--log-format-name", "nope",
                 "--no-report", "-q"]) == 2
    assert "no log_format / LogFormat named 'nope'" in capsys.readouterr().err
    assert main(["analyze", str(MAIN_LOG), "--log-format-name", "main", "--no-report", "-q"]) == 2
