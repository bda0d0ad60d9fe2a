---@meta ratchet.socketpad
-- LuaCATS definitions (docs: docs/socketpad.md).

-- runtime: ratchet.socketpad
---Buffered reads by length or delimiter, and buffered writes, over a socket.
---@class ratchet.socketpad
local socketpad = {}

---@param socket ratchet.socket.Socket|ratchet.ssl.Session|table Anything with send/recv.
---@param from? any Kept as `pad.from`.
---@return ratchet.socketpad
function socketpad.new(socket, from) end

---Exactly `n` bytes, or everything up to and including the delimiter; at EOF what was
---buffered and `true` ("incomplete"). Another argument: `nil, message`.
---@async
---@param through integer|string
---@return string? data
---@return boolean|string? incomplete
function socketpad:recv(through) end

---The buffer, which is then emptied (no I/O).
---@return string
function socketpad:recv_remaining() end

---The buffer, unchanged (no I/O).
---@return string
function socketpad:peek() end

---One `recv()` added to the buffer, then the buffer; `buffer, true` at EOF.
---@async
---@return string buffer
---@return boolean? eof
function socketpad:update_and_peek() end

---`("chunk_size", n)` or `("always_flush" [, bool])`.
---@param what "chunk_size"|"always_flush"
---@param how? integer|boolean
function socketpad:send_behavior(what, how) end

---Appends `data`; sends the buffer unless `more` is true.
---@async
---@param data? string
---@param more? boolean
function socketpad:send(data, more) end

---Sends the whole buffer.
---@async
function socketpad:flush() end

---Closes the socket.
function socketpad:close() end
