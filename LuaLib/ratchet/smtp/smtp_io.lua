-- Buffered line I/O for SMTP over any object with send/recv/close (a ratchet socket,
-- encrypted or not). Both the server and the client use it; custom server commands
-- reach it as `server.io`. Internal helper: returns a class table and sets no globals.

require "ratchet"

local smtp_io = {}
smtp_io.__index = smtp_io

-- Bytes asked of the socket per recv, and the most handed to one socket send (a send
-- returns the unsent tail; bounded pieces keep that copy small).
local RECV_SIZE = 65536
local SEND_PIECE = 65536

function smtp_io.new(socket, recv_size)
    local self = setmetatable({}, smtp_io)
    self.socket = socket
    self.send_buffer = {}
    self.recv_buffer = ""
    self.recv_size = recv_size or RECV_SIZE
    return self
end

function smtp_io.closed_error()
    return ratchet.error.new("Connection closed.", "ECONNCLOSED", "ratchet.smtp.io.recv()")
end

function smtp_io.deadline_error()
    return ratchet.error.new("Deadline passed.", "ETIMEDOUT", "ratchet.smtp.io.recv()")
end

--- Shuts TLS down (errors ignored: the peer may be gone) and closes the socket. The
-- close_notify is sent without waiting for the peer's: after QUIT nothing more is read, and
-- a peer that keeps the connection open must not hold the session until the timeout.
function smtp_io:close()
    local sock = self.socket
    local enc = sock.get_encryption and sock:get_encryption()
    if enc then pcall(enc.shutdown, enc, false) end
    return sock:close()
end

-- Sends all of `data`, looping on the unsent tail that a socket send returns.
local function send_all(sock, data)
    local len = #data
    local i = 1
    while i <= len do
        local j = math.min(len, i + SEND_PIECE - 1)
        local rest = sock:send(i == 1 and j == len and data or data:sub(i, j))
        while rest and #rest > 0 do rest = sock:send(rest) end
        i = j + 1
    end
end

function smtp_io:send_raw(data)
    self:flush_send()
    send_all(self.socket, data)
end

function smtp_io:buffered_send(data)
    local buf = self.send_buffer
    buf[#buf + 1] = data
end

function smtp_io:flush_send()
    local buf = self.send_buffer
    if not buf[1] then return end
    self.send_buffer = {}
    send_all(self.socket, table.concat(buf))
end

-- One socket read, bounded by `self.deadline` (ratchet.now() time) when set: the
-- socket's timeout bounds each read, the deadline all of them, so a peer that sends a
-- byte just before each timeout cannot hold a line or a message open for ever.
local function socket_recv(self)
    local sock = self.socket
    local deadline = self.deadline
    if not deadline or not sock.set_timeout then return sock:recv(self.recv_size) end
    local left = deadline - ratchet.now()
    if left <= 0 then error(smtp_io.deadline_error()) end
    local per_read = sock:get_timeout()
    if per_read >= 0 and per_read <= left then return sock:recv(self.recv_size) end
    sock:set_timeout(left)
    local ok, received = pcall(sock.recv, sock, self.recv_size)
    sock:set_timeout(per_read)
    if not ok then
        if ratchet.error.is(received, "ETIMEDOUT") then error(smtp_io.deadline_error()) end
        error(received, 0)
    end
    return received
end

-- One socket read. Whatever is waiting to be sent goes out first: the peer may be
-- waiting for it before it says anything more.
local function read_chunk(self)
    self:flush_send()
    local received = socket_recv(self)
    if received == nil or received == "" then
        error(smtp_io.closed_error())
    end
    return received
end

--- Appends one socket read to the receive buffer and returns the buffer.
function smtp_io:buffered_recv()
    self.recv_buffer = self.recv_buffer .. read_chunk(self)
    return self.recv_buffer
end

--- Raw bytes for the message readers: the buffered bytes if any, else one socket read.
function smtp_io:recv_raw()
    local buf = self.recv_buffer
    if buf ~= "" then
        self.recv_buffer = ""
        return buf
    end
    return read_chunk(self)
end

--- Puts bytes a message reader read past its end back in front of the buffer.
function smtp_io:unrecv(data)
    if data and data ~= "" then
        self.recv_buffer = data .. self.recv_buffer
    end
end

--- Next line without its line ending (LF, or CRLF). With `max_len` (octets counting the
-- CRLF), a longer line is read to its end and discarded and the result is
-- `nil, "too long"`; the buffer never grows past the limit. When `forbid_bare_lf` is set
-- (the server), a line ended by a bare LF is dropped and the result is `nil, "bare LF"`.
function smtp_io:recv_line(max_len)
    local buf = self.recv_buffer
    local discarding = false
    local search_from = 1
    while true do
        local nl = buf:find("\n", search_from, true)
        if nl then
            self.recv_buffer = buf:sub(nl + 1)
            if discarding then return nil, "too long" end
            local crlf = buf:byte(nl - 1) == 13
            if not crlf and self.forbid_bare_lf then return nil, "bare LF" end
            -- A bare LF counts as the two octets CRLF would have been.
            local len = crlf and nl or nl + 1
            if max_len and len > max_len then return nil, "too long" end
            return buf:sub(1, crlf and nl - 2 or nl - 1)
        end
        if max_len and #buf >= max_len then
            discarding = true
            -- Keep a trailing CR so that a CRLF split across reads is still seen whole.
            buf = buf:byte(-1) == 13 and "\r" or ""
        end
        search_from = #buf + 1
        buf = buf .. read_chunk(self)
        self.recv_buffer = buf
    end
end

--- Server side: the next command as `COMMAND, argument` (the command word upper-cased,
-- the argument trimmed). A line that does not start with letters comes back whole as
-- the command with an empty argument. A refused line gives `nil, why` (recv_line).
-- `time_limit` (seconds) bounds the whole line, the wait for its first byte included.
function smtp_io:recv_command(max_len, time_limit)
    self.deadline = time_limit and ratchet.now() + time_limit
    local line, err = self:recv_line(max_len)
    self.deadline = nil
    if not line then return nil, err end
    local command, arg = line:match("^(%a+)%s*(.-)%s*$")
    if command then
        return command:upper(), arg
    end
    return line, ""
end

--- Queues a reply; a message with several lines becomes "code-line" ... "code line".
function smtp_io:send_reply(code, message)
    code = tostring(code)
    message = tostring(message or "")
    local lines = {}
    for line in (message .. "\r\n"):gmatch("(.-)\r?\n") do
        lines[#lines + 1] = line
    end
    local out = {}
    for i = 1, #lines - 1 do
        out[#out + 1] = code .. "-" .. lines[i] .. "\r\n"
    end
    out[#out + 1] = code .. " " .. lines[#lines] .. "\r\n"
    self:buffered_send(table.concat(out))
end

function smtp_io:send_command(command)
    self:buffered_send(command .. "\r\n")
end

-- Reply lines longer than this are malformed; the limit bounds the buffer.
local MAX_REPLY_LINE = 65536

--- Client side: reads one reply, single- or multi-line, however its bytes are split
-- across reads. Returns the code as a string and the text lines joined by CRLF; a
-- malformed line gives `nil, line`.
function smtp_io:recv_reply()
    local code
    local lines = {}
    while true do
        local line = self:recv_line(MAX_REPLY_LINE)
        if not line then return nil, "" end
        local c, sep, text = line:match("^(%d%d%d)([ \t%-]?)(.*)$")
        if not c or (code and c ~= code) then
            return nil, line
        end
        code = c
        lines[#lines + 1] = text
        if sep ~= "-" then
            return code, table.concat(lines, "\r\n")
        end
    end
end

return smtp_io
