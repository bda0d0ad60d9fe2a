-- LuaRocks: `luarocks make rockspecs/ratchet-1.0.0-1.rockspec` in a checkout builds with the
-- Swift toolchain (scripts/build) and installs ratchet.so, the bundled Lua modules (with
-- their LuaCATS definitions in ratchet/library/), ratchet-lua and ratchet.h into the rocks
-- tree; `luarocks remove ratchet` removes them. Needs Debian's libevent, libzmq, OpenSSL and
-- Lua 5.4 headers (scripts/setup installs them) and Swift 6 on PATH or in /opt/swift.
rockspec_format = "3.0"
package = "ratchet"
version = "1.0.0-1"
source = {
   url = "git+file:///dev/null",   -- build from a checkout: luarocks make
}
description = {
   summary = "Coroutine networking for Lua 5.4 on libevent: sockets, DNS, TLS, ZeroMQ, HTTP, SMTP",
   detailed = [[
Every blocking call (socket, DNS, TLS, ZeroMQ, timer, child process) suspends only the
calling coroutine; a Swift kernel on libevent resumes it when its event arrives. Re-creates
the ratchet 0.8 API (and runs the slimta MTA's Lua code) and adds HTTP, SMTP, a message
bus and buffered reads.]],
   labels = { "networking", "coroutines", "libevent", "smtp", "http", "zeromq" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "command",
   build_command = "scripts/build release >/dev/null",
   install_command = "scripts/install --no-setup --libdir '$(LIBDIR)' --luadir '$(LUADIR)' --bindir '$(BINDIR)' --incdir '$(PREFIX)/include'",
   copy_directories = { "docs" },
}
