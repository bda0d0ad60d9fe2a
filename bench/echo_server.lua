-- The echo server a user would write: an accept loop, one thread per connection doing
-- recv/send. A connection that fails (ECONNRESET when the load generator resets it) just
-- ends its thread; the kernel's error handler ignores that. usage: lua5.4 echo_server.lua PORT
local ratchet = require "ratchet"
local port = assert(tonumber(arg[1]), "usage: echo_server.lua PORT")

-- recv/send until the peer closes (shared with the floor: bench/echo_serve.lua)
local serve = dofile((arg[0]:match("^(.*)/") or ".") .. "/echo_serve.lua")

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
