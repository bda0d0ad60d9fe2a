-- The echo server a user would write: an accept loop, one thread per connection doing
-- recv/send. usage: lua5.4 echo_server.lua PORT
local ratchet = require "ratchet"
local port = assert(tonumber(arg[1]), "usage: echo_server.lua PORT")

local function serve(client)
    while true do
        local ok, data = pcall(client.recv, client, 65536)
        if not ok or data == "" then break end
        local rest = data
        repeat
            local sent, r = pcall(client.send, client, rest)
            if not sent then rest = nil else rest = r end
        until not rest
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
        local client = server:accept()
        ratchet.thread.attach(serve, client)
    end
end):loop()
