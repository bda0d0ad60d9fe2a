-- Shared by the Lua tests: run a kernel where any thread error fails the test, temporary
-- files, ports, and assertions with useful messages.
local ratchet = require "ratchet"
local M = {}

--- Runs `entry` in a fresh kernel; an error in any thread fails the test with its traceback.
function M.run(entry, ...)
    local args = table.pack(...)
    local kernel = ratchet.new(function() entry(table.unpack(args, 1, args.n)) end,
        function(err, thread)
            error(debug.traceback(thread, tostring(err)), 0)
        end)
    kernel:loop()
    return kernel
end

--- A directory private to this test run.
function M.tmpdir()
    local d = os.getenv("RATCHET_TEST_TMP") or "/tmp"
    return d
end

function M.tmpname(suffix)
    return string.format("%s/%d-%s", M.tmpdir(), math.random(1, 1e9), suffix or "tmp")
end

--- Equality assertion that prints both sides.
function M.eq(got, want, what)
    if got ~= want then
        error(string.format("%s: expected %q, got %q", what or "value", tostring(want), tostring(got)), 2)
    end
end

--- Asserts that `f(...)` raises a ratchet error with `code`; returns the error.
function M.raises(code, f, ...)
    local ok, err = pcall(f, ...)
    if ok then error("expected error " .. code .. ", but the call succeeded", 2) end
    if not ratchet.error.is(err, code) then
        error("expected error " .. code .. ", got " .. tostring(err), 2)
    end
    return err
end

--- Asserts that `f(...)` raises a plain error whose message contains `pattern` (plain find).
function M.raises_msg(pattern, f, ...)
    local ok, err = pcall(f, ...)
    if ok then error("expected an error matching '" .. pattern .. "', but the call succeeded", 2) end
    if not tostring(err):find(pattern, 1, true) then
        error("expected an error matching '" .. pattern .. "', got " .. tostring(err), 2)
    end
    return err
end

--- Number of open descriptors of this process.
local function fd_sample()
    local n = 0
    local p = io.popen("ls /proc/" .. M.pid() .. "/fd")
    for _ in p:lines() do n = n + 1 end
    p:close()
    return n - 1 -- the ls pipe itself
end

--- popen closes its copy of the child's pipe end only after the child started, so under
--- load `ls` may still see it: the smallest of a few samples is the true count.
function M.fd_count()
    return math.min(fd_sample(), fd_sample(), fd_sample())
end

--- Number of open sockets of this process: connections and listeners, without the
--- epoll sets, eventfds and pipes a kernel opens for itself on first need.
function M.socket_count()
    local p = io.popen("ls -l /proc/" .. M.pid() .. "/fd")
    local n = 0
    for line in p:lines() do if line:find("socket:", 1, true) then n = n + 1 end end
    p:close()
    return n
end

function M.pid()
    local f = io.open("/proc/self/stat")
    local pid = f:read("*n")
    f:close()
    return pid
end

--- Resident set size of this process in KiB.
function M.rss_kb()
    for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmRSS:%s+(%d+)")
        if kb then return tonumber(kb) end
    end
end

--- Runs a shell command and returns its stdout (trimmed) and success flag.
function M.sh(cmd)
    local p = io.popen(cmd .. " 2>&1")
    local out = p:read("a")
    local ok = p:close()
    return (out:gsub("%s+$", "")), ok
end

--- Runs a shell command that must succeed (else an error with its output); returns its
--- output, trimmed.
function M.sh_ok(cmd)
    local out, ok = M.sh(cmd)
    if not ok then error("command failed: " .. cmd .. "\n" .. out, 2) end
    return out
end

--- The contents of `path`, or nil when it cannot be opened.
function M.read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end

--- Writes `data` to a new temporary file and returns its path.
function M.write_tmp(data, suffix)
    local path = M.tmpname(suffix or "data")
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    return path
end

--- Sleeps: inside a ratchet thread only this thread waits (the kernel keeps serving the
--- peers the test talks to); outside a kernel the process sleeps.
function M.sleep(seconds)
    if ratchet.thread.self() then ratchet.thread.timer(seconds) else os.execute("sleep " .. seconds) end
end

--- Calls `check()` every 20 ms until it returns a true value, and returns that value; nil
--- after `seconds` (default 15), so the caller's assert can say what did not happen.
function M.wait_until(check, seconds)
    local deadline = os.time() + (seconds or 15)
    repeat
        local v = check()
        if v then return v end
        M.sleep(0.02)
    until os.time() > deadline
end

--- A listening TCP socket on 127.0.0.1 (or `host`) on a free port: socket, port.
function M.listen(host)
    local rec = ratchet.socket.prepare_tcp(host or "127.0.0.1", 0)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(rec.addr)
    s:listen()
    local _, port = s:getsockname()
    return s, port
end

--- A TCP socket connected to 127.0.0.1 (or `host`) on `port`.
function M.connect(port, host)
    local rec = ratchet.socket.prepare_tcp(host or "127.0.0.1", port)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    return s
end

--- Whether process `pid` still runs. A zombie counts as gone: an orphan's new parent may
--- never reap it.
function M.alive(pid)
    local stat = M.read_file("/proc/" .. pid .. "/stat")
    local state = stat and stat:match("%) (%a)")
    return state ~= nil and state ~= "Z"
end

-- Child processes: every one runs under `timeout`, so none outlives a test that is killed
-- before it stops them. `timeout` makes its own process group and passes a signal on to
-- all of it, so stopping a job also ends whatever its command started.
local job = {}
job.__index = job
local jobs = {}

--- Starts the shell command line `cmd` in the background, stdin from `opts.input` (default
--- /dev/null), stdout and stderr to the file `job.log`, ended by `timeout` after
--- `opts.limit` seconds (default 110). `local j <close> = helper.spawn(...)` stops it
--- however the test ends; `helper.stop_all()` stops every job not yet stopped.
function M.spawn(cmd, opts)
    opts = opts or {}
    local base = M.tmpname("job")
    local f = assert(io.open(base .. ".cmd", "w"))
    f:write(cmd, "\n")
    f:close()
    f = assert(io.open(base .. ".sh", "w"))
    f:write(string.format("timeout -k 2 %d sh %s.cmd <%s >%s.log 2>&1 &\n", opts.limit or 110, base,
        opts.input or "/dev/null", base))
    -- print the pid, let go of the pipe, then leave the exit status where job:wait finds it
    f:write("echo $!\nexec >/dev/null\nwait $!\n",
        "echo $? >", base, ".rc.tmp; mv ", base, ".rc.tmp ", base, ".rc\n")
    f:close()
    local p = io.popen("sh " .. base .. ".sh 2>/dev/null &")
    local pid = tonumber(p:read("l"))
    p:close()
    assert(pid, "could not start " .. cmd)
    local j = setmetatable({pid = pid, log = base .. ".log", base = base, cmd = cmd}, job)
    jobs[#jobs + 1] = j
    return j
end

function job:output() return M.read_file(self.log) or "" end

--- Waits until the command ends; returns its exit status and output. Past `seconds`
--- (default 60) the command is stopped and an error raised.
function job:wait(seconds)
    local rc = M.wait_until(function() return tonumber(M.read_file(self.base .. ".rc")) end, seconds or 60)
    if rc then return rc, self:output() end
    self:stop()
    error("command timed out: " .. self.cmd .. "\n" .. self:output(), 2)
end

--- Waits until the output matches `pattern` and returns the first capture; raises with the
--- output so far when it does not within `seconds` (default 15).
function job:wait_for(pattern, seconds)
    local cap = M.wait_until(function() return self:output():match(pattern) end, seconds)
    if cap then return cap end
    error("timed out waiting for '" .. pattern .. "' from " .. self.cmd .. ":\n" .. self:output(), 2)
end

--- Sends SIGTERM and waits up to 2 s for the job to go (SIGKILL then).
function job:stop()
    if not M.alive(self.pid) then return end
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    if M.wait_until(function() return not M.alive(self.pid) end, 2) then return end
    os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
end

job.__close = job.stop

function M.stop_all()
    for _, j in ipairs(jobs) do j:stop() end
    jobs = {}
end

math.randomseed(os.time() ~ M.pid())
return M
