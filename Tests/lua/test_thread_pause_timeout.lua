-- ratchet.thread.pause(timeout): ETIMEDOUT when nothing unpauses the thread in time; an
-- unpause before it returns the values and leaves no timer behind; a killed or alarmed
-- timed pause leaves nothing pending (the loop ends at once); nil or a negative timeout is
-- no timeout; and kernel_space() is one value per kernel.
local ratchet = require "ratchet"
local h = require "helper"
local thread = ratchet.thread

h.run(function()
    local t0 = ratchet.now()
    local err = h.raises("ETIMEDOUT", thread.pause, 0.1)
    local waited = ratchet.now() - t0
    assert(waited >= 0.09 and waited < 0.5, "timed out after " .. waited)
    h.eq(err["function"], "ratchet.thread.pause()", "error function")
    h.raises("ETIMEDOUT", thread.pause, 0)

    -- unpaused before the timeout: the values, and no timeout later
    local me = thread.self()
    thread.attach(function() thread.timer(0.02); thread.unpause(me, "a", 2) end)
    local a, b = thread.pause(5)
    h.eq(a, "a", "first value"); h.eq(b, 2, "second value")
    thread.attach(function() thread.unpause(me, "x") end)
    h.eq(thread.pause(0.05), "x", "unpaused at once")
    thread.timer(0.1)   -- a stale timer would wake a later pause; nothing does
    thread.attach(function() thread.timer(0.02); thread.unpause(me, "later") end)
    h.eq(thread.pause(), "later", "an untimed pause after a timed one")

    -- a zero-timeout wait that ended early does not end a later untimed pause
    local other = thread.attach(function() thread.pause() end)
    thread.yield()
    thread.attach(function() thread.unpause(me, "unpaused") end)
    h.eq(thread.pause(0.2), "unpaused", "before the timeout")
    thread.unpause(other)

    -- unpause of a thread whose timed pause has ended is refused
    local late = thread.attach(function() pcall(thread.pause, 0) ; thread.timer(0.05) end)
    thread.yield(); thread.yield(); thread.yield()
    h.raises_msg("not yielding", thread.unpause, late)

    h.raises_msg("number expected", thread.pause, "soon")
    h.eq(thread.kernel_space(), thread.kernel_space({}), "kernel_space is one value")
    assert(thread.kernel_space() ~= thread.space(), "not the thread's space")
end)

-- killed and alarmed while in a timed pause: nothing stays pending, loop() ends at once
local t0 = ratchet.now()
local alarmed
ratchet.new(function()
    local waiter = thread.attach(function() thread.pause(30) end)
    thread.attach(function()
        thread.alarm(0.01)
        thread.pause(30)
    end)
    thread.yield()
    thread.kill(waiter)
end, function(err) alarmed = err end):loop()
assert(ratchet.error.is(alarmed, "ALARM"), "the alarm ended the pause: " .. tostring(alarmed))
assert(ratchet.now() - t0 < 5, "loop ended without waiting for the killed pauses")

-- with a negative timeout (none) and nothing else to do, the kernel reports a deadlock
local k = ratchet.new(function() thread.pause(-1) end)
local ok, err = pcall(k.loop, k)
assert(not ok and ratchet.error.is(err, "DEADLOCK"), "deadlock, got " .. tostring(err))
k:close()

-- a killed timed pause leaves nothing counted as pending: the deadlock is still seen
k = ratchet.new(function()
    local waiter = thread.attach(function() thread.pause(30) end)
    thread.yield()
    thread.kill(waiter)
    thread.pause()
end)
t0 = ratchet.now()
ok, err = pcall(k.loop, k)
assert(not ok and ratchet.error.is(err, "DEADLOCK"), "deadlock after the kill, got " .. tostring(err))
assert(ratchet.now() - t0 < 5, "seen at once")
k:close()

-- kernel_space: a fresh value in each kernel
local first, second
h.run(function() first = thread.kernel_space() end)
h.run(function() second = thread.kernel_space() end)
assert(first and second and first ~= second, "each kernel has its own space")
h.raises("EPERM", thread.kernel_space)
print("thread pause timeout ok")
