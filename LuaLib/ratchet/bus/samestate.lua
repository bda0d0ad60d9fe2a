-- The local bus: requests and responses are passed by reference between threads of one
-- kernel; waiting threads pause until something arrives.
require "ratchet"
local transaction = require "ratchet.bus.samestate_transaction"

local thread = ratchet.thread

local samestate = {}
samestate.__index = samestate

function samestate.new()
    local self = setmetatable({
        queue = {}, head = 1, tail = 0,       -- requests nobody has received yet
        waiters = {}, whead = 1, wtail = 0,   -- threads paused in recv_request, oldest first
    }, samestate)
    return self, self
end

--- recv_request() → transaction, request; pauses until a request is sent.
function samestate:recv_request()
    if self.head <= self.tail then
        local trans = self.queue[self.head]
        self.queue[self.head] = nil
        self.head = self.head + 1
        return trans, trans.request
    end
    -- The reference kept a single waiter (a second one silently replaced the first); every
    -- waiter is served here, in the order they started waiting.
    self.wtail = self.wtail + 1
    self.waiters[self.wtail] = thread.self()
    local trans = thread.pause()
    return trans, trans.request
end

--- send_request(request) → transaction; hands it to a waiting receiver or queues it.
function samestate:send_request(request)
    local trans = transaction.new(request)
    if self.whead <= self.wtail then
        local waiter = self.waiters[self.whead]
        self.waiters[self.whead] = nil
        self.whead = self.whead + 1
        thread.unpause(waiter, trans)
    else
        self.tail = self.tail + 1
        self.queue[self.tail] = trans
    end
    return trans
end

return samestate
