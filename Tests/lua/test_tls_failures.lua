-- Broken peers give a clear ratchet error on their own connection while the kernel and the
-- other connections carry on: a plain-text server, random bytes instead of a ClientHello,
-- a peer that hangs up mid-handshake or disappears without close_notify, a silent peer
-- (the socket timeout), and a socket closed under a waiting handshake.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")
local sctx = ssl.new(ssl.TLS_server)
sctx:load_certs(certs.server, certs.server_key)
local cctx = ssl.new(ssl.TLS_client)
cctx:load_cas(nil, certs.ca)

local function random_bytes(n)
    local f = assert(io.open("/dev/urandom", "rb"))
    local s = f:read(n)
    f:close()
    -- Not accidentally a TLS record header.
    return "\0" .. s:sub(2)
end

local results = {}
helper.run(function()
    local listener, port = helper.listen()

    -- A healthy encrypted conversation that runs through everything below.
    local healthy = tls.bystander(sctx, cctx, "localhost")

    --- Runs `server(conn)` on the next accepted connection and `client(sock)` on a new
    -- connection, concurrently; returns their results.
    local function pair(server, client)
        local sres
        local t = ratchet.thread.attach(function()
            local conn = listener:accept()
            conn:set_timeout(5)
            sres = table.pack(pcall(server, conn))
            conn:close()
        end)
        local s = helper.connect(port)
        s:set_timeout(5)
        local cres = table.pack(pcall(client, s))
        s:close()
        ratchet.thread.wait_all({ t })
        healthy.alive()
        return sres, cres
    end

    -- A plain-text server (an SMTP banner) where the client expects TLS.
    local _, c = pair(function(conn) conn:send("220 mail.example ESMTP ready\r\n") ; conn:recv() end,
        function(s) s:encrypt(cctx):client_handshake("localhost") end)
    assert(not c[1] and ratchet.error.is(c[2], "SSLERROR"), "plain-text server: " .. tostring(c[2]))
    assert(c[2].description:find("wrong version number", 1, true), c[2].description)
    results[#results + 1] = "plain-text server: " .. c[2].description

    -- Random bytes instead of a ClientHello, and an HTTP request on the TLS port.
    for _, junk in ipairs({ random_bytes(517), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" }) do
        local sres = pair(function(conn) conn:encrypt(sctx):server_handshake() end,
            function(s) s:send(junk); s:recv() end)
        assert(not sres[1] and ratchet.error.is(sres[2], "SSLERROR"), "junk ClientHello: " .. tostring(sres[2]))
        assert(sres[2].description:find("^error:"), "OpenSSL's reason: " .. sres[2].description)
        results[#results + 1] = "junk ClientHello: " .. sres[2].description
    end

    -- The client hangs up before its ClientHello is complete.
    local sres = pair(function(conn) conn:encrypt(sctx):server_handshake() end,
        function(s) s:send("\22\3\1\2\0\1") end)
    assert(not sres[1] and ratchet.error.is(sres[2], "SSLEOF"), "hang-up mid-handshake: " .. tostring(sres[2]))
    results[#results + 1] = "hang-up: " .. sres[2].description

    -- A silent client: the server's handshake times out with the socket timeout.
    sres = pair(function(conn)
            conn:set_timeout(0.2)
            conn:encrypt(sctx):server_handshake()
        end,
        function(s) helper.eq(s:recv(), "", "server gave up") end)
    assert(not sres[1] and ratchet.error.is(sres[2], "ETIMEDOUT"), "silent peer: " .. tostring(sres[2]))
    helper.eq(sres[2].description, "Timed out on server_handshake.", "timeout description")
    helper.eq(sres[2]["function"], "ratchet.ssl.session.server_handshake()", "timeout function")

    -- After the handshake the server vanishes without close_notify: the client's read is
    -- SSLEOF, and shutdown() answers false without raising.
    local server_done
    sres, c = pair(function(conn)
            conn:encrypt(sctx):server_handshake()
            conn:send("last words")
            server_done = true
        end,
        function(s)
            local enc = s:encrypt(cctx)
            enc:client_handshake("localhost")
            helper.eq(s:recv(), "last words", "data before the hang-up")
            while not server_done do ratchet.thread.yield() end
            local err = helper.raises("SSLEOF", s.recv, s)
            helper.eq(enc:shutdown(), false, "shutdown after an unclean close")
            helper.eq(enc:shutdown(), false, "and again")
            return err.description
        end)
    assert(sres[1] and c[1], tostring(sres[2]) .. " / " .. tostring(c[2]))
    results[#results + 1] = "vanished peer: " .. c[2]

    -- Read timeouts through the socket and the session name their own operation.
    sres, c = pair(function(conn)
            local enc = conn:encrypt(sctx)
            enc:server_handshake()
            conn:recv()  -- until the client closes
        end,
        function(s)
            local enc = s:encrypt(cctx)
            enc:client_handshake("localhost")
            s:set_timeout(0.1)
            local e1 = helper.raises("ETIMEDOUT", s.recv, s)
            helper.eq(e1.description, "Timed out on recv.", "socket recv timeout")
            local e2 = helper.raises("ETIMEDOUT", enc.read, enc)
            helper.eq(e2.description, "Timed out on read.", "session read timeout")
            helper.eq(e2["function"], "ratchet.ssl.session.read()", "function")
        end)
    assert(c[1], tostring(c[2]))

    -- A peer that stops reading: writes time out (session and socket names), and so does a
    -- shutdown waiting for a close_notify that never comes.
    local p, q = ratchet.socket.new_pair()
    local ep, eq = p:encrypt(sctx), q:encrypt(cctx)
    local ht = ratchet.thread.attach(function() ep:server_handshake() end)
    eq:client_handshake()
    ratchet.thread.wait_all({ ht })
    p:set_timeout(0.2)
    local big = string.rep("z", 8 << 20)
    local we = helper.raises("ETIMEDOUT", ep.write, ep, big)
    helper.eq(we.description, "Timed out on write.", "session write timeout")
    helper.eq(we["function"], "ratchet.ssl.session.write()", "function")
    q:set_timeout(0.2)
    helper.eq(select("#", eq:write("small")), 0, "write returns nothing")
    local se = helper.raises("ETIMEDOUT", q.send, q, big)
    helper.eq(se.description, "Timed out on send.", "socket send timeout")
    local sd = helper.raises("ETIMEDOUT", eq.shutdown, eq)
    helper.eq(sd.description, "Timed out on shutdown.", "shutdown timeout")
    helper.eq(sd["function"], "ratchet.ssl.session.shutdown()", "function")
    p:close(); q:close()

    -- Closing the socket under a thread parked in a handshake wakes it with EBADF.
    local a, b = ratchet.socket.new_pair()
    local parked_err
    local t = ratchet.thread.attach(function()
        parked_err = select(2, pcall(function() a:encrypt(sctx):server_handshake() end))
    end)
    ratchet.thread.yield()
    a:close()
    ratchet.thread.wait_all({ t })
    assert(ratchet.error.is(parked_err, "EBADF"), "closed under a handshake: " .. tostring(parked_err))
    b:close()

    -- Sessions refuse use after the socket is closed, and a socket is encrypted once.
    local x, y = ratchet.socket.new_pair()
    local ex = x:encrypt(sctx)
    helper.raises("EALREADY", x.encrypt, x, sctx)
    x:close()
    helper.raises("EBADF", ex.read, ex)
    helper.raises("EBADF", x.recv, x)
    helper.eq(ex:shutdown(), false, "shutdown of a closed session")
    helper.eq(ex:get_cipher(), nil, "no cipher once freed")
    y:close()

    local rounds = healthy.stop()
    assert(rounds > 20, "the healthy connection kept going (" .. rounds .. " round trips)")
    listener:close()
end)
for _, r in ipairs(results) do print(r) end
helper.eq(#results, 5, "failure cases")
print("ok")
