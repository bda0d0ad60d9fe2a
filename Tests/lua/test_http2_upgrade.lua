-- h2c by Upgrade (RFC 7540 3.2) on the server: curl --http2 on an http:// URL and nghttp -u
-- ask with "Connection: Upgrade, HTTP2-Settings"; the server answers 101 and HTTP/2, the
-- request being stream 1 (its body too), later requests streams on the same connection. A
-- request whose HTTP2-Settings is not base64url stays HTTP/1.1; after the 101 the client's
-- preface must come within header_timeout.
local ratchet = require "ratchet"
local h = require "helper"
local t = require "httptest"

local handlers = {
    GET = function(_, uri, headers)
        return {headers = {["X-Upgrade-Seen"] = tostring(rawget(headers, "upgrade") ~= nil)}, data = "at " .. uri .. "\n"}
    end,
    POST = function(_, uri, _, data) return {code = 201, data = uri .. " got " .. #data .. " bytes\n"} end,
}

local function run(cmd)
    local rc, out = h.spawn(cmd):wait(30)
    h.eq(rc, 0, cmd .. ": " .. out)
    return out
end

h.run(function()
    local port, stats = t.serve(handlers, {header_timeout = 0.5, idle_timeout = 5})
    local base = "http://127.0.0.1:" .. port

    -- curl: the first request upgrades, the second goes as a stream on the same connection
    local out = run(("curl -sS -v --http2 %s/one %s/two 2>&1"):format(base, base))
    t.has(out, "< HTTP/1.1 101 Switching Protocols", "curl got 101")
    t.has(out, "at /one\n", "the upgrading request answered over HTTP/2")
    t.has(out, "> GET /two HTTP/2", "the next request as an HTTP/2 stream")
    t.has(out, "at /two\n", "and answered")
    local _, h2_answers = out:gsub("< HTTP/2 200", "")
    h.eq(h2_answers, 2, "both answered as HTTP/2")
    t.has(out, "x-upgrade-seen: false", "the handler does not see the connection's Upgrade field")
    h.eq(stats.connections, 1, "one connection")

    -- a request body comes with the upgrading request (HTTP/1.1 framing), answered on stream 1
    out = run(("curl -sS -v --http2 --data-binary @- %s/post 2>&1 < /dev/null; " ..
        "head -c 100000 /dev/zero | curl -sS -v --http2 --data-binary @- %s/big 2>&1"):format(base, base))
    t.has(out, "/post got 0 bytes\n", "an empty POST upgrades")
    t.has(out, "/big got 100000 bytes\n", "a 100 kB POST body upgrades with its request")
    local _, created = out:gsub("< HTTP/2 201", "")
    h.eq(created, 2, "both answered as HTTP/2")

    -- nghttp -u: nghttp2's own client
    out = run(("nghttp -u -v %s/ng"):format(base))
    t.has(out, "HTTP Upgrade success", "nghttp upgraded")
    t.has(out, "at /ng\n", "nghttp got the answer on stream 1")
    t.has(out, "recv DATA frame <length=7, flags=0x01, stream_id=1>", "stream 1 carries it")

    -- HTTP2-Settings that is not base64url: HTTP/1.1 goes on
    local s = h.connect(port)
    t.send_all(s, "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\n" ..
        "Upgrade: h2c\r\nHTTP2-Settings: !!!\r\n\r\n")
    out = t.read_all(s, 5)
    s:close()
    assert(out:match("^HTTP/1%.1 200"), "malformed HTTP2-Settings: HTTP/1.1 200: " .. out)
    t.has(out, "at /plain\n", "answered as HTTP/1.1")

    -- after the 101 the client owes its preface: header_timeout (0.5 s) from the 101
    s = h.connect(port)
    local started = ratchet.now()
    t.send_all(s, "GET /silent HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n" ..
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")
    out = t.read_all(s, 5)
    local took = ratchet.now() - started
    s:close()
    assert(out:match("^HTTP/1%.1 101 Switching Protocols\r\n"), "101: " .. out)
    assert(took >= 0.4 and took < 2, "no preface after the 101: closed after " .. took .. " s")
    -- the answer to stream 1 and a GOAWAY went out before the close (frame type 7)
    local frames = out:match("\r\n\r\n(.*)$")
    assert(frames:find("at /silent\n", 1, true), "stream 1 answered even so")
    assert(frames:find("\0\0\8\7\0\0\0\0\0", 1, true), "GOAWAY before the close")
    stats.stop()
end)
print("http2 upgrade ok")
