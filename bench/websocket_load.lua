-- WebSocket echo load: CONNS connections to ws://127.0.0.1:PORT/, each sending one SIZE-byte
-- binary message and waiting for its echo, over and over; prints the messages echoed per
-- second over SECS seconds (after a 1 s warm-up). The client is kept cheap so that the
-- server is what is measured: the handshake goes through ratchet.websocket.connect, then
-- every connection sends one pre-masked frame and counts the echoed bytes on the raw socket.
--   usage: lua5.4 bench/websocket_load.lua PORT [CONNS=100] [SECS=5] [SIZE=64]
local ratchet = require "ratchet"
local websocket = require "ratchet.websocket"
local frame = require "ratchet.websocket.frame"

local port = assert(tonumber(arg[1]), "usage: websocket_load.lua PORT [CONNS] [SECS] [SIZE]")
local conns, secs, size = tonumber(arg[2]) or 100, tonumber(arg[3]) or 5, tonumber(arg[4]) or 64

local echoed, stop = 0, false
local reply = #frame.encode(true, 2, string.rep("x", size), false)   -- server frames are unmasked

ratchet.new(function()
    local threads = {}
    for i = 1, conns do
        local ws = websocket.connect("ws://127.0.0.1:" .. port .. "/")
        local sock = ws.socket
        local message = frame.encode(true, 2, string.rep(string.char(65 + i % 26), size), true)
        threads[i] = ratchet.thread.attach(function()
            local owed = 0
            while not stop do
                local rest = sock:send(message)
                while rest do rest = sock:send(rest) end
                owed = owed + reply
                while owed > 0 do owed = owed - #sock:recv(65536) end
                echoed = echoed + 1
            end
            sock:close()
        end)
    end
    ratchet.thread.timer(1)
    local n0, t0 = echoed, ratchet.now()
    ratchet.thread.timer(secs)
    local n1, t1 = echoed, ratchet.now()
    stop = true
    print(string.format("%d messages/s", math.floor((n1 - n0) / (t1 - t0))))
    print(string.format("%d messages", n1 - n0))
    ratchet.thread.wait_all(threads)
end):loop()
