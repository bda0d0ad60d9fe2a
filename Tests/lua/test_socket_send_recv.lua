-- The reference's test_send_recv and test_listen_connect: a TCP exchange over loopback that
-- checks maxlen and interleaving, and a client prepared from "localhost".
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local done = 0
helper.run(function()
    -- test_send_recv: "*" AF_INET server, 127.0.0.1 client.
    local rec = socket.prepare_tcp("*", 0, "AF_INET")
    helper.eq(rec.host, "*", "record host")
    helper.eq(tostring(rec.addr), "0.0.0.0", "wildcard address")
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    helper.eq(server:bind(rec.addr), true, "bind")
    helper.eq(server:listen(), true, "listen")
    local _, port = server:getsockname()
    assert(port > 0)

    ratchet.thread.attach(function()
        local crec = socket.prepare_tcp("127.0.0.1", port)
        local client = socket.new(crec.family, crec.socktype, crec.protocol)
        helper.eq(select("#", client:connect(crec.addr)), 0, "connect returns nothing")
        helper.eq(client:recv(5), "hello", "client recv")
        client:send("world")
        client:send("foo")
        helper.eq(client:recv(), "bar", "client recv 2")
        client:close()
        done = done + 1
    end)

    local conn, from = server:accept()
    helper.eq(tostring(from), "127.0.0.1", "tostring(from)")
    helper.eq(conn:get_timeout(), -1.0, "accepted timeout")
    conn:send("hello")
    helper.eq(conn:recv(5), "world", "server recv maxlen 5")
    helper.eq(conn:recv(), "foo", "server recv")
    conn:send("bar")
    helper.eq(conn:recv(), "", "EOF")
    conn:close()
    server:close()
    done = done + 1

    -- test_listen_connect: "*" with no family binds :: (AAAA first, dual-stack); the client
    -- prepared from "localhost" (no family) connects in the same thread before accept().
    local lrec = socket.prepare_tcp("*", 0)
    local listener = socket.new(lrec.family, lrec.socktype, lrec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(lrec.addr)
    listener:listen()
    local _, lport = listener:getsockname()
    local crec = socket.prepare_tcp("localhost", lport)
    helper.eq(crec.host, "localhost", "record host")
    local c = socket.new(crec.family, crec.socktype, crec.protocol)
    c:connect(crec.addr)
    local s2, from2 = listener:accept()
    local peer_ip = c:getsockname()
    helper.eq(tostring(from2):gsub("^::ffff:", ""), peer_ip:gsub("^::ffff:", ""), "accept sees the client's address")
    c:send("ping")
    helper.eq(s2:recv(), "ping", "listen_connect data")
    s2:close(); c:close(); listener:close()
    done = done + 1
end)
helper.eq(done, 3, "all parts ran")
print("ok")
