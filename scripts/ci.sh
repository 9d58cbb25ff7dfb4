#!/usr/bin/env bash
# What every run: step of the CI workflow's Linux job calls (.github/workflows/bench.yml,
# docs/ci.md), so that what the workflow runs is what runs here.
#
# Usage: scripts/ci.sh STEP...   (in order, e.g. scripts/ci.sh deps build test suite export)
#   deps     install missing packages (scripts/common.sh ensure_packages)
#   build    configure and build build/ (Release)
#   test     scripts/test.sh (every test)
#   suite    scripts/bench.sh harness/suites/ci.json: the suite, its charts and report.md
#            in $ROT13_CI_OUT
#   export   scripts/export-benchmark into $ROT13_CI_OUT/benchmark.json
#   summary  append $ROT13_CI_OUT/report.md to $GITHUB_STEP_SUMMARY when that is set
# ROT13_CI_OUT defaults to results/ci-<os> (os: uname -s, lower case). rot13-bench refuses
# to write over a results.json already there: remove it, or set ROT13_CI_OUT.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

usage() { sed -n '2,15s/^# \{0,1\}//p' "$0"; }

out=${ROT13_CI_OUT:-results/ci-$(uname -s | tr '[:upper:]' '[:lower:]')}

run_step() {
    case "$1" in
        deps) ensure_packages ;;
        build) build_tree ;;
        test) scripts/test.sh ;;
        suite) scripts/bench.sh harness/suites/ci.json --out "$out" ;;
        export) scripts/export-benchmark "$out" -o "$out/benchmark.json" ;;
        summary)
            if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
                cat "$out/report.md" >>"$GITHUB_STEP_SUMMARY"
            else
                log "GITHUB_STEP_SUMMARY not set: summary step does nothing"
            fi ;;
    esac
}

[ $# -gt 0 ] || { usage >&2; exit 2; }
for step in "$@"; do
    case "$step" in
        -h | --help) usage; exit 0 ;;
        deps | build | test | suite | export | summary) ;;
        *) printf 'error: unknown step "%s" (steps: deps build test suite export summary)\n' "$step" >&2; exit 2 ;;
    esac
done
for step in "$@"; do
    log "ci step $step"
    start=$(date +%s)
    run_step "$step"
    log "ci step $step done in $(($(date +%s) - start)) s"
done
