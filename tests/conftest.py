"""Shared test fixtures.

``helpers.programs.require_program(name)``: tests that drive a real program (a server, a browser, an established
tool we compare against) skip with a reason when it is missing, except under CI (``CI`` set),
where .ci/run installs them and a missing program is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The notebooks nbval re-runs, and those the tests run, show their figures without the static PNG
# that stored notebooks carry (toolkit.report.static): nbval leaves image/png out of its
# comparison, and drawing each figure in a browser would cost the suite minutes. The test of
# the static images themselves turns them back on.
os.environ.setdefault("PERF_TOOLKIT_STATIC_IMAGES", "0")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_traces"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The hypothesis profiles (helpers/strategies.py: "suite" unless HYPOTHESIS_PROFILE says "long")
# are loaded here, before any test module is imported: a module's @settings(...) takes its
# defaults from the profile loaded when the module is imported, so a property test in a module
# that does not import the strategies would otherwise run with hypothesis' own defaults (100
# examples, a deadline, an example database in the worktree).
import helpers.strategies  # noqa: F401,E402
from helpers.programs import find_program, require_program  # noqa: F401,E402


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
