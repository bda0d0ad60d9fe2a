-- TLS defaults follow Mozilla's "intermediate" profile: a ratchet server refuses clients
-- that offer only RSA key exchange or CBC-SHA1 suites, a ratchet client refuses such
-- servers; ctx:set_ciphers changes the TLS 1.2 list, the TLS 1.3 suites and the groups.
-- A NUL in any host name argument (client_handshake, set_servername, verify_certificate)
-- is refused instead of truncating the name. Peers: openssl s_client and s_server.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local cert = tls.selfsigned("rsa")   -- RSA: the non-forward-secret suites need an RSA key

local function server_ctx()
    local ctx = ssl.new(ssl.TLS_server)
    ctx:load_certs(cert)
    return ctx
end

--- openssl s_client with `args` against a ratchet server using `ctx`: whether the
--- ratchet side's handshake succeeded, its cipher (or error) and s_client's output.
local function s_client_against(ctx, args)
    local listener, port = helper.listen()
    local job <close> = helper.spawn(string.format("openssl s_client -connect 127.0.0.1:%d -brief %s", port, args),
        {limit = 30})
    local client = listener:accept()
    client:set_timeout(10)
    local enc = client:encrypt(ctx)
    local ok, err = pcall(enc.server_handshake, enc)
    local cipher = ok and enc:get_cipher() or tostring(err)
    client:close()
    listener:close()
    helper.wait_until(function() return not helper.alive(job.pid) end, 10)
    return ok, cipher, job:output()
end

--- A ratchet client against openssl s_server with `args`: ok, cipher or error.
local function client_against_s_server(args, setup)
    local port, job = tls.s_server(string.format("-cert %s -key %s -rev %s", cert, cert, args))
    local ctx = ssl.new(ssl.TLS_client)
    ctx:load_cas(nil, cert)
    if setup then setup(ctx) end
    local s = helper.connect(port)
    s:set_timeout(10)
    local enc = s:encrypt(ctx)
    local ok, err = pcall(enc.client_handshake, enc, "localhost")
    local cipher = ok and enc:get_cipher() or tostring(err)
    s:close()
    job:stop()
    return ok, cipher
end

helper.run(function()
    -- server defaults: forward-secret AEAD only
    for _, case in ipairs({
        {"-tls1_2 -cipher AES128-SHA", false, "RSA key exchange, CBC-SHA1"},
        {"-tls1_2 -cipher AES256-GCM-SHA384", false, "RSA key exchange"},
        {"-tls1_2 -cipher ECDHE-RSA-AES128-SHA", false, "CBC-SHA1"},
        {"-tls1_2 -cipher ECDHE-RSA-AES256-SHA384", false, "CBC-SHA384"},
        {"-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256", true, "ECDHE AES-GCM"},
        {"-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305", true, "ECDHE ChaCha20"},
        {"-tls1_3", true, "TLS 1.3"},
    }) do
        local ok, cipher, out = s_client_against(server_ctx(), case[1])
        helper.eq(ok, case[2], "server default accepts " .. case[3] .. " (" .. cipher .. ")\n" .. out)
    end

    -- client defaults: a server that offers only RSA key exchange or CBC-SHA1 is refused
    helper.eq(client_against_s_server("-tls1_2 -cipher AES128-SHA"), false, "client refuses AES128-SHA")
    helper.eq(client_against_s_server("-tls1_2 -cipher ECDHE-RSA-AES128-SHA"), false, "client refuses CBC-SHA1")
    local ok, cipher = client_against_s_server("-tls1_2")
    assert(ok and cipher:find("ECDHE") and cipher:find("GCM"), "client default over TLS 1.2: " .. cipher)

    -- set_ciphers: an operator can re-enable a legacy suite, or narrow TLS 1.3 and groups
    local legacy = server_ctx()
    legacy:set_ciphers("AES128-SHA")
    ok, cipher = s_client_against(legacy, "-tls1_2 -cipher AES128-SHA")
    helper.eq(ok, true, "set_ciphers re-enabled AES128-SHA: " .. cipher)
    helper.eq(cipher, "AES128-SHA", "negotiated the re-enabled suite")

    local chacha = server_ctx()
    chacha:set_ciphers(nil, "TLS_CHACHA20_POLY1305_SHA256")
    ok, cipher = s_client_against(chacha, "-tls1_3")
    helper.eq(cipher, "TLS_CHACHA20_POLY1305_SHA256", "TLS 1.3 suite from set_ciphers")

    local p384 = server_ctx()
    p384:set_ciphers(nil, nil, "secp384r1")
    helper.eq((s_client_against(p384, "-groups X25519")), false, "no common group")
    helper.eq((s_client_against(p384, "-groups secp384r1")), true, "the configured group")

    ok, cipher = client_against_s_server("-tls1_2 -cipher AES128-SHA", function(ctx) ctx:set_ciphers("AES128-SHA") end)
    helper.eq(cipher, "AES128-SHA", "client set_ciphers")

    helper.raises_msg("Invalid cipher list 'NO-SUCH-CIPHER'", legacy.set_ciphers, legacy, "NO-SUCH-CIPHER")
    helper.raises_msg("Invalid groups 'nosuchcurve'", legacy.set_ciphers, legacy, nil, nil, "nosuchcurve")
    helper.raises_msg("contains a NUL byte", legacy.set_ciphers, legacy, "AES128-SHA\0RC4")
    helper.raises_msg("string expected", legacy.set_ciphers, legacy, {})

    -- NUL in a host name: refused before anything is sent
    local a, b = ratchet.socket.new_pair()
    local cctx = ssl.new(ssl.TLS_client)
    cctx:load_cas(nil, cert)
    local enc = a:encrypt(cctx)
    helper.raises_msg("host name contains a NUL byte", enc.client_handshake, enc, "localhost\0.evil.example")
    helper.raises_msg("host name contains a NUL byte", enc.set_servername, enc, "localhost\0.evil.example")
    helper.raises_msg("host name contains a NUL byte", enc.verify_certificate, enc, "localhost\0x")
    b:set_timeout(0)
    helper.raises("ETIMEDOUT", b.recv, b)   -- no ClientHello went out
    a:close(); b:close()

    -- and against a real server with a localhost certificate the truncated name cannot verify
    local port, job = tls.s_server(string.format("-cert %s -key %s -rev", cert, cert))
    local s = helper.connect(port)
    s:set_timeout(10)
    enc = s:encrypt(cctx)
    helper.raises_msg("NUL", enc.client_handshake, enc, "localhost\0.evil.example")
    s:close()
    job:stop()
end)
helper.stop_all()
print("ok")
