-- ratchet.exec leaves no zombie: collected objects' children are reaped later.
local ratchet = require "ratchet"
local h = require "helper"
local exec = ratchet.exec
local thread = ratchet.thread

local mypid = h.pid()
--- Children of this process in state Z, from /proc (no extra child of our own is started).
local function zombies()
    local n, list = 0, {}
    local p = io.popen("ps -o pid=,stat= --ppid " .. mypid)
    for line in p:lines() do
        local pid, stat = line:match("(%d+)%s+(%S+)")
        if stat and stat:sub(1, 1) == "Z" then n = n + 1; list[#list + 1] = pid end
    end
    p:close()
    return n, table.concat(list, " ")
end

local done = {}
h.run(function()
    -- objects dropped after their child exited, never waited for
    for i = 1, 10 do
        local p = exec.new({"true"}); p:start()
    end
    thread.timer(0.2)
    local n = zombies()
    assert(n >= 1, "exited, unwaited children are zombies while their objects live (" .. n .. ")")
    collectgarbage(); collectgarbage()
    local z, which = zombies()
    h.eq(z, 0, "zombies after their objects were collected (" .. which .. ")")

    -- objects dropped while their child still runs: adopted, reaped by a later start/wait
    for i = 1, 5 do
        local p = exec.new({"sleep", "0.1"}); p:start()
    end
    collectgarbage(); collectgarbage()
    thread.timer(0.4)
    exec.new({"true"}):communicate() -- any start and wait reaps the orphans
    z, which = zombies()
    h.eq(z, 0, "zombies after orphans exited (" .. which .. ")")

    -- a to-be-closed exec object closes its pipes and does not leave its child behind
    do
        local p <close> = exec.new({"sleep", "0.05"})
        p:start()
    end
    thread.timer(0.3)
    exec.new({"true"}):communicate()
    z, which = zombies()
    h.eq(z, 0, "zombies after a closed object's child exited (" .. which .. ")")
    done.all = true
end)
assert(done.all, "the test body ran to its end")
print("ok")
