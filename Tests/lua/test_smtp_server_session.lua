-- The SMTP server against scripted client input (no network): replies and enhanced
-- status codes, extensions, command sequence errors, limits, BDAT, HELO, custom
-- commands, error handling. Real peers are in test_smtp_swaks/smtplib/malformed.
local helper = require "helper"
local fake = require "fake_socket"
local server = require "ratchet.smtp.server"

-- Runs one session over `input` (a string or a list of chunks); returns the reply lines,
-- the socket and the server.
local function session(input, handlers, options, at_end)
    local chunks = type(input) == "table" and input or { input }
    local sock = fake.new(chunks, at_end)
    local srv = server.new(sock, handlers or {}, nil, nil, options)
    srv:handle()
    return fake.lines(sock), sock, srv
end

local function find(lines, prefix)
    for i, l in ipairs(lines) do
        if l:sub(1, #prefix) == prefix then return i, l end
    end
end

local function has(lines, want, what)
    if not find(lines, want) then
        error((what or "reply") .. ": no line starting with " .. want .. " in:\n" .. table.concat(lines, "\n"), 2)
    end
end

-- An EHLO reply line for `text`, whether or not it is the last line.
local function has_ext(lines, text)
    for _, l in ipairs(lines) do
        if l == "250-" .. text or l == "250 " .. text then return end
    end
    error("extension line " .. text .. " missing in:\n" .. table.concat(lines, "\n"), 2)
end

local TXN = "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"

-- {{{ The reference test_smtp flow: numeric banner code, handler replies, ESC rules.
do
    local seen = {}
    local handlers = {}
    function handlers:BANNER(reply) reply.code = 220; reply.message = "test banner" end
    function handlers:EHLO(reply, ehlo_as, is_helo) seen.ehlo = ehlo_as; seen.is_helo = is_helo end
    function handlers:MAIL(reply, address)
        helper.eq(reply.code, "250", "MAIL default code is a string")
        reply.message = "test sender okay: " .. address
    end
    function handlers:RCPT(reply, address) reply.message = "test rcpt okay: " .. address end
    function handlers:DATA(reply) reply.message = "ready for test data" end
    function handlers:HAVE_DATA(reply, data, err)
        seen.data = data
        reply.message = "2.6.1 test data received"   -- the field 2.6.0 wins
    end
    function handlers:SLIMTA(arg, srv)
        seen.custom_arg = arg
        helper.eq(getmetatable(srv), server, "custom command gets the server")
        return { code = "123", message = "custom command okay" }
    end
    function handlers:ESCCMD(arg) return { code = "550", message = "no", enhanced_status_code = "2.1.9" } end
    function handlers:SILENT(arg) return nil end
    function handlers:QUIT(reply) reply.message = "test connection quit" end
    local lines = session({
        TXN, "test data\r\n.\r\n",
        "SLIMTA test\r\nSILENT\r\nESCCMD\r\nNOOP\r\nQUIT\r\n",
    }, handlers)
    helper.eq(lines[1], "220 test banner", "banner")
    helper.eq(lines[2], "250-Hello client.test", "EHLO greeting")
    has(lines, "250 2.1.0 test sender okay: a@b.test")
    has(lines, "250 2.1.5 test rcpt okay: c@d.test")
    has(lines, "354 ready for test data")
    has(lines, "250 2.6.0 test data received")
    has(lines, "123 custom command okay")
    has(lines, "550 5.1.9 no", "class forced to the code's")
    has(lines, "250 2.0.0 Ok")
    helper.eq(lines[#lines], "221 2.0.0 test connection quit", "QUIT")
    helper.eq(seen.data, "test data", "HAVE_DATA data")
    helper.eq(seen.ehlo, "client.test", "EHLO name")
    helper.eq(seen.is_helo, nil, "EHLO is not HELO")
    helper.eq(seen.custom_arg, "test", "custom command argument")
end
-- }}}

-- {{{ ESC formatting: prefix taken from the message, invalid codes, multi-line.
do
    local replies = {
        { { code = "250", message = "2.1.3 from message" }, "250 2.1.3 from message" },
        { { code = "250", message = "9.9.9 not an esc" }, "250 2.0.0 9.9.9 not an esc" },
        { { code = "451", message = "x", enhanced_status_code = "5.1234.1" }, "451 4.0.0 x" },
        { { code = 550, message = "numeric" }, "550 5.0.0 numeric" },
        { { code = "354", message = "2.0.0 no esc for class 3" }, "354 no esc for class 3" },
    }
    for _, case in ipairs(replies) do
        local sock = fake.new({})
        local srv = server.new(sock, {})
        srv:send_ESC_reply(case[1])
        srv.io:flush_send()
        helper.eq(fake.lines(sock)[1], case[2], "ESC of " .. tostring(case[1].message))
    end
    local sock = fake.new({})
    local srv = server.new(sock, {})
    srv:send_ESC_reply({ code = "250", message = "one\r\ntwo\nthree", enhanced_status_code = "2.3.4" })
    srv.io:flush_send()
    local lines = fake.lines(sock)
    helper.eq(table.concat(lines, "|"), "250-2.3.4 one|250-2.3.4 two|250 2.3.4 three", "multi-line ESC")
end
-- }}}

-- {{{ Extensions: the defaults (SIZE 35 MiB, none with max_message_size 0), no STARTTLS
-- without a context.
do
    local function extensions(options)
        local lines = session("EHLO x\r\nQUIT\r\n", {}, options)
        local ext = {}
        for i = 3, #lines - 1 do ext[#ext + 1] = lines[i]:sub(5) end
        return table.concat(ext, " ")
    end
    helper.eq(extensions(), "SIZE 36700160 8BITMIME PIPELINING ENHANCEDSTATUSCODES SMTPUTF8 CHUNKING", "default extensions")
    helper.eq(extensions({ max_message_size = 0 }), "8BITMIME PIPELINING ENHANCEDSTATUSCODES SMTPUTF8 CHUNKING",
        "no SIZE with max_message_size 0")
    helper.eq(extensions({ max_message_size = false }):match("^SIZE") , nil, "no SIZE with max_message_size false")
    local lines = session("EHLO x\r\nQUIT\r\n", {}, { max_message_size = 1000 })
    has_ext(lines, "SIZE 1000")
    local sock = fake.new({ "EHLO x\r\nQUIT\r\n" })
    local srv = server.new(sock, {}, {}, nil)
    helper.eq(srv.extensions:has("STARTTLS"), true, "STARTTLS with a context")
    srv = server.new(fake.new({}), {}, {}, true)
    helper.eq(srv.extensions:has("STARTTLS"), nil, "no STARTTLS when TLS is immediate")
    -- The application adds and drops.
    sock = fake.new({ "EHLO x\r\nQUIT\r\n" })
    srv = server.new(sock, {})
    srv.extensions:add("SIZE", "25")
    srv.extensions:add("X-THING", setmetatable({}, { __tostring = function() return "A B" end }))
    srv.extensions:drop("smtputf8")
    srv:handle()
    lines = fake.lines(sock)
    has_ext(lines, "SIZE 25")
    has_ext(lines, "X-THING A B")
    helper.eq(find(lines, "250-SMTPUTF8"), nil, "dropped extension")
    helper.eq(srv.extensions:has("size"), "25", "has() is case-insensitive and gives the value")
end
-- }}}

-- {{{ Sequence, syntax and parameter errors.
do
    local lines = session(table.concat({
        "MAIL FROM:<a@b>",            -- 503: no EHLO yet
        "EHLO x",
        "RCPT TO:<c@d>",              -- 503: no MAIL
        "DATA",                       -- 503 No valid sender given
        "MAIL FROM:a@b",              -- 501
        "MAIL FROM:<\"q>uoted\"@b> SIZE=10", -- 504: SIZE not offered
        "MAIL FROM:<\"q>uoted\"@b>",  -- 250, ">" inside quotes
        "MAIL FROM:<x@y>",            -- 503 already in a transaction
        "DATA",                       -- 503 No valid recipients given
        "DATA now",                   -- 501
        "RSET please",                -- 501
        "FOO bar",                    -- 500
        "QUIT",
    }, "\r\n") .. "\r\n", {}, { max_errors = 100, max_message_size = 0 })
    local want = {
        "220 ", "503 5.5.1 Bad sequence", "250-Hello x", "503 5.5.1 Bad sequence",
        "503 5.5.1 No valid sender given", "501 5.5.4 Syntax error in parameters",
        "504 5.5.4 Command parameter not implemented", "250 2.1.0 Sender <\"q>uoted\"@b> Ok",
        "503 5.5.1", "503 5.5.1 No valid recipients given", "501 5.5.4", "501 5.5.4",
        "500 5.5.2 Syntax error, command unrecognized", "221 2.0.0 Bye",
    }
    local i = 0
    for _, l in ipairs(lines) do
        if not l:match("^250[- ][%u%d%-]+$") then -- not an extension line
            i = i + 1
            if l:sub(1, #want[i]) ~= want[i] then
                error(("reply %d: want %q, got %q\n%s"):format(i, want[i], l, table.concat(lines, "\n")))
            end
        end
    end
    helper.eq(i, #want, "number of replies")
end
-- }}}

-- {{{ SIZE: declared (MAIL SIZE=) and enforced while streaming, with and without HAVE_DATA.
do
    local big = ("x"):rep(200) .. "\r\n.\r\n"
    for _, with_handler in ipairs({ false, true }) do
        local got
        local handlers = {}
        if with_handler then
            function handlers:HAVE_DATA(reply, data, err)
                got = { reply.code, reply.enhanced_status_code, data, err and err.code }
            end
        end
        local lines = session({
            "EHLO x\r\nMAIL FROM:<a@b> SIZE=101\r\nMAIL FROM:<a@b> SIZE=100\r\nRCPT TO:<c@d>\r\nDATA\r\n",
            big, "NOOP\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nsmall\r\n.\r\nQUIT\r\n",
        }, handlers, { max_message_size = 100 })
        has(lines, "552 5.3.4 Message size exceeds 100 limit")
        local i552 = find(lines, "552 5.3.4")
        local i250 = find(lines, "250 2.1.0")
        assert(i552 < i250, "declared SIZE refused before the accepted MAIL")
        local _, oversized = find({ table.unpack(lines, i250 + 3) }, "552 5.3.4")
        assert(oversized, "oversized message refused: " .. table.concat(lines, "\n"))
        has(lines, "250 2.6.0 Message Accepted")
        helper.eq(lines[#lines], "221 2.0.0 Bye", "session usable after the oversized message")
        if with_handler then
            -- The last HAVE_DATA call is for "small"; check the oversized one via a rerun.
            helper.eq(got[3], "small", "small message after the oversized one")
        end
    end
    local calls = {}
    local handlers = {}
    function handlers:HAVE_DATA(reply, data, err) calls[#calls + 1] = { reply.code, reply.enhanced_status_code, data, err and err.code } end
    session({ TXN, big, "QUIT\r\n" }, handlers, { max_message_size = 100 })
    helper.eq(calls[1][1], "552", "HAVE_DATA sees the 552 default")
    helper.eq(calls[1][2], "5.3.4", "HAVE_DATA sees 5.3.4")
    helper.eq(calls[1][3], nil, "no data for an oversized message")
    helper.eq(calls[1][4], "MSGTOOBIG", "MSGTOOBIG error")
    -- The reference's way to set the limit: extensions:add("SIZE", "25").
    local sock = fake.new({ TXN, ("y"):rep(26) .. "\r\n.\r\nQUIT\r\n" })
    local srv = server.new(sock, {})
    srv.extensions:add("SIZE", "25")
    srv:handle()
    has(fake.lines(sock), "552 5.3.4")
end
-- }}}

-- {{{ Line length: 1000 octets with CRLF pass, 1001 get 500 5.5.2; never buffered whole.
do
    local ok_line = "NOOP " .. ("a"):rep(1000 - 7)        -- 998 + CRLF
    local long_line = "NOOP " .. ("a"):rep(1000 - 6)      -- 999 + CRLF
    local huge = ("b"):rep(100000)
    local lines, _, srv = session({ ok_line .. "\r\n" .. long_line .. "\r\n", huge, huge, "\r\nNOOP\r\nQUIT\r\n" })
    helper.eq(lines[2], "250 2.0.0 Ok", "998 octets + CRLF")
    helper.eq(lines[3], "500 5.5.2 Line too long", "999 octets + CRLF")
    helper.eq(lines[4], "500 5.5.2 Line too long", "200 000 octets")
    helper.eq(lines[5], "250 2.0.0 Ok", "next command")
    assert(#srv.io.recv_buffer < 2000, "long line not buffered")
end
-- }}}

-- {{{ Too many errors: the 10th bad command is answered, then 421 and close.
do
    local input = ("BOGUS\r\n"):rep(12) .. "NOOP\r\n"
    local closes = 0
    local lines, sock = session(input, { CLOSE = function() closes = closes + 1 end })
    helper.eq(#lines, 1 + 10 + 1, "banner, ten 500s, 421")
    helper.eq(lines[11], "500 5.5.2 Syntax error, command unrecognized", "10th bad command")
    helper.eq(lines[12]:sub(1, 10), "421 4.7.0 ", "421 after ten errors")
    helper.eq(sock.closed, true, "closed")
    helper.eq(closes, 1, "CLOSE handler once")
    -- Good commands in between do not reset the count, and a custom limit holds.
    lines = session("BAD\r\nNOOP\r\nBAD\r\nBAD\r\nNOOP\r\n", {}, { max_errors = 3 })
    helper.eq(lines[#lines]:sub(1, 4), "421 ", "custom max_errors")
end
-- }}}

-- {{{ QUIT with an argument: 501, and the session ends all the same.
do
    local lines, sock = session("QUIT junk\r\nNOOP\r\n")
    helper.eq(lines[2]:sub(1, 3), "501", "QUIT junk")
    helper.eq(#lines, 2, "nothing after QUIT junk")
    helper.eq(sock.closed, true, "closed after QUIT junk")
end
-- }}}

-- {{{ Timeout → 421 4.4.2; peer gone → quiet end; handler error → 421 4.3.0, re-raised.
do
    local lines, sock = session("EHLO x\r\n", {}, nil, "ETIMEDOUT")
    helper.eq(lines[#lines], "421 4.4.2 Connection timed out.", "timeout reply")
    helper.eq(sock.closed, true, "closed after timeout")
    lines, sock = session({ TXN, "half a message" })
    helper.eq(sock.closed, true, "closed after EOF")
    local s2 = fake.new({ "EHLO x\r\nMAIL FROM:<a@b>\r\n" })
    local srv = server.new(s2, { MAIL = function() error("handler broke") end })
    local ok, err = pcall(srv.handle, srv)
    helper.eq(ok, false, "handler error re-raised")
    assert(tostring(err):find("handler broke"), tostring(err))
    helper.eq(fake.lines(s2)[#fake.lines(s2)], "421 4.3.0 Unhandled system error.", "421 4.3.0")
    helper.eq(s2.closed, true, "closed after a handler error")
end
-- }}}

-- {{{ Pipelined commands are answered in one write (RFC 2920 server side).
do
    local lines, sock = session({ TXN, "hi\r\n.\r\nQUIT\r\n" })
    -- banner | EHLO+MAIL+RCPT+354 | 250 data + 221
    helper.eq(#sock.sent, 3, "writes for a pipelined session")
    helper.eq(#lines, 1 + 7 + 3 + 1 + 1, "replies")   -- the EHLO reply: greeting and 6 extensions
end
-- }}}

-- {{{ BDAT (CHUNKING): chunks, LAST, errors, size.
do
    local got
    local h = { HAVE_DATA = function(_, reply, data) got = data end }
    local lines = session({
        "EHLO x\r\nBDAT 3\r\nabcRSET\r\n",
        "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 5\r\n.a\r\n.BDAT 6 LAST\r\n",
        "\r\nb\r\n.QUIT\r\n",
    }, h)
    has(lines, "503 5.5.1 No valid sender given")
    has(lines, "250 2.0.0 5 octets received")
    has(lines, "250 2.6.0 Message Accepted")
    helper.eq(got, ".a\r\n.\r\nb\r\n.", "BDAT data (no un-stuffing, final CRLF removed)")
    helper.eq(lines[#lines], "221 2.0.0 Bye", "after BDAT")
    lines = session({ "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 60\r\n" .. ("z"):rep(60)
        .. "BDAT 60 LAST\r\n" .. ("z"):rep(60) .. "NOOP\r\nQUIT\r\n" }, {}, { max_message_size = 100 })
    has(lines, "250 2.0.0 60 octets")
    has(lines, "552 5.3.4")
    has(lines, "250 2.0.0 Ok")
    lines = session("EHLO x\r\nBDAT x\r\nBDAT 1 NOTLAST\r\nQUIT\r\n")
    helper.eq(lines[#lines - 2]:sub(1, 3), "501", "bad BDAT size")
    helper.eq(lines[#lines - 1]:sub(1, 3), "501", "bad BDAT keyword")
end
-- }}}

-- {{{ HELO: no extensions; BDAT unknown then; EHLO brings them back; SIZE still enforced.
do
    local seen
    local lines = session({ "HELO x\r\nBDAT 0 LAST\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
        ("q"):rep(100) .. "\r\n.\r\nEHLO y\r\nQUIT\r\n" },
        { EHLO = function(_, reply, name, is_helo) seen = is_helo end }, { max_message_size = 50 })
    helper.eq(lines[2], "250 Hello x", "HELO reply is one plain line")
    helper.eq(lines[3]:sub(1, 3), "500", "BDAT after HELO")
    has(lines, "552 5.3.4")
    has_ext(lines, "CHUNKING")
    helper.eq(seen, nil, "last EHLO call was for EHLO")
end
-- }}}

-- {{{ server.io for custom commands: a challenge/response exchange.
do
    local h = {}
    function h:XCHAL(arg, srv)
        srv.io:send_reply("334", "challenge")
        srv.io:flush_send()
        local answer = srv.io:recv_line()
        return { code = "250", message = "got " .. answer, enhanced_status_code = "2.0.0" }
    end
    local lines = session("XCHAL\r\nresponse\r\nQUIT\r\n", h)
    helper.eq(lines[2], "334 challenge", "challenge")
    helper.eq(lines[3], "250 2.0.0 got response", "response")
    -- CLOSE and HAVE_DATA are callbacks, not commands.
    lines = session("CLOSE\r\nQUIT\r\n", { CLOSE = function() end })
    helper.eq(lines[2]:sub(1, 3), "500", "CLOSE is not a command")
end
-- }}}

-- {{{ Lower-case commands; a command ended by a bare LF is refused (500 5.5.2, it counts
-- as an error) and never runs, whatever follows it (test_smtp_smuggling: over TCP).
do
    local got
    local lines = session("ehlo x\r\nmail from:<a@b>\r\nrcpt to:<c@d>\r\ndata\r\nhello\r\n.\r\nquit\r\n",
        { HAVE_DATA = function(_, r, data) got = data end })
    helper.eq(got, "hello", "lower-case session")
    helper.eq(lines[#lines], "221 2.0.0 Bye", "quit")
    got = nil
    local srv
    lines, _, srv = session("ehlo x\nmail from:<a@b>\nrcpt to:<c@d>\ndata\nhello\n.\nNOOP\r\nquit\n",
        { HAVE_DATA = function(_, r, data) got = data end })
    for i = 2, 7 do helper.eq(lines[i], "500 5.5.2 Bare <LF> received, lines end with <CR><LF>", "bare LF line " .. i) end
    helper.eq(lines[8], "250 2.0.0 Ok", "a CRLF command after them")
    helper.eq(lines[9], "500 5.5.2 Bare <LF> received, lines end with <CR><LF>", "bare LF QUIT")
    helper.eq(got, nil, "no message")
    helper.eq(srv.ehlo_as, nil, "no EHLO ran")
    helper.eq(srv.errors, 7, "each bare LF line is an error")
end
-- }}}
-- {{{ STARTTLS and TLS-on-connect control flow, with a stand-in for ratchet.ssl
-- (test_smtp_starttls runs the real handshakes).
do
    local auth = require "ratchet.smtp.auth"
    local function tls_socket(chunks)
        local sock = fake.new(chunks)
        sock.handshakes = 0
        local session = {}
        function session.server_handshake() sock.handshakes = sock.handshakes + 1 end
        function session.shutdown() sock.tls_shutdown = true end
        function sock:encrypt(ctx)
            self.ctx = ctx
            self.session = session
            return session
        end
        function sock:get_encryption() return self.session end
        local plain_send = sock.send
        function sock:send(d)
            plain_send(self, (self.session and "[tls]" or "") .. d)
        end
        return sock
    end
    local ctx = { "tls context" }
    local seen = {}
    local h = { AUTH = auth.new{ tls_only = true, check = function() return true end } }
    function h:STARTTLS(reply, extensions) seen.ext = extensions end
    local sock = tls_socket({
        "EHLO x\r\nSTARTTLS\r\nMAIL FROM:<injected@evil>\r\n",
        "RCPT TO:<a@b>\r\nEHLO y\r\nSTARTTLS\r\nQUIT\r\n",
    })
    local srv = server.new(sock, h, ctx)
    srv:handle()
    local lines = fake.lines(sock)
    local text = table.concat(lines, "\n")
    assert(text:find("250-STARTTLS", 1, true) or text:find("250 STARTTLS", 1, true), "STARTTLS offered:\n" .. text)
    assert(not text:find("AUTH PLAIN", 1, true) or text:find("AUTH PLAIN") > text:find("220 2.7.0"), "AUTH only after TLS")
    has(lines, "220 2.7.0 Go ahead")
    helper.eq(sock.handshakes, 1, "one server handshake")
    helper.eq(sock.ctx, ctx, "encrypted with the server's context")
    helper.eq(srv.using_tls, true, "using_tls")
    helper.eq(seen.ext, srv.extensions, "STARTTLS handler gets the extensions")
    -- The injected MAIL got no reply at all: the replies after the handshake are the
    -- RCPT 503, the EHLO, the second STARTTLS and QUIT.
    local after, tls = {}, false
    for _, l in ipairs(lines) do
        tls = tls or l:find("^%[tls%]") ~= nil
        l = l:gsub("^%[tls%]", "")
        if tls and l:sub(4, 4) == " " then after[#after + 1] = l:sub(1, 3) end
    end
    helper.eq(table.concat(after, " "), "503 250 500 221", "replies after the handshake")
    for i, l in ipairs(lines) do lines[i] = l:gsub("^%[tls%]", "") end
    has_ext(lines, "AUTH PLAIN LOGIN")
    helper.eq(srv.extensions:has("STARTTLS"), nil, "STARTTLS no longer offered")
    helper.eq(lines[#lines - 1]:sub(1, 3), "500", "second STARTTLS is unknown")
    helper.eq(lines[#lines], "221 2.0.0 Bye", "QUIT over TLS")
    helper.eq(sock.tls_shutdown, true, "TLS shut down at close")

    -- STARTTLS before EHLO: 503; with an argument: 501.
    sock = tls_socket({ "STARTTLS\r\nEHLO x\r\nSTARTTLS now\r\nQUIT\r\n" })
    server.new(sock, {}, ctx):handle()
    lines = fake.lines(sock)
    helper.eq(lines[2]:sub(1, 3), "503", "STARTTLS before EHLO")
    helper.eq(lines[#lines - 1]:sub(1, 3), "501", "STARTTLS with an argument")
    helper.eq(sock.handshakes, 0, "no handshake")

    -- TLS on connect: the STARTTLS handler and the handshake come before the banner.
    sock = tls_socket({ "EHLO x\r\nQUIT\r\n" })
    local called
    server.new(sock, { STARTTLS = function(_, reply, ext) called = ext end }, ctx, true):handle()
    lines = fake.lines(sock)
    assert(lines[1]:find("^%[tls%]220 "), "banner after the handshake: " .. lines[1])
    assert(called, "STARTTLS handler called for TLS on connect")
    assert(not table.concat(lines, "\n"):find("STARTTLS"), "no STARTTLS offered on a TLS connection")
end
-- }}}
print("ok")
