-- STARTTLS and TLS-on-connect for ratchet.smtp (the reference's test_smtp_starttls and
-- test_smtp_tls), swaks --tls against the server (with AUTH offered only after TLS),
-- the client's STARTTLS against aiosmtpd, and plain text pipelined behind STARTTLS
-- being dropped (CVE-2011-0411).
local ratchet = require "ratchet"
local helper = require "helper"

assert(ratchet.ssl and ratchet.ssl.new, "ratchet.ssl is missing")

local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"
local client = require "ratchet.smtp.client"
local auth = require "ratchet.smtp.auth"

local cert = require("tls_helper").selfsigned("rsa")   -- key and certificate in one file

helper.run(function()
    local server_ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    server_ctx:load_certs(cert)
    local client_ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    client_ctx:load_cas(nil, cert)

    local listener, port = helper.listen()
    local sessions = {}
    local immediate = false
    peer.serve(listener, function(conn)
        local s = {}
        sessions[#sessions + 1] = s
        local h = {
            AUTH = auth.new{ tls_only = true, check = function(u, p) return u == "alice" and p == "pw" end },
        }
        function h:STARTTLS(reply, extensions) s.starttls_handler = true end
        function h:HAVE_DATA(reply, data) s.data = data end
        local srv = server.new(conn, h, server_ctx, immediate)
        s.server = srv
        return srv
    end)

    -- STARTTLS with the ratchet client (reference test_smtp_starttls).
    local sock = helper.connect(port)
    local c = client.new(sock)
    helper.eq(c:get_banner().code, "220", "banner")
    helper.eq(c:ehlo("me").code, "250", "EHLO")
    assert(c.extensions:has("STARTTLS"), "STARTTLS advertised")
    helper.eq(c.extensions:has("AUTH"), nil, "AUTH not offered before TLS")
    helper.eq(c:starttls().code, "220", "STARTTLS")
    local enc = c.io.socket:encrypt(client_ctx)
    enc:client_handshake()
    local got_cert, verified, host_ok = enc:verify_certificate("localhost")
    assert(got_cert and verified and host_ok, "certificate verified")
    helper.eq(c:ehlo("me").code, "250", "EHLO after TLS")
    helper.eq(c.extensions:has("STARTTLS"), nil, "no STARTTLS after TLS")
    helper.eq(c.extensions:has("AUTH"), "PLAIN LOGIN", "AUTH offered after TLS")
    helper.eq(c:auth("alice", "pw").code, "235", "AUTH over TLS")
    c:mailfrom("a@b")
    c:rcptto("c@d")
    c:data()
    helper.eq(c:send_data("over tls\r\n.dot").code, "250", "message over TLS")
    helper.eq(c:quit().code, "221", "QUIT")
    helper.eq(sessions[#sessions].data, "over tls\r\n.dot", "message received over TLS")
    assert(sessions[#sessions].server.using_tls, "server.using_tls")
    assert(sessions[#sessions].starttls_handler, "STARTTLS handler called")

    -- Plain text pipelined behind STARTTLS is dropped, not run as encrypted commands.
    local raw = peer.raw(helper.connect(port))
    raw:reply()
    raw:send("EHLO x\r\n")
    raw:reply()
    raw:send("STARTTLS\r\nMAIL FROM:<injected@evil>\r\n")
    helper.eq(raw:reply():sub(1, 3), "220", "STARTTLS before injection")
    enc = raw.sock:encrypt(client_ctx)
    enc:client_handshake()
    raw.buf = ""
    raw:send("EHLO x\r\n")
    raw:reply()
    raw:send("RCPT TO:<c@d>\r\n")
    helper.eq(raw:reply():sub(1, 3), "503", "injected MAIL was dropped")
    raw:send("QUIT\r\n")
    raw:reply()

    -- TLS on connect (reference test_smtp_tls): no STARTTLS advertised.
    immediate = true
    sock = helper.connect(port)
    enc = sock:encrypt(client_ctx)
    enc:client_handshake()
    c = client.new(sock)
    helper.eq(c:get_banner().code, "220", "banner over TLS")
    c:ehlo("me")
    helper.eq(c.extensions:has("STARTTLS"), nil, "no STARTTLS when TLS is immediate")
    helper.eq(c:quit().code, "221", "QUIT over TLS")
    assert(sessions[#sessions].server.using_tls, "using_tls when immediate")
    immediate = false

    -- swaks --tls with AUTH.
    local path = helper.write_tmp("Subject: swaks tls\n\nbody")
    local rc, out = helper.spawn(("swaks --server 127.0.0.1:%d --tls --auth PLAIN --auth-user alice --auth-password pw "
        .. "--from a@b --to c@d --data @%s"):format(port, path)):wait(60)
    helper.eq(rc, 0, "swaks --tls\n" .. out)
    helper.eq(sessions[#sessions].data, "Subject: swaks tls\r\n\r\nbody", "swaks message over TLS")
    assert(sessions[#sessions].server.using_tls, "swaks session used TLS")

    -- The client's STARTTLS against aiosmtpd.
    local dir = helper.tmpname("aiotls")
    os.execute("mkdir -p " .. dir)
    local aio <close>, aport = peer.aiosmtpd(dir, 1000000, nil, cert)
    c = client.new(helper.connect(aport))
    c:get_banner()
    c:ehlo("me")
    assert(c.extensions:has("STARTTLS"), "aiosmtpd offers STARTTLS")
    helper.eq(c:starttls().code, "220", "aiosmtpd STARTTLS")
    c.io.socket:encrypt(client_ctx):client_handshake()
    helper.eq(c:ehlo("me").code, "250", "EHLO after TLS with aiosmtpd")
    c:mailfrom("a@b")
    c:rcptto("c@d")
    c:data()
    helper.eq(c:send_data("tls to aiosmtpd").code, "250", "message to aiosmtpd over TLS")
    c:quit()
    local env = helper.wait_until(function() return helper.read_file(dir .. "/1.env") end, 10)
    assert(env and env:find("tls$"), "aiosmtpd saw TLS: " .. tostring(env))
    listener:close()
end)
print("ok")
