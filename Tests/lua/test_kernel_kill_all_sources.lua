-- Issue 19's crash: threads waiting on TLS handshakes over socket pairs, DNS queries, exec
-- communicate of 200 KB, sigwait with a timeout and a ZeroMQ REQ recv (50 of each), killed
-- in rounds (every fifth one, short timers between); then loop() returns and the kernel is
-- dropped and collected. Also the narrower form: exec waits alone with loop() under pcall.
-- Each disposal (k:close(), <close>, __gc) must leave the process alive, every descriptor
-- closed and no zombie. scripts/check-memory runs a smaller form under valgrind
-- (RATCHET_KILL_EACH, RATCHET_KILL_REPEATS).
local helper = require "helper"
local scenario = require "kill_scenario"

local function every_fifth_order(n)
    local order = {}
    for start = 1, 5 do
        for i = start, n, 5 do order[#order + 1] = i end
    end
    return order
end

local full = {}
for _, name in ipairs({"tls_client", "tls_server", "dns", "exec", "exec_wait", "sigwait", "zmq"}) do
    for _ = 1, tonumber(os.getenv("RATCHET_KILL_EACH") or 50) do full[#full + 1] = name end
end
local exec_only = {}
for _ = 1, 50 do exec_only[#exec_only + 1] = "exec" end

local fds = scenario.fd_count()
local deadline = os.time() + 60
for _, how in ipairs({"gc", "close", "tbc"}) do
    for _, threads in ipairs({full, exec_only}) do
        local k = scenario.run_kernel{threads = threads, order = every_fifth_order(#threads),
                                      per_round = #threads // 5, gap = 0.01}
        scenario.dispose(k, how)
        k = nil
        collectgarbage(); collectgarbage()
        assert(os.time() <= deadline, "scenario took too long")
    end
end
-- exec alone, many times over: the form that aborted 12 times in 20
for _ = 1, tonumber(os.getenv("RATCHET_KILL_REPEATS") or 8) do
    local k = scenario.run_kernel{threads = exec_only, order = every_fifth_order(50), per_round = 10, gap = 0.005}
    scenario.dispose(k, "gc")
    k = nil
    collectgarbage(); collectgarbage()
end
scenario.close_silent()
collectgarbage(); collectgarbage()
-- sockets ZeroMQ reaps after their LINGER (1 s)
helper.wait_until(function() return scenario.fd_count() <= fds end, 5)
local after = scenario.fd_count()
assert(after <= fds, string.format("descriptors grew from %d to %d after every kernel was disposed", fds, after))
print("ok")
