-- ratchet.thread.alarm: ends a thread with ALARM (or the callback's error) after a delay.
local ratchet = require "ratchet"
local h = require "helper"
local thread = ratchet.thread

local flags, codes = {}, {}
local k = ratchet.new(function()
    thread.attach(function()
        thread.alarm(0.0, function() flags.cb1 = true end)
        thread.timer(1.0)
        flags.not_reached = true
    end)
    thread.attach(function()
        thread.alarm(0.01, function() error(ratchet.error.new("Test cleanup error", "CLEANUP")) end)
        thread.pause()
    end)
    thread.attach(function()
        -- replaced alarm, then finished before it fires: no error
        thread.alarm(0.01)
        thread.alarm(0.2)
        thread.timer(0.02)
        flags.finished = true
    end)
    thread.attach(function()
        -- alarm closes to-be-closed variables of the thread
        local c <close> = setmetatable({}, {__close = function() flags.closed = true end})
        thread.alarm(0.01)
        thread.timer(5)
    end)
    flags.entry = true
end, function(err, t)
    codes[#codes + 1] = err.code
    assert(err.thread == t, "err.thread is the alarmed thread")
end)
local start = os.time()
k:loop()
assert(os.time() - start < 3, "alarms fired late")
table.sort(codes)
h.eq(table.concat(codes, ","), "ALARM,ALARM,CLEANUP", "alarm codes")
assert(flags.cb1 and flags.finished and flags.closed and flags.entry, "flags")
assert(not flags.not_reached, "alarmed thread continued")

h.run(function()
    h.raises_msg("number expected", thread.alarm, "x")
    h.raises_msg("NaN", thread.alarm, 0 / 0)
end)
