"""Find real programs for tests: skip when missing locally, fail when missing under CI."""

from __future__ import annotations

import os
import shutil

import pytest

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
    """The program's path; skip the test when it is missing, unless under CI (then fail)."""
    path = find_program(name)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI; .ci/run should have installed it")
    pytest.skip(f"{name} is not installed")
