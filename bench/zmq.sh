#!/usr/bin/env bash
# ZeroMQ throughput and latency of ratchet.zmqsocket next to raw libzmq (C) in the same run.
# Throughput: PUSH→PULL, N messages of SIZE bytes (default 64), timed at the receiver.
# Latency: REQ/REP round trips. "local" = both ends in one process (two ratchet threads in
# one kernel; two pthreads for C), "2proc" = two processes over TCP loopback.
# Usage: bench/zmq.sh   (env: N=500000 TRIPS=20000 SIZE=64 RUNS=3; the best run is kept)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/scripts/env.sh"
N="${N:-500000}"; TRIPS="${TRIPS:-20000}"; SIZE="${SIZE:-64}"; RUNS="${RUNS:-3}"
out="$("$here/scripts/build" release)"
export LUA_CPATH="$out/lib/?.so;;"
mkdir -p "$here/bench/build" "$here/bench/results"
cc -O2 -o "$here/bench/build/zmq_raw" "$here/bench/zmq_raw.c" -lzmq -lpthread
raw="$here/bench/build/zmq_raw"
lua=(lua5.4 "$here/bench/zmq_bench.lua")

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# one measurement: impl (raw|lua), mode, transport, count → the printed value
measure() {
    local impl="$1" mode="$2" transport="$3" count="$4" cmd
    if [ "$impl" = raw ]; then cmd=("$raw"); else cmd=("${lua[@]}"); fi
    local ep
    case "$transport" in
        inproc) ep="inproc://bench" ;;
        ipc) ep="ipc://${TMPDIR:-/tmp}/ratchet-zmq-bench.$$" ;;
        tcp) ep="tcp://127.0.0.1:$(port)" ;;
    esac
    case "$mode" in
        thr-local|lat-local) timeout 120 "${cmd[@]}" "$mode" "$ep" "$count" "$SIZE" | awk '{print $2}' ;;
        thr-2proc)
            timeout 120 "${cmd[@]}" thr-recv "$ep" "$count" "$SIZE" > "$tmp" & local r=$!
            sleep 0.3; timeout 120 "${cmd[@]}" thr-send "$ep" "$count" "$SIZE"; wait $r
            awk '{print $2}' "$tmp" ;;
        lat-2proc)
            timeout 120 "${cmd[@]}" lat-rep "$ep" "$count" "$SIZE" & local r=$!
            sleep 0.3; timeout 120 "${cmd[@]}" lat-req "$ep" "$count" "$SIZE" | awk '{print $2}'; wait $r ;;
    esac
}

best() { # impl mode transport count higher_is_better → best of RUNS
    local v b=""
    for _ in $(seq "$RUNS"); do
        v="$(measure "$1" "$2" "$3" "$4")"
        if [ -z "$b" ] || { [ "$5" = 1 ] && awk "BEGIN{exit !($v > $b)}"; } || { [ "$5" = 0 ] && awk "BEGIN{exit !($v < $b)}"; }; then b="$v"; fi
    done
    echo "$b"
}

tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
stamp="$(date +%Y%m%d-%H%M%S)"
report="$here/bench/results/zmq-$stamp.md"
{
    echo "# ZeroMQ: ratchet.zmqsocket vs raw libzmq ($(date -u +%F), $(nproc) cores, SIZE=$SIZE B, best of $RUNS)"
    echo
    echo "| workload | transport | raw libzmq (C) | ratchet (Lua) | ratchet / raw |"
    echo "|---|---|---|---|---|"
    for w in "thr-local inproc" "thr-local tcp" "thr-2proc tcp" "thr-2proc ipc"; do
        set -- $w
        r="$(best raw "$1" "$2" "$N" 1)"; l="$(best lua "$1" "$2" "$N" 1)"
        echo "| throughput $1 ($N msgs) | $2 | $r msgs/s | $l msgs/s | $(awk "BEGIN{printf \"%.0f%%\", 100*$l/$r}") |"
    done
    for w in "lat-local inproc" "lat-local tcp" "lat-2proc tcp"; do
        set -- $w
        r="$(best raw "$1" "$2" "$TRIPS" 0)"; l="$(best lua "$1" "$2" "$TRIPS" 0)"
        echo "| latency $1 ($TRIPS round trips) | $2 | $r µs | $l µs | $(awk "BEGIN{printf \"%.2fx\", $l/$r}") |"
    done
} | tee "$report"
echo "saved $report"
