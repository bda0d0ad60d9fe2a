-- The randomised form of issue 19's kill-and-dispose crash: random sources, a random kill
-- order and batch size, and the kernel closed explicitly, by a <close> variable or by
-- garbage collection. Bounded in time (RATCHET_KILL_SECONDS, default 20 s); the seed is
-- printed so that a failure can be replayed (RATCHET_KILL_SEED).
local helper = require "helper"
local scenario = require "kill_scenario"

local seed = tonumber(os.getenv("RATCHET_KILL_SEED")) or os.time()
math.randomseed(seed)
print("seed " .. seed)

local function shuffled(n)
    local order = {}
    for i = 1, n do order[i] = i end
    for i = n, 2, -1 do
        local j = math.random(i)
        order[i], order[j] = order[j], order[i]
    end
    return order
end

local fds = scenario.fd_count()
local stop = os.time() + tonumber(os.getenv("RATCHET_KILL_SECONDS") or 20)
local hows = {"gc", "close", "tbc"}
local rounds = 0
repeat
    local threads = {}
    for _ = 1, math.random(1, 60) do
        threads[#threads + 1] = scenario.source_names[math.random(#scenario.source_names)]
    end
    -- kill all, or only some: the rest are killed by the disposal
    local order = shuffled(#threads)
    for _ = 1, math.random(0, #order // 3) do table.remove(order) end
    if #order == 0 then order = {1} end
    local k = scenario.run_kernel{threads = threads, order = order, per_round = math.random(1, 8),
                                  gap = math.random(0, 3) / 200, settle = math.random(0, 5) / 100}
    scenario.dispose(k, hows[math.random(#hows)])
    k = nil
    if math.random(2) == 1 then collectgarbage() end
    rounds = rounds + 1
until os.time() >= stop
scenario.close_silent()
collectgarbage(); collectgarbage()
-- sockets ZeroMQ reaps after their LINGER (1 s)
helper.wait_until(function() return scenario.fd_count() <= fds end, 5)
local after = scenario.fd_count()
assert(after <= fds, string.format("descriptors grew from %d to %d after every kernel was disposed", fds, after))
print(string.format("ok (%d kernels)", rounds))
