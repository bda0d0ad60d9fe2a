-- Certificate verification: what a client verifies by default, the EVERIFY errors for a
-- wrong name, an expired and an untrusted certificate (each failing only its own
-- connection while another connection keeps talking), turning verification off,
-- verify_certificate's three values, client certificates, and the system CA store.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")

local function server_ctx(cert, key)
    local ctx = ssl.new(ssl.TLS_server)
    ctx:load_certs(cert, key)
    return ctx
end

local function trusting_client()
    local ctx = ssl.new(ssl.TLSv1_client)   -- slimta's name: version-flexible now
    ctx:load_cas(nil, certs.ca)
    return ctx
end

local checks = 0
helper.run(function()
    local listener, port = helper.listen()

    -- Another connection that keeps exchanging data while the failures happen (its client
    -- sends no server name).
    local bystander = tls.bystander(server_ctx(certs.server, certs.server_key), ssl.new(ssl.TLS_client))

    --- One connection: the server side runs in its own thread with `sctx` and reports its
    -- outcome; `client(enc)` runs the client side on a context. Returns the server's error.
    local function connect(sctx, cctx, client)
        local server_err
        local t = ratchet.thread.attach(function()
            local conn = listener:accept()
            conn:set_timeout(10)
            local enc = conn:encrypt(sctx)
            local ok, err = pcall(enc.server_handshake, enc)
            if ok then
                -- TLS 1.3: a client's rejection of our certificate, or our rejection of its,
                -- arrives after our side of the handshake; the first read sees it.
                ok, err = pcall(conn.recv, conn)
                if ok and err ~= "" then conn:send(err) end
            end
            server_err = not ok and err or nil
            conn:close()
        end)
        local s = helper.connect(port)
        s:set_timeout(10)
        local enc = s:encrypt(cctx)
        client(enc, s)
        s:close()
        ratchet.thread.wait_all({ t })
        return server_err
    end

    local function fails(code, text, sctx, cctx, host)
        local server_err = connect(sctx, cctx, function(enc)
            local err = helper.raises(code, enc.client_handshake, enc, host)
            assert(err.description:find(text, 1, true), "description '" .. err.description .. "' lacks '" .. text .. "'")
            helper.eq(err["function"], "ratchet.ssl.session.client_handshake()", "function")
        end)
        assert(ratchet.error.is(server_err, "SSLERROR"), "the server sees the client's alert: " .. tostring(server_err))
        assert(server_err.description:find("alert", 1, true), server_err.description)
        bystander.alive()
        checks = checks + 1
    end

    local good = server_ctx(certs.server, certs.server_key)

    -- Verified by default (the context has CAs): chain and name.
    for _, host in ipairs({ "localhost", "127.0.0.1" }) do
        connect(good, trusting_client(), function(enc, s)
            enc:client_handshake(host)
            local got, ok, matched = enc:verify_certificate(host)
            assert(got and ok and matched, "verified " .. host)
            s:send("x")
            helper.eq(s:recv(), "x", "echo")
            checks = checks + 1
        end)
    end

    fails("EVERIFY", "hostname mismatch", good, trusting_client(), "wrong.example")
    fails("EVERIFY", "IP address mismatch", good, trusting_client(), "10.1.2.3")
    fails("EVERIFY", "hostname mismatch", server_ctx(certs.wrong, certs.wrong_key), trusting_client(), "localhost")
    fails("EVERIFY", "certificate has expired", server_ctx(certs.expired, certs.expired_key), trusting_client(), "localhost")
    fails("EVERIFY", "self-signed certificate", server_ctx(certs.untrusted, certs.untrusted_key), trusting_client(), "localhost")
    -- load_default_verify_paths: the system store does not know the test CA.
    local system = ssl.new(ssl.TLS_client)
    system:load_default_verify_paths()
    fails("EVERIFY", "unable to get local issuer certificate", good, system, "localhost")

    -- Turned off explicitly: the handshake succeeds, verify_certificate still tells.
    local off = trusting_client()
    off:set_verify(false)
    connect(server_ctx(certs.expired, certs.expired_key), off, function(enc)
        enc:client_handshake("localhost")
        local n = select("#", enc:verify_certificate())
        helper.eq(n, 3, "three values without a host")
        local got, ok, matched = enc:verify_certificate("localhost")
        assert(got == true and ok == false and matched == true, "expired: true,false,true")
        helper.eq(select(3, enc:verify_certificate()), nil, "host_matched nil without a host")
        checks = checks + 1
    end)
    local none = trusting_client()
    none:set_verify_mode("none")
    connect(server_ctx(certs.wrong, certs.wrong_key), none, function(enc)
        enc:client_handshake("localhost")
        local got, ok, matched = enc:verify_certificate("localhost")
        assert(got == true and ok == true and matched == false, "wrong name: true,true,false")
        checks = checks + 1
    end)
    -- No CA source: nothing verified by default (the reference's behaviour).
    connect(server_ctx(certs.untrusted, certs.untrusted_key), ssl.new(ssl.TLSv1_client), function(enc)
        enc:client_handshake()
        local got, ok = enc:verify_certificate()
        assert(got == true and ok == false, "no CAs: true,false")
        checks = checks + 1
    end)
    -- Verification on without a host: the chain is checked, the name is not.
    local chain_only = ssl.new(ssl.TLS_client)
    chain_only:load_cas(nil, certs.ca)
    chain_only:set_verify(true)
    connect(server_ctx(certs.wrong, certs.wrong_key), chain_only, function(enc)
        enc:client_handshake()
        local got, ok, matched = enc:verify_certificate("localhost")
        assert(got and ok and matched == false, "chain verified, name not")
        checks = checks + 1
    end)

    -- Client certificates: a server that requires one.
    local mutual = server_ctx(certs.server, certs.server_key)
    mutual:load_cas(nil, certs.ca)
    mutual:set_verify(true)
    local with_cert = trusting_client()
    with_cert:load_certs(certs.client, certs.client_key)
    local server_saw
    local t = ratchet.thread.attach(function()
        local conn = listener:accept()
        local enc = conn:encrypt(mutual)
        enc:server_handshake()
        server_saw = { enc:verify_certificate() }
        server_saw.subject = enc:get_peer_certificate().subject
        conn:send("ok")
        conn:close()
    end)
    local s = helper.connect(port)
    s:encrypt(with_cert):client_handshake("localhost")
    helper.eq(s:recv(), "ok", "mutual TLS data")
    s:close()
    ratchet.thread.wait_all({ t })
    assert(server_saw[1] == true and server_saw[2] == true and server_saw[3] == nil, "client certificate verified")
    helper.eq(server_saw.subject, "CN=ratchet-client", "client subject")
    local server_err = connect(mutual, trusting_client(), function(enc, s)
        enc:client_handshake("localhost")
        -- TLS 1.3: the server's verdict on the (missing) client certificate comes after.
        helper.raises("SSLERROR", s.recv, s)
    end)
    assert(ratchet.error.is(server_err, "SSLERROR") and server_err.description:find("certificate"),
        "server requires a client certificate: " .. tostring(server_err))
    checks = checks + 1

    local ticks = bystander.stop()
    assert(ticks > 18, "the bystander connection kept going (" .. ticks .. " round trips)")
    listener:close()
end)
helper.eq(checks, 13, "checks")

-- The system store honours SSL_CERT_FILE: a child process trusts the test CA through it.
local script = helper.write_tmp(string.format([[
local ratchet = require "ratchet"
local ssl = ratchet.ssl
ratchet.new(function()
    local sctx = ssl.new(ssl.TLS_server)
    sctx:load_certs(%q, %q)
    local cctx = ssl.new(ssl.TLS_client)
    cctx:load_default_verify_paths()
    local a, b = ratchet.socket.new_pair()
    local ea, eb = a:encrypt(sctx), b:encrypt(cctx)
    ratchet.thread.attach(function() ea:server_handshake() end)
    eb:client_handshake("localhost")
    local got, ok, matched = eb:verify_certificate("localhost")
    print(got, ok, matched)
end):loop()
]], certs.server, certs.server_key), "system.lua")
local out, ok = helper.sh("SSL_CERT_FILE=" .. certs.ca .. " lua5.4 " .. script)
assert(ok, out)
helper.eq(out, "true\ttrue\ttrue", "system store from SSL_CERT_FILE")
print("ok")
