-- Each zmqsocket receives into one message kept between calls: recv and recv_all mixed
-- over multi-part messages, parts on both sides of the size above which a part is released
-- at once, a part still held when the socket closes, and a new socket on the same endpoint
-- after close all return exactly what was sent.
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket
local thread = ratchet.thread

local done = {}

local function pair(endpoint)
    local a = zmq.new("PAIR")
    a:set_timeout(10)
    a:bind(endpoint)
    local b = zmq.new("PAIR")
    b:set_timeout(10)
    b:connect(a:getsockopt("LAST_ENDPOINT"))
    return a, b
end

local function send_parts(s, parts)
    for i, p in ipairs(parts) do s:send(p, i < #parts) end
end

-- n bytes of content distinct per tag, so a stale or reused buffer shows
local function blob(tag, n)
    return string.rep(tag, n // #tag + 1):sub(1, n)
end

h.run(function()
    for _, transport in ipairs({"tcp", "inproc"}) do
        local function endpoint()
            return transport == "tcp" and "tcp://127.0.0.1:*" or "inproc://reuse-" .. math.random(1, 1e9)
        end
        local ep = transport
        local a, b = pair(endpoint())
        local small, large = 100, 20000 -- below and above the 8 KiB kept-part limit
        -- recv, then recv_all for the rest of the same message, then whole messages
        send_parts(a, {blob("a1", small), blob("a2", large), blob("a3", small)})
        send_parts(a, {blob("b1", large), blob("b2", small)})
        send_parts(a, {blob("c1", small)})
        send_parts(a, {blob("d1", large)})
        send_parts(a, {blob("e1", small), blob("e2", small)})
        local p, more = b:recv()
        h.eq(p, blob("a1", small), ep .. ": first part by recv")
        h.eq(more, true, ep .. ": more after the first part")
        h.eq(b:recv_all(), blob("a2", large) .. blob("a3", small), ep .. ": rest by recv_all")
        h.eq(b:recv_all(), blob("b1", large) .. blob("b2", small), ep .. ": two parts by recv_all")
        p, more = b:recv()
        h.eq(p, blob("c1", small), ep .. ": one small part by recv after recv_all")
        h.eq(more, false, ep .. ": no more after a one-part message")
        h.eq(b:recv_all(), blob("d1", large), ep .. ": one large part by recv_all")
        p, more = b:recv()
        h.eq(p .. tostring(more), blob("e1", small) .. "true", ep .. ": recv after a large part")
        p, more = b:recv()
        h.eq(p .. tostring(more), blob("e2", small) .. "false", ep .. ": last part")

        -- recv_all that must wait between parts: the part kept across the wait is intact
        local waiter = thread.attach(function()
            h.eq(b:recv_all(), blob("w1", small) .. blob("w2", large) .. blob("w3", small),
                 ep .. ": recv_all across waits")
        end)
        thread.yield()
        a:send(blob("w1", small), true); thread.timer(0.02)
        a:send(blob("w2", large), true); thread.timer(0.02)
        a:send(blob("w3", small))
        thread.wait_all({waiter})

        -- a part held by b when it closes: b is then unusable; other sockets, and sockets
        -- made afterwards, receive their own messages
        local x, y = pair(endpoint())
        x:send("y1")
        h.eq(y:recv(), "y1", ep .. ": another socket's part")
        a:send("held")
        h.eq(b:recv(), "held", ep .. ": part received before close")
        a:send("queued")
        thread.timer(0.02)
        h.eq(b:close(), true, ep .. ": close with a part held")
        h.raises("EBADF", b.recv, b)
        h.raises("EBADF", b.recv_all, b)
        h.eq(b:close(), nil, ep .. ": second close")
        x:send(blob("y2", 30000))
        h.eq(y:recv(), blob("y2", 30000), ep .. ": the other socket after the close")
        local c, d = pair(endpoint())
        c:send("d1", true); c:send("d2")
        h.eq(d:recv_all(), "d1d2", ep .. ": a socket made after the close")
        a:close(); x:close(); y:close(); c:close(); d:close()
        done[transport] = true
    end

    -- sockets collected while holding a part (large and small) release it: valgrind checks
    do
        local a, b = pair("inproc://reuse-gc")
        a:send(string.rep("g", 100)); a:send(string.rep("G", 4000))
        h.eq(#b:recv(), 100, "small part before collection")
        h.eq(#b:recv(), 4000, "4000-byte part before collection")
        a:close()
    end
    collectgarbage(); collectgarbage()
    done.gc = true
end)

assert(done.tcp and done.inproc and done.gc, "the test body ran to its end")
print("ok")
