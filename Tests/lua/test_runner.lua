-- ratchet-lua: the stock lua5.4 conventions (-e, -l, -v, -, --, arg) with ratchet preloaded;
-- an uncaught error prints a traceback to stderr and exits 1.
local h = require "helper"
local runner = assert(os.getenv("RATCHET_OUT"), "RATCHET_OUT is set by scripts/test") .. "/bin/ratchet-lua"
assert(io.open(runner), "runner not found at " .. runner)

local function run(args, stdin)
    local tmp = h.tmpname("runner.out")
    local cmd = string.format("{ %s %s 2>%s.err; }", runner, args, tmp)
    if stdin then cmd = string.format("printf '%%s' %q | %s", stdin, cmd) end
    local out, ok = h.sh(cmd)
    local f = io.open(tmp .. ".err"); local err = f and f:read("a") or ""; if f then f:close() end
    return out, ok, err
end

-- -e and the preloaded module (scripts still require it).
local out, ok = run([[-e "print(require('ratchet').version == ratchet.version)"]])
assert(ok and out == "true", "-e: " .. out)

-- -v
out, ok = run("-v")
assert(ok and out:match("^Lua 5%.4%.%d+  Copyright .*\nratchet %d+%.%d+%.%d+ %(libevent "), "-v: " .. out)

-- -l mod and -l g=mod
out, ok = run([[-l string -e "print(string == _G.string)"]])
assert(ok and out == "true", "-l: " .. out)
out, ok = run([[-l sp=ratchet.socketpad -e "print(type(sp.new))"]])
assert(ok and out == "function", "-l g=mod: " .. out)

-- A script with arguments: arg table and ...
local script = h.tmpname("script.lua")
local f = assert(io.open(script, "w"))
f:write([[
local a, b = ...
print(arg[0]:match("[^/]*$"), arg[1], arg[2], a, b, #arg)
local k = ratchet.new(function() ratchet.thread.timer(0.01); print("kernel ran") end)
k:loop()
]])
f:close()
out, ok = run(script .. " one two")
assert(ok, "script failed: " .. out)
h.eq(out, script:match("[^/]*$") .. "\tone\ttwo\tone\ttwo\t2\nkernel ran", "script output")

-- -- stops options; - reads stdin.
out, ok = run("-- " .. script .. " -x")
assert(ok and out:find("\t%-x\t", 1) , "--: " .. out)
out, ok = run("- a1", "print('stdin', ...)")
assert(ok and out == "stdin\ta1", "-: " .. out)

-- Uncaught errors: traceback on stderr, exit status 1; ratchet errors via tostring.
local bad = h.tmpname("bad.lua")
f = assert(io.open(bad, "w"))
f:write("local r = require 'ratchet'\nr.new(function() r.thread.pause() end):loop()\n")
f:close()
local _, ok2, err = run(bad)
assert(not ok2, "error must exit non-zero")
assert(err:find("Non-IO deadlock detected.", 1, true) and err:find("stack traceback", 1, true), err)
local _, _, code = os.execute(runner .. " " .. bad .. " 2>/dev/null")
h.eq(code, 1, "exit status")

-- Unknown options and missing files are reported.
_, ok2, err = run("-Z")
assert(not ok2 and err:find("unrecognized option"), err)
_, ok2, err = run("/nonexistent.lua")
assert(not ok2 and err:find("nonexistent"), err)
