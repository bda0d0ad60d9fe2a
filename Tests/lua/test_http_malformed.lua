-- The HTTP server against raw requests over a plain socket: malformed requests (400),
-- limits (414, 431, 413), versions (505), expectations (100, 417), slow and idle clients
-- (408, close), handler failures (500 without a traceback), pipelining, HTTP/1.0, HEAD,
-- chunked request bodies. The server must never crash and never send Lua error text.
local ratchet = require "ratchet"
local h = require "helper"
local t = require "httptest"

local handler_errors = {}
local handlers = {}
function handlers:GET(uri, headers, data)
    if uri == "/boom" then error("handler exploded") end
    if uri == "/nil" then return nil end
    if uri == "/badcode" then return {code = "abc"} end
    if uri == "/hdr" then return {data = "[" .. headers["x-tab"][1] .. "]" .. headers["x_odd!"][1]} end
    return {code = 200, headers = {["Content-Type"] = {"text/plain"}}, data = "got " .. uri}
end
function handlers:POST(uri, headers, data)
    local trailer = headers["x-trailer"][1]
    return {code = 200, data = uri .. ":" .. tostring(data) .. (trailer and (":" .. trailer) or "")}
end

local options = {
    max_header_bytes = 1024, max_headers = 10, max_body_bytes = 1000,
    idle_timeout = 1, header_timeout = 1,
    on_error = function(err) handler_errors[#handler_errors + 1] = tostring(err) end,
}

local function status(resp)
    return tonumber(resp:match("^HTTP/1%.%d (%d%d%d)"))
end

local function no_lua_text(resp, what)
    t.lacks(resp, "traceback", what)
    t.lacks(resp, ".lua:", what)
    t.lacks(resp, "exploded", what)
end

h.run(function()
    local port, stats = t.serve(handlers, options)
    local function expect(request, code, what)
        local resp = t.raw(port, request)
        h.eq(status(resp), code, what .. " (got: " .. resp:sub(1, 60):gsub("\r\n", " | ") .. ")")
        no_lua_text(resp, what)
        return resp
    end

    -- malformed
    expect("GARBAGE\r\n\r\n", 400, "bad request line")
    expect("GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400, "header without colon")
    expect("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "space before colon")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "obsolete line folding")
    expect("GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host")
    expect("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host fields")
    expect("GET / HTTP/1.1\nHost: x\n\n", 400, "bare LF line ends")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400, "NUL in a header value")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-A: \0\r\n\r\n", 400, "a header value that is NUL")
    expect("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0")
    expect("GET / HTTP/3.1\r\nHost: x\r\n\r\n", 505, "HTTP/3.1")
    local r = expect("GET / HTTP/1.0\r\n\r\n", 200, "HTTP/1.0 needs no Host")
    h.eq(r:match("^HTTP/1%.%d"), "HTTP/1.0", "1.0 status line")
    t.has(r, "Connection: close", "1.0 closes")

    -- valid but unusual: a lower-case method, a tab inside a value, spaces around it, a
    -- header name with token punctuation
    -- methods are case-sensitive (RFC 9110 9.1): "get" is not GET
    expect("get /lower HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 501, "lower-case method not served by GET")
    r = expect("GET /hdr HTTP/1.1\r\nHost: x\r\nX-Tab:  \ta\tb \t\r\nX_odd!: 1\r\nConnection: close\r\n\r\n", 200,
        "tab in a header value")
    t.has(r, "[a\tb]1", "header value trimmed, inner tab kept")

    -- limits
    expect("GET /" .. ("a"):rep(2000) .. " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "long request line")
    expect("GET /" .. ("a"):rep(2000), 414, "long request line, incomplete")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " .. ("b"):rep(2000) .. "\r\n\r\n", 431, "big header")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " .. ("b"):rep(2000), 431, "big header, incomplete")
    local many = {"GET / HTTP/1.1\r\nHost: x\r\n"}
    for i = 1, 11 do many[#many + 1] = "X-" .. i .. ": v\r\n" end
    expect(table.concat(many) .. "\r\n", 431, "too many headers")
    expect("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413, "body too large")
    expect("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 413, "huge length")
    expect("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "bad Content-Length")
    expect("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "negative Content-Length")
    expect("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
        "conflicting Content-Length")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400,
        "Transfer-Encoding with Content-Length")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unknown transfer coding")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, "chunked not last")
    expect("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "chunked in HTTP/1.0")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400,
        "bad chunk size")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400,
        "chunk without CRLF")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5zz\r\nhello\r\n0\r\n\r\n", 400,
        "garbage after a chunk size")
    expect("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" ..
        ("200\r\n" .. ("c"):rep(512) .. "\r\n"):rep(3) .. "0\r\n\r\n", 413, "chunked body too large")
    expect("POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417, "unknown expectation")

    -- handler failures: 500 without any Lua text, and the connection stays usable
    local s = h.connect(port)
    t.send_all(s, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /nil HTTP/1.1\r\nHost: x\r\n\r\n" ..
        "GET /badcode HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
    local resps = t.read_responses(s, 4)
    h.eq(#resps, 4, "four responses after handler failures")
    h.eq(resps[1].code, 500, "handler error")
    h.eq(resps[2].code, 500, "handler returned nil")
    h.eq(resps[3].code, 500, "handler returned a bad code")
    h.eq(resps[4].body, "got /after", "connection still served")
    for i = 1, 3 do no_lua_text(resps[i].head .. resps[i].body, "500 response") end
    s:close()
    h.eq(#handler_errors, 3, "handler failures reported to on_error")
    t.has(handler_errors[1], "handler exploded", "error reported")

    -- pipelining: three requests in one write, answered in order
    s = h.connect(port)
    t.send_all(s, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" ..
        "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
    resps = t.read_responses(s, 3)
    h.eq(resps[1].body, "got /1", "pipelined 1")
    h.eq(resps[2].body, "/2:abc", "pipelined 2")
    h.eq(resps[3].body, "got /3", "pipelined 3")
    s:close()

    -- HEAD: the GET handler's Content-Length and no body (the next response follows at once)
    s = h.connect(port)
    t.send_all(s, "HEAD /3 HTTP/1.1\r\nHost: x\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\n\r\n")
    s:set_timeout(5)
    local got = ""
    while select(2, got:gsub("HTTP/1.1 200", "")) < 2 or not got:find("got /4", 1, true) do
        local d = s:recv()
        if d == "" then break end
        got = got .. d
    end
    s:close()
    local head1, rest = got:match("^(.-\r\n\r\n)(.*)$")
    t.lacks(head1, "got", "HEAD response head")
    h.eq(rest:sub(1, 15), "HTTP/1.1 200 OK", "HEAD sent no body")
    t.has(rest, "got /4", "request after HEAD")

    -- chunked request body with extensions and a trailer; leading blank line tolerated
    r = expect("\r\nPOST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" ..
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", 200, "chunked body")
    t.has(r, "/c:hello world", "chunked body decoded")
    t.lacks(r, "world:t", "trailer not merged into the headers")
    t.has(r, "Connection: close", "Connection: close answered")

    -- Expect: 100-continue: the interim response comes before the body is sent
    s = h.connect(port)
    t.send_all(s, "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    s:set_timeout(5)
    h.eq(s:recv(), "HTTP/1.1 100 Continue\r\n\r\n", "100 Continue")
    t.send_all(s, "hello")
    resps = t.read_responses(s, 1)
    h.eq(resps[1].body, "/e:hello", "body after 100 Continue")
    s:close()

    -- HTTP/1.0 keep-alive on request
    s = h.connect(port)
    t.send_all(s, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    resps = t.read_responses(s, 1)
    t.has(resps[1].head, "Connection: keep-alive", "1.0 keep-alive acknowledged")
    h.eq(resps[1].status, "HTTP/1.0 200 OK", "1.0 status line")
    t.send_all(s, "GET /k2 HTTP/1.0\r\n\r\n")
    r = t.read_all(s, 5)
    t.has(r, "got /k2", "second request on the 1.0 keep-alive connection")
    s:close()

    -- a slow client (a header line every 0.4 s) is cut off with 408 after header_timeout
    s = h.connect(port)
    local slow_started = ratchet.now()
    t.send_all(s, "GET /slow HTTP/1.1\r\nHost: x\r\n")
    local answer = ""
    s:set_timeout(0.4)
    for i = 1, 20 do
        local ok, d = pcall(s.recv, s)
        if ok and d == "" then break end
        if ok then answer = answer .. d end
        pcall(t.send_all, s, "X-" .. i .. ": slow\r\n")
    end
    local slow_took = ratchet.now() - slow_started
    s:close()
    h.eq(status(answer), 408, "slow client gets 408: " .. answer)
    -- the head deadline is on a monotonic clock: never early, and not seconds late
    assert(slow_took >= 0.95 and slow_took < 2.5, "408 after " .. slow_took .. " s, header_timeout 1")

    -- an idle keep-alive connection is closed after idle_timeout, without a reply
    s = h.connect(port)
    t.send_all(s, "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
    resps = t.read_responses(s, 1)
    h.eq(resps[1].body, "got /idle", "before idling")
    s:set_timeout(5)
    h.eq(s:recv(), "", "idle connection closed by the server")
    s:close()
    -- a connection that never sends anything is closed too
    s = h.connect(port)
    s:set_timeout(5)
    h.eq(s:recv(), "", "silent connection closed")
    s:close()

    -- after all that, the server still serves
    r = expect("GET /final HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, "still serving")
    t.has(r, "got /final", "final body")
    stats.stop()
end)
print("http malformed ok")
