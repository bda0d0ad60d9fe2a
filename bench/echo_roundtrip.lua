-- One process, one kernel: a client thread sends N 64-byte messages over loopback TCP and
-- an echo thread sends each back. Used by bench/echo_instructions.sh, which runs it under
-- callgrind at two sizes so the difference is the cost of the round trips alone.
-- usage: lua5.4 echo_roundtrip.lua N
local ratchet = require "ratchet"
local n = assert(tonumber(arg[1]), "usage: echo_roundtrip.lua N")

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen(8)
    local _, port = server:getsockname()
    ratchet.thread.attach(function()
        local c = server:accept()
        while true do
            local data = c:recv()
            if data == "" then break end
            c:send(data)
        end
        c:close()
    end)
    local crec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local client = ratchet.socket.new(crec.family, crec.socktype, crec.protocol)
    client:connect(crec.addr)
    local msg = string.rep("x", 64)
    for _ = 1, n do
        client:send(msg)
        local got = #client:recv()
        while got < 64 do got = got + #client:recv() end
    end
    client:close()
end):loop()
