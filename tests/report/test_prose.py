"""Sentences about the data (toolkit.report.prose) and the notebooks' parameters
(toolkit.report.parameters): values escaped, code spans fenced, an empty table replaced by one
line, redaction of the values only, parameters in the command line's forms."""

from __future__ import annotations

import doctest
import sys

import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.report.display import redact_display
from toolkit.report.parameters import callable_of, paths
from toolkit.report.prose import Prose, code, not_applicable, say, table

PAYLOAD = "<img src=x onerror=alert(1)> [click](http://x) *bold*"


def test_values_are_escaped_and_the_authors_markdown_stays():
    # GIVEN a sentence whose values come from an input and hold markup
    p = say("**Seen**: {name} in {n:,} rows ({pct:.1f}%).", name=PAYLOAD, n=12345, pct=25.04)
    md = p._repr_markdown_()
    # THEN the author's bold stays, the value's markup is inert text, numbers are not escaped
    assert md.startswith("**Seen**: &lt;img src=x onerror=alert(1)&gt; \\[click\\](http\\://x) \\*bold\\*")
    assert md.endswith(" in 12,345 rows (25.0%).")
    # AND the plain twin reads as text, without the bold markers
    assert repr(p) == f"Seen: {PAYLOAD} in 12,345 rows (25.0%)."


def test_code_spans_are_fenced_past_the_backticks_they_hold_and_cut():
    assert say("{c}", c=code("a `b` c"))._repr_markdown_() == "``a `b` c``"
    assert say("{c}", c=code("`edge`"))._repr_markdown_() == "`` `edge` ``"
    long = say("{c}", c=code("select " + "x, " * 100, limit=20))
    assert long._repr_markdown_() == "`select x, x, x, x, …`"
    assert repr(long) == "`select x, x, x, x, …`"


def test_a_missing_value_is_an_error_not_a_blank():
    with pytest.raises(KeyError, match="no value for {n}"):
        say("{n} rows")


def test_not_applicable_is_one_line_with_the_reason():
    p = not_applicable("Plans", "{n} statements, none with a plan", n=3)
    assert p._repr_markdown_() == "**Plans: does not apply here**: 3 statements, none with a plan."
    assert repr(p) == "Plans: does not apply here: 3 statements, none with a plan."


def test_an_empty_table_becomes_its_sentence_and_a_full_one_is_tidied():
    empty = pd.DataFrame({"function": [], "file": []})
    assert repr(table(empty, empty="No {what}.", what="functions")) == "No functions."
    full = pd.DataFrame({"function": ["f", "g", "h"], "self_s": [1.23456, 2.0, 3.0],
                         "file": ["/srv/app/pkg/mod.py", "/usr/lib/python3.11/json/decoder.py", "a.py"],
                         "when": pd.to_datetime(["2026-01-01"] * 3)})
    shown = table(full, 2, empty="")
    assert shown["file"].tolist() == ["pkg/mod.py", "json/decoder.py"]  # no machine's path
    assert shown["self_s"].tolist() == [1.235, 2.0] and len(shown) == 2


def test_under_redact_the_values_are_redacted_and_the_words_kept():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    redact_display(True, ipython=ip)
    try:
        p = say("Client {client} sent {q}.", client="203.0.113.9",
                q=code("SELECT * FROM t WHERE email = 'bob@example.com'"))
        shown = ip.display_formatter.format(p)[0]
    finally:
        redact_display(False, ipython=ip)
    assert "203.0.113.9" not in shown["text/markdown"] and "bob@example.com" not in shown["text/plain"]
    assert shown["text/markdown"].startswith("Client client-1 sent `SELECT * FROM t WHERE email = ?`")
    assert isinstance(p, Prose) and "203.0.113.9" in repr(p)  # the sentence itself keeps its values


def test_paths_take_a_path_a_list_or_none():
    assert paths("a.log") == ["a.log"] and paths(["a", None, ""]) == ["a"] and paths(None) == []


def test_callable_of_takes_a_module_or_a_file_and_says_what_is_missing(tmp_path):
    (tmp_path / "mine.py").write_text("class K:\n    @staticmethod\n    def f(n):\n        return n * 2\n")
    assert callable_of(f"{tmp_path / 'mine.py'}:K.f")(21) == 42
    assert callable_of("json:dumps")([1]) == "[1]"
    with pytest.raises(InputError, match="no such file"):
        callable_of(f"{tmp_path / 'nope.py'}:f")
    with pytest.raises(InputError, match="json has no nope"):
        callable_of("json:nope")
    with pytest.raises(InputError, match="expected 'module:function'"):
        callable_of("json.dumps")


def test_the_modules_examples_hold():
    for name in ("toolkit.report.prose", "toolkit.report.parameters"):
        assert doctest.testmod(sys.modules[name]).failed == 0, name
