-- Python's smtplib against ratchet.smtp.server over TCP: dot-stuffing (first line
-- included) compared by SHA-256, BODY=8BITMIME and SMTPUTF8, SIZE declared at MAIL and
-- enforced while streaming, with the session usable afterwards.
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local LIMIT = 1024 * 1024

helper.run(function()
    local listener, port = helper.listen()
    local got = {}
    peer.serve(listener, function(conn)
        local h = {}
        function h:MAIL(reply, address) got[#got + 1] = { from = address } end
        function h:HAVE_DATA(reply, data, err) got[#got].data, got[#got].err = data, err end
        return server.new(conn, h, nil, nil, { max_message_size = LIMIT })
    end)

    -- No trailing CRLF: smtplib adds it, and the server takes it off again.
    local msg1 = ".leading dot\r\n..two\r\n.\r\n. x\r\nSubject: t\r\n\r\n.\r\n..\r\n...\r\nend."
    local msg2 = "Subject: 8bit\r\n\r\nr\xc3\xa9sum\xc3\xa9 \xff\x80\r\n.\xc3\xa9"
    local big = ("x"):rep(998) .. "\r\n"
    big = big:rep(2 * LIMIT // #big)
    local files = { helper.write_tmp(msg1), helper.write_tmp(msg2), helper.write_tmp(big) }
    local rc, out = helper.spawn(("python3 %s/peers/smtplib_client.py %d %s"):format(here, port, table.concat(files, " ")))
        :wait(100)
    helper.eq(rc, 0, "smtplib client\n" .. out)
    local steps = {}
    for name, rest in out:gmatch("(%S+) ([^\n]*)") do steps[name] = rest end

    for _, ext in ipairs({ "8bitmime", "pipelining", "enhancedstatuscodes", "smtputf8", "chunking", "size" }) do
        assert((" " .. steps.features .. " "):find(" " .. ext .. " ", 1, true), "feature " .. ext .. ": " .. out)
    end
    helper.eq(steps.send1, "250", "send1")
    helper.eq(peer.sha256(got[1].data), peer.sha256(msg1), "SHA-256 of the dot-stuffed message")
    helper.eq(steps.send2, "250", "send2 (8BITMIME, SMTPUTF8)")
    helper.eq(got[2].from, "\xc3\xbc@x.test", "SMTPUTF8 sender")
    helper.eq(got[2].data, msg2, "8-bit message")
    helper.eq(steps.declared_big, "ERROR SMTPSenderRefused 552", "SIZE= over the limit refused at MAIL")
    helper.eq(steps.noop1, "250", "usable after the refused MAIL")
    helper.eq(steps.mail, "250", "MAIL without SIZE=")
    helper.eq(steps.data_big, "552", "oversized message refused after the dot")
    helper.eq(got[#got].data, nil, "no data for the oversized message")
    helper.eq(got[#got].err.code, "MSGTOOBIG", "MSGTOOBIG for the oversized message")
    helper.eq(steps.noop2, "250", "usable after the oversized message")
    helper.eq(steps.quit, "221", "QUIT")
    for _, f in ipairs(files) do os.remove(f) end
    listener:close()
end)
print("ok")
