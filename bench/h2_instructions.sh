#!/usr/bin/env bash
# Instructions per HTTP/2 request of the ratchet server (bench/http_server.lua, h2c by prior
# knowledge) and of nghttpd, under callgrind: steadier than CPU time on a busy machine. After
# a warm-up of 2000 requests the counters are zeroed, then h2load sends N (20000) more with
# H2LOAD_OPTS (-c100 -m10); the server's user-space instructions divided by N.
# usage: bench/h2_instructions.sh   (RATCHET_ROOT=/other/checkout measures that one's LuaLib
#        and build instead, e.g. an older commit)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="${RATCHET_ROOT:-$here}"
n="${N:-20000}"
opts="${H2LOAD_OPTS:--c100 -m10}"
if [ -z "${RATCHET_ROOT:-}" ]; then out="$("$here/scripts/build" release 2>/dev/null)"; else out="$root/out/release"; fi
export LUA_CPATH="$out/lib/?.so;;"
export LUA_PATH="$root/LuaLib/?.lua;$root/LuaLib/?/init.lua;;"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
printf 'Hello, World!\n' > "$tmp/index.html"

measure() {   # name, server command (gets the port)
    local port=$((20000 + RANDOM % 20000))
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" $2 "$port" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    h2load -t1 $opts -n 2000 "http://127.0.0.1:$port/" >/dev/null 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    h2load -t1 $opts -n "$n" "http://127.0.0.1:$port/" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local total
    total="$(callgrind_annotate "$(ls "$tmp"/cg.*.1)" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(/,/, "", $1); print $1}')"
    rm -f "$tmp"/cg.*
    printf '| %s | `%s` | %d |\n' "$1" "$opts" $((total / n))
}
printf '| server | h2load | instructions per request |\n|---|---|---:|\n'
measure "ratchet.http.server ($root)" "lua5.4 $here/bench/http_server.lua"
[ -n "${RATCHET_ROOT:-}" ] || measure "nghttpd (C)" "nghttpd --no-tls -d $tmp"
