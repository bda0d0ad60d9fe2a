-- A stand-in socket for protocol unit tests: recv hands out scripted chunks in order
-- (then "" for EOF, or a raised error), send records what was written.
require "ratchet"
local M = {}

--- `chunks`: the byte strings recv returns in turn. `at_end`: nil for EOF, or a
-- ratchet error code raised once the chunks are used up (e.g. "ETIMEDOUT").
function M.new(chunks, at_end)
    local s = { chunks = chunks, i = 0, sent = {}, closed = false }
    function s:recv()
        self.i = self.i + 1
        local c = self.chunks[self.i]
        if c then return c end
        if at_end then error(ratchet.error.new("fake " .. at_end, at_end, "fake.recv()")) end
        return ""
    end
    function s:send(d)
        if self.closed then error(ratchet.error.new("closed", "EBADF", "fake.send()")) end
        self.sent[#self.sent + 1] = d
    end
    function s:close() self.closed = true; return true end
    function s:get_encryption() end
    function s:output() return table.concat(self.sent) end
    return s
end

--- `s` cut into pieces of `n` bytes.
function M.split(s, n)
    local t = {}
    for i = 1, #s, n do t[#t + 1] = s:sub(i, i + n - 1) end
    return t
end

--- The reply lines written to `sock`, as a list.
function M.lines(sock)
    local t = {}
    for line in sock:output():gmatch("(.-)\r\n") do t[#t + 1] = line end
    return t
end

return M
