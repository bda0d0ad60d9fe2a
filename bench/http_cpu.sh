#!/usr/bin/env bash
# Server CPU per HTTP/1.1 request, interleaved: every server runs at once (pinned to core 0,
# idle while another is measured), and each round gives each of them SECS (5) seconds of
# wrk -t1 -c100 (core 1) in turn, so slow drifts of a shared machine fall on all of them
# alike. Per round and server: requests per second and the user and system CPU time of the
# server process per request (/proc/PID/stat); then the medians over ROUNDS (5) rounds and
# each server's total against nginx + Lua, also as the median of each round's own ratio
# (paired: the machine's speed drifts between rounds by more than the servers differ, and
# within a round it moves both alike). CPU per request is the measure: at ~100,000 requests
# per second one wrk thread on one core is the limit, so requests per second of the faster
# servers say more about wrk than about them. A benchmark, not a test.
# usage: bench/http_cpu.sh [ONLY-regex, default ratchet-http|ratchet-raw|nginx-lua; also lua-http,
# cqueues-hand]   (env: SECS, ROUNDS, WRK_ARGS, EXTRA_SERVERS as in
# bench/http_compare.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${SECS:-5}"; rounds="${ROUNDS:-5}"; only="${1:-ratchet-http|ratchet-raw|nginx-lua}"; wrk_args="${WRK_ARGS:-}"
. "$here/bench/http_servers.sh"
tmp="$(mktemp -d)"
names=(); ports=(); pids=(); wrappers=()
cleanup() { for p in "${wrappers[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; cat "$tmp"/*.log >&2 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
for entry in "${servers[@]}"; do
    name="${entry%%|*}"; cmd="${entry#*|}"
    [[ "$name" =~ $only ]] || continue
    port=$((port + 1))
    taskset -c 0 $cmd "$port" >/dev/null 2>"$tmp/$name.log" &
    wrappers+=($!)
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    kill -0 "${wrappers[-1]}" 2>/dev/null || { echo "$name did not start (port $port taken?)" >&2; exit 1; }
    # the process that serves (nginx_lua.sh execs nginx; lua5.4 is the wrapper itself)
    pid="$(pgrep -n -f -- "-p ${TMPDIR:-/tmp}/ratchet-bench-nginx.$port" 2>/dev/null || true)"
    [ -n "$pid" ] || pid="${wrappers[-1]}"
    names+=("$name"); ports+=("$port"); pids+=("$pid")
    taskset -c 1 wrk -t1 -c100 -d1s $wrk_args "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
done
hz="$(getconf CLK_TCK)"
echo "# HTTP/1.1 server CPU per request, wrk -t1 -c100 -d${secs}s $wrk_args, $rounds interleaved rounds ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| round | server | req/s | user µs/req | system µs/req | total µs/req |\n|---:|---|---:|---:|---:|---:|\n'
for r in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        read -r u0 s0 < <(awk '{print $14, $15}' "/proc/${pids[$i]}/stat")
        res="$(taskset -c 1 wrk -t1 -c100 -d"${secs}s" $wrk_args "http://127.0.0.1:${ports[$i]}/" 2>&1)"
        read -r u1 s1 < <(awk '{print $14, $15}' "/proc/${pids[$i]}/stat")
        reqs="$(awk '/requests in/ {print $1}' <<<"$res")"
        rps="$(awk '/Requests\/sec/ {print int($2)}' <<<"$res")"
        user="$(echo "scale=2; ($u1 - $u0) * 1000000 / $hz / $reqs" | bc)"
        sys="$(echo "scale=2; ($s1 - $s0) * 1000000 / $hz / $reqs" | bc)"
        total="$(echo "scale=2; $user + $sys" | bc)"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$r" "${names[$i]}" "$rps" "$user" "$sys" "$total"
        echo "${names[$i]} $rps $user $sys $total $r" >>"$tmp/rows"
    done
done
echo
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ref="$(awk '$1=="nginx-lua" {print $5}' "$tmp/rows" | median)"
printf '| server (median of %s) | req/s | user µs/req | system µs/req | total µs/req | nginx + Lua total ÷ this | the same, paired by round (range) |\n|---|---:|---:|---:|---:|---:|---:|\n' "$rounds"
for n in "${names[@]}"; do
    # each round's nginx total over this server's: the machine's drift between rounds cancels
    paired="$(awk -v n="$n" '$1=="nginx-lua" {ref[$6]=$5} $1==n {mine[$6]=$5} END {for (r in mine) if (ref[r] > 0) printf "%.3f\n", ref[r] / mine[r]}' "$tmp/rows" | sort -n)"
    pmed="-"
    if [ -n "$paired" ]; then
        pmed="$(median <<<"$paired")× ($(head -1 <<<"$paired")–$(tail -1 <<<"$paired"))"
    fi
    rps="$(printf '%.0f' "$(awk -v n="$n" '$1==n {print $2}' "$tmp/rows" | median)")"
    user="$(awk -v n="$n" '$1==n {print $3}' "$tmp/rows" | median)"
    sys="$(awk -v n="$n" '$1==n {print $4}' "$tmp/rows" | median)"
    total="$(awk -v n="$n" '$1==n {print $5}' "$tmp/rows" | median)"
    ratio="-"
    [ -n "$ref" ] && [ "$ref" != "0" ] && ratio="$(echo "scale=2; $ref / $total" | bc)×"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$rps" "$user" "$sys" "$total" "$ratio" "$pmed"
done
