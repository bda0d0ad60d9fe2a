-- ratchet.websocket's protocol rules, with hand-made frames on raw sockets: handshake
-- refusals (400/426/403), an unmasked client frame -> 1002, garbage -> a close frame and the
-- server goes on, reserved bits / unknown opcodes / fragmented or long control frames /
-- stray continuations -> 1002, a huge announced length -> 1009 at once, pings answered with
-- their payload, malformed close frames; frames split into 1-byte writes; one thread
-- receiving while others send; keep-alive pings; argument errors.
local ratchet = require "ratchet"
local websocket = require "ratchet.websocket"
local frame = require "ratchet.websocket.frame"
local h = require "helper"
local t = require "httptest"
local thread = ratchet.thread

local echo_handlers = {}
function echo_handlers:GET(uri, headers)
    return websocket.accept(headers, {max_message = 65536, origins = {"http://good.example"}}, function(ws)
        while true do
            local m, kind = ws:recv()
            if not m then return end
            ws:send(m, kind)
        end
    end)
end

local KEY = "dGhlIHNhbXBsZSBub25jZQ=="
local function handshake(port, extra)
    local s = h.connect(port)
    s:set_timeout(5)
    t.send_all(s, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" ..
        "Sec-WebSocket-Key: " .. KEY .. "\r\nSec-WebSocket-Version: 13\r\nOrigin: http://good.example\r\n" ..
        (extra or "") .. "\r\n")
    return s, t.read_head(s)
end

-- A client frame: masked unless `unmasked`.
local function cframe(fin, opcode, payload, unmasked)
    return frame.encode(fin, opcode, payload, not unmasked)
end

-- Reads one (unmasked, server) frame: opcode, payload; nil at EOF. Bytes past the frame
-- (two frames can arrive in one read) stay for the next call.
local leftover = setmetatable({}, {__mode = "k"})
local function read_frame(s)
    local buf = leftover[s] or ""
    local function need(n)
        while #buf < n do
            local d = s:recv(65536)
            if d == "" then return false end
            buf = buf .. d
        end
        return true
    end
    if not need(2) then return nil end
    local b0, b1 = buf:byte(1, 2)
    local len, head = b1 & 127, 2
    if len == 126 then need(4); len, head = string.unpack(">I2", buf, 3), 4 end
    if len == 127 then need(10); len, head = string.unpack(">i8", buf, 3), 10 end
    need(head + len)
    leftover[s] = buf:sub(head + len + 1)
    return b0 & 15, buf:sub(head + 1, head + len), b0 >= 128
end

-- Sends `bytes` after the handshake; expects a close frame with `code`, then EOF.
local function expect_close(port, bytes, code, what)
    local t0 = ratchet.now()
    local s = handshake(port)
    t.send_all(s, bytes)
    local op, payload = read_frame(s)
    h.eq(op, 8, what .. ": close frame")
    h.eq(string.unpack(">I2", payload), code, what .. ": close code")
    h.eq(t.read_all(s, 5), "", what .. ": then the connection ends")
    s:close()
    if os.getenv("WSDEBUG") then print(what, ratchet.now() - t0) end
end

h.run(function()
    local port, stats = t.serve(echo_handlers)

    -- the handshake
    local s, head = handshake(port)
    t.has(head, "HTTP/1.1 101 Switching Protocols\r\n", "101")
    t.has(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "accept key of RFC 6455 1.3")
    t.lacks(head, "Content-Length", "no body framing on 101")
    -- a frame split into single bytes is reassembled
    for ch in cframe(true, 1, "dribbled"):gmatch(".") do t.send_all(s, ch); thread.timer(0.001) end
    local op, payload = read_frame(s)
    h.eq(payload, "dribbled", "frame sent a byte at a time")
    -- a ping is answered with its payload, also between the fragments of a message
    t.send_all(s, cframe(false, 1, "frag") .. cframe(true, 9, "ping!") .. cframe(true, 0, "ment"))
    op, payload = read_frame(s)
    h.eq(op, 10, "pong"); h.eq(payload, "ping!", "pong payload")
    op, payload = read_frame(s)
    h.eq(payload, "fragment", "message around a ping")
    -- the client closes: the server answers with the same code and closes the TCP connection
    t.send_all(s, cframe(true, 8, string.pack(">I2", 1001) .. "going"))
    op, payload = read_frame(s)
    h.eq(op, 8, "close answered"); h.eq(string.unpack(">I2", payload), 1001, "code echoed")
    h.eq(t.read_all(s, 5), "", "server closed after the close handshake")
    s:close()
    -- the codes IANA registered after RFC 6455 (1012 service restart, 1013 try again later,
    -- 1014 bad gateway) are valid from a peer and echoed; the unassigned ones around them are
    -- protocol errors (the fuzzer's first finding was its own invariant missing 1012-1014)
    for _, code in ipairs({1012, 1013, 1014}) do
        s = handshake(port)
        t.send_all(s, cframe(true, 8, string.pack(">I2", code)))
        op, payload = read_frame(s)
        h.eq(op, 8, "close " .. code .. " answered")
        h.eq(string.unpack(">I2", payload), code, "close " .. code .. " echoed")
        h.eq(t.read_all(s, 5), "", "server closed after close " .. code)
        s:close()
    end
    for _, code in ipairs({1004, 1015, 1016, 2999}) do
        expect_close(port, cframe(true, 8, string.pack(">I2", code)), 1002, "close code " .. code .. " on the wire")
    end

    local function status_of(extra_head)
        local conn = extra_head:find("Connection:", 1, true) and "" or "Connection: close\r\n"
        return t.raw(port, "GET / HTTP/1.1\r\nHost: x\r\n" .. conn .. extra_head .. "\r\n", 5):match("^HTTP/1.1 (%d+)")
    end
    h.eq(status_of(""), "426", "plain GET")
    h.eq(status_of("Upgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\nOrigin: http://good.example\r\n"),
        "400", "no key")
    local r = t.raw(port, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n" ..
        "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " .. KEY .. "\r\n\r\n", 5)
    t.has(r, "HTTP/1.1 426", "version 8"); t.has(r, "Sec-WebSocket-Version: 13", "version named")
    h.eq(status_of("Upgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n" ..
        "Sec-WebSocket-Key: " .. KEY .. "\r\nOrigin: http://evil.example\r\n"), "403", "origin refused")

    -- protocol errors: 1002, 1007, 1009
    expect_close(port, cframe(true, 1, "plain", true), 1002, "unmasked client frame")
    expect_close(port, "GET / HTTP/1.1\r\n\r\n" .. string.rep("\255garbage", 100), 1002, "garbage")
    expect_close(port, string.char(0x80 | 0x40 | 1, 0x80, 1, 2, 3, 4), 1002, "RSV1 without an extension")
    expect_close(port, cframe(true, 3, "x"), 1002, "unknown data opcode")
    expect_close(port, cframe(true, 11, "x"), 1002, "unknown control opcode")
    expect_close(port, cframe(false, 9, "x"), 1002, "fragmented ping")
    expect_close(port, cframe(true, 9, string.rep("x", 126)), 1002, "ping over 125 bytes")
    expect_close(port, cframe(true, 0, "x"), 1002, "continuation without a message")
    expect_close(port, cframe(false, 1, "a") .. cframe(true, 2, "b"), 1002, "new message inside a fragmented one")
    expect_close(port, cframe(true, 8, "\3"), 1002, "close with a 1-byte payload")
    expect_close(port, cframe(true, 8, string.pack(">I2", 1005)), 1002, "close code 1005 on the wire")
    expect_close(port, cframe(true, 8, string.pack(">I2", 1000) .. "\255"), 1007, "close reason not UTF-8")
    expect_close(port, cframe(true, 1, "\192\175"), 1007, "overlong UTF-8")
    -- a huge announced length is refused from the header alone (nothing else is sent)
    expect_close(port, string.char(0x82, 0x80 | 127) .. string.pack(">i8", 1 << 40) .. "mask", 1009, "2^40-byte frame")
    expect_close(port, cframe(false, 2, string.rep("a", 40000)) .. cframe(true, 0, string.rep("b", 40000)),
        1009, "fragments over max_message together")
    h.eq(status_of(""), "426", "the server still serves after all that")

    -- the client refuses a handshake the server did not complete
    local err = h.raises("EPROTO", websocket.connect, "ws://127.0.0.1:" .. port .. "/", {origin = "http://evil.example"})
    t.has(tostring(err), "status 403", "refused handshake")
    local plain_port, plain = t.serve({GET = function() return {data = "not a websocket"} end})
    err = h.raises("EPROTO", websocket.connect, "ws://127.0.0.1:" .. plain_port .. "/")
    t.has(tostring(err), "status 200", "plain HTTP server")
    plain.stop()

    -- a character split across fragments is fine: UTF-8 is checked on the whole message
    s = handshake(port)
    t.send_all(s, cframe(false, 1, "\226\130") .. cframe(true, 0, "\172!"))
    h.eq(select(2, read_frame(s)), "\226\130\172!", "euro sign split across fragments")
    s:close()
    stats.stop()

    -- websocket.new over a socket pair: one thread receives while three others send
    local a, b = ratchet.socket.new_pair()
    local server = websocket.new(a, {}, "server")
    local client = websocket.new(b, {fragment_size = 100}, "client")
    local got = {}
    local receiver = thread.attach(function()
        while true do
            local m = server:recv()
            if not m then break end
            got[#got + 1] = m
        end
    end)
    local senders = {}
    for i = 1, 3 do
        senders[i] = thread.attach(function()
            for j = 1, 20 do client:send(string.rep(string.char(64 + i), 1000 + j)) end
        end)
    end
    -- ... while the server side sends to the client at the same time
    local back = thread.attach(function()
        for j = 1, 20 do server:send(string.rep("z", 70000), "binary") end
    end)
    for j = 1, 20 do h.eq(#client:recv(), 70000, "message " .. j .. " to the client") end
    thread.wait_all(senders)
    thread.wait_all({back})
    h.eq(client:close(), 1000, "close answered")
    thread.wait_all({receiver})
    h.eq(#got, 60, "messages received while others sent")
    for _, m in ipairs(got) do assert(m == string.rep(m:sub(1, 1), #m), "a message was interleaved") end
    h.eq(select(2, server:recv()), 1000, "recv after close gives the code again")
    h.raises("ECONNCLOSED", client.send, client, "late")

    -- keep-alive pings: answered while the peer receives; a silent peer is cut off (1006)
    a, b = ratchet.socket.new_pair()
    local pinging = websocket.new(a, {ping_interval = 0.05}, "server")
    local peer = websocket.new(b, {}, "client")
    local peer_thread = thread.attach(function() while peer:recv() do end end)
    local r1 = thread.attach(function() return pinging:recv() end)
    thread.timer(0.5)
    assert(pinging.pongs >= 3, "keep-alive pings answered: " .. pinging.pongs)
    h.eq(pinging.state, "open", "connection kept while pongs come")
    pinging:close()
    thread.wait_all({r1, peer_thread})
    a, b = ratchet.socket.new_pair()
    pinging = websocket.new(a, {ping_interval = 0.05}, "server")
    local none, code = pinging:recv()      -- b never answers
    h.eq(code, 1006, "no pong: the connection is cut")
    b:close()

    -- argument errors
    a, b = ratchet.socket.new_pair()
    local ws = websocket.new(a, {}, "server")
    h.raises_msg("valid UTF-8", ws.send, ws, "\255")
    h.raises_msg("kind must be", ws.send, ws, "x", "blob")
    h.raises_msg("needs a string", ws.send, ws, 42)
    h.raises_msg("invalid close code", ws.close, ws, 1005)
    h.raises_msg("at most 123 bytes", ws.close, ws, 1000, string.rep("r", 124))
    h.raises_msg("at most 125 bytes", ws.ping, ws, string.rep("p", 126))
    h.raises_msg("positive number", websocket.new, b, {max_message = -1}, "client")
    h.raises_msg("not a ws:// or wss:// URL", websocket.connect, "http://127.0.0.1/")
    h.raises_msg("handler must be a function", websocket.accept, {}, {})
    a:close(); b:close()

    -- ratchet.wsmask.mask against a byte-by-byte XOR, at every alignment and tail length
    local mask = ratchet.wsmask.mask
    local key = "\1\128\255\7"
    local data = frame.random(300)
    for start = 1, 9 do
        for len = 0, 40 do
            local want = {}
            for i = 0, len - 1 do
                want[#want + 1] = string.char(data:byte(start + i) ~ key:byte(i % 4 + 1))
            end
            h.eq(mask(data, start, len, key), table.concat(want), "mask from " .. start .. ", " .. len .. " bytes")
        end
    end
    h.eq(mask(mask(data, 1, 300, key), 1, 300, key), data, "masking twice gives the data back")
    h.raises_msg("string expected", mask, 1, 1, 1, key)
    h.raises_msg("the key has 4 bytes", mask, data, 1, 1, "abc")
    h.raises_msg("within the data", mask, data, 2, 300, key)
    h.raises_msg("within the data", mask, data, 0, 1, key)
    h.raises_msg("within the data", mask, data, 1, -1, key)
    h.raises_msg("number expected", mask, data, nil, 1, key)

    -- random bytes come from getrandom: the length asked, different each time, and no
    -- descriptor kept open (one would leak into children started by io.popen)
    local random = ratchet.wsmask.random
    local fds = h.fd_count()
    h.eq(#random(0), 0, "no bytes")
    h.eq(#random(4), 4, "a masking key")
    h.eq(#random(5000), 5000, "more than one getrandom read may return")
    local seen = {}
    for _ = 1, 100 do seen[random(16)] = true end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    h.eq(n, 100, "100 different nonces")
    h.eq(h.fd_count(), fds, "no descriptor opened")
    h.raises_msg("between 0 and 1 MiB", random, -1)
    h.raises_msg("number expected", random, "x")
end)
print("websocket protocol ok")
