-- ratchet.smtp.client against aiosmtpd (Python) over TCP: EHLO extensions, PIPELINING
-- (MAIL/RCPT/DATA in one write, replies filled in by data()), a refused recipient,
-- dot-stuffing compared by SHA-256, SIZE refused at MAIL and after the data, RSET.
-- STARTTLS against aiosmtpd: test_smtp_starttls.
local ratchet = require "ratchet"
local helper = require "helper"
local peer = require "smtp_peer"
local client = require "ratchet.smtp.client"

local LIMIT = 200000

helper.run(function()
    local dir = helper.tmpname("aiosmtpd")
    assert(os.execute("mkdir -p " .. dir))
    local srv <close>, port = peer.aiosmtpd(dir, LIMIT)

    local sock = helper.connect(port)
    local writes = {}
    sock:set_tracer(function(event, data) if event == "send" then writes[#writes + 1] = data end end)
    local c = client.new(sock)
    local banner = c:get_banner()
    helper.eq(banner.code, "220", "banner")
    local ehlo = c:ehlo("ratchet.test")
    helper.eq(ehlo.code, "250", "EHLO")
    helper.eq(ehlo.message, "aiosmtpd.test", "EHLO first line")
    helper.eq(c.extensions:has("SIZE"), tostring(LIMIT), "SIZE value")
    helper.eq(c.extensions:has("PIPELINING"), "", "PIPELINING")
    helper.eq(c.extensions:has("8bitmime"), "", "8BITMIME")

    -- Pipelined transaction with one refused recipient.
    local msg = ".first\r\n..second\r\n.\r\nSubject: x\r\n\r\n. \r\nlast line"
    local n = #writes
    local mail = c:mailfrom("sender@ratchet.test", #msg)
    local r1 = c:rcptto("one@ok.test")
    local r2 = c:rcptto("two@refused.test")
    local r3 = c:rcptto("three@ok.test")
    helper.eq(#writes, n, "nothing written before DATA")
    helper.eq(mail.code, nil, "MAIL reply pending")
    local data = c:data()
    helper.eq(#writes, n + 1, "MAIL, RCPT x3, DATA in one write")
    helper.eq(mail.code, "250", "MAIL")
    helper.eq(r1.code, "250", "RCPT one")
    helper.eq(r2.code, "550", "RCPT refused")
    helper.eq(r2.message, "5.1.1 Refused recipient", "RCPT refused message")
    helper.eq(r3.code, "250", "RCPT three")
    helper.eq(data.code, "354", "DATA")
    local sent = c:send_data(msg)
    helper.eq(sent.code, "250", "message accepted")
    -- aiosmtpd keeps the CRLF before the final dot as part of the content (RFC 5321);
    -- the ratchet data model leaves it out, so the content is msg .. CRLF.
    helper.eq(peer.sha256(helper.read_file(dir .. "/1.eml")), peer.sha256(msg .. "\r\n"), "SHA-256 at aiosmtpd")
    local env = helper.read_file(dir .. "/1.env")
    helper.eq(env:match("^[^\n]*"), "sender@ratchet.test", "envelope sender")
    helper.eq(env:match("\n([^\n]*)"), "one@ok.test,three@ok.test", "envelope recipients")
    assert(env:find("SIZE=" .. #msg, 1, true), "SIZE= sent: " .. env)

    -- SIZE: declared too big, refused at MAIL; the rest of the pipeline fails with it.
    mail = c:mailfrom("a@ratchet.test", LIMIT + 1)
    r1 = c:rcptto("one@ok.test")
    data = c:data()
    helper.eq(mail.code, "552", "declared SIZE refused")
    assert(r1.code ~= "250" and data.code ~= "354", "nothing accepted after the refused MAIL")
    helper.eq(c:rset().code, "250", "RSET")

    -- Undeclared and too big: refused after the data.
    c:mailfrom("a@ratchet.test")
    c:rcptto("one@ok.test")
    helper.eq(c:data().code, "354", "DATA for the big message")
    local big = ("y"):rep(998) .. "\r\n"
    sent = c:send_data(big:rep(LIMIT // #big + 10))
    helper.eq(sent.code, "552", "oversized message refused")
    helper.eq(c:noop().code, "250", "session usable afterwards")
    helper.eq(c:quit().code, "221", "QUIT")
    helper.eq(helper.read_file(dir .. "/2.eml"), nil, "no second message stored")
    srv:stop()
end)
print("ok")
