#!/usr/bin/env bash
# Requests per second of HTTP/1.1 "hello world" servers at 100 keep-alive connections,
# side by side: ratchet.http.server, a raw ratchet responder, lua-http, a hand-written
# cqueues responder and nginx + lua-nginx-module (bench/nginx_lua.sh, one process). Server on core 0, wrk -t1 -c100 on core 1, SECS (5) seconds each after
# a 1 s warm-up, REPS (1) runs each, the best kept. A benchmark, not a test: run it on a quiet
# machine.   usage: bench/http_compare.sh [ONLY-regex]
# WRK_ARGS adds wrk options (a script: -s bench/wrk/post_64k.lua), CONNS (100) the connections;
# EXTRA_SERVERS="name|command;…" adds servers (e.g. an older checkout's http_server.lua).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${SECS:-5}"; reps="${REPS:-1}"; only="${1:-.}"
. "$here/bench/http_servers.sh"
conns="${CONNS:-100}"; wrk_args="${WRK_ARGS:-}"
port=$((20000 + RANDOM % 20000))
echo "# HTTP/1.1, wrk -t1 -c$conns -d${secs}s $wrk_args, best of $reps ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
printf '| server | req/s | p50 | p99 | srv µs/req | errors |\n|---|---:|---:|---:|---:|---:|\n'
for entry in "${servers[@]}"; do
    name="${entry%%|*}"; cmd="${entry#*|}"
    [[ "$name" =~ $only ]] || continue
    port=$((port + 1))
    taskset -c 0 $cmd "$port" >/dev/null 2>"${TMPDIR:-/tmp}/http_compare.$name.log" &
    pid=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    taskset -c 1 wrk -t1 -c100 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    best=""; bestrps=0; bestcpu="-"
    for _ in $(seq "$reps"); do
        t0="$(cpu_ticks "$pid")"
        res="$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency $wrk_args "http://127.0.0.1:$port/" 2>&1)"
        t1="$(cpu_ticks "$pid")"
        rps="$(awk '/Requests\/sec/ {print int($2)}' <<<"$res")"
        reqs="$(awk '/requests in/ {print $1}' <<<"$res")"
        if [ "${rps:-0}" -gt "$bestrps" ]; then
            bestrps="$rps"; best="$res"
            bestcpu="$(echo "scale=1; ($t1 - $t0) * 1000000 / $hz / $reqs" | bc)"
        fi
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    p50="$(awk '$1=="50%" {print $2}' <<<"$best")"
    p99="$(awk '$1=="99%" {print $2}' <<<"$best")"
    errs="$(awk '/Socket errors/ {gsub(/,/,""); print $4+$6+$8+$10} /Non-2xx/ {print $5}' <<<"$best" | paste -sd+ | bc 2>/dev/null || true)"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$bestrps" "${p50:--}" "${p99:--}" "$bestcpu" "${errs:-0}"
done
