-- The kernel runs threads in FIFO attach order, loops until all threads end, honours break,
-- and reports live threads and its backend.
local ratchet = require "ratchet"
local h = require "helper"

-- FIFO start order (the original used hash order).
local order = {}
h.run(function()
    for i = 1, 8 do ratchet.thread.attach(function() order[#order + 1] = i end) end
end)
h.eq(table.concat(order, " "), "1 2 3 4 5 6 7 8", "start order")

-- Attached threads start only after the attaching thread yields.
local seq = {}
h.run(function()
    ratchet.thread.attach(function() seq[#seq + 1] = "child" end)
    seq[#seq + 1] = "parent"
    ratchet.thread.timer(0)
    seq[#seq + 1] = "parent again"
end)
h.eq(table.concat(seq, ","), "parent,child,parent again", "attach runs after yield")

-- Arguments are passed; callable objects work and receive themselves.
local got
local obj = setmetatable({data = "beep beep"}, {__call = function(self, a, b) got = self.data .. a .. b end})
h.run(function() ratchet.thread.attach(obj, "!", "?") end)
h.eq(got, "beep beep!?", "callable object")

-- loop() keeps going until every thread ends, not just the entry thread.
local late = false
h.run(function()
    ratchet.thread.attach(function() ratchet.thread.timer(0.05); late = true end)
end)
assert(late, "loop returned before a non-entry thread finished")

-- get_num_threads counts attached-not-started, waiting and paused threads.
local k
k = ratchet.new(function()
    ratchet.thread.attach(function() ratchet.thread.timer(0.01) end)
    ratchet.thread.attach(function() end)
    h.eq(k:get_num_threads(), 3, "threads while running")
end)
h.eq(k:get_num_threads(), 1, "entry not started yet")
k:loop()
h.eq(k:get_num_threads(), 0, "after loop")
h.eq(k:get_method(), "epoll", "backend")

-- break stops the loop; a later loop() resumes the rest.
local steps = 0
k = ratchet.new(function()
    for _ = 1, 3 do
        steps = steps + 1
        k["break"](k)
        ratchet.thread.timer(0)
    end
end)
k:loop()
h.eq(steps, 1, "break stopped the loop after one pass")
local loops = 1
while k:get_num_threads() > 0 do k:loop(); loops = loops + 1 end
h.eq(steps, 3, "loop after break resumes")
h.eq(loops, 4, "one loop() per break")

-- loop_once returns true while threads remain, false when none do; noblock does not wait.
k = ratchet.new(function() ratchet.thread.timer(0.05) end)
h.eq(k:loop_once(), true, "first pass")
h.eq(k:loop_once(true), true, "noblock pass")
while k:loop_once() do end
h.eq(k:loop_once(), false, "no threads left")

-- tostring and version.
assert(tostring(k):find("ratchet kernel"), "kernel __tostring")
assert(ratchet.version:match("^%d+%.%d+%.%d+$"), "version string")

-- A kernel with no entry raises "attempt to call a nil value" from loop, like the original.
local empty = ratchet.new()
h.raises_msg("attempt to call a nil value", empty.loop, empty)

-- close() kills the threads; loop() on a closed kernel is an error; <close> works.
k = ratchet.new(function() ratchet.thread.pause() end)
k:close()
h.raises_msg("closed", k.loop, k)
do
    local k2 <close> = ratchet.new(function() end)
end
-- A kernel can be garbage-collected with threads still waiting on timers.
k = ratchet.new(function() ratchet.thread.timer(10) end)
k:loop_once()
k = nil
collectgarbage(); collectgarbage()

-- ratchet.now(): monotonic seconds, advancing with timers.
h.run(function()
    local t0 = ratchet.now()
    assert(type(t0) == "number" and t0 > 0, "now() is a positive number")
    ratchet.thread.timer(0.05)
    local dt = ratchet.now() - t0
    assert(dt >= 0.045 and dt < 5, "now() advanced by " .. dt)
end)
