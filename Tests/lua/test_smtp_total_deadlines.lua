-- Total deadlines (issue 19): a client that dribbles a byte before each read timeout
-- gets 421 4.4.2 once command_timeout has passed for a command line, and for a message
-- (DATA or a BDAT chunk) once it falls behind command_timeout plus min_data_rate, not
-- hours later. The per-read idle timeout still holds, and a slow line or message inside
-- its deadline is served.
require "ratchet"
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

helper.run(function()
    local listener, port = helper.listen()
    peer.serve(listener, function(conn)
        return server.new(conn, {}, nil, nil, { idle_timeout = 0.5, command_timeout = 1.2 })
    end)

    -- Dribbled: a byte every 0.2 s (each read well inside the 0.5 s idle timeout).
    local r = peer.raw(helper.connect(port))
    r:reply()
    local start = ratchet.now()
    local reply
    ratchet.thread.attach(function() reply = r:reply() end)
    local line = "NOOP " .. ("x"):rep(40) .. "\r\n"
    for i = 1, #line do
        if reply then break end
        local ok = pcall(r.send, r, line:sub(i, i))
        if not ok then break end
        ratchet.thread.timer(0.2)
    end
    helper.wait_until(function() return reply end, 10)
    local took = ratchet.now() - start
    helper.eq(reply, "421 4.4.2 Connection timed out.", "dribbled line")
    assert(took >= 1.1 and took < 2.5, "the deadline ended it after " .. took .. " s")

    -- Silent: the idle timeout ends it first.
    r = peer.raw(helper.connect(port))
    r:reply()
    start = ratchet.now()
    helper.eq(r:reply(), "421 4.4.2 Connection timed out.", "silent client")
    took = ratchet.now() - start
    assert(took >= 0.4 and took < 1.1, "idle timeout after " .. took .. " s")

    -- Slow but inside the deadline: served, and the next line gets a fresh deadline.
    r = peer.raw(helper.connect(port))
    r:reply()
    for _ = 1, 2 do
        for _, piece in ipairs({ "NO", "OP", "\r\n" }) do
            r:send(piece)
            ratchet.thread.timer(0.3)
        end
        helper.eq(r:reply(), "250 2.0.0 Ok", "slow NOOP")
    end
    r:send("QUIT\r\n")
    helper.eq(r:reply(), "221 2.0.0 Bye", "QUIT")

    -- Messages: 1.2 s of allowance, then at least 20 octets per second.
    local data_listener, data_port = helper.listen()
    peer.serve(data_listener, function(conn)
        return server.new(conn, {}, nil, nil, { idle_timeout = 0.5, command_timeout = 1.2, min_data_rate = 20 })
    end)
    local function transaction(start_data)
        local c = peer.raw(helper.connect(data_port))
        c:reply()
        c:send("EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n" .. start_data)
        for _ = 1, 3 do c:reply() end
        return c
    end
    -- Dribbled: 5 octets a second, a byte every 0.2 s.
    for _, start_data in ipairs({ "DATA\r\n", "BDAT 100 LAST\r\n" }) do
        local c = transaction(start_data)
        if start_data == "DATA\r\n" then helper.eq(c:reply():sub(1, 3), "354", "DATA") end
        start = ratchet.now()
        reply = nil
        ratchet.thread.attach(function() reply = c:reply() end)
        for _ = 1, 100 do
            if reply or not pcall(c.send, c, "y") then break end
            ratchet.thread.timer(0.2)
        end
        helper.wait_until(function() return reply end, 10)
        took = ratchet.now() - start
        helper.eq(reply, "421 4.4.2 Connection timed out.", "dribbled " .. start_data)
        -- 1.2 s plus 1/20 s for each of the ~7 octets sent by then
        assert(took >= 1.2 and took < 3, "the deadline ended " .. start_data .. " after " .. took .. " s")
    end
    -- Steady: 100 octets a second for 2 s, past the allowance but above the rate.
    local c = transaction("DATA\r\n")
    helper.eq(c:reply():sub(1, 3), "354", "DATA")
    for _ = 1, 10 do
        c:send(("z"):rep(18) .. "\r\n")
        ratchet.thread.timer(0.2)
    end
    c:send(".\r\n")
    helper.eq(c:reply(), "250 2.6.0 Message Accepted for Delivery", "a steady message past the allowance")
    listener:close()
    data_listener:close()
end)
print("ok")
