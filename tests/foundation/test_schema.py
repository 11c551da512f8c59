"""toolkit.schema: canonical tables, coercion and validation."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit import schema
from toolkit.errors import SchemaError


@pytest.mark.parametrize("table", sorted(schema.TABLES))
def test_empty_tables_validate(table):
    df = schema.empty(table)
    assert len(df) == 0
    assert list(df.columns) == schema.columns(table)
    assert schema.validate(df, table) is df


def test_coerce_adds_missing_columns_as_nulls_and_keeps_extras_and_attrs():
    df = pd.DataFrame({"duration_ms": [1, 2], "statement": ["select 1", "select 2"], "extra": [1, 2]})
    df.attrs["source"] = {"path": "x.log"}
    out = schema.coerce(df, "query_events")
    schema.validate(out, "query_events")
    assert out["duration_ms"].dtype == "float64"
    assert out["rows_sent"].isna().all()
    assert list(out.columns)[-1] == "extra"
    assert out.attrs["source"] == {"path": "x.log"}
    assert "rows_sent" not in df.columns  # the input is not mutated


def test_coerce_makes_timestamps_utc():
    df = pd.DataFrame({"timestamp": ["2026-11-26 10:00:00+01:00"]})
    out = schema.coerce(df, "server_events")
    assert str(out["timestamp"].dtype).endswith("UTC]")
    assert out.loc[0, "timestamp"] == pd.Timestamp("2026-11-26 09:00:00", tz="UTC")


def test_validate_names_every_problem():
    df = pd.DataFrame({"function": ["f"], "file": ["a.py"], "line": ["one"], "self_s": [1.0]})
    with pytest.raises(SchemaError) as err:
        schema.validate(df, "profile_functions")
    msg = str(err.value)
    assert "column 'line' has dtype" in msg and "expected int" in msg
    assert "missing column 'total_s'" in msg and "missing column 'total_pct'" in msg


def test_unknown_table():
    with pytest.raises(SchemaError, match="unknown table 'nope'"):
        schema.empty("nope")
