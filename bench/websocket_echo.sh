#!/usr/bin/env bash
# WebSocket echo messages per second, 64-byte messages over 100 connections (each sends a
# message and waits for its echo), side by side: examples/websocket_echo.lua (ratchet) and
# the same echo with Python's `websockets` (bench/websocket_echo_py.py). Server on core 0,
# the load (bench/websocket_load.lua) on core 1, SECS (5) seconds after a 1 s warm-up, REPS
# (3) runs each, the median kept. A benchmark, not a test: run it on a quiet machine.
#   usage: bench/websocket_echo.sh [ONLY-regex]      (env: SECS, REPS, CONNS, SIZE)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${SECS:-5}"; reps="${REPS:-3}"; conns="${CONNS:-100}"; size="${SIZE:-64}"; only="${1:-.}"
out="$("$here/scripts/build" release 2>/dev/null)"
export LUA_CPATH="$out/lib/?.so;;"
export LUA_PATH="$here/LuaLib/?.lua;$here/LuaLib/?/init.lua;;"
ulimit -n 4096 2>/dev/null || true

servers=(
  "ratchet.websocket|lua5.4 $here/examples/websocket_echo.lua"
  "python websockets $(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)')|/usr/bin/python3 $here/bench/websocket_echo_py.py"
)
port=$((20000 + RANDOM % 20000))
echo "# WebSocket echo, ${size} B messages, ${conns} connections, ${secs}s, median of $reps ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
printf '| server | messages/s | srv µs/message |\n|---|---:|---:|\n'
for entry in "${servers[@]}"; do
    name="${entry%%|*}"; cmd="${entry#*|}"
    [[ "$name" =~ $only ]] || continue
    port=$((port + 1))
    taskset -c 0 $cmd "$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    results=()
    for _ in $(seq "$reps"); do
        t0="$(cpu_ticks "$pid")"
        res="$(taskset -c 1 lua5.4 "$here/bench/websocket_load.lua" "$port" "$conns" "$secs" "$size")"
        t1="$(cpu_ticks "$pid")"
        rate="$(awk '/messages\/s/ {print $1}' <<<"$res")"
        # server CPU over the whole run (warm-up included) per message of the whole run
        total="$(awk '/messages$/ {print $1}' <<<"$res")"
        cpu="$(echo "scale=1; ($t1 - $t0) * 1000000 / $hz / ($total * ($secs + 1) / $secs)" | bc)"
        results+=("$rate $cpu")
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    median="$(printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')"
    printf '| %s | %s | %s |\n' "$name" "${median%% *}" "${median##* }"
done
