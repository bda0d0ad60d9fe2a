#!/usr/bin/env bash
# HTTP/2 "hello world" with h2load (nghttp2's load generator): ratchet.http.server
# (bench/http_server.lua, h2c by prior knowledge on its HTTP/1.1 port) against nghttpd (the
# nghttp2 C reference, serving the same 14-byte file), with 100 connections and 10 or 1
# concurrent streams each, and ratchet's HTTP/1.1 at 100 connections (h2load --h1) for
# comparison. Server on core 0, h2load -t1 on core 1, SECS (5) seconds after a 1 s warm-up;
# req/s and server CPU µs per request. A benchmark, not a test: run it on a quiet machine.
# usage: bench/h2_compare.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${SECS:-5}"
out="$("$here/scripts/build" release 2>/dev/null)"
export LUA_CPATH="$out/lib/?.so;;"
export LUA_PATH="$here/LuaLib/?.lua;$here/LuaLib/?/init.lua;;"
ulimit -n 4096 2>/dev/null || true
www="$(mktemp -d)"; trap 'rm -rf "$www"' EXIT
printf 'Hello, World!\n' > "$www/index.html"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
port=$((20000 + RANDOM % 20000))
echo "# HTTP/2 hello world, h2load -t1 -D${secs} ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| server | load | req/s | srv µs/req |\n|---|---|---:|---:|\n'
run() {   # name, server command (gets the port), h2load options
    local name="$1" cmd="$2" opts="$3"
    port=$((port + 1))
    taskset -c 0 $cmd "$port" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    taskset -c 1 h2load -t1 $opts -D1 "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    local t0 t1 res rps reqs
    t0="$(cpu_ticks "$pid")"
    res="$(taskset -c 1 h2load -t1 $opts -D"$secs" "http://127.0.0.1:$port/" 2>&1)"
    t1="$(cpu_ticks "$pid")"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    rps="$(awk '/^finished in/ {gsub(/,/, ""); print int($4)}' <<<"$res")"
    reqs="$(awk '/^requests:/ {print $8}' <<<"$res")"
    printf '| %s | `%s` | %s | %s |\n' "$name" "$opts" "${rps:-0}" \
        "$( [ "${reqs:-0}" -gt 0 ] && echo "scale=1; ($t1 - $t0) * 1000000 / $hz / $reqs" | bc || echo -)"
}
run "ratchet.http.server" "lua5.4 $here/bench/http_server.lua" "-c100 -m10"
run "nghttpd (C)" "nghttpd --no-tls -d $www" "-c100 -m10"
run "ratchet.http.server" "lua5.4 $here/bench/http_server.lua" "-c100 -m1"
run "nghttpd (C)" "nghttpd --no-tls -d $www" "-c100 -m1"
run "ratchet.http.server, HTTP/1.1" "lua5.4 $here/bench/http_server.lua" "--h1 -c100 -m1"
