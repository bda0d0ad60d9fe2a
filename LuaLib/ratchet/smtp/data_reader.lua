-- Server side of message transfer: reads a DATA message up to its terminating "." line
-- while removing the dot-stuffing (RFC 5321 4.5.2), or reads a BDAT chunk of a given
-- size (RFC 3030). Both stream: over the size limit the bytes are read and dropped, so
-- an oversized message is never held in memory. Internal helper: returns a class table.

require "ratchet"

local data_reader = {}
data_reader.__index = data_reader

local DOT, CR, LF = 46, 13, 10

--- `max_size`: the most octets the message may have (nil or 0: no limit). It counts the
-- message as RFC 1870 does: un-stuffed, with its line endings.
function data_reader.new(io, max_size)
    local self = setmetatable({}, data_reader)
    self.io = io
    if max_size and max_size > 0 then self.max_size = max_size end
    self.size = 0
    self.pieces = {}
    return self
end

function data_reader.too_big_error()
    return ratchet.error.new("Message breached size limit.", "MSGTOOBIG", "ratchet.smtp.data.recv()")
end

function data_reader:emit(piece)
    if piece == "" then return end
    self.size = self.size + #piece
    if self.too_big then return end
    if self.max_size and self.size > self.max_size then
        self.too_big = true
        self.pieces = {}
        return
    end
    local pieces = self.pieces
    pieces[#pieces + 1] = piece
end

-- Removes the line ending of the message's last line ("x\r\n.\r\n" gives "x").
local function strip_final_line_ending(pieces)
    local function drop_last_byte(b)
        local last = pieces[#pieces]
        if not last or last:byte(-1) ~= b then return false end
        if #last == 1 then pieces[#pieces] = nil else pieces[#pieces] = last:sub(1, -2) end
        return true
    end
    if drop_last_byte(LF) then drop_last_byte(CR) end
end

-- The result of a finished read: the data, or nil and the MSGTOOBIG error.
function data_reader:result(strip)
    if self.too_big then return nil, data_reader.too_big_error() end
    if strip then strip_final_line_ending(self.pieces) end
    return table.concat(self.pieces)
end

--- Reads a DATA message. Returns the un-stuffed data without the final line ending, or
-- `nil, err` (MSGTOOBIG) once the whole oversized message has been read and dropped.
-- Bytes after the terminator stay buffered for the next command (pipelining).
function data_reader:recv()
    local io = self.io
    local at_line_start = true
    -- A line start that cannot be judged until more bytes come: "." or ".\r".
    local held = ""
    while true do
        local chunk = io:recv_raw()
        if held ~= "" then chunk = held .. chunk; held = "" end
        local pos, len = 1, #chunk
        while pos <= len do
            if at_line_start then
                at_line_start = false
                if chunk:byte(pos) == DOT then
                    local b1, b2 = chunk:byte(pos + 1, pos + 2)
                    if b1 == LF or (b1 == CR and b2 == LF) then
                        io:unrecv(chunk:sub(pos + (b1 == LF and 2 or 3)))
                        return self:result(true)
                    elseif b1 == nil or (b1 == CR and b2 == nil) then
                        held = chunk:sub(pos)
                        at_line_start = true
                        break
                    end
                    -- A stuffed dot: the first of the line is dropped.
                    pos = pos + 1
                end
            end
            local nl = chunk:find("\n.", pos, true)
            if nl then
                self:emit(chunk:sub(pos, nl))
                pos = nl + 1
                at_line_start = true
            else
                self:emit(pos == 1 and chunk or chunk:sub(pos))
                at_line_start = chunk:byte(len) == LF
                pos = len + 1
            end
        end
    end
end

--- Reads one BDAT chunk of exactly `n` octets, added to the message. Nothing is
-- un-stuffed. After the chunk, the buffered rest stays for the next command.
function data_reader:recv_chunk(n)
    local io = self.io
    while n > 0 do
        local chunk = io:recv_raw()
        if #chunk > n then
            io:unrecv(chunk:sub(n + 1))
            chunk = chunk:sub(1, n)
        end
        n = n - #chunk
        self:emit(chunk)
    end
end

--- After the LAST chunk: the message without its final line ending, or `nil, err`.
function data_reader:finish_chunks()
    return self:result(true)
end

return data_reader
