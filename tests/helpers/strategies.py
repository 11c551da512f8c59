"""Hypothesis strategies for hostile input, and the settings profiles of the property tests.

The property tests (``tests/*/test_properties*.py``, marked ``properties``) build records from
realistic field generators with hostile values mixed in (out-of-range and non-finite numbers,
other digits, wrong JSON types, timestamps outside datetime64[ns], control characters), and
feed raw bytes too. Two profiles:

- ``suite`` (the default): a bounded number of examples, derandomized (the normal suite runs
  the same examples every time), no example database written into the worktree;
- ``long``: many more examples, random, for a manual hunt::

      HYPOTHESIS_PROFILE=long pytest -m properties -x tests

  (``tests/helpers/long_property_run.sh`` runs exactly that.)
"""

from __future__ import annotations

import bz2
import gzip
import json
import os

import zstandard
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.function_scoped_fixture]
settings.register_profile("suite", max_examples=15, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("long", max_examples=400, deadline=None, database=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


def few(n: int) -> settings:
    """``n`` examples in the suite profile (for tests that start worker processes), the loaded
    profile's number otherwise."""
    return settings(max_examples=n) if settings.default.max_examples <= 15 else settings()

# -- values ----------------------------------------------------------------------------------

# Text a number field may hold that no reader may take as a number (each one a class of issue 11).
BAD_NUMBERS = (
    "9223372036854775808", "18446744073709551616", "1" * 400,  # 2^63, 2^64, beyond float
    "1e309", "-1e309", "NaN", "nan", "Infinity", "-inf",       # not finite
    "\u0663\u0664", "\uff11\uff12", "\u0967\u0968",             # Arabic-Indic, full-width, Devanagari digits
    "0x1F", "1_000", "1.2.3", "12\x00", "\x0b3",               # hex, underscores, NUL, control
)
# ... of which those a digits-only pattern (``\d+(\.\d+)?``) still lets through to the conversion
BAD_DIGITS = ("9223372036854775808", "18446744073709551616", "1" * 400, "\u0663\u0664", "\uff11\uff12",
              "\u0967\u0968", "1" * 330 + ".5")
# Years a timestamp may carry: 1700 is kept (datetime64[ns] holds it), the others are refused.
GOOD_YEARS = ("2026", "1700", "2261", "1999")
BAD_YEARS = ("9999", "0000", "1677", "2262", "\u0662\u0660\u0662\u0666")
# Characters a text field may hold (no line breaks: those are the logs' structure).
CONTROL = ("\x00", "\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\x7f", "\ufffd", "\u00e9", "\t")


def words(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    """Identifier-like text."""
    return st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=min_size, max_size=max_size)


def hostile_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Short text with control characters and non-ASCII mixed in (never a line break)."""
    return st.text(st.sampled_from("abcxyz 0123.:;@[]()/\\\"'" + "".join(CONTROL)), max_size=max_size)


def maybe_bad(good: st.SearchStrategy, bad=BAD_NUMBERS, p_bad: float = 0.2) -> st.SearchStrategy:
    """``good`` values, now and then one of ``bad`` (a list of hostile ones)."""
    return st.one_of(good, good, good, st.sampled_from(bad)) if p_bad else good


def json_values() -> st.SearchStrategy:
    """Any JSON value, with the ones that broke readers weighted in: huge and non-finite numbers,
    nested containers, booleans, NUL."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                        st.sampled_from([2 ** 63, 2 ** 64, -(2 ** 63) - 1, 10 ** 30, 1e308]),
                        st.text(max_size=6), st.sampled_from(["\x00", "1e309", "NaN", "\u0663"]))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                        max_leaves=6)


# -- inputs ----------------------------------------------------------------------------------

def json_lines(objs) -> bytes:
    """One JSON document per line (lone surrogates kept as written)."""
    return "".join(json.dumps(o) + "\n" for o in objs).encode("utf-8", "surrogatepass")


def compressed(data: bytes, kind: str) -> bytes:
    """``data`` as a gzip, bz2 or zstd file's bytes."""
    if kind == "gz":
        return gzip.compress(data)
    if kind == "bz2":
        return bz2.compress(data)
    return zstandard.ZstdCompressor().compress(data)


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """Damaged copies of a real file: cut short, a span deleted, a line doubled, bytes replaced,
    control bytes or NULs inserted."""
    n = len(data)

    def apply(ops: list) -> bytes:
        out = bytearray(data)
        for kind, a, b, value in ops:
            a, b = sorted((a % (len(out) + 1), b % (len(out) + 1)))
            if kind == "cut":
                out = out[:a]
            elif kind == "delete":
                del out[a:b]
            elif kind == "insert":
                out[a:a] = value
            elif kind == "double":
                out[a:a] = out[a:b]
            else:
                out[a:a + len(value)] = value
        return bytes(out)

    op = st.tuples(st.sampled_from(["cut", "delete", "insert", "double", "replace"]),
                   st.integers(0, max(n, 1)), st.integers(0, max(n, 1)),
                   st.one_of(st.binary(min_size=1, max_size=8),
                             st.sampled_from([b"\x00" * 50, b"\n", b"\r", b"\xc2\x85", b"\xff\xfe",
                                              *(x.encode() for x in BAD_NUMBERS)])))
    return st.lists(op, min_size=1, max_size=4).map(apply)
