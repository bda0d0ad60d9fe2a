-- ratchet.socketpad: buffered reads (by length or delimiter) and coalesced writes over any
-- object with send/recv/close, usually a ratchet.socket.
require "ratchet"

local find, sub = string.find, string.sub

local socketpad = {}
socketpad.__index = socketpad

function socketpad.new(socket, from)
    return setmetatable({
        socket = socket,
        from = from,
        data = {},
        recv_buffer = "",
        send_buffer = "",
    }, socketpad)
end

-- One socket:recv() appended to the buffer; returns the new data ("" at EOF).
local function recv_once(self)
    local data, err = self.socket:recv()
    if not data then return nil, err end
    if data ~= "" then self.recv_buffer = self.recv_buffer .. data end
    return data
end

local function recv_bytes(self, n)
    local incomplete
    while #self.recv_buffer < n do
        local data, err = recv_once(self)
        if not data then return nil, err end
        if data == "" then incomplete = true; break end
    end
    local buf = self.recv_buffer
    self.recv_buffer = sub(buf, n + 1)
    return sub(buf, 1, n), incomplete
end

local function recv_delimited(self, delim)
    -- Only the new bytes (plus a delimiter's length of overlap) are searched after each read.
    local from = 1
    while true do
        local buf = self.recv_buffer
        local _, e = find(buf, delim, from, true)
        if e then
            self.recv_buffer = sub(buf, e + 1)
            return sub(buf, 1, e)
        end
        from = math.max(1, #buf - #delim + 2)
        local data, err = recv_once(self)
        if not data then return nil, err end
        if data == "" then
            self.recv_buffer = ""
            return buf, true
        end
    end
end

--- recv(n) → exactly n bytes; recv(delimiter) → everything through the delimiter.
-- At EOF: whatever was buffered, then true ("incomplete").
function socketpad:recv(through)
    local kind = type(through)
    if kind == "number" then
        return recv_bytes(self, through)
    elseif kind == "string" then
        return recv_delimited(self, through)
    end
    return nil, "Argument must be a number or string."
end

function socketpad:recv_remaining()
    local ret = self.recv_buffer
    self.recv_buffer = ""
    return ret
end

function socketpad:peek()
    return self.recv_buffer
end

--- One read from the socket, then the whole buffer (and true at EOF).
function socketpad:update_and_peek()
    local data, err = recv_once(self)
    if not data then return nil, err end
    if data == "" then return self.recv_buffer, true end
    return self.recv_buffer
end

function socketpad:send_behavior(what, how)
    if what == "chunk_size" then
        self.chunk_size = tonumber(how)
    elseif what == "always_flush" then
        if how == nil then how = true end
        self.always_flush = how
    else
        error("Unknown behavior type: " .. tostring(what), 2)
    end
end

-- With a chunk size, output goes to the socket in pieces of exactly that size.
local function buffer_data(self, data)
    local size = self.chunk_size
    if size and size > 0 and #self.send_buffer + #data > size then
        while data ~= "" do
            local room = size - #self.send_buffer
            self.send_buffer = self.send_buffer .. sub(data, 1, room)
            data = sub(data, room + 1)
            if #self.send_buffer >= size then self:flush() end
        end
    else
        self.send_buffer = self.send_buffer .. data
    end
end

--- send(data, more): buffers data; flushes unless `more` (always with always_flush).
-- send(nil or "", true) just flushes.
function socketpad:send(data, more)
    if more and (data == nil or data == "") then
        return self:flush()
    end
    buffer_data(self, data or "")
    if not more or self.always_flush then
        return self:flush()
    end
end

function socketpad:flush()
    local rest = self.send_buffer
    self.send_buffer = ""
    if rest == "" then return end
    repeat
        rest = self.socket:send(rest)
    until not rest
end

function socketpad:close()
    return self.socket:close()
end

ratchet.socketpad = socketpad
return socketpad
