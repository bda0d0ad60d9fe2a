-- A wait's timeout timer is kept armed across waits (Kernel.armTimer, as nginx's lazy
-- timers): a socket woken by data before its timeout, over and over, still times out a full
-- timeout after its last wait began, never earlier, even though the timer kept from the
-- first wait fires long before; a shorter timeout after a longer one is not delayed by the
-- longer timer; a thread that waits or pauses without a timeout is not woken by a kept
-- timer, and a pause with one times out on time.
local ratchet = require "ratchet"
local helper = require "helper"
local socket, thread = ratchet.socket, ratchet.thread

helper.run(function()
    local a, b = socket.new_pair()
    -- 1. timeout 0.3 s, data every 0.05 s for 0.6 s (the first wait's timer fires meanwhile)
    a:set_timeout(0.3)
    thread.attach(function()
        for _ = 1, 12 do thread.timer(0.05); b:send("x") end
    end)
    for _ = 1, 12 do helper.eq(a:recv(), "x", "data before the timeout") end
    local t0 = ratchet.now()
    helper.raises("ETIMEDOUT", a.recv, a)
    local waited = ratchet.now() - t0
    assert(waited >= 0.29 and waited < 0.6, "timed out a full timeout after the last wait began: " .. waited)

    -- 2. a long timeout woken early, then a short one: the short one is not late
    a:set_timeout(5)
    thread.attach(function() thread.timer(0.02); b:send("y") end)
    helper.eq(a:recv(), "y", "woken by data")
    a:set_timeout(0.1)
    t0 = ratchet.now()
    helper.raises("ETIMEDOUT", a.recv, a)
    waited = ratchet.now() - t0
    assert(waited >= 0.09 and waited < 0.5, "the shorter timeout is on time: " .. waited)

    -- 3. a kept timer (0.2 s) does not end a later wait without a timeout
    a:set_timeout(0.2)
    thread.attach(function() thread.timer(0.01); b:send("z") end)
    helper.eq(a:recv(), "z", "woken by data")
    a:set_timeout(-1)
    thread.attach(function() thread.timer(0.4); b:send("late") end)
    helper.eq(a:recv(), "late", "no timeout without one set, after the kept timer fired")

    -- 4. pause: a kept timer ends neither a pause without a timeout nor delays one with it
    local me = thread.self()
    a:set_timeout(0.2)
    thread.attach(function() thread.timer(0.01); b:send("w") end)
    helper.eq(a:recv(), "w", "woken by data")
    thread.attach(function() thread.timer(0.4); thread.unpause(me, "unpaused") end)
    helper.eq(thread.pause(), "unpaused", "a pause without a timeout outlives the kept timer")
    a:set_timeout(5)
    thread.attach(function() thread.timer(0.01); b:send("v") end)
    helper.eq(a:recv(), "v", "woken by data")
    t0 = ratchet.now()
    helper.raises("ETIMEDOUT", thread.pause, 0.1)
    waited = ratchet.now() - t0
    assert(waited >= 0.09 and waited < 0.5, "a pause's timeout is on time: " .. waited)
    a:close(); b:close()
end)
print("ok")
