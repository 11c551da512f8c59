"""Shared test helpers.

``require_program(name)``: tests that drive a real program (a server, a browser, an established
tool we compare against) skip with a reason when it is missing, except under CI (``CI`` set),
where .ci/run installs them and a missing program is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_traces"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_EXTRA_PATHS = ("/usr/lib/postgresql/15/bin", "/usr/sbin", "/usr/local/sbin")


def find_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in _EXTRA_PATHS:
        candidate = os.path.join(d, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def require_program(name: str) -> str:
    path = find_program(name)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI; .ci/run should have installed it")
    pytest.skip(f"{name} is not installed")


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
