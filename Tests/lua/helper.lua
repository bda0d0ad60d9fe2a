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

math.randomseed(os.time() ~ M.pid())
return M
