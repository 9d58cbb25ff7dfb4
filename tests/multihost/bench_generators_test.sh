#!/usr/bin/env bash
# rot13-bench with several load generators (loads[].generators): the server in one network
# namespace (through `ip netns exec` and `rot13-bench serve`), two generators in two others,
# one through `ip netns exec`, one through a real sshd (netns.sh), started by the harness
# with one --start-at and merged by it. Checks:
#   1. the run is ok; the merged requests are the sum of the parts', the merged histogram
#      their sum bucket by bucket and its p99 in the right bucket; the start spread is
#      reported in ms; the server's CPU per line divides by the merged lines of the common
#      window;
#   2. a generator whose host does not answer fails the run, naming it, with the other's
#      data kept;
#   3. so does a generator killed (-9) on its host mid-run, within a bounded time;
#   4. after kill -9 of rot13-bench mid-run no server or generator is left in any namespace.
# Prints the measured figures (docs/multi-host.md quotes them). Skips (77) when not root or
# without namespaces or sshd.
# Usage: bench_generators_test.sh BIN_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/netns.sh"
PY=/usr/bin/python3

[ -x "$BIN/rot13-bench" ] || skip "rot13-bench is not built"
command -v jq >/dev/null || skip "jq is not installed (Debian: apt-get install jq)"
netns_setup_with_sshd rot13-multihost-generators
FAILED=0
check() {
    local what=$1
    shift
    if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; FAILED=1; fi
}

# The server on CPU 0, both generators on CPU 1 (on one CPU: not pinned).
server_cpus='' gen_cpus=''
if [ "$(nproc)" -ge 2 ]; then server_cpus=', "cpus": "0"'; gen_cpus=', "cpus": "1"'; fi
DURATION=${ROT13_MULTIHOST_DURATION:-2}
# suite FILE DURATION GENERATOR2-COMMAND-AS-JSON: the server and gen1 as above, gen2 through
# the given prefix (absolute paths: root's shell startup on the ssh side changes PATH).
suite() {
    cat >"$1" <<EOS
{"name": "generators", "duration_s": $2, "warmup_s": 0.5, "repetitions": 1, "seed": 1,
 "hosts": {"server": {"command": ["ip", "netns", "exec", "$NS_SERVER"]$server_cpus}, "address": "$SERVER_ADDRESS"},
 "servers": [{"variant": "epoll"}],
 "loads": [{"mode": "closed", "connections": 8, "depth": 1,
            "generators": [{"label": "gen1-netns", "command": ["ip", "netns", "exec", "$NS_GEN1"]$gen_cpus},
                           {"label": "gen2-ssh", "command": $3, "program": "$BIN/rot13-load"$gen_cpus}]}]}
EOS
}
SSH_JSON=$("$PY" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${SSH_TO_GEN2[@]}")
bench() {  # bench SUITE OUT: rot13-bench run, bounded
    timeout 120 "$BIN/rot13-bench" run "$1" --out "$2" >"$2.out" 2>"$2.err"
}
failed_with() {  # failed_with RESULTS PREFIX: the run failed, its reason starting with PREFIX
    [ "$(jq -r '.runs[0].status' "$1")" = failed ] && [[ "$(jq -r '.runs[0].reason' "$1")" == "$2"* ]]
}

# 1. Two generators, one through ssh, merged by the harness.
suite "$WORK/suite.json" "$DURATION" "$SSH_JSON"
rc=0
bench "$WORK/suite.json" "$WORK/ok" || rc=$?
check "rot13-bench exits 0 (exit $rc)" [ "$rc" -eq 0 ]
R=$WORK/ok/results.json
[ -f "$R" ] || { cat "$WORK/ok.err" >&2; fail "no results file"; }
check "the run is ok ($(jq -r '.runs[0].reason' "$R"))" [ "$(jq -r '.runs[0].status' "$R")" = ok ]
check "gen2 ran through ssh" [ "$(jq -r '.runs[0].generators[1].command | join(" ")' "$R" | grep -c " ssh .*root@$GEN2_ADDRESS .*rot13-load .*--start-at .*--label gen2-ssh")" = 1 ]
"$PY" - "$HERE" "$R" <<'PYTHON' || FAILED=1
import json, sys
sys.path.insert(0, sys.argv[1])
import check_merge
run = json.load(open(sys.argv[2]))["runs"][0]
failures = []
parts = run["generators"]
if [p["label"] for p in parts] != ["gen1-netns", "gen2-ssh"] or any(p["status"] != "ok" for p in parts):
    failures.append("generators: %s" % [(p["label"], p["status"], p["reason"]) for p in parts])
failures += check_merge.check(parts, run)
m, server = run["merge"], run["server"]
if not isinstance(m["start_spread_ms"], (int, float)) or m["start_spread_ms"] > 250:
    failures.append("start spread %s ms" % m["start_spread_ms"])
if run["config"]["generators"] != 2 or run["config"]["connections"] != 16:
    failures.append("config: %s" % run["config"])
per_line = server["cpu_measured_s"] / m["common_window_requests"] * 1e6
if abs(server["cpu_us_per_line"] - per_line) > 1e-6 * per_line:
    failures.append("server CPU per line %s is not cpu_measured_s / merged lines of the common window (%s)" % (
        server["cpu_us_per_line"], per_line))
for f in failures: print("FAIL ", f)
print("%-12s %12s %10s %16s" % ("part", "lines/s", "p99 us", "start late ms"))
for p in parts:
    s = p["summary"]
    print("%-12s %12.0f %10.1f %16.3f" % (p["label"], s["requests_per_sec"], s["latency_ns"]["corrected"]["p99"] / 1e3,
                                         s["start_late_s"] * 1e3))
s = run["summary"]
print("%-12s %12.0f %10.1f   start spread %.3f ms, common window %.3f s, requests %d = %s, server CPU %.2f us/line" % (
      "merged", s["requests_per_sec"], s["latency_ns"]["corrected"]["p99"] / 1e3, m["start_spread_ms"],
      m["common_window_s"], s["requests"], " + ".join(str(p["summary"]["requests"]) for p in parts),
      server["cpu_us_per_line"]))
sys.exit(1 if failures else 0)
PYTHON

# 2. A host that does not answer: its generator is lost before the run starts.
suite "$WORK/unreachable.json" 1 '["ip", "netns", "exec", "r13-no-such-namespace"]'
SECONDS=0
rc=0
bench "$WORK/unreachable.json" "$WORK/unreachable" || rc=$?
R=$WORK/unreachable/results.json
reason=$(jq -r '.runs[0].reason' "$R")
check "an unreachable host fails the run naming its generator ($reason)" \
    failed_with "$R" "generator gen2-ssh: its host is unreachable"
check "and the other generator's data is kept and is the run's" \
    [ "$(jq '.runs[0] | .generators[0].summary.requests > 0 and .summary.requests == .generators[0].summary.requests' "$R")" = true ]
check "within a bounded time ($SECONDS s)" [ $SECONDS -lt 30 ]

# 3. A generator killed (-9) on its host mid-run.
suite "$WORK/killed.json" 4 "$SSH_JSON"
SECONDS=0
bench "$WORK/killed.json" "$WORK/killed" &
bench_pid=$!
netns_wait "$NS_GEN2" rot13-load 30 started || fail "the ssh generator did not start"
sleep 2.5
kill -KILL $(netns_pids_named "$NS_GEN2" rot13-load)
wait $bench_pid || true
R=$WORK/killed/results.json
reason=$(jq -r '.runs[0].reason' "$R")
check "a generator killed on its host fails the run naming it ($reason)" \
    failed_with "$R" "generator gen2-ssh: rot13-load wrote no results"
check "and the other generator's data is kept" [ "$(jq '.runs[0].generators[0].summary.requests > 0' "$R")" = true ]
check "within a bounded time ($SECONDS s)" [ $SECONDS -lt 60 ]

# 4. kill -9 of rot13-bench mid-run: nothing of the run may be left in any namespace.
suite "$WORK/long.json" 20 "$SSH_JSON"
"$BIN/rot13-bench" run "$WORK/long.json" --out "$WORK/orphaned" >/dev/null 2>&1 &
bench_pid=$!
netns_wait "$NS_GEN2" rot13-load 30 started || fail "the ssh generator did not start"
sleep 1
kill -KILL $bench_pid
wait $bench_pid 2>/dev/null || true
left() {
    echo "$(netns_pids_named "$NS_SERVER" rot13-bench) $(netns_pids_named "$NS_SERVER" rot13-epoll)" \
         "$(netns_pids_named "$NS_GEN1" rot13-load) $(netns_pids_named "$NS_GEN2" rot13-load)"
}
remaining=$(left)
for _ in $(seq 100); do
    remaining=$(left)
    [ -z "${remaining// /}" ] && break
    sleep 0.1
done
check "after kill -9 of rot13-bench no server or generator is left within 10 s (left: ${remaining// /})" \
    [ -z "${remaining// /}" ]
exit "$FAILED"
