-- scripts/install lays out ratchet.so, the Lua modules and the runner under a prefix;
-- installing twice (over an older install) works, and stock lua5.4 loads the result.
local h = require "helper"
local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/")
assert(root, "cannot find the checkout")
local prefix = h.tmpname("prefix")

for round = 1, 2 do
    local out, ok = h.sh(string.format("%s/scripts/install --prefix %s", root, prefix))
    assert(ok, "install round " .. round .. " failed:\n" .. out)
end
-- A file left by an "older" install under share/ is gone after reinstalling.
local stale = prefix .. "/share/lua/5.4/ratchet/stale_module.lua"
assert(io.open(stale, "w")):close()
assert(h.sh(string.format("%s/scripts/install --prefix %s", root, prefix)) and not io.open(stale), "stale file kept")

for _, path in ipairs{"/lib/lua/5.4/ratchet.so", "/share/lua/5.4/ratchet/socketpad.lua",
                      "/share/lua/5.4/ratchet/http/server.lua", "/share/lua/5.4/ratchet/smtp/server.lua",
                      "/bin/ratchet-lua"} do
    assert(io.open(prefix .. path), "missing " .. path)
end
assert(not io.open(prefix .. "/share/lua/5.4/ratchet/init.lua"), "there must be no ratchet/init.lua")

local env = string.format("env LUA_CPATH='%s/lib/lua/5.4/?.so' LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua'",
    prefix, prefix, prefix)
local out, ok = h.sh(env .. [[ lua5.4 -e "local r = require 'ratchet'; require 'ratchet.http.server'; require 'ratchet.smtp.client'; print(r.version, ratchet == r)"]])
assert(ok and out:match("^%d+%.%d+%.%d+\ttrue$"), "stock lua5.4 with the install: " .. out)
-- The installed runner finds the installed Lua modules by itself.
out, ok = h.sh(string.format("env -u LUA_PATH -u LUA_CPATH %s/bin/ratchet-lua -e \"print(require('ratchet.socketpad') ~= nil)\"", prefix))
assert(ok and out == "true", "installed runner: " .. out)
-- The module does not depend on the Swift toolchain at run time.
out = h.sh("ldd " .. prefix .. "/lib/lua/5.4/ratchet.so")
assert(not out:find("libswiftCore"), "ratchet.so links the Swift runtime dynamically:\n" .. out)
os.execute("rm -rf " .. prefix)
