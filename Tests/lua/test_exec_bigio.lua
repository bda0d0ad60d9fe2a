-- ratchet.exec moving 10 MB each way at once: communicate and hand-driven pipes never deadlock.
local ratchet = require "ratchet"
local h = require "helper"
local exec = ratchet.exec
local thread = ratchet.thread

local MB10 = 10 * 1024 * 1024
local done = {}

h.run(function()
    -- patterned data, so a lost, duplicated or reordered chunk shows
    local block = {}
    for i = 0, 1023 do block[#block + 1] = string.format("%07d\n", i) end
    block = table.concat(block)                       -- 8 KiB
    local input = block:rep(MB10 // #block)
    h.eq(#input, MB10, "input size")

    -- cat reads and writes at the same time: both pipes fill up unless we multiplex
    local out, err, status = exec.new({"cat"}):communicate(input)
    h.eq(#out, MB10, "cat output size")
    assert(out == input, "cat output equals its input")
    h.eq(err, "", "cat stderr"); h.eq(status, 0, "cat status")

    -- a program that writes 10 MB before it reads anything, then reads 10 MB
    out, err, status = exec.new({"sh", "-c", "head -c " .. MB10 .. " /dev/zero | tr '\\0' x; wc -c >&2"})
        :communicate(input)
    h.eq(#out, MB10, "writer-first output size")
    assert(not out:find("[^x]"), "writer-first output content")
    h.eq(tonumber(err), MB10, "bytes the child read from stdin")
    h.eq(status, 0, "writer-first status")

    -- the same by hand: one thread writes stdin, another reads stdout
    local p = exec.new({"cat"})
    p:start()
    local writer = thread.attach(function()
        p:stdin():write(input)
        p:stdin():close()
    end)
    local pieces, n = {}, 0
    while true do
        local chunk = p:stdout():read(1048576)
        if chunk == "" then break end
        n = n + 1; pieces[n] = chunk
    end
    thread.wait_all({writer})
    local echoed = table.concat(pieces)
    h.eq(#echoed, MB10, "hand-driven cat output size")
    assert(echoed == input, "hand-driven cat output equals its input")
    h.eq(p:wait(), 0, "hand-driven cat status")

    -- a child that exits without reading: write raises EPIPE, communicate just stops feeding
    local quitter = exec.new({"true"})
    quitter:start()
    quitter:wait()
    local q2 = exec.new({"sh", "-c", "exec 0<&-; sleep 0.05"})
    q2:start()
    thread.timer(0.02)
    h.raises("EPIPE", q2:stdin().write, q2:stdin(), input)
    q2:wait()
    out, err, status = exec.new({"sh", "-c", "exec 0<&-; echo bye"}):communicate(input)
    h.eq(out, "bye\n", "communicate with a child that closed stdin"); h.eq(status, 0, "its status")

    -- a thread killed in the middle of communicate(): its state goes with it, the
    -- process object stays usable
    local victim_proc = exec.new({"sh", "-c", "sleep 0.1; cat"})
    local victim = thread.attach(function() victim_proc:communicate(input); done.victim = true end)
    thread.timer(0.02)
    thread.kill(victim)
    victim_proc:kill("SIGKILL")
    local st, normal = victim_proc:wait(10)
    h.eq(st, 9, "killed communicate child"); h.eq(normal, false, "killed by a signal")
    done.all = true
end)
assert(not done.victim, "a killed thread does not continue")
assert(done.all, "the test body ran to its end")
print("ok")
