-- The HTTP/2 server against a raw client (Python's hyperframe/hpack, Tests/lua/h2_peer.py)
-- sending what RFC 9113 says to refuse: malformed frames get GOAWAY with the right error
-- code, malformed requests RST_STREAM (the connection goes on), a SETTINGS flood ends its
-- connection, a header list over the limit gets 431, a graceful GOAWAY lets the streams it
-- names finish and ignores a stream opened after it. The server keeps serving throughout.
local ratchet = require "ratchet"
local h = require "helper"
local t = require "httptest"
local h2_server = require "ratchet.http.h2_server"

local handlers = {}
function handlers:GET(uri)
    if uri == "/slow" then ratchet.thread.timer(0.5) end
    if uri == "/goaway" then h2_server.goaway() end
    return {code = 200, data = "path " .. uri .. "\n"}
end

local peer = debug.getinfo(1, "S").source:match("^@(.*/)") .. "h2_peer.py"

local function scenario(port, name)
    local rc, out = h.spawn(("/usr/bin/python3 %s %d %s"):format(peer, port, name)):wait(60)
    h.eq(rc, 0, name .. ": " .. out)
    return out
end

local function alive(port)
    local rc, out = h.spawn(("curl -sS -m 10 --http2-prior-knowledge http://127.0.0.1:%d/alive"):format(port)):wait(20)
    h.eq(out, "path /alive\n", "the server still answers")
end

h.run(function()
    local port, stats = t.serve(handlers, {idle_timeout = 5, header_timeout = 5})

    local out = scenario(port, "malformed")
    t.has(out, "data-on-stream-0: goaway 1\n", "DATA on stream 0: PROTOCOL_ERROR")
    t.has(out, "settings-bad-length: goaway 6\n", "SETTINGS of 5 bytes: FRAME_SIZE_ERROR")
    t.has(out, "window-update-zero: goaway 1\n", "WINDOW_UPDATE of 0: PROTOCOL_ERROR")
    t.has(out, "bad-hpack: goaway 9\n", "undecodable header block: COMPRESSION_ERROR")
    t.has(out, "oversized-frame: goaway 6\n", "frame over SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR")
    t.has(out, "oversized-frame-large: goaway 6\n", "a 300 KB frame, mostly unread: the GOAWAY still arrives")
    t.has(out, "even-stream-id: goaway 1\n", "client stream with an even id: PROTOCOL_ERROR")
    t.has(out, "uppercase-name: rst 1 1\n", "upper-case field name: RST_STREAM PROTOCOL_ERROR")
    t.has(out, "connection-header: rst 3 1\n", "connection-specific field: RST_STREAM PROTOCOL_ERROR")
    t.has(out, "after-stream-errors: status 200\n", "the connection goes on after stream errors")
    alive(port)

    out = scenario(port, "headers")
    t.has(out, "header-list-over-limit: status 431\n", "header list over max_header_bytes: 431")
    t.has(out, "header-count-over-limit: status 431\n", "more fields than max_headers: 431")
    t.has(out, "after-limits: status 200\n", "the connection goes on after 431")

    out = scenario(port, "flood")
    assert(out:match("^settings%-flood: closed after %d+ frames\n$"), "SETTINGS flood closes the connection: " .. out)
    alive(port)

    out = scenario(port, "goaway")
    h.eq(out, "graceful-goaway: goaway last 3 code 0; stream 1 200, stream 3 200; " ..
        "stream after goaway ignored; closed\n", "graceful GOAWAY")
    alive(port)
    stats.stop()
end)
