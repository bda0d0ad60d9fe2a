-- The ratchet.ssl namespace and context methods: method constants, argument and load
-- errors with the reference's texts, encrypted keys, DH parameters, create_session, and
-- socket:encrypt given a method constant (what slimta passes).
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")
local dir = certs.dir

-- The constants: light userdata, all distinct.
local names = { "SSLv3", "SSLv3_server", "SSLv3_client", "TLSv1", "TLSv1_server", "TLSv1_client",
    "TLS", "TLS_server", "TLS_client" }
local seen = {}
for _, name in ipairs(names) do
    local m = ssl[name]
    helper.eq(type(m), "userdata", name)
    assert(not seen[m], name .. " is distinct")
    seen[m] = true
    assert(ssl.new(m), "new(" .. name .. ")")
end
helper.eq(ssl.SSLv2, nil, "no SSLv2")
assert(ssl.new(), "new() defaults to SSLv3 (version-flexible)")
helper.raises_msg("light userdata expected, got string", ssl.new, "TLS")
assert(tostring(ssl.new()):find("^ratchet.ssl_ctx"), tostring(ssl.new()))
package.loaded["ratchet.ssl"] = nil
helper.eq(require("ratchet.ssl").new ~= nil, true, "require 'ratchet.ssl'")

local ctx = ssl.new(ssl.TLS_server)
-- load_certs: the reference's error texts.
helper.raises_msg("Could not read certificate chain file: /nonexistent.pem", ctx.load_certs, ctx, "/nonexistent.pem")
helper.raises_msg("Could not read key file: /nonexistent.key", ctx.load_certs, ctx, certs.server, "/nonexistent.key")
helper.raises_msg("Could not read key file: " .. certs.other_key, ctx.load_certs, ctx, certs.server, certs.other_key)
helper.raises_msg("string expected", ctx.load_certs, ctx)
helper.eq(select("#", ctx:load_certs(certs.server, certs.server_key)), 0, "load_certs returns nothing")
helper.eq(select("#", ctx:load_certs(certs.selfsigned)), 0, "key in the chain file")

-- Encrypted keys: the password argument (or new's), never a terminal prompt.
helper.sh_ok(string.format("openssl pkey -in %s -aes256 -passout pass:s3cret -out %s/enc.key", certs.server_key, dir))
local enckey = dir .. "/enc.key"
helper.raises_msg("Could not read key file", ctx.load_certs, ctx, certs.server, enckey)
helper.raises_msg("Could not read key file", ctx.load_certs, ctx, certs.server, enckey, "wrong")
ctx:load_certs(certs.server, enckey, "s3cret")
local pctx = ssl.new(ssl.TLS_server, "s3cret")
pctx:load_certs(certs.server, enckey)

-- load_cas.
local c = ssl.new(ssl.TLS_client)
helper.raises_msg("bad argument #2 to '?' (Path to trusted CAs required.)", c.load_cas, c)
helper.raises_msg("Could not read CA file: /nonexistent.pem", c.load_cas, c, nil, "/nonexistent.pem")
helper.raises_msg("Could not read CA locations: /nonexistent.pem /nonexistent", c.load_cas, c, "/nonexistent", "/nonexistent.pem")
helper.eq(select("#", c:load_cas(nil, certs.ca, 5)), 0, "load_cas returns nothing")
c:load_cas(dir)   -- a directory (lookups by hash; nothing is read now)
c:load_default_verify_paths()

-- Verification settings.
c:set_verify_mode()
for _, mode in ipairs({ "none", "peer", "fail", "once" }) do c:set_verify_mode(mode) end
helper.raises_msg("invalid option 'sometimes'", c.set_verify_mode, c, "sometimes")
helper.raises_msg("boolean expected", c.set_verify, c, "yes")
c:set_verify(true); c:set_verify(false)

-- The rest of the reference's methods.
c:load_randomness("/dev/urandom", 64)
helper.raises_msg("Could not load randomness: /nonexistent", c.load_randomness, c, "/nonexistent")
helper.sh_ok(string.format("openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out %s/dh.pem", dir))
ctx:load_dh_params(dir .. "/dh.pem")
helper.raises_msg("Could not open DH params file: /nonexistent", ctx.load_dh_params, ctx, "/nonexistent")
helper.raises_msg("Could not read DH params file: " .. certs.ca, ctx.load_dh_params, ctx, certs.ca)
helper.eq(select("#", ctx:generate_tmp_rsa(512)), 0, "generate_tmp_rsa is a no-op")

-- set_protocols (extension).
c:set_protocols("TLSv1.2", "TLSv1.3")
c:set_protocols("TLSv1.3")
helper.raises_msg("unknown protocol 'SSLv3'", c.set_protocols, c, "SSLv3")
helper.raises_msg("ratchet.ssl context expected", ssl.new().load_cas, {}, nil, "x")

helper.run(function()
    -- socket:encrypt(method constant): a default context, no verification (slimta).
    local sctx = ssl.new(ssl.TLSv1_server)
    sctx:load_certs(certs.server, certs.server_key)
    local a, b = ratchet.socket.new_pair()
    local ea = a:encrypt(sctx)
    local eb = b:encrypt(ssl.TLSv1)
    helper.eq(eb:get_protocol(), nil, "no protocol before the handshake")
    helper.eq(eb:get_cipher(), "(NONE)", "no cipher before the handshake")
    local t = ratchet.thread.attach(function() ea:server_handshake() end)
    eb:client_handshake()
    ratchet.thread.wait_all({ t })
    local got, ok = eb:verify_certificate()
    assert(got == true and ok == false, "verified against nothing")
    b:send("over TLS"); helper.eq(a:recv(), "over TLS", "data")
    assert(tostring(ea):find("^ratchet.ssl_session"), tostring(ea))
    a:close(); b:close()

    -- create_session: a session the socket does not route through (read/write directly).
    local x, y = ratchet.socket.new_pair()
    local ex = sctx:create_session(x)
    local ey = ssl.new(ssl.TLS_client):create_session(y)
    helper.eq(x:get_encryption(), nil, "not installed")
    helper.eq(ex:get_engine(), x, "engine")
    t = ratchet.thread.attach(function() ex:server_handshake() end)
    ey:client_handshake()
    ratchet.thread.wait_all({ t })
    ey:write("direct")
    helper.eq(ex:read(3), "dir", "read(maxlen)")
    helper.eq(ex:read(), "ect", "read")
    helper.eq(ex:read(0), "", "read(0)")
    helper.raises_msg("Cannot recv more than 1048576 bytes", ex.read, ex, (1 << 20) + 1)
    ex:write("")
    helper.raises_msg("BIO arguments are not supported", sctx.create_session, sctx, x, ssl.SSLv3)
    helper.raises_msg("ratchet.socket expected", sctx.create_session, sctx, {})
    helper.raises_msg("ratchet.ssl context expected", x.encrypt, x, "TLS")
    helper.raises_msg("ratchet.ssl.session expected", ex.read, x)
    x:close(); y:close()
end)
print("ok")
