#!/usr/bin/env bash
# Set up rs3d with its test tools and run the whole test suite.
# Extra arguments go to pytest and then run one pytest session on just what they name.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Two processes on purpose: the library's tests must not share a process with Django's SpatiaLite
# connection (see tests/conftest.py). Both run; the script fails if either fails.
status=0
.venv/bin/python -m pytest tests/reconstruction || status=$?
.venv/bin/python -m pytest tests/backend tests/integration || status=$?
exit "$status"
