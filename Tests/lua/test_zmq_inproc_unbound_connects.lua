-- Connections to inproc endpoints nobody binds: libzmq keeps each one pending, with its
-- socket unable to finish closing, and aborted at context termination ("Assertion failed:
-- s (src/ctx.cpp:169)") once more than 1023 were pending; new sockets failed with EMFILE
-- before that. Now the last socket connected to an endpoint ends its pending connections
-- when it closes, and the 1024th open socket is a clear error. Connect-before-bind still
-- works while a socket waits for its peer.
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket

--- Runs `script` in a fresh lua5.4 (so its exit terminates the ZeroMQ context); returns
--- its exit status and stderr.
local function run_child(script)
    local child = ratchet.exec.new({"timeout", "60", "lua5.4", "-e", script})
    local _, err, status = child:communicate()
    return status, err
end

h.run(function()
    -- 3000 sockets in turn, each connected to its own unbound endpoint and closed; then
    -- the process exits normally.
    local status, err = run_child([[
        local ratchet = require "ratchet"
        ratchet.new(function()
            for i = 1, 3000 do
                local s = ratchet.zmqsocket.new("REQ")
                s:connect("inproc://nobody-" .. i)
                s:close()
            end
        end):loop()
    ]])
    h.eq(status, 0, "exit after 3000 closed unbound connects (" .. err .. ")")
    assert(not err:find("Assertion"), err)

    -- 1023 open sockets connected to unbound endpoints, left to the exit; the 1024th
    -- socket is refused with a clear error.
    status, err = run_child([[
        local ratchet = require "ratchet"
        local keep = {}
        ratchet.new(function()
            for i = 1, 1023 do
                keep[i] = ratchet.zmqsocket.new("PAIR")
                keep[i]:connect("inproc://nobody-" .. i)
            end
            local ok, e = pcall(ratchet.zmqsocket.new, "PAIR")
            assert(not ok and ratchet.error.is(e, "EMFILE") and tostring(e):find("1023 sockets"), tostring(e))
        end):loop()
    ]])
    h.eq(status, 0, "exit with 1023 open unbound connects (" .. err .. ")")
    assert(not err:find("Assertion"), err)

    -- A socket still waiting for its peer keeps its connection when another socket that
    -- connected to the same endpoint closes; the peer binds later and they talk.
    local early = zmq.new("PAIR")
    early:connect("inproc://later")
    local waiting = zmq.new("PUSH")
    waiting:connect("inproc://later")
    early:close()
    local peer = zmq.new("PULL")
    peer:set_timeout(5)
    peer:bind("inproc://later")
    waiting:send("still connected")
    h.eq(peer:recv(), "still connected", "message over a connection made before the bind")
    waiting:close()
    peer:close()
end)
print("ok")
