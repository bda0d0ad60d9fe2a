-- Deadlock detection: a timer the kernel owns is something that will happen, so a thread
-- that waits on nothing else is not deadlocked. Every time source is checked: alarm (with
-- pause, with wait_all, with and without an error handler), timer, block_on's timeout,
-- sigwait's timeout, a timerfd, exec's wait timeout and a socket timeout. A real deadlock
-- (nothing pending at all) is still reported.
local ratchet = require "ratchet"
local h = require "helper"

--- Runs `entry` in a kernel; returns the errors its threads ended with (via the handler)
--- and the error that left loop(), if any.
local function run(entry, with_handler)
    local errors = {}
    local k = ratchet.new(entry, with_handler and function(err) errors[#errors + 1] = err end or nil)
    local ok, escaped = pcall(k.loop, k)
    k:close()
    return errors, (not ok) and escaped or nil
end

local function code(err) return type(err) == "table" and err.code or tostring(err) end

-- alarm then pause: the thread ends with ALARM, not DEADLOCK.
local errors, escaped = run(function()
    ratchet.thread.alarm(0.05)
    ratchet.thread.pause()
end, true)
h.eq(escaped, nil, "alarm+pause with a handler: nothing leaves loop()")
h.eq(#errors, 1, "alarm+pause: one thread error")
h.eq(code(errors[1]), "ALARM", "alarm+pause with a handler")

errors, escaped = run(function()
    ratchet.thread.alarm(0.05)
    ratchet.thread.pause()
end, false)
h.eq(code(escaped), "ALARM", "alarm+pause without a handler: ALARM leaves loop()")

-- alarm while waiting in wait_all for a thread that never ends (a background one, so the
-- loop can finish once the alarmed thread is gone).
for _, with_handler in ipairs({ true, false }) do
    local start = ratchet.now()
    errors, escaped = run(function()
        ratchet.thread.alarm(0.05, function() end)
        local forever = ratchet.thread.attach_background(function() ratchet.thread.pause() end)
        ratchet.thread.wait_all({ forever })
    end, with_handler)
    local got = with_handler and errors[1] or escaped
    h.eq(code(got), "ALARM", "alarm in wait_all (handler: " .. tostring(with_handler) .. ")")
    assert(ratchet.now() - start < 5, "alarm in wait_all fired in time")
end

-- The alarm callback runs, and an alarm set by one thread keeps another's pause alive
-- until it fires (a paused sibling is unpaused by the alarm callback).
local woken
errors, escaped = run(function()
    local sleeper = ratchet.thread.attach(function() woken = ratchet.thread.pause() end)
    ratchet.thread.alarm(0.05, function() ratchet.thread.unpause(sleeper, "by the alarm") end)
    ratchet.thread.pause()
end, true)
h.eq(escaped, nil, "alarm callback unpauses a sibling: no deadlock")
h.eq(woken, "by the alarm", "sibling woken by the alarm callback")

-- A paused thread and a thread sleeping in timer(): the sleeper wakes the other.
errors, escaped = run(function()
    local paused = ratchet.thread.attach(function() ratchet.thread.pause() end)
    ratchet.thread.timer(0.05)
    ratchet.thread.unpause(paused)
end, true)
h.eq(escaped, nil, "timer: no deadlock")
h.eq(#errors, 0, "timer: no thread error")

-- The other time sources, each while a sibling is paused until it is done.
local sources = {
    ["block_on timeout"] = function() return ratchet.thread.block_on({}, {}, 0.05) end,
    ["block_on timeout with a silent socket"] = function()
        local a, b = ratchet.socket.new_pair()
        return ratchet.thread.block_on({ b }, nil, 0.05)
    end,
    ["sigwait timeout"] = function() return ratchet.thread.sigwait("SIGUSR2", 0.05) end,
    ["timerfd"] = function()
        local t = ratchet.timerfd.new()
        t:settime(0.05)
        return t:read()
    end,
    ["exec wait timeout"] = function()
        local p = ratchet.exec.new({ "sleep", "5" })
        p:start()
        local ok, err = pcall(p.wait, p, 0.05)
        p:kill("SIGKILL")
        p:wait()
        return ok or code(err)
    end,
    ["socket timeout"] = function()
        local a, b = ratchet.socket.new_pair()
        b:set_timeout(0.05)
        local ok, err = pcall(b.recv, b)
        return ok or code(err)
    end,
}
local expected = {
    ["block_on timeout"] = false, ["block_on timeout with a silent socket"] = false,
    ["sigwait timeout"] = false, ["timerfd"] = 1, ["exec wait timeout"] = "ETIMEDOUT",
    ["socket timeout"] = "ETIMEDOUT",
}
for name, wait in pairs(sources) do
    local got
    errors, escaped = run(function()
        local paused = ratchet.thread.attach(function() ratchet.thread.pause() end)
        got = wait()
        ratchet.thread.unpause(paused)
    end, true)
    h.eq(escaped, nil, name .. ": nothing leaves loop()")
    h.eq(#errors, 0, name .. ": no thread error (" .. code(errors[1]) .. ")")
    h.eq(got, expected[name], name .. ": result")
end

-- Still a deadlock: paused with nothing pending, and after an alarm was cancelled by the
-- thread's end.
errors, escaped = run(function() ratchet.thread.pause() end, true)
h.eq(code(escaped), "DEADLOCK", "pause alone is a deadlock")
errors, escaped = run(function()
    ratchet.thread.attach(function() ratchet.thread.alarm(10) end)
    ratchet.thread.pause()
end, true)
h.eq(code(escaped), "DEADLOCK", "an alarm ends with its thread")
