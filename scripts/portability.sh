#!/usr/bin/env bash
# rot13-load beyond Linux + GCC + libstdc++, as far as a Linux machine can take it. Each
# target builds rot13-load and its unit tests another way, runs the unit tests, then runs
# the same smoke test of the built rot13-load against the Linux servers on 127.0.0.1
# (built natively in build/), and prints PASS or FAIL per check:
#   windows  MinGW-w64 cross build (build-windows/), run under Wine; also the Windows
#            servers (iocp, asio, select, poll, threads, threadpool) through the
#            conformance suite: build/ is pointed at build-windows/ (ROT13_WINDOWS_BUILD)
#            and runs ctest -L conformance-windows
#   libcxx   clang + libc++ (build-libcxx/), macOS's compiler and standard library: there
#            everything is built, and every ctest test of that build runs, before the smoke test
# A check that the program works, not a benchmark: Wine's figures are not Windows' figures.
# Usage: scripts/portability.sh [windows] [libcxx]     (default: both)
#        ROT13_NATIVE_BUILD=DIR builds the servers in DIR instead of build/
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROT13_ROOT"

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(windows libcxx)
for target in "${TARGETS[@]}"; do
    case "$target" in
        windows | libcxx) ;;
        -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown target '$target' (windows, libcxx)" >&2; exit 2 ;;
    esac
done

WINDOWS_PACKAGES=(g++-mingw-w64-x86-64-posix libz-mingw-w64-dev wine64 googletest jq)
LIBCXX_PACKAGES=(clang-14 libc++-14-dev libc++abi-14-dev googletest jq)
NATIVE=${ROT13_NATIVE_BUILD:-$ROT13_ROOT/build}
wanted=()
for target in "${TARGETS[@]}"; do
    if [ "$target" = windows ]; then wanted+=("${WINDOWS_PACKAGES[@]}"); else wanted+=("${LIBCXX_PACKAGES[@]}"); fi
done
ensure_packages
ensure_packages --no-recommends "${wanted[@]}"
build_tree_in "$NATIVE" -DROT13_WERROR=ON

SERVER_PIDS=()
WINE_PREFIX_STARTED=""
cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
    # This prefix's wineserver only.
    [ -z "$WINE_PREFIX_STARTED" ] || "$ROT13_ROOT/scripts/wine_prefix.sh" stop "$WINE_PREFIX_STARTED" || true
}
trap cleanup EXIT

# serve NAME BINARY [flags]: starts BINARY --port 0 (common.sh's start_server) and sets
# PORT. timeout bounds it even if the trap never runs.
serve() {
    local name=$1
    shift
    start_server "$SMOKE/$name.log" "$SMOKE/$name.log" timeout 300 "$@" ||
        die "$name did not start (log: $SMOKE/$name.log)"
    SERVER_PIDS+=("$SERVER_PID")
    PORT=$SERVER_PORT
}

# load NAME [flags]: runs the rot13-load under test ("${LOADER[@]}") in $SMOKE, so that
# the relative file names it is given are Windows paths too under Wine. Sets RC; output
# in $SMOKE/NAME.out and .err.
load() {
    local name=$1
    shift
    RC=0
    (cd "$SMOKE" && timeout 60 "${LOADER[@]}" "$@" >"$name.out" 2>"$name.err") || RC=$?
}

FAILED=0
# verdict DESCRIPTION CONDITION...: runs the condition and prints PASS or FAIL.
verdict() {
    local description=$1
    shift
    if "$@"; then
        printf 'PASS  %s: %s\n' "$TARGET" "$description"
    else
        printf 'FAIL  %s: %s\n' "$TARGET" "$description"
        FAILED=1
    fi
}
json() { jq -r "$2" "$SMOKE/$1"; }

# The same checks for every target: closed loop, open loop, a usage error, a corrupting server.
smoke_checks() {
    log "$TARGET: rot13-load against $NATIVE/bin/rot13-epoll"
    serve epoll "$NATIVE/bin/rot13-epoll"
    load closed --port "$PORT" --connections 10 --depth 1 --duration 2 --json closed.json --hdr-log closed.hlog
    closed_ok() {
        [ "$RC" -eq 0 ] && [ "$(json closed.json .status)" = ok ] &&
            [ "$(json closed.json .summary.requests)" -gt 0 ] &&
            grep -q '^Tag=corrected,' "$SMOKE/closed.hlog" && ! grep -q $'\r' "$SMOKE/closed.hlog"
    }
    verdict "closed loop, 10 connections, depth 1, 2 s: exit 0, status ok, lines answered, LF-only log (exit $RC)" closed_ok

    load open --port "$PORT" --connections 10 --rate 2000 --duration 2 --json open.json
    open_ok() {
        [ "$RC" -eq 0 ] && [ "$(json open.json .status)" = ok ] &&
            [ "$(json open.json '.summary.requests_per_sec >= 1800')" = true ]
    }
    verdict "open loop, 2,000 lines/s, 2 s: exit 0, status ok, at least 1,800 lines/s (exit $RC)" open_ok

    load usage --port "$PORT" --no-such-flag
    verdict "an unknown flag is a usage error: exit 2 (exit $RC)" [ "$RC" -eq 2 ]

    log "$TARGET: rot13-load against rot13-fault --corrupt-every 100"
    serve fault "$NATIVE/bin/rot13-fault" --corrupt-every 100
    load fault --port "$PORT" --connections 10 --depth 1 --duration 2 --json fault.json
    fault_ok() {
        [ "$RC" -eq 1 ] && [ "$(json fault.json .status)" = failed ] &&
            [ "$(json fault.json .summary.errors.mismatch)" -gt 0 ]
    }
    verdict "corrupted replies: exit 1, status failed, mismatches counted (exit $RC)" fault_ok
    cleanup

    # The figures, for docs/loadgen.md: what this build did on this machine.
    if [ -s "$SMOKE/closed.json" ] && [ -s "$SMOKE/open.json" ]; then
        jq -r --arg t "$TARGET" '"\($t) closed loop: \(.summary.requests_per_sec | floor) lines/s, p99 \(.summary.latency_ns.corrected.p99 / 1000) us; \(.context.os) \(.context.kernel), \(.context.compiler)"' "$SMOKE/closed.json"
        jq -r --arg t "$TARGET" '"\($t) open loop:   \(.summary.requests_per_sec | floor) lines/s, send lag p99 \(.loadgen.send_lag_ns.p99 / 1000) us"' "$SMOKE/open.json"
    fi
}

# Windows: MinGW-w64 cross build, unit tests, smoke test and the servers' conformance under Wine.
check_windows() {
    local dir=$ROT13_ROOT/build-windows
    TARGET=windows
    build_tree_in "$dir" -DROT13_WERROR=ON \
        -DCMAKE_TOOLCHAIN_FILE="$ROT13_ROOT/cmake/toolchain-mingw-w64.cmake" \
        -DROT13_GTEST_SOURCE_DIR=/usr/src/googletest
    grep -E "^-- Windows:" "$dir/configure.log" >&2 || true

    # Debian's wine64 package has no wine on PATH, only its loader in /usr/lib/wine.
    local wine
    wine=$(command -v wine || command -v wine64 || echo /usr/lib/wine/wine64)
    [ -x "$wine" ] || die "Wine not found (Debian: apt-get install wine64)"
    # A prefix of our own (Windows 10, kept warm: scripts/wine_prefix.sh), no debug chatter,
    # and no offer to install Mono or Gecko.
    export WINEPREFIX=$dir/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    SMOKE=$dir/smoke
    rm -rf "$SMOKE"
    mkdir -p "$SMOKE"
    log "preparing the Wine prefix $WINEPREFIX"
    "$ROT13_ROOT/scripts/wine_prefix.sh" start "$WINEPREFIX" || die "the Wine prefix did not start"
    WINE_PREFIX_STARTED=$WINEPREFIX

    log "windows: unit tests under Wine"
    verdict "unit tests (rot13-loadgen-unit-tests.exe)" \
        timeout 300 ctest --test-dir "$dir" --output-on-failure --timeout 240
    LOADER=("$wine" ../bin/rot13-load.exe)
    smoke_checks

    # The same conformance suite as the Linux servers', from build/'s Linux binary, with
    # Wine as the launcher (tests/conformance/CMakeLists.txt). Its fixture starts and stops
    # the prefix itself.
    log "windows: the Windows servers' conformance under Wine"
    cmake -S "$ROT13_ROOT" -B "$NATIVE" -DROT13_WINDOWS_BUILD="$dir" >>"$NATIVE/configure.log" 2>&1 ||
        die "configure failed: see $NATIVE/configure.log"
    local started=$SECONDS
    verdict "conformance of $(awk -F'\t' '$2 == "built" {printf "%s%s", sep, $1; sep=", "}' "$dir/servers.txt") under Wine (ctest -L conformance-windows)" \
        timeout 900 ctest --test-dir "$NATIVE" -L conformance-windows --output-on-failure --timeout 300
    log "windows: conformance under Wine took $((SECONDS - started)) s"
    bench_checks "$wine" "$dir"
}

# rot13-bench.exe under Wine: a small suite of Windows servers (tests/fixtures/
# windows_bench_suite.json), then the same suite killed with SIGKILL mid-run, after which
# no server and no rot13-load may be left (their stdin pipes end them: --stop-on-stdin-close).
bench_checks() {
    local wine=$1 dir=$2 out=$SMOKE/bench
    log "windows: rot13-bench.exe under Wine"
    RC=0
    (cd "$dir" && timeout 180 "$wine" bin/rot13-bench.exe run "$ROT13_ROOT/tests/fixtures/windows_bench_suite.json" \
        --out "$out" >"$SMOKE/bench.out" 2>"$SMOKE/bench.err") || RC=$?
    bench_ok() {
        local f=$out/results.json
        [ "$RC" -eq 0 ] && [ -s "$f" ] &&
            [ "$(jq '[.runs[] | select(.config.server != "epoll") | select(.status == "ok" and .server.exit == "ok"
                     and .summary.requests > 0 and .server.rss_kb > 0 and .server.cpu_measured_s != null)] | length' "$f")" = 3 ] &&
            [ "$(jq -r '.runs[] | select(.config.server == "epoll") | .status' "$f")" = skipped ] &&
            jq -e '.context.pinning.method | test("SetProcessAffinityMask")' "$f" >/dev/null &&
            jq -e '.context.os | test("Windows")' "$f" >/dev/null
    }
    verdict "rot13-bench.exe runs iocp, select and asio (status ok, server exit ok, CPU and memory sampled), records epoll as skipped, pins with SetProcessAffinityMask (exit $RC; $out/results.json)" bench_ok

    # Killed as it starts rot13-load (its log appears just before), the hardest moment: the
    # server is up and rot13-load is being created.
    rm -rf "$out-killed"
    (cd "$dir" && exec timeout 180 "$wine" bin/rot13-bench.exe run "$ROT13_ROOT/tests/fixtures/windows_bench_suite.json" \
        --out "$out-killed" >/dev/null 2>&1) &
    local bench_pid=$! waited=0
    until compgen -G "$out-killed/logs/*.load.log" >/dev/null || [ $waited -ge 300 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    pkill -KILL -f 'rot13-bench[.]exe' || true
    wait "$bench_pid" 2>/dev/null || true
    local left=""
    # 15 s: a Windows process under Wine can take seconds to start, and only then does it
    # find its stdin at end of file.
    for _ in $(seq 150); do
        left=$(pgrep -af 'rot13-(iocp|select|asio|load)[.]exe' || true)
        [ -z "$left" ] && break
        sleep 0.1
    done
    verdict "after rot13-bench.exe is killed with SIGKILL mid-run, no server or rot13-load is left within 15 s${left:+ (left: $left)}" [ -z "$left" ]
    pkill -KILL -f 'rot13-(iocp|select|asio|load)[.]exe' || true
}

# clang + libc++: everything that builds with libc++ here (servers, kqueue over libkqueue,
# rot13-load, rot13-bench, the tests; not rot13-micro, whose prebuilt Google Benchmark is
# libstdc++'s: configure says so), then every ctest test of that build, then the smoke test.
check_libcxx() {
    local dir=$ROT13_ROOT/build-libcxx
    TARGET=libcxx
    log "configuring $dir"
    mkdir -p "$dir"
    cmake -S "$ROT13_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DROT13_WERROR=ON \
        -DCMAKE_TOOLCHAIN_FILE="$ROT13_ROOT/cmake/toolchain-clang-libcxx.cmake" \
        -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DROT13_GTEST_SOURCE_DIR=/usr/src/googletest \
        >"$dir/configure.log" 2>&1 || die "configure failed: see $dir/configure.log"
    grep -E "^-- +(built|skipped) |not built|^-- kqueue:" "$dir/configure.log" >&2 || true
    log "building everything in $dir"
    cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1 || die "build failed: see $dir/build.log"
    SMOKE=$dir/smoke
    rm -rf "$SMOKE"
    mkdir -p "$SMOKE"
    # The same tests as the native build's (the conformance suite runs every server built
    # with libc++), one at a time as scripts/test.sh runs them: several measure time or CPU.
    log "libcxx: ctest (unit, conformance, loadgen, harness; log: $dir/ctest.log)"
    raise_nofile_limit
    libcxx_ctest() {
        local status=0
        ctest --test-dir "$dir" --output-on-failure --timeout 300 -R '^(unit|conformance|loadgen|harness)[.]' \
            >"$dir/ctest.log" 2>&1 || status=1
        grep -E "tests passed|\*\*\*|^Total Test time" "$dir/ctest.log" >&2 || true
        return $status
    }
    verdict "ctest: unit, conformance, loadgen and harness tests of the clang + libc++ build" libcxx_ctest
    LOADER=("$dir/bin/rot13-load")
    smoke_checks
}

for target in "${TARGETS[@]}"; do
    "check_$target"
done
[ "$FAILED" -eq 0 ] || die "some checks failed (outputs in build-*/smoke)"
log "all checks passed: ${TARGETS[*]}"
