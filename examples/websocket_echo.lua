-- A WebSocket echo server on 127.0.0.1:PORT (default 8080), for any WebSocket client:
--   ratchet-lua examples/websocket_echo.lua 8080
--   python3 -m websockets ws://127.0.0.1:8080/      (or a browser's console:
--   s = new WebSocket("ws://127.0.0.1:8080/"); s.onmessage = e => console.log(e.data); s.send("hi"))
-- Every text or binary message comes back as it was sent; GET of any other kind gets 426.
-- Messages travel compressed (permessage-deflate) when the client offers it, as browsers and
-- Python's websockets do; `compression = false` in the options below turns that off.
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local websocket = require "ratchet.websocket"

local port = tonumber(arg and arg[1]) or 8080

local function echo(ws)
    while true do
        local message, kind = ws:recv()
        if not message then break end      -- closed: kind is the close code
        ws:send(message, kind)
    end
end

local handlers = {}
function handlers:GET(uri, headers)
    return websocket.accept(headers, {max_message = 16 * 1024 * 1024}, echo)
end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    local ip, bound = listener:getsockname()
    print(("WebSocket echo on ws://%s:%d/"):format(ip, bound))
    io.stdout:flush()
    http_server.serve(listener, handlers)
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
