#!/usr/bin/env bash
# A Wine prefix of our own for the Windows build's programs, kept warm between them.
# Usage: scripts/wine_prefix.sh start PREFIX   creates PREFIX on first use (Windows 10), starts
#                                             its wineserver and Wine's own services
#        scripts/wine_prefix.sh stop PREFIX    stops that prefix's wineserver and programs
# Starting a Windows program in a cold prefix takes a second or more (a wineserver and
# services.exe, rpcss, explorer ... come up first); with them running it takes ~50 ms. The
# wineserver stays 60 s after its last program exits (-p60), so a suite that starts one
# program per test case keeps it warm, and an interrupted one does not leave it forever.
# Only PREFIX's wineserver is touched: other prefixes (other users of Wine) are not.
# Everything Wine prints goes to PREFIX.log: no pipe of the caller (ctest) is kept open by
# the processes that outlive this script.
set -euo pipefail

[ $# -eq 2 ] && { [ "$1" = start ] || [ "$1" = stop ]; } || {
    sed -n '3,4p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
action=$1
export WINEPREFIX=$2
# No debug chatter, and no offer to install Mono or Gecko (a console program needs neither).
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# Debian's wine64 package has no wine on PATH, only its loader in /usr/lib/wine.
wine=$(command -v wine || command -v wine64 || echo /usr/lib/wine/wine64)
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)
[ -x "$wine" ] && [ -x "$wineserver" ] || { echo "Wine not found (Debian: apt-get install wine64)" >&2; exit 1; }
log=$WINEPREFIX.log

if [ "$action" = stop ]; then
    [ -d "$WINEPREFIX" ] && "$wineserver" -k >>"$log" 2>&1 </dev/null || true
    exit 0
fi

mkdir -p "$(dirname "$WINEPREFIX")"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    timeout 300 "$wine" wineboot --init >>"$log" 2>&1 </dev/null || { echo "wineboot failed (log: $log)" >&2; exit 1; }
    # The Windows build targets Windows 10 and later; Wine 8's new prefixes say Windows 7.
    timeout 60 "$wine" winecfg /v win10 >>"$log" 2>&1 </dev/null || { echo "winecfg failed (log: $log)" >&2; exit 1; }
    # The wineserver those two started lingers 3 s; the lasting one below replaces it.
    timeout 60 "$wineserver" -w >>"$log" 2>&1 </dev/null || true
fi
# Exit status 2: a wineserver runs for this prefix already (an earlier start's): it is warm.
"$wineserver" -p60 >>"$log" 2>&1 </dev/null || [ $? -eq 2 ] || { echo "wineserver failed (log: $log)" >&2; exit 1; }
timeout 60 "$wine" wineboot >>"$log" 2>&1 </dev/null || { echo "wineboot failed (log: $log)" >&2; exit 1; }
