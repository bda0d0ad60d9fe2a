-- Threads that keep waking each other without I/O never let the run queue empty. Threads
-- finishing meanwhile are still released and the queue stays bounded (the kernel compacts
-- it between steps instead of only when it drains). Its own process: RSS starts low.
local ratchet = require "ratchet"
local h = require "helper"

local rss_mid, rss_end
h.run(function()
    local rounds, ponger = 300000, nil
    local pinger = ratchet.thread.attach(function()
        ratchet.thread.yield()   -- let the ponger start and pause
        for i = 1, rounds do
            ratchet.thread.attach(function() end)   -- finishes in this same drain
            ratchet.thread.unpause(ponger)
            ratchet.thread.pause()
            if i == 50000 then collectgarbage(); collectgarbage(); rss_mid = h.rss_kb() end
        end
        collectgarbage(); collectgarbage(); rss_end = h.rss_kb()
        ratchet.thread.kill(ponger)
    end)
    ponger = ratchet.thread.attach(function()
        while true do
            ratchet.thread.pause()
            ratchet.thread.unpause(pinger)
        end
    end)
end)
print(string.format("ping-pong without I/O: rss %d -> %d KiB over 250,000 rounds", rss_mid, rss_end))
assert(rss_end - rss_mid < 8192, "RSS grew by " .. (rss_end - rss_mid) .. " KiB")
