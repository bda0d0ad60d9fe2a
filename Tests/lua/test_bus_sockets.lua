-- ratchet.bus over sockets (test_message_bus_sockets of the original): converters turning
-- requests and responses into a message part plus attachments, two clients answered in
-- order; the wire format byte for byte; and a connection that closes half-way through its
-- request is dropped instead of being reported readable forever (the reference busy-looped).
local ratchet = require "ratchet"
local bus = require "ratchet.bus"
local h = require "helper"
local t = require "httptest"
local thread = ratchet.thread

local function request_to_bus(req) return tostring(req.id), {req.stuff} end
local function request_from_bus(part1, attachments, from)
    return {id = part1, stuff = attachments[1], from = tostring(from)}
end
local function response_to_bus(n) return tostring(n) end
local function response_from_bus(part1) return tonumber(part1) end

local results = {}
h.run(function()
    local listener, port = h.listen()
    local server = bus.new_server(listener, request_from_bus, response_to_bus)
    local server_thread = thread.attach(function()
        local answers = {["operation falcon"] = 1337, ["operation condor"] = 7357}
        for _ = 1, 2 do
            local trans, req = server:recv_request()
            assert(trans.request == req, "transaction.request")
            h.eq(req.from, "127.0.0.1", "from")
            results[#results + 1] = req.id .. "/" .. req.stuff
            trans:send_response(answers[req.id])
        end
    end)
    local function client(id, stuff, want)
        return thread.attach(function()
            local c = bus.new_client(h.connect(port), request_to_bus, response_from_bus)
            local trans = c:send_request({id = id, stuff = stuff})
            h.eq(trans:recv_response(), want, "response to " .. id)
        end)
    end
    thread.wait_all({client("operation falcon", "important", 1337), client("operation condor", "confidential", 7357),
        server_thread})
    table.sort(results)
    h.eq(table.concat(results, ","), "operation condor/confidential,operation falcon/important", "requests")

    -- the wire format: count, then length-prefixed parts; a half-closed connection is
    -- dropped; default converters are tostring
    local plain = bus.new_server(listener)
    local got
    local st = thread.attach(function()
        local trans, req = plain:recv_request()
        got = req
        trans:send_response("pong")
    end)
    local broken = h.connect(port)
    t.send_all(broken, string.pack(">I2>I4", 1, 10) .. "abc")   -- promises 10 bytes, sends 3
    broken:shutdown("write")
    broken:set_timeout(5)
    thread.timer(0.1)   -- the server sees the partial frame and the end of it first
    local s = h.connect(port)
    t.send_all(s, string.pack(">I2", 2) .. string.pack(">I4", 4) .. "ping" .. string.pack(">I4", 1) .. "x")
    local reply = t.read_all(s, 5)
    h.eq(reply, string.pack(">I2>I4", 1, 4) .. "pong", "framed response")
    thread.wait_all({st})
    h.eq(got, "ping", "default converter")
    h.eq(next(plain.pending), nil, "half-closed connection dropped")
    h.eq(broken:recv(), "", "half-closed connection closed by the server")
    broken:close(); s:close()

    -- a client whose server closes without answering gets nothing back
    local st2 = thread.attach(function()
        local c = listener:accept()
        c:recv()
        c:close()
    end)
    local c = bus.new_client(h.connect(port))
    local trans = c:send_request("hello")
    h.eq(select("#", trans:recv_response()), 0, "no response on a premature close")
    thread.wait_all({st2})
    listener:close()
end)
print("bus sockets ok")
