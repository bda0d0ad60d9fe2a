-- The reference's test_shutdown: after the server's shutdown("write") the client reads ""
-- but can still send, and the server still receives (half-close).
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local got
helper.run(function()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()

    ratchet.thread.attach(function()
        local client = socket.new()
        client:connect(socket.prepare_tcp("127.0.0.1", port).addr)
        helper.eq(client:recv(), "", "recv after peer shutdown(write)")
        client:send("ooga")
        client:close()
    end)

    local conn = server:accept()
    helper.eq(conn:shutdown("write"), true, "shutdown returns true")
    got = conn:recv()
    helper.eq(conn:recv(), "", "EOF after client close")
    helper.raises_msg("invalid option 'sideways'", conn.shutdown, conn, "sideways")
    conn:close()
    -- shutdown of a closed socket is an errno error.
    helper.raises("EBADF", conn.shutdown, conn)
    -- shutdown("both") default on a fresh unconnected socket: ENOTCONN.
    local lone = socket.new()
    local err = helper.raises("ENOTCONN", lone.shutdown, lone)
    helper.eq(err.syscall, "shutdown", "syscall")
    lone:close()
    server:close()
end)
helper.eq(got, "ooga", "half-closed connection still delivers")
print("ok")
