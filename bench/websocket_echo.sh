#!/usr/bin/env bash
# WebSocket echo messages per second: 64-byte messages over 100 connections, ratchet against
# Python's `websockets` and nginx + Lua, and with permessage-deflate (bench/websocket_compare.lua
# runs them). A benchmark, not a test.
#   usage: bench/websocket_echo.sh [ONLY-pattern]      (env: SECS=5, REPS=3, CONNS=100, SIZE=64)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$("$here/scripts/build" release 2>/dev/null)"
export LUA_CPATH="$out/lib/?.so;;" LUA_PATH="$here/LuaLib/?.lua;$here/LuaLib/?/init.lua;;"
ulimit -n 4096 2>/dev/null || true
exec lua5.4 "$here/bench/websocket_compare.lua" "$here" "${1:-.}"
