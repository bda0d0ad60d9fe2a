#!/usr/bin/env bash
# ZeroMQ throughput and latency of ratchet.zmqsocket next to raw libzmq in the same run:
# C (zmq_raw.c) and pyzmq (zmq_py.py, libzmq from another dynamic language). Not a test: run it by hand on a quiet machine.
# Throughput: PUSH→PULL, N messages of SIZE bytes, timed at the receiver from its first
# message. Latency: REQ/REP round trips. "local": both ends in one process and one OS
# thread (two ratchet threads in one kernel; C and Python drive both sockets from one
# thread the same way: send until the high-water mark, receive until empty); the column
# "C, 2 OS threads" is libzmq's perf-tool layout, one OS thread per end. "2proc": two
# processes. Every implementation uses the same N, SIZE, high-water marks (the defaults)
# and LINGER. "Lua floor" (throughput rows): the same Lua loops on bench/floor/zmq_floor.c,
# a binding that is nothing but blocking libzmq calls and one Lua string per receive: what
# the Lua call and the string cost before any library does anything (bench/zmq_instructions.sh
# counts it in instructions, which a noisy machine does not blur).
# Usage: bench/zmq.sh   (env: N=500000 TRIPS=20000 SIZE=64 RUNS=3; the best run is kept;
#        BEFORE=dir with an older ratchet.so adds its column, measured in the same run)
set -uo pipefail
. "$(dirname "$0")/zmq_setup.sh"
N="${N:-500000}"; TRIPS="${TRIPS:-20000}"; SIZE="${SIZE:-64}"; RUNS="${RUNS:-3}"
mkdir -p "$here/bench/results"

# one measurement: impl (c|cmt: C with 2 OS threads|py|lua|before), mode, transport, count → the printed value (or nothing)
measure() {
    local impl="$1" mode="$2" transport="$3" count="$4" cmd ep r
    case "$impl" in
        c|cmt) cmd=("$here/bench/build/zmq_raw") ;;
        py) cmd=(python3 "$here/bench/zmq_py.py") ;;
        lua) cmd=(env "LUA_CPATH=$out/lib/?.so;;" lua5.4 "$here/bench/zmq_bench.lua") ;;
        before) cmd=(env "LUA_CPATH=$BEFORE/?.so;;" lua5.4 "$here/bench/zmq_bench.lua") ;;
        floor) cmd=(env "LUA_CPATH=$here/bench/build/?.so;;" lua5.4 "$here/bench/floor/zmq_floor.lua") ;;
    esac
    [ "$impl" = cmt ] && mode="$mode-mt"
    case "$transport" in
        inproc) ep="inproc://bench" ;;
        ipc) ep="ipc://${TMPDIR:-/tmp}/ratchet-zmq-bench.$$.$RANDOM" ;;
        tcp) ep="tcp://127.0.0.1:$(port)" ;;
    esac
    case "$mode" in
        thr-local*|lat-local*) timeout 120 "${cmd[@]}" "$mode" "$ep" "$count" "$SIZE" | awk '{print $2}' ;;
        thr-2proc)
            timeout 120 "${cmd[@]}" thr-recv "$ep" "$count" "$SIZE" > "$tmp" & r=$!
            sleep 0.5; timeout 120 "${cmd[@]}" thr-send "$ep" "$count" "$SIZE"; wait $r
            awk '{print $2}' "$tmp" ;;
        lat-2proc)
            timeout 120 "${cmd[@]}" lat-rep "$ep" "$count" "$SIZE" & r=$!
            sleep 0.5; timeout 120 "${cmd[@]}" lat-req "$ep" "$count" "$SIZE" | awk '{print $2}'; wait $r ;;
    esac
}

best() { # impl mode transport count higher_is_better → best of RUNS ("n/a" if none worked)
    local v b=""
    for _ in $(seq "$RUNS"); do
        v="$(measure "$1" "$2" "$3" "$4")"
        [ -z "$v" ] && continue
        if [ -z "$b" ] || awk -v v="$v" -v b="$b" -v hi="$5" 'BEGIN{exit !(hi ? v > b : v < b)}'; then b="$v"; fi
    done
    echo "${b:-n/a}"
}

ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN{ if (a == "n/a" || b == "n/a") print "n/a"; else printf f, a / b }'; }

tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
report="$here/bench/results/zmq-$(date +%Y%m%d-%H%M%S).md"
{
    echo "# ZeroMQ: ratchet.zmqsocket vs raw libzmq ($(date -u +%F), $(nproc) cores, $(pkg-config --modversion libzmq) , SIZE=$SIZE B, best of $RUNS)"
    echo
    head="| workload | transport | C libzmq | C, 2 OS threads | pyzmq | Lua floor | ratchet | ratchet / C | ratchet / Lua floor |"
    rule="|---|---|---|---|---|---|---|---|---|"
    [ -n "${BEFORE:-}" ] && head="$head ratchet before | before / C |" && rule="$rule---|---|"
    echo "$head"; echo "$rule"
    # kind mode transport count higher_is_better
    row() {
        local c cm p f l b line
        c="$(best c "$2" "$3" "$4" "$5")"; p="$(best py "$2" "$3" "$4" "$5")"; l="$(best lua "$2" "$3" "$4" "$5")"
        case "$2" in *local) cm="$(best cmt "$2" "$3" "$4" "$5")" ;; *) cm="n/a" ;; esac
        case "$2" in thr-*) f="$(best floor "$2" "$3" "$4" "$5")" ;; *) f="n/a" ;; esac
        line="| $1, $2, $4 | $3 | $c | $cm | $p | $f | $l | $(ratio "$l" "$c" "%.2f") | $(ratio "$l" "$f" "%.2f") |"
        if [ -n "${BEFORE:-}" ]; then
            b="$(best before "$2" "$3" "$4" "$5")"
            line="$line $b | $(ratio "$b" "$c" "%.2f") |"
        fi
        echo "$line"
    }
    for w in "thr-local inproc" "thr-local tcp" "thr-2proc tcp" "thr-2proc ipc"; do
        set -- $w; row "msgs/s" "$1" "$2" "$N" 1
    done
    for w in "lat-local inproc" "lat-local tcp" "lat-2proc tcp"; do
        set -- $w; row "µs per round trip" "$1" "$2" "$TRIPS" 0
    done
} | tee "$report"
echo "saved $report"
