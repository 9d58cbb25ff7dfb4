#!/usr/bin/env bash
# Can HdrHistogram's own tools read rot13-load's --hdr-log? Runs rot13-load against the
# select server, then reads the log with hdr-histogram-js (HdrHistogram's JavaScript
# implementation) and compares it with the JSON (tests/loadgen/hdr_interop_check.js).
#
# Needs node and npm, and the npm registry the first time: the package is installed once
# into CACHE_DIR (a directory in the build tree) and reused. Without node, npm or the
# registry the test exits 77, which ctest reports as skipped, never as passed.
#
# Usage: hdr_interop_test.sh BIN_DIR CACHE_DIR
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
bin=$1
cache=$2
here=$(cd "$(dirname "$0")" && pwd)
package=hdr-histogram-js@3.0.1

if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "SKIP: node and npm are needed to run HdrHistogram's JavaScript implementation"
  exit 77
fi
if [ ! -d "$cache/node_modules/hdr-histogram-js" ]; then
  mkdir -p "$cache"
  if ! timeout 120 npm install --prefix "$cache" --no-audit --no-fund --silent "$package" > "$cache/npm.log" 2>&1; then
    echo "SKIP: npm install $package failed (no registry?):"
    tail -5 "$cache/npm.log"
    exit 77
  fi
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_server "$work/server.out" "$work/server.out" "$bin/rot13-select" ||
  { echo "FAIL: the select server did not start"; exit 1; }
server_pid=$SERVER_PID
port=$SERVER_PORT

# An open loop, so that corrected and uncorrected differ, over three seconds of intervals.
timeout 60 "$bin/rot13-load" --port "$port" -c 10 --rate 4000 --duration 3 --warmup 0.5 \
  --json "$work/run.json" --hdr-log "$work/run.hlog" --quiet
NODE_PATH="$cache/node_modules" node "$here/hdr_interop_check.js" "$work/run.hlog" "$work/run.json"
