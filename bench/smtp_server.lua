-- The SMTP server a user would write, for bench/smtp_load.lua: an accept loop, one
-- ratchet.smtp.server session per connection, messages taken and dropped.
--   lua5.4 bench/smtp_server.lua PORT [PORTFILE]   (PORT 0: a free port, written to PORTFILE)
local ratchet = require "ratchet"
require "ratchet.smtp.server"
local port = assert(tonumber(arg[1]), "usage: smtp_server.lua PORT [PORTFILE]")

local accepted = 0
local handlers = {}
function handlers:HAVE_DATA(reply, data, err)
    if data then accepted = accepted + 1 end
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen()
    if arg[2] then
        local f = assert(io.open(arg[2] .. ".tmp", "w"))
        f:write(select(2, server:getsockname()))
        f:close()
        os.rename(arg[2] .. ".tmp", arg[2])
    end
    while true do
        local client = server:accept()
        ratchet.thread.attach(ratchet.smtp.server.new(client, handlers, nil, nil,
            { max_message_size = 10 * 1024 * 1024 }))
    end
end, function(err) io.stderr:write(tostring(err), "\n") end):loop()
