#!/usr/bin/env bash
# Instructions per 64-byte PUSH→PULL message over tcp between two processes, counted by
# callgrind in the measured process (all its threads: the application thread and libzmq's
# I/O thread), for each end: raw libzmq (zmq_raw.c), the Lua floor (bench/floor/zmq_floor.c:
# blocking libzmq calls, one Lua string per receive, nothing else) and ratchet.zmqsocket.
# Per message = (count at 300,000 messages - count at 100,000) / 200,000, so start-up
# cancels out. Stable where wall-clock throughput is not. Not a test. Takes ~3 minutes.
# Usage: bench/zmq_instructions.sh   (env: IMPLS="c floor ratchet")
set -uo pipefail
. "$(dirname "$0")/zmq_setup.sh"
export LUA_CPATH="$here/bench/build/?.so;$out/lib/?.so;;"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

command_of() {
    case "$1" in
        c) echo "$here/bench/build/zmq_raw" ;;
        floor) echo "lua5.4 $here/bench/floor/zmq_floor.lua" ;;
        ratchet) echo "lua5.4 $here/bench/zmq_bench.lua" ;;
    esac
}

count() { # impl side(recv|send) n → instructions of the measured process
    local cmd ep r f
    cmd="$(command_of "$1")"; ep="tcp://127.0.0.1:$(port)"; f="$tmp/$1.$2.$3"
    if [ "$2" = recv ]; then
        valgrind --tool=callgrind --callgrind-out-file="$f.%p" $cmd thr-recv "$ep" "$3" 64 >/dev/null 2>&1 & r=$!
        sleep 2; $cmd thr-send "$ep" "$3" 64; wait $r
    else
        $cmd thr-recv "$ep" "$3" 64 >/dev/null & r=$!
        sleep 0.5; valgrind --tool=callgrind --callgrind-out-file="$f.%p" $cmd thr-send "$ep" "$3" 64 >/dev/null 2>&1
        wait $r
    fi
    cat "$f".* | awk '/^totals:/ {s += $2} END {print s + 0}'
}

impls="${IMPLS:-c floor ratchet}"
echo "Instructions per message (callgrind; both threads of the measured process)"
echo
echo "| end |$(for i in $impls; do printf ' %s |' "$i"; done)"
echo "|---|$(for _ in $impls; do printf -- '---:|'; done)"
for side in recv send; do
    line="| $side |"
    for impl in $impls; do
        a="$(count "$impl" "$side" 100000)"; b="$(count "$impl" "$side" 300000)"
        line="$line $(( (b - a) / 200000 )) |"
    done
    echo "$line"
done
