-- ratchet.http.server against hostile clients and careless handlers (issue 19): response
-- splitting refused, chunked bodies of tiny chunks, heads dribbled a byte at a time, total
-- deadlines for bodies and TLS handshakes, dispatch to request methods only, trailers kept
-- apart and counted, and h11's rules for targets, Host and lengths.
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local t = require "httptest"

local errors = {}
local shutdowns = 0
local base = {}
base.__index = base
function base:shutdown_everything() shutdowns = shutdowns + 1; return {data = "shut down"} end
function base:POST(uri, headers, data)   -- inherited, as slimta's edge defines its methods
    return {data = uri .. ":" .. #(data or "") .. ":" .. tostring(headers["x-trailer"][1]) .. ":" ..
        tostring(headers.host[1])}
end
local handlers = setmetatable({}, base)
function handlers:GET(uri)
    if uri == "/split-value" then return {headers = {["X-A"] = "a\r\nSet-Cookie: evil=1"}, data = "x"} end
    if uri == "/split-name" then return {headers = {["X-A\r\nSet-Cookie: evil"] = "1"}, data = "x"} end
    if uri == "/split-reason" then return {code = 200, message = "OK\r\nSet-Cookie: evil=1", data = "x"} end
    if uri == "/split-lf" then return {headers = {["X-A"] = {"ok", "a\nb"}}, data = "x"} end
    if uri == "/204" then return {code = 204, data = "ignored"} end
    if uri == "/number" then return {headers = {["X-N"] = 5, ["X-T"] = {true}}, data = "x"} end
    return {data = "got " .. uri}
end

local options = {
    max_header_bytes = 16384, max_headers = 10, idle_timeout = 5, header_timeout = 5,
    on_error = function(err) errors[#errors + 1] = tostring(err) end,
}

local function status(resp) return tonumber(resp:match("^HTTP/1%.%d (%d%d%d)")) end

h.run(function()
    local port, stats = t.serve(handlers, options)
    local function expect(request, code, what)
        local resp = t.raw(port, request)
        h.eq(status(resp), code, what .. " (got: " .. resp:sub(1, 80):gsub("\r\n", " | ") .. ")")
        return resp
    end
    local GET = "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    -- response splitting: CR/LF in a handler's names, values or reason → 500, logged
    local r
    for _, path in ipairs({"/split-value", "/split-name", "/split-reason", "/split-lf"}) do
        local before = #errors
        r = expect(GET:format(path), 500, "response splitting refused for " .. path)
        t.lacks(r, "evil", "nothing of the split response sent for " .. path)
        h.eq(#errors, before + 1, "response splitting logged for " .. path)
        t.has(errors[#errors], "split", "the log says why for " .. path)
    end
    -- a status without a body gets no body framing either (RFC 9110 8.6)
    r = expect(GET:format("/204"), 204, "204 response")
    t.lacks(r, "Content-Length", "no Content-Length on 204")
    t.lacks(r, "ignored", "no body on 204")
    -- numbers are sent as text, other values through tostring
    r = expect(GET:format("/number"), 200, "number and boolean header values")
    t.has(r, "X-N: 5\r\n", "number header value")
    t.has(r, "X-T: true\r\n", "boolean header value")

    -- dispatch: only request methods, case-sensitively; inherited upper-case methods serve
    expect("shutdown_everything / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 501, "inherited helper is not a method")
    expect("__index / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 501, "metatable field is not a method")
    expect("post / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 501, "post is not POST")
    h.eq(shutdowns, 0, "no helper ran")
    r = expect("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab", 200,
        "inherited POST")
    t.has(r, "/p:2:nil:x", "inherited POST served")

    -- h11's rules: NUL and controls in the target, Host naming two hosts, leading zeros
    expect("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "NUL in the target")
    expect("GET /a\1b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "control character in the target")
    expect("GET /a\127b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "DEL in the target")
    expect("GET /a\200b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "raw byte above 0x7E in the target")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\11b\r\n\r\n", 400, "VT in a header value")
    expect("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\12b\r\n\r\n", 400, "FF in a header value")
    r = expect("GET /ctl HTTP/1.1\r\nHost: x\r\nCookie: a\1b\r\nConnection: close\r\n\r\n", 200,
        "other controls in a value pass, as in h11")
    expect("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, "Host naming two hosts")
    r = expect("POST /z HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000000000002\r\nConnection: close\r\n\r\nab",
        200, "Content-Length with leading zeros")
    t.has(r, "/z:2:", "leading-zero Content-Length read as 2")
    r = expect("POST /z HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" ..
        "00000000000000000002\r\nab\r\n0\r\n\r\n", 200, "chunk size with leading zeros")
    t.has(r, "/z:2:", "leading-zero chunk size read as 2")
    expect("POST /z HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" ..
        "000000000000000000002\r\nab\r\n0\r\n\r\n", 400, "chunk size of 21 digits")

    -- trailers: not merged into the headers, counted against max_headers and max_header_bytes
    r = expect("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" ..
        "2\r\nab\r\n0\r\nX-Trailer: t\r\nHost: evil\r\n\r\n", 200, "trailers")
    t.has(r, "/t:2:nil:x", "trailer Host and X-Trailer kept out of the headers")
    local trailers = {}
    for i = 1, 9 do trailers[i] = "X-T" .. i .. ": v\r\n" end
    expect("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n" ..
        table.concat(trailers) .. "\r\n", 431, "head fields plus trailers over max_headers")
    expect("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n" ..
        "X-Big: " .. ("b"):rep(17000) .. "\r\n\r\n", 431, "trailers over max_header_bytes")
    expect("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n" ..
        "X-A: a\0b\r\n\r\n", 400, "NUL in a trailer value")

    -- a Content-Length body that comes after its head, with the next request behind it
    local s = h.connect(port)
    t.send_all(s, "POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
    ratchet.thread.timer(0.05)
    t.send_all(s, ("b"):rep(70000) .. "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    local resps = t.read_responses(s, 2)
    s:close()
    h.eq(resps[1] and resps[1].body, "/late:70000:nil:x", "body read after its head")
    h.eq(resps[2] and resps[2].body, "got /next", "request after a body read in pieces")

    -- a chunked body of many one-byte chunks arrives whole
    local n = 200000
    s = h.connect(port)
    t.send_all(s, "POST /many HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" ..
        ("1\r\nx\r\n"):rep(n) .. "0\r\n\r\n")
    r = t.read_all(s, 30)
    s:close()
    t.has(r, "/many:" .. n .. ":", "200000 one-byte chunks assembled")

    -- a 14 KB head sent a byte per packet: linear work (it was quadratic: ~2 s of CPU against
    -- ~0.16 s). Measured against a head a quarter as long sent the same way, so that a slower
    -- machine or an instrumented build (ASan: 0.8-0.95 s) does not matter: linear work costs
    -- about 4 times as much (3.7-4.2 measured, release and ASan), quadratic work 12 times
    -- (a quadratic rescan put back into read_head: 12.1).
    local function dribble(pad)
        local head = "GET /dribble HTTP/1.1\r\nHost: x\r\n" .. ("X-Pad: " .. ("p"):rep(pad) .. "\r\n"):rep(7) ..
            "Connection: close\r\n\r\n"
        s = h.connect(port)
        s:setsockopt("TCP_NODELAY", true)
        local cpu = os.clock()
        for i = 1, #head do
            t.send_all(s, head:sub(i, i))
            ratchet.thread.yield()
        end
        r = t.read_all(s, 10)
        cpu = os.clock() - cpu
        s:close()
        t.has(r, "got /dribble", "dribbled head of " .. #head .. " bytes served")
        return cpu, #head
    end
    local small, small_bytes = dribble(500)
    local big, big_bytes = dribble(2000)
    assert(big < 8 * small, ("a %d-byte head a byte at a time cost %.2f s of CPU, a %d-byte one %.2f s")
        :format(big_bytes, big, small_bytes, small))
    stats.stop()

    -- a request body dribbled in: cut off by body_timeout in all, though each byte is quick
    port, stats = t.serve(handlers, {idle_timeout = 5, header_timeout = 5, body_timeout = 0.5})
    s = h.connect(port)
    t.send_all(s, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    local started, answer = ratchet.now(), ""
    s:set_timeout(0.2)
    for _ = 1, 40 do
        local ok, d = pcall(s.recv, s)
        if ok and d == "" then break end
        if ok then answer = answer .. d end
        pcall(t.send_all, s, "b")
    end
    local took = ratchet.now() - started
    s:close()
    h.eq(status(answer), 408, "slow body gets 408: " .. answer)
    assert(took >= 0.45 and took < 3, "slow body cut after " .. took .. " s, body_timeout 0.5")
    stats.stop()

    -- a TLS handshake dribbled in: closed after header_timeout in all
    local certs = require("tls_helper").certs("ec")
    local sctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    sctx:load_certs(certs.server, certs.server_key)
    port, stats = t.serve(handlers, {tls = sctx, idle_timeout = 5, header_timeout = 0.6})
    s = h.connect(port)
    started = ratchet.now()
    local hello = "\22\3\1\2\0\1\0\1\252\3\3" .. ("r"):rep(64)   -- a ClientHello's start
    s:set_timeout(0.2)
    local closed = false
    for i = 1, #hello do
        if not pcall(t.send_all, s, hello:sub(i, i)) then closed = true; break end
        local ok, d = pcall(s.recv, s)
        if ok and d == "" then closed = true; break end
    end
    took = ratchet.now() - started
    s:close()
    assert(closed, "dribbled TLS handshake never closed")
    assert(took < 3, "dribbled TLS handshake held for " .. took .. " s, header_timeout 0.6")
    stats.stop()
end)
print("http server hardening ok")
