-- A script that builds a kernel with a thread and never calls loop() does nothing; it is
-- told so on stderr (visible without lua5.4's -W, where Lua's warnings go) when the
-- kernel is collected or closed by scope. Kernels that ran, that were closed with
-- k:close(), or that have no entry function are not warned about.
local h = require "helper"

local function run(body)
    local path = h.write_tmp('local ratchet = require "ratchet"\n' .. body, "never-looped.lua")
    return h.sh("lua5.4 " .. path)
end

local warning = "Lua warning: ratchet kernel closed with 1 thread(s) that never ran (was loop() called?)"

local out, ok = run('ratchet.new(function() print("never printed") end)')
assert(ok, "exit status stays 0: " .. out)
h.eq(out, warning, "collected at exit")

out, ok = run('do local k <close> = ratchet.new(function() end) end print("after")')
h.eq(out, warning .. "\nafter", "closed by scope")

out, ok = run('local k = ratchet.new(function() end) k = nil collectgarbage() collectgarbage() print("after")')
h.eq(out, warning .. "\nafter", "collected during the run")

for _, quiet in ipairs({
    'ratchet.new(function() end):loop()',
    'local k = ratchet.new(function() end) k:loop_once()',
    'ratchet.new(function() end):close()',
    'ratchet.new()',
    'local k = ratchet.new(function() error("x") end) pcall(k.loop, k)',
}) do
    out, ok = run(quiet)
    assert(not out:find("Lua warning", 1, true), "no warning for: " .. quiet .. "\n" .. out)
end
