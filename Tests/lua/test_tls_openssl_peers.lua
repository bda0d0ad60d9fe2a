-- Interoperability with real peers: `openssl s_server` as the server for ratchet clients and
-- `openssl s_client` as the client of a ratchet server, over TLS 1.3 and TLS 1.2, with SNI
-- (the server's choice of certificate by name) and ALPN, on IPv4 and IPv6 loopback.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")
local done = {}

--- Reads from `s` until `want` has arrived (or EOF); returns what was read.
local function recv_until(s, want)
    local got = ""
    while not got:find(want, 1, true) do
        local data = s:recv()
        if data == "" then break end
        got = got .. data
    end
    return got
end

local function client_ctx()
    local ctx = ssl.new(ssl.TLS_client)
    ctx:load_cas(nil, certs.ca)   -- a CA source: verification is on by default
    return ctx
end

helper.run(function()
    -- ratchet client → s_server, TLS 1.3, ALPN: the server picks from its own order.
    do
        local port = tls.s_server(string.format("-cert %s -key %s -rev -alpn h2,http/1.1", certs.server, certs.server_key))
        local ctx = client_ctx()
        ctx:set_alpn({ "http/1.1", "h2" })
        local s = helper.connect(port)
        s:set_timeout(10)
        local enc = s:encrypt(ctx)
        enc:client_handshake("localhost")
        helper.eq(enc:get_protocol(), "TLSv1.3", "protocol")
        helper.eq(enc:get_alpn(), "h2", "ALPN chosen by the server's preference")
        helper.eq(enc:get_servername(), "localhost", "SNI the client sent")
        local cert = enc:get_peer_certificate()
        helper.eq(cert.subject, "CN=localhost", "subject")
        helper.eq(cert.issuer, "CN=Ratchet-Test-CA", "issuer")
        helper.eq(table.concat(cert.sans, " "), "localhost 127.0.0.1 ::1", "subjectAltNames")
        assert(cert.not_after > os.time() + 20 * 86400 and cert.not_after < os.time() + 31 * 86400, "not_after")
        assert(cert.not_before <= os.time() + 60, "not_before")
        assert(cert.serial:match("^%x+$"), "serial")
        s:send("hello\n")
        helper.eq(recv_until(s, "\n"), "olleh\n", "s_server -rev echo")
        helper.eq(select(3, enc:verify_certificate("127.0.0.1")), true, "IP SAN matches")
        s:close()
        done[#done + 1] = "s_server tls1.3"
    end

    -- ratchet client → s_server limited to TLS 1.2.
    do
        local port = tls.s_server(string.format("-cert %s -key %s -rev -tls1_2", certs.server, certs.server_key))
        local s = helper.connect(port)
        s:set_timeout(10)
        local enc = s:encrypt(client_ctx())
        enc:client_handshake("localhost")
        helper.eq(enc:get_protocol(), "TLSv1.2", "protocol")
        assert(enc:get_cipher():find("ECDHE"), "a forward-secret TLS 1.2 cipher: " .. enc:get_cipher())
        helper.eq(enc:get_alpn(), nil, "no ALPN offered")
        s:send("abc\n")
        helper.eq(recv_until(s, "\n"), "cba\n", "echo over TLS 1.2")
        helper.eq(enc:shutdown(false), true, "close_notify sent")
        s:close()
        done[#done + 1] = "s_server tls1.2"
    end

    -- SNI: s_server answers other.example with its second certificate; over IPv6 loopback.
    do
        local port = tls.s_server(string.format("-cert %s -key %s -rev -servername other.example -cert2 %s -key2 %s",
            certs.server, certs.server_key, certs.other, certs.other_key))
        for _, name in ipairs({ "other.example", "localhost" }) do
            local s = helper.connect(port, "::1")
            s:set_timeout(10)
            local enc = s:encrypt(client_ctx())
            enc:set_servername(name)
            enc:client_handshake()  -- verifies the chain and `name`
            helper.eq(enc:get_peer_certificate().subject, "CN=" .. name, "certificate chosen by SNI")
            s:send("sni\n")
            helper.eq(recv_until(s, "\n"), "ins\n", "echo")
            s:close()
        end
        -- An IP literal is not sent as SNI, and is verified against the IP SANs.
        local s = helper.connect(port, "::1")
        local enc = s:encrypt(client_ctx())
        enc:client_handshake("::1")
        helper.eq(enc:get_servername(), nil, "no SNI for an IP literal")
        helper.eq(enc:get_peer_certificate().subject, "CN=localhost", "default certificate")
        s:close()
        done[#done + 1] = "s_server sni"
    end

    -- s_client → ratchet server: SNI picks a context through the callback, ALPN, both
    -- protocol versions; s_client verifies the chain and the name and fails otherwise.
    local server_ctx = ssl.new(ssl.TLS_server)
    server_ctx:load_certs(certs.server, certs.server_key)
    server_ctx:set_alpn({ "h2", "http/1.1" })
    local other_ctx = ssl.new(ssl.TLS_server)
    other_ctx:load_certs(certs.other, certs.other_key)
    other_ctx:set_alpn({ "h2", "http/1.1" })
    local asked = {}
    server_ctx:set_servername_callback(function(name)
        asked[#asked + 1] = name
        if name == "other.example" then return other_ctx end
    end)
    local listener, port = helper.listen()
    local input = helper.write_tmp("ping\n", "input")

    local cases = {
        { version = "-tls1_3", name = "other.example", alpn = "http/1.1", proto = "TLSv1.3" },
        { version = "-tls1_2", name = "localhost", alpn = "h2", proto = "TLSv1.2" },
    }
    for _, case in ipairs(cases) do
        local client = helper.spawn(string.format(
            "openssl s_client -connect 127.0.0.1:%d %s -servername %s -alpn %s -CAfile %s -verify_return_error -verify_hostname %s -ign_eof",
            port, case.version, case.name, case.alpn, certs.ca, case.name), {input = input})
        local conn = listener:accept()
        conn:set_timeout(10)
        local enc = conn:encrypt(server_ctx)
        enc:server_handshake()
        helper.eq(enc:get_servername(), case.name, "SNI received")
        helper.eq(enc:get_alpn(), case.alpn, "ALPN selected")
        helper.eq(enc:get_protocol(), case.proto, "protocol")
        helper.eq(recv_until(conn, "\n"), "ping\n", "data from s_client")
        conn:send("pong\n")
        helper.eq(enc:shutdown(), true, "shutdown answered by s_client")
        conn:close()
        local _, out = client:wait(15)
        assert(out:find("pong", 1, true), "s_client got the reply:\n" .. out)
        assert(out:find("Verify return code: 0 (ok)", 1, true), "s_client verified:\n" .. out)
        assert(out:find("ALPN protocol: " .. case.alpn, 1, true), "s_client ALPN:\n" .. out)
        assert(out:find("subject=CN = " .. case.name, 1, true), "certificate for the SNI name:\n" .. out)
        assert(out:find("New, " .. case.proto, 1, true), "s_client protocol:\n" .. out)
    end
    helper.eq(table.concat(asked, ","), "other.example,localhost", "the callback saw each name")
    listener:close()
    done[#done + 1] = "s_client"
    helper.stop_all()
end)
helper.stop_all()
helper.eq(#done, 4, "parts done")
print("ok")
