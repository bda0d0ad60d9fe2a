-- One request on the local bus and the response to it.
require "ratchet"

local thread = ratchet.thread

local samestate_transaction = {}
samestate_transaction.__index = samestate_transaction

function samestate_transaction.new(request)
    return setmetatable({request = request}, samestate_transaction)
end

--- send_response(response): wakes the thread waiting in recv_response, if any.
function samestate_transaction:send_response(response)
    self.response = response
    self.responded = true
    local waiter = self.waiter
    if waiter then
        self.waiter = nil
        thread.unpause(waiter, response)
    end
end

--- recv_response() → the response; pauses until it is sent. A false or nil response is
-- returned too (the reference waited forever for one).
function samestate_transaction:recv_response()
    if self.responded then return self.response end
    self.waiter = thread.self()
    return thread.pause()
end

return samestate_transaction
