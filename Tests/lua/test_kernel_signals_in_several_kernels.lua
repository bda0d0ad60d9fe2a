-- Several kernels in one process each wait for signals: sigwait and exec's wait (SIGCHLD).
-- libevent lets only one event base have signals at a time, so before the process-wide
-- signal relay one kernel's waits missed their signals and ran into their timeouts. Also:
-- a signal's disposition is ratchet's only while some kernel waits for it, and signals
-- that cannot be caught are refused.
local ratchet = require "ratchet"
local helper = require "helper"

local pid = helper.pid()

--- Whether this process catches `signum` right now (/proc's SigCgt mask).
local function catches(signum)
    for line in io.lines("/proc/self/status") do
        local hex = line:match("^SigCgt:%s+(%x+)")
        if hex then return tonumber(hex:sub(-16), 16) >> (signum - 1) & 1 == 1 end
    end
end
local SIGUSR1, SIGCHLD = 10, 17
-- what the process did before any kernel waited (SIG_DFL in a plain lua5.4; valgrind, for
-- one, catches every signal itself)
local usr1_before, chld_before = catches(SIGUSR1), catches(SIGCHLD)

--- A kernel whose entry runs a child for `delay` seconds and waits for it, then waits for
--- SIGUSR1; `got` collects what it saw. Threads in it record failures instead of raising.
local function kernel(name, delay, got)
    return ratchet.new(function()
        local start = ratchet.now()
        local p = ratchet.exec.new({"sleep", tostring(delay)})
        p:start()
        got[name .. " exit"] = p:wait(10)
        got[name .. " exec took"] = ratchet.now() - start
        got[name .. " ready"] = true
        got[name .. " signal"] = ratchet.thread.sigwait("SIGUSR1", 10)
    end, function(err) got[name .. " error"] = tostring(err) end)
end

-- Two kernels driven turn by turn from the main chunk.
local got = {}
local k1, k2 = kernel("k1", 0.2, got), kernel("k2", 0.3, got)
local more1, more2 = true, true
local sent = false
local deadline = os.time() + 20
while (more1 or more2) and os.time() < deadline do
    if more1 then more1 = k1:loop_once(true) end
    if more2 then more2 = k2:loop_once(true) end
    if not sent and got["k1 ready"] and got["k2 ready"] then
        -- both wait for SIGUSR1 once this pass has polled; send it from outside
        assert(catches(SIGUSR1), "SIGUSR1 is caught while kernels wait for it")
        os.execute("kill -USR1 " .. pid)
        sent = true
    end
end
for _, name in ipairs({"k1", "k2"}) do
    helper.eq(got[name .. " error"], nil, name .. " error")
    helper.eq(got[name .. " exit"], 0, name .. " child's exit status")
    assert(got[name .. " exec took"] < 5, name .. "'s wait took " .. tostring(got[name .. " exec took"]) .. " s")
    helper.eq(got[name .. " signal"], true, name .. " saw SIGUSR1")
end
helper.eq(catches(SIGUSR1), usr1_before, "SIGUSR1's previous disposition is back when no kernel waits")
helper.eq(catches(SIGCHLD), chld_before, "SIGCHLD's previous disposition is back when no kernel waits")
k1:close(); k2:close()

-- A kernel run from inside another kernel's thread, while the outer one waits for a child.
got = {}
helper.run(function()
    local outer = ratchet.exec.new({"sleep", "0.3"})
    outer:start()
    local waiter = ratchet.thread.attach(function() got.outer = outer:wait(10) end)
    ratchet.thread.timer(0.05)        -- the outer kernel waits for SIGCHLD now
    local inner = ratchet.new(function()
        local p = ratchet.exec.new({"sleep", "0.05"})
        p:start()
        got.inner = p:wait(10)
    end)
    inner:loop()
    inner:close()
    ratchet.thread.wait_all({waiter})
end)
helper.eq(got.inner, 0, "the inner kernel's child")
helper.eq(got.outer, 0, "the outer kernel's child, waited for across the inner kernel's run")

-- Signals that cannot be caught are refused, not waited on until the timeout.
helper.run(function()
    helper.raises("EINVAL", ratchet.thread.sigwait, "SIGKILL", 1)
    helper.raises("EINVAL", ratchet.thread.sigwait, "SIGSTOP", 1)
end)
print("ok")
