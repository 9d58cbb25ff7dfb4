#!/usr/bin/env bash
# rot13-bench with its server and its load generator on other hosts (suite key "hosts"):
# the server in one network namespace through `ip netns exec` and `rot13-bench serve`
# there, rot13-load in another, joined by a veth pair (netns.sh). Checks: every run ok,
# the server's CPU and memory measured on its own host (serve's samples), the commands went
# through the prefixes; then that nothing is left in the namespaces once rot13-bench is
# killed with SIGKILL in the middle of a run (the transports' stdin ends, serve stops the
# server, rot13-load stops itself). `ip netns exec` execs its command, so here the death
# signal of the process layer (PR_SET_PDEATHSIG) acts as well; over ssh only the end of
# stdin does (generators_test.sh checks that for rot13-load through a real sshd). Skips
# (77) when not root or without namespaces.
# Usage: harness_test.sh BIN_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns.sh"

netns_require
[ -x "$BIN/rot13-bench" ] || skip "rot13-bench is not built"
WORK=$(mktemp -d /tmp/rot13-multihost-bench.XXXXXX)
netns_create
trap 'netns_cleanup; rm -rf "$WORK"' EXIT
FAILED=0
check() {
    local what=$1
    shift
    if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; FAILED=1; fi
}

CPUS=$(nproc)
server_cpus='' load_cpus=''
if [ "$CPUS" -ge 2 ]; then server_cpus=', "cpus": "0"'; load_cpus=', "cpus": "1"'; fi
cat >"$WORK/suite.json" <<EOS
{"name": "hosts", "duration_s": 1, "warmup_s": 0.3, "repetitions": 1, "seed": 1,
 "hosts": {"server": {"command": ["ip", "netns", "exec", "$NS_SERVER"]$server_cpus},
           "load": {"command": ["ip", "netns", "exec", "$NS_GEN1"]$load_cpus},
           "address": "$SERVER_ADDRESS"},
 "servers": [{"variant": "epoll"}, {"variant": "select"}],
 "loads": [{"mode": "closed", "connections": 10, "depth": 1}]}
EOS

# 1. A suite across the namespaces.
rc=0
timeout 120 "$BIN/rot13-bench" run "$WORK/suite.json" --out "$WORK/out" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
R=$WORK/out/results.json
check "rot13-bench exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "both runs ok" [ "$(jq '[.runs[] | select(.status == "ok")] | length' "$R")" = 2 ]
check "the server's CPU per line and memory were measured on its host" \
    [ "$(jq '[.runs[] | select(.server.cpu_us_per_line > 0 and .server.rss_kb > 0 and .server.exit == "ok")] | length' "$R")" = 2 ]
check "the server ran through the server host's prefix and rot13-bench serve, bound to $SERVER_ADDRESS" \
    [ "$(jq -r '.runs[0].commands.server | join(" ")' "$R" | grep -c "^ip netns exec $NS_SERVER .*rot13-bench serve .*--bind $SERVER_ADDRESS")" = 1 ]
check "rot13-load ran through the load host's prefix against $SERVER_ADDRESS" \
    [ "$(jq -r '.runs[0].commands.load | join(" ")' "$R" | grep -c "^ip netns exec $NS_GEN1 .*--host $SERVER_ADDRESS")" = 1 ]
check "lines were answered and verified" [ "$(jq '[.runs[] | .summary.requests > 1000] | all' "$R")" = true ]
jq -r '.runs[] | "  \(.config.server): \(.summary.requests_per_sec | floor) lines/s, server CPU \(.server.cpu_us_per_line * 100 | floor / 100) us/line, RSS \(.server.rss_kb) KiB"' "$R"

# 2. SIGKILL of the harness mid-run: nothing may be left in the namespaces.
sed -e 's/"duration_s": 1,/"duration_s": 20,/' "$WORK/suite.json" >"$WORK/long.json"
"$BIN/rot13-bench" run "$WORK/long.json" --out "$WORK/killed" >/dev/null 2>&1 &
bench=$!
for _ in $(seq 100); do
    compgen -G "$WORK/killed/logs/*.load.log" >/dev/null && break
    sleep 0.1
done
sleep 1
kill -KILL "$bench"
wait "$bench" 2>/dev/null || true
left=""
for _ in $(seq 50); do
    left="$(ip netns pids "$NS_SERVER") $(ip netns pids "$NS_GEN1")"
    [ -z "${left// /}" ] && break
    sleep 0.1
done
check "after SIGKILL of rot13-bench mid-run, no process is left in either namespace within 5 s (left: ${left// /})" \
    [ -z "${left// /}" ]
exit "$FAILED"
