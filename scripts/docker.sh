#!/usr/bin/env bash
# scripts/bench.sh in a container: builds the image (docker/Dockerfile) with docker or
# podman, whichever is there, runs a suite with rot13-bench inside it on the host's network,
# and writes the results, the charts and the report on the host, where bench.sh writes them.
#
# Usage: scripts/docker.sh [SUITE] [rot13-bench run options]     (the same as bench.sh)
#   SUITE   quick (default), full, idle, latency (harness/suites/SUITE.json), or a .json path
#   e.g.    scripts/docker.sh full --server-cpus 0 --load-cpus 1
#           scripts/docker.sh quick --out results/quick-1 --resume
# Results: results/SUITE-YYYYmmdd-HHMMSS-HOST/results.json (docs/harness.md).
# Environment: ROT13_ENGINE=docker|podman chooses the engine; ROT13_IMAGE the image's name;
# ROT13_LOCAL_BASE=1 makes the base image from Debian packages instead of pulling it
# (docker/make-local-base.sh). docs/docker.md explains.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/container.sh"
cd "$ROT13_ROOT"

find_suite "${1:-quick}"
suite_file=$SUITE_FILE
[ $# -gt 0 ] && shift

# The results directory on the host: the caller's --out, or a new one named after the
# suite and this host, as bench.sh names it. Inside the container it is /results.
out=""
args=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--out" ] && [ $# -gt 1 ]; then
        out=$2
        shift 2
    else
        args+=("$1")
        shift
    fi
done
[ -n "$out" ] || out=$(default_results_dir "$suite_file")

choose_engine
ensure_base_image
build_image
run_options

# The results directory is mounted at /results ("z": where SELinux enforces, the container
# may then write there; elsewhere it changes nothing), and the suite file at the path
# rot13-bench is given, from the image's working directory, so that results.json records
# the same suite.file as bench.sh's.
mkdir -p "$out"
out_host=$(cd "$out" && pwd)
suite_host=$(cd "$(dirname "$suite_file")" && pwd)/$(basename "$suite_file")
case "$suite_file" in
    /*) suite_in=$suite_file ;;
    *) suite_in=/opt/rot13bench/$suite_file ;;
esac
mounts=(-v "$out_host:/results:z" -v "$suite_host:$suite_in:ro,z")

log "running $suite_file in $ROT13_IMAGE with $ENGINE (results in $out)"
start=$(date +%s)
status=0
"$ENGINE" run --rm "${RUN_OPTIONS[@]}" "${mounts[@]}" "$ROT13_IMAGE" \
    rot13-bench run "$suite_file" --out /results "${args[@]}" || status=$?
log "wall time: $(($(date +%s) - start)) s"
if [ "$status" -eq 130 ]; then
    log "interrupted; continue with: scripts/docker.sh $suite_file --out $out --resume"
    exit 130
fi
[ "$status" -eq 0 ] || die "rot13-bench failed (exit $status)"

log "charts and report"
"$ENGINE" run --rm "${RUN_OPTIONS[@]}" "${mounts[@]}" "$ROT13_IMAGE" scripts/report /results
