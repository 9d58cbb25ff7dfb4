#!/usr/bin/env bash
# Measures rot13-load against the targets of its issue, on a 2-core machine: the server
# pinned to CPU 0, rot13-load (one thread) pinned to CPU 1, every figure repeated and the
# median quoted.
#
#   closed loop, 100 connections, depth 1: rot13-load CPU per line vs the server's (target <= 0.8x)
#   closed loop, depth 16 and 64: lines/s reached, and CPU per line vs the server's
#   100 active + 9,900 idle connections: peak RSS per connection (target <= 2 KiB), ramp-up time
#   open loop, 20,000 lines/s over 100 connections: send lag p99 (target <= 20 us), on
#     timers (the default) and with --spin-us 100 (polling through the last 100 us before
#     each line, which at this rate is all the time)
#   open loop, 100,000 lines/s over 100 connections: rot13-load CPU per line vs the server's
#     (target <= 1.15x) and vs rot13-load's own closed loop at depth 1 over the same 100
#     connections (target <= 1.1x)
#   open loop, 250,000 lines/s over 100 connections: lines/s reached and send lag p99
#     (target >= 250,000 and <= 50 us), and how busy each side's CPU was, which says whether
#     rot13-load or the server is the limit
#
# The closed loop the open loop is compared with runs the same 100 connections at depth 1,
# as fast as they go: the same lines over the same sockets, only without a schedule. It
# reaches at least the open loop's 100,000 lines/s here, and a closed loop at a higher rate
# handles more replies per wake-up, so the comparison is, if anything, in its favour.
#
# Beside rot13-load it runs rot13-load-floor (bench/loadgen_floor.cpp), the cheapest client
# we know how to write (io_uring, batched, no timer objects), on the same loads: the closed
# loop at depth 1, whose CPU ratio is the floor under any client's CPU per line against
# this server on this kernel; and the open loops at 20,000 lines/s (on its timeout, and
# spinning) and 250,000 lines/s, whose send lag is the floor under any client's here.
#
# CPU time: rot13-load reports its own (getrusage, whole process); the server's is read
# from /proc/PID/stat just before rot13-load starts and just after it exits. With no
# warm-up both cover the same traffic, so the ratio of the two is the ratio per line.
#
# Usage: bench/loadgen_targets.sh [--build DIR] [--reps N] [--duration S] [--rt] [--server NAME]
#                                 [--out DIR]
#   --out  keep everything: the printed summary (summary.txt), every run's JSON (gzipped)
#          and the server CPU readings (runs/), in DIR; without it they live in a temporary
#          directory.
#   --rt   run both processes SCHED_FIFO (chrt -f 10, needs root): on a machine shared with
#          other work this keeps other processes off the two CPUs, as on an idle machine.
# Linux only (taskset, chrt, /proc). Prints one line per run, then the medians.
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"

build=build
reps=3
duration=5
rt=0
server_name=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rt) rt=1; shift ;;
    --server) server_name=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bin=$build/bin
load=$bin/rot13-load
[ -x "$load" ] || { echo "no $load: build first (cmake --build $build)" >&2; exit 1; }
if [ -z "$server_name" ]; then
  if [ -x "$bin/rot13-epoll" ]; then server_name=epoll; else server_name=select; fi
fi
server=$bin/rot13-$server_name
[ -x "$server" ] || { echo "no $server" >&2; exit 1; }
python=/usr/bin/python3
[ -x "$python" ] || python=python3

ulimit -n "$(ulimit -Hn)"  # 10,000 connections need more than 1024 descriptors, on both sides
prio=()
[ "$rt" = 1 ] && prio=(chrt -f 10)
tick=$(getconf CLK_TCK)
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  # Even an interrupted run keeps what it measured.
  if [ -n "$out" ]; then
    rm -rf "$out/runs" && mkdir -p "$out/runs" && cp -r "$work"/. "$out/runs/"
    gzip -9 -f "$out/runs/"*.json 2>/dev/null || true  # the histograms compress 3:1
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "$out" ]; then
  mkdir -p "$out"
  exec > >(tee "$out/summary.txt")
fi

server_cpu_s() { awk -v t="$tick" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }

# serve: starts the server on CPU 0 (scripts/common.sh's start_server); sets server_pid and port.
serve() {
  if ! start_server "$work/server.out" "$work/server.err" "${prio[@]}" taskset -c 0 "$server"; then
    echo "server did not start: $(cat "$work/server.err")" >&2
    exit 1
  fi
  server_pid=$SERVER_PID
  port=$SERVER_PORT
}

# stop_server: SIGTERM, then reap; says so if the server had died during the run.
stop_server() {
  if ! kill "$server_pid" 2>/dev/null; then
    echo "  (the server had exited during the run: $(tail -1 "$work/server.err" 2>/dev/null))" >&2
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# measure NAME REP ARGS...: one run of rot13-load against a fresh server.
measure() {
  local name=$1 rep=$2; shift 2
  echo "  $name, run $rep of $reps ..." >&2
  serve
  local before after
  before=$(server_cpu_s "$server_pid")
  local cmd=("${prio[@]}" taskset -c 1 "$load" --port "$port" --threads 1 --quiet --json "$work/$name.$rep.json" "$@")
  echo "# ${prio[*]} taskset -c 0 $server --port 0" >> "$work/commands"
  echo "# ${prio[*]} taskset -c 1 $load --port PORT --threads 1 --quiet --json OUT.json $*" >> "$work/commands"
  "${cmd[@]}" || echo "  (rot13-load exited $?)" >&2
  after=$(server_cpu_s "$server_pid")
  stop_server
  echo "$name $rep $before $after" >> "$work/server_cpu"
}

# measure_floor NAME REP ARGS...: one run of rot13-load-floor, as measure() runs rot13-load.
floor=$bin/rot13-load-floor
measure_floor() {
  [ -x "$floor" ] || return 0
  local name=$1 rep=$2; shift 2
  echo "  $name, run $rep of $reps ..." >&2
  serve
  local before after status=0
  before=$(server_cpu_s "$server_pid")
  echo "# ${prio[*]} taskset -c 1 $floor --port PORT --connections 100 --duration $duration $*" >> "$work/commands"
  "${prio[@]}" taskset -c 1 "$floor" --port "$port" --connections 100 --duration "$duration" "$@" \
    > "$work/$name.$rep.out" || status=$?
  after=$(server_cpu_s "$server_pid")
  stop_server
  if [ "$status" = 0 ]; then
    echo "$name $rep $before $after" >> "$work/floor_cpu"
  else
    echo "  (rot13-load-floor exited $status: skipped)" >&2
  fi
}

echo "rot13-load targets: server rot13-$server_name on CPU 0, rot13-load on CPU 1, $reps repetitions, ${duration} s each$([ "$rt" = 1 ] && echo ', SCHED_FIFO')"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq "$reps"); do
  measure closed-d1 "$rep" -c 100 --depth 1 --duration "$duration" --warmup 0
  measure_floor floor "$rep"
  measure closed-d16 "$rep" -c 100 --depth 16 --duration "$duration" --warmup 0
  measure closed-d64 "$rep" -c 100 --depth 64 --duration "$duration" --warmup 0
  measure idle-10k "$rep" -c 100 --idle 9900 --duration 2 --warmup 0
  measure open-20k "$rep" -c 100 --rate 20000 --duration "$duration" --warmup 0
  measure open-20k-spin "$rep" -c 100 --rate 20000 --spin-us 100 --duration "$duration" --warmup 0
  measure_floor floor-20k "$rep" --rate 20000
  measure_floor floor-20k-spin "$rep" --rate 20000 --spin-us 100
  measure open-100k "$rep" -c 100 --rate 100000 --duration "$duration" --warmup 0
  measure open-250k "$rep" -c 100 --rate 250000 --duration "$duration" --warmup 0
  measure open-250k-spin "$rep" -c 100 --rate 250000 --spin-us 100 --duration "$duration" --warmup 0
  measure_floor floor-250k "$rep" --rate 250000
  measure_floor floor-250k-spin "$rep" --rate 250000 --spin-us 100
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$work" <<'EOF'
import json, statistics, sys
work = sys.argv[1]
cpu = {}
for line in open(f"{work}/server_cpu"):
    name, rep, before, after = line.split()
    cpu[(name, rep)] = float(after) - float(before)
runs = {}
for (name, rep), server_cpu in sorted(cpu.items()):
    with open(f"{work}/{name}.{rep}.json") as f:
        r = json.load(f)
    s, l = r["summary"], r["loadgen"]
    load_cpu = l["cpu_user_s"] + l["cpu_sys_s"]
    n = max(1, s["requests"])
    row = {
        "lines_per_s": s["requests_per_sec"],
        "loadgen_us_per_line": 1e6 * load_cpu / n,
        "server_us_per_line": 1e6 * server_cpu / n,
        "cpu_ratio": load_cpu / server_cpu if server_cpu > 0 else float("nan"),
        "send_lag_p99_us": l["send_lag_ns"]["p99"] / 1e3,
        "send_lag_p50_us": l["send_lag_ns"]["p50"] / 1e3,
        "kib_per_conn": (l["peak_rss_kb"] - l["baseline_rss_kb"]) / 10000,
        "peak_rss_kb": l["peak_rss_kb"],
        "ramp_up_s": s["ramp_up_s"],
        "errors": s["errors"]["total"],
        # Shares of one CPU over the window (with no warm-up both CPU times cover it).
        "load_busy": load_cpu * s["requests_per_sec"] / n,
        "server_busy": server_cpu * s["requests_per_sec"] / n,
        "status": r["status"],
    }
    runs.setdefault(name, []).append(row)
    print(f"{name:11} rep {rep}: {row['lines_per_s']:12.0f} lines/s  loadgen {row['loadgen_us_per_line']:.3f} us/line"
          f"  server {row['server_us_per_line']:.3f} us/line  ratio {row['cpu_ratio']:.3f}"
          f"  lag p99 {row['send_lag_p99_us']:.1f} us  rss {row['peak_rss_kb']} KiB  ramp {row['ramp_up_s']:.3f} s"
          f"  {row['status']}")

# rot13-load-floor's runs, by name: floor (closed loop), floor-20k, floor-20k-spin, floor-250k.
floors = {}
try:
    lines = open(f"{work}/floor_cpu").read().split("\n")
except FileNotFoundError:
    lines = []
for line in filter(None, lines):
    name, rep, before, after = line.split()
    with open(f"{work}/{name}.{rep}.out") as f:
        r = json.load(f)
    n = max(1, r["requests"])
    server_cpu = float(after) - float(before)
    load_cpu = r["cpu_user_s"] + r["cpu_sys_s"]
    lag = r.get("send_lag_ns", {})
    row = {
        "ratio": load_cpu / server_cpu if server_cpu > 0 else float("nan"),
        "client_us": 1e6 * load_cpu / n, "server_us": 1e6 * server_cpu / n,
        "lines_per_s": r["requests"] / r["seconds"], "user_us": 1e6 * r["cpu_user_s"] / n,
        "lag_p50_us": lag.get("p50", 0) / 1e3, "lag_p99_us": lag.get("p99", 0) / 1e3,
        "load_busy": load_cpu / r["seconds"], "server_busy": server_cpu / r["seconds"],
    }
    floors.setdefault(name, []).append(row)
    print(f"{name:14} rep {rep}: {row['lines_per_s']:12.0f} lines/s  client {row['client_us']:.3f} us/line"
          f" (user {row['user_us']:.3f})  server {row['server_us']:.3f} us/line  ratio {row['ratio']:.3f}"
          + (f"  lag p50 {row['lag_p50_us']:.1f} us p99 {row['lag_p99_us']:.1f} us" if lag else ""))

def fmed(name, key):
    return statistics.median(x[key] for x in floors[name]) if floors.get(name) else float("nan")

def med(name, key):
    ok = [r[key] for r in runs[name] if r["status"] == "ok"]  # a failed run says nothing about speed
    return statistics.median(ok) if ok else float("nan")

print("\nmedians:")
print(f"  closed, 100 connections, depth 1: {med('closed-d1', 'lines_per_s'):.0f} lines/s, CPU per line "
      f"rot13-load {med('closed-d1', 'loadgen_us_per_line'):.3f} us vs server {med('closed-d1', 'server_us_per_line'):.3f} us"
      f" = {med('closed-d1', 'cpu_ratio'):.3f}x (target <= 0.8x)")
if floors.get("floor"):
    print(f"  the floor (rot13-load-floor: io_uring, batched, no timing), same load: {fmed('floor', 'lines_per_s'):.0f}"
          f" lines/s, CPU per line client {fmed('floor', 'client_us'):.3f} us (user"
          f" {fmed('floor', 'user_us'):.3f}) vs server {fmed('floor', 'server_us'):.3f} us"
          f" = {fmed('floor', 'ratio'):.3f}x")
else:
    print("  the floor: not measured (rot13-load-floor not built or skipped)")
for d in (16, 64):
    n = f"closed-d{d}"
    print(f"  closed, depth {d}: {med(n, 'lines_per_s'):.0f} lines/s, CPU per line rot13-load "
          f"{med(n, 'loadgen_us_per_line'):.3f} us vs server {med(n, 'server_us_per_line'):.3f} us = {med(n, 'cpu_ratio'):.3f}x")
print(f"  100 active + 9,900 idle: {med('idle-10k', 'kib_per_conn'):.2f} KiB per connection above the baseline "
      f"(peak RSS {med('idle-10k', 'peak_rss_kb'):.0f} KiB in all, target <= 2 KiB per connection), "
      f"ramp-up {med('idle-10k', 'ramp_up_s'):.3f} s")
print(f"  open loop, 20,000 lines/s, 100 connections: send lag p50 {med('open-20k', 'send_lag_p50_us'):.1f} us, "
      f"p99 {med('open-20k', 'send_lag_p99_us'):.1f} us (target <= 20 us); CPU per line rot13-load "
      f"{med('open-20k', 'loadgen_us_per_line'):.2f} us vs server {med('open-20k', 'server_us_per_line'):.2f} us"
      f" = {med('open-20k', 'cpu_ratio'):.3f}x")
o = "open-20k-spin"
print(f"    with --spin-us 100: send lag p50 {med(o, 'send_lag_p50_us'):.1f} us, p99 {med(o, 'send_lag_p99_us'):.1f} us;"
      f" CPU per line rot13-load {med(o, 'loadgen_us_per_line'):.2f} us ({100 * med(o, 'load_busy'):.0f} % of its CPU)")
if floors.get("floor-20k"):
    print(f"    the floor, same load: send lag p50 {fmed('floor-20k', 'lag_p50_us'):.1f} us, p99 "
          f"{fmed('floor-20k', 'lag_p99_us'):.1f} us on its timeout; spinning 100 us, p50 "
          f"{fmed('floor-20k-spin', 'lag_p50_us'):.1f} us, p99 {fmed('floor-20k-spin', 'lag_p99_us'):.1f} us")
# The open loop against the closed one: the median of each run's CPU per line, divided.
o = "open-100k"
vs_closed = med(o, 'loadgen_us_per_line') / med('closed-d1', 'loadgen_us_per_line')
print(f"  open loop, 100,000 lines/s, 100 connections: {med(o, 'lines_per_s'):.0f} lines/s, send lag p50 "
      f"{med(o, 'send_lag_p50_us'):.1f} us, p99 {med(o, 'send_lag_p99_us'):.1f} us; CPU per line rot13-load "
      f"{med(o, 'loadgen_us_per_line'):.2f} us vs server {med(o, 'server_us_per_line'):.2f} us"
      f" = {med(o, 'cpu_ratio'):.3f}x (target <= 1.15x), vs rot13-load's closed loop (depth 1)"
      f" {med('closed-d1', 'loadgen_us_per_line'):.2f} us = {vs_closed:.3f}x (target <= 1.1x)")
o = "open-250k"
print(f"  open loop, 250,000 lines/s, 100 connections: {med(o, 'lines_per_s'):.0f} lines/s (target >= 250,000), "
      f"send lag p50 {med(o, 'send_lag_p50_us'):.1f} us, p99 {med(o, 'send_lag_p99_us'):.1f} us (target <= 50 us); "
      f"CPU busy: rot13-load {100 * med(o, 'load_busy'):.0f} %, server {100 * med(o, 'server_busy'):.0f} %; "
      f"CPU per line {med(o, 'loadgen_us_per_line'):.2f} vs {med(o, 'server_us_per_line'):.2f} us = {med(o, 'cpu_ratio'):.3f}x")
o = "open-250k-spin"
print(f"    with --spin-us 100: {med(o, 'lines_per_s'):.0f} lines/s, send lag p50 {med(o, 'send_lag_p50_us'):.1f} us, "
      f"p99 {med(o, 'send_lag_p99_us'):.1f} us; CPU busy: rot13-load {100 * med(o, 'load_busy'):.0f} %, "
      f"server {100 * med(o, 'server_busy'):.0f} %")
for f, how in (("floor-250k", "on its timeout"), ("floor-250k-spin", "spinning 100 us")):
    if floors.get(f):
        print(f"    the floor, same load, {how}: {fmed(f, 'lines_per_s'):.0f} lines/s, send lag p50 "
              f"{fmed(f, 'lag_p50_us'):.1f} us, p99 {fmed(f, 'lag_p99_us'):.1f} us; CPU busy: client "
              f"{100 * fmed(f, 'load_busy'):.0f} %, server {100 * fmed(f, 'server_busy'):.0f} %; CPU per line "
              f"{fmed(f, 'client_us'):.2f} vs {fmed(f, 'server_us'):.2f} us")
EOF
echo
echo "commands (the port is the one the fresh server announced):"
sed 's/^#  */# /' "$work/commands" | awk '!seen[$0]++'
