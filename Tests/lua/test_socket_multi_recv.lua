-- The reference's test_socket_multi_recv: two clients, data from either, then "" twice
-- after both close; plus the timeout (nil) case.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local finished = false
helper.run(function()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()
    local addr = socket.prepare_tcp("127.0.0.1", port).addr

    local function client(first, second)
        return function()
            local c = socket.new()
            c:connect(addr)
            c:send(first)
            if second then
                ratchet.thread.timer(0.05)
                c:send(second)
            end
            ratchet.thread.timer(0.1)
            c:close()
        end
    end
    ratchet.thread.attach(client("data1", "data3"))
    ratchet.thread.attach(client("data2"))

    local c1 = server:accept()
    local c2 = server:accept()
    local seen = {}
    for _ = 1, 2 do
        local data, from = socket.multi_recv({c1, c2})
        seen[data] = from
    end
    assert(seen.data1 == c1, "data1 came from c1")
    assert(seen.data2 == c2, "data2 came from c2")
    local data, from = socket.multi_recv({c1, c2})
    helper.eq(data, "data3", "third message")
    assert(from == c1)
    local e1 = socket.multi_recv({c1, c2})
    helper.eq(e1, "", "first EOF")
    ratchet.thread.timer(0.05)
    local e2 = socket.multi_recv({c1, c2})
    helper.eq(e2, "", "second EOF")

    -- Timeout: nothing arrives within 0.05 s → nil.
    local a, b = socket.new_pair()
    helper.eq(socket.multi_recv({a}, 0.05), nil, "multi_recv timeout")
    helper.raises_msg("not a ratchet.socket", socket.multi_recv, {a, 5})
    a:close(); b:close(); c1:close(); c2:close(); server:close()
    finished = true
end)
assert(finished)
print("ok")
