-- The echo server a user would write: an accept loop, one thread per connection doing
-- recv/send. A connection that fails (ECONNRESET when the load generator resets it) just
-- ends its thread; the kernel's error handler ignores that. usage: lua5.4 echo_server.lua PORT
local ratchet = require "ratchet"
local port = assert(tonumber(arg[1]), "usage: echo_server.lua PORT")

local function serve(client)
    local data = client:recv(65536)
    while data ~= "" do
        local rest = client:send(data)
        while rest do rest = client:send(rest) end
        data = client:recv(65536)
    end
    client:close()
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen(1024)
    while true do
        ratchet.thread.attach(serve, (server:accept()))
    end
end, function(err, thread) end):loop()
