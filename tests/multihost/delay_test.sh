#!/usr/bin/env bash
# A link with a delay between the generator's namespace and the server's (tc netem): the
# latency rot13-load measures must grow by that delay. Skips (exit 77) when not root, or
# where the kernel has no netem (sch_netem), as on the machine this was written on.
# Usage: delay_test.sh BIN_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns.sh"

netns_require
command -v tc >/dev/null || skip "tc is not installed (Debian: apt-get install iproute2)"
WORK=$(mktemp -d /tmp/rot13-delay.XXXXXX)
netns_create
trap 'netns_cleanup; rm -rf "$WORK"' EXIT

DELAY_MS=20
if ! why=$(ip netns exec "$NS_GEN1" tc qdisc add dev "$VETH_G1" root netem delay ${DELAY_MS}ms 2>&1); then
    skip "tc netem is not available in this kernel ($why); tbf and htb shape rate, not delay"
fi

SERVER_OUT=$WORK/server.out
server_start ip netns exec "$NS_SERVER" "$BIN/rot13-epoll" --bind "$SERVER_ADDRESS" --port 0
ip netns exec "$NS_GEN1" "$BIN/rot13-load" --host "$SERVER_ADDRESS" --port "$SERVER_PORT" -c 1 --duration 1 \
    --warmup 0.2 -q --json "$WORK/delayed.json" || fail "rot13-load failed"
/usr/bin/python3 - "$WORK/delayed.json" "$DELAY_MS" <<'PYTHON'
import json, sys
run, delay_ns = json.load(open(sys.argv[1])), float(sys.argv[2]) * 1e6
p50 = run["summary"]["latency_ns"]["corrected"]["p50"]
print("p50 %.2f ms with a %.0f ms delay on the link" % (p50 / 1e6, delay_ns / 1e6))
if not delay_ns <= p50 < 10 * delay_ns:
    print("FAILED: the delay does not show in the latency"); sys.exit(1)
PYTHON
echo "PASSED"
