#!/usr/bin/env bash
# Installs missing packages, builds with warnings as errors, and runs every test: unit,
# conformance (every server over real sockets), load generator, harness, Python.
# Usage: scripts/test.sh [ctest arguments, e.g. -R conformance.epoll]
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

ensure_packages
mkdir -p build
build_tree -DROT13_WERROR=ON
raise_nofile_limit

status=0
log "ctest"
ctest --test-dir build --output-on-failure --timeout 300 "$@" || status=1

if [ $# -eq 0 ] && compgen -G "scripts/tests/test_*.py" >/dev/null; then
    python=$(find_python) || exit 1
    log "pytest ($python)"
    "$python" -m pytest -q scripts/tests || status=1
fi
exit $status
