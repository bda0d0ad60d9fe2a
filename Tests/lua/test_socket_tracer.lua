-- set_tracer: the events and arguments the reference lists, fired on the right sockets.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local events = {}
local function tracer(name)
    return function(event, data)
        events[#events + 1] = name .. ":" .. event .. (data ~= nil and ("(" .. tostring(data) .. ")") or "")
    end
end

helper.run(function()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:set_tracer(tracer("server"))
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()
    local client = socket.new()
    client:set_tracer(tracer("client"))
    client:connect(socket.prepare_tcp("127.0.0.1", port).addr)
    local conn = server:accept()
    conn:set_tracer(tracer("conn"))
    client:send("abc")
    helper.eq(conn:recv(), "abc", "data")
    conn:shutdown("write")
    client:shutdown()
    client:close()
    conn:set_tracer(nil)
    conn:close()
    server:close()
    -- A tracer error propagates to the caller.
    local a, b = socket.new_pair()
    a:set_tracer(function() error("tracer failed") end)
    helper.raises_msg("tracer failed", a.send, a, "x")
    a:set_tracer(nil); a:close(); b:close()
end)
local want = {
    "server:bind(127.0.0.1)", "server:listen", "client:connect(127.0.0.1)",
    "server:accept(127.0.0.1)", "client:send(abc)", "conn:recv(abc)",
    "conn:shutdown(write)", "client:shutdown", "client:close", "server:close",
}
helper.eq(table.concat(events, " "), table.concat(want, " "), "trace")
print("ok")
