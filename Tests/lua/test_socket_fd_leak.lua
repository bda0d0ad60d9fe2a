-- Descriptor accounting: 20,000 connections opened and ended (accepted and connected
-- sides; a third closed explicitly, a third dropped for the GC, a third closed by the peer
-- first) leave the process's descriptor count where it started.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local N = 20000
-- helper.fd_count() lists /proc/<pid>/fd with `ls` through io.popen, which can catch the
-- popen pipe's other end before it is closed; the least of a few samples is exact.
local function fds()
    local n = math.huge
    for _ = 1, 3 do n = math.min(n, helper.fd_count()) end
    return n
end
local before = fds()
local made = 0
helper.run(function()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen(1024)
    local _, port = server:getsockname()
    local addr = socket.prepare_tcp("127.0.0.1", port).addr

    local acceptor = ratchet.thread.attach(function()
        for i = 1, N do
            local conn = server:accept()
            local mode = i % 3
            if mode == 0 then
                helper.eq(conn:recv(), "x", "data")
                conn:close()
            elseif mode == 1 then
                conn = nil             -- left to the garbage collector
            else
                helper.eq(conn:recv(), "", "peer closed first")
                conn:close()
            end
            if i % 2000 == 0 then collectgarbage() end
        end
    end)
    for i = 1, N do
        local c = socket.new()
        c:connect(addr)
        local mode = i % 3
        if mode == 0 then
            c:send("x")
            c:close()
        elseif mode == 1 then
            c = nil
        else
            c:close()
        end
        made = made + 1
        if i % 100 == 0 then ratchet.thread.yield() end
    end
    ratchet.thread.wait_all({acceptor})
    server:close()
end)
collectgarbage(); collectgarbage()
local after = fds()
print(string.format("connections: %d, descriptors before: %d, after: %d", made, before, after))
helper.eq(made, N, "connections made")
helper.eq(after, before, "descriptor count")
print("ok")
