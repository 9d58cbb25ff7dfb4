#!/usr/bin/env bash
# How many TCP segments loopback carries per ROT13 line, closed and open loop: the kernel's
# coalescing, which makes CPU per line depend on the load's shape as well as the server.
#
# A closed loop at depth 1 sends exactly one request and one reply segment per line (each
# carrying the other's ACK): 2 segments. Several lines in flight per connection leave in one
# segment (the server reads them with one recv and answers with one send). An open loop
# pays 2 per line while both sides keep up, and less once one falls behind: then several
# lines of a connection are due at once, go out in one write, and are answered in one.
# Light open loops pay more than 2: with no reply to ride on, delayed ACKs go out alone.
# So CPU per line at a high open-loop rate (a knee search's last probes) is not comparable
# with a closed loop's at depth 1: fewer segments carry the same lines.
#
# The server (CPU 0) and rot13-load (CPU 1) run in a network namespace of their own, so that
# nstat's TcpOutSegs counts their traffic only (the host's loopback carries whatever else
# runs). Needs root (ip netns); the namespace is removed at the end.
#
# Usage: bench/loopback_segments.sh [--build DIR] [--server NAME] [--duration S]
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"

build=$ROT13_ROOT/build
server_name=epoll
duration=3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --server) server_name=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "needs root, for a network namespace of its own (ip netns add)"
command -v nstat >/dev/null || die "no nstat (Debian: apt-get install iproute2)"
server=$build/bin/rot13-$server_name
load=$build/bin/rot13-load
[ -x "$server" ] && [ -x "$load" ] || die "no $server or $load: build first (scripts/test.sh or cmake --build)"
python=$(find_python) || exit 1

ns=rot13-segments-$$
work=$(mktemp -d)
ip netns add "$ns"
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; ip netns del "$ns"; rm -rf "$work"' EXIT
ip netns exec "$ns" ip link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

# One run on a fresh server: prints the label, lines/s and segments sent per line answered.
# No warm-up, so the counters and rot13-load's line count cover the same traffic (the
# connects and closes add a few hundred segments to hundreds of thousands).
measure() {
  local label=$1
  shift
  start_server "$work/server.out" "$work/server.err" ip netns exec "$ns" taskset -c 0 "$server" \
      || die "server did not start: $(cat "$work/server.err")"
  in_ns nstat -n >/dev/null
  in_ns taskset -c 1 "$load" --port "$SERVER_PORT" --duration "$duration" --warmup 0 -q \
      --json "$work/run.json" "$@" >/dev/null 2>"$work/load.err" || echo "  ($label: rot13-load: $(tail -1 "$work/load.err"))"
  local segments
  segments=$(in_ns nstat -z TcpOutSegs | awk '$1 == "TcpOutSegs" { print $2 }')
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  "$python" - "$label" "$segments" "$work/run.json" <<'EOF'
import json, sys
label, segments, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
summary = json.load(open(path))["summary"]
lines = max(1, summary["requests"])
print(f"| {label} | {summary['requests_per_sec']:,.0f} | {segments / lines:.2f} |")
EOF
}

echo "rot13-$server_name on CPU 0, rot13-load on CPU 1, ${duration} s per run, own network namespace"
echo
echo "| load | lines/s | segments per line |"
echo "|---|---|---|"
measure "closed, 1 connection, depth 1" -c 1
for depth in 1 4 16 64; do
  measure "closed, 100 connections, depth $depth" -c 100 --depth "$depth"
done
for rate in 2000 20000 100000 200000; do
  measure "open, 100 connections, $rate lines/s" -c 100 --rate "$rate"
done
