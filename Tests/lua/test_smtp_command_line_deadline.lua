-- A command line has a total deadline (issue 19): a client that dribbles a byte before
-- each read timeout gets 421 4.4.2 once command_timeout has passed, not hours later.
-- The per-read idle timeout still holds, and a slow line inside the deadline is served.
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
    listener:close()
end)
print("ok")
