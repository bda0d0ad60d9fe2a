-- A thread waiting on a ZeroMQ socket is woken even when another thread's call on the same
-- socket consumes the ZMQ_FD signal meant for it (ZMQ_FD is edge-triggered: a signal that a
-- zmq call reads before the kernel polls is never reported).
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket
local thread = ratchet.thread

local finished = {}

-- inproc sums the two high-water marks: 2 + 2 messages fit in the DEALER → ROUTER pipe.
local function pair(name)
    local router = zmq.new("ROUTER")
    router:setsockopt("RCVHWM", 2)
    router:bind("inproc://" .. name)
    local dealer = zmq.new("DEALER")
    dealer:setsockopt("SNDHWM", 2)
    dealer:setsockopt("ROUTING_ID", "d1")
    dealer:connect("inproc://" .. name)
    dealer:set_timeout(3)
    return router, dealer
end

h.run(function()
    for _, consumer in ipairs({"recv", "recv_all"}) do
        local router, dealer = pair("wakeup-" .. consumer)
        local SENDS = 5
        local sent = 0
        -- A fills the pipe and waits for room (POLLOUT) on the DEALER.
        local sender = thread.attach(function()
            for i = 1, SENDS do
                dealer:send("m" .. i)
                sent = i
            end
            -- let the main thread's receive on the same DEALER end
            router:send("d1", true); router:send("reply")
        end)
        thread.timer(0.05)
        assert(sent >= 1 and sent < SENDS, consumer .. ": the sender should wait at the high-water mark, sent " .. sent)

        -- Draining the ROUTER tells the DEALER there is room: a signal on its ZMQ_FD...
        local drained = 0
        while router:is_readable() do
            h.eq(router:recv(), "d1", "routing id")
            router:recv()
            drained = drained + 1
        end
        assert(drained == sent, consumer .. ": drained " .. drained .. " of " .. sent)
        -- ...which this receive on the same DEALER reads (nothing to receive yet) before
        -- the kernel polls. The waiting sender must be woken all the same, or it times out.
        h.eq(dealer[consumer](dealer), "reply", consumer .. " of the reply")
        thread.wait_all({sender})
        h.eq(sent, SENDS, consumer .. ": messages sent after the wait")
        local rest = 0
        while router:is_readable() do router:recv(); router:recv(); rest = rest + 1 end
        h.eq(drained + rest, SENDS, consumer .. ": messages that arrived")
        router:close(); dealer:close()
        finished[consumer] = true
    end
end)

assert(finished.recv and finished.recv_all, "the test body ran to its end")
print("ok")
