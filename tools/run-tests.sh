#!/bin/bash
# The whole test suite, from a clean clone on a fresh Debian machine:
# installs what is missing (system packages from bindep.txt, a .venv with
# nova 34 and the pinned Python dependencies), then runs every tier
# (unit, conformance and functional in both of nova's concurrency modes,
# live). Pass tier names to run only those (see tools/run_suite.py).
# Ends with the line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-env.sh
exec "${NOVA_OVIRT_VENV:-.venv}/bin/python" tools/run_suite.py "$@"
