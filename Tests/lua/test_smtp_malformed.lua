-- Raw malformed sessions over a plain TCP socket against ratchet.smtp.server: over-long
-- lines, bad sequences, unknown commands and garbage, the 10-error limit, the idle
-- timeout, a peer vanishing mid-message, and an oversized message streamed without
-- being held in memory.
local ratchet = require "ratchet"
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

helper.run(function()
    local listener, port = helper.listen()
    local log = { closes = 0, data = {} }
    local options = { max_message_size = 1024 * 1024, idle_timeout = 5 }
    peer.serve(listener, function(conn)
        local h = {}
        function h:HAVE_DATA(reply, data, err) log.data[#log.data + 1] = data or err.code end
        function h:CLOSE() log.closes = log.closes + 1 end
        return server.new(conn, h, nil, nil, options)
    end)

    local function open()
        local r = peer.raw(helper.connect(port))
        helper.eq(r:reply():sub(1, 4), "220 ", "banner")
        return r
    end
    local function say(r, line) r:send(line .. "\r\n"); return r:reply() end

    -- Line length (RFC 5321 4.5.3.1.6: 1000 octets with CRLF), and a huge line.
    local r = open()
    helper.eq(say(r, "NOOP " .. ("a"):rep(993)), "250 2.0.0 Ok", "1000-octet line")
    helper.eq(say(r, "NOOP " .. ("a"):rep(994)), "500 5.5.2 Line too long", "1001-octet line")
    r:send(("x"):rep(300000))
    helper.eq(say(r, ""), "500 5.5.2 Line too long", "300 000-octet line")
    helper.eq(say(r, "NOOP"), "250 2.0.0 Ok", "usable after long lines")

    -- Sequence and syntax errors; unknown commands; garbage bytes.
    helper.eq(say(r, "MAIL FROM:<a@b>"), "503 5.5.1 Bad sequence of commands", "MAIL before EHLO")
    helper.eq(say(r, "EHLO"), "501 5.5.4 Syntax error in parameters or arguments", "EHLO without a name")
    helper.eq(say(r, "HELO x"), "250 Hello x", "HELO")
    helper.eq(say(r, "RCPT TO:<a@b>"), "503 5.5.1 Bad sequence of commands", "RCPT before MAIL")
    helper.eq(say(r, "DATA"), "503 5.5.1 No valid sender given", "DATA before MAIL")
    helper.eq(say(r, "XYZZY"), "500 5.5.2 Syntax error, command unrecognized", "unknown command")
    helper.eq(say(r, "\0\1\2\255 junk"), "500 5.5.2 Syntax error, command unrecognized", "binary garbage")
    helper.eq(say(r, "QUIT"), "221 2.0.0 Bye", "QUIT")
    helper.eq(r:line(), nil, "closed after QUIT")

    -- Ten bad commands: each answered, then 421 and the connection closes.
    r = open()
    local replies = {}
    r:send(("BOGUS\r\n"):rep(15))
    while true do
        local reply = r:reply()
        if not reply then break end
        replies[#replies + 1] = reply
    end
    helper.eq(#replies, 11, "ten 500 replies and a 421")
    helper.eq(replies[10]:sub(1, 3), "500", "tenth reply")
    helper.eq(replies[11]:sub(1, 9), "421 4.7.0", "421 after ten errors")

    -- A peer that vanishes mid-message: the session ends quietly, CLOSE runs.
    local closes = log.closes
    r = open()
    r:send("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    for _ = 1, 3 do r:reply() end
    helper.eq(r:reply():sub(1, 4), "354 ", "DATA before the peer vanishes")
    r:send("Subject: cut\r\n\r\nhalf a mess")
    r.sock:close()
    for _ = 1, 100 do
        if log.closes > closes then break end
        ratchet.thread.timer(0.01)
    end
    helper.eq(log.closes, closes + 1, "CLOSE after the peer vanished")

    -- An oversized message (20 MB against a 1 MB limit), streamed: refused with 552
    -- after the dot, never held whole in memory, and the session goes on.
    r = open()
    say(r, "EHLO x")
    helper.eq(say(r, "MAIL FROM:<a@b>"), "250 2.1.0 Sender <a@b> Ok", "MAIL")
    say(r, "RCPT TO:<c@d>")
    helper.eq(say(r, "DATA"):sub(1, 3), "354", "DATA")
    collectgarbage()
    local rss0 = helper.rss_kb()
    local block = ("z"):rep(1022) .. "\r\n"
    block = block:rep(64)                   -- 64 KiB of lines
    for _ = 1, 320 do r:send(block) end     -- 20 MiB
    r:send(".\r\n")
    helper.eq(r:reply(), "552 5.3.4 Message size exceeds 1048576 limit", "oversized message")
    local grown = helper.rss_kb() - rss0
    assert(grown < 12 * 1024, "RSS grew by " .. grown .. " KiB while streaming 20 MiB")
    helper.eq(log.data[#log.data], "MSGTOOBIG", "HAVE_DATA got MSGTOOBIG")
    helper.eq(say(r, "NOOP"), "250 2.0.0 Ok", "usable after the oversized message")
    helper.eq(say(r, "QUIT"), "221 2.0.0 Bye", "QUIT after the oversized message")

    -- Idle timeout: 421 4.4.2, then the connection closes.
    options.idle_timeout = 0.3
    r = open()
    helper.eq(r:reply(), "421 4.4.2 Connection timed out.", "idle timeout")
    helper.eq(r:line(), nil, "closed after the idle timeout")

    listener:close()
end)
print("ok")
