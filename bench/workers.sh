#!/usr/bin/env bash
# HTTP/1.1 hello world under `ratchet-lua -w 1` and `-w 2` (bench/workers_hello.lua), with
# wrk on the same machine: req/s, server CPU per request (supervisor and workers, from
# /proc), and the requests each worker served. wrk -t1 -cCONNS (100) for SECS (10) seconds
# after a 1 s warm-up, REPS (3) runs each, the best kept; with keep-alive connections, then
# with a new connection per request (wrk -H "Connection: close"), which shows how the shared
# accept queue balances. Nothing is pinned: workers and wrk share the cores, as they would
# on a real 2-core box. A benchmark, not a test.
#   usage: bench/workers.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${SECS:-10}"; reps="${REPS:-3}"; conns="${CONNS:-100}"
out="$("$here/scripts/build" release 2>/dev/null)"
export LUA_PATH="$here/LuaLib/?.lua;;"
ulimit -n 4096 2>/dev/null || true
hz="$(getconf CLK_TCK)"
# CPU ticks of a process and its live children
cpu_ticks() {
    local sum=0 p
    for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        sum=$((sum + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0)))
    done
    echo "$sum"
}
echo "# HTTP hello world, wrk -t1 -c$conns -d${secs}s, best of $reps, $(nproc) cores shared with wrk ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| connections | workers | req/s | server CPU µs/req | requests per worker |\n|---|---|---:|---:|---|\n'
for mode in keep-alive close; do
hdr=(); [ "$mode" = close ] && hdr=(-H "Connection: close")
for n in 1 2; do
    bestrps=0; bestline=""
    for _ in $(seq "$reps"); do
        port=$((20000 + RANDOM % 20000))
        err="$(mktemp)"
        "$out/bin/ratchet-lua" -w "$n" "$here/bench/workers_hello.lua" "$port" 2>"$err" &
        pid=$!
        for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
        wrk -t1 -c"$conns" -d1s "${hdr[@]}" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
        t0="$(cpu_ticks "$pid")"
        res="$(wrk -t1 -c"$conns" -d"${secs}s" "${hdr[@]}" "http://127.0.0.1:$port/" 2>&1)"
        t1="$(cpu_ticks "$pid")"
        kill -TERM "$pid"; wait "$pid" || true
        rps="$(awk '/Requests\/sec/ {print int($2)}' <<<"$res")"
        reqs="$(awk '/requests in/ {print $1}' <<<"$res")"
        split="$(grep -o 'worker [0-9]* served [0-9]*' "$err" | sort | awk '{printf "%s%s: %s", sep, $2, $4; sep=", "}')"
        rm -f "$err"
        if [ "${rps:-0}" -gt "$bestrps" ]; then
            bestrps="$rps"
            cpu="$(echo "scale=1; ($t1 - $t0) * 1000000 / $hz / $reqs" | bc)"
            bestline="| $mode | $n | $rps | $cpu | $split |"
        fi
    done
    echo "$bestline"
done
done
echo
echo "Requests per worker include the warm-up."
