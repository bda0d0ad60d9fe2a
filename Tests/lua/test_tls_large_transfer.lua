-- The encrypted data path through socket send/recv: 8 MiB each way at the same time over
-- TCP (so both ends block on full buffers while reading and writing from two threads on one
-- session), one 4 MiB send in a single call, recv(1 MiB), byte-exact content, and the
-- tracer's "encrypted send"/"encrypted recv" events.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")
local sctx = ssl.new(ssl.TLS_server)
sctx:load_certs(certs.server, certs.server_key)
local cctx = ssl.new(ssl.TLS_client)
cctx:load_cas(nil, certs.ca)

local MiB = 1 << 20
--- Deterministic, non-repeating-looking bytes for side `tag`.
local function payload(tag)
    local parts = {}
    for i = 1, 8 * 1024 do
        parts[i] = string.pack(">I4", (i * 2654435761 + tag) & 0xffffffff):rep(32)  -- 128 bytes
        parts[i] = parts[i]:sub(1, 124) .. string.pack(">I4", i)
    end
    local block = table.concat(parts)  -- 1 MiB
    return block .. block:reverse() .. block:upper() .. block:lower() .. block:sub(2) .. "x" .. block:rep(3)
end

local function send_all(s, data)
    -- Varying chunk sizes, then a single 4 MiB call (all-or-nothing once encrypted).
    local pos, sizes, k = 1, { 1, 100, 16384, 16385, 65536, 300000 }, 1
    while pos <= 4 * MiB do
        local n = sizes[k]
        k = k % #sizes + 1
        helper.eq(s:send(data:sub(pos, math.min(pos + n - 1, 4 * MiB))), nil, "encrypted send returns nothing")
        pos = pos + n
    end
    s:send(data:sub(4 * MiB + 1))
end

local function recv_all(s, n)
    local parts, got = {}, 0
    while got < n do
        local d = s:recv(MiB)
        if d == "" then break end
        assert(#d <= 16384, "one TLS record at most per recv")
        parts[#parts + 1] = d
        got = got + #d
    end
    return table.concat(parts)
end

local ok = 0
helper.run(function()
    local listener, port = helper.listen()
    local up, down = payload(1), payload(2)
    helper.eq(#up, 8 * MiB, "payload size")

    local server_got
    local st = ratchet.thread.attach(function()
        local conn = listener:accept()
        conn:setsockopt("SO_SNDBUF", 65536)
        local enc = conn:encrypt(sctx)
        enc:server_handshake()
        local w = ratchet.thread.attach(function() send_all(conn, down) end)
        server_got = recv_all(conn, #up)
        ratchet.thread.wait_all({ w })
        enc:shutdown()
        conn:close()
    end)
    local s = helper.connect(port)
    s:setsockopt("SO_SNDBUF", 65536)
    local enc = s:encrypt(cctx)
    enc:client_handshake("localhost")
    local w = ratchet.thread.attach(function() send_all(s, up) end)
    local client_got = recv_all(s, #down)
    ratchet.thread.wait_all({ w })
    helper.eq(#client_got, #down, "client received size")
    assert(client_got == down, "client received the exact bytes")
    helper.eq(s:recv(), "", "close_notify")
    helper.eq(enc:shutdown(), true, "both close_notify exchanged")
    ratchet.thread.wait_all({ st })
    helper.eq(#server_got, #up, "server received size")
    assert(server_got == up, "server received the exact bytes")
    s:close()
    listener:close()
    ok = ok + 1

    -- Tracer events once encrypted.
    local a, b = ratchet.socket.new_pair()
    local events = {}
    a:set_tracer(function(ev, data) events[#events + 1] = ev .. "=" .. tostring(data) end)
    local ea, eb = a:encrypt(sctx), b:encrypt(ssl.new(ssl.TLS_client))
    local t = ratchet.thread.attach(function() ea:server_handshake() end)
    eb:client_handshake()
    ratchet.thread.wait_all({ t })
    a:send("to b")
    helper.eq(b:recv(), "to b", "a to b")
    b:send("to a")
    helper.eq(a:recv(), "to a", "b to a")
    a:set_tracer(nil)
    a:close(); b:close()
    helper.eq(table.concat(events, ","), "encrypted send=to b,encrypted recv=to a", "tracer events")
    ok = ok + 1
end)
helper.eq(ok, 2, "parts")
print("ok")
