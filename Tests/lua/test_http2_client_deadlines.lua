-- The HTTP/2 client's options.timeout bounds the whole request, as with HTTP/1.1, even when
-- the server keeps the connection busy (Tests/lua/h2_peer.py silent-server: it never
-- answers, and sends a PING every 0.2 s). A request whose thread is killed cancels its
-- stream (RST_STREAM CANCEL) and nothing keeps waiting for it: loop() returns, and the
-- connection is closed with its kernel (no descriptor left open); an idle connection is
-- closed after the pool's idle_timeout. A thread waiting for the connection another is
-- making keeps its own deadline.
local ratchet = require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"
local t = require "httptest"

local peer = debug.getinfo(1, "S").source:match("^@(.*/)") .. "h2_peer.py"
local server = h.spawn("/usr/bin/python3 -u " .. peer .. " silent-server", {limit = 60})
local port = tonumber(server:wait_for("port (%d+)"))
local url = "http://127.0.0.1:" .. port .. "/never"
local h2c = {http2 = "prior_knowledge"}

-- Lines "rst <stream> <code>" the server printed.
local function resets()
    local list = {}
    for id, code in server:output():gmatch("rst (%d+) (%d+)") do list[#list + 1] = id .. ":" .. code end
    return table.concat(list, " ")
end

collectgarbage(); collectgarbage()
local fds = h.fd_count()

-- options.timeout is a total: the PINGs keep every read short, the request still ends
local took
h.run(function()
    local started = ratchet.now()
    h.raises("ETIMEDOUT", http_client.fetch, url, {http2 = "prior_knowledge", timeout = 0.5})
    took = ratchet.now() - started
    -- (the connection closes with this kernel, its PINGs unread: the TCP reset that makes
    -- could discard the RST_STREAM before the server read it)
    ratchet.thread.timer(0.3)
end)
assert(took >= 0.45 and took < 1.5, "a 0.5 s timeout took " .. took .. " s")
h.eq(server:wait_for("(rst 1 8)", 5), "rst 1 8", "the timed-out request's stream is cancelled")

-- a request with a deadline on a connection whose reader already waits without one; then
-- the request without a deadline is killed: its stream is cancelled, loop() returns
local started = ratchet.now()
local loop_took
h.run(function()
    local patient = ratchet.thread.attach(http_client.fetch, url .. "/patient", h2c)
    ratchet.thread.timer(0.1)
    local t0 = ratchet.now()
    h.raises("ETIMEDOUT", http_client.fetch, url .. "/hasty", {http2 = "prior_knowledge", timeout = 0.3})
    took = ratchet.now() - t0
    ratchet.thread.kill(patient)
    ratchet.thread.timer(0.3)   -- (as above)
    started = ratchet.now()
end)
loop_took = ratchet.now() - started
assert(took >= 0.25 and took < 1.2, "a 0.3 s timeout behind a request without one took " .. took .. " s")
assert(loop_took < 1, "loop() returned " .. loop_took .. " s after the last request was killed")
-- (a new connection: the first went with its kernel) the timed-out stream 3, then the
-- killed request's stream 1
assert(h.wait_until(function() return resets() == "1:8 3:8 1:8" end, 5), "both streams cancelled: " .. resets())
-- the connection went with its kernel
assert(h.wait_until(function() return select(2, server:output():gsub("closed", "")) >= 2 end, 5),
    "the connections were closed: " .. server:output())
collectgarbage()
collectgarbage()
h.eq(h.fd_count(), fds, "no descriptor left open")

-- a thread waiting for the connection another thread is making keeps its own deadline (the
-- listener accepts nothing: the TLS handshake never ends)
h.run(function()
    local listener, p = h.listen()
    local https = "https://127.0.0.1:" .. p .. "/"
    local first
    local maker = ratchet.thread.attach(function()
        local t0 = ratchet.now()
        h.raises("ETIMEDOUT", http_client.fetch, https, {timeout = 0.6})
        first = ratchet.now() - t0
    end)
    ratchet.thread.timer(0.05)
    local t0 = ratchet.now()
    h.raises("ETIMEDOUT", http_client.fetch, https, {timeout = 0.2})
    took = ratchet.now() - t0
    ratchet.thread.wait_all({maker})
    listener:close()
    assert(took >= 0.15 and took < 0.5, "waiting for another thread's connection: 0.2 s took " .. took)
    assert(first >= 0.55 and first < 1.5, "the connecting thread's 0.6 s took " .. first)
end)

-- an idle connection is closed after the pool's idle_timeout
h.run(function()
    local port2, stats = t.serve({GET = function() return {data = "ok"} end}, {idle_timeout = 10})
    local pool = http_client.pool({idle_timeout = 0.3})
    local code = http_client.fetch("http://127.0.0.1:" .. port2 .. "/", {http2 = "prior_knowledge", pool = pool})
    h.eq(code, 200, "fetched")
    local before = h.fd_count()
    ratchet.thread.timer(0.8)
    h.eq(h.fd_count(), before - 2, "the idle connection was closed (both ends)")
    stats.stop()
end)
server:stop()
print("http2 client deadlines ok")
