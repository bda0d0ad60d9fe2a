-- The greeting is "220 <domain> ..." (RFC 5321 4.3.1, issue 17 defect 7): by default the
-- host name, a BANNER handler still replaces it, and a client that sends "BANNER" gets
-- 500, not the greeting again (issue 19). Seen by smtplib over TCP and by a scripted session.
local helper = require "helper"
local fake = require "fake_socket"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

local host = ratchet.socket.gethostname()
helper.eq(host, helper.sh("hostname"), "gethostname agrees with hostname(1)")

local function session(input, handlers)
    local sock = fake.new({ input })
    server.new(sock, handlers or {}):handle()
    return fake.lines(sock)
end

-- Default greeting, then a client's BANNER command: 500, and the handler is not run.
local lines = session("BANNER\r\nQUIT\r\n")
helper.eq(lines[1], "220 " .. host .. " ESMTP ratchet SMTP server " .. ratchet.version, "default banner")
helper.eq(lines[2], "500 5.5.2 Syntax error, command unrecognized", "BANNER from the client")
helper.eq(lines[3], "221 2.0.0 Bye", "QUIT")

local calls = 0
lines = session("BANNER\r\nbanner x\r\nQUIT\r\n", {
    BANNER = function(_, reply)
        calls = calls + 1
        reply.code, reply.message = 220, "mx.example.test ESMTP slimta"
    end,
})
helper.eq(lines[1], "220 mx.example.test ESMTP slimta", "handler's banner")
helper.eq(lines[2]:sub(1, 4), "500 ", "BANNER with a handler")
helper.eq(lines[3]:sub(1, 4), "500 ", "banner in lower case")
helper.eq(calls, 1, "BANNER handler runs once, for the greeting")

-- What a real client sees.
helper.run(function()
    local listener, port = helper.listen()
    peer.serve(listener, function(conn) return server.new(conn, {}) end)
    local script = helper.write_tmp(([[
import smtplib
s = smtplib.SMTP()
code, msg = s.connect("127.0.0.1", %d)
print(code, msg.decode())
print(*s.docmd("BANNER"))
s.quit()
]]):format(port), "py")
    local rc, out = helper.spawn("python3 " .. script):wait(30)
    os.remove(script)
    helper.eq(rc, 0, "smtplib\n" .. out)
    local first, second = out:match("^([^\n]*)\n([^\n]*)")
    helper.eq(first, "220 " .. host .. " ESMTP ratchet SMTP server " .. ratchet.version, "smtplib greeting")
    helper.eq(second:sub(1, 4), "500 ", "smtplib BANNER command")
    listener:close()
end)
print("ok")
