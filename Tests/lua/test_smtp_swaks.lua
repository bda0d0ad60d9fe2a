-- swaks (a real SMTP client) against ratchet.smtp.server over TCP: a plain session, a
-- dot-stuffing message compared by SHA-256, PIPELINING (checked on the wire), AUTH
-- PLAIN and LOGIN, HELO, 8-bit data, a 20 MB message. STARTTLS: test_smtp_starttls.
local ratchet = require "ratchet"
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"
local auth = require "ratchet.smtp.auth"

-- swaks takes LF text from a file and sends it with CRLF line endings, dot-stuffed
-- (except the first line: a swaks bug, so no case starts with a dot).
local function expected(file_text) return (file_text:gsub("\n", "\r\n")) end

helper.run(function()
    local listener, port = helper.listen()
    local sessions = {}
    local options = { max_message_size = 32 * 1024 * 1024 }
    peer.serve(listener, function(conn)
        local s = { recvs = {} }
        sessions[#sessions + 1] = s
        conn:set_tracer(function(event, data)
            if event == "recv" then s.recvs[#s.recvs + 1] = data end
        end)
        local handlers = {
            AUTH = auth.new{ check = function(u, p) return u == "alice" and p == "s3cret" end },
        }
        function handlers:EHLO(reply, name, is_helo) s.helo = is_helo end
        function handlers:MAIL(reply, address) s.from = address end
        function handlers:RCPT(reply, address)
            s.rcpts = s.rcpts or {}
            s.rcpts[#s.rcpts + 1] = address
        end
        function handlers:HAVE_DATA(reply, data, err)
            s.data, s.err = data, err
            reply.message = "2.6.0 Queued as " .. #sessions
        end
        local srv = server.new(conn, handlers, nil, nil, options)
        s.server = srv
        return srv
    end)

    local function swaks(file_text, extra)
        local path = helper.write_tmp(file_text, "msg")
        local cmd = ("swaks --server 127.0.0.1:%d --from a@x.test --to b@y.test --helo client.test "
            .. "--timeout 60 --data @%s %s"):format(port, path, extra or "")
        local before = #sessions
        local rc, out = helper.spawn(cmd):wait(100)
        os.remove(path)
        return rc, out, sessions[before + 1]
    end

    -- Plain session with dot-stuffing edge cases, compared by SHA-256.
    local dots = table.concat({ "Subject: dots", "", "..", ".", ". space", "...three", "x.", ".\t",
        "a line", ".", "..", "end ." }, "\n")
    local rc, out, s = swaks(dots)
    helper.eq(rc, 0, "swaks exit status\n" .. out)
    helper.eq(s.from, "a@x.test", "sender")
    helper.eq(s.rcpts[1], "b@y.test", "recipient")
    helper.eq(peer.sha256(s.data), peer.sha256(expected(dots)), "SHA-256 of the dot-stuffed message")
    assert(out:find("<%-  250 2%.6%.0 Queued as"), "queued reply seen by swaks\n" .. out)

    -- PIPELINING: MAIL, RCPT x3 and DATA arrive in one read, and all are answered.
    rc, out, s = swaks("Subject: pipelined\n\nbody", "--pipeline --to r1@y.test,r2@y.test,r3@y.test")
    helper.eq(rc, 0, "pipelined swaks\n" .. out)
    helper.eq(#s.rcpts, 3, "pipelined recipients")
    local grouped = false
    for _, chunk in ipairs(s.recvs) do
        if chunk:find("MAIL FROM", 1, true) and chunk:find("RCPT TO:<r3@y.test>", 1, true) and chunk:find("DATA\r\n", 1, true) then
            grouped = true
        end
    end
    assert(grouped, "swaks did not pipeline MAIL/RCPT/DATA in one write")
    helper.eq(s.data, "Subject: pipelined\r\n\r\nbody", "pipelined message")

    -- AUTH PLAIN and LOGIN; a wrong password is refused with 535 and no message.
    for _, mech in ipairs({ "PLAIN", "LOGIN" }) do
        rc, out, s = swaks("Subject: auth\n\nhi", "--auth " .. mech .. " --auth-user alice --auth-password s3cret")
        helper.eq(rc, 0, "AUTH " .. mech .. "\n" .. out)
        helper.eq(s.server.authenticated, "alice", "authenticated user after " .. mech)
        assert(out:find("235 2.7.0", 1, true), "235 seen\n" .. out)
    end
    rc, out, s = swaks("Subject: auth\n\nhi", "--auth PLAIN --auth-user alice --auth-password wrong")
    assert(rc ~= 0, "wrong password accepted\n" .. out)
    assert(out:find("535 5.7.8", 1, true), "535 seen\n" .. out)
    helper.eq(s.data, nil, "no message after failed AUTH")

    -- HELO (no ESMTP): the message still goes through.
    rc, out, s = swaks("Subject: helo\n\nplain smtp", "--protocol SMTP")
    helper.eq(rc, 0, "HELO session\n" .. out)
    helper.eq(s.helo, true, "HELO handler flag")
    helper.eq(s.data, "Subject: helo\r\n\r\nplain smtp", "HELO message")

    -- 8-bit data (UTF-8 and Latin-1 bytes) arrives untouched.
    local eight = "Subject: =?utf-8?q?x?=\nContent-Transfer-Encoding: 8bit\n\nr\xc3\xa9sum\xc3\xa9 \xe2\x82\xac\n\xff\xfe\x80 raw"
    rc, out, s = swaks(eight)
    helper.eq(rc, 0, "8-bit message\n" .. out)
    helper.eq(s.data, expected(eight), "8-bit message bytes")

    -- A 20 MB message, with dotted lines scattered through it, byte-exact.
    local line = ("0123456789"):rep(7) .. "abcd"
    local parts = { "Subject: big", "" }
    for i = 1, 20 * 1024 * 1024 // 76 do
        parts[#parts + 1] = (i % 97 == 0) and ("." .. line:sub(2)) or (i % 1013 == 0 and "." or line)
    end
    local big = table.concat(parts, "\n")
    parts = nil
    rc, out, s = swaks(big, "--silent 2")
    helper.eq(rc, 0, "20 MB message\n" .. out)
    local want = expected(big)
    assert(#want > 20 * 1000 * 1000, "message is 20 MB")
    helper.eq(#s.data, #want, "20 MB message length")
    helper.eq(peer.sha256(s.data), peer.sha256(want), "SHA-256 of the 20 MB message")

    listener:close()
end)
print("ok")
