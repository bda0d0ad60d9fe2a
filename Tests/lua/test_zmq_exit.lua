-- ratchet.zmqsocket at process exit: queued messages are delivered when the Lua state
-- closes, and an undeliverable one delays exit only by the socket's LINGER.
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket
local exec = ratchet.exec

local function uptime() local f = io.open("/proc/uptime"); local v = f:read("n"); f:close(); return v end

local done = {}
h.run(function()
    h.eq(zmq.new("PUSH"):getsockopt("LINGER"), 1000, "default LINGER of new sockets")

    -- a process that sends 1000 messages and exits at once: all of them arrive
    local pull = zmq.new("PULL")
    pull:set_timeout(20)
    pull:bind("tcp://127.0.0.1:*")
    local child = exec.new({"lua5.4", "-e", [[
        local zmq = require("ratchet").zmqsocket
        local s = zmq.new("PUSH")
        s:connect("]] .. pull:getsockopt("LAST_ENDPOINT") .. [[")
        for i = 1, 1000 do s:send("bye " .. i) end
    ]]})
    local out, err, status = child:communicate()
    h.eq(status, 0, "sender exit status (" .. err .. ")")
    for i = 1, 1000 do h.eq(pull:recv(), "bye " .. i, "message sent just before exit") end
    pull:close()

    -- nobody ever listens: exit waits for LINGER (here 200 ms), not forever
    local t0 = uptime()
    local stuck = exec.new({"lua5.4", "-e", [[
        local zmq = require("ratchet").zmqsocket
        local s = zmq.new("PUSH")
        s:setsockopt("LINGER", 200)
        s:connect("tcp://127.0.0.1:1")
        s:send("nobody")
    ]]})
    out, err, status = stuck:communicate()
    h.eq(status, 0, "stuck sender exit status (" .. err .. ")")
    local took = uptime() - t0
    assert(took < 5, "exit with an undeliverable message took " .. took .. " s")
    done.all = true
end)
assert(done.all, "the test body ran to its end")
print("ok")
