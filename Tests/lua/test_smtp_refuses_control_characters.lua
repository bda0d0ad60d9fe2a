-- NUL, bare CR and other control characters in EHLO/HELO names, MAIL/RCPT addresses and
-- parameters are refused with 501 (issue 19): they never reach a reply, a handler or a
-- Received: header. Over TCP with a raw peer, and at examples/mta.lua's spool.
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

-- No NUL and no CR outside a CRLF in what the server wrote.
local function clean(text, what)
    assert(not text:find("%z"), what .. ": NUL in " .. ("%q"):format(text))
    assert(not text:find("\r[^\n]") and not text:find("\r$"), what .. ": bare CR in " .. ("%q"):format(text))
    assert(not text:find("[^\r]\n"), what .. ": bare LF in " .. ("%q"):format(text))
end

helper.run(function()
    local listener, port = helper.listen()
    local seen = {}
    peer.serve(listener, function(conn)
        return server.new(conn, {
            EHLO = function(_, _, name) seen[#seen + 1] = "EHLO " .. name end,
            MAIL = function(_, _, address) seen[#seen + 1] = "MAIL " .. address end,
            RCPT = function(_, _, address) seen[#seen + 1] = "RCPT " .. address end,
        }, nil, nil, { max_errors = 100 })
    end)
    local bad = {
        "EHLO evil\0.test", "EHLO evil\r.test", "HELO evil\0", "EHLO a\1b", "HELO x\127y",
        "EHLO ok.test",
        "MAIL FROM:<a\0@x.test>", "MAIL FROM:<a\r@x.test>", "MAIL FROM:<\"a\0\"@x.test>",
        "MAIL FROM:<a@x.test> BODY=8BITMIME\0", "MAIL FROM:<a@x.test>",
        "RCPT TO:<b\0@x.test>", "RCPT TO:<b\r@x.test>", "RCPT TO:<b@x.test> X=\27[31m",
    }
    local r = peer.raw(helper.connect(port))
    r:reply()
    local replies = {}
    for _, line in ipairs(bad) do
        r:send(line .. "\r\n")
        replies[#replies + 1] = r:reply()
    end
    r:send("QUIT\r\n")
    r:reply()
    local want = { "501", "501", "501", "501", "501", "250", "501", "501", "501", "501", "250", "501", "501", "501" }
    for i, reply in ipairs(replies) do
        helper.eq(reply:sub(1, 4), want[i] .. (i == 6 and "-" or " "), ("reply to %q"):format(bad[i]))
        clean(reply, ("reply to %q"):format(bad[i]))
    end
    helper.eq(table.concat(seen, "|"), "EHLO ok.test|MAIL a@x.test", "what reached the handlers")
    listener:close()
end)
print("ok")
