-- HTTP/1.1 "hello world" for bench/workers.sh under `ratchet-lua -w N`: the handler a user
-- would write, and a count of the requests each worker served, written to stderr at stop
-- ("worker ID served N").   usage: ratchet-lua -w N workers_hello.lua PORT
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local worker = require "ratchet.worker"
local port = assert(tonumber(arg[1]), "usage: workers_hello.lua PORT")

local BODY = "Hello, World!\n"
local HEADERS = {["Content-Type"] = {"text/plain"}}
local served = 0
local handlers = {}
function handlers:GET(uri, headers, data, from)
    served = served + 1
    return {code = 200, message = "OK", headers = HEADERS, data = BODY}
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen(1024)
    worker.on_stop(function()
        io.stderr:write("worker ", worker.id(), " served ", served, "\n")
    end)
    http_server.serve(server, handlers)
end, function() end):loop()
