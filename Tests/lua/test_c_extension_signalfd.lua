-- include/ratchet.h: the example C extension (examples/c-extension/signalfd.c), built here
-- with the installed Lua headers and loaded by stock lua5.4 next to ratchet, blocks only
-- its own thread until a signal arrives, times out, and raises ratchet errors.
local h = require "helper"
local ratchet = require "ratchet"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]+$")
assert(root, "cannot find the repository root from this file's path")
local out = h.tmpdir() .. "/c-extension"
local build = string.format("mkdir -p %q && make -s -C %q RATCHET_INC=-I%q/include signalfd.so && mv %q/signalfd.so %q/",
    out, root .. "/examples/c-extension", root, root .. "/examples/c-extension", out)
assert(os.execute(build), "building the example C extension failed: " .. build)
package.cpath = out .. "/?.so;" .. package.cpath
local signalfd = require "signalfd"

local pid = h.pid()
local ticks, got = 0, nil
h.run(function()
    local sfd <close> = signalfd.new("SIGUSR2")
    -- Another thread keeps running while the reader waits: the wait yields, it does not block.
    local ticker = ratchet.thread.attach(function()
        while not got do ticks = ticks + 1; ratchet.thread.timer(0.01) end
    end)
    ratchet.thread.attach(function()
        ratchet.thread.timer(0.1)
        local p = ratchet.exec.new({"kill", "-USR2", tostring(pid)})
        p:start(); p:wait()
    end)
    local signo, name = sfd:read(5)
    got = true
    h.eq(name, "SIGUSR2", "signal name")
    h.eq(signo, 12, "signal number")
    assert(ticks >= 3, "other threads ran while the reader waited: " .. ticks .. " ticks")
    ratchet.thread.wait_all({ticker})

    -- A timeout gives nil; omitted and nil timeouts are the same call (no signal: we only
    -- check that the explicit short timeout returns).
    local t0 = ratchet.now()
    h.eq(sfd:read(0.05), nil, "read after timeout")
    assert(ratchet.now() - t0 >= 0.04, "the timeout was waited")

    -- Errors are ratchet errors naming the function, with the caller's file and line.
    sfd:close()
    local err = h.raises("EBADF", sfd.read, sfd)
    h.eq(err["function"], "signalfd.read()", "function field")
    h.eq(err.errno, 9, "errno field")
end)

-- Outside a ratchet thread the wait is refused with EPERM, not a Lua "attempt to yield".
local sfd = signalfd.new("SIGUSR2")
local err = h.raises("EPERM", sfd.read, sfd, 0.01)
assert(tostring(err.description):find("ratchet thread", 1, true), err.description)
sfd:close()
print("ok")
