-- A TLS call's socket timeout bounds the whole call (issue 19): a peer trickling one byte
-- of a record every 0.15 s wakes the reader again and again, and each wake must not start
-- the timeout afresh. A relay thread between a TLS client and server (socket pairs in one
-- kernel) forwards each direction at full speed or one byte at a time; with a 0.5 s
-- timeout a handshake and a read of one record raise ETIMEDOUT after about 0.5 s (the
-- whole record would take a minute), and a normal exchange with the same timeout works.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local socket, ssl = ratchet.socket, ratchet.ssl

local TIMEOUT, BYTE_GAP = 0.5, 0.15
local certs = tls.certs()

-- Client socket, server socket and a stop function; `slow.c2s` / `slow.s2c` switch a
-- direction to one byte per BYTE_GAP.
local function link()
    local c, r1 = socket.new_pair()
    local r2, s = socket.new_pair()
    local slow = { c2s = false, s2c = false }
    local function pump(from, to, dir)
        while true do
            local d = from:recv()
            if d == "" then return end
            if slow[dir] then
                for i = 1, #d do
                    to:send(d:sub(i, i))
                    ratchet.thread.timer(BYTE_GAP)
                end
            else
                to:send(d)
            end
        end
    end
    local threads = {
        ratchet.thread.attach(pump, r1, r2, "c2s"),
        ratchet.thread.attach(pump, r2, r1, "s2c"),
    }
    local function stop(extra)
        for _, t in ipairs(extra or {}) do ratchet.thread.kill(t) end
        for _, t in ipairs(threads) do ratchet.thread.kill(t) end
        for _, sock in ipairs({ c, r1, r2, s }) do sock:close() end
    end
    return c, s, slow, stop
end

-- Runs `f` in a thread and returns its error (or "returned") and how long it took, or
-- nil when it is still blocked after 3 s (the timeout was restarted by the trickle).
local function timed(f)
    local result
    local t = ratchet.thread.attach(function()
        local start = ratchet.now()
        local ok, err = pcall(f)
        result = { err = ok and "returned" or err, took = ratchet.now() - start }
    end)
    local start = ratchet.now()
    while not result and ratchet.now() - start < 3 do ratchet.thread.timer(0.02) end
    if not result then ratchet.thread.kill(t) end
    return result
end

local function expect_timeout(result, what)
    assert(result, what .. ": still blocked after 3 s, so each trickled byte restarted the timeout")
    assert(ratchet.error.is(result.err, "ETIMEDOUT"), what .. ": expected ETIMEDOUT, got " .. tostring(result.err))
    assert(result.took >= TIMEOUT - 0.05 and result.took < TIMEOUT + 0.8,
        string.format("%s: timed out after %.2f s, not about %.1f s", what, result.took, TIMEOUT))
end

helper.run(function()
    local server_ctx = ssl.new(ssl.TLS_server)
    server_ctx:load_certs(certs.server, certs.server_key)
    local client_ctx = ssl.new(ssl.TLS_client)
    client_ctx:load_cas(nil, certs.ca)

    -- A normal exchange with the same timeout: handshakes, data both ways, shutdown.
    do
        local c, s, _, stop = link()
        c:set_timeout(TIMEOUT); s:set_timeout(TIMEOUT)
        local ec, es = c:encrypt(client_ctx), s:encrypt(server_ctx)
        local served
        local server = ratchet.thread.attach(function()
            es:server_handshake()
            helper.eq(es:read(), "ping", "server read")
            es:write("pong")
            helper.eq(s:recv(), "ping2", "server socket recv")
            s:send("pong2")
            helper.eq(es:shutdown(), true, "server shutdown")
            served = true
        end)
        ec:client_handshake("localhost")
        helper.eq(select(2, ec:verify_certificate("localhost")), true, "verified")
        ec:write("ping")
        helper.eq(ec:read(), "pong", "client read")
        c:send("ping2")
        helper.eq(c:recv(), "pong2", "client socket recv")
        helper.eq(ec:shutdown(), true, "client shutdown")
        ratchet.thread.wait_all({ server })
        assert(served, "the server side finished")
        stop()
    end

    -- server_handshake while the ClientHello trickles in.
    do
        local c, s, slow, stop = link()
        slow.c2s = true
        s:set_timeout(TIMEOUT)
        local ec, es = c:encrypt(client_ctx), s:encrypt(server_ctx)
        local client = ratchet.thread.attach(function() pcall(ec.client_handshake, ec, "localhost") end)
        expect_timeout(timed(function() es:server_handshake() end), "server_handshake")
        stop({ client })
    end

    -- client_handshake while the server's flight trickles back.
    do
        local c, s, slow, stop = link()
        slow.s2c = true
        c:set_timeout(TIMEOUT)
        local ec, es = c:encrypt(client_ctx), s:encrypt(server_ctx)
        local server = ratchet.thread.attach(function() pcall(es.server_handshake, es) end)
        expect_timeout(timed(function() ec:client_handshake("localhost") end), "client_handshake")
        stop({ server })
    end

    -- A read of one record (session read, then socket recv through the encryption) while
    -- the record trickles in after a handshake at full speed.
    for _, how in ipairs({ "session read", "socket recv" }) do
        local c, s, slow, stop = link()
        c:set_timeout(TIMEOUT); s:set_timeout(TIMEOUT)
        local ec, es = c:encrypt(client_ctx), s:encrypt(server_ctx)
        local server = ratchet.thread.attach(function()
            es:server_handshake()
            es:write("ready")
        end)
        ec:client_handshake("localhost")
        helper.eq(ec:read(), "ready", "ready before the trickle")
        ratchet.thread.wait_all({ server })
        slow.s2c = true
        es:write(string.rep("r", 300))
        if how == "session read" then
            expect_timeout(timed(function() ec:read() end), how)
        else
            expect_timeout(timed(function() c:recv() end), how)
        end
        stop()
    end
end)
print("ok")
