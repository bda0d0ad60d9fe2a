-- The reference HTTP API, client against server in one kernel: test_http_get of the original
-- (server.new(socket, from, handlers), handlers:METHOD(uri, headers, data, from), lower-cased
-- multi-value headers, missing headers read as {}, client:query → code, reason, headers,
-- data), plus the reference's defaults: 501 without a handler, the common helpers, __call.
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local http_client = require "ratchet.http.client"
local common = require "ratchet.http.common"
local h = require "helper"
local thread = ratchet.thread

assert(ratchet.http.server == http_server and ratchet.http.client == http_client, "globals")

local seen = {}
h.run(function()
    local listener, port = h.listen()
    local server_thread = thread.attach(function()
        for _ = 1, 3 do
            local client, from = listener:accept()
            local handlers = {}
            function handlers:GET(uri, headers, data, from_arg)
                assert(self == handlers, "called as a method")
                seen.uri = uri
                seen.values = table.concat(headers["x-command-header"], "|")
                seen.mixed = headers["X-Command-Header"][2]
                seen.missing = headers["x-missing"]
                seen.data = data
                seen.from = from_arg
                return {code = 250, message = "Testing", headers = {["X-Testing"] = {"check"}}, data = "data!"}
            end
            function handlers:POST(uri, headers, data)
                seen.post_data = data
                return {code = 201, message = "Made", headers = {}, data = ""}
            end
            -- the reference argument order, and the object called as a thread (__call)
            thread.attach(http_server.new(client, tostring(from), handlers))
        end
    end)

    -- the original test_http_get exchange
    local c = http_client.new(h.connect(port))
    local code, reason, headers, data = c:query("get", "/test/uri",
        {["X-Command-Header"] = {"one", "two"}, ["Content-Length"] = {12}}, "command data")
    h.eq(code, 250, "code")
    h.eq(reason, "Testing", "reason")
    h.eq(headers["x-testing"][1], "check", "response header")
    h.eq(headers["X-Testing"][1], "check", "case-insensitive response header")
    h.eq(type(headers["x-missing"]), "table", "missing header is a table")
    h.eq(#headers["x-missing"], 0, "missing header is empty")
    h.eq(data, "data!", "data")
    h.eq(seen.uri, "/test/uri", "uri")
    h.eq(seen.values, "one|two", "multi-value header")
    h.eq(seen.mixed, "two", "case-insensitive request header")
    h.eq(type(seen.missing), "table", "missing request header")
    h.eq(seen.data, "command data", "request body")
    h.eq(seen.from, "127.0.0.1", "from passed through")
    -- like the reference, the client closed its socket after the one query
    h.eq(c.socket:get_fd(), -1, "client socket closed")

    -- a body without a Content-Length from the caller gets one; "" body arrives as ""
    c = http_client.new(h.connect(port))
    code = c:query("POST", "/x", nil, "")
    h.eq(code, 201, "POST code")
    h.eq(seen.post_data, "", "empty body")

    -- no handler for the method: 501
    c = http_client.new(h.connect(port))
    code, reason = c:query("DELETE", "/x")
    h.eq(code, 501, "no handler")
    h.eq(reason, "Not Implemented", "501 reason")
    thread.wait_all({server_thread})
    listener:close()
end)

-- serve (extension): one thread per connection; returns when the listener is closed
local started = ratchet.now()
h.run(function()
    local listener, port = h.listen()
    local acceptor = thread.attach(http_server.serve, listener, {GET = function() return {data = "served"} end})
    local code, _, _, data = http_client.fetch("http://127.0.0.1:" .. port .. "/")
    h.eq(data, "served", "served by serve()")
    -- closing the listener drains the server: the connection the client keeps pooled is
    -- closed by the server, and its thread ends (no pool:close() needed)
    listener:close()
    thread.wait_all({acceptor})
    h.eq(coroutine.status(acceptor), "dead", "serve returned after the listener closed")
end)
local took = ratchet.now() - started
assert(took < 5, "loop() ended without waiting for the server's idle timeout, not after " .. took .. " s")

-- common helpers of the reference
local hs = common.build_header_string({["X-A"] = {"1", 2}})
h.eq(hs, "X-A: 1\r\nX-A: 2\r\n", "build_header_string")
local parsed, nxt = common.parse_header_string("A: 1\r\nb: 2\r\na: 3\r\n\r\nbody", 1)
h.eq(table.concat(parsed.a, ","), "1,3", "parse_header_string values")
h.eq(parsed.B[1], "2", "parse_header_string lookup")
h.eq(nxt, 19, "parse_header_string next position")
h.eq(#parsed.nothing, 0, "parse_header_string missing")
print("http reference ok")
