-- The reference's test_event_timeout (accept with set_timeout(0.0) raises ETIMEDOUT), and
-- the timeouts of recv, send and connect.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local finished = false
helper.run(function()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    server:set_timeout(0.0)
    helper.eq(server:get_timeout(), 0.0, "get_timeout")
    local err = helper.raises("ETIMEDOUT", server.accept, server)
    helper.eq(err.description, "Timed out on accept.", "accept description")
    helper.eq(err["function"], "ratchet.socket.accept()", "accept function")
    -- Negative and math.huge mean no timeout.
    server:set_timeout(-5); helper.eq(server:get_timeout(), -1.0, "negative → -1")
    server:set_timeout(math.huge); helper.eq(server:get_timeout(), -1.0, "huge → -1")
    helper.raises_msg("number expected", server.set_timeout, server, "1")
    helper.raises_msg("number expected", server.set_timeout, server, 0/0)

    -- recv times out after about the given time.
    local a, b = socket.new_pair()
    a:set_timeout(0.1)
    local err2 = helper.raises("ETIMEDOUT", a.recv, a)
    helper.eq(err2.description, "Timed out on recv.", "recv description")
    helper.eq(err2.errno, 110, "ETIMEDOUT errno")
    helper.eq(err2.syscall, "recv", "ETIMEDOUT names the call that timed out")

    -- send times out when the peer never reads and the buffers are full.
    b:set_timeout(0.2)
    local chunk = string.rep("x", 65536)
    local err3 = helper.raises("ETIMEDOUT", function()
        while true do b:send(chunk) end
    end)
    helper.eq(err3.description, "Timed out on send.", "send description")
    a:close(); b:close()

    -- connect times out when the listener's backlog is full (loopback SYNs are dropped).
    local full = socket.new()
    full:bind(socket.prepare_tcp("127.0.0.1", 0).addr)
    full:listen(0)
    local _, port = full:getsockname()
    local target = socket.prepare_tcp("127.0.0.1", port).addr
    local held = {}
    local timed_out = false
    for i = 1, 20 do
        local c = socket.new()
        c:set_timeout(0.3)
        held[#held + 1] = c
        local ok, e = pcall(c.connect, c, target)
        if not ok then
            assert(ratchet.error.is(e, "ETIMEDOUT"), tostring(e))
            helper.eq(e.description, "Timed out on connect.", "connect description")
            helper.eq(e["function"], "ratchet.socket.connect()", "connect function")
            timed_out = true
            break
        end
    end
    assert(timed_out, "a connect to a full backlog should time out")
    for _, c in ipairs(held) do c:close() end
    full:close()
    server:close()
    finished = true
end)
assert(finished)
print("ok")
