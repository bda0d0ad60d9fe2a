-- Accepted TCP sockets have TCP_NODELAY (as nginx sets it): the first reply after a TLS 1.3
-- handshake used to wait ~44 ms (Nagle's algorithm holding the reply behind the session
-- tickets until the client's delayed ACK). A listener's setting is inherited by what it
-- accepts, so setsockopt("TCP_NODELAY", false) on the listener turns it off again.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local cert = tls.selfsigned("ec")

local function first_reply_ms(listener, port, sctx, cctx)
    -- the best of five: a loaded machine delays some replies, Nagle delays every one
    local best = math.huge
    for _ = 1, 5 do
        local server = ratchet.thread.attach(function()
            local c = listener:accept()
            local enc = c:encrypt(sctx)
            enc:server_handshake()
            helper.eq(c:recv(), "ping", "request")
            c:send("pong")
            helper.eq(c:recv(), "", "client closed")
            c:close()
        end)
        local s = helper.connect(port)
        s:set_timeout(10)
        local enc = s:encrypt(cctx)
        enc:client_handshake("localhost")
        local t0 = ratchet.now()
        s:send("ping")
        helper.eq(s:recv(), "pong", "reply")
        best = math.min(best, (ratchet.now() - t0) * 1000)
        enc:shutdown(false)
        s:close()
        ratchet.thread.wait_all({server})
    end
    return best
end

helper.run(function()
    local sctx = ssl.new(ssl.TLS_server)
    sctx:load_certs(cert)
    local cctx = ssl.new(ssl.TLS_client)
    cctx:load_cas(nil, cert)

    local listener, port = helper.listen()
    local probe = ratchet.thread.attach(function()
        local c = listener:accept()
        helper.eq(c:getsockopt("TCP_NODELAY"), true, "accepted TCP socket has TCP_NODELAY")
        c:close()
    end)
    helper.connect(port):close()
    ratchet.thread.wait_all({probe})

    local fast = first_reply_ms(listener, port, sctx, cctx)
    assert(fast < 30, string.format("first reply after the TLS 1.3 handshake took %.1f ms", fast))

    -- opting out on the listener brings Nagle back: this is what the default avoids
    listener:setsockopt("TCP_NODELAY", false)
    local slow = first_reply_ms(listener, port, sctx, cctx)
    print(string.format("first reply: %.1f ms with TCP_NODELAY, %.1f ms without", fast, slow))
    assert(slow > 30, "without TCP_NODELAY the reply waits for the delayed ACK: " .. slow)
    listener:close()
end)
print("ok")
