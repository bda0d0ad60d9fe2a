-- permessage-deflate (RFC 7692) between ratchet.websocket and Python's `websockets`, both
-- ways: the default offers and answers, no context takeover offered and asked for, window
-- bits 8/9/10/15 and servers configured for smaller windows, 1 MiB compressible messages,
-- fragmented compressed messages, compression off at either end; a zip bomb -> 1009,
-- RSV1 without the extension, on a ping or on a continuation -> 1002, data that is not
-- DEFLATE -> 1007. Python counts the compressed messages it receives, so a side that
-- stopped compressing fails the test.
local websocket = require "ratchet.websocket"
local h = require "helper"
local t = require "httptest"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local PY = "/usr/bin/python3 " .. here .. "ws_deflate_peer.py"

-- The ratchet server the Python client checks (paths as ws_deflate_peer.py expects).
local configs = {
    ["/echo"] = true,
    ["/nct"] = {server_no_context_takeover = true, client_no_context_takeover = true},
    ["/bits"] = {server_max_window_bits = 10, client_max_window_bits = 9},
    ["/off"] = false,
}
local handlers = {}
function handlers:GET(uri, headers)
    local options = {max_message = 2 * 1024 * 1024, compression = configs[uri]}
    return websocket.accept(headers, options, function(ws)
        while true do
            local message, kind = ws:recv()
            if not message then return end
            ws:send(message, kind)
        end
    end)
end

local JSONISH = '{"type":"tick","seq":%d,"price":101.25,"qty":3,"side":"buy","venue":"X"}'

local echoed = 0   -- connections to Python's /echo so far

-- Messages both ways over `ws`; Python's count of compressed messages must be `compressed`.
local function echo(ws, job, compressed, what)
    for i = 1, 20 do
        ws:send(JSONISH:format(i))
        h.eq(ws:recv(), JSONISH:format(i), what .. ": echo " .. i)
    end
    local big = string.rep("0123456789abcdef", 65536)
    ws:send(big, "binary")
    local m, kind = ws:recv()
    assert(m == big and kind == "binary", what .. ": 1 MiB echo")
    h.eq(ws:close(), 1000, what .. ": close")
    -- the connection's line is the next one Python prints
    local counts
    h.wait_until(function()
        counts = {}
        for n in job:output():gmatch("echo closed 1000 compressed=(%d+)") do counts[#counts + 1] = tonumber(n) end
        return #counts > echoed
    end, 10)
    echoed = echoed + 1
    h.eq(counts[echoed], compressed, what .. ": messages Python received compressed")
end

h.run(function()
    -- Python client -> ratchet server
    local port, stats = t.serve(handlers)
    local job = h.spawn(PY .. " client ws://127.0.0.1:" .. port, {limit = 90})
    local rc, out = job:wait(90)
    if rc ~= 0 or not out:find("all ok", 1, true) then error("python client:\n" .. out) end
    stats.stop()

    -- ratchet client -> Python servers
    local portfile = h.tmpname("ws-deflate-peer")
    local py = h.spawn(PY .. " server " .. portfile .. " 90", {limit = 100})
    local ports = h.wait_until(function()
        local s = h.read_file(portfile)
        return s and s:find("\n") and s
    end, 15)
    assert(ports, "python websockets servers did not start:\n" .. py:output())
    local function url(name, path) return "ws://127.0.0.1:" .. ports:match(name .. " (%d+)") .. path end

    local ws = websocket.connect(url("default", "/echo"))
    h.eq(ws.deflate.server_max_window_bits, 12, "default: the server's window")
    h.eq(ws.deflate.client_max_window_bits, 12, "default: our window as the server limited it")
    h.eq(ws.deflate.server_no_context_takeover, nil, "default: context takeover")
    echo(ws, py, 21, "default")

    ws = websocket.connect(url("default", "/echo"), {fragment_size = 4096})
    echo(ws, py, 21, "fragmented compressed messages")

    ws = websocket.connect(url("default", "/echo"),
        {compression = {server_no_context_takeover = true, client_no_context_takeover = true}})
    h.eq(ws.deflate.server_no_context_takeover, true, "server_no_context_takeover agreed")
    h.eq(ws.deflate.client_no_context_takeover, true, "client_no_context_takeover agreed")
    echo(ws, py, 21, "no context takeover offered")

    for _, bits in ipairs({9, 10, 15}) do
        ws = websocket.connect(url("default", "/echo"),
            {compression = {server_max_window_bits = bits, client_max_window_bits = bits}})
        h.eq(ws.deflate.server_max_window_bits, math.min(bits, 12), "server_max_window_bits=" .. bits)
        h.eq(ws.deflate.client_max_window_bits, math.min(bits, 12), "client_max_window_bits=" .. bits)
        echo(ws, py, 21, "window bits " .. bits)
    end

    ws = websocket.connect(url("default", "/echo"), {compression = {client_max_window_bits = 8}})
    h.eq(ws.deflate.client_max_window_bits, 8, "client_max_window_bits=8 agreed")
    echo(ws, py, 0, "a window of 8 bits: our messages go uncompressed")

    ws = websocket.connect(url("nct", "/echo"))
    h.eq(ws.deflate.server_no_context_takeover, true, "nct server: server_no_context_takeover")
    h.eq(ws.deflate.client_no_context_takeover, true, "nct server: client_no_context_takeover")
    h.eq(ws.deflate.server_max_window_bits, 10, "nct server: its window")
    h.eq(ws.deflate.client_max_window_bits, 9, "nct server: our window")
    echo(ws, py, 21, "no context takeover asked by the server")

    ws = websocket.connect(url("default", "/echo"), {compression = false})
    h.eq(ws.deflate, nil, "compression off: nothing offered")
    echo(ws, py, 0, "compression off")

    ws = websocket.connect(url("off", "/echo"))
    h.eq(ws.deflate, nil, "a server without compression declines")
    echo(ws, py, 0, "server without compression")

    ws = websocket.connect(url("default", "/bomb"), {max_message = 1024 * 1024})
    local none, code, reason = ws:recv()
    h.eq(none, nil, "no message from the zip bomb")
    h.eq(code, 1009, "zip bomb -> 1009 (" .. tostring(reason) .. ")")
    py:wait_for("bomb closed (%d+)")
    t.has(py:output(), "bomb closed 1009", "Python saw 1009")

    ws = websocket.connect(url("off", "/rsv1"))
    none, code = ws:recv()
    h.eq(code, 1002, "RSV1 without permessage-deflate")
    py:wait_for("rsv1 closed (%d+)")
    t.has(py:output(), "rsv1 closed 1002", "Python saw 1002")
    py:stop()
end)
print("websocket deflate python ok")
