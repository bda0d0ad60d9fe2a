-- ratchet.websocket against Python's `websockets` both ways, over ws:// and wss:// (a test
-- CA): text, binary, 1 MiB, fragmented messages both ways, ping/pong both ways, close codes
-- both ways, subprotocol and origin checks, invalid UTF-8 -> 1007, over the size limit ->
-- 1009; the client refuses an untrusted server certificate.
local ratchet = require "ratchet"
local websocket = require "ratchet.websocket"
local h = require "helper"
local t = require "httptest"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local PY = "/usr/bin/python3 " .. here .. "ws_peer.py"
local certs = require("tls_helper").certs("ec")

-- The ratchet server the Python client checks (paths as ws_peer.py expects).
local handlers = {}
function handlers:GET(uri, headers)
    local options = {
        max_message = 2 * 1024 * 1024,
        protocols = {"chat", "superchat"},
        origins = function(origin) return origin ~= "http://evil.example" end,
    }
    return websocket.accept(headers, options, function(ws)
        if uri == "/close" then
            ws:recv()
            h.eq(ws:close(4002, "server bye"), 4002, "the client answered our close code")
            return
        end
        while true do
            local message, kind = ws:recv()
            if not message then return end
            ws:send(message, kind)
        end
    end)
end

local function python_client(url, cafile)
    local job = h.spawn(PY .. " client " .. url .. (cafile and (" " .. cafile) or ""), {limit = 60})
    local rc, out = job:wait(60)
    if rc ~= 0 or not out:find("all ok", 1, true) then error("python client against " .. url .. ":\n" .. out, 2) end
    return out
end

local function python_server(tls)
    local portfile = h.tmpname("ws-peer")
    local job = h.spawn(PY .. " server " .. portfile .. " 60" ..
        (tls and (" " .. certs.server .. " " .. certs.server_key) or ""), {limit = 70})
    local port = h.wait_until(function() return tonumber((h.read_file(portfile) or ""):match("^%d+")) end, 15)
    assert(port, "python websockets server did not start:\n" .. job:output())
    return port, job
end

-- The ratchet client's checks against the Python server at base (ws:// or wss://).
local function ratchet_client(base, job, options)
    local function open(path, extra)
        local o = setmetatable(extra or {}, {__index = options})
        return websocket.connect(base .. path, o)
    end
    local ws = open("/echo", {protocols = {"chat"}, fragment_size = 1000})
    h.eq(ws.protocol, "chat", "subprotocol chosen by the Python server")
    ws:send("héllo")
    h.eq(select("#", ws:recv()), 2, "recv returns message and kind")
    ws:send("again")
    local m, kind = ws:recv()
    h.eq(m .. " " .. kind, "again text", "text echo")
    ws:send("\0\255", "binary")
    m, kind = ws:recv()
    h.eq(m, "\0\255", "binary echo"); h.eq(kind, "binary", "binary kind")
    local big = string.rep("0123456789abcdef", 65536)
    ws:send(big, "binary")     -- 1 MiB in 1000-byte fragments: Python reassembles them
    m = ws:recv()
    assert(m == big, "1 MiB echo (" .. #m .. " bytes)")
    ws:ping("p1")
    ws:send("after ping")
    h.eq(ws:recv(), "after ping", "echo after a ping")
    h.eq(ws.pongs, 1, "our ping was answered")
    h.eq(ws.last_pong, "p1", "pong payload")
    local code, reason = ws:close(4005, "lua bye")
    h.eq(code, 4005, "Python echoed our close code")
    job:wait_for("echo closed 4005 lua bye")
    h.eq(ws.socket:get_fd(), -1, "socket closed after the close handshake")

    ws = open("/fragments")
    h.eq(ws:recv(), "fragmented", "fragmented message from Python")
    ws:close()
    ws = open("/ping")
    ws:send("x")
    h.eq(ws:recv(), "x", "echo after Python's ping")
    job:wait_for("ping ponged")
    ws:close()
    ws = open("/close")
    local none
    none, code, reason = ws:recv()
    h.eq(none, nil, "recv after the server's close")
    h.eq(code, 4003, "close code from Python"); h.eq(reason, "py bye", "close reason from Python")
    ws = open("/badutf8")
    none, code = ws:recv()
    h.eq(code, 1007, "invalid UTF-8 from Python")
    job:wait_for("badutf8 closed (%d+)")
    t.has(job:output(), "badutf8 closed 1007", "Python saw 1007")
    ws = open("/big", {max_message = 1024 * 1024})
    none, code = ws:recv()
    h.eq(code, 1009, "message over max_message")
    job:wait_for("big closed (%d+)")
    t.has(job:output(), "big closed 1009", "Python saw 1009")
end

h.run(function()
    -- Python client -> ratchet server, ws:// and wss://
    local port, stats = t.serve(handlers)
    python_client("ws://127.0.0.1:" .. port)
    local sctx = ratchet.ssl.new(ratchet.ssl.TLS_server)
    sctx:load_certs(certs.server, certs.server_key)
    local sport, sstats = t.serve(handlers, {tls = sctx})
    python_client("wss://localhost:" .. sport, certs.ca)
    stats.stop(); sstats.stop()

    -- ratchet client -> Python server, ws:// and wss://
    local pport, pjob = python_server(false)
    ratchet_client("ws://127.0.0.1:" .. pport, pjob, {})
    pjob:stop()
    local tport, tjob = python_server(true)
    ratchet_client("wss://localhost:" .. tport, tjob, {ca_file = certs.ca})
    h.raises("EVERIFY", websocket.connect, "wss://localhost:" .. tport .. "/echo", {ca_file = certs.untrusted})
    tjob:stop()
end)
print("websocket python ok")
