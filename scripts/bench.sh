#!/usr/bin/env bash
# The README's first command: installs missing packages, builds Release, runs a suite with
# rot13-bench (default: quick, under 3 minutes on 2 cores), prints the summary table, and
# writes the charts and the report (scripts/report) next to the results.
#
# Usage: scripts/bench.sh [SUITE] [rot13-bench run options]
#   SUITE   quick (default), full, idle, latency (harness/suites/SUITE.json), or a .json path
#   e.g.    scripts/bench.sh full --server-cpus 0 --load-cpus 1
#           scripts/bench.sh quick --out results/quick-1 --resume   # continue an interrupted run
# Results: results/SUITE-YYYYmmdd-HHMMSS-HOST/results.json (docs/harness.md).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

find_suite "${1:-quick}"
suite_file=$SUITE_FILE
[ $# -gt 0 ] && shift

# The results directory: the caller's --out, or a new one named after the suite.
out=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    [ "${args[$i]}" = "--out" ] && [ $((i + 1)) -lt ${#args[@]} ] && out=${args[$((i + 1))]}
done
if [ -z "$out" ]; then
    out=$(default_results_dir "$suite_file")
    args+=(--out "$out")
fi

ensure_packages
mkdir -p build
build_tree
raise_nofile_limit

log "running $suite_file (results in $out)"
start=$(date +%s)
status=0
build/bin/rot13-bench run "$suite_file" "${args[@]}" || status=$?
log "wall time: $(($(date +%s) - start)) s"
[ "$status" -eq 130 ] && exit 130
[ "$status" -eq 0 ] || die "rot13-bench failed (exit $status)"

python=$(find_python) || exit 1
log "charts and report"
PYTHON="$python" scripts/report "$out"
