-- ratchet.thread: wait_all, space, self, timer, pause/unpause, kill, kill_all, attach_background.
local ratchet = require "ratchet"
local h = require "helper"
local thread = ratchet.thread

-- wait_all (test_wait_all of the original).
local counter = 0
h.run(function()
    local ts = {}
    for n = 1, 5 do ts[n] = thread.attach(function() thread.timer(0.001 * n); counter = counter + n end) end
    thread.wait_all(ts)
    h.eq(counter, 15, "after wait_all")
    counter = counter + 6
    -- finished threads are skipped, an empty list still yields and returns
    thread.wait_all(ts)
    thread.wait_all({})
end)
h.eq(counter, 21, "counter")
h.run(function() h.raises_msg("Table item 1 is not a thread.", thread.wait_all, {1}) end)

-- space: per-thread, premade value kept on first call.
h.run(function()
    thread.attach(function()
        thread.space().a = 1
        thread.timer(0)
        h.eq(thread.space().b, nil, "other thread's key")
        h.eq(thread.space().a, 1, "own key")
    end)
    thread.attach(function()
        thread.space().b = 2
        thread.timer(0)
        h.eq(thread.space().a, nil, "other thread's key")
    end)
    thread.attach(function()
        local premade = {premade_stuff = "important"}
        h.eq(thread.space(premade), premade, "premade returned")
        h.eq(thread.space({}).premade_stuff, "important", "premade kept")
    end)
end)

-- self: the coroutine inside a thread, nil on the main state.
h.eq(thread.self(), nil, "self on main")
h.run(function()
    local me = thread.self()
    h.eq(type(me), "thread", "self type")
    h.eq(me, coroutine.running(), "self is the running coroutine")
end)

-- timer: sleeps at least that long; negative acts as 0; bad values are argument errors.
h.run(function()
    thread.timer(-1)
    local start = io.popen("date +%s.%N"):read("n")
    thread.timer(0.1)
    local stop = io.popen("date +%s.%N"):read("n")
    assert(stop - start >= 0.09, "timer too short: " .. (stop - start))
    h.raises_msg("number expected", thread.timer, "x")
    h.raises_msg("NaN", thread.timer, 0 / 0)
end)

-- pause/unpause (test_pause_unpause).
local log = {}
h.run(function()
    local t1, t2
    t1 = thread.attach(function()
        local got = thread.pause()
        log[#log + 1] = got
        thread.unpause(t2, "boop boop")
    end)
    t2 = thread.attach(function()
        thread.unpause(t1, "beep beep")
        local got = thread.pause()
        log[#log + 1] = got
    end)
end)
h.eq(table.concat(log, ","), "beep beep,boop boop", "pause/unpause values")
h.run(function()
    local t = thread.attach(function() thread.timer(0.01) end)
    thread.timer(0)
    h.raises_msg("Thread is not yielding, cannot unpause.", thread.unpause, t)
    h.raises_msg("cannot unpause", thread.unpause, thread.self())
end)
h.raises_msg("bad argument #1", thread.unpause, coroutine.create(print))

-- kill: stops waiting, paused and not-yet-started threads (the original let the last run).
local ran = {}
h.run(function()
    local waiting = thread.attach(function() thread.timer(10); ran.waiting = true end)
    local paused = thread.attach(function() thread.pause(); ran.paused = true end)
    thread.timer(0)
    local unstarted = thread.attach(function() ran.unstarted = true end)
    thread.kill(unstarted)
    thread.kill_all({waiting, paused})
    thread.kill(coroutine.create(print)) -- not a ratchet thread: ignored
end)
assert(not ran.waiting and not ran.paused and not ran.unstarted, "killed threads ran")

-- kill closes the killed thread's to-be-closed variables, and a thread can kill itself.
local closed, after = false, false
h.run(function()
    local t = thread.attach(function()
        local x <close> = setmetatable({}, {__close = function() closed = true end})
        thread.pause()
    end)
    thread.timer(0)
    thread.kill(t)
    assert(closed, "<close> variable of killed thread closed")
    thread.attach(function() thread.kill(thread.self()); after = true end)
end)
assert(not after, "self-kill continued")

-- attach_background: loop returns once only background threads remain, which are killed.
local bg_closed, fg_done = false, false
local t0 = os.time()
h.run(function()
    thread.attach_background(function()
        local x <close> = setmetatable({}, {__close = function() bg_closed = true end})
        while true do thread.timer(0.01) end
    end)
    thread.timer(0.05)
    fg_done = true
end)
assert(fg_done and bg_closed, "background thread killed at the end")

-- Functions that need a kernel give clear errors from the main state.
h.raises("EPERM", thread.attach, print)
h.raises("EPERM", thread.pause)
h.raises("EPERM", thread.wait_all, {})
