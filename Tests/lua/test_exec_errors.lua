-- ratchet.exec failures: a program that cannot run raises from start(); the kernel goes on.
local ratchet = require "ratchet"
local h = require "helper"
local exec = ratchet.exec
local thread = ratchet.thread

local fds_before = h.fd_count()
local handled = {}
local done = {}

local kernel = ratchet.new(function()
    -- missing program: ENOENT from start(), with errno, syscall and the program name
    local p = exec.new({"ratchet-no-such-program", "arg"})
    local e = h.raises("ENOENT", p.start, p)
    h.eq(e.errno, 2, "errno"); h.eq(e["function"], "ratchet.exec.start()", "function")
    h.eq(e.syscall, "posix_spawnp", "syscall")
    assert(e.description:find("ratchet-no-such-program", 1, true), "description names the program: " .. e.description)
    h.eq(p:get_start_time(), nil, "no start time after a failed start")
    h.raises("EBADF", p.stdout, p)
    -- communicate on a missing program raises too
    h.raises("ENOENT", exec.new({"ratchet-no-such-program"}).communicate, exec.new({"ratchet-no-such-program"}))
    -- a missing program by path
    h.raises("ENOENT", exec.new({"/nonexistent/dir/prog"}).start, exec.new({"/nonexistent/dir/prog"}))

    -- not executable: EACCES
    local path = h.tmpname("noexec.sh")
    local f = assert(io.open(path, "w")); f:write("#!/bin/sh\necho hi\n"); f:close()
    local q = exec.new({path})
    h.raises("EACCES", q.start, q)
    os.execute("chmod +x " .. path)
    h.eq((exec.new({path}):communicate()), "hi\n", "after chmod +x it runs")
    os.remove(path)
    -- a directory
    h.raises("EACCES", exec.new({"/tmp"}).start, exec.new({"/tmp"}))

    -- bad argv tables
    h.raises_msg("table expected", exec.new, "ls")
    h.raises_msg("argv must name the program", exec.new, {})
    h.raises("EINVAL", exec.new({"echo", {}}).start, exec.new({"echo", {}}))
    h.raises("EINVAL", exec.new({"echo", "a\0b"}).start, exec.new({"echo", "a\0b"}))

    -- an uncaught start error in a thread goes to the error handler; other threads go on
    thread.attach(function() exec.new({"ratchet-no-such-program"}):start() end)
    local survivor = thread.attach(function()
        thread.timer(0.02)
        done.survivor = (exec.new({"echo", "still here"}):communicate()) == "still here\n"
    end)
    thread.wait_all({survivor})
    done.all = true
end, function(err, th)
    handled[#handled + 1] = err
end)
kernel:loop()

assert(done.all, "the test body ran to its end")
assert(done.survivor, "a thread kept working after another failed")
h.eq(#handled, 1, "errors given to the handler")
assert(ratchet.error.is(handled[1], "ENOENT"), "handler got ENOENT: " .. tostring(handled[1]))
-- blocking calls outside a thread are clear errors, not hangs
local p = exec.new({"sleep", "5"})
p:start()
h.raises("EPERM", p.wait, p)
h.raises("EPERM", p:stdout().read, p:stdout())
p:kill("SIGKILL")
p, kernel = nil, nil
collectgarbage(); collectgarbage()
h.eq(h.fd_count(), fds_before, "descriptors after the test (no pipe leaked by failed starts)")
print("ok")
