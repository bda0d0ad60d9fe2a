# Sourced by bench/http_compare.sh and bench/http_cpu.sh (with `here` set to the checkout):
# the environment the HTTP/1.1 peers run in, and `servers`, their "name|command PORT-less"
# list, EXTRA_SERVERS="name|command;…" appended.
shared="${RATCHET_SHARED_BENCH:-$here/../shared/bench}"
out="$("$here/scripts/build" release 2>/dev/null)"
export LUA_CPATH="$out/lib/?.so;;"
# lua-http and its pure-Lua dependencies are packaged for Lua 5.1-5.3 only; they run on 5.4.
export LUA_PATH="$here/LuaLib/?.lua;$here/LuaLib/?/init.lua;;/usr/share/lua/5.3/?.lua;/usr/share/lua/5.3/?/init.lua;/usr/share/lua/5.2/?.lua;/usr/share/lua/5.2/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
ulimit -n 4096 2>/dev/null || true
servers=(
  "ratchet-http|lua5.4 $here/bench/http_server.lua"
  "ratchet-raw|lua5.4 $here/bench/http_raw.lua"
  "lua-http|lua5.4 $shared/servers/http_luahttp.lua"
  "cqueues-hand|lua5.4 $shared/servers/http_cqueues.lua"
  "nginx-lua|$here/bench/nginx_lua.sh"
)
IFS=';' read -r -a extra <<<"${EXTRA_SERVERS:-}"
for e in "${extra[@]}"; do [ -n "$e" ] && servers+=("$e"); done
