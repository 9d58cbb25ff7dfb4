#!/usr/bin/env bash
# What every run: step of the CI workflow's Linux job calls (.github/workflows/bench.yml,
# docs/ci.md), so that what the workflow runs is what runs here.
#
# Usage: scripts/ci.sh STEP...   (in order, e.g. scripts/ci.sh deps build test suite export confirm)
#   deps     install missing packages (scripts/common.sh ensure_packages)
#   build    configure and build build/ (Release)
#   test     scripts/test.sh (every test)
#   suite    scripts/bench.sh harness/suites/ci.json: the suite, its charts and report.md
#            in $ROT13_CI_OUT
#   export   scripts/export-benchmark into $ROT13_CI_OUT/benchmark.json (and exported=true
#            into $GITHUB_OUTPUT when that is set)
#   summary  append $ROT13_CI_OUT/report.md to $GITHUB_STEP_SUMMARY when that is set
#   confirm  regressions against the baseline, confirmed by a rerun before they fail:
#            the alert threshold from the suite's A/A pair (topped up by a run of the
#            pair alone when it has too few rounds, into $ROT13_CI_OUT-aa), the
#            configurations above it rerun once (into $ROT13_CI_OUT-rerun); fails only
#            for those the rerun confirms, saying by how much and against which commit
#            ($ROT13_CI_OUT/regressions.txt). No baseline: nothing to do.
# ROT13_CI_OUT defaults to results/ci-<os> (os: uname -s, lower case). rot13-bench refuses
# to write over a results.json already there: remove it, or set ROT13_CI_OUT.
# ROT13_CI_BASELINE: the baseline export or github-action-benchmark's data.js (default:
# dev/bench/data.js of origin's gh-pages branch, where the workflow publishes, if any);
# ROT13_CI_SET: its benchmark set (default "$default_set"); ROT13_BENCH: rot13-bench
# (default build/bin/rot13-bench; the tests put a stand-in there).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

usage() { sed -n '2,27s/^# \{0,1\}//p' "$0" | sed "s|\$default_set|$default_set|"; }

# The name the workflow's publish job gives the Linux job's export (.github/workflows/bench.yml).
default_set="rot13bench ci (Linux)"
out=${ROT13_CI_OUT:-results/ci-$(uname -s | tr '[:upper:]' '[:lower:]')}
bench=${ROT13_BENCH:-build/bin/rot13-bench}

# Prints the baseline's path, or nothing when there is none.
find_baseline() {
    if [ -n "${ROT13_CI_BASELINE:-}" ]; then
        [ -f "$ROT13_CI_BASELINE" ] && echo "$ROT13_CI_BASELINE"
        return 0
    fi
    local data="$out/baseline-data.js"
    if git fetch --quiet --depth=1 origin gh-pages 2>/dev/null \
        && git show FETCH_HEAD:dev/bench/data.js >"$data" 2>/dev/null; then
        echo "$data"
    else
        rm -f "$data"
    fi
}

# Appends standard input to the job summary as a text block, when there is one.
to_summary() {
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        { echo '### Regressions'; echo; echo '```text'; cat; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
    else
        cat >/dev/null
    fi
}

# The confirm step (see the usage above). The exit status is check-regressions': 1 for a
# confirmed regression.
confirm() {
    local baseline threshold status=0 report="$out/regressions.txt" github_output=()
    [ -n "${GITHUB_OUTPUT:-}" ] && github_output=(--github-output "$GITHUB_OUTPUT")
    [ -f "$out/benchmark.json" ] || die "no $out/benchmark.json: run the export step first"
    baseline=$(find_baseline)
    if [ -z "$baseline" ]; then
        log "no baseline (ROT13_CI_BASELINE unset or missing, no gh-pages data.js): nothing to confirm"
        return 0
    fi
    # 1. The threshold, from the A/A pair; with too few rounds, from a run of the pair alone too.
    # alert-threshold writes the A/A suite only when the pair has too few rounds.
    local noise=("$out")
    rm -f "$out/aa-suite.json"
    threshold=$(scripts/alert-threshold "${noise[@]}" --aa-suite "$out/aa-suite.json") || status=$?
    if [ "$status" -ne 0 ] && [ -f "$out/aa-suite.json" ]; then
        "$bench" run "$out/aa-suite.json" --out "$out-aa" || die "rot13-bench failed on $out/aa-suite.json"
        noise+=("$out-aa")
        status=0
        threshold=$(scripts/alert-threshold "${noise[@]}") || status=$?
    fi
    [ "$status" -eq 0 ] || die "no alert threshold (scripts/alert-threshold exit $status)"
    [ ${#github_output[@]} -eq 0 ] || echo "alert-threshold=$threshold" >>"$GITHUB_OUTPUT"
    # 2. The suspects, and a suite that reruns just them.
    local check=(scripts/check-regressions "$out/benchmark.json" "$baseline" --threshold "$threshold"
                 --set "${ROT13_CI_SET:-$default_set}")
    rm -f "$out/rerun-suite.json"
    "${check[@]}" --results "$out" --rerun-suite "$out/rerun-suite.json" "${github_output[@]}" | tee "$report"
    if [ ! -f "$out/rerun-suite.json" ]; then
        to_summary <"$report"
        return 0
    fi
    # 3. The rerun, its export, and the verdict: only what the rerun confirms fails.
    "$bench" run "$out/rerun-suite.json" --out "$out-rerun" || die "rot13-bench failed on the rerun"
    scripts/export-benchmark "$out-rerun" -o "$out-rerun/benchmark.json"
    status=0
    "${check[@]}" --rerun "$out-rerun/benchmark.json" "${github_output[@]}" | tee -a "$report" || status=$?
    to_summary <"$report"
    return "$status"
}

run_step() {
    case "$1" in
        deps) ensure_packages ;;
        build) build_tree ;;
        test) scripts/test.sh ;;
        suite) scripts/bench.sh harness/suites/ci.json --out "$out" ;;
        export)
            scripts/export-benchmark "$out" -o "$out/benchmark.json"
            # The publish job runs only when there is an export to publish.
            if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "exported=true" >>"$GITHUB_OUTPUT"; fi ;;
        confirm) confirm ;;
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
        deps | build | test | suite | export | summary | confirm) ;;
        *) printf 'error: unknown step "%s" (steps: deps build test suite export summary confirm)\n' "$step" >&2
           exit 2 ;;
    esac
done
for step in "$@"; do
    log "ci step $step"
    start=$(date +%s)
    run_step "$step"
    log "ci step $step done in $(($(date +%s) - start)) s"
done
