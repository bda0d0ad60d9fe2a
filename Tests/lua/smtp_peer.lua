-- Shared by the SMTP tests that talk to real peers (swaks, Python's smtplib and
-- aiosmtpd, raw sockets): a listening socket, an accept loop running server sessions,
-- and background commands that a ratchet thread can wait for without blocking the kernel.
local ratchet = require "ratchet"
local helper = require "helper"
local M = {}

--- A listening TCP socket on 127.0.0.1 with a free port; returns socket, port.
function M.listen()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(rec.addr)
    s:listen()
    local _, port = s:getsockname()
    return s, port
end

--- A connected client socket to 127.0.0.1:port.
function M.connect(port)
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    return s
end

--- Accepts on `listener` until it is closed; each connection runs
-- `make_server(conn, from):handle()` in its own thread. Returns the accept thread.
function M.serve(listener, make_server)
    return ratchet.thread.attach(function()
        while true do
            local ok, conn, from = pcall(listener.accept, listener)
            if not ok then break end
            ratchet.thread.attach(function() make_server(conn, from):handle() end)
        end
    end)
end

--- Starts aiosmtpd (peers/aiosmtpd_server.py) and waits until it listens; returns the
-- job and its port. Messages land in `dir`. `port` (optional) picks the port.
function M.aiosmtpd(dir, size_limit, port, certfile)
    local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
    os.remove(dir .. "/port")
    local job = M.spawn(("%spython3 %s/peers/aiosmtpd_server.py %s/port %s %d %s"):format(
        port and ("AIOSMTPD_PORT=" .. port .. " ") or "", here, dir, dir, size_limit or 1000000, certfile or ""))
    for _ = 1, 200 do
        local p = tonumber(M.read_file(dir .. "/port") or "")
        if p then return job, p end
        ratchet.thread.timer(0.05)
    end
    job:kill()
    error("aiosmtpd did not start:\n" .. job:output())
end

--- Yields until `path` exists (or `timeout` seconds pass); returns its contents or nil.
function M.wait_file(path, timeout)
    for _ = 1, math.floor((timeout or 10) / 0.05) do
        local data = M.read_file(path)
        if data then return data end
        ratchet.thread.timer(0.05)
    end
end

local job = {}
job.__index = job

--- Starts `cmd` (a shell command line) in the background, in its own process group.
function M.spawn(cmd)
    local base = helper.tmpname("job")
    local f = assert(io.open(base .. ".sh", "w"))
    f:write("(", cmd, ") >", base, ".out 2>&1 </dev/null\n",
        "echo $? >", base, ".rc.tmp; mv ", base, ".rc.tmp ", base, ".rc\n")
    f:close()
    assert(os.execute("setsid sh " .. base .. ".sh & echo $! >" .. base .. ".pid"))
    return setmetatable({ base = base }, job)
end

local function read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end
M.read_file = read_file

function job:output() return read_file(self.base .. ".out") or "" end

--- Yields (polling) until the command ends; returns its exit status and output.
-- Past `timeout` seconds the command is killed and an error raised.
function job:wait(timeout)
    local steps = math.floor((timeout or 60) / 0.05)
    for _ = 1, steps do
        local rc = read_file(self.base .. ".rc")
        if rc then return tonumber(rc), self:output() end
        ratchet.thread.timer(0.05)
    end
    self:kill()
    error("command timed out:\n" .. self:output())
end

--- Ends the command's whole process group (procps kill: the shell's own kill cannot
-- signal a group) and waits a little for it to go.
function job:kill()
    local pid = read_file(self.base .. ".pid")
    if not pid then return end
    local group = "-- -" .. pid:match("%d+") .. " 2>/dev/null"
    os.execute("/bin/kill -TERM " .. group)
    for _ = 1, 100 do
        if not os.execute("/bin/kill -0 " .. group) then return end
        if ratchet.thread.self() then ratchet.thread.timer(0.05) else os.execute("sleep 0.05") end
    end
end

-- `local job <close> = peer.spawn(...)` ends the command however the test ends.
job.__close = function(self) self:kill() end

--- Writes `data` to a new temporary file and returns its path.
function M.write_tmp(data, suffix)
    local path = helper.tmpname(suffix or "data")
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    return path
end

--- A raw line reader over a socket, for malformed sessions: `r:reply()` reads one
-- whole reply (its lines joined by "|"), or nil at EOF.
local raw = {}
raw.__index = raw

function M.raw(sock)
    return setmetatable({ sock = sock, buf = "" }, raw)
end

function raw:line()
    while true do
        local l, rest = self.buf:match("^(.-)\r\n(.*)$")
        if l then
            self.buf = rest
            return l
        end
        local data = self.sock:recv()
        if data == "" then return nil end
        self.buf = self.buf .. data
    end
end

function raw:reply()
    local lines = {}
    while true do
        local l = self:line()
        if not l then return nil end
        lines[#lines + 1] = l
        if l:sub(4, 4) ~= "-" then return table.concat(lines, "|") end
    end
end

function raw:send(data)
    local rest = data
    repeat rest = self.sock:send(rest) until not rest or rest == ""
end

--- SHA-256 (hex) of a string, by sha256sum.
function M.sha256(data)
    local path = M.write_tmp(data, "sha")
    local out = helper.sh("sha256sum " .. path)
    os.remove(path)
    return out:match("^(%x+)")
end

return M
