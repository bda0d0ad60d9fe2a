-- ratchet.socketpad over a scripted fake socket: reads by length and delimiter, EOF
-- ("incomplete"), peek/update_and_peek, coalesced and chunked sends (test_socketpad of the
-- original, without a network).
require "ratchet"
local socketpad = require "ratchet.socketpad"
local h = require "helper"

-- A fake socket: recv() hands out the scripted chunks in order, then "" forever.
local function fake(chunks)
    local s = {chunks = chunks or {}, sent = {}, closed = false, recvs = 0}
    function s:recv()
        self.recvs = self.recvs + 1
        return table.remove(self.chunks, 1) or ""
    end
    function s:send(data)
        -- a short write on the first call of big data, to prove flush loops on the rest
        if #data > 10 and not self.shorted then
            self.shorted = true
            self.sent[#self.sent + 1] = data:sub(1, 10)
            return data:sub(11)
        end
        self.sent[#self.sent + 1] = data
    end
    function s:close() self.closed = true; return true end
    return s
end

assert(ratchet.socketpad == socketpad, "ratchet.socketpad is the module")

-- fields
local pad = socketpad.new(fake(), "from-x")
h.eq(pad.from, "from-x", "from")
h.eq(type(pad.data), "table", "user data table")
h.eq(pad.recv_buffer, "", "recv_buffer")
h.eq(pad.send_buffer, "", "send_buffer")

-- recv(n): exactly n bytes, across several reads; the rest stays buffered
local s = fake{"ab", "c1", "23"}
pad = socketpad.new(s)
h.eq(pad:recv(3), "abc", "recv(3)")
h.eq(#pad:peek(), 1, "one byte left")
h.eq(pad:recv(3), "123", "recv(3) again")
h.eq(#pad:peek(), 0, "nothing left")

-- recv(delim): through the delimiter, which can be split across reads
s = fake{"line 1\r", "\nline 2\r\n"}
pad = socketpad.new(s)
h.eq(pad:recv("\r\n"), "line 1\r\n", "first line")
h.eq(#pad:peek(), 8, "second line buffered")
h.eq(pad:recv("\r\n"), "line 2\r\n", "second line")
-- a delimiter with pattern characters is literal
pad = socketpad.new(fake{"a.b%c.", "d"})
h.eq(pad:recv("%c."), "a.b%c.", "literal delimiter")

-- EOF: whatever is buffered plus true
pad = socketpad.new(fake{"half"})
local data, incomplete = pad:recv("\r\n")
h.eq(data, "half", "partial line at EOF")
h.eq(incomplete, true, "incomplete flag")
pad = socketpad.new(fake{"12"})
data, incomplete = pad:recv(5)
h.eq(data, "12", "partial bytes at EOF")
h.eq(incomplete, true, "incomplete flag (bytes)")
data, incomplete = pad:recv(1)
h.eq(data, "", "empty at EOF")
h.eq(incomplete, true, "incomplete at EOF")

-- bad argument: returned, not raised
local r1, r2 = pad:recv({})
h.eq(r1, nil, "bad argument result")
h.eq(r2, "Argument must be a number or string.", "bad argument message")

-- update_and_peek, recv_remaining
pad = socketpad.new(fake{"xy", "z"})
h.eq(pad:update_and_peek(), "xy", "update_and_peek 1")
h.eq(pad:update_and_peek(), "xyz", "update_and_peek 2")
local buf, eof = pad:update_and_peek()
h.eq(buf, "xyz", "update_and_peek at EOF")
h.eq(eof, true, "update_and_peek EOF flag")
h.eq(pad:recv_remaining(), "xyz", "recv_remaining")
h.eq(pad:peek(), "", "buffer cleared")

-- send(data, true) buffers; send(data) sends everything as one write (looping on short writes)
s = fake()
pad = socketpad.new(s)
pad:send("line one\r\n", true)
h.eq(#s.sent, 0, "nothing sent while more")
pad:send("line two\r\n")
h.eq(table.concat(s.sent), "line one\r\nline two\r\n", "coalesced")
h.eq(#s.sent, 2, "one send plus the rest of a short write")
s.sent = {}
pad:send("x", true)
pad:send(nil, true)
h.eq(table.concat(s.sent, "|"), "x", "send(nil, true) flushes")
pad:flush()
h.eq(#s.sent, 1, "flush of an empty buffer sends nothing")

-- always_flush and chunk_size
s = fake(); s.shorted = true
pad = socketpad.new(s)
pad:send_behavior("always_flush")
pad:send("a", true)
h.eq(table.concat(s.sent, "|"), "a", "always_flush")
s = fake(); s.shorted = true
pad = socketpad.new(s)
pad:send_behavior("chunk_size", 4)
pad:send("0123456789")
h.eq(table.concat(s.sent, "|"), "0123|4567|89", "chunked sends")
h.raises_msg("Unknown behavior type: bogus", pad.send_behavior, pad, "bogus", 1)

-- close
s = fake()
socketpad.new(s):close()
h.eq(s.closed, true, "close closes the socket")

-- over a real socket pair, when ratchet.socket has it
if ratchet.socket and ratchet.socket.new_pair then
    h.run(function()
        local a, b = ratchet.socket.new_pair()
        local pa, pb = socketpad.new(a), socketpad.new(b)
        ratchet.thread.attach(function()
            pa:send("line one\r\n", true)
            pa:send("line two\r\n")
            pa:send("abc123")
            pa:send("half")
            pa:close()
        end)
        h.eq(pb:recv("\r\n"), "line one\r\n", "pair line 1")
        h.eq(pb:recv("\r\n"), "line two\r\n", "pair line 2")
        h.eq(pb:recv(3), "abc", "pair abc")
        h.eq(pb:recv(3), "123", "pair 123")
        local d, inc = pb:recv("\r\n")
        h.eq(d, "half", "pair half")
        h.eq(inc, true, "pair incomplete")
        pb:close()
    end)
else
    print("ratchet.socket.new_pair not available: socket pair part skipped")
end
print("socketpad ok")
