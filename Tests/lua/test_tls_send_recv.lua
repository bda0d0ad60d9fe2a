-- The reference's test_ssl_send_recv, ported: a plain exchange, then both ends encrypt the
-- same connection (the reference's SSLv3_* method names, its cert.pem holding the key and a
-- self-signed CN=localhost), verify, compare ciphers (not hard-coded: TLS 1.3 today),
-- exchange encrypted data through socket send/recv, and shut down.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local socket, ssl = ratchet.socket, ratchet.ssl

local cert = tls.selfsigned("rsa")   -- RSA-2048: the reference used RSA (1024, too small today)
local counter = 0
helper.run(function()
    local ssl1 = ssl.new(ssl.SSLv3_server)
    ssl1:load_certs(cert)
    local ssl2 = ssl.new(ssl.SSLv3_client)
    ssl2:load_cas(nil, cert)

    local rec = socket.prepare_tcp("localhost", 0, "AF_INET")
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()
    local server_cipher

    ratchet.thread.attach(function()
        local client = server:accept()
        helper.eq(client:recv(), "not encrypted", "plain recv")
        client:send("yet")
        local enc = client:encrypt(ssl1)
        helper.eq(client:get_encryption(), enc, "get_encryption")
        helper.eq(enc:get_engine(), client, "get_engine")
        helper.eq(select("#", enc:server_handshake()), 0, "server_handshake returns nothing")
        server_cipher = enc:get_cipher()
        -- No client certificate was asked for: only got_cert = false, with three values.
        local n = select("#", enc:verify_certificate())
        helper.eq(n, 3, "verify_certificate always returns three values")
        helper.eq(enc:verify_certificate(), false, "no client certificate")
        helper.eq(enc:get_rfc2253(), nil, "no client subject")
        helper.eq(client:recv(), "hello", "encrypted recv")
        client:send("world")
        helper.eq(client:recv(), "", "close_notify reads as end of stream")
        helper.eq(enc:shutdown(), true, "server shutdown after the peer's close_notify")
        client:close()
        counter = counter + 1
    end)

    local crec = socket.prepare_tcp("localhost", port, "AF_INET")
    local sock = socket.new(crec.family, crec.socktype, crec.protocol)
    sock:connect(crec.addr)
    sock:send("not encrypted")
    helper.eq(sock:recv(), "yet", "plain reply")
    local enc = sock:encrypt(ssl2)
    enc:client_handshake()
    local got_cert, verified, host_matched = enc:verify_certificate(crec.host)
    helper.eq(got_cert, true, "got_cert")
    helper.eq(verified, true, "verified")
    helper.eq(host_matched, true, "host_matched")
    local a, b, c = enc:verify_certificate("otherhost")
    assert(a and b and c == false, "otherhost must not match")
    local cipher = enc:get_cipher()
    assert(type(cipher) == "string" and #cipher > 0, "cipher name")
    helper.eq(enc:get_rfc2253(), "CN=localhost", "peer subject")
    helper.eq(enc:get_protocol(), "TLSv1.3", "TLS 1.3 by default")
    sock:send("hello")
    helper.eq(sock:recv(), "world", "encrypted reply")
    helper.eq(server_cipher, cipher, "both ends agree on the cipher")
    counter = counter + 1
    helper.eq(enc:shutdown(), true, "client shutdown")
    sock:close()
    server:close()
    counter = counter + 1
end)
helper.eq(counter, 3, "counter")
print("ok")
