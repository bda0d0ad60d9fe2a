-- ratchet.http.server keeps the timeout the caller set on the socket: it bounds every read
-- and write, and the server's own idle/header timeouts may only make waits shorter
-- (issue 17, defect 4).
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local t = require "httptest"

local handlers = {}
function handlers:GET(uri) return {data = "got " .. uri} end

-- Serves one connection whose socket timeout is `sock_timeout`, with server `options`.
local function serve_one(sock_timeout, options)
    local listener, port = h.listen()
    ratchet.thread.attach(function()
        local client, from = listener:accept()
        listener:close()
        client:set_timeout(sock_timeout)
        server.new(client, from, handlers, options):handle()
    end)
    return port
end

-- Sends `request` and returns everything the server sent and how long until it closed.
local function exchange(port, request)
    local s = h.connect(port)
    local started = ratchet.now()
    if request ~= "" then t.send_all(s, request) end
    local got = t.read_all(s, 10)
    local took = ratchet.now() - started
    s:close()
    return got, took
end

h.run(function()
    -- half a request head: the socket's 0.5 s ends the wait, not header_timeout's 30 s
    local got, took = exchange(serve_one(0.5), "GET / HTTP/1.1\r\nHost: x\r\n")
    h.eq(got:match("^HTTP/1%.1 (%d+)"), "408", "half a head answered 408: " .. got)
    assert(took >= 0.4 and took < 3, "half head held for " .. took .. " s with a 0.5 s socket timeout")

    -- a connection that never sends: closed after the socket's timeout, not idle/header's
    got, took = exchange(serve_one(0.5), "")
    h.eq(got, "", "silent connection closed without a reply")
    assert(took >= 0.4 and took < 3, "silent connection held for " .. took .. " s")

    -- between keep-alive requests: the socket's timeout, not idle_timeout's 60 s
    local s = h.connect(serve_one(0.5))
    t.send_all(s, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    local resps = t.read_responses(s, 1)
    h.eq(resps[1].body, "got /a", "served before idling")
    local started = ratchet.now()
    s:set_timeout(10)
    h.eq(s:recv(), "", "idle keep-alive connection closed")
    took = ratchet.now() - started
    assert(took < 3, "idle keep-alive connection held for " .. took .. " s")
    s:close()

    -- the server's options still shorten a longer socket timeout
    got, took = exchange(serve_one(20, {header_timeout = 0.3}), "GET / HTTP/1.1\r\nHost: x\r\n")
    h.eq(got:match("^HTTP/1%.1 (%d+)"), "408", "header_timeout shorter than the socket's")
    assert(took < 3, "header_timeout 0.3 under a 20 s socket timeout took " .. took .. " s")

    -- a socket without a timeout keeps the server's defaults (served normally)
    got = exchange(serve_one(-1), "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.has(got, "got /b", "socket without a timeout served")
end)
print("http server socket timeout ok")
