-- ratchet.smtp.client to ratchet.smtp.server over TCP: what send_data(data) sends is
-- what HAVE_DATA gets, byte for byte (SHA-256; data ending in CRLF arrives without that
-- last CRLF), across dot-stuffing edge cases and send sizes; the reference test_smtp /
-- test_smtp_bigmessage flows; many sessions at once.
local ratchet = require "ratchet"
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"
local client = require "ratchet.smtp.client"

local cases = {
    "", ".", "..", "x", ".\r\n.", ".leading\r\nline", "a\r\n.\r\nb", "a\r\n..\r\n...\r\n.",
    "\r\n", "\r\n\r\n", "ends with crlf\r\n", "ends with dot\r\n.", ". \r\n.\t\r\n.x.",
    "cr\ronly", "\0\1\2\255 binary-ish\r\n.\0", ("line\r\n.dot\r\n"):rep(5000),
    ("%s\r\n"):format(("w"):rep(5000)) .. ".\r\n" .. ("v"):rep(70000),
}

-- Open sockets of this process (other descriptors may be opened lazily by libraries).
local function socket_count()
    return tonumber((helper.sh("ls -l /proc/" .. helper.pid() .. "/fd | grep -c socket:")))
end

helper.run(function()
    local fds = socket_count()
    local listener, port = helper.listen()
    local received = {}
    peer.serve(listener, function(conn)
        local h = {}
        function h:BANNER(reply) reply.code = 220; reply.message = "test banner" end
        function h:MAIL(reply, address) reply.message = "test sender okay: " .. address end
        function h:RCPT(reply, address) reply.message = "test rcpt okay: " .. address end
        function h:DATA(reply) reply.message = "ready for test data" end
        function h:HAVE_DATA(reply, data, err)
            if err then
                reply.code, reply.message, reply.enhanced_status_code = "552", "message too big", "5.3.4"
            else
                received[#received + 1] = data
                reply.message = "test data received"
            end
        end
        function h:SLIMTA(arg, srv) return { code = "123", message = "custom command okay " .. arg } end
        function h:QUIT(reply) reply.message = "test connection quit" end
        local srv = server.new(conn, h)
        srv.extensions:add("SIZE", "200000")
        return srv
    end)

    -- The reference test_smtp flow, with PIPELINING replies filled in after data().
    local c = client.new(helper.connect(port))
    local banner = c:get_banner()
    helper.eq(banner.code, "220", "banner code (a number in the handler, a string here)")
    helper.eq(banner.message, "test banner", "banner")
    helper.eq(c:ehlo("test.client").code, "250", "EHLO")
    helper.eq(c.extensions:has("SIZE"), "200000", "SIZE from the application")
    local mail = c:mailfrom("sender@slimta.org")
    local r1, r2 = c:rcptto("rcpt1@slimta.org"), c:rcptto("rcpt2@slimta.org")
    helper.eq(mail.code, nil, "MAIL reply pending under PIPELINING")
    local data = c:data()
    helper.eq(mail.message, "2.1.0 test sender okay: sender@slimta.org", "MAIL")
    helper.eq(r1.message, "2.1.5 test rcpt okay: rcpt1@slimta.org", "RCPT 1")
    helper.eq(r2.message, "2.1.5 test rcpt okay: rcpt2@slimta.org", "RCPT 2")
    helper.eq(data.code .. " " .. data.message, "354 ready for test data", "DATA (no ESC for 3xx)")
    local sent = c:send_data("test data")
    helper.eq(sent.message, "2.6.0 test data received", "message")
    local custom = c:custom_command("SLIMTA", "test")
    helper.eq(custom.code, "123", "custom code")
    helper.eq(custom.message, "custom command okay test", "custom message")

    -- Every edge case, every few send sizes, in one session: byte-exact.
    for i, msg in ipairs(cases) do
        for _, size in ipairs({ 1, 7, 4096 }) do
            if size > 1 or #msg < 2000 then
                c.iter_size = size
                c:mailfrom("a@b")
                c:rcptto("c@d")
                helper.eq(c:data().code, "354", "DATA for case " .. i)
                local reply = c:send_data(msg)
                helper.eq(reply.code, "250", "case " .. i .. " accepted")
                local got = received[#received]
                local want = msg:gsub("\r\n$", "")
                if peer.sha256(got) ~= peer.sha256(want) then
                    error(("case %d (send size %d): sent %q, got %q"):format(i, size, msg:sub(1, 200), got:sub(1, 200)))
                end
            end
        end
    end

    -- test_smtp_bigmessage: over SIZE, 552 5.3.4 from HAVE_DATA; QUIT still works.
    c:mailfrom("a@b")
    c:rcptto("c@d")
    c:data()
    sent = c:send_data(("x"):rep(200001))
    helper.eq(sent.code, "552", "big message")
    helper.eq(sent.message, "5.3.4 message too big", "big message text")
    local quit = c:quit()
    helper.eq(quit.code .. " " .. quit.message, "221 2.0.0 test connection quit", "QUIT")

    -- 50 sessions at once, one message each.
    local before = #received
    local threads = {}
    for n = 1, 50 do
        threads[n] = ratchet.thread.attach(function()
            local cl = client.new(helper.connect(port))
            cl:get_banner()
            cl:ehlo("c" .. n)
            cl:mailfrom("s" .. n .. "@x")
            cl:rcptto("r@y")
            cl:data()
            local r = cl:send_data("Subject: " .. n .. "\r\n\r\n.body " .. n)
            assert(r.code == "250", "session " .. n .. ": " .. tostring(r))
            cl:quit()
        end)
    end
    ratchet.thread.wait_all(threads)
    helper.eq(#received - before, 50, "messages from 50 concurrent sessions")
    listener:close()
    -- The server threads finish their close (the machine may be busy).
    for _ = 1, 100 do
        if socket_count() == fds then break end
        ratchet.thread.timer(0.05)
    end
    if socket_count() ~= fds then
        error("sockets leaked:\n" .. helper.sh("ls -l /proc/" .. helper.pid() .. "/fd"))
    end
end)
print("ok")
