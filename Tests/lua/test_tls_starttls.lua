-- STARTTLS: upgrading a plain connection after a plain exchange, on both sides — between
-- two ratchet ends, against `openssl s_client -starttls smtp` (ratchet as the server) and
-- against a Python ssl server (ratchet as the client) — including a client that sends its
-- ClientHello right behind the STARTTLS command, read by the server in one recv or not.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local certs = tls.certs("ec")
local sctx = ssl.new(ssl.TLSv1_server)
sctx:load_certs(certs.server, certs.server_key)
local cctx = ssl.new(ssl.TLSv1_client)
cctx:load_cas(nil, certs.ca)

--- A line reader over a socket that keeps what it read past the line.
local function reader(s)
    local buf = ""
    local r = {}
    function r.line()
        while not buf:find("\r\n", 1, true) do
            local d = s:recv()
            if d == "" then error("connection closed while reading a line") end
            buf = buf .. d
        end
        local line, rest = buf:match("^(.-)\r\n(.*)$")
        buf = rest
        return line
    end
    function r.take()  -- what was read beyond the last line
        local b = buf
        buf = ""
        return b
    end
    return r
end

local done = {}
helper.run(function()
    local listener, port = helper.listen()

    --- A small SMTP-like server: banner, EHLO, STARTTLS, then EHLO again over TLS.
    -- `reply_220` false: the client pipelines its ClientHello, so no plain reply is sent.
    -- `exact`: read the STARTTLS command with recv(#command), leaving the rest in the kernel.
    local function serve(conn, opts)
        conn:set_timeout(10)
        local r = reader(conn)
        conn:send("220 ratchet ESMTP\r\n")
        helper.eq(r.line(), "EHLO client", "plain EHLO")
        conn:send("250-ratchet\r\n250 STARTTLS\r\n")
        -- Give a pipelining client time to get its ClientHello out behind the command.
        if opts.reply_220 == false then ratchet.thread.timer(0.1) end
        local pending
        if opts.exact then
            helper.eq(conn:recv(#"STARTTLS\r\n"), "STARTTLS\r\n", "exact read of the command")
        else
            helper.eq(r.line(), "STARTTLS", "STARTTLS")
            pending = r.take()
        end
        if opts.reply_220 ~= false then conn:send("220 2.0.0 go ahead\r\n") end
        if opts.expect_pending then
            assert(#pending > 0 and pending:byte(1) == 22, "the ClientHello arrived with the command")
        end
        local enc = conn:encrypt(sctx, pending)
        enc:server_handshake()
        local er = reader(conn)
        helper.eq(er.line(), "EHLO client", "EHLO over TLS")
        conn:send("250 ratchet secured\r\n")
        helper.eq(er.line(), "QUIT", "QUIT")
        conn:send("221 bye\r\n")
        enc:shutdown()
        conn:close()
    end

    local function client(opts)
        local s = helper.connect(port)
        s:set_timeout(10)
        s:setsockopt("TCP_NODELAY", true)
        local r = reader(s)
        helper.eq(r.line(), "220 ratchet ESMTP", "banner")
        s:send("EHLO client\r\n")
        helper.eq(r.line(), "250-ratchet", "ehlo 1")
        helper.eq(r.line(), "250 STARTTLS", "ehlo 2")
        s:send("STARTTLS\r\n")
        if opts.reply_220 ~= false then helper.eq(r.line(), "220 2.0.0 go ahead", "go ahead") end
        local enc = s:encrypt(cctx, r.take())
        enc:client_handshake("localhost")
        local er = reader(s)
        s:send("EHLO client\r\n")
        helper.eq(er.line(), "250 ratchet secured", "reply over TLS")
        s:send("QUIT\r\n")
        helper.eq(er.line(), "221 bye", "bye")
        helper.eq(enc:shutdown(), true, "client shutdown")
        s:close()
    end

    local variants = {
        { name = "reply then handshake" },
        { name = "pipelined ClientHello, one recv", reply_220 = false, expect_pending = true },
        { name = "pipelined ClientHello, exact recv", reply_220 = false, exact = true },
    }
    for _, v in ipairs(variants) do
        local t = ratchet.thread.attach(function() serve(listener:accept(), v) end)
        client(v)
        ratchet.thread.wait_all({ t })
        done[#done + 1] = v.name
    end

    -- openssl s_client -starttls smtp against the ratchet server.
    local input = helper.write_tmp("EHLO client\r\nQUIT\r\n", "smtp-input")
    local client = helper.spawn(string.format(
        "openssl s_client -connect 127.0.0.1:%d -starttls smtp -CAfile %s -verify_return_error -verify_hostname localhost -ign_eof",
        port, certs.ca), {input = input})
    local conn = listener:accept()
    conn:set_timeout(10)
    local r = reader(conn)
    conn:send("220 ratchet ESMTP\r\n")
    assert(r.line():match("^EHLO "), "s_client's EHLO")
    conn:send("250-ratchet\r\n250 STARTTLS\r\n")
    helper.eq(r.line(), "STARTTLS", "s_client's STARTTLS")
    conn:send("220 2.0.0 go ahead\r\n")
    local enc = conn:encrypt(sctx, r.take())
    enc:server_handshake()
    local er = reader(conn)
    helper.eq(er.line(), "EHLO client", "EHLO over TLS from s_client")
    conn:send("250 ratchet secured\r\n")
    helper.eq(er.line(), "QUIT", "QUIT from s_client")
    conn:send("221 bye\r\n")
    enc:shutdown()
    conn:close()
    local _, out = client:wait(15)
    assert(out:find("250 ratchet secured", 1, true), "s_client got the TLS reply:\n" .. out)
    assert(out:find("Verify return code: 0 (ok)", 1, true), "s_client verified:\n" .. out)
    done[#done + 1] = "s_client -starttls smtp"

    -- The ratchet client against a Python ssl server doing the same upgrade.
    local py = helper.write_tmp(string.format([[
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(%q, %q)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print("PORT", srv.getsockname()[1], flush=True)
c, _ = srv.accept()
f = c.makefile("rb")
c.sendall(b"220 python ESMTP\r\n")
assert f.readline() == b"EHLO client\r\n"
c.sendall(b"250-python\r\n250 STARTTLS\r\n")
assert f.readline() == b"STARTTLS\r\n"
c.sendall(b"220 2.0.0 go ahead\r\n")
t = ctx.wrap_socket(c, server_side=True)
tf = t.makefile("rb")
assert tf.readline() == b"EHLO client\r\n"
t.sendall(b"250 ratchet secured\r\n")
assert tf.readline() == b"QUIT\r\n"
t.sendall(b"221 bye\r\n")
version = t.version()
t.unwrap()
print("DONE", version, flush=True)
]], certs.server, certs.server_key), "starttls.py")
    local pyserver = helper.spawn("python3 " .. py)
    local pport = tonumber(pyserver:wait_for("PORT (%d+)"))
    local s = helper.connect(pport)
    s:set_timeout(10)
    r = reader(s)
    helper.eq(r.line(), "220 python ESMTP", "python banner")
    s:send("EHLO client\r\n")
    r.line(); r.line()
    s:send("STARTTLS\r\n")
    helper.eq(r.line(), "220 2.0.0 go ahead", "python go ahead")
    local cenc = s:encrypt(cctx, r.take())
    cenc:client_handshake("localhost")
    er = reader(s)
    s:send("EHLO client\r\n")
    helper.eq(er.line(), "250 ratchet secured", "python reply over TLS")
    s:send("QUIT\r\n")
    helper.eq(er.line(), "221 bye", "python bye")
    helper.eq(cenc:shutdown(), true, "python answered close_notify (unwrap)")
    s:close()
    local _, pyout = pyserver:wait(15)
    assert(pyout:find("DONE TLSv1.3", 1, true), "python side finished:\n" .. pyout)
    done[#done + 1] = "python server"
    listener:close()
    helper.stop_all()
end)
helper.stop_all()
helper.eq(#done, 5, "variants")
print("ok")
