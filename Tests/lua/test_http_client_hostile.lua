-- The HTTP client against hostile servers and hostile input (issue 19): credentials are
-- not forwarded on a redirect to another origin; CR/LF and control characters in the URL,
-- method or headers are refused before anything is sent; conflicting Content-Lengths and a
-- chunk without its CRLF are errors (EPROTO); a flood of 100 Continue cannot hold a fetch
-- past its timeout, nor forever without one.
require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"
local t = require "httptest"
local thread = ratchet.thread

-- A server that answers each connection's first request with `reply` (a string, or a
-- function(sock) that writes what it likes); it records the requests it read.
local function scripted(reply)
    local listener, port = h.listen()
    local seen = {}
    local acceptor = thread.attach(function()
        while true do
            local s = listener:accept()
            thread.attach(function()
                s:set_timeout(5)
                seen[#seen + 1] = t.read_head(s)
                pcall(function()
                    if type(reply) == "function" then reply(s) else t.send_all(s, reply) end
                end)
                s:close()
            end)
        end
    end)
    return port, seen, function() thread.kill(acceptor); listener:close() end
end

h.run(function()
    local NOPOOL = {pool = false}

    -- credentials and redirects: kept on the same origin, stripped for another one
    local echo = {GET = function(_, uri, headers)
        return {data = uri .. " auth=" .. tostring(headers.authorization[1]) ..
            " cookie=" .. tostring(headers.cookie[1]) .. " x=" .. tostring(headers["x-keep"][1])}
    end}
    local other_port, other = t.serve(echo)
    local handlers = setmetatable({}, {__index = echo})
    handlers.GET = function(self, uri, headers)
        if uri == "/away" then return {code = 302, headers = {Location = "http://127.0.0.1:" .. other_port .. "/there"}} end
        if uri == "/near" then return {code = 307, headers = {Location = "/here"}} end
        return echo.GET(self, uri, headers)
    end
    local port, stats = t.serve(handlers)
    local creds = {Authorization = "Bearer secret", Cookie = "id=1", ["X-Keep"] = "yes"}
    local _, _, _, data = http_client.fetch("http://127.0.0.1:" .. port .. "/near",
        {headers = creds, redirects = 1, pool = false})
    h.eq(data, "/here auth=Bearer secret cookie=id=1 x=yes", "same-origin redirect keeps credentials")
    _, _, _, data = http_client.fetch("http://127.0.0.1:" .. port .. "/away",
        {headers = creds, redirects = 1, pool = false})
    h.eq(data, "/there auth=nil cookie=nil x=yes", "cross-origin redirect drops Authorization and Cookie")
    -- another port on the same host is another origin, and so is "localhost"
    _, _, _, data = http_client.fetch("http://localhost:" .. port .. "/away",
        {headers = {authorization = "x"}, redirects = 1, pool = false})
    h.eq(data, "/there auth=nil cookie=nil x=nil", "lower-case names are stripped too")
    stats.stop(); other.stop()

    -- control characters are refused before a connection is made
    local sport, seen, stop = scripted("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    local base = "http://127.0.0.1:" .. sport
    h.raises_msg("control characters in URL", http_client.fetch, base .. "/a\r\nX-Evil: 1", NOPOOL)
    h.raises_msg("control characters in URL", http_client.fetch, base .. "/a b", NOPOOL)
    h.raises_msg("control characters in URL", http_client.fetch, "http://evil\r\n.example/", NOPOOL)
    h.raises_msg("invalid method", http_client.fetch, base .. "/", {method = "GET / HTTP/1.1\r\nX:", pool = false})
    h.raises_msg("invalid header name", http_client.fetch, base .. "/", {headers = {["X\r\nY"] = "1"}, pool = false})
    h.raises_msg("invalid value of header X", http_client.fetch, base .. "/",
        {headers = {X = "1\r\n\r\nGET /smuggled HTTP/1.1"}, pool = false})
    h.raises_msg("invalid value of header X", http_client.fetch, base .. "/", {headers = {X = {"ok", "a\0b"}}, pool = false})
    local c = http_client.new(h.connect(sport), "127.0.0.1")
    h.raises_msg("invalid request target", c.query, c, "GET", "/x\n")
    c:close()
    -- a tab in a value is allowed, and the server saw no smuggled request
    local code = http_client.fetch(base .. "/", {headers = {X = "a\tb"}, pool = false})
    h.eq(code, 200, "tab in a header value")
    h.wait_until(function() return #seen >= 2 end, 5)
    for _, req in ipairs(seen) do t.lacks(req, "smuggled", "request on the wire") end
    stop()

    -- conflicting Content-Length values are an error; equal repeated ones are not
    local function reply_of(raw, opts)
        local p, _, done = scripted(raw)
        local o = {pool = false}
        for k, v in pairs(opts or {}) do o[k] = v end
        local ok, a, b, c2, d = pcall(http_client.fetch, "http://127.0.0.1:" .. p .. "/", o)
        done()
        if not ok then error(a, 0) end
        return a, b, c2, d
    end
    local err = h.raises("EPROTO", reply_of, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    t.has(tostring(err), "conflicting Content-Length", "error message")
    h.raises("EPROTO", reply_of, "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!")
    h.raises("EPROTO", reply_of, "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello")
    local _, _, _, body = reply_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\nhello")
    h.eq(body, "hello", "agreeing Content-Length values")

    -- chunk data must be followed by CRLF
    err = h.raises("EPROTO", reply_of, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n")
    t.has(tostring(err), "CRLF after chunk", "error message")
    _, _, _, body = reply_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    h.eq(body, "abc", "well-formed chunked body")

    -- 100 Continue every 20 ms: the fetch ends at its timeout (a total deadline) ...
    local function flood(s)
        for _ = 1, 500 do
            t.send_all(s, "HTTP/1.1 100 Continue\r\n\r\n")
            thread.timer(0.02)
        end
    end
    local start = ratchet.now()
    h.raises("ETIMEDOUT", reply_of, flood, {timeout = 0.5})
    local took = ratchet.now() - start
    assert(took < 1.5, "the 100 Continue flood held the fetch for " .. took .. " s")
    -- ... and without a timeout a server cannot send interim responses forever
    err = h.raises("EPROTO", reply_of, string.rep("HTTP/1.1 100 Continue\r\n\r\n", 200))
    t.has(tostring(err), "interim", "error message")
    -- a few interim responses are fine
    _, _, _, body = reply_of(string.rep("HTTP/1.1 100 Continue\r\n\r\n", 3) ..
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    h.eq(body, "ok", "body after 100 Continue")
    -- a server trickling the head one byte at a time is held to the timeout too
    start = ratchet.now()
    h.raises("ETIMEDOUT", reply_of, function(s)
        for ch in ("HTTP/1.1 200 OK\r\nX-Slow: " .. string.rep("y", 200)):gmatch(".") do
            t.send_all(s, ch); thread.timer(0.01)
        end
    end, {timeout = 0.4})
    assert(ratchet.now() - start < 1.2, "a trickled head held the fetch past its timeout")
end)
print("http client hostile ok")
