-- WebSocket echo load: CONNS connections to ws://127.0.0.1:PORT/PATH, each sending one
-- SIZE-byte binary message and waiting for its echo, over and over; prints the messages
-- echoed per second over SECS seconds (after a 1 s warm-up). The client is kept cheap so that
-- the server is what is measured: the handshake goes through ratchet.websocket.connect, then
-- every connection sends one pre-made frame on the raw socket.
--   MODE "plain" (default): no compression offered; the message is SIZE letters and the
--     echo is counted in bytes (its length is known).
--   MODE "deflate": permessage-deflate offered with client_no_context_takeover, so that one
--     compressed frame (RSV1), made once, serves for every message; the message is
--     JSON-ish text of SIZE bytes. The server compresses its echoes with its own context
--     (their sizes vary), so the echoed frames are parsed and counted.
--   usage: lua5.4 bench/websocket_load.lua PORT [CONNS=100] [SECS=5] [SIZE=64] [MODE=plain] [PATH=/]
local ratchet = require "ratchet"
local websocket = require "ratchet.websocket"
local frame = require "ratchet.websocket.frame"

local port = assert(tonumber(arg[1]), "usage: websocket_load.lua PORT [CONNS] [SECS] [SIZE] [MODE] [PATH]")
local conns, secs, size = tonumber(arg[2]) or 100, tonumber(arg[3]) or 5, tonumber(arg[4]) or 64
local mode, path = arg[5] or "plain", arg[6] or "/"
local deflate = mode == "deflate"

local echoed, stop = 0, false
local reply = #frame.encode(true, 2, string.rep("x", size), false)   -- server frames are unmasked

local JSONISH = '{"type":"tick","seq":%d,"price":101.25,"qty":3,"side":"buy","venue":"XNAS","note":"%s"}'
local function message_for(i)
    if not deflate then return string.rep(string.char(65 + i % 26), size) end
    local m = JSONISH:format(i, string.rep("x", size))
    return m:sub(1, size)
end

-- Waits for one echoed message: `owed` bytes (plain), or one whole frame (deflate).
local function wait_echo(sock, buf)
    if not deflate then
        local owed = reply
        while owed > 0 do owed = owed - #sock:recv(65536) end
        return ""
    end
    while true do
        if #buf >= 2 then
            local len, head = buf:byte(2) & 127, 2
            if len == 126 and #buf >= 4 then len, head = string.unpack(">I2", buf, 3), 4 end
            if len < 126 and #buf >= head + len then return buf:sub(head + len + 1) end
        end
        buf = buf .. sock:recv(65536)
    end
end

ratchet.new(function()
    local threads = {}
    for i = 1, conns do
        local ws = websocket.connect("ws://127.0.0.1:" .. port .. path,
            {compression = deflate and {client_no_context_takeover = true}})
        local sock = ws.socket
        local message
        if deflate then
            assert(ws.deflate, "the server did not agree to permessage-deflate")
            local d = ratchet.deflate.deflater(ws.deflate.client_max_window_bits or 15)
            message = frame.encode(true, 2, d:compress(message_for(i)), true, true)
        else
            message = frame.encode(true, 2, message_for(i), true)
        end
        threads[i] = ratchet.thread.attach(function()
            local buf = ""
            while not stop do
                local rest = sock:send(message)
                while rest do rest = sock:send(rest) end
                buf = wait_echo(sock, buf)
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
