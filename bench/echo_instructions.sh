#!/usr/bin/env bash
# Instructions per echo round trip (client send+recv and server recv+send in one process),
# counted by callgrind: bench/echo_roundtrip.lua at 2,000 and 12,000 round trips, the
# difference divided by 10,000, so start-up and shutdown cancel out.
# usage: bench/echo_instructions.sh [dir holding ratchet.so]   (default: a fresh release build)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
lib="${1:-$("$here/scripts/build" release)/lib}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
count() {
    LUA_CPATH="$lib/?.so;;" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
        lua5.4 "$here/bench/echo_roundtrip.lua" "$1" >/dev/null 2>"$tmp/log.$1"
    grep -m1 '^summary:' "$tmp/cg.$1" | awk '{print $2}'
}
a=$(count 2000); b=$(count 12000)
echo "$lib: $(( (b - a) / 10000 )) instructions per round trip"
