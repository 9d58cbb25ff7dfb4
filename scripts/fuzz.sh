#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang with ASan + UBSan) in build-fuzz/ and runs
# each for SECONDS (default 60), starting from its seed corpus in tests/fuzz/corpus/TARGET/
# (which holds the regression input of every finding: each runs first). New inputs go to
# build-fuzz/corpus/TARGET/, never into the source tree; a crash, a sanitizer report, a
# timeout or running out of memory leaves its input in build-fuzz/findings/TARGET/ and fails.
# Prints, per target, the executions, libFuzzer's cov: and ft: figures and the corpus size.
#
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (targets: see build-fuzz/fuzzers.txt)
#   ROT13_FUZZ_MIN_EXECUTIONS=N fails unless the targets ran N executions in total
#   (scripts/test.sh asks for 1,000,000). ROT13_FUZZ_BUILD=DIR builds elsewhere.
# A finding is reproduced with build-fuzz/bin/rot13-fuzz-TARGET FILE, and becomes a
# regression input once fixed: cp FILE tests/fuzz/corpus/TARGET/regression-WHAT.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

seconds=${1:-60}
shift || true
build=${ROT13_FUZZ_BUILD:-$ROT13_ROOT/build-fuzz}

clang=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$clang" ] || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, long) { return 0; }' |
    "$clang" -x c++ -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    ensure_packages clang-14 libclang-rt-14-dev
    clang=$(command -v clang++-14)
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

log "configuring $build ($clang, ASan + UBSan + libFuzzer)"
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$clang" \
    -DCMAKE_C_COMPILER="${clang/clang++/clang}" "${launcher[@]}" \
    -DROT13_SANITIZE=ON -DROT13_FUZZ=ON -DROT13_THIRD_PARTY_DIR="$build/no-third-party" \
    >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; die "configure failed"; }
mapfile -t available <"$build/fuzzers.txt" 2>/dev/null || available=()
[ ${#available[@]} -gt 0 ] && [ -n "${available[0]}" ] || { grep -i fuzz "$build/configure.log" >&2; die "no fuzz targets configured"; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${available[@]}")

log "building ${targets[*]}"
# Progress lines and a re-run of configure's messages are dropped; warnings and errors are
# shown. sed never fails, so with pipefail the pipeline's status is the build's own.
cmake --build "$build" -j"${ROT13_JOBS:-$(nproc)}" --target "${targets[@]/#/rot13-fuzz-}" 2>&1 |
    sed -E '/^(\[ *[0-9]+%\]|-- )/d' || die "build failed"

status=0
total=0
summary=()
for target in "${targets[@]}"; do
    seeds=tests/fuzz/corpus/$target
    corpus=$build/corpus/$target
    findings=$build/findings/$target
    mkdir -p "$corpus" "$findings" "$seeds"
    log "fuzzing $target for $seconds s"
    logfile=$build/fuzz-$target.log
    # -timeout: one input taking 10 s is a hang. -rss_limit_mb: more than 2 GiB is a finding.
    # The dictionary, where there is one, holds the format's words (JSON keys, flags).
    dict=()
    [ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
    if "$build/bin/rot13-fuzz-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" "$corpus" "$seeds" >"$logfile" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
        { grep -E "ERROR|SUMMARY|runtime error|_fuzz:|Test unit written" "$logfile" || true; } | head -20 >&2
        echo "  log: $logfile" >&2
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile" | tail -1)
    last=$(grep -E "^#[0-9]+" "$logfile" | grep " cov: " | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
    total=$((total + ${runs:-0}))
    summary+=("$(printf '%-8s %-7s %10s executions  cov: %-5s ft: %-6s corpus: %s' \
        "$target" "$result" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
done

log "fuzzing: $seconds s per target"
printf '  %s\n' "${summary[@]}" >&2
echo "  total: $total executions" >&2
if [ -n "${ROT13_FUZZ_MIN_EXECUTIONS:-}" ] && [ "$total" -lt "$ROT13_FUZZ_MIN_EXECUTIONS" ]; then
    echo "  fewer than $ROT13_FUZZ_MIN_EXECUTIONS executions in total: give the targets more time" >&2
    status=1
fi
exit $status
