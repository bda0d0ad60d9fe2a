-- The reference's test_unix_sockets: the send_recv exchange over AF_UNIX; bind unlinks a
-- stale socket file; sockaddr text is the path ("" for an unnamed client).
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local path = helper.tmpname("unix.sock")
-- A stale file at the path: bind must unlink it first.
local f = assert(io.open(path, "w")); f:write("stale"); f:close()
local done = 0
helper.run(function()
    local rec = socket.prepare_unix(path)
    helper.eq(rec.family, 1, "AF_UNIX")
    helper.eq(rec.socktype, 1, "SOCK_STREAM")
    helper.eq(tostring(rec.addr), path, "tostring(addr)")
    helper.eq(rec.addr.path, path, "addr.path")
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    helper.eq(server:getsockname(), path, "getsockname on AF_UNIX")

    ratchet.thread.attach(function()
        local c = socket.new(rec.family, rec.socktype, rec.protocol)
        c:connect(rec.addr)
        helper.eq(c:getpeername(), path, "getpeername")
        helper.eq(c:recv(5), "hello", "client recv")
        c:send("world")
        c:send("foo")
        helper.eq(c:recv(), "bar", "client recv 2")
        c:close()
        done = done + 1
    end)
    local conn, from = server:accept()
    helper.eq(tostring(from), "", "unnamed client address")
    conn:send("hello")
    helper.eq(conn:recv(5), "world", "server recv")
    helper.eq(conn:recv(), "foo", "server recv 2")
    conn:send("bar")
    helper.eq(conn:recv(), "", "EOF")
    conn:close(); server:close()
    done = done + 1

    -- Long paths are truncated to 107 bytes.
    local long = socket.prepare_unix(string.rep("x", 200))
    helper.eq(#tostring(long.addr), 107, "truncated path")
end)
os.remove(path)
helper.eq(done, 2, "both sides done")
print("ok")
