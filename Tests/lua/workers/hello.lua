-- The HTTP server the worker tests and bench/workers.sh run under `ratchet-lua -w N`:
-- written for one process (it binds and listens itself), it names its worker in replies.
--   ratchet-lua [-w N] hello.lua PORT [PORTFILE [max_connections [max_per_address [fail-reload]]]]
-- GET /slow?S sleeps S seconds before answering. PORTFILE receives the bound port.
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local worker = require "ratchet.worker"

local port, portfile = tonumber(arg[1]) or 0, arg[2]
-- "fail-reload": a reloaded generation fails at start, as a script with a new bug would
if arg[5] == "fail-reload" and worker.generation > 1 then error("generation " .. worker.generation .. " is broken") end
local pid = io.open("/proc/self/stat"):read("l"):match("^%d+")
local handlers = {}
function handlers:GET(uri)
    local slow = uri:match("^/slow%?([%d.]+)")
    if slow then ratchet.thread.timer(tonumber(slow)) end
    return {code = 200, headers = {["X-Worker"] = worker.id() .. " " .. worker.generation},
            data = "hello from worker " .. worker.id() .. " pid " .. pid .. "\n"}
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    if portfile then
        local _, p = listener:getsockname()
        local f = assert(io.open(portfile .. ".tmp", "w"))
        f:write(p, "\n")
        f:close()
        os.rename(portfile .. ".tmp", portfile)
    end
    http_server.serve(listener, handlers, {max_connections = tonumber(arg[3]),
        max_connections_per_address = tonumber(arg[4])})
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
