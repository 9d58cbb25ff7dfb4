# Shared by scripts/test.sh, bench.sh and portability.sh, bench/loadgen_targets.sh and
# tests/loadgen/hdr_interop_test.sh: package checks, the build, Python, starting a server.
# Source it; it does nothing by itself.

ROT13_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The package lists (ROT13_PACKAGES and the others): a file of their own, so that
# docker/Dockerfile can install them in a layer that only a change of the lists rebuilds.
source "$ROT13_ROOT/scripts/packages.sh"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the missing packages (those given, or else ROT13_PACKAGES) with apt-get when run
# as root; otherwise prints the exact command to run and fails. A first argument
# --no-recommends leaves the packages' recommendations out (Wine's are hundreds of MB of
# fonts and multimedia that a console program does not need).
ensure_packages() {
    local apt_options=(-y -qq) wanted missing=() pkg
    if [ "${1:-}" = --no-recommends ]; then
        apt_options+=(--no-install-recommends)
        shift
    fi
    wanted=("$@")
    [ ${#wanted[@]} -gt 0 ] || wanted=("${ROT13_PACKAGES[@]}")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "not a Debian/Ubuntu system: make sure these are installed: ${wanted[*]}"
        return 0
    fi
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing packages; run: sudo apt-get update && sudo apt-get install ${apt_options[*]:2} -y ${missing[*]}"
    fi
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install "${apt_options[@]}" "${missing[@]}" >/dev/null
}

# Installs the multi-host tests' packages, as root only (the tests skip without root). Where
# systemd runs (a workstation, a server rather than a container or CI), installing
# openssh-server would also start an SSH server on the machine: there it is left to the
# user, and the ssh test skips saying so.
ensure_multihost_packages() {
    [ "$(id -u)" -eq 0 ] || return 0
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && [ ! -x /usr/sbin/sshd ]; then
        log "not installing openssh-server: under systemd that would start an SSH server here;" \
            "tests/multihost skips its ssh test (install openssh-server yourself to run it)"
        ensure_packages iproute2 python3-yaml python3-kubernetes
        return 0
    fi
    ensure_packages "${ROT13_MULTIHOST_PACKAGES[@]}"
}

# Configures and builds build/ (Release by default). Extra arguments go to cmake.
build_tree() {
    build_tree_in "$ROT13_ROOT/build" "$@"
}

# The same in another directory: build_tree_in DIR [cmake arguments].
build_tree_in() {
    local dir=$1
    shift
    log "configuring $dir"
    mkdir -p "$dir"
    cmake -S "$ROT13_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir/configure.log" 2>&1 \
        || { cat "$dir/configure.log" >&2; die "cmake configure failed (log above)"; }
    grep -E "^-- +(built|skipped) |^-- kqueue:" "$dir/configure.log" >&2 || true
    log "building ($(nproc) jobs)"
    # Progress lines are dropped; warnings and errors are shown. sed never fails, so with
    # pipefail the pipeline's status is the build's own.
    cmake --build "$dir" -j"$(nproc)" 2>&1 | sed -E '/^\[ *[0-9]+%\]/d' || die "build failed"
}

# The suite argument of bench.sh and docker.sh: a shipped suite's name (harness/suites/
# NAME.json) or a path to a .json file. Sets SUITE_FILE, or fails naming the shipped suites.
find_suite() {
    case "$1" in
        */* | *.json) SUITE_FILE=$1 ;;
        *) SUITE_FILE=harness/suites/$1.json ;;
    esac
    if [ ! -f "$SUITE_FILE" ]; then
        local shipped
        shipped=$(for f in harness/suites/*.json; do basename "$f" .json; done | tr '\n' ' ')
        die "no suite $SUITE_FILE (shipped: $shipped)"
    fi
}

# The results directory bench.sh and docker.sh write to without --out: named after the
# suite, the time and this host.
default_results_dir() {
    echo "results/$(basename "$1" .json)-$(date +%Y%m%d-%H%M%S)-$(uname -n)"
}

# Prints the path of a Python 3 that has numpy and matplotlib, preferring the
# distribution's /usr/bin/python3 (other interpreters on PATH may lack the packages).
find_python() {
    local candidate
    for candidate in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        if "$candidate" -c 'import numpy, matplotlib' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: no Python 3 with numpy and matplotlib found (Debian: apt-get install python3-numpy python3-matplotlib)" >&2
    return 1
}

# Raises the soft open-files limit to the hard one: the tests open 1,500+ sockets.
# start_server OUT ERR COMMAND...: starts COMMAND --port 0 in the background (COMMAND may
# begin with taskset, chrt or timeout), stdout into OUT and stderr into ERR (which may be
# the same file), waits up to 5 s for its "listening on ADDR:PORT" line, and sets
# SERVER_PID and SERVER_PORT. Returns 1 if the server did not start.
start_server() {
    local out=$1 err=$2
    shift 2
    rm -f "$out"  # never read a previous server's port
    if [ "$out" = "$err" ]; then
        "$@" --port 0 >"$out" 2>&1 &
    else
        "$@" --port 0 >"$out" 2>"$err" &
    fi
    SERVER_PID=$!
    SERVER_PORT=""
    for _ in $(seq 100); do
        SERVER_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out" 2>/dev/null || true)
        [ -n "$SERVER_PORT" ] && return 0
        sleep 0.05
    done
    return 1
}

raise_nofile_limit() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}
