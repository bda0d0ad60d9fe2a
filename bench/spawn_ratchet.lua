-- Spawn benchmark: N ratchet threads that each sleep 0 once and finish (the shape of the
-- peers' spawn scripts in ../shared/bench/spawn). usage: lua5.4 spawn_ratchet.lua [N]
local ratchet = require "ratchet"
local n = tonumber(arg[1]) or 100000
local function status_kb(field)
    local f = assert(io.open("/proc/self/status")); local s = f:read("a"); f:close()
    return tonumber(s:match(field .. ":%s*(%d+)"))
end
local before = status_kb("VmRSS")
local t0 = os.clock()   -- CPU time: the test never blocks
local function body() ratchet.thread.timer(0) end
ratchet.new(function()
    local attach = ratchet.thread.attach
    for _ = 1, n do attach(body) end
end):loop()
local elapsed = os.clock() - t0
local peak = status_kb("VmHWM")
print(string.format("spawn=ratchet n=%d elapsed_ms=%.1f rss_before_kb=%d peak_kb=%d bytes_per_co=%.0f",
    n, elapsed * 1000, before, peak, (peak - before) * 1024 / n))
