#!/usr/bin/env bash
# Configures and builds the project once per optional dependency, with that dependency
# hidden, and once with all of them hidden, as on a machine that lacks them. Each build
# must succeed, and its configure summary must say what was not built and why.
#
# Usage: tests/build/optional_deps_test.sh [WORK_DIR [NAME...]]
#   WORK_DIR (default build-nodeps/) keeps one build tree per case, so that a second run
#   reconfigures (cmake --fresh) but recompiles little; ccache is used when installed.
#   NAME: libevent liburing Boost nlohmann_json GTest benchmark ZLIB all (default: each).
#
# How a dependency is hidden:
#   1. CMake packages (Boost, nlohmann_json, GTest, benchmark, ZLIB): CMAKE_DISABLE_FIND_PACKAGE_<Name>.
#   2. pkg-config modules (libevent, liburing): PKG_CONFIG_LIBDIR names a directory of links
#      to every installed .pc file except theirs.
#   3. Its headers: every header of it that the project's sources include gets a stand-in
#      that is an #error, in a directory searched before /usr/include. A file that includes
#      one without CMake having checked for the dependency fails to compile, as it would
#      where the package is not installed.
# Only a few targets per case are built (those the dependency can affect; every target in
# the case "all", where little is left), but every target's link line is checked: a library
# that is neither a target nor installed (the bug of issue 18: -lrot13_loadgen) fails.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ROT13_ROOT"

work=${1:-build-nodeps}
shift || true
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(libevent liburing Boost nlohmann_json GTest benchmark ZLIB all)
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The headers of each dependency, as the sources include them (a pattern for grep -E).
header_pattern() {
    case $1 in
        libevent) echo 'event2/[^>]*' ;;
        liburing) echo 'liburing(/[^>]*|\.h)' ;;
        Boost) echo 'boost/[^>]*' ;;
        nlohmann_json) echo 'nlohmann/[^>]*' ;;
        GTest) echo '(gtest|gmock)/[^>]*' ;;
        benchmark) echo 'benchmark/[^>]*' ;;
        ZLIB) echo 'zlib\.h' ;;
    esac
}

# What configure must report as not built with the dependency hidden ("  skipped  X" lines
# of the summary).
expected_skips() {
    case $1 in
        libevent) echo rot13-libevent-event rot13-libevent-bufferevent ;;
        liburing) echo rot13-io_uring rot13-load-floor ;;
        Boost) echo rot13-asio rot13-load rot13-bench rot13-load-floor ;;
        nlohmann_json) echo rot13-load rot13-bench rot13-load-floor ;;
        GTest) echo tests ;;
        benchmark) echo rot13-micro ;;
        ZLIB) echo rot13-load rot13-bench rot13-load-floor ;;
        all) echo rot13-libevent-event rot13-io_uring rot13-asio rot13-load rot13-bench rot13-micro \
                  rot13-load-floor tests ;;
    esac
}

# The targets to build: those whose sources or links the dependency decides, where they
# exist in this configuration. "all" builds everything there is.
targets_for() {
    case $1 in
        libevent) echo rot13-micro rot13-poll ;;
        liburing) echo rot13-micro rot13-load-floor rot13-loadgen-integration-tests ;;
        Boost | nlohmann_json | ZLIB) echo rot13-micro rot13-load-floor rot13-unit-tests rot13-conformance ;;
        GTest) echo rot13-micro rot13-kernels-test rot13-load ;;
        benchmark) echo rot13-load-floor rot13-kernels-test ;;
    esac
}

# A directory of links to the installed .pc files, without those of the hidden modules.
pkg_config_dir() {
    local dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    local search pc name hidden
    IFS=: read -r -a search <<<"$(pkg-config --variable pc_path pkg-config)"
    for d in "${search[@]}"; do
        for pc in "$d"/*.pc; do
            [ -e "$pc" ] || continue
            name=$(basename "$pc" .pc)
            for hidden in "$@"; do
                case $name in "$hidden" | "$hidden"_* | "$hidden"-*) continue 2 ;; esac
            done
            [ -e "$dir/$name.pc" ] || ln -s "$pc" "$dir/$name.pc"
        done
    done
}

# Stand-ins that fail to compile for every header of the hidden dependencies that the
# project's own sources include.
shadow_headers() {
    local dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    local dep header
    for dep in "$@"; do
        grep -rhoE "#include <($(header_pattern "$dep"))>" common servers loadgen harness bench tests |
            sed -E 's/^#include <(.*)>$/\1/' | sort -u |
            while read -r header; do
                mkdir -p "$dir/$(dirname "$header")"
                printf '#error "%s is hidden by tests/build/optional_deps_test.sh: include it only where CMake found %s"\n' \
                    "$header" "$dep" >"$dir/$header"
            done
    done
}

# Every -lNAME on a link line must be a library the linker finds: a target that does not
# exist becomes such a -lNAME.
check_link_lines() {
    local dir=$1 cxx bad=0 lib
    cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt")
    while read -r lib; do
        if [ "$("$cxx" -print-file-name="lib$lib.so")" = "lib$lib.so" ] &&
            [ "$("$cxx" -print-file-name="lib$lib.a")" = "lib$lib.a" ]; then
            echo "  a link line names -l$lib, which is neither a target nor an installed library:" >&2
            grep -rl --include=link.txt -e "-l$lib\b" "$dir" | sed 's/^/    /' >&2
            bad=1
        fi
    done < <(find "$dir" -name link.txt -exec grep -ohE -- '(^| )-l[A-Za-z0-9_+.-]+' {} + |
        sed -E 's/^ ?-l//' | sort -u)
    return $bad
}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
jobs=${ROT13_JOBS:-2}
failed=()
for name in "${cases[@]}"; do
    started=$SECONDS
    hidden=("$name")
    [ "$name" = all ] && hidden=(libevent liburing Boost nlohmann_json GTest benchmark ZLIB)
    dir=$work/$name
    mkdir -p "$dir"
    args=(-DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
          # libkqueue is built from a tarball at configure time: not a dependency under test.
          -DROT13_THIRD_PARTY_DIR="$dir/no-third-party")
    pkg_hidden=()
    for dep in "${hidden[@]}"; do
        case $dep in
            libevent | liburing) pkg_hidden+=("$dep") ;;
            *) args+=(-DCMAKE_DISABLE_FIND_PACKAGE_"$dep"=ON) ;;
        esac
    done
    pkg_config_dir "$dir/pkgconfig" "${pkg_hidden[@]}"
    shadow_headers "$dir/hidden-include" "${hidden[@]}"
    args+=(-DCMAKE_CXX_FLAGS="-I$dir/hidden-include")

    # Link lines of targets that an earlier configuration had and this one may not.
    find "$dir" -name link.txt -delete 2>/dev/null || true
    log "without $name: configuring $dir"
    if ! PKG_CONFIG_LIBDIR=$dir/pkgconfig cmake --fresh -S . -B "$dir" "${args[@]}" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log" >&2
        failed+=("$name (configure)")
        continue
    fi
    grep -E "^-- +skipped |not built" "$dir/configure.log" | sed 's/^/  /' >&2 || true
    ok=1
    for skipped in $(expected_skips "$name"); do
        if ! grep -qE -- "^-- +skipped +$skipped( |$)" "$dir/configure.log"; then
            echo "  configure's summary does not say that $skipped is not built" >&2
            ok=0
        fi
    done
    check_link_lines "$dir" || ok=0

    build_targets=()
    if [ "$name" = all ]; then
        build_targets=(all)
    else
        available=$(cmake --build "$dir" --target help 2>/dev/null | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p')
        for target in $(targets_for "$name"); do
            grep -qx -- "$target" <<<"$available" && build_targets+=("$target")
        done
    fi
    log "without $name: building ${build_targets[*]:-nothing}"
    if [ ${#build_targets[@]} -gt 0 ] &&
        ! cmake --build "$dir" -j"$jobs" --target "${build_targets[@]}" >"$dir/build.log" 2>&1; then
        grep -E "error|Error" "$dir/build.log" | head -20 >&2
        echo "  build failed: $dir/build.log" >&2
        ok=0
    fi
    echo "  without $name: $([ $ok = 1 ] && echo passed || echo FAILED) in $((SECONDS - started)) s" >&2
    [ $ok = 1 ] || failed+=("$name")
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "optional dependencies: FAILED without: ${failed[*]}" >&2
    exit 1
fi
echo "optional dependencies: every build passed (${cases[*]})" >&2
