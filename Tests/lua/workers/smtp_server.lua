-- An SMTP server on ratchet.smtp.server.serve for the worker tests (drain, limits).
--   ratchet-lua smtp_server.lua PORTFILE [max_connections [max_per_address]]
local ratchet = require "ratchet"
local smtp_server = require "ratchet.smtp.server"

local portfile = arg[1]
local handlers = {}
function handlers:HAVE_DATA(reply, data) reply.message = "got " .. #data .. " bytes" end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    local _, p = listener:getsockname()
    local f = assert(io.open(portfile .. ".tmp", "w"))
    f:write(p, "\n")
    f:close()
    os.rename(portfile .. ".tmp", portfile)
    smtp_server.serve(listener, handlers, {max_connections = tonumber(arg[2]),
        max_connections_per_address = tonumber(arg[3])})
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
