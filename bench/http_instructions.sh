#!/usr/bin/env bash
# User-space instructions per HTTP/1.1 request of the server process, counted by callgrind,
# for ratchet.http.server (bench/http_server.lua) and nginx + lua-nginx-module
# (bench/nginx_lua.sh): the server runs under callgrind, wrk -t1 -c100 warms it up for 2 s,
# the counters are zeroed (callgrind_control -z), wrk runs SECS (10) seconds, the counters
# are dumped; per request = the dump's total / the requests wrk completed. Stable on a busy
# machine where wall-clock throughput is not; syscalls are not counted (strace -c shows
# both servers making one recv and one send per request). A benchmark, not a test.
# usage: bench/http_instructions.sh [ONLY-regex]   (env: SECS, WRK_ARGS as in http_compare.sh;
# EXTRA_SERVERS="name|command;…" adds servers, GRIND in a command standing for the valgrind
# command, e.g. "before|env LUA_PATH=/old/LuaLib/?.lua LUA_CPATH=/old/lib/?.so GRIND lua5.4 bench/http_server.lua")
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${SECS:-10}"; only="${1:-.}"; wrk_args="${WRK_ARGS:-}"
out="$("$here/scripts/build" release 2>/dev/null)"
export LUA_CPATH="$out/lib/?.so;;" LUA_PATH="$here/LuaLib/?.lua;$here/LuaLib/?/init.lua;;"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
grind="valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.%p"
export NGINX_WRAP="$grind"   # bench/nginx_lua.sh runs nginx under it
servers=(
  "ratchet-http|$grind lua5.4 $here/bench/http_server.lua"
  "nginx-lua|$here/bench/nginx_lua.sh"
)
IFS=';' read -r -a extra <<<"${EXTRA_SERVERS:-}"
for e in "${extra[@]}"; do [ -n "$e" ] && servers+=("${e//GRIND/$grind}"); done
port=$((20000 + RANDOM % 20000))
echo "# Instructions per request, wrk -t1 -c100 -d${secs}s $wrk_args under callgrind ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| server | requests | instructions/request |\n|---|---:|---:|\n'
for entry in "${servers[@]}"; do
    name="${entry%%|*}"; cmd="${entry#*|}"
    [[ "$name" =~ $only ]] || continue
    port=$((port + 1)); rm -f "$tmp"/cg.*
    taskset -c 0 $cmd "$port" >/dev/null 2>"$tmp/$name.log" &
    pid=$!
    for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    vg="$(pgrep -n -f "cg.%p .*$port" || true)"   # the valgrind'ed server (under env/exec)
    taskset -c 1 wrk -t1 -c100 -d2s $wrk_args "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    sleep 1
    callgrind_control -z "$vg" >/dev/null 2>&1
    res="$(taskset -c 1 wrk -t1 -c100 -d"${secs}s" $wrk_args "http://127.0.0.1:$port/" 2>&1)"
    sleep 1   # the requests still in flight are served (and counted) too: at most 100
    callgrind_control -d "$vg" >/dev/null 2>&1
    reqs="$(awk '/requests in/ {print $1}' <<<"$res")"
    total="$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp"/cg.*.1)"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    printf '| %s | %s | %s |\n' "$name" "$reqs" "$(( ${total:-0} / ${reqs:-1} ))"
done
