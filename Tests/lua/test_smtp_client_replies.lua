-- The SMTP client against scripted server replies (no network): reply parsing whatever
-- the read boundaries, EHLO extensions, PIPELINING batching, what goes on the wire.
-- Real peers are in test_smtp_aiosmtpd and test_smtp_swaks.
local helper = require "helper"
local fake = require "fake_socket"
local client = require "ratchet.smtp.client"

local EHLO_REPLY = "250-mail.test Hello\r\n250-SIZE 5000\r\n250-PIPELINING\r\n250 8BITMIME\r\n"

-- Multi-line replies parse the same however they are split (the original misread
-- a reply whose lines came in separate reads).
do
    local script = "220 banner here\r\n" .. EHLO_REPLY
    for n = 1, #script do
        local c = client.new(fake.new(fake.split(script, n)))
        local banner = c:get_banner()
        helper.eq(banner.code, "220", "banner code, read size " .. n)
        helper.eq(banner.message, "banner here", "banner text")
        local ehlo = c:ehlo("me")
        helper.eq(ehlo.code, "250", "EHLO code, read size " .. n)
        helper.eq(ehlo.message, "mail.test Hello", "EHLO first line")
        helper.eq(c.extensions:has("SIZE"), "5000", "SIZE value")
        helper.eq(c.extensions:has("pipelining"), "", "parameterless extension")
        helper.eq(c.extensions:has("STARTTLS"), nil, "absent extension")
    end
end

-- A multi-line non-EHLO reply keeps its lines joined by CRLF.
do
    local c = client.new(fake.new({ "250-one\r\n250-two\n250 three\r\n" }))
    local r = c:custom_command("xtest")
    helper.eq(r.command, "XTEST", "custom command name upper-cased")
    helper.eq(r.message, "one\r\ntwo\r\nthree", "multi-line message")
    helper.eq(table.concat(c.io.socket.sent), "xtest\r\n", "custom command without an argument")
end

-- Malformed reply: code nil, the line as the message. EOF: ECONNCLOSED.
do
    local c = client.new(fake.new({ "hello there\r\n" }))
    local r = c:get_banner()
    helper.eq(r.code, nil, "malformed code")
    helper.eq(r.message, "hello there", "malformed message")
    c = client.new(fake.new({ "220-partial\r\n" }))
    local err = helper.raises("ECONNCLOSED", c.get_banner, c)
    helper.eq(err["function"], "ratchet.smtp.io.recv()", "ECONNCLOSED function")
end

-- PIPELINING: MAIL and RCPT go out with DATA in one write; their replies are empty
-- until data() has read them.
do
    local sock = fake.new({ "220 hi\r\n", EHLO_REPLY,
        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go\r\n",
        "250 2.6.0 queued\r\n", "221 bye\r\n" })
    local c = client.new(sock)
    c:get_banner()
    c:ehlo("me")
    local writes = #sock.sent
    local mail = c:mailfrom("a@b.test", 1234)
    local r1 = c:rcptto("c@d.test")
    local r2 = c:rcptto("bad@d.test")
    helper.eq(#sock.sent, writes, "nothing sent before DATA")
    helper.eq(mail.code, nil, "MAIL reply not read yet")
    local data = c:data()
    helper.eq(#sock.sent, writes + 1, "one write for MAIL, RCPT, RCPT, DATA")
    helper.eq(sock.sent[#sock.sent],
        "MAIL FROM:<a@b.test> SIZE=1234\r\nRCPT TO:<c@d.test>\r\nRCPT TO:<bad@d.test>\r\nDATA\r\n", "pipelined group")
    helper.eq(mail.code, "250", "MAIL filled in after data()")
    helper.eq(mail.command, "MAIL FROM", "MAIL reply command")
    helper.eq(r1.message, "2.1.5 ok", "RCPT 1")
    helper.eq(r2.code, "550", "RCPT 2")
    helper.eq(data.code, "354", "DATA")
    local sent = c:send_data(".first\r\nmiddle\r\n.\r\nlast")
    helper.eq(sock.sent[#sock.sent], "..first\r\nmiddle\r\n..\r\nlast\r\n.\r\n", "message on the wire")
    helper.eq(sent.code, "250", "message accepted")
    helper.eq(sent.command, "[MESSAGE CONTENTS]", "message reply command")
    local quit = c:quit()
    helper.eq(quit.code, "221", "QUIT")
    helper.eq(sock.closed, true, "closed after QUIT")
    local e = sent:error("why")
    helper.eq(e.description, "why", "reply:error()")
    helper.eq(e.code, "250", "reply:error() code")
end

-- Without PIPELINING every command waits for its reply; no SIZE= without SIZE.
do
    local sock = fake.new({ "220 hi\r\n", "250 hello\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n" })
    local c = client.new(sock)
    c:get_banner()
    c:ehlo("me")
    local mail = c:mailfrom("a@b", 99, "BODY=8BITMIME")
    helper.eq(mail.code, "250", "MAIL read at once")
    helper.eq(sock.sent[#sock.sent], "MAIL FROM:<a@b> BODY=8BITMIME\r\n", "no SIZE= without the extension")
    helper.eq(c:rcptto("c@d").code, "250", "RCPT read at once")
    helper.eq(c:data().code, "354", "DATA")
end

-- Message chunking: any iter_size gives the same bytes; bare LF becomes CRLF.
do
    local msg = ("line\n.dot\r\n"):rep(50)
    local want
    for _, n in ipairs({ 1, 3, 7, 64, 1024, 1 << 20 }) do
        local sock = fake.new({ "250 ok\r\n" })
        local c = client.new(sock, n)
        c:send_data(msg)
        local wire = table.concat(sock.sent)
        want = want or wire
        helper.eq(wire, want, "wire with iter_size " .. n)
        assert(n > #wire or #sock.sent > 1, "split into pieces")
    end
    assert(not want:find("[^\r]\n"), "no bare LF on the wire")
end

-- AUTH helpers (extension): PLAIN in one line, LOGIN as a challenge exchange.
do
    local sock = fake.new({ "235 2.7.0 ok\r\n" })
    local r = client.new(sock):auth("user", "pass")
    helper.eq(r.code, "235", "AUTH PLAIN")
    helper.eq(sock.sent[1], "AUTH PLAIN AHVzZXIAcGFzcw==\r\n", "AUTH PLAIN line")
    sock = fake.new({ "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 ok\r\n" })
    r = client.new(sock):auth("user", "pass", "login")
    helper.eq(r.code, "235", "AUTH LOGIN")
    helper.eq(table.concat(sock.sent), "AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n", "AUTH LOGIN lines")
end

-- STARTTLS 220 drops what was read ahead and the old extensions.
do
    local sock = fake.new({ "220 go ahead\r\n250 injected\r\n" })
    local c = client.new(sock)
    c.extensions:add("STARTTLS", "")
    helper.eq(c:starttls().code, "220", "STARTTLS")
    helper.eq(c.io.recv_buffer, "", "read-ahead dropped")
    helper.eq(c.extensions:has("STARTTLS"), nil, "extensions forgotten")
end
print("ok")
