#!/usr/bin/env bash
# The server in one network namespace, two load generators in two others — one started
# through `ip netns exec`, one through a real sshd — started together with --start-at and
# merged with `rot13-load merge`. Checks: the merged requests are the sum of the parts,
# the merged histogram is the sum of the parts' bucket by bucket and its p99 lies in the
# right bucket, the start spread is small; then that a generator started over ssh is gone
# once its ssh client is killed (-9) and once its link is cut. Leaves no namespace, veth or
# process behind. Skips (exit 77) when not root or without namespaces or sshd.
# Usage: generators_test.sh BIN_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns.sh"
PY=/usr/bin/python3

netns_setup_with_sshd rot13-multihost

# Pinned apart on two cores: the server on CPU 0, the generators on CPU 1.
CPUS=$(nproc)
pin() { if [ "$CPUS" -ge 2 ]; then echo "/usr/bin/taskset -c $1"; fi; }

SERVER_OUT=$WORK/server.out
server_start ip netns exec "$NS_SERVER" $(pin 0) "$BIN/rot13-epoll" --bind "$SERVER_ADDRESS" --port 0
echo "server: rot13-epoll in $NS_SERVER on $SERVER_ADDRESS:$SERVER_PORT"

# 1. Two generators, started together. The ssh one keeps its stdin open on a FIFO (a
# background job's stdin would be /dev/null, which --stop-on-stdin-close reads as "stop").
DURATION=${ROT13_MULTIHOST_DURATION:-3}
LOAD_ARGS=(--host "$SERVER_ADDRESS" --port "$SERVER_PORT" -c 8 --duration "$DURATION" --warmup 0.5 -q)
mkfifo "$WORK/hold"
exec 7<>"$WORK/hold"
# The start leaves time for both to be started and to open their connections: 1.5 s, plus
# three times what one ssh command takes now (seconds on a loaded machine).
t0=$(epoch_in 0)
"${SSH_TO_GEN2[@]}" /bin/true
LEAD=$(/usr/bin/python3 -c "import sys, time; print(1.5 + 3 * (time.time() - float(sys.argv[1])))" "$t0")
START=$(epoch_in "$LEAD")
echo "start at $START (in $LEAD s)"
ip netns exec "$NS_GEN1" $(pin 1) "$BIN/rot13-load" "${LOAD_ARGS[@]}" --start-at "$START" --label gen1-netns \
    --json "$WORK/gen1.json" &
gen1=$!
"${SSH_TO_GEN2[@]}" $(pin 1) "$BIN/rot13-load" "${LOAD_ARGS[@]}" --start-at "$START" --label gen2-ssh \
    --stop-on-stdin-close --json - <&7 >"$WORK/gen2.json" 2>"$WORK/gen2.err" &
gen2=$!
status=0
wait $gen1 || { status=$?; echo "gen1 exited $status" >&2; }
wait $gen2 || { status=$?; echo "gen2 exited $status: $(cat "$WORK/gen2.err")" >&2; }
[ $status -eq 0 ] || fail "a generator failed"
"$BIN/rot13-load" merge "$WORK/gen1.json" "$WORK/gen2.json" >"$WORK/merged.json" 2>"$WORK/merge.err" \
    || fail "merge: $(cat "$WORK/merge.err")"
cat "$WORK/merge.err"

"$PY" - "$HERE" "$WORK/gen1.json" "$WORK/gen2.json" "$WORK/merged.json" <<'PYTHON'
import json, sys
sys.path.insert(0, sys.argv[1])
import check_merge
parts = [json.load(open(f)) for f in sys.argv[2:4]]
merged = json.load(open(sys.argv[4]))
def fail(why):
    print("FAILED:", why); sys.exit(1)
for p in parts:
    if p["status"] != "ok": fail(p["config"]["label"] + ": " + p["reason"])
    if p["summary"]["errors"]["total"] != 0: fail("errors in " + p["config"]["label"])
    # Late by a wake-up (µs on a quiet machine, tens of ms on a loaded one); a second
    # would mean that --start-at did not work.
    if p["summary"]["start_late_s"] > 1: fail("%s started %.3f s late" % (p["config"]["label"], p["summary"]["start_late_s"]))
for why in check_merge.check(parts, merged): fail(why)
s = merged["summary"]
m = merged["merge"]
if m["forced"]: fail("merge was forced")
if m["start_spread_ms"] > 250: fail("start spread %.1f ms" % m["start_spread_ms"])
print("%-12s %12s %10s %18s %10s" % ("part", "lines/s", "p99 us", "window start", "late ms"))
for p in parts:
    print("%-12s %12.0f %10.1f %18.6f %10.3f" % (p["config"]["label"], p["summary"]["requests_per_sec"],
          p["summary"]["latency_ns"]["corrected"]["p99"] / 1e3, p["summary"]["window_start_epoch_s"],
          p["summary"]["start_late_s"] * 1e3))
print("%-12s %12.0f %10.1f   start spread %.3f ms, common window %.3f s, requests %d = %s" % (
      "merged", s["requests_per_sec"], s["latency_ns"]["corrected"]["p99"] / 1e3, m["start_spread_ms"],
      m["common_window_s"], s["requests"], " + ".join(str(p["summary"]["requests"]) for p in parts)))
PYTHON

# 2. Lifetimes: ssh does not signal the remote command when it ends; the command sees its
# stdin close. Killing the ssh client (-9) must leave no generator behind...
LONG_ARGS=(--host "$SERVER_ADDRESS" --port "$SERVER_PORT" -c 2 --duration 60 --warmup 0 -q --json "$WORK/long.json")  # a file: never let a test write results to /dev/null
"${SSH_TO_GEN2[@]}" "$BIN/rot13-load" "${LONG_ARGS[@]}" --stop-on-stdin-close <&7 >/dev/null 2>&1 &
client=$!
netns_wait "$NS_GEN2" rot13-load 10 started || fail "the remote generator did not start"
kill -KILL $client
wait $client 2>/dev/null || true
netns_wait "$NS_GEN2" rot13-load 10 gone || fail "a generator was left running after kill -9 of its ssh client"
echo "ok: kill -9 of the ssh client left no generator behind"

# ...and so must cutting its link (no FIN reaches sshd: its client-alive probes end the
# session, which closes the command's stdin).
"${SSH_TO_GEN2_ALONE[@]}" "$BIN/rot13-load" "${LONG_ARGS[@]}" --stop-on-stdin-close <&7 >/dev/null 2>&1 &
client=$!
netns_wait "$NS_GEN2" rot13-load 10 started || fail "the remote generator did not start"
ip -n "$NS_SERVER" link del "$VETH_S2"
netns_wait "$NS_GEN2" rot13-load 15 gone || fail "a generator was left running after its link was cut"
echo "ok: cutting the link left no generator behind"
kill -KILL $client 2>/dev/null || true
wait $client 2>/dev/null || true
exec 7>&-
echo "PASSED"
