-- IPv6 on ::1: prepare_tcp with literals and AF_INET6, sockaddr text and fields, accept,
-- getpeername, and a v6 wildcard that also accepts v4 clients (dual stack).
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local done = false
helper.run(function()
    local rec = socket.prepare_tcp("::1", 0)
    helper.eq(rec.family, 10, "AF_INET6")
    helper.eq(tostring(rec.addr), "::1", "tostring")
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    local ip, port = server:getsockname()
    helper.eq(ip, "::1", "getsockname ip")
    ratchet.thread.attach(function()
        local crec = socket.prepare_tcp("[::1]", port, "AF_INET6")
        helper.eq(crec.addr.port, port, "addr.port")
        helper.eq(crec.addr.ip, "::1", "addr.ip")
        helper.eq(crec.addr.family, 10, "addr.family")
        local c = socket.new(crec.family, crec.socktype, crec.protocol)
        c:connect(crec.addr)
        local pip, pport = c:getpeername()
        helper.eq(pip, "::1", "peer ip"); helper.eq(pport, port, "peer port")
        c:send("over v6")
        helper.eq(c:recv(), "ack", "v6 reply")
        c:close()
    end)
    local conn, from = server:accept()
    helper.eq(tostring(from), "::1", "from")
    helper.eq(from.ip, "::1", "from.ip")
    assert(from.port > 0)
    helper.eq(conn:recv(), "over v6", "v6 data")
    conn:send("ack")
    conn:close(); server:close()

    -- "*" with AF_INET6 is "::"; a v4 client reaches it as ::ffff:127.0.0.1.
    local wrec = socket.prepare_tcp("*", 0, "AF_INET6")
    helper.eq(tostring(wrec.addr), "::", "v6 wildcard")
    local w = socket.new(wrec.family, wrec.socktype, wrec.protocol)
    w:bind(wrec.addr); w:listen()
    local _, wport = w:getsockname()
    local c4 = socket.new()
    c4:connect(socket.prepare_tcp("127.0.0.1", wport).addr)
    local _, from4 = w:accept()
    helper.eq(tostring(from4), "::ffff:127.0.0.1", "mapped v4 peer")
    c4:close(); w:close()

    -- A v4 literal with AF_INET6 has no records.
    helper.raises("ENOENT", socket.prepare_tcp, "127.0.0.1", 80, "AF_INET6")
    done = true
end)
assert(done)
print("ok")
