-- A thread blocked in recv on a socket that another thread closes wakes with EBADF; kill()
-- of threads blocked in accept/recv cancels their waits (the reference's test_thread_kill),
-- and their sockets stay usable or closable without leaks.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local woke_with
local killed_ok = false
helper.run(function()
    -- recv woken by close from another thread.
    local a, b = socket.new_pair()
    local waiter = ratchet.thread.attach(function()
        local ok, err = pcall(a.recv, a)
        woke_with = ok and "no error" or err
    end)
    ratchet.thread.timer(0.02)   -- the waiter is parked in recv now
    a:close()
    ratchet.thread.wait_all({waiter})
    assert(ratchet.error.is(woke_with, "EBADF"), "recv after close: " .. tostring(woke_with))
    b:close()

    -- Same for accept.
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    local accept_err
    local acceptor = ratchet.thread.attach(function()
        local ok, err = pcall(server.accept, server)
        accept_err = ok and "no error" or err
    end)
    ratchet.thread.timer(0.02)
    server:close()
    ratchet.thread.wait_all({acceptor})
    assert(ratchet.error.is(accept_err, "EBADF"), "accept after close: " .. tostring(accept_err))

    -- kill(): a listener blocked in accept and a reader blocked in recv.
    local l2 = socket.new()
    l2:bind(socket.prepare_tcp("127.0.0.1", 0).addr)
    l2:listen()
    local _, port = l2:getsockname()
    local reached = false
    local listener = ratchet.thread.attach(function()
        l2:accept()
        reached = true
    end)
    local p, q = socket.new_pair()
    local reader = ratchet.thread.attach(function()
        p:recv()
        reached = true
    end)
    local paused = {}
    for i = 1, 5 do paused[i] = ratchet.thread.attach(ratchet.thread.pause) end
    ratchet.thread.timer(0.02)
    ratchet.thread.kill(listener)
    ratchet.thread.kill(reader)
    ratchet.thread.kill_all(paused)
    -- The killed waits are gone: a connection and data now wake nobody, and a new thread
    -- can use both sockets normally.
    local c = socket.new()
    c:connect(socket.prepare_tcp("127.0.0.1", port).addr)
    q:send("late")
    ratchet.thread.timer(0.02)
    assert(not reached, "a killed thread resumed")
    local conn = l2:accept()
    helper.eq(p:recv(), "late", "socket usable after its reader was killed")
    conn:close(); c:close(); l2:close(); p:close(); q:close()
    killed_ok = true
end)
assert(killed_ok)

-- A socket that waited in a kernel outlives it: closing it after the kernel is collected
-- (or closed) is safe, and it works in a new kernel.
local a, b = socket.new_pair()
local k = ratchet.new(function()
    ratchet.thread.attach(function() b:send("one") end)
    helper.eq(a:recv(), "one", "first kernel")
end)
k:loop()
k = nil
collectgarbage(); collectgarbage()
helper.run(function()
    ratchet.thread.attach(function() ratchet.thread.timer(0.01); b:send("two") end)
    helper.eq(a:recv(), "two", "second kernel")
end)
collectgarbage()
helper.eq(a:close(), true, "close after the kernels are gone")
b:close()
print("ok")
