-- ratchet.exec with real programs: pipes, wait, kill, communicate, statuses.
local ratchet = require "ratchet"
local h = require "helper"
local exec = ratchet.exec
local thread = ratchet.thread

local fds_before = h.fd_count()
local done = {}

h.run(function()
    -- a thread that must keep running while the others wait on children
    local ticks = 0
    local ticker = thread.attach(function() while true do thread.timer(0.005); ticks = ticks + 1 end end)

    -- the reference's test_exec: two concurrent echos, cat round trip, communicate
    local function echo()
        local p = exec.new({"echo", "hello", "world"})
        p:start()
        p:stdin():close()
        h.eq(p:stdout():read(), "hello world\n", "echo output")
        local status, normal = p:wait()
        h.eq(status, 0, "echo status"); h.eq(normal, true, "echo exited normally")
        done.echo = (done.echo or 0) + 1
    end
    local e1, e2 = thread.attach(echo), thread.attach(echo)
    local cat = exec.new({"cat"})
    assert(cat:start() > 0, "start returns the pid")
    cat:stdin():write("test\n")
    h.eq(cat:stdin():close(), true, "stdin close the first time")
    h.eq(cat:stdin():close(), nil, "stdin close again")
    h.eq(cat:stdout():read(), "test\n", "cat round trip")
    h.eq(cat:stdout():read(), "", "cat EOF")
    h.eq(cat:wait(), 0, "cat status")
    local out, err, status, normal = exec.new({"cat"}):communicate("testing")
    h.eq(out, "testing", "communicate stdout"); h.eq(err, "", "communicate stderr")
    h.eq(status, 0, "communicate status"); h.eq(normal, true, "communicate normal exit")
    thread.wait_all({e1, e2})
    h.eq(done.echo, 2, "both echos finished")

    -- communicate() with no input: stdout, stderr, status (not the original's table)
    out, err, status = exec.new({"sh", "-c", "echo out; echo err >&2; exit 3"}):communicate()
    h.eq(out, "out\n", "sh stdout"); h.eq(err, "err\n", "sh stderr"); h.eq(status, 3, "sh exit status")
    out, err, status = exec.new({"true"}):communicate()
    h.eq(out, "", "true stdout"); h.eq(status, 0, "true status")
    -- numbers in argv are converted like tostring
    h.eq((exec.new({"echo", 42}):communicate()), "42\n", "numeric argv")

    -- object bookkeeping
    local argv = {"sh", "-c", "echo before; exit 7"}
    local p = exec.new(argv)
    assert(p:get_argv() == argv, "get_argv returns the same table")
    h.eq(p:get_start_time(), nil, "start time before start")
    h.raises("EBADF", p.stdin, p)
    h.raises("EBADF", p.stdout, p)
    h.raises("EBADF", p.wait, p)
    h.raises("EBADF", p.kill, p)
    local before = os.time()
    p:start()
    local st = p:get_start_time()
    assert(math.type(st) == "integer" and st >= before and st <= os.time(), "start time " .. tostring(st))
    h.raises("EINVAL", p.start, p)
    status, normal = p:wait()
    h.eq(status, 7, "exit 7"); h.eq(normal, true, "exit 7 is normal")
    -- waiting again returns the same status; stdin was closed when it was reaped, the
    -- output is still there to read
    h.eq(p:wait(), 7, "second wait")
    h.eq(p:stdin():get_fd(), -1, "stdin closed after reaping")
    h.eq(p:stdout():read(), "before\n", "output read after reaping")
    h.eq(p:stdout():read(), "", "EOF after reaping")
    h.raises("ESRCH", p.kill, p)

    -- wait with a timeout, kill, a child killed by a signal reports that signal
    local sleeper = exec.new({"sleep", "30"})
    sleeper:start()
    local t0 = ticks
    local e = h.raises("ETIMEDOUT", sleeper.wait, sleeper, 0.1)
    h.eq(e.description, "Timed out on wait.", "timeout description")
    assert(ticks > t0, "other threads ran during wait()")
    h.raises_msg("Invalid signal.", sleeper.kill, sleeper, "SIGNOPE")
    h.raises_msg("Optional timeout number or nil expected.", sleeper.wait, sleeper, "soon")
    h.raises_msg("Optional timeout number or nil expected.", sleeper.wait, sleeper, 0 / 0)
    h.eq(sleeper:kill("SIGKILL"), true, "kill returns true")
    status, normal = sleeper:wait(10)
    h.eq(status, 9, "killed by SIGKILL"); h.eq(normal, false, "killed is not normal")
    local termed = exec.new({"sleep", "30"})
    termed:start()
    termed:kill()
    h.eq(termed:wait(), 15, "default signal is SIGTERM")
    -- a signal given by number
    local hup = exec.new({"sleep", "30"}); hup:start(); hup:kill(1)
    h.eq(hup:wait(), 1, "SIGHUP by number")

    -- ratchet ignores SIGPIPE; its children get the default disposition back
    local function ignores_sigpipe(status_text)
        local mask = tonumber(status_text:match("SigIgn:%s*(%x+)"), 16)
        return mask & (1 << 12) ~= 0 -- SIGPIPE is 13
    end
    local f = io.open("/proc/self/status"); local mine = f:read("a"); f:close()
    assert(ignores_sigpipe(mine), "the test process ignores SIGPIPE")
    out = exec.new({"cat", "/proc/self/status"}):communicate()
    assert(not ignores_sigpipe(out), "the child does not ignore SIGPIPE")
    out, err = exec.new({"sh", "-c", "yes | head -n 1"}):communicate()
    h.eq(out, "y\n", "yes | head"); h.eq(err, "", "yes dies of SIGPIPE quietly")

    -- read sizes: default 8192, up to 1 MiB, more is an argument error
    local big = exec.new({"head", "-c", "2000000", "/dev/zero"})
    big:start()
    local got = 0
    while true do
        local chunk = big:stdout():read(1048576)
        if chunk == "" then break end
        assert(#chunk <= 1048576)
        got = got + #chunk
    end
    h.eq(got, 2000000, "bytes read with 1 MiB reads")
    h.raises_msg("maxlen", big:stdout().read, big:stdout(), 1048577)
    h.raises_msg("maxlen", big:stdout().read, big:stdout(), 0)
    h.eq(big:wait(), 0, "head status")
    local small = exec.new({"head", "-c", "20000", "/dev/zero"})
    small:start()
    local first = small:stdout():read()
    assert(#first <= 8192 and #first > 0, "default read size: " .. #first)
    small:communicate()

    -- many children waited for at once: every SIGCHLD wakes the right waiter
    local waiters, results = {}, {}
    for i = 1, 20 do
        waiters[i] = thread.attach(function()
            local c = exec.new({"sh", "-c", "sleep 0.0" .. (i % 5) .. "; exit " .. i})
            c:start()
            results[i] = c:wait(30)
        end)
    end
    thread.wait_all(waiters)
    for i = 1, 20 do h.eq(results[i], i, "status of child " .. i) end

    thread.kill(ticker)
    done.all = true
end)

assert(done.all, "the test body ran to its end")
collectgarbage(); collectgarbage()
h.eq(h.fd_count(), fds_before, "descriptors after the test")
print("ok")
