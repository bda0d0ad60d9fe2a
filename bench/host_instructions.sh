#!/usr/bin/env bash
# Instructions per call of a host function from Lua (RatchetHost), counted by callgrind:
# `f(s, 1)` in a Lua loop with f a Lua function, a C function (unchecked lua_tointegerx, and
# luaL_checkinteger), a Swift function in the [LuaValue] form and one in the direct form;
# and an async Swift function's round trip (task, eventfd wake-up, resume). Each at two
# counts, the difference divided by the difference of counts, so start-up cancels out.
# usage: bench/host_instructions.sh [kind...]   (default: lua c c-checked swift direct async)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here/examples/swift-host"
swift build -c release --product host-bench >&2
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# valgrind 3.19 gives up on this binary's DWARF 5 debug info; the symbol table is enough.
cp "$(swift build -c release --show-bin-path)/host-bench" "$tmp/host-bench"
strip --strip-debug "$tmp/host-bench"
count() {  # kind n -> instructions of the whole run
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1.$2" "$tmp/host-bench" instr "$1" "$2" >/dev/null 2>"$tmp/log"
    grep -m1 '^summary:' "$tmp/cg.$1.$2" | awk '{print $2}'
}
for kind in "${@:-lua c c-checked swift direct async}"; do
    for k in $kind; do
        if [ "$k" = async ]; then lo=2000; hi=12000; else lo=20000; hi=120000; fi
        a=$(count "$k" $lo); b=$(count "$k" $hi)
        echo "$k: $(( (b - a) / (hi - lo) )) instructions per call"
    done
done
