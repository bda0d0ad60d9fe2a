-- A thread that ended with an error reads "dead" (coroutine.status) inside the error
-- handler, after it returned, and after an error left loop() with no handler; its
-- to-be-closed variables are closed by then. So do killed and alarmed threads.
local ratchet = require "ratchet"
local h = require "helper"

local function closer(log, name)
    return setmetatable({}, { __close = function() log[#log + 1] = name end })
end

-- With a handler: string, table and ratchet errors.
local raisers = {
    string = function() error("boom") end,
    table = function() error({ reason = "table error" }) end,
    ratchet = function()
        local s = ratchet.socket.new()
        s:close()
        s:send("x")
    end,
}
for kind, raise in pairs(raisers) do
    local held, during, closed = {}, nil, {}
    local k = ratchet.new(function()
        local c <close> = closer(closed, kind)
        raise()
    end, function(err, thread)
        held.thread = thread
        during = coroutine.status(thread)
        assert(debug.traceback(thread):find("stack traceback", 1, true), "traceback in the handler")
    end)
    k:loop()
    h.eq(during, "dead", kind .. " error: status inside the handler")
    h.eq(coroutine.status(held.thread), "dead", kind .. " error: status after the handler returned")
    collectgarbage()
    h.eq(coroutine.status(held.thread), "dead", kind .. " error: status later")
    h.eq(closed[1], kind, kind .. " error: to-be-closed variable closed")
    local ok, msg = coroutine.resume(held.thread)
    assert(not ok and msg:find("dead", 1, true), "a failed thread cannot be resumed: " .. tostring(msg))
end

-- Without a handler: the error leaves loop(), the thread reads dead.
for kind, raise in pairs(raisers) do
    local held, closed = {}, {}
    local k = ratchet.new(function()
        held.thread = coroutine.running()
        local c <close> = closer(closed, kind)
        raise()
    end)
    local ok = pcall(k.loop, k)
    assert(not ok, kind .. " error left loop()")
    h.eq(coroutine.status(held.thread), "dead", kind .. " error without a handler: status")
    h.eq(closed[1], kind, kind .. " error without a handler: to-be-closed variable closed")
    k:close()
end

-- Alarmed and killed threads.
local alarmed, killed
local k = ratchet.new(function()
    alarmed = ratchet.thread.attach(function()
        ratchet.thread.alarm(0.01)
        ratchet.thread.timer(10)
    end)
    killed = ratchet.thread.attach(function() ratchet.thread.pause() end)
    ratchet.thread.yield()
    ratchet.thread.kill(killed)
end, function(err, thread)
    h.eq(err.code, "ALARM", "alarm error")
    h.eq(coroutine.status(thread), "dead", "alarmed thread inside the handler")
end)
k:loop()
h.eq(coroutine.status(alarmed), "dead", "alarmed thread after the handler")
h.eq(coroutine.status(killed), "dead", "killed thread")
