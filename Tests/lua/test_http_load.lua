-- The HTTP server under wrk: no errors at 100 connections; then at least 100,000 more
-- requests (kept-alive and one connection per request) with no growth in descriptors or Lua
-- memory, and bounded RSS.
local ratchet = require "ratchet"
local h = require "helper"
local t = require "httptest"
local thread = ratchet.thread

local served = 0
local BODY = "Hello, World!\n"
local HEADERS = {["Content-Type"] = {"text/plain"}}
local handlers = {}
function handlers:GET(uri, headers, data)
    served = served + 1
    return {code = 200, headers = HEADERS, data = BODY}
end

-- wrk's summary: requests done, and every kind of error it counts.
local function wrk(args, url)
    local rc, out = h.spawn("wrk --timeout 10s " .. args .. " " .. url):wait(60)
    h.eq(rc, 0, "wrk exit status: " .. out)
    local requests = tonumber(out:match("(%d+) requests in"))
    assert(requests, "no request count in wrk output:\n" .. out)
    local errors = out:match("Socket errors:[^\n]*") or ""
    local non2xx = tonumber(out:match("Non%-2xx or 3xx responses: (%d+)")) or 0
    return requests, errors, non2xx, out
end

local function live(threads)
    local n = 0
    for _, co in ipairs(threads) do
        if coroutine.status(co) ~= "dead" then n = n + 1 end
    end
    return n
end

-- Waits until every connection thread has ended (wrk has closed its connections).
local function settle(stats)
    for _ = 1, 200 do
        if live(stats.threads) == 0 then
            stats.threads = {}   -- forget the finished threads (they hold memory)
            return
        end
        thread.timer(0.05)
    end
    error("connection threads still running: " .. live(stats.threads))
end

local function lua_kb()
    collectgarbage("collect")
    collectgarbage("collect")
    return collectgarbage("count")
end

h.run(function()
    local port, stats = t.serve(handlers, {idle_timeout = 10, header_timeout = 10})
    local url = "http://127.0.0.1:" .. port .. "/"

    -- 100 connections, no errors of any kind
    local requests, errors, non2xx, out = wrk("-t1 -c100 -d2s", url)
    assert(requests > 1000, "too few requests: " .. out)
    h.eq(errors, "", "wrk socket errors")
    h.eq(non2xx, 0, "non-2xx responses")
    -- wrk opens one connection of its own before the 100 it loads with
    assert(stats.connections <= 101, "connections were not kept alive: " .. stats.connections)
    settle(stats)

    -- growth over 100,000 requests: measured after a warm-up, with every connection closed
    wrk("-t1 -c50 -d1s -H 'Connection: close'", url)
    settle(stats)
    local kb0, fds0, rss0 = lua_kb(), h.fd_count(), h.rss_kb()
    local start, conns0 = served, stats.connections
    local runs = 0
    while served - start < 100000 do
        runs = runs + 1
        assert(runs <= 20, "could not serve 100,000 requests in 20 wrk runs")
        if runs % 3 == 1 then
            -- a new connection for every request: descriptors must be released
            requests, errors, non2xx = wrk("-t1 -c50 -d1s -H 'Connection: close'", url)
        else
            requests, errors, non2xx = wrk("-t1 -c100 -d2s", url)
        end
        h.eq(non2xx, 0, "non-2xx responses during the growth run")
        settle(stats)
    end
    local kb1, fds1, rss1 = lua_kb(), h.fd_count(), h.rss_kb()
    print(string.format("served %d requests on %d connections: fds %d -> %d, Lua %.0f -> %.0f KiB, RSS %d -> %d KiB",
        served - start, stats.connections - conns0, fds0, fds1, kb0, kb1, rss0, rss1))
    assert(stats.connections - conns0 > 1000, "the growth run opened too few connections")
    h.eq(fds1, fds0, "open descriptors after 100,000 requests")
    assert(kb1 - kb0 < 256, string.format("Lua memory grew by %.0f KiB", kb1 - kb0))
    assert(rss1 - rss0 < 16384, string.format("RSS grew by %d KiB", rss1 - rss0))
    stats.stop()
end)
print("http load ok")
