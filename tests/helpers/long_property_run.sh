#!/usr/bin/env bash
# The property tests with many examples: a manual hunt (the normal suite runs a few, the same
# ones every time). Extra arguments go to pytest, e.g. a test file or -k.
#   tests/helpers/long_property_run.sh tests/queries/test_properties_mysql.py
set -euo pipefail
cd "$(dirname "$0")/../.."
HYPOTHESIS_PROFILE=long exec python -m pytest -m properties -x -q "${@:-tests}"
