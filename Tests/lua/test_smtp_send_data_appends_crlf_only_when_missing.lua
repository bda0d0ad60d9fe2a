-- client:send_data(data) ends the message with CRLF only when data does not already end
-- with a line ending (issue 17, defect 5): the wire never carries a doubled line ending
-- before the final dot. Checked on the wire, at the bundled server's HAVE_DATA, and at
-- aiosmtpd, for data without a trailing line ending, with CRLF, and with a bare LF.
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"
local client = require "ratchet.smtp.client"

local shapes = {
    { name = "no trailing line ending", data = "Subject: a\r\n\r\nbody" },
    { name = "trailing CRLF", data = "Subject: a\r\n\r\nbody\r\n" },
    { name = "trailing bare LF", data = "Subject: a\r\n\r\nbody\n" },
    { name = "trailing blank line", data = "Subject: a\r\n\r\nbody\r\n\r\n" },
}
-- What each shape puts on the wire after the 354, and what an RFC 5321 server stores.
local wire = {
    "Subject: a\r\n\r\nbody\r\n.\r\n", "Subject: a\r\n\r\nbody\r\n.\r\n",
    "Subject: a\r\n\r\nbody\r\n.\r\n", "Subject: a\r\n\r\nbody\r\n\r\n.\r\n",
}
-- What the bundled server's HAVE_DATA gets: the line ending before the dot is removed.
local have_data = { "Subject: a\r\n\r\nbody", "Subject: a\r\n\r\nbody", "Subject: a\r\n\r\nbody",
    "Subject: a\r\n\r\nbody\r\n" }

-- Runs one transaction per shape through `c`; returns the bytes sent for each message.
local function send_all(c)
    local sent = {}
    local capture
    c.io.socket:set_tracer(function(event, data)
        if event == "send" and capture then capture[#capture + 1] = data end
    end)
    for i, shape in ipairs(shapes) do
        c:mailfrom("a@ratchet.test")
        c:rcptto("b@ok.test")
        helper.eq(c:data().code, "354", "DATA for " .. shape.name)
        capture = {}
        helper.eq(c:send_data(shape.data).code, "250", shape.name .. " accepted")
        sent[i] = table.concat(capture)
        capture = nil
    end
    return sent
end

helper.run(function()
    -- The bundled server.
    local listener, port = helper.listen()
    local received = {}
    peer.serve(listener, function(conn)
        return server.new(conn, { HAVE_DATA = function(_, _, data) received[#received + 1] = data end })
    end)
    local c = client.new(helper.connect(port))
    c:get_banner()
    c:ehlo("ratchet.test")
    local sent = send_all(c)
    for i, shape in ipairs(shapes) do
        helper.eq(sent[i], wire[i], "wire for " .. shape.name)
        helper.eq(received[i], have_data[i], "HAVE_DATA for " .. shape.name)
    end
    c:quit()
    listener:close()

    -- aiosmtpd stores the content with its final CRLF, as RFC 5321 defines it.
    local dir = helper.tmpname("aiosmtpd")
    assert(os.execute("mkdir -p " .. dir))
    local srv <close>, aport = peer.aiosmtpd(dir, 100000)
    c = client.new(helper.connect(aport))
    c:get_banner()
    c:ehlo("ratchet.test")
    sent = send_all(c)
    for i, shape in ipairs(shapes) do
        helper.eq(sent[i], wire[i], "wire to aiosmtpd for " .. shape.name)
        helper.eq(helper.read_file(dir .. "/" .. i .. ".eml"), wire[i]:sub(1, -4), "aiosmtpd content for " .. shape.name)
    end
    c:quit()
    srv:stop()
    os.execute("rm -rf " .. dir)
end)
print("ok")
