-- Shared by the SMTP tests that talk to real peers (swaks, Python's smtplib and
-- aiosmtpd, raw sockets): an accept loop running server sessions, aiosmtpd, a raw reply
-- reader and a SHA-256 of message bodies.
local ratchet = require "ratchet"
local helper = require "helper"
local M = {}

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
-- job (helper.spawn) and its port. Messages land in `dir`. `port` (optional) picks the port.
function M.aiosmtpd(dir, size_limit, port, certfile)
    local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
    os.remove(dir .. "/port")
    local job = helper.spawn(("%spython3 %s/peers/aiosmtpd_server.py %s/port %s %d %s"):format(
        port and ("AIOSMTPD_PORT=" .. port .. " ") or "", here, dir, dir, size_limit or 1000000, certfile or ""))
    local p = helper.wait_until(function() return tonumber(helper.read_file(dir .. "/port") or "") end, 10)
    if p then return job, p end
    job:stop()
    error("aiosmtpd did not start:\n" .. job:output())
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
    local path = helper.write_tmp(data, "sha")
    local out = helper.sh("sha256sum " .. path)
    os.remove(path)
    return out:match("^(%x+)")
end

return M
