-- The native keep-alive loop of ratchet.http.server (Sources/Ratchet/HTTP/ConnectionLoop.swift)
-- serves the common request without Lua code between requests, and hands everything else
-- back to the Lua loop at the point it reached. Checked on one keep-alive connection: that the
-- loop is really taken (a line hook counts the server's Lua lines per request), handlers that
-- yield, fail before or after yielding, return what only the Lua code answers (string codes,
-- metatables, numbers, streams, large bodies, non-tables, 204, no reason, split headers,
-- Connection: close), and methods it leaves to the Lua code (HEAD, unknown, lower case,
-- inherited handlers). Thousands of requests in a row do not grow the C stack.
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local t = require "httptest"
local thread = ratchet.thread

local errors = {}
local handlers = {}
local routes = {
    ["/plain"] = function() return {code = 200, message = "OK", headers = {["X-A"] = "1"}, data = "plain"} end,
    ["/yield"] = function() thread.timer(0.01); return {code = 200, message = "OK", data = "yielded"} end,
    ["/error"] = function() error("boom before") end,
    ["/yield_error"] = function() thread.timer(0.01); error("boom after") end,
    ["/string_code"] = function() return {code = "201", message = "Created", data = "s"} end,
    ["/meta"] = function() return setmetatable({}, {__index = {code = 200, message = "OK", data = "meta"}}) end,
    ["/number_data"] = function() return {code = 200, message = "OK", data = 42} end,
    ["/stream"] = function()
        local i = 0
        return {code = 200, message = "OK", data = function() i = i + 1; if i <= 3 then return "p" .. i end end}
    end,
    ["/big"] = function() return {code = 200, message = "OK", data = string.rep("b", 100000)} end,
    ["/nontable"] = function() return "oops" end,
    ["/no_content"] = function() return {code = 204, message = "No Content", data = "dropped"} end,
    ["/no_reason"] = function() return {code = 404} end,
    ["/float_code"] = function() return {code = 200.0, message = "OK", data = "float"} end,
    ["/split"] = function() return {code = 200, message = "OK", headers = {["X-Bad"] = "a\r\nb"}, data = "x"} end,
    ["/close"] = function() return {code = 200, message = "OK", headers = {Connection = "close"}, data = "bye"} end,
}
-- what the handler was given, to check that a request never sees the previous one's strings
local seen
function routes.echo(headers)
    local names = {}
    for name, values in pairs(headers) do names[#names + 1] = name .. "=" .. table.concat(values, "|") end
    table.sort(names)
    return {code = 200, message = "OK", data = table.concat(names, ";")}
end
function handlers:GET(uri, headers, data, from)
    assert(type(headers) == "table" and headers.host and headers.host[1] == "x", "headers reach the handler")
    assert(data == nil, "no body")
    if uri:find("^/echo") then return routes.echo(headers) end
    return routes[uri]()
end
function handlers:PURGE(uri) return {code = 200, message = "OK", data = "purged " .. uri} end
function handlers:POST(uri, headers, data)
    assert(getmetatable(headers), "the header table has its metatable")
    return {code = 200, message = "OK", data = ("%s %d %s"):format(uri, #data, data:sub(1, 8))}
end
local options = {on_error = function(err) errors[#errors + 1] = tostring(err) end}

-- handler objects that inherit their methods: the Lua lookup finds them
local Base = {}
function Base:GET(uri) return {code = 200, message = "OK", data = "inherited " .. uri} end
local inherited = setmetatable({}, {__index = Base})

local function request(s, line, want_code, want_body, what)
    t.send_all(s, line .. "\r\nHost: x\r\n\r\n")
    local res = t.read_responses(s, 1)[1]
    assert(res, what .. ": no response")
    h.eq(res.code, want_code, what .. " status")
    if want_body then h.eq(res.body, want_body, what .. " body") end
    return res
end

h.run(function()
    -- the server's Lua lines, counted in the connection thread
    local lines = 0
    local server_socket
    local listener, port = h.listen()
    local acceptor = thread.attach(function()
        while true do
            local client, from = listener:accept()
            server_socket = client
            local conn = server.new(client, from, handlers, options)
            thread.attach(function()
                debug.sethook(function()
                    if debug.getinfo(2, "S").short_src:find("http/server.lua", 1, true) then lines = lines + 1 end
                end, "l")
                conn:handle()
            end)
        end
    end)

    local s = h.connect(port)
    request(s, "GET /plain HTTP/1.1", 200, "plain", "first request (the Lua loop)")
    lines = 0
    local n = 3000
    for i = 1, n do
        local res = request(s, "GET /plain HTTP/1.1", 200, "plain", "request " .. i)
        if i == 1 then t.has(res.head, "X-A: 1\r\n", "handler's header") end
    end
    assert(lines < n / 10, ("the native loop serves keep-alive requests: %d Lua lines of the server for %d requests")
        :format(lines, n))

    request(s, "GET /yield HTTP/1.1", 200, "yielded", "a handler that yields")
    request(s, "GET /error HTTP/1.1", 500, nil, "a handler that raises")
    request(s, "GET /yield_error HTTP/1.1", 500, nil, "a handler that raises after yielding")
    h.eq(#errors, 2, "both failures reported")
    assert(errors[1]:find("boom before", 1, true) and errors[2]:find("boom after", 1, true), table.concat(errors, "; "))
    request(s, "GET /string_code HTTP/1.1", 201, "s", "a status code given as a string")
    request(s, "GET /meta HTTP/1.1", 200, "meta", "a response table with a metatable")
    request(s, "GET /number_data HTTP/1.1", 200, "42", "a number body")
    request(s, "GET /float_code HTTP/1.1", 200, "float", "a float status code")
    local big = request(s, "GET /big HTTP/1.1", 200, nil, "a 100 KB body")
    h.eq(#big.body, 100000, "the large body whole")
    request(s, "GET /nontable HTTP/1.1", 500, nil, "a handler that returns no table")
    local nc = request(s, "GET /no_content HTTP/1.1", 204, "", "204")
    t.lacks(nc.head, "Content-Length", "204 head")
    local nr = request(s, "GET /no_reason HTTP/1.1", 404, nil, "no reason phrase")
    t.has(nr.status, "404 Not Found", "the standard reason")
    request(s, "GET /split HTTP/1.1", 500, nil, "a header value with CR LF")
    assert(errors[#errors]:find("split", 1, true), errors[#errors])
    request(s, "PURGE /x HTTP/1.1", 200, "purged /x", "a method of the handler object")
    request(s, "get /plain HTTP/1.1", 501, nil, "a lower-case method")
    t.send_all(s, "HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\n")
    local head = t.read_head(s)
    t.has(head, "HTTP/1.1 200 OK\r\n", "HEAD")
    t.has(head, "Content-Length: 5\r\n", "HEAD answered with GET's length")
    -- a streamed body (chunked): read raw up to its last chunk
    t.send_all(s, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    local got = ""
    s:set_timeout(5)
    while not got:find("0\r\n\r\n", 1, true) do got = got .. s:recv(4096) end
    t.has(got, "Transfer-Encoding: chunked\r\n", "stream")
    t.has(got, "2\r\np1\r\n2\r\np2\r\n2\r\np3\r\n0\r\n\r\n", "stream chunks")
    -- each request gets its own fields, however much it shares with the one before
    local heads = {
        {"X-V: 1\r\nX-W: a\r\n", "host=x;x-v=1;x-w=a"},
        {"X-V: 2\r\nX-W: a\r\n", "host=x;x-v=2;x-w=a"},
        {"X-W: a\r\nX-V: 2\r\n", "host=x;x-v=2;x-w=a"},
        {"x-v: 22\r\n", "host=x;x-v=22"},
        {"X-V: 2\r\nX-V: 3\r\nX-W: \r\n", "host=x;x-v=2|3;x-w="},
        {"", "host=x"},
        {"X-V: " .. ("v"):rep(300) .. "\r\n", "host=x;x-v=" .. ("v"):rep(300)},
        {"X-V: " .. ("v"):rep(299) .. "w\r\n", "host=x;x-v=" .. ("v"):rep(299) .. "w"},
    }
    for i, case in ipairs(heads) do
        t.send_all(s, "GET /echo HTTP/1.1\r\nHost: x\r\n" .. case[1] .. "\r\n")
        h.eq(t.read_responses(s, 1)[1].body, case[2], "fields of request " .. i)
    end
    -- bodies: whole in one read (natively, counted below), in two reads, empty, over the limit
    lines = 0
    for i = 1, 50 do
        local body = ("b"):rep(i * 7)
        t.send_all(s, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)
        local res = t.read_responses(s, 1)[1]
        h.eq(res.body, ("/p %d %s"):format(#body, body:sub(1, 8)), "POST " .. i)
    end
    assert(lines < 10, ("POSTs with their bodies served natively: %d Lua lines for 50"):format(lines))
    t.send_all(s, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    thread.timer(0.05)
    t.send_all(s, "56789")
    h.eq(t.read_responses(s, 1)[1].body, "/p 10 01234567", "a body in two reads")
    request(s, "POST /p HTTP/1.1\r\nContent-Length: 0", 200, "/p 0 ", "an empty body")
    t.send_all(s, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 00000000000000000003\r\n\r\nabc")
    h.eq(t.read_responses(s, 1)[1].body, "/p 3 abc", "a length with leading zeros (the Lua framing)")
    -- still served natively after all of that
    lines = 0
    for i = 1, 100 do request(s, "GET /plain HTTP/1.1", 200, "plain", "again " .. i) end
    assert(lines < 10, ("back in the native loop: %d Lua lines for 100 requests"):format(lines))
    -- a tracer set on the server's socket while the loop waits sees the next exchange
    local traced = {}
    server_socket:set_tracer(function(what, data) traced[#traced + 1] = what end)
    request(s, "GET /plain HTTP/1.1", 200, "plain", "a traced request")
    assert(#traced >= 2 and traced[1] == "recv", "the tracer saw the request: " .. table.concat(traced, ","))
    server_socket:set_tracer(nil)
    -- Connection: close from the handler ends the connection after its response
    request(s, "GET /close HTTP/1.1", 200, "bye", "Connection: close")
    h.eq(s:recv(10), "", "the server closed")
    s:close()

    -- limits given as math.huge (none) or fractions are whole counts for the native parts too
    local port3, stats3 = t.serve(handlers, {max_header_bytes = math.huge, max_headers = 50.5, max_body_bytes = math.huge})
    local s4 = h.connect(port3)
    for i = 1, 3 do
        request(s4, "GET /plain HTTP/1.1", 200, "plain", "no header limit " .. i)
        t.send_all(s4, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        h.eq(t.read_responses(s4, 1)[1].body, "/p 3 abc", "no body limit " .. i)
    end
    s4:close()
    stats3.stop()

    -- inherited handlers (found through __index by the Lua lookup)
    local listener2, port2 = h.listen()
    local acceptor2 = thread.attach(function()
        local client, from = listener2:accept()
        thread.attach(server.new(client, from, inherited, options))
    end)
    local s3 = h.connect(port2)
    for i = 1, 3 do request(s3, "GET /i HTTP/1.1", 200, "inherited /i", "inherited handler " .. i) end
    s3:close()

    thread.kill(acceptor)
    thread.kill(acceptor2)
    listener:close()
    listener2:close()
end)
