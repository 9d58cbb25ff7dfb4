#!/usr/bin/env bash
# Runs one multi-generator experiment on a Kubernetes cluster: the server as a Deployment
# behind a headless Service (server.yaml), N load generators as an Indexed Job
# (generators.yaml) that all begin at the same wall-clock time, then collects every
# generator's results from its pod's log and merges them with `rot13-load merge`.
#
# Usage: docker/k8s/run.sh [options]
#   --generators N     load generator pods (default 2)
#   --image IMAGE      the rot13bench image (docker/Dockerfile; default rot13bench:latest),
#                      pushed where the cluster can pull it
#   --server VARIANT   the server variant (default epoll)
#   --connections C, --depth D, --size B, --duration S, --warmup S
#                      per generator, as rot13-load's flags (default 50, 1, 16, 10, 1)
#   --start-in S       seconds from now to the common start (default 60): time for every
#                      pod to be scheduled, pull the image and open its connections
#   --out DIR          where the results go (default results/k8s-<date>)
#   --merge-with PATH  the rot13-load that merges (default build/bin/rot13-load)
#   --keep             leave the server and the Job in the cluster afterwards
#   --render           print the manifests with these settings and exit; nothing is applied
# kubectl's own context and namespace are used (kubectl config set-context --current
# --namespace NS to choose one).
# Writes DIR/generator-<i>.json, DIR/merged.json, DIR/manifests.yaml. Exit status: 0 when
# every generator succeeded and the merge is ok, 1 otherwise (what was collected is kept).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

generators=2 image=rot13bench:latest variant=epoll connections=50 depth=1 size=16 duration=10 warmup=1
start_in=60 out="" merge_with="$ROOT/build/bin/rot13-load" keep=0 render=0 start_at=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --generators) generators=$2; shift ;;
        --image) image=$2; shift ;;
        --server) variant=$2; shift ;;
        --connections) connections=$2; shift ;;
        --depth) depth=$2; shift ;;
        --size) size=$2; shift ;;
        --duration) duration=$2; shift ;;
        --warmup) warmup=$2; shift ;;
        --start-in) start_in=$2; shift ;;
        --start-at) start_at=$2; shift ;;  # for tests: the exact epoch instead of --start-in
        --out) out=$2; shift ;;
        --merge-with) merge_with=$2; shift ;;
        --keep) keep=1 ;;
        --render) render=1 ;;
        -h|--help) usage 0 ;;
        *) echo "run.sh: unknown option '$1'" >&2; usage 2 >&2 ;;
    esac
    shift
done
[[ $generators =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --generators expects a count >= 1" >&2; exit 2; }
[ -n "$start_at" ] || start_at=$(( $(date +%s) + start_in ))

# The manifests with this run's settings: the image and variant of the server; the
# generator count, the start, the image and rot13-load's settings in the Job's env.
render_server() {
    sed -e "s#image: rot13bench:latest#image: $image#" \
        -e "s#/opt/rot13bench/bin/rot13-epoll#/opt/rot13bench/bin/rot13-$variant#" "$HERE/server.yaml"
}
render_generators() {
    local set_env=() name value
    for name in CONNECTIONS DEPTH SIZE DURATION WARMUP; do
        case $name in
            CONNECTIONS) value=$connections ;; DEPTH) value=$depth ;; SIZE) value=$size ;;
            DURATION) value=$duration ;; WARMUP) value=$warmup ;;
        esac
        set_env+=(-e "/- name: $name\$/{n;s/value: \".*\"/value: \"$value\"/}")
    done
    sed -e "s#image: rot13bench:latest#image: $image#" -e "s/__START_AT__/$start_at/" \
        -e "s/^\(  \)\(completions\|parallelism\): [0-9]*$/\1\2: $generators/" "${set_env[@]}" \
        "$HERE/generators.yaml"
}
render_manifests() {
    render_server
    echo "---"
    render_generators
}

if [ $render = 1 ]; then
    render_manifests
    exit 0
fi

command -v kubectl >/dev/null || { echo "run.sh: kubectl is not installed" >&2; exit 1; }
[ -x "$merge_with" ] || { echo "run.sh: no rot13-load at $merge_with to merge with (--merge-with PATH)" >&2; exit 1; }
[ -n "$out" ] || out="$ROOT/results/k8s-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
render_manifests >"$out/manifests.yaml"
log() { printf '==> %s\n' "$*" >&2; }

cleanup() {
    [ $keep = 1 ] && return 0
    kubectl delete --ignore-not-found -f "$out/manifests.yaml" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# 1. The server, ready before the Job exists (the start time already counts down).
log "server: rot13-$variant ($image)"
kubectl delete --ignore-not-found job/rot13-load >/dev/null
render_server | kubectl apply -f - >/dev/null
kubectl rollout status deployment/rot13-server --timeout=120s >&2

# 2. The generators, starting together at start_at.
now=$(date +%s)
[ "$start_at" -gt $(( now + 5 )) ] || { echo "run.sh: the start is already past: raise --start-in" >&2; exit 1; }
log "$generators generators, starting at $start_at (in $(( start_at - now )) s)"
render_generators | kubectl apply -f - >/dev/null

# 3. Wait until every pod has finished (succeeded or failed), with a deadline: a lost
# generator must not make this wait forever.
deadline=$(( start_at + ${warmup%.*} + ${duration%.*} + 120 ))
while :; do
    read -r succeeded failed < <(kubectl get job rot13-load -o jsonpath='{.status.succeeded} {.status.failed}' \
                                 | awk '{print ($1 == "" ? 0 : $1), ($2 == "" ? 0 : $2)}')
    [ $(( succeeded + failed )) -ge "$generators" ] && break
    [ "$(date +%s)" -lt $deadline ] || { log "deadline passed: $succeeded succeeded, $failed failed"; break; }
    sleep 2
done

# 4. Collect: each pod's log holds its results object as one JSON line.
status=0
inputs=()
while read -r pod index; do
    [ -n "$pod" ] || continue
    file="$out/generator-$index.json"
    if kubectl logs "$pod" | grep '^{' >"$file" && [ -s "$file" ]; then
        inputs+=("$file")
    else
        log "generator $index ($pod) left no results: $(kubectl logs "$pod" 2>&1 | tail -1)"
        rm -f "$file"
        status=1
    fi
done < <(kubectl get pods -l job-name=rot13-load \
         -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{"\n"}{end}')
[ ${#inputs[@]} -eq "$generators" ] || { log "${#inputs[@]} of $generators generators reported"; status=1; }
[ ${#inputs[@]} -gt 0 ] || exit 1

# 5. Merge (refused if the runs are not one experiment; see docs/results-schema.md).
"$merge_with" merge "${inputs[@]}" >"$out/merged.json" || exit 1
grep -q '"status":"ok"' "$out/merged.json" || status=1
log "results in $out"
exit $status
