-- Errors in threads: the error handler gets (err, thread) and the loop continues; without one,
-- the error leaves loop() and a second loop() continues with the rest; deadlock detection.
local ratchet = require "ratchet"
local h = require "helper"

-- With a handler: every error reaches it with the dead thread, the others run on.
local seen, others = {}, 0
local k = ratchet.new(function()
    ratchet.thread.attach(function() error("first") end)
    ratchet.thread.attach(function() error({custom = true}) end)
    ratchet.thread.attach(function() ratchet.thread.timer(0.01); others = others + 1 end)
end, function(err, thread)
    assert(type(thread) == "thread", "handler gets the thread")
    assert(debug.traceback(thread, tostring(err)), "traceback of the dead thread works")
    seen[#seen + 1] = err
end)
k:loop()
h.eq(#seen, 2, "errors handled")
assert(tostring(seen[1]):find("first"), "string error passed through")
assert(type(seen[2]) == "table" and seen[2].custom, "table error passed unchanged")
h.eq(others, 1, "other threads unaffected")

-- A handler that raises: the error leaves loop().
k = ratchet.new(function() error("inner") end, function(err) error("handler failed: " .. tostring(err), 0) end)
h.raises_msg("handler failed", k.loop, k)

-- Without a handler (test_pcall_kernel_loop of the original).
local resumed = false
k = ratchet.new(function()
    local bad = ratchet.thread.attach(function() error("uh oh") end)
    ratchet.thread.attach(function()
        ratchet.thread.wait_all({bad})
        resumed = true
    end)
end)
local ok, err = pcall(k.loop, k)
assert(not ok and tostring(err):find("uh oh"), "error left loop: " .. tostring(err))
assert(not resumed, "waiter must not have resumed yet")
h.eq(k:get_num_threads(), 1, "failed thread removed")
k:loop()
assert(resumed, "second loop resumed the waiter")
h.eq(k:get_num_threads(), 0, "all done")

-- Ratchet errors stay tables when they leave the loop.
k = ratchet.new(function() error(ratchet.error.new("desc", "MYCODE")) end)
ok, err = pcall(k.loop, k)
assert(ratchet.error.is(err, "MYCODE"), "ratchet error unchanged")

-- Deadlock: all threads paused, nothing pending.
k = ratchet.new(function() ratchet.thread.pause() end)
err = h.raises("DEADLOCK", k.loop, k)
h.eq(err.description, "Non-IO deadlock detected.", "deadlock description")
h.eq(err["function"], "ratchet.loop_once()", "deadlock function")
h.eq(k:get_num_threads(), 1, "threads stay live after a deadlock")

-- An illegal bare yield leaves loop() even with a handler, and the thread is gone.
local handled = false
k = ratchet.new(function() coroutine.yield(1) end, function() handled = true end)
h.raises_msg("Illegal yield of a ratchet thread.", k.loop, k)
assert(not handled, "illegal yield is not for the error handler")
h.eq(k:get_num_threads(), 0, "illegal yielder removed")

-- Plain coroutines inside threads keep working.
h.run(function()
    local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
    h.eq(co(1), 2, "nested yield")
    h.eq(co(5), 10, "nested resume")
end)

-- Blocking calls from a plain coroutine nested in a thread get a clear error, not a hang.
h.run(function()
    local co = coroutine.create(function() ratchet.thread.timer(0.01) end)
    local ok, e = coroutine.resume(co)
    assert(not ok and tostring(e):find("inside a ratchet thread"), tostring(e))
end)
