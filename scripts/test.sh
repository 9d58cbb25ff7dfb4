#!/usr/bin/env bash
# Installs missing packages, builds with warnings as errors, and runs every test: unit,
# conformance (every server over real sockets), load generator, harness, multi-host (network
# namespaces, as root), the builds without each optional dependency
# (tests/build/optional_deps_test.sh), the fuzz targets (scripts/fuzz.sh), Python, and the
# portability checks (scripts/portability.sh: rot13-load and the Windows servers'
# conformance under Wine, clang + libc++).
# Usage: scripts/test.sh [ctest arguments, e.g. -R conformance.epoll]
#   With ctest arguments only ctest runs. ROT13_SKIP_PORTABILITY=1 leaves the portability
#   checks out (they install MinGW-w64, Wine and clang, and take a few minutes); the script
#   then says that they were skipped.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

ensure_packages
ensure_multihost_packages
mkdir -p build
build_tree -DROT13_WERROR=ON
raise_nofile_limit

status=0
log "ctest"
# The Windows servers' conformance (label conformance-windows, registered once
# portability.sh has pointed build/ at build-windows/) runs in the portability step, after
# build-windows/ is rebuilt; given ctest arguments, ctest runs what they select.
ctest_args=("$@")
[ $# -gt 0 ] || ctest_args=(-LE conformance-windows)
ctest --test-dir build --output-on-failure --timeout 300 "${ctest_args[@]}" || status=1

if [ $# -eq 0 ]; then
    # One build tree per hidden dependency (build-nodeps/), kept between runs; with ccache
    # warm about a minute, some minutes the first time.
    [ "$(id -u)" -ne 0 ] || ensure_packages ccache
    log "builds without each optional dependency (tests/build/optional_deps_test.sh)"
    tests/build/optional_deps_test.sh build-nodeps || status=1
fi

if [ $# -eq 0 ]; then
    # The libFuzzer targets (tests/fuzz/, in build-fuzz/): 30 s each from their seed corpora,
    # at least a million executions in all; a crash or a sanitizer report fails.
    log "fuzzing (scripts/fuzz.sh 30)"
    ROT13_FUZZ_MIN_EXECUTIONS=1000000 scripts/fuzz.sh 30 || status=1
fi

if [ $# -eq 0 ] && compgen -G "scripts/tests/test_*.py" >/dev/null; then
    python=$(find_python) || exit 1
    log "pytest ($python)"
    "$python" -m pytest -q scripts/tests || status=1
fi

if [ $# -eq 0 ]; then
    if [ "${ROT13_SKIP_PORTABILITY:-0}" = 1 ]; then
        log "portability checks SKIPPED (ROT13_SKIP_PORTABILITY=1)"
    else
        log "portability checks (scripts/portability.sh)"
        scripts/portability.sh || status=1
    fi
fi
exit $status
