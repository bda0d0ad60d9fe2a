-- After a short read the next recv parks without a syscall (the buffer is known to be drained
-- until the next read edge). When the peer's FIN or RST arrived together with the data, no
-- further edge comes: the next recv must still return "" (FIN) or raise ECONNRESET (RST) at
-- once, not wait for its timeout. Checked over TCP, a socketpair, socketpad, TLS and a
-- Python peer in another process.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local socket = ratchet.socket
local socketpad = require "ratchet.socketpad"

local function tcp_pair()
    local server, port = helper.listen()
    local client = helper.connect(port)
    local conn = server:accept()
    server:close()
    return client, conn
end

local function reset(p)
    p:setsockopt("SO_LINGER", {l_onoff = true, l_linger = 0})
    p:close()
end

--- Parks a reader in `read()` (so its watcher is armed and drained), then lets `peer_close`
--- send and close in one go before the kernel polls again: data and FIN/RST reach the
--- reader in a single readiness report. Returns what the reader's two reads gave (an error
--- object for the second when it raised) and how long the second took.
local function read_after(read, peer_close)
    local first, second, took
    local t = ratchet.thread.attach(function()
        first = read()
        local start = ratchet.now()
        local ok, v = pcall(read)
        took = ratchet.now() - start
        second = v
    end)
    ratchet.thread.timer(0.05)          -- the reader is parked in its first read
    peer_close()                        -- no yield between the send and the close
    ratchet.thread.wait_all({t})
    return first, second, took
end

--- Runs read_after(read, peer_close) and checks: "hello", then `want_second` at once.
local function check(read, peer_close, want_second, what)
    local first, second, took = read_after(read, peer_close)
    helper.eq(first, "hello", "data before " .. what)
    if want_second == "" then
        helper.eq(second, "", "recv after " .. what)
    else
        assert(ratchet.error.is(second, want_second), "recv after " .. what .. ": " .. tostring(second))
    end
    assert(took < 1, "recv after " .. what .. " took " .. took .. " s")
end

local cert = tls.selfsigned()

helper.run(function()
    local function over_tcp(close_peer, want, what)
        local reader, peer = tcp_pair()
        reader:set_timeout(5)
        check(function() return reader:recv() end,
            function() peer:send("hello"); close_peer(peer) end, want, what)
        reader:close()
    end
    over_tcp(function(p) p:close() end, "", "FIN")
    over_tcp(reset, "ECONNRESET", "RST")
    over_tcp(function(p) p:shutdown("write"); reset(p) end, "", "FIN then RST")  -- the FIN reads first

    -- A socketpair: closing with unread data resets the peer (ECONNRESET after the data).
    local a, b = socket.new_pair()
    a:set_timeout(5)
    a:send("unread by b")
    check(function() return a:recv() end, function() b:send("hello"); b:close() end,
        "ECONNRESET", "socketpair reset")
    a:close()
    a, b = socket.new_pair()
    a:set_timeout(5)
    check(function() return a:recv() end, function() b:send("hello"); b:close() end,
        "", "socketpair close")
    a:close()

    -- socketpad over the same path: the delimited read returns what came, then fails fast.
    local reader, peer = tcp_pair()
    reader:set_timeout(5)
    local pad = socketpad.new(reader)
    local first, second, took = read_after(function()
        local line, err = pad:recv("\n")
        if line then return line end
        return err
    end, function() peer:send("hello\nworld"); reset(peer) end)
    helper.eq(first, "hello\n", "socketpad line before RST")
    assert(ratchet.error.is(second, "ECONNRESET"), "socketpad after RST: " .. tostring(second))
    assert(took < 1, "socketpad recv after RST took " .. took .. " s")
    reader:close()

    -- TLS: the record, then the reset (no close_notify).
    local server_ctx = ratchet.ssl.new(ratchet.ssl.TLS_server)
    server_ctx:load_certs(cert)
    local client_ctx = ratchet.ssl.new(ratchet.ssl.TLS_client)
    reader, peer = tcp_pair()
    reader:set_timeout(5)
    local hs = ratchet.thread.attach(function() peer:encrypt(server_ctx):server_handshake() end)
    reader:encrypt(client_ctx):client_handshake()
    ratchet.thread.wait_all({hs})
    check(function() return reader:recv() end, function() peer:send("hello"); reset(peer) end,
        "ECONNRESET", "TLS reset")
    reader:close()

    -- A peer in another process writes and resets in one go.
    local server, port = helper.listen()
    local py <close> = helper.spawn(string.format([[/usr/bin/python3 -c '
import socket, struct, time
s = socket.create_connection(("127.0.0.1", %d))
time.sleep(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.send(b"hello")
s.close()
']], port), {limit = 20})
    local conn = server:accept()
    server:close()
    conn:set_timeout(5)
    local start = ratchet.now()
    helper.eq(conn:recv(), "hello", "data from the python peer")
    local ok, err = pcall(conn.recv, conn)
    assert(not ok and ratchet.error.is(err, "ECONNRESET"), "recv after the python peer's RST: " .. tostring(err))
    assert(ratchet.now() - start < 2, "recv after the python peer's RST took too long")
    conn:close()
end)
print("ok")
