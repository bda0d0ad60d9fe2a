-- SNI and ALPN between two ratchet ends: the servername callback as a function and as a
-- table (case-insensitive), errors from the callback raised by server_handshake (never
-- inside OpenSSL), no callback without a name, and ALPN agreement, disagreement and absence.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")
local function sctx(cert, key)
    local c = ssl.new(ssl.TLS_server)
    c:load_certs(cert, key)
    return c
end
local default, other = sctx(certs.server, certs.server_key), sctx(certs.other, certs.other_key)
local cctx = ssl.new(ssl.TLS_client)
cctx:load_cas(nil, certs.ca)

--- One handshake over a socket pair: the server with `server_ctx`, the client sending
-- `name`. Returns the server's pcall results, the client's, and both sessions.
local function handshake(server_ctx, client_ctx, name)
    local a, b = ratchet.socket.new_pair()
    a:set_timeout(5); b:set_timeout(5)
    local ea, eb = a:encrypt(server_ctx), b:encrypt(client_ctx)
    local sres
    local t = ratchet.thread.attach(function()
        sres = table.pack(pcall(ea.server_handshake, ea))
        if not sres[1] then a:close() end
    end)
    local cres = table.pack(pcall(eb.client_handshake, eb, name))
    ratchet.thread.wait_all({ t })
    return sres, cres, ea, eb, a, b
end

local n = 0
helper.run(function()
    -- A function: called with the name; its context's certificate is used.
    local seen = {}
    local c1 = sctx(certs.server, certs.server_key)
    c1:set_servername_callback(function(name)
        seen[#seen + 1] = name
        if name == "other.example" then return other end
        return nil
    end)
    local s, c, ea, eb = handshake(c1, cctx, "other.example")
    assert(s[1] and c[1], tostring(s[2]) .. " / " .. tostring(c[2]))
    helper.eq(eb:get_peer_certificate().subject, "CN=other.example", "switched certificate")
    helper.eq(ea:get_servername(), "other.example", "server sees the name")
    helper.eq(eb:get_servername(), "other.example", "client's name")
    s, c, ea, eb = handshake(c1, cctx, "localhost")
    assert(s[1] and c[1])
    helper.eq(eb:get_peer_certificate().subject, "CN=localhost", "nil keeps the context")
    -- No name (an IP literal is not sent): the callback is not called.
    s, c = handshake(c1, cctx, "127.0.0.1")
    assert(s[1] and c[1])
    helper.eq(table.concat(seen, ","), "other.example,localhost", "callback calls")
    n = n + 1

    -- The chosen context brings its own ALPN list.
    local c4 = sctx(certs.server, certs.server_key)
    c4:set_alpn({ "h2" })
    local o4 = sctx(certs.other, certs.other_key)
    o4:set_alpn({ "smtp", "http/1.1" })
    c4:set_servername_callback({ ["other.example"] = o4 })
    local alpn_client = ssl.new(ssl.TLS_client)
    alpn_client:set_alpn({ "h2", "http/1.1" })
    s, c, ea, eb = handshake(c4, alpn_client, "other.example")
    assert(s[1] and c[1])
    helper.eq(eb:get_alpn(), "http/1.1", "ALPN of the chosen context")
    s, c, ea, eb = handshake(c4, alpn_client, "localhost")
    helper.eq(eb:get_alpn(), "h2", "ALPN of the default context")

    -- A table, read when set; names compare case-insensitively.
    local c2 = sctx(certs.server, certs.server_key)
    c2:set_servername_callback({ ["Other.Example"] = other, localhost = c2 })
    s, c, ea, eb = handshake(c2, cctx, "OTHER.example")
    assert(s[1], tostring(s[2]))
    helper.eq(ea:get_peer_certificate(), nil, "no client certificate")
    helper.eq(eb:get_peer_certificate().subject, "CN=other.example", "table choice")
    helper.eq(c[1], true, "verification compares names case-insensitively too")
    n = n + 1

    -- Errors of the callback come out of server_handshake; the kernel goes on.
    local boom = ratchet.error.new("boom", "EBOOM")
    local c3 = sctx(certs.server, certs.server_key)
    c3:set_servername_callback(function() error(boom) end)
    s, c = handshake(c3, cctx, "localhost")
    assert(not s[1] and s[2] == boom, "the callback's own error: " .. tostring(s[2]))
    assert(not c[1], "the client fails too")
    c3:set_servername_callback(function() return 42 end)
    s = handshake(c3, cctx, "localhost")
    assert(not s[1] and tostring(s[2]):find("servername callback must return a ratchet.ssl context or nil", 1, true), tostring(s[2]))
    c3:set_servername_callback(function() ratchet.thread.timer(0.01) end)
    s = handshake(c3, cctx, "localhost")
    assert(not s[1] and tostring(s[2]):find("yield", 1, true), "blocking in the callback: " .. tostring(s[2]))
    c3:set_servername_callback(nil)
    s, c = handshake(c3, cctx, "localhost")
    assert(s[1] and c[1], "callback removed")
    helper.raises_msg("function or table expected", c3.set_servername_callback, c3, 5)
    helper.raises_msg("servername table must map", c3.set_servername_callback, c3, { x = 1 })
    n = n + 1

    -- ALPN: agreement by the server's order, no overlap, one side without ALPN.
    local function alpn(server_list, client_list)
        local sc, cc = sctx(certs.server, certs.server_key), ssl.new(ssl.TLS_client)
        if server_list then sc:set_alpn(server_list) end
        if client_list then cc:set_alpn(client_list) end
        local s2, c2r, ea2, eb2 = handshake(sc, cc)
        assert(s2[1] and c2r[1], tostring(s2[2]) .. tostring(c2r[2]))
        helper.eq(ea2:get_alpn(), eb2:get_alpn(), "both ends agree")
        return ea2:get_alpn()
    end
    helper.eq(alpn({ "h2", "http/1.1" }, { "http/1.1", "h2" }), "h2", "server preference")
    helper.eq(alpn({ "smtp", "http/1.1" }, { "h2", "http/1.1" }), "http/1.1", "the common one")
    helper.eq(alpn({ "h2" }, { "http/1.1" }), nil, "no overlap: no ALPN, still connected")
    helper.eq(alpn(nil, { "h2" }), nil, "server without ALPN")
    helper.eq(alpn({ "h2" }, nil), nil, "client without ALPN")
    helper.eq(alpn({}, {}), nil, "cleared")
    local cx = ssl.new()
    helper.raises_msg("table expected", cx.set_alpn, cx, "h2")
    helper.raises_msg("1 to 255 bytes", cx.set_alpn, cx, { "" })
    helper.raises_msg("1 to 255 bytes", cx.set_alpn, cx, { string.rep("x", 256) })
    helper.raises_msg("1 to 255 bytes", cx.set_alpn, cx, { 5 })
    n = n + 1
end)
helper.eq(n, 4, "parts")
print("ok")
