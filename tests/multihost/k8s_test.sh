#!/usr/bin/env bash
# docker/k8s without a cluster (none is reachable here; these manifests never ran on one):
#   1. docker/k8s/run.sh --render fills in the manifests, and check_k8s_manifests.py checks
#      them against the Kubernetes API's own models and the experiment's rules;
#   2. the Deployment's exact command and the Job's exact command and args run in network
#      namespaces, where "rot13-server" resolves to the server's address as the headless
#      Service would make it resolve (only the image's /opt/rot13bench/bin becomes the build's
#      bin directory), one namespace per completion index, with $(NAME) expanded from env
#      the way the kubelet does;
#   3. their stdout, the pods' logs, is collected the way run.sh collects it and merged.
# Skips (77) without root, namespaces or python3-kubernetes.
# Usage: k8s_test.sh BIN_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/netns.sh"
PY=/usr/bin/python3

$PY -c 'import kubernetes, yaml' 2>/dev/null \
    || skip "python3-kubernetes is not installed (Debian: apt-get install python3-kubernetes python3-yaml)"
WORK=$(mktemp -d /tmp/rot13-k8s.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# 1. Render and check (this needs no root).
"$ROOT/docker/k8s/run.sh" --render --generators 2 --start-at "$(( $(date +%s) + 60 ))" --connections 4 \
    --duration 2 --warmup 0.5 >"$WORK/manifests.yaml"
$PY "$HERE/check_k8s_manifests.py" "$WORK/manifests.yaml" --commands "$WORK/commands.json" \
    || fail "the manifests do not pass the checks"

# 2. Run the containers' commands.
netns_require
netns_create
cleanup() {
    netns_cleanup
    rm -rf "/etc/netns/$NS_GEN1" "/etc/netns/$NS_GEN2" "$WORK"
    rmdir /etc/netns 2>/dev/null || true  # if nothing else uses it
}
trap cleanup EXIT
# ip netns exec bind-mounts /etc/netns/NAME/hosts over /etc/hosts for what it runs.
for ns in "$NS_GEN1" "$NS_GEN2"; do
    mkdir -p "/etc/netns/$ns"
    printf '127.0.0.1 localhost\n%s rot13-server\n' "$SERVER_ADDRESS" >"/etc/netns/$ns/hosts"
done

# The command of the container, with $(NAME) expanded from env as the kubelet does
# ($$ stands for $), and the image's binaries mapped to the build's, one word a line.
# START_AT is the one given, as run.sh sets it when it applies the Job.
container_command() {  # which (server|generator) [completion index] [START_AT]
    $PY - "$WORK/commands.json" "$1" "${2:-}" "$BIN" "${3:-}" <<'PYTHON'
import json, re, sys
spec, which, index, bin_dir, start = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
env = dict(spec["env"], JOB_COMPLETION_INDEX=index, START_AT=start or spec["env"]["START_AT"])
def expand(word):
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), word)
argv = [expand(w) for w in spec[which]]
argv[0] = argv[0].replace("/opt/rot13bench/bin", bin_dir)
print("\n".join(argv))
PYTHON
}
mapfile -t server_argv < <(container_command server)
SERVER_OUT=$WORK/server.out
server_start ip netns exec "$NS_SERVER" "${server_argv[@]}"
echo "server (the Deployment's command): ${server_argv[*]}"
# Both commands first, with a stand-in for START_AT; then the start, a few seconds ahead
# of the moment both are launched (python's start-up takes seconds on a loaded machine).
mapfile -t argv0 < <(container_command generator 0 @START_AT@)
mapfile -t argv1 < <(container_command generator 1 @START_AT@)
START=$(( $(date +%s) + 3 ))
argv0=("${argv0[@]//@START_AT@/$START}")
argv1=("${argv1[@]//@START_AT@/$START}")
echo "generator (the Job's command): ${argv0[*]}"
ip netns exec "$NS_GEN1" "${argv0[@]}" >"$WORK/pod-0.log" 2>&1 &
pids=($!)
ip netns exec "$NS_GEN2" "${argv1[@]}" >"$WORK/pod-1.log" 2>&1 &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || fail "a generator failed: $(cat "$WORK"/pod-*.log)"; done

# 3. Collected as run.sh does (the results object is the log's one JSON line) and merged.
for index in 0 1; do
    grep '^{' "$WORK/pod-$index.log" >"$WORK/generator-$index.json" || fail "no JSON in pod $index's log"
done
"$BIN/rot13-load" merge "$WORK/generator-0.json" "$WORK/generator-1.json" >"$WORK/merged.json" \
    || fail "the merge refused the generators' results"
$PY - "$WORK/merged.json" "$START" <<'PYTHON'
import json, sys
m, start = json.load(open(sys.argv[1])), float(sys.argv[2])
def fail(why):
    print("FAILED:", why); sys.exit(1)
if m["status"] != "ok": fail(m["reason"])
labels = sorted(i["label"] for i in m["merge"]["inputs"])
if labels != ["generator-0", "generator-1"]: fail("labels %s" % labels)
if m["summary"]["requests"] != sum(i["requests"] for i in m["merge"]["inputs"]): fail("requests do not add up")
if abs(m["summary"]["window_start_epoch_s"] - (start + 0.5)) > 0.1: fail("the window did not open at START_AT + warm-up")
print("merged: %.0f lines/s, p99 %.1f us, start spread %.3f ms" % (m["summary"]["requests_per_sec"],
      m["summary"]["latency_ns"]["corrected"]["p99"] / 1e3, m["merge"]["start_spread_ms"]))
PYTHON
echo "PASSED (offline: no cluster ran these manifests)"
