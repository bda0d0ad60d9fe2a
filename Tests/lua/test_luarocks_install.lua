-- rockspecs/: `luarocks make` in a checkout installs ratchet.so, the Lua modules (with their
-- LuaCATS definitions), ratchet-lua and ratchet.h into a rocks tree; stock lua5.4 then finds
-- them through `luarocks path`; `luarocks remove ratchet` takes every file away again.
local h = require "helper"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]+$")
assert(root, "cannot find the repository root from this file's path")
local spec = h.sh_ok("ls " .. root .. "/rockspecs/ratchet-*.rockspec")
assert(not spec:find("\n"), "exactly one rockspec expected, found:\n" .. spec)
local tree = h.tmpdir() .. "/rocks-tree"
local rocks = string.format("luarocks --lua-version 5.4 --tree %q", tree)

h.sh_ok(string.format("cd %q && %s make %q", root, rocks, spec))

-- From an unrelated directory, with only what `luarocks path` sets.
local probe = [[
local r = require "ratchet"
assert(r.version and r.socket and r.thread, "native module")
for _, m in ipairs{"ratchet.http.server", "ratchet.http.client", "ratchet.smtp.client",
                   "ratchet.smtp.server", "ratchet.bus", "ratchet.socketpad"} do require(m) end
local so = package.searchpath("ratchet", package.cpath)
print(so)
]]
local probefile = h.tmpname("probe.lua")
local f = assert(io.open(probefile, "w")); f:write(probe); f:close()
local out = h.sh_ok(string.format("cd / && eval \"$(%s path)\" && env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 lua5.4 %q", rocks, probefile))
assert(out:find(tree, 1, true), "ratchet.so came from the rocks tree: " .. out)

-- The runner, the header and the definitions are in the tree too.
h.sh_ok(string.format("%q/bin/ratchet-lua -e 'assert(ratchet.version)'", tree))
local header = h.sh_ok(string.format("find %q -name ratchet.h", tree))
assert(header ~= "", "ratchet.h installed")
local defs = h.sh_ok(string.format("ls %q/share/lua/5.4/ratchet/library", tree))
assert(defs:find("socket.lua", 1, true), "LuaCATS definitions installed: " .. defs)

h.sh_ok(string.format("%s remove ratchet", rocks))
local left = h.sh(string.format("find %q -type f -not -name manifest", tree))
h.eq(left, "", "files left after luarocks remove")
print("ok")
