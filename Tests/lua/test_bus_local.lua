-- ratchet.bus.new_local: requests and responses by reference between threads, queued
-- requests, several waiting receivers, and false/nil responses
-- (test_message_bus_local of the original, plus the cases it got wrong).
require "ratchet"
local bus = require "ratchet.bus"
local h = require "helper"
local thread = ratchet.thread

assert(ratchet.bus == bus, "ratchet.bus is the module")
require "ratchet.bus.samestate"   -- slimta requires it directly

-- The reference exchange: a table request and a number request, responses back.
local done = {}
h.run(function()
    local server_end, client_end = bus.new_local(ratchet)
    assert(rawequal(server_end, client_end), "both ends are the same object")
    local req1 = {op = "first"}
    thread.attach(function()
        local trans, req = server_end:recv_request()
        assert(rawequal(req, req1), "request passed by reference")
        assert(rawequal(trans.request, req1), "transaction.request")
        thread.attach(function()
            local t2 = client_end:send_request(1337)
            h.eq(t2:recv_response(), "yes", "second response")
            done[#done + 1] = "client2"
        end)
        local trans2, req2 = server_end:recv_request()
        h.eq(req2, 1337, "number request")
        trans:send_response({answer = 42})
        trans2:send_response("yes")
        done[#done + 1] = "server"
    end)
    local t = client_end:send_request(req1)
    local res = t:recv_response()
    h.eq(type(res), "table", "table response")
    h.eq(res.answer, 42, "table response content")
    done[#done + 1] = "client1"
end)
table.sort(done)
h.eq(table.concat(done, ","), "client1,client2,server", "every party finished")

-- Requests sent before anyone receives are queued in order; a response sent before
-- recv_response is returned at once.
h.run(function()
    local b = bus.new_local()
    local t1 = b:send_request("a")
    local t2 = b:send_request("b")
    local r1, q1 = b:recv_request()
    local r2, q2 = b:recv_request()
    h.eq(q1 .. q2, "ab", "queue order")
    assert(r1 == t1 and r2 == t2, "same transaction objects on both ends")
    r2:send_response("B")
    h.eq(t2:recv_response(), "B", "early response")
end)

-- Several threads waiting in recv_request are all served, oldest first (the reference
-- kept only the last waiter, and the others waited forever).
local got = {}
h.run(function()
    local b = bus.new_local()
    for i = 1, 3 do
        thread.attach(function()
            local trans, req = b:recv_request()
            got[#got + 1] = i .. "=" .. req
            trans:send_response(req * 10)
        end)
    end
    thread.timer(0)
    local ts = {}
    for i = 1, 3 do ts[i] = b:send_request(i) end
    for i = 1, 3 do h.eq(ts[i]:recv_response(), i * 10, "response " .. i) end
end)
h.eq(table.concat(got, ","), "1=1,2=2,3=3", "waiters served in order")

-- false and nil responses wake the waiter (the reference paused forever).
h.run(function()
    local b = bus.new_local()
    thread.attach(function()
        local t1 = b:recv_request(); thread.timer(0.01); t1:send_response(false)
        local t2 = b:recv_request(); thread.timer(0.01); t2:send_response(nil)
    end)
    h.eq(b:send_request(1):recv_response(), false, "false response")
    h.eq(b:send_request(2):recv_response(), nil, "nil response")
end)
print("bus local ok")
