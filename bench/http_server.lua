-- HTTP/1.1 "hello world" on ratchet.http.server: the handler object a user would write,
-- served by ratchet.http.server.serve (one thread per connection, keep-alive, pipelining).
-- Also the realistic workload of bench/http_realistic.sh: GET /json answers a 4 KB JSON
-- document, POST answers the size of the body it received.
-- usage: lua5.4 http_server.lua PORT
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local port = assert(tonumber(arg[1]), "usage: http_server.lua PORT")

local BODY = "Hello, World!\n"
local HEADERS = {["Content-Type"] = {"text/plain"}}
local JSON = dofile((arg[0]:match("^(.*)/") or ".") .. "/http_json.lua")
local JSON_HEADERS = {["Content-Type"] = {"application/json"}}
local handlers = {}
function handlers:GET(uri, headers, data, from)
    if uri == "/json" then return {code = 200, message = "OK", headers = JSON_HEADERS, data = JSON} end
    return {code = 200, message = "OK", headers = HEADERS, data = BODY}
end
function handlers:POST(uri, headers, data, from)
    return {code = 200, message = "OK", headers = HEADERS, data = tostring(#(data or "")) .. "\n"}
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen(1024)
    http_server.serve(server, handlers, os.getenv("NO_TIMEOUT") and {idle_timeout = -1, header_timeout = -1} or nil)
end, function() end):loop()
