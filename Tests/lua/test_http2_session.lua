-- ratchet.http2 sessions talking to each other in memory (no sockets): a request and its
-- response with bodies larger than the flow-control windows, a streamed body, trailers,
-- the limits (431, 413), RST_STREAM, GOAWAY, a protocol error, bad arguments, and use after
-- close. Also run under valgrind by scripts/check-memory.
local ratchet = require "ratchet"
local h = require "helper"
local http2 = ratchet.http2

-- Moves bytes both ways until neither session has anything to send.
local function pump(a, b)
    repeat
        local moved = false
        for _, pair in ipairs({{a, b}, {b, a}}) do
            local out = pair[1]:output()
            if out then moved = true; assert(pair[2]:receive(out)) end
        end
    until not moved
end

-- The events of a session, without "settings" (counted in settings_seen, by session).
local settings_seen = {}
local function events(s)
    local list = {}
    while true do
        local e = {s:event()}
        if #e == 0 then return list end
        if e[1] == "settings" then
            settings_seen[s] = (settings_seen[s] or 0) + 1
        else
            list[#list + 1] = e
        end
    end
end

local big = ("abcdefghij"):rep(300000)   -- 3 MB: over the 1 MiB stream window

local srv, cli = http2.new("server"), http2.new("client", {window_size = 65535})
local id = cli:request("POST", "http", "example.com", "/up?x=1", {["X-A"] = {"1", 2}, Host = "ignored"}, big)
h.eq(id, 1, "first client stream")
pump(cli, srv)
local e = events(srv)
h.eq(#e, 1, "one event")
h.eq(settings_seen[srv], 1, "the client's SETTINGS reported once")
local kind, sid, headers, body, method, path, authority = table.unpack(e[1])
h.eq(kind, "message", "a complete request")
h.eq(sid, 1, "its stream")
h.eq(method, "POST", ":method")
h.eq(path, "/up?x=1", ":path")
h.eq(authority, "example.com", ":authority")
h.eq(next(headers, nil) and headers[":method"], nil, "the pseudo-headers are not in the fields")
h.eq(table.concat(headers["x-a"], ","), "1,2", "lower-cased multi-value field, numbers sent as text")
h.eq(headers.host, nil, "Host is left out")
assert(body == big, "3 MB request body")

assert(srv:respond(1, 200, {["Content-Type"] = "text/plain"}, big, false, "Thu, 01 Jan 2026 00:00:00 GMT"))
pump(cli, srv)
local status
kind, sid, headers, body, status = table.unpack(events(cli)[1])
h.eq(kind, "message", "the response")
h.eq(status, "200", ":status")
h.eq(headers[":status"], nil, ":status is not in the fields")
h.eq(headers.date[1], "Thu, 01 Jan 2026 00:00:00 GMT", "date field")
assert(body == big, "3 MB response body, 64 KiB window")

-- a streamed response: send() in pieces, buffered() until the window opens
id = cli:request("GET", "http", "example.com", "/stream")
pump(cli, srv)
sid = events(srv)[1][2]
assert(srv:respond(sid, 200, nil, nil, true))
for i = 1, 4 do assert(srv:send(sid, ("%d"):format(i):rep(40000))) end
h.eq(srv:buffered(sid), 160000, "queued before sending")
assert(cli:receive(srv:output()))
assert(srv:buffered(sid) > 0 and srv:buffered(sid) < 160000, "the window holds the rest back")
assert(srv:send(sid, "end", true))
h.eq(srv:send(sid, "more"), nil, "nothing after the last piece")
pump(cli, srv)
body = events(cli)[1][4]
h.eq(#body, 160003, "streamed body")
h.eq(body:sub(-3), "end", "streamed body end")
h.eq(srv:buffered(sid), nil, "a finished stream is gone")

-- limits: header list, field count, body
srv = http2.new("server", {max_header_list_size = 1000, max_headers = 5, max_body_bytes = 100})
cli = http2.new("client")
cli:request("GET", "http", "h", "/big-header", {["x-big"] = ("v"):rep(2000)})
cli:request("GET", "http", "h", "/many", {a = 1, b = 2, c = 3, d = 4, e = 5, f = 6})
cli:request("POST", "http", "h", "/big-body", nil, ("b"):rep(101))
cli:request("GET", "http", "h", "/fine", {a = 1, b = 2, c = 3, d = 4, e = 5})
pump(cli, srv)
local got = {}
for _, ev in ipairs(events(srv)) do got[ev[2]] = ev[1] .. " " .. tostring(type(ev[3]) == "table" and ev[6] or ev[3]) end
h.eq(got[1], "refused 431", "header list over the limit")
h.eq(got[3], "refused 431", "more fields than max_headers")
h.eq(got[5], "refused 413", "body over the limit")
h.eq(got[7], "message /fine", "within the limits")

-- the bodies being received on one connection together: at most twice max_body_bytes
srv, cli = http2.new("server", {max_body_bytes = 100}), http2.new("client")
local ids = {}
for i = 1, 3 do
    ids[i] = cli:request("POST", "http", "h", "/part" .. i, nil, nil, true)
    cli:send(ids[i], ("p"):rep(80))
end
pump(cli, srv)
e = events(srv)
h.eq(#e, 1, "one stream refused while the bodies are incomplete")
h.eq(e[1][1] .. " " .. e[1][2] .. " " .. e[1][3], "refused 5 413", "the stream past twice the limit")
cli:send(ids[1], "", true)
cli:send(ids[2], "", true)
pump(cli, srv)
e = events(srv)
h.eq(#e, 2, "the other two complete")
h.eq(#e[1][4] + #e[2][4], 160, "their bodies")

-- RST_STREAM both ways, GOAWAY
srv, cli = http2.new("server"), http2.new("client")
id = cli:request("GET", "http", "h", "/a")
pump(cli, srv)
events(srv)
srv:reset(id, 2)
pump(cli, srv)
e = events(cli)
h.eq(e[1][1] .. " " .. e[1][2] .. " " .. e[1][3], "reset 1 2", "RST_STREAM INTERNAL_ERROR reaches the client")
id = cli:request("GET", "http", "h", "/b")
pump(cli, srv)
events(srv)
srv:shutdown()
pump(cli, srv)
e = events(cli)
h.eq(e[1][1] .. " " .. e[1][2] .. " " .. e[1][3], "goaway 3 0", "graceful GOAWAY names the last stream")
assert(srv:respond(id, 204))
pump(cli, srv)
h.eq(events(cli)[1][1], "message", "the stream named by GOAWAY is answered")
h.eq(srv:want_read() or srv:want_write(), false, "the session is done")
local refused = cli:request("GET", "http", "h", "/after")
h.eq(refused, nil, "no new stream after GOAWAY")

-- a protocol error: GOAWAY queued, then the session is done
srv = http2.new("server")
local ok, why = srv:receive("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\1\0\0\0\0\0\0x")
h.eq(ok, true, "DATA on stream 0 is reported by GOAWAY, not as a failure to receive")
local out = srv:output()
assert(out and out:find("\0\0\0\0\0\0\0\0\1", 1, true), "GOAWAY PROTOCOL_ERROR queued")
h.eq(srv:want_read(), false, "nothing more to read")
srv = http2.new("server")
ok, why = srv:receive("GET / HTTP/1.1\r\n\r\n")
h.eq(ok, nil, "not an HTTP/2 preface")
assert(type(why) == "string", "with a reason: " .. tostring(why))

-- deadlines (server): a frame left incomplete is past header_timeout at once when that is
-- 0; a request whose headers came and whose body did not is past body_timeout
local PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
srv = http2.new("server", {header_timeout = 0, body_timeout = 0})
assert(srv:receive(PREFACE .. "\0\0"))
h.eq(table.concat({srv:overdue()}, " "), "0 head", "an incomplete frame past header_timeout")
srv = http2.new("server", {header_timeout = 60, body_timeout = 0})
cli = http2.new("client")
id = cli:request("POST", "http", "h", "/slow", nil, "", true)
pump(cli, srv)
h.eq(table.concat({tostring(srv:overdue())}, " "), tostring(id), "a request body past body_timeout")
local none, next_deadline, receiving = srv:overdue()
h.eq(none, nil, "reported once")
h.eq(next_deadline, nil, "no deadline left")
h.eq(receiving, false, "nothing being received")
srv, cli = http2.new("server", {header_timeout = 60, body_timeout = 30}), http2.new("client")
cli:request("POST", "http", "h", "/slow", nil, "", true)
pump(cli, srv)
none, next_deadline, receiving = srv:overdue()
h.eq(none, nil, "nothing overdue yet")
assert(next_deadline > ratchet.now() + 25 and next_deadline <= ratchet.now() + 30, "body_timeout's deadline")
h.eq(receiving, true, "a request body being received")
h.raises_msg("option 'body_timeout' must be a number of seconds", http2.new, "server", {body_timeout = 0 / 0})
-- h2c Upgrade: HTTP2-Settings becomes the client's settings; stream 1 is for the response
srv = http2.new("server")
h.eq(select(2, srv:upgrade("!!!")), "HTTP2-Settings is not base64url", "not base64url")
assert(srv:upgrade("AAMAAABkAAQCAAAAAAIAAAAA"), "curl's HTTP2-Settings")
assert(srv:respond(1, 200, nil, "upgraded"), "stream 1 answered")
h.eq(select(2, http2.new("client"):upgrade("")), "not an open server session", "a client cannot")

-- bad arguments are argument errors; a closed session answers nil
h.raises_msg("bad argument #1 to 'ratchet.http2.new' (\"server\" or", http2.new, "peer")
h.raises_msg("option 'window_size'", http2.new, "server", {window_size = -1})
h.raises_msg("bad argument #2", http2.new, "server", 5)
srv = http2.new("server")
h.raises_msg("status code from 100 to 999", srv.respond, srv, 1, 1000)
h.raises_msg("stream id expected", srv.respond, srv, 0, 200)
h.raises_msg("string expected", srv.receive, srv, nil)
cli = http2.new("client")
h.raises_msg("header values must be strings or numbers", cli.request, cli, "GET", "http", "h", "/", {x = true})
h.raises_msg("header names must be non-empty strings", cli.request, cli, "GET", "http", "h", "/", {[1] = "x"})
h.raises_msg("ratchet.http2.session expected", srv.output, {})
srv:close()
h.eq(srv:output(), nil, "closed: no output")
h.eq(select(2, srv:receive("x")), "the session is closed", "closed: receive says so")
h.eq(select(2, srv:respond(1, 200)), "the session is closed", "closed: respond says so")
h.eq(srv:want_read(), false, "closed: done")
srv:close()
print("ok")
