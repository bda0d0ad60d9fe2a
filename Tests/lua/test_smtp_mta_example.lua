-- examples/mta.lua as a user runs it: swaks sends to it, it queues to its spool and
-- relays to a smart host (aiosmtpd). The smart host is down at first, so the first
-- message is deferred and retried; a recipient the smart host refuses (5xx) moves the
-- message to spool/failed.
require "ratchet"
local helper = require "helper"
local peer = require "smtp_peer"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]*$")

helper.run(function()
    local dir = helper.tmpname("mta")
    local spool, smart = dir .. "/spool", dir .. "/smart"
    assert(os.execute("mkdir -p " .. smart))
    -- A port with nothing on it yet: the smart host comes up there later.
    local probe, smart_port = helper.listen()
    probe:close()

    local mta <close> = helper.spawn(("lua5.4 %s/examples/mta.lua --smarthost 127.0.0.1:%d --port 0 --spool %s --retry 0.3")
        :format(root, smart_port, spool))
    local port = tonumber(mta:wait_for("listening on 127%.0%.0%.1:(%d+)", 10))

    local function swaks(to, body)
        local path = helper.write_tmp(body)
        local rc, out = helper.spawn(("swaks --server 127.0.0.1:%d --helo client.test --from sender@x.test --to %s --data @%s")
            :format(port, to, path)):wait(60)
        helper.eq(rc, 0, "swaks to the MTA\n" .. out)
        return out
    end

    local out = swaks("one@ok.test,two@ok.test", "Subject: first\n\n.dotted body\nend")
    assert(out:find("250 2.6.0 Queued as", 1, true), out)
    -- Deferred while the smart host is down.
    mta:wait_for("deferred", 5)
    assert(helper.sh("ls " .. spool):find("%.env"), "message kept in the spool")

    local smarthost <close> = peer.aiosmtpd(smart, 1000000, smart_port)
    local relayed = helper.wait_until(function() return helper.read_file(smart .. "/1.eml") end, 20)
    assert(relayed, "message not relayed after the retry:\n" .. mta:output())
    assert(relayed:find("^Received: from client%.test %(%[127%.0%.0%.1%]%)"), "Received header: " .. relayed:sub(1, 200))
    helper.eq(relayed:sub(-#"Subject: first\r\n\r\n.dotted body\r\nend\r\n"),
        "Subject: first\r\n\r\n.dotted body\r\nend\r\n", "relayed message body")
    local env = helper.read_file(smart .. "/1.env")
    helper.eq(env:match("^[^\n]*"), "sender@x.test", "relayed sender")
    helper.eq(env:match("\n([^\n]*)"), "one@ok.test,two@ok.test", "relayed recipients")
    helper.wait_until(function() return not helper.sh("ls " .. spool):find("%.env") end, 5)
    assert(not helper.sh("ls " .. spool):find("%.env"), "spool emptied after relaying")

    -- Refused by the smart host: moved to spool/failed.
    swaks("bad@refused.test", "Subject: second\n\nbody")
    helper.wait_until(function() return helper.sh("ls " .. spool .. "/failed"):find("%.env") end, 10)
    local failed = helper.sh("ls " .. spool .. "/failed")
    assert(failed:find("%.env") and failed:find("%.eml"), "failed message not in spool/failed:\n" .. mta:output())
    helper.eq(helper.read_file(smart .. "/2.eml"), nil, "refused message not delivered")

    -- An EHLO name with a bare CR or NUL (it would go into Received:) is refused.
    local r = peer.raw(helper.connect(port))
    r:reply()
    r:send("EHLO evil\r.test\r\nEHLO evil\0.test\r\nQUIT\r\n")
    helper.eq(r:reply():sub(1, 4), "501 ", "EHLO with a bare CR")
    helper.eq(r:reply():sub(1, 4), "501 ", "EHLO with a NUL")
    helper.eq(r:reply():sub(1, 4), "221 ", "QUIT")
end)
print("ok")
