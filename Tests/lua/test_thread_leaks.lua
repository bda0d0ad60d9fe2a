-- 100,000 threads attached and finished leave Lua memory and the process RSS flat.
local ratchet = require "ratchet"
local h = require "helper"

local function batch(n)
    h.run(function()
        for _ = 1, n do
            ratchet.thread.attach(function() ratchet.thread.timer(0) end)
        end
    end)
end

-- RSS keeps the allocator's high-water mark, so collect after every batch (as a long-running
-- server's GC would between bursts) and compare after warm-up batches.
local function settle() collectgarbage(); collectgarbage() end
for _ = 1, 2 do batch(100000); settle() end
local lua0, rss0 = collectgarbage("count"), h.rss_kb()
for _ = 1, 3 do batch(100000); settle() end
local lua1, rss1 = collectgarbage("count"), h.rss_kb()
print(string.format("lua %.0f -> %.0f KiB, rss %d -> %d KiB", lua0, lua1, rss0, rss1))
assert(lua1 - lua0 < 256, "Lua memory grew by " .. (lua1 - lua0) .. " KiB")
assert(rss1 - rss0 < 4096, "RSS grew by " .. (rss1 - rss0) .. " KiB")

-- Killed, errored and paused-then-killed threads are released too.
local function churn()
    local k = ratchet.new(function()
        local ts = {}
        for i = 1, 20000 do
            ts[i] = ratchet.thread.attach(function()
                if i % 3 == 0 then error("x") end
                ratchet.thread.pause()
            end)
        end
        ratchet.thread.timer(0)
        ratchet.thread.kill_all(ts)
    end, function() end)
    k:loop()
end
for _ = 1, 2 do churn(); settle() end
local lua2, rss2 = collectgarbage("count"), h.rss_kb()
for _ = 1, 3 do churn(); settle() end
local lua3, rss3 = collectgarbage("count"), h.rss_kb()
print(string.format("churn: lua %.0f -> %.0f KiB, rss %d -> %d KiB", lua2, lua3, rss2, rss3))
assert(lua3 - lua2 < 256, "Lua memory grew by " .. (lua3 - lua2) .. " KiB")
assert(rss3 - rss2 < 4096, "RSS grew by " .. (rss3 - rss2) .. " KiB")

