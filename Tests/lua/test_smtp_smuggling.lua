-- SMTP smuggling (issue 19): over TCP, only CRLF "." CRLF ends DATA, so commands hidden
-- behind "<LF>.<LF>", "<LF>.<CR><LF>" or "<CR>.<CR><LF>" stay message data and never
-- run; a command line ended by a bare LF is refused with 500 5.5.2 and never runs.
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

helper.run(function()
    local listener, port = helper.listen()
    local messages, senders = {}, {}
    peer.serve(listener, function(conn)
        return server.new(conn, {
            MAIL = function(_, _, address) senders[#senders + 1] = address end,
            HAVE_DATA = function(_, _, data) messages[#messages + 1] = data end,
        })
    end)

    for _, fake_end in ipairs({ "\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n" }) do
        messages, senders = {}, {}
        local r = peer.raw(helper.connect(port))
        helper.eq(r:reply():sub(1, 4), "220 ", "banner")
        r:send("EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
        r:reply() -- EHLO
        helper.eq(r:reply():sub(1, 3), "250", "MAIL")
        helper.eq(r:reply():sub(1, 3), "250", "RCPT")
        helper.eq(r:reply():sub(1, 3), "354", "DATA")
        local smuggled = "MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@x.test>\r\nDATA\r\nSubject: smuggled\r\n"
        r:send("Subject: first\r\n\r\nhello" .. fake_end .. smuggled .. "\r\n.\r\nNOOP\r\n")
        helper.eq(r:reply(), "250 2.6.0 Message Accepted for Delivery", "one message for " .. ("%q"):format(fake_end))
        helper.eq(r:reply(), "250 2.0.0 Ok", "the NOOP after it")
        r:send("QUIT\r\n")
        helper.eq(r:reply(), "221 2.0.0 Bye", "QUIT")
        helper.eq(r:line(), nil, "closed")
        helper.eq(#messages, 1, "messages delivered")
        local want = "Subject: first\r\n\r\nhello" .. fake_end:gsub("^\r\n%.", "\r\n") .. smuggled
        helper.eq(messages[1], want, "the smuggled text is data")
        helper.eq(table.concat(senders, ","), "a@x.test", "only the real MAIL ran")
    end

    -- Commands ended by a bare LF: refused, not run; the CRLF ones around them are.
    senders = {}
    local r = peer.raw(helper.connect(port))
    r:reply()
    r:send("EHLO client.test\r\nMAIL FROM:<bare@x.test>\nNOOP\r\nRSET\nQUIT\r\n")
    r:reply()
    helper.eq(r:reply(), "500 5.5.2 Bare <LF> received, lines end with <CR><LF>", "bare LF MAIL")
    helper.eq(r:reply(), "250 2.0.0 Ok", "NOOP")
    helper.eq(r:reply(), "500 5.5.2 Bare <LF> received, lines end with <CR><LF>", "bare LF RSET")
    helper.eq(r:reply(), "221 2.0.0 Bye", "QUIT")
    helper.eq(#senders, 0, "the bare LF MAIL never ran")
    listener:close()
end)
print("ok")
