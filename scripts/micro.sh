#!/usr/bin/env bash
# Runs the micro-benchmarks (build/bin/rot13-micro) and turns them into a chart and tables.
#
# Usage: scripts/micro.sh [options] [-- extra rot13-micro flags]
#   --repetitions N   repetitions of every benchmark; figures are medians (default 9)
#   --min-time S      seconds each repetition runs at least (default 0.05)
#   --filter REGEX    only the benchmarks whose names match (default: all)
#   --cpu C           pin to CPU C with taskset (default 1; "none" to not pin)
#   --build DIR       build directory (default build/); configured (Release) if needed
#   --out DIR         results directory (default results/micro/<host>-<YYYYmmdd-HHMMSS>)
#
# Writes DIR/micro.json (Google Benchmark JSON), DIR/micro.txt (the console table),
# DIR/dispatch.png and .svg, and DIR/micro.md (scripts/plot_micro.py). The default run
# takes two to three minutes. docs/micro-benchmarks.md explains the figures.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

repetitions=9
min_time=0.05
filter=""
cpu=1
build="$ROT13_ROOT/build"
out=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --repetitions) repetitions=$2; shift 2 ;;
        --min-time) min_time=$2; shift 2 ;;
        --filter) filter=$2; shift 2 ;;
        --cpu) cpu=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown option '$1' (see scripts/micro.sh --help)" ;;
    esac
done

# 1. Build rot13-micro (incremental: nothing to do when it is up to date).
if [ ! -f "$build/CMakeCache.txt" ]; then
    log "configuring $build (Release)"
    mkdir -p "$build"
    cmake -S "$ROT13_ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build/configure.log" 2>&1 \
        || { cat "$build/configure.log" >&2; die "cmake configure failed (log above)"; }
fi
log "building rot13-micro"
if ! cmake --build "$build" --target rot13-micro -j"$(nproc 2>/dev/null || echo 2)" >"$build/micro-build.log" 2>&1; then
    tail -30 "$build/micro-build.log" >&2
    grep -h "rot13-micro" "$build/configure.log" 2>/dev/null >&2 || true
    die "cannot build rot13-micro (log above; is libbenchmark-dev installed?)"
fi
micro="$build/bin/rot13-micro"

# 2. Run it, pinned to one CPU: the other one keeps the rest of the machine off it.
if [ -z "$out" ]; then
    out="$ROT13_ROOT/results/micro/$(hostname -s 2>/dev/null || hostname)-$(date +%Y%m%d-%H%M%S)"
fi
mkdir -p "$out"
pin=()
if [ "$cpu" != "none" ]; then
    if command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
        pin=(taskset -c "$cpu")
    else
        log "cannot pin to CPU $cpu (no taskset, or no such CPU): running unpinned"
    fi
fi
# N = 10,000 socket pairs needs 20,032 fds. Root may raise the hard limit; anyone may raise
# the soft limit to the hard one. What still does not fit is skipped, with the reason.
needed_fds=20100
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $needed_fds ]; then
    ulimit -Hn $needed_fds 2>/dev/null || log "open-file limit $hard: benchmarks with N = 10000 will be skipped"
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
args=(--benchmark_repetitions="$repetitions" --benchmark_min_time="$min_time"
      --benchmark_enable_random_interleaving=true
      --benchmark_out="$out/micro.json" --benchmark_out_format=json)
[ -n "$filter" ] && args+=(--benchmark_filter="$filter")
# (The ${a[@]+"${a[@]}"} form keeps an empty array legal under set -u in old bash.)
log "running ${pin[*]+${pin[*]} }$micro ${args[*]} ${extra[*]+${extra[*]}}"
${pin[@]+"${pin[@]}"} "$micro" "${args[@]}" ${extra[@]+"${extra[@]}"} | tee "$out/micro.txt"

# 3. Chart and tables.
log "charting"
status=0
"$ROT13_ROOT/scripts/plot_micro.py" "$out/micro.json" --out "$out" >/dev/null || status=$?
if [ $status -eq 3 ]; then
    log "no chart (no Python with matplotlib); the tables are in $out/micro.md"
elif [ $status -ne 0 ]; then
    die "plot_micro.py failed"
fi
log "results: $out/micro.md"
