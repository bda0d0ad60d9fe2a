-- Server side of message transfer: reads a DATA message up to its end, CRLF "." CRLF,
-- removing the dot-stuffing (RFC 5321 4.5.2), or reads BDAT chunks of given sizes
-- (RFC 3030). Both stream: the message goes piece by piece to a sink (the handler's
-- DATA_CHUNK) or is collected, and past the size limit the bytes are read and dropped,
-- so an oversized message is never held in memory. Internal helper: returns a class table.
--
-- Only CRLF ends a line. A bare LF or CR is message data like any other byte: it neither
-- ends the message ("<LF>.<LF>", "<LF>.<CR><LF>", "<CR>.<CR>") nor starts a line whose
-- dot is removed, so bytes after it are never read as SMTP commands (SMTP smuggling).

require "ratchet"

local data_reader = {}
data_reader.__index = data_reader

local DOT, CR, LF = 46, 13, 10

--- `max_size`: the most octets the message may have (nil or 0: no limit), counted as
-- RFC 1870 does: un-stuffed, with its line endings. `sink(piece)`, when given, receives
-- the message as it arrives; otherwise it is collected and returned at the end.
-- `pace` (optional) `{allowance = seconds, min_rate = octets per second}` bounds each
-- read (DATA, or one BDAT chunk) in total: `allowance` seconds plus one second per
-- `min_rate` octets received, so a slow but steady peer goes on and one that sends a
-- byte just before each read timeout does not (Postfix's smtpd_min_data_rate).
function data_reader.new(io, max_size, sink, pace)
    local self = setmetatable({}, data_reader)
    self.io = io
    self.pace = pace
    if max_size and max_size > 0 then self.max_size = max_size end
    self.sink = sink
    self.size = 0
    self.pieces = {}
    -- The message's final line ending is not part of it, so trailing CR/LF bytes are held
    -- back until more data shows they were not the last.
    self.tail = ""
    return self
end

function data_reader.too_big_error()
    return ratchet.error.new("Message breached size limit.", "MSGTOOBIG", "ratchet.smtp.data.recv()")
end

function data_reader:forward(piece)
    if self.sink then
        self.sink(piece)
    else
        local pieces = self.pieces
        pieces[#pieces + 1] = piece
    end
end

-- Starts the deadline of one read (see new), if paced.
function data_reader:start_clock()
    local pace = self.pace
    if pace then self.io.deadline = ratchet.now() + pace.allowance end
end

-- The next bytes from the peer; each one earns the read more time.
function data_reader:receive()
    local chunk = self.io:recv_raw()
    local pace = self.pace
    if pace then self.io.deadline = self.io.deadline + #chunk / pace.min_rate end
    return chunk
end

function data_reader:emit(piece)
    if piece == "" then return end
    self.size = self.size + #piece
    if self.too_big then return end
    if self.max_size and self.size > self.max_size then
        self.too_big = true
        self.pieces = {}
        self.tail = ""
        return
    end
    if self.tail ~= "" then piece = self.tail .. piece end
    local cut = piece:find("\r?\n?$")
    self.tail = piece:sub(cut)
    if cut > 1 then self:forward(cut > #piece and piece or piece:sub(1, cut - 1)) end
end

--- The end of the message: its data without the final line ending (nil when a sink got
-- it), or `nil, err` (MSGTOOBIG).
function data_reader:result()
    if self.too_big then return nil, data_reader.too_big_error() end
    -- A held-back lone CR is data; a held-back LF or CRLF is the final line ending.
    if self.tail ~= "" and self.tail:byte(-1) ~= LF then self:forward(self.tail) end
    self.tail = ""
    if self.sink then return nil end
    return table.concat(self.pieces)
end

--- Reads a DATA message. Returns the un-stuffed data without the final line ending (nil
-- with a sink), or `nil, err` (MSGTOOBIG) once the whole oversized message has been read
-- and dropped. Bytes after the terminator stay buffered for the next command (pipelining).
function data_reader:recv()
    local io = self.io
    self:start_clock()
    -- The message's start is a line start; then only what follows a CRLF.
    local at_line_start = true
    -- Bytes that cannot be judged until more come: "." or ".\r" at a line start, or a CR
    -- ending a read (the CRLF may end in the next one).
    local held = ""
    while true do
        local chunk = self:receive()
        if held ~= "" then chunk = held .. chunk; held = "" end
        local pos, len = 1, #chunk
        while pos <= len do
            if at_line_start and chunk:byte(pos) == DOT then
                local b1, b2 = chunk:byte(pos + 1, pos + 2)
                if b1 == CR and b2 == LF then
                    io:unrecv(chunk:sub(pos + 3))
                    io.deadline = nil
                    return self:result()
                elseif b1 == nil or (b1 == CR and b2 == nil) then
                    held = chunk:sub(pos)
                    break
                end
                -- A stuffed dot: the first of the line is dropped.
                pos = pos + 1
            end
            at_line_start = false
            local crlf = chunk:find("\r\n.", pos, true)
            if crlf then
                self:emit(chunk:sub(pos, crlf + 1))
                pos = crlf + 2
                at_line_start = true
            elseif chunk:byte(len) == CR then
                self:emit(chunk:sub(pos, len - 1))
                held = "\r"
                break
            else
                self:emit(pos == 1 and chunk or chunk:sub(pos))
                at_line_start = len > pos and chunk:byte(len) == LF and chunk:byte(len - 1) == CR
                break
            end
        end
    end
end

--- Reads one BDAT chunk of exactly `n` octets, added to the message. Nothing is
-- un-stuffed. After the chunk, the buffered rest stays for the next command.
function data_reader:recv_chunk(n)
    local io = self.io
    self:start_clock()
    while n > 0 do
        local chunk = self:receive()
        if #chunk > n then
            io:unrecv(chunk:sub(n + 1))
            chunk = chunk:sub(1, n)
        end
        n = n - #chunk
        self:emit(chunk)
    end
    io.deadline = nil
end

--- After the LAST chunk: the message without its final line ending, or `nil, err`.
function data_reader:finish_chunks()
    return self:result()
end

return data_reader
