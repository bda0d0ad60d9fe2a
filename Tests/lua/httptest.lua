-- Shared by the HTTP tests: a server on a free loopback port inside the running kernel,
-- raw exchanges over a plain socket, and assertions on the text that comes back.
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local thread = ratchet.thread

local M = {}

--- Serves `handlers` on a free port: returns the port and a stats table
-- {connections = n, threads = {...}}; stats.stop() kills the server threads.
function M.serve(handlers, options, host)
    local listener, port = h.listen(host)
    local stats = {connections = 0, threads = {}}
    local acceptor = thread.attach(function()
        while true do
            local client, from = listener:accept()
            stats.connections = stats.connections + 1
            local t = thread.attach(server.new(client, from, handlers, options))
            stats.threads[#stats.threads + 1] = t
            if #stats.threads > 1000 then
                -- keep the list short: only threads that may still run matter
                local live = {}
                for _, x in ipairs(stats.threads) do
                    if coroutine.status(x) ~= "dead" then live[#live + 1] = x end
                end
                stats.threads = live
            end
        end
    end)
    function stats.stop()
        thread.kill(acceptor)
        thread.kill_all(stats.threads)
        listener:close()
    end
    return port, stats
end

local function send_all(s, data)
    local rest = s:send(data)
    while rest do rest = s:send(rest) end
end
M.send_all = send_all

--- Reads until the peer closes (or `timeout` seconds without data): everything received.
function M.read_all(s, timeout)
    s:set_timeout(timeout or 5)
    local parts = {}
    while true do
        local ok, d = pcall(s.recv, s, 65536)
        if not ok or d == "" then break end
        parts[#parts + 1] = d
    end
    return table.concat(parts)
end

--- Reads a message head from `s` up to and including the empty line, a byte at a time so
-- that nothing after it is consumed; less at EOF.
function M.read_head(s)
    local head = ""
    while not head:find("\r\n\r\n", 1, true) do
        local d = s:recv(1)
        if d == "" then break end
        head = head .. d
    end
    return head
end

--- Sends `request` raw on a new connection and returns everything the server sent before
-- closing (or going quiet for `timeout` seconds).
function M.raw(port, request, timeout)
    local s = h.connect(port)
    send_all(s, request)
    local got = M.read_all(s, timeout)
    s:close()
    return got
end

--- Reads from `s` until `n` complete responses with Content-Length bodies arrived; returns
-- them as a list of {status=, code=, headers=raw head, body=}.
function M.read_responses(s, n, timeout)
    s:set_timeout(timeout or 5)
    local buf, out = "", {}
    while #out < n do
        local he = buf:find("\r\n\r\n", 1, true)
        if he then
            local head = buf:sub(1, he + 1)
            local len = tonumber(head:match("\r\n[Cc]ontent%-[Ll]ength: *(%d+)")) or 0
            if #buf >= he + 3 + len then
                out[#out + 1] = {status = head:match("^[^\r]*"), code = tonumber(head:match("^HTTP/%d%.%d (%d+)")),
                    head = head, body = buf:sub(he + 4, he + 3 + len)}
                buf = buf:sub(he + 4 + len)
                goto continue
            end
        end
        do
            local d = s:recv(65536)
            if d == "" then break end
            buf = buf .. d
        end
        ::continue::
    end
    return out, buf
end

--- Asserts that `s` contains the plain string `want`.
function M.has(s, want, what)
    if not s:find(want, 1, true) then
        error(string.format("%s: expected to find %q in:\n%s", what or "output", want, s), 2)
    end
end

function M.lacks(s, unwanted, what)
    if s:find(unwanted, 1, true) then
        error(string.format("%s: did not expect %q in:\n%s", what or "output", unwanted, s), 2)
    end
end

return M
