-- The reference's test_socketpair: new_pair() and the hello/world/foo/bar exchange across
-- two threads; also datagram pairs and from_fd.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local count = 0
local probe
helper.run(function()
    local a, b = socket.new_pair()
    helper.eq(a:get_timeout(), -1.0, "timeout of a")
    assert(a:get_fd() >= 0 and b:get_fd() >= 0 and a:get_fd() ~= b:get_fd())
    assert(a ~= b and a == a)
    ratchet.thread.attach(function()
        b:send("hello")
        helper.eq(b:recv(5), "world", "b recv")
        helper.eq(b:recv(), "foo", "b recv 2")
        b:send("bar")
        count = count + 1
    end)
    helper.eq(a:recv(5), "hello", "a recv")
    a:send("world")
    ratchet.thread.timer(0.01) -- keep "foo" separate from "world"
    a:send("foo")
    helper.eq(a:recv(), "bar", "a recv 2")
    a:close(); b:close()

    -- Datagram pair: message boundaries are kept.
    local d1, d2 = socket.new_pair(1, 2)
    d1:send("one"); d1:send("two")
    helper.eq(d2:recv(), "one", "dgram 1")
    helper.eq(d2:recv(), "two", "dgram 2")
    d1:close(); d2:close()

    -- from_fd wraps an existing descriptor (here one end of another pair).
    local p1, p2 = socket.new_pair()
    local w = socket.from_fd(p1:get_fd())
    w:send("via from_fd")
    helper.eq(p2:recv(), "via from_fd", "from_fd socket works")
    helper.raises("EBADF", socket.from_fd, -1)
    helper.eq(select(2, pcall(socket.from_fd, -1)).description, "Invalid file descriptor.", "from_fd(-1) description")
    w:close()
    -- p1 shares the (now closed) number; closing it before anything else opens a descriptor
    -- keeps its own close from hitting someone else's.
    p1:close()
    p2:close()
    -- A to-be-closed socket is closed at the end of its scope.
    local fd
    do
        local scoped <close> = socket.new()
        fd = scoped:get_fd()
        assert(fd >= 0)
        probe = scoped
    end
    helper.eq(probe:get_fd(), -1, "closed by <close>")
    count = count + 1
end)
helper.eq(count, 2, "both sides finished")
print("ok")
