-- A minimal hand-written HTTP/1.1 keep-alive responder on raw ratchet sockets (the
-- counterpart of ../shared/bench/servers/http_cqueues.lua). usage: lua5.4 http_raw.lua PORT
local ratchet = require "ratchet"
local port = assert(tonumber(arg[1]), "usage: http_raw.lua PORT")
local response = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\nContent-Type: text/plain\r\n\r\nHello, World!\n"
local find, rep, sub = string.find, string.rep, string.sub

local function serve(client)
    local buf = ""
    while true do
        local data = client:recv(65536)
        if data == "" then break end
        buf = buf .. data
        local n, pos = 0, 1
        while true do
            local e = find(buf, "\r\n\r\n", pos, true)
            if not e then break end
            n, pos = n + 1, e + 4
        end
        if n > 0 then
            buf = sub(buf, pos)
            client:send(n == 1 and response or rep(response, n))
        end
    end
    client:close()
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen(1024)
    while true do ratchet.thread.attach(serve, (server:accept())) end
end, function() end):loop()
