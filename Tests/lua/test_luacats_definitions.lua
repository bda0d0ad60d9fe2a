-- library/ (the LuaCATS definitions for lua-language-server) matches the modules as they
-- load and the docs, checked by scripts/check-luacats.lua; and the checker does catch a
-- missing annotation, an unknown type, a stray @param and an undocumented function.
local h = require "helper"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]+$")
assert(root, "cannot find the repository root from this file's path")
local checker = root .. "/scripts/check-luacats.lua"

local function check(libdir)
    return h.sh(string.format("lua5.4 %q --root %q --library %q", checker, root, libdir))
end

local out, ok = check(root .. "/library")
assert(ok, "the definitions have problems:\n" .. out)
assert(out:match("luacats: %d+ files, %d+ functions ok"), out)

-- A broken copy must be reported, each defect by name.
local copy = h.tmpdir() .. "/library-broken"
h.sh_ok(string.format("rm -rf %q && cp -R %q %q", copy, root .. "/library", copy))
local function edit(file, from, to)
    local path = copy .. "/" .. file
    local f = assert(io.open(path)); local s = f:read("a"); f:close()
    local changed, n = s:gsub(from, to, 1)
    assert(n == 1, "test setup: pattern not found in " .. file .. ": " .. from)
    f = assert(io.open(path, "w")); f:write(changed); f:close()
end
edit("thread.lua", "function thread%.yield%(%) end", "")                          -- a function left out
edit("socket.lua", "@return ratchet%.socket%.Socket a", "@return ratchet.socket.Sockte a")  -- a typo'd type
edit("timerfd.lua", "%-%-%-@param clock%? ", "---@param clok? ")                   -- a stray @param
edit("socketpad.lua", "function socketpad:close%(%) end",
     "function socketpad:close() end\n\n---@return integer\nfunction socketpad:not_documented() end")
out, ok = check(copy)
assert(not ok, "the checker passed a broken copy:\n" .. out)
for _, want in ipairs{
    "module ratchet.thread has yield, which is not annotated",
    "unknown type ratchet.socket.Sockte",
    "@param clok is not a parameter of new",
    "new has no @param for clock",
    "not_documented annotated, but module ratchet.socketpad has no such function",
    "not_documented is annotated but docs/socketpad.md never names it",
} do
    assert(out:find(want, 1, true), "the checker did not report '" .. want .. "':\n" .. out)
end
print("ok")
