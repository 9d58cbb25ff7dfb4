#!/usr/bin/env bash
# The container image, for real: builds docker/Dockerfile from this tree, starts rot13-epoll
# and rot13-load in two containers pinned to two CPUs and checks the pinning from inside
# and that the run is ok, runs docker/compose.yaml once, and runs scripts/docker.sh with a
# tiny suite whose results and report must land on the host. After every step it checks
# that no bridge interface appeared and IP forwarding stayed as it was: every container
# runs on the host's network. docs/docker.md.
#
# Usage: tests/docker/docker_test.sh WORK_DIR    (ctest: docker.image, label docker)
# Exit status: 0 passed, 1 failed, 77 skipped (not Linux, not root, no engine to be had).
# Kept between runs, so that the next build is quick: the base image, the test's image
# (localhost/rot13bench-test) and builder stage, the engine's layer cache and ccache's
# directory. Its containers are removed, also on failure.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
source "$ROT13_ROOT/scripts/container.sh"
cd "$ROT13_ROOT"

work=${1:?usage: docker_test.sh WORK_DIR}
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ "${ROT13_SKIP_DOCKER:-0}" != 1 ] || skip "ROT13_SKIP_DOCKER=1"
[ "$(uname -s)" = Linux ] || skip "the image is Linux's; this is $(uname -s)"
[ "$(id -u)" -eq 0 ] || skip "needs root: it installs podman and debootstraps a base image"
# Packages: podman (with runc) unless a docker daemon answers; docker-compose; debootstrap,
# since the base image is made from Debian's mirror: the test needs no registry.
packages=("${ROT13_CONTAINER_PACKAGES[@]}")
if [ "${ROT13_ENGINE:-}" = docker ] || { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; then
    packages=(docker-compose debootstrap)
elif ! command -v dpkg-query >/dev/null 2>&1 && ! command -v podman >/dev/null 2>&1; then
    skip "no container engine here (docker with a daemon, or podman), and no apt to install podman"
fi
if command -v dpkg-query >/dev/null 2>&1; then
    ensure_packages --no-recommends "${packages[@]}"
    export ROT13_LOCAL_BASE=${ROT13_LOCAL_BASE:-1}
fi

rm -rf "$work"
mkdir -p "$work"
export ROT13_IMAGE=localhost/rot13bench-test:latest
name=rot13-test-$$
project=rot13test$$

# What the machine had before: a bridge or IP forwarding that appears later is ours.
bridges_before=$(ip -o link show type bridge 2>/dev/null | awk '{ print $2 }' || true)
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
check_network() {
    local now forward
    now=$(ip -o link show type bridge 2>/dev/null | awk '{ print $2 }' || true)
    forward=$(cat /proc/sys/net/ipv4/ip_forward)
    [ "$now" = "$bridges_before" ] || fail "after $1: bridge interfaces were '$bridges_before', now '$now'"
    [ "$forward" = "$forward_before" ] || fail "after $1: net.ipv4.ip_forward went from $forward_before to $forward"
    echo "network after $1: no new bridge, ip_forward $forward"
}

compose() { "${COMPOSE[@]}" -f docker/compose.yaml -p "$project" "$@"; }
compose_up=0
cleanup() {
    set +e
    [ "$compose_up" = 1 ] && compose down >/dev/null 2>&1
    stop_compose_socket
    "$ENGINE" rm -f "$name-server" "$name-load" >/dev/null 2>&1
}
choose_engine
trap cleanup EXIT
networks_before=$("$ENGINE" network ls --format '{{.Name}}' 2>/dev/null | sort || true)

# --- The image: built from this tree, with the layer cache of earlier runs if any. ---------
start=$(date +%s)
ensure_base_image
echo "base image ready in $(($(date +%s) - start)) s"
start=$(date +%s)
build_image >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "image build (log: $work/build.log)"; }
echo "image built in $(($(date +%s) - start)) s, $("$ENGINE" image inspect --format '{{.Size}}' "$ROT13_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
check_network "the build"
run_options

# Every binary finds its libraries in the runtime image, and rot13-bench its servers.
"$ENGINE" run --rm "${RUN_OPTIONS[@]}" "$ROT13_IMAGE" bash -c \
    'for b in bin/*; do ldd "$b" | grep "not found" | sed "s|^|$b: |"; done' >"$work/ldd.txt"
[ ! -s "$work/ldd.txt" ] || fail "libraries missing in the runtime image: $(cat "$work/ldd.txt")"
"$ENGINE" run --rm "${RUN_OPTIONS[@]}" "$ROT13_IMAGE" rot13-bench list >"$work/list.txt" 2>&1 \
    || fail "rot13-bench list in the image: $(cat "$work/list.txt")"
grep -q "epoll" "$work/list.txt" || fail "rot13-bench list does not show epoll: $(cat "$work/list.txt")"

# --- Two containers, pinned apart. ---------------------------------------------------------
read -r server_cpu load_cpu < <(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[1 % len(c)])')
"$ENGINE" run -d --name "$name-server" --cpuset-cpus "$server_cpu" "${RUN_OPTIONS[@]}" "$ROT13_IMAGE" \
    rot13-epoll --port 0 >/dev/null
port=""
for _ in $(seq 100); do
    port=$("$ENGINE" logs "$name-server" 2>&1 | sed -n 's/^listening on .*:\([0-9]*\)$/\1/p')
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || fail "rot13-epoll in its container did not start: $("$ENGINE" logs "$name-server" 2>&1)"
server_allowed=$("$ENGINE" exec "$name-server" sed -n 's/^Cpus_allowed_list:\s*//p' /proc/1/status)
[ "$server_allowed" = "$server_cpu" ] || fail "server container: Cpus_allowed_list is '$server_allowed', not $server_cpu"
"$ENGINE" run --rm --name "$name-load" --cpuset-cpus "$load_cpu" "${RUN_OPTIONS[@]}" "$ROT13_IMAGE" bash -c \
    'sed -n "s/^Cpus_allowed_list:\s*/cpus /p" /proc/self/status; exec rot13-load --port "$0" --connections 10 --duration 2 --warmup 0.5' \
    "$port" >"$work/two-containers.txt" 2>&1 || fail "rot13-load in its container: $(cat "$work/two-containers.txt")"
"$ENGINE" rm -f "$name-server" >/dev/null
grep -qx "cpus $load_cpu" "$work/two-containers.txt" || fail "load container not pinned to $load_cpu: $(head -1 "$work/two-containers.txt")"
grep -qE '^ *status +ok$' "$work/two-containers.txt" || fail "rot13-load's status is not ok: $(cat "$work/two-containers.txt")"
echo "two containers: server on CPU $server_allowed, load on CPU $load_cpu, $(grep -m1 -E 'lines/s' "$work/two-containers.txt" | sed 's/^ *//')"
check_network "two containers"

# --- docker/compose.yaml, once. --------------------------------------------------------------
start_compose_socket
compose_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/compose"
compose_up=1
ROT13_PORT=$compose_port ROT13_RESULTS=$work/compose ROT13_SERVER_CPUS=$server_cpu ROT13_LOAD_CPUS=$load_cpu \
    ROT13_CONNECTIONS=10 ROT13_DURATION=2 \
    compose up --no-build --exit-code-from load >"$work/compose.txt" 2>&1 \
    || fail "compose up: $(tail -30 "$work/compose.txt")"
for service in server load; do
    id=$(compose ps -q "$service")
    cpuset=$("$ENGINE" inspect --format '{{.HostConfig.CpusetCpus}}' "$id")
    mode=$("$ENGINE" inspect --format '{{.HostConfig.NetworkMode}}' "$id")
    expected=$([ $service = server ] && echo "$server_cpu" || echo "$load_cpu")
    [ "$cpuset" = "$expected" ] || fail "compose $service: cpuset '$cpuset', not $expected"
    [ "$mode" = host ] || fail "compose $service: network mode '$mode', not host"
done
grep -q "rot13-load on CPUs $load_cpu\$" "$work/compose.txt" \
    || fail "compose load: not pinned to $load_cpu inside: $(grep "on CPUs" "$work/compose.txt")"
python3 - "$work/compose/load.json" <<'EOF' || fail "compose: rot13-load's results"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["status"] == "ok", (doc["status"], doc["reason"])
print(f"compose: rot13-load ok, {doc['summary']['requests_per_sec']:,.0f} lines/s")
EOF
compose down >>"$work/compose.txt" 2>&1 || fail "compose down"
compose_up=0
stop_compose_socket
networks_after=$("$ENGINE" network ls --format '{{.Name}}' 2>/dev/null | sort || true)
[ "$networks_after" = "$networks_before" ] || fail "compose created a network: '$networks_before' became '$networks_after'"
check_network "compose"

# --- scripts/docker.sh with a tiny suite: results and report on the host. ---------------------
cat >"$work/tiny.json" <<'EOF'
{ "name": "tiny", "description": "docker test: one server, one load, one second",
  "duration_s": 1, "warmup_s": 0.2, "repetitions": 1, "seed": 1,
  "servers": [{"variant": "epoll"}],
  "loads": [{"mode": "closed", "connections": 10}] }
EOF
scripts/docker.sh "$work/tiny.json" --out "$work/docker-sh" --server-cpus "$server_cpu" --load-cpus "$load_cpu" \
    >"$work/docker-sh.txt" 2>&1 || fail "scripts/docker.sh: $(tail -30 "$work/docker-sh.txt")"
[ -f "$work/docker-sh/report.md" ] || fail "scripts/docker.sh wrote no report.md"
python3 - "$work/docker-sh/results.json" "$(source_commit)" "$server_cpu" "$load_cpu" "$work/tiny.json" <<'EOF' \
    || fail "scripts/docker.sh: results.json"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["suite"]["file"] == sys.argv[5], (doc["suite"]["file"], sys.argv[5])
runs = doc["runs"]
assert len(runs) == 1 and runs[0]["status"] == "ok", [(r["id"], r["status"], r.get("reason")) for r in runs]
assert doc["context"]["git_commit"] == sys.argv[2], (doc["context"]["git_commit"], sys.argv[2])
pinning = doc["context"]["pinning"]
assert (pinning["server_cpus"], pinning["load_cpus"]) == (sys.argv[3], sys.argv[4]), pinning
print(f"scripts/docker.sh: {runs[0]['id']} ok, {runs[0]['summary']['requests_per_sec']:,.0f} lines/s, commit {sys.argv[2]}")
EOF
check_network "scripts/docker.sh"
echo "passed"
