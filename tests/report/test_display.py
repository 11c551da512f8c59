"""redact_display: a notebook shows tables, figures and findings redacted while its variables
keep their values; off again on request; nothing outside IPython."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from toolkit import rules as R
from toolkit.findings import markdown
from toolkit.ranking import to_frame
from toolkit.report.display import redact_display

EVENTS = pd.DataFrame({"statement": ["SELECT * FROM users WHERE email = 'bob@example.com' AND id = 42"] * 3,
                       "client": ["10.0.0.1", "10.0.0.2", "10.0.0.1"], "duration_ms": [1.0, 2.0, 3.0]})


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    yield ip
    redact_display(False, ipython=ip)


def _shown(ip, obj) -> dict:
    return ip.display_formatter.format(obj)[0]


def test_tables_are_shown_redacted_and_the_data_is_untouched(shell):
    # GIVEN query events with a literal e-mail and client addresses
    before = EVENTS.copy()
    # WHEN redaction is on and the frame and a groupby of it are shown
    redact_display(True, ipython=shell)
    shown = _shown(shell, EVENTS)
    per_client = _shown(shell, EVENTS.groupby("client")["duration_ms"].sum())
    # THEN every shown form is redacted, column by column
    for text in (shown["text/html"], shown["text/plain"], per_client["text/plain"]):
        assert "bob@example.com" not in text and "10.0.0.1" not in text
    assert "SELECT * FROM users WHERE email = ? AND id = ?" in shown["text/html"]
    assert "client-1" in shown["text/html"] and "client-1    4.0" in per_client["text/plain"]
    # AND the variable still holds the literal values the detectors need
    pd.testing.assert_frame_equal(EVENTS, before)


def test_a_long_frame_is_redacted_where_pandas_shows_it(shell):
    redact_display(True, ipython=shell)
    big = pd.DataFrame({"client": [f"10.0.{i // 256}.{i % 256}" for i in range(5000)]})
    shown = _shown(shell, big)["text/plain"]
    assert "10.0." not in shown and "client-1" in shown
    assert "[5000 rows x 1 columns]" in shown


def test_figures_and_findings_are_shown_redacted(shell, monkeypatch):
    import plotly.io as pio

    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")  # as %load_ext toolkit sets it
    redact_display(True, ipython=shell)
    # a figure goes through IPython's display hook: what it publishes is the redacted copy
    published = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
    fig = go.Figure(go.Bar(x=["/r?token=abc", "b"], y=[1, 2]))
    assert shell.display_formatter.ipython_display_formatter(fig) is True
    assert published[0]["application/vnd.plotly.v1+json"]["data"][0]["x"] == ["/r?token=?", "b"]
    assert fig.data[0].x == ("/r?token=abc", "b")
    # findings as Markdown: title and evidence redacted
    rule = R.Rule("display_test.rule", "caching", "d", severity="low", fix="cache it")  # not registered
    found = to_frame([R.finding(rule, "from 10.9.9.9", "`SELECT 'secret'` by bob@example.com")])
    shown = _shown(shell, markdown(found))
    assert "secret" not in shown["text/markdown"] and "bob@example" not in shown["text/markdown"]
    assert "`SELECT ?`" in shown["text/markdown"] and "[email]" in shown["text/plain"]


def test_off_shows_values_again_and_outside_ipython_nothing_happens(shell):
    redact_display(True, ipython=shell)
    redact_display(False, ipython=shell)
    assert "10.0.0.1" in _shown(shell, EVENTS)["text/html"]
    assert redact_display(True, ipython=None) is None  # no IPython running this test: a no-op
