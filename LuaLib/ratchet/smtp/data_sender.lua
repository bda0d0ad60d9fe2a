-- Client side of message transfer: puts a message on the wire with RFC 5321
-- transparency. Internal helper: returns a class table and sets no globals.
--
-- As the original: CRLF goes before the "." line only when the data does not already
-- end with a line ending, so slimta's relay (messages ending in CRLF) delivers the
-- message unchanged to an RFC 5321 server. The ratchet server's HAVE_DATA gets the data
-- without that final line ending.

local data_sender = {}
data_sender.__index = data_sender

local DEFAULT_ITER_SIZE = 65536

function data_sender.new(data, iter_size)
    local self = setmetatable({}, data_sender)
    self.data = data
    self.iter_size = (iter_size and iter_size > 0) and iter_size or DEFAULT_ITER_SIZE
    return self
end

--- The bytes that go on the wire for `data`: a bare LF becomes CRLF (RFC 5321 2.3.8
-- forbids sending bare LF), every line that starts with "." gets another one, the
-- first line included, CRLF is appended if missing, then "." CRLF ends it.
function data_sender.encode(data)
    local wire = data:gsub("\r?\n", "\r\n"):gsub("\n%.", "\n..")
    if wire:byte(1) == 46 then wire = "." .. wire end
    if wire:sub(-2) ~= "\r\n" then wire = wire .. "\r\n" end
    return wire .. ".\r\n"
end

--- Sends the message through `io` (whatever commands are queued go first), in pieces
-- of at most iter_size bytes.
function data_sender:send(io)
    local wire = data_sender.encode(self.data)
    io:flush_send()
    local step = self.iter_size
    for i = 1, #wire, step do
        io:send_raw(wire:sub(i, i + step - 1))
    end
end

return data_sender
