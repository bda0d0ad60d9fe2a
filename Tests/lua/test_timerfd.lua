-- ratchet.timerfd: periodic and one-shot timers read through a descriptor, yielding.
local ratchet = require "ratchet"
local h = require "helper"
local timerfd = ratchet.timerfd
local thread = ratchet.thread

local function now()
    -- monotonic-enough wall time with sub-second resolution, from /proc/uptime
    local f = io.open("/proc/uptime"); local s = f:read("n"); f:close(); return s
end

local fds_before = h.fd_count()
local results = {}

h.run(function()
    -- a periodic timer read 10 times while another thread keeps running
    local ticks = 0
    local ticker = thread.attach(function()
        while true do thread.timer(0.01); ticks = ticks + 1 end
    end)
    local tfd = timerfd.new()
    assert(tfd:get_fd() >= 0)
    -- the clock starts before settime: expirations count from there (under valgrind on a
    -- loaded machine the calls in between take a noticeable time)
    local start = now()
    local ov, oi = tfd:settime(0.05, 0.05)
    h.eq(ov, 0, "old value of a new timer"); h.eq(oi, 0, "old interval of a new timer")
    local v, i = tfd:gettime()
    assert(v > 0 and v <= 0.05, "gettime value " .. v)
    h.eq(i, 0.05, "gettime interval")
    local total = 0
    for n = 1, 10 do
        local c = tfd:read()
        assert(math.type(c) == "integer" and c >= 1, "expiry count " .. tostring(c))
        total = total + c
    end
    local elapsed = now() - start
    -- drift bounded loosely: the expirations counted match the elapsed time within 3 periods
    assert(total >= 10, "at least one expiry per read")
    assert(math.abs(total - elapsed / 0.05) <= 3,
        string.format("%d expirations in %.3f s", total, elapsed))
    assert(elapsed >= 0.45, "10 periods of 0.05 s cannot end before 0.45 s: " .. elapsed)
    assert(ticks >= 5, "other threads ran while read() waited (" .. ticks .. " ticks)")
    thread.kill(ticker)

    -- counts pile up when nobody reads: a 0.05 s interval read after 0.125 s returns 2, or
    -- as many periods as really passed when the machine let the timer oversleep
    local set_at = now()
    tfd:settime(0.05, 0.05)
    thread.timer(0.125)
    local c = tfd:read()
    local slept = now() - set_at
    assert(c >= 2 and c <= slept / 0.05 + 1, string.format("count after %.3f s: %d", slept, c))

    -- settime returns the old setting; settime() disarms
    ov, oi = tfd:settime()
    assert(ov > 0 and ov <= 0.05, "old value " .. ov); h.eq(oi, 0.05, "old interval")
    v, i = tfd:gettime()
    h.eq(v, 0, "disarmed value"); h.eq(i, 0, "disarmed interval")
    -- negative means 0 (disarmed)
    tfd:settime(-1, -5)
    v, i = tfd:gettime()
    h.eq(v, 0, "negative value"); h.eq(i, 0, "negative interval")

    -- one-shot relative timer
    tfd:settime(0.02)
    h.eq(tfd:read(), 1, "one-shot count")

    -- an absolute realtime timer: the next whole second
    local rt = timerfd.new("realtime")
    local target = os.time() + 1
    rt:settime(target, 0, "absolute")
    h.eq(rt:read(), 1, "absolute expiry count")
    thread.timer(0.02) -- time() reads a coarse clock that may lag a few ms behind
    assert(os.time() >= target, "absolute timer fired early")
    h.eq(rt:close(), true, "close() the first time")
    h.eq(rt:close(), nil, "close() again")
    h.eq(rt:get_fd(), -1, "get_fd() after close")
    h.raises("EBADF", rt.read, rt)
    h.raises("EBADF", rt.settime, rt, 1)

    -- closing a timer while another thread waits on it wakes that thread with EBADF
    local waiter_err
    local blocked = timerfd.new()
    blocked:settime(30)
    local w = thread.attach(function()
        local ok, err = pcall(blocked.read, blocked)
        waiter_err = err
    end)
    thread.timer(0.01)
    blocked:close()
    thread.wait_all({w})
    assert(ratchet.error.is(waiter_err, "EBADF"), "waiter got " .. tostring(waiter_err))

    -- killing a thread blocked in read() cancels its wait; the timer stays usable
    local k = timerfd.new()
    k:settime(30)
    local victim = thread.attach(function() k:read(); results.victim_returned = true end)
    thread.timer(0.01)
    thread.kill(victim)
    k:settime(0.01)
    h.eq(k:read(), 1, "read after a killed reader")
    k:close()

    -- bad arguments
    h.raises_msg("number expected", tfd.settime, tfd, "soon")
    h.raises_msg("finite", tfd.settime, tfd, 0 / 0)
    h.raises_msg("finite", tfd.settime, tfd, 1, math.huge)
    h.raises_msg("absolute", tfd.settime, tfd, 1, 0, "sideways")
    tfd:close()
    results.done = true
end)

assert(results.done, "the test body ran to its end")
assert(not results.victim_returned, "a killed thread does not continue")
h.raises_msg("Unknown clock", timerfd.new, "sundial")
-- outside a kernel, read() works when an expiry is pending and errors when it would wait
local t = timerfd.new()
t:settime(0.001)
os.execute("sleep 0.01")
h.eq(t:read(), 1, "read with a pending expiry outside a kernel")
h.raises("EPERM", t.read, t)
t:close()
collectgarbage(); collectgarbage()
h.eq(h.fd_count(), fds_before, "descriptors after the test")
print("ok")

-- A timer closed while another thread waits on it through block_on: the waiter wakes
-- (the watcher block_on made for the descriptor is released before the close).
do
    local ratchet = require "ratchet"
    local woke
    local k = ratchet.new(function()
        local tfd = ratchet.timerfd.new()
        tfd:settime(30)
        local waiter = ratchet.thread.attach(function()
            woke = ratchet.thread.block_on({tfd}, nil, 5)
        end)
        ratchet.thread.timer(0.02)
        tfd:close()
        ratchet.thread.wait_all({waiter})
    end)
    local t0 = ratchet.now()
    k:loop()
    assert(woke ~= nil and ratchet.now() - t0 < 2, "block_on on a closed timer did not wake: " .. tostring(woke))
end
