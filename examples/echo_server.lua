-- An echo server: one ratchet thread per connection, written like blocking code.
--   ratchet-lua examples/echo_server.lua [port]     serve until Ctrl-C
--   ratchet-lua examples/echo_server.lua --demo     serve, run three clients, exit
local ratchet = require "ratchet"

local demo = arg[1] == "--demo"
local port = tonumber(arg[1]) or 0

local function serve(client, from)
    while true do
        local data = client:recv()
        if data == "" then break end          -- the peer closed
        local rest = data                     -- send may take only part of it
        repeat rest = client:send(rest) until not rest
    end
    client:close()
end

local function client(n, port)
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:connect(rec.addr)
    sock:send("hello from client " .. n)
    print("client " .. n .. " got back: " .. sock:recv())
    sock:close()
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen()
    local ip, bound = server:getsockname()
    print(("echo server listening on %s:%d"):format(ip, bound))
    if demo then
        local clients = {}
        for n = 1, 3 do clients[n] = ratchet.thread.attach(client, n, bound) end
        ratchet.thread.attach(function()
            ratchet.thread.wait_all(clients)
            server:close()                      -- wakes the accept loop below with an error
        end)
    end
    while true do
        local ok, conn, from = pcall(server.accept, server)
        if not ok then break end
        ratchet.thread.attach(serve, conn, from)
    end
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
