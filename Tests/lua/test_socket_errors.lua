-- Failures are ratchet errors, never crashes: ECONNREFUSED (errno 111), EPIPE/ECONNRESET
-- after the peer is gone (and SIGPIPE does not kill the process), wrong argument types,
-- closed sockets (EBADF), calls outside a ratchet thread.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

-- Arguments of the wrong type are argument errors.
helper.raises_msg("number expected", socket.new, "AF_INET")
helper.raises_msg("number expected", socket.new, 2, "stream")
helper.raises_msg("string expected", socket.prepare_tcp, 5, 80)
helper.raises_msg("number expected", socket.prepare_tcp, "localhost", {})
helper.raises_msg("port must be an integer from 0 to 65535", socket.prepare_tcp, "localhost", 65536)
helper.raises_msg("port must be an integer from 0 to 65535", socket.prepare_tcp, "localhost", -1)
helper.raises_msg("Unknown socket address family.", socket.prepare_tcp, "localhost", 80, "AF_BOGUS")
helper.raises_msg("string expected", socket.prepare_unix, nil)
local s = socket.new()
helper.raises_msg("ratchet.socket expected", s.recv, "not a socket")
helper.raises_msg("ratchet.socket expected", s.close, {})
helper.raises_msg("sockaddr expected", s.bind, s, "127.0.0.1")
helper.raises_msg("sockaddr expected", s.connect, s, {})
helper.raises_msg("string expected", s.send, s, {})
helper.raises_msg("string expected", s.send, s, nil)
helper.raises_msg("number expected", s.recv, s, "10")
helper.raises_msg("number expected", s.recv, s, 1.5)
helper.raises_msg("Cannot recv more than 1048576 bytes, 1048577 requested", s.recv, s, 1048577)
helper.raises_msg("function expected", s.set_tracer, s, 5)
helper.raises_msg("number expected", s.listen, s, "many")
local err = helper.raises("EAFNOSUPPORT", socket.new, 99, 1, 0)
helper.eq(err["function"], "ratchet.socket.new()", "function")
helper.eq(err.syscall, "socket", "syscall")

-- A blocking call outside a ratchet thread is an error, not a hang or crash.
local a, b = socket.new_pair()
helper.raises("EPERM", a.recv, a)
a:close(); b:close()

-- Closed sockets: EBADF from every operation; close() again returns nothing.
helper.eq(s:close(), true, "close")
helper.eq(select("#", s:close()), 0, "second close returns nothing")
helper.eq(s:get_fd(), -1, "get_fd after close")
helper.raises("EBADF", s.recv, s)
helper.raises("EBADF", s.send, s, "x")
helper.raises("EBADF", s.listen, s)
helper.raises("EBADF", s.accept, s)
helper.raises("EBADF", s.check_errors, s)
helper.raises("EBADF", s.getsockname, s)
helper.raises("EBADF", s.connect, s, socket.prepare_tcp("127.0.0.1", 1).addr)
helper.raises("EBADF", s.bind, s, socket.prepare_tcp("127.0.0.1", 0).addr)

local finished = false
helper.run(function()
    -- ECONNREFUSED: a port nobody listens on (bind one, note it, close it).
    local probe = socket.new()
    probe:bind(socket.prepare_tcp("127.0.0.1", 0).addr)
    local _, dead = probe:getsockname()
    probe:close()
    local c = socket.new()
    local e = helper.raises("ECONNREFUSED", c.connect, c, socket.prepare_tcp("127.0.0.1", dead).addr)
    helper.eq(e.errno, 111, "errno")
    helper.eq(e.syscall, "connect", "syscall")
    helper.eq(e["function"], "ratchet.socket.connect()", "function")
    c:close()

    -- EPIPE / ECONNRESET when writing to a peer that is gone; the process survives (the
    -- module ignores SIGPIPE and sends with MSG_NOSIGNAL).
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()
    local client = socket.new()
    client:connect(socket.prepare_tcp("127.0.0.1", port).addr)
    local conn = server:accept()
    conn:setsockopt("SO_LINGER", {l_onoff = true, l_linger = 0}) -- close sends RST
    conn:close()
    ratchet.thread.timer(0.05)
    local ok, werr
    for _ = 1, 100 do
        ok, werr = pcall(client.send, client, string.rep("x", 4096))
        if not ok then break end
        ratchet.thread.timer(0.01)
    end
    assert(not ok, "writing to a reset connection must fail")
    assert(ratchet.error.is(werr, "EPIPE") or ratchet.error.is(werr, "ECONNRESET"), tostring(werr))
    helper.eq(werr.syscall, "send", "syscall")
    client:close()

    -- A pair whose other end is closed: EPIPE on send, "" on recv.
    local p, q = socket.new_pair()
    q:close()
    helper.raises("EPIPE", p.send, p, "anyone?")
    helper.eq(p:recv(), "", "recv on a closed pair")
    p:close()

    -- check_errors reports a pending SO_ERROR with syscall "<unknown>".
    local pending = socket.new()
    pcall(function()
        pending:connect(socket.prepare_tcp("127.0.0.1", dead).addr)
    end)
    helper.eq(pending:check_errors(), true, "no pending error after connect reported it")
    pending:close()
    server:close()
    finished = true
end)
assert(finished)
print("ok")
