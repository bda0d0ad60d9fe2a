-- ratchet.websocket: WebSocket (RFC 6455) connections over ratchet sockets. A server side
-- that upgrades a request of ratchet.http.server (accept), a client for ws:// and wss://
-- URLs (connect), and the connection object both share: messages (text, binary,
-- fragmented both ways), automatic pong, optional keep-alive pings, the close handshake,
-- masking rules, UTF-8 validation, a maximum message size and permessage-deflate (RFC 7692,
-- in ratchet.websocket.deflate). recv() yields like every other blocking call; one thread
-- may recv while others send.
require "ratchet"
local common = require "ratchet.http.common"
local frame = require "ratchet.websocket.frame"
local pmd = require "ratchet.websocket.deflate"

local sub, byte, char, find, lower, format = string.sub, string.byte, string.char, string.find,
    string.lower, string.format
local concat = table.concat
local thread = ratchet.thread
local now = ratchet.now
local encode_frame, xor_mask = frame.encode, frame.mask
local utf8_ok = frame.valid_utf8
local common_fill = common.fill

local websocket = {}

websocket.defaults = {
    max_message = 16 * 1024 * 1024,   -- bytes of one message (after reassembly)
    fragment_size = false,            -- send messages longer than this in several frames
    ping_interval = false,            -- seconds between keep-alive pings (false: none)
    close_timeout = 5,                -- seconds to wait for the peer's close frame
    timeout = false,                  -- seconds for each read or write (false: none)
}

local OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
local KINDS = {text = OP_TEXT, binary = OP_BINARY}
local RECV_SIZE = 65536

local conn = {}
conn.__index = conn
websocket.connection = conn

local recv_message, keep_alive   -- the message reader and the keep-alive thread, below

-- Close codes a peer may send (RFC 6455 7.4: 1000-1003, 1007-1014 and 3000-4999).
local function valid_code(code)
    return (code >= 1000 and code <= 1003) or (code >= 1007 and code <= 1014) or
        (code >= 3000 and code <= 4999)
end

--- new(socket, options, role, pending) → connection over an upgraded socket. role "server"
-- expects masked frames and sends unmasked ones; "client" the reverse. `pending`: bytes
-- already read past the handshake. options.deflate: the permessage-deflate parameters the
-- handshake agreed (compression settings from options.compression).
function websocket.new(socket, options, role, pending)
    if type(options) ~= "table" then options = {} end
    if role ~= "server" and role ~= "client" then
        error("ratchet.websocket.new: role must be \"server\" or \"client\"", 2)
    end
    local self = setmetatable({
        socket = socket,
        client = role == "client",
        buf = pending or "", pos = 1,
        protocol = options.protocol,
        state = "open",                 -- "open", "closing" (our close sent), "closed"
        waiters = {}, sending = false,
        pongs = 0,
    }, conn)
    for k, v in pairs(websocket.defaults) do
        local given = options[k]
        if given ~= nil and given ~= false and (type(given) ~= "number" or given <= 0) then
            error("ratchet.websocket: " .. k .. " must be a positive number", 3)
        end
        self[k] = given or v
    end
    if options.deflate then
        self.deflate = options.deflate
        self.pmd = pmd.new(options.deflate, role, pmd.config(options.compression, role) or pmd.config(true, role))
    end
    socket:set_timeout(self.timeout or -1)
    if self.ping_interval then self.pinger = thread.attach_background(keep_alive, self) end
    return self
end

-- Sending: one frame at a time on the wire. A thread that finds another one sending waits
-- in line (paused) and is handed the turn when that one is done.
local function lock(self)
    if self.sending then
        local q = self.waiters
        q[#q + 1] = thread.self()
        thread.pause()
    end
    self.sending = true
end

local function unlock(self)
    local q = self.waiters
    while #q > 0 do
        local nxt = table.remove(q, 1)
        if pcall(thread.unpause, nxt) then return end   -- its turn (sending stays true)
    end
    self.sending = false
end

local function send_raw(self, data)
    local sock = self.socket
    local rest = sock:send(data)
    while rest do rest = sock:send(rest) end
end

-- Runs send(self, ...) holding the send turn: its frames go out without another thread's
-- frames in between.
local function with_turn(self, send, ...)
    lock(self)
    local ok, err = pcall(send, self, ...)
    unlock(self)
    if not ok then error(err, 0) end
end

-- The frames of one message: several when it is longer than fragment_size. `rsv1` marks
-- the first frame of a compressed message.
local function frames_of(self, opcode, payload, rsv1)
    local size, n = self.fragment_size, #payload
    if not size or n <= size then return encode_frame(true, opcode, payload, self.client, rsv1) end
    local frames = {}
    for i = 1, n, size do
        frames[#frames + 1] = encode_frame(i + size > n, i == 1 and opcode or OP_CONT,
            sub(payload, i, i + size - 1), self.client, i == 1 and rsv1)
    end
    return concat(frames)
end

-- Compresses and sends a message holding the send turn: the compression context must see
-- messages in the order they go on the wire.
local function send_compressed(self, opcode, message)
    local payload = self.pmd:compress(message)
    send_raw(self, frames_of(self, opcode, payload or message, payload ~= nil))
end

local function control(self, opcode, payload)
    with_turn(self, send_raw, encode_frame(true, opcode, payload, self.client))
end

-- The socket goes away: at once for a server after a close handshake (RFC 6455 7.1.1);
-- after the server's own close (or a moment) for a client. `drain` (failing a connection
-- whose peer may still be sending): our side shuts down first and what still comes is read
-- and dropped for a moment, so that closing does not reset the connection and destroy the
-- close frame before the peer reads it.
local function finish(self, drain)
    if self.state == "closed" then return end
    self.state = "closed"
    if self.pinger and self.pinger ~= thread.self() then pcall(thread.kill, self.pinger) end
    local sock = self.socket
    if self.client or drain then
        pcall(function()
            if drain then sock:shutdown("write") end
            sock:set_timeout(1)
            local got, deadline = 0, now() + 2
            repeat
                local d = sock:recv(RECV_SIZE)
                got = got + #d
            until d == "" or got > 1048576 or now() > deadline
        end)
    end
    local enc = sock.get_encryption and sock:get_encryption()
    if enc then pcall(enc.shutdown, enc, false) end
    pcall(sock.close, sock)
end

-- Fails the connection (RFC 6455 7.1.7): a close frame with `code`, then the socket closes.
-- Returns what recv returns for it.
local function fail(self, code, reason)
    if self.state == "open" then
        self.state = "closing"
        self.socket:set_timeout(self.close_timeout)
        pcall(control, self, OP_CLOSE, string.pack(">I2", code) .. reason)
    end
    self.close_code, self.close_reason = code, reason
    finish(self, true)
    return nil, code, reason
end

local function closed_abnormally(self, why)
    self.close_code, self.close_reason = 1006, why
    finish(self)
    return nil, 1006, why
end

local function recv_some(self)
    return self.socket:recv(RECV_SIZE)
end

-- Makes `n` unread bytes available; false when the connection ended first.
local function fill(self, n)
    return common_fill(self, n, recv_some)
end

-- Reads one frame: fin, opcode, payload (unmasked), rsv1 (compressed); or nil, close code,
-- reason.
local function read_frame(self, limit)
    local buf, pos = self.buf, self.pos
    if #buf - pos < 1 then
        if not fill(self, 2) then return nil, 1006, "connection closed without a close frame" end
        buf, pos = self.buf, self.pos
    end
    local b0, b1 = byte(buf, pos, pos + 1)
    local opcode = b0 & 15
    local rsv1 = b0 & 0x40 ~= 0
    if b0 & 0x30 ~= 0 or (rsv1 and not self.pmd) then return nil, 1002, "reserved bits set" end
    local masked = b1 >= 128
    if masked == self.client then
        return nil, 1002, masked and "masked frame from the server" or "unmasked frame from the client"
    end
    local len, head = b1 & 127, 2
    if opcode >= 8 then
        if opcode > OP_PONG then return nil, 1002, "unknown opcode " .. opcode end
        if b0 < 128 then return nil, 1002, "fragmented control frame" end
        if len > 125 then return nil, 1002, "control frame over 125 bytes" end
    elseif opcode > OP_BINARY then
        return nil, 1002, "unknown opcode " .. opcode
    end
    if rsv1 and (opcode == OP_CONT or opcode >= 8) then
        return nil, 1002, "RSV1 on a control or continuation frame"
    end
    if len == 126 then
        if not fill(self, 4) then return nil, 1006, "connection closed inside a frame" end
        buf, pos = self.buf, self.pos
        len, head = string.unpack(">I2", buf, pos + 2), 4
    elseif len == 127 then
        if not fill(self, 10) then return nil, 1006, "connection closed inside a frame" end
        buf, pos = self.buf, self.pos
        len, head = string.unpack(">i8", buf, pos + 2), 10
        if len < 0 then return nil, 1002, "frame length with the high bit set" end
    end
    if len > limit then return nil, 1009, "message over " .. self.max_message .. " bytes" end
    local total = head + (masked and 4 or 0) + len
    if #buf - pos + 1 < total then
        if not fill(self, total) then return nil, 1006, "connection closed inside a frame" end
        buf, pos = self.buf, self.pos
    end
    local payload
    if masked then
        payload = xor_mask(buf, pos + head + 4, len, sub(buf, pos + head, pos + head + 3))
    else
        payload = sub(buf, pos + head, pos + head + len - 1)
    end
    self.pos = pos + total
    if self.pos > #buf then self.buf, self.pos = "", 1 end
    return b0 >= 128, opcode, payload, rsv1
end

-- A close frame from the peer: answer it (unless ours went first) and end.
local function peer_closed(self, payload)
    local code, reason = 1005, ""
    if #payload == 1 then return fail(self, 1002, "close frame with a 1-byte payload") end
    if #payload >= 2 then
        code, reason = string.unpack(">I2", payload), sub(payload, 3)
        if not valid_code(code) then return fail(self, 1002, "invalid close code " .. code) end
        if not utf8_ok(reason) then return fail(self, 1007, "close reason is not UTF-8") end
    end
    if self.state == "open" then
        self.state = "closing"
        pcall(control, self, OP_CLOSE, #payload >= 2 and string.pack(">I2", code) or "")
    end
    self.close_code, self.close_reason = code, reason
    finish(self)
    return nil, code, reason
end

--- recv() → message, "text" or "binary"; or nil, close code, reason once the connection
-- is closed (by the peer, by close(), or failed for a protocol error: then the peer was
-- sent that code). Pings are answered and pongs counted on the way. Socket errors other
-- than a timeout end the connection (code 1006); a timeout (the `timeout` option) raises.
function conn:recv()
    if self.state == "closed" then return nil, self.close_code, self.close_reason end
    self.receiving = true
    local ok, msg, kind, reason = pcall(recv_message, self)
    self.receiving = false
    if ok then
        if msg then return msg, kind end
        return nil, kind, reason
    end
    if ratchet.error.is(msg, "ETIMEDOUT") then
        if self.state == "closing" then return closed_abnormally(self, "no close frame from the peer") end
        error(msg, 0)
    end
    if self.state ~= "closed" and (common.is_connection_error(msg) or ratchet.error.is(msg, "EBADF")) then
        return closed_abnormally(self, tostring(msg))
    end
    if self.state == "closed" then return nil, self.close_code, self.close_reason end
    error(msg, 0)
end

-- A compressed frame's data: decompressed within what is left of max_message.
local function inflate(self, payload, size, fin)
    local data, code, reason = self.pmd:decompress(payload, self.max_message - size, fin)
    if code == 1009 then reason = "message over " .. self.max_message .. " bytes (decompressed)" end
    return data, code, reason
end

-- Reads frames up to a complete message, answering pings and counting pongs on the way.
recv_message = function(self)
    local parts, n, size, first, packed = nil, 0, 0, nil, false
    while true do
        local room = self.max_message - size
        -- compressed data may come out a little longer than it went in: decompression checks
        -- the limit on the data itself
        if self.pmd then room = room + room // 256 + 64 end
        local fin, opcode, payload, rsv1 = read_frame(self, room)
        if fin == nil then
            if opcode == 1006 then return closed_abnormally(self, payload) end
            return fail(self, opcode, payload)
        end
        if opcode >= OP_CLOSE then
            if opcode == OP_CLOSE then return peer_closed(self, payload) end
            if opcode == OP_PING then
                if self.state == "open" then control(self, OP_PONG, payload) end
            else
                self.pongs, self.last_pong = self.pongs + 1, payload
            end
        elseif self.state == "closing" then
            -- after our close frame, data is discarded until the peer's close comes
        elseif opcode == OP_CONT then
            if not first then return fail(self, 1002, "continuation frame without a message") end
            if packed then
                local code, reason
                payload, code, reason = inflate(self, payload, size, fin)
                if not payload then return fail(self, code, reason) end
            end
            n = n + 1; parts[n] = payload
            size = size + #payload
            if fin then
                local msg = concat(parts, "", 1, n)
                if first == OP_TEXT and not utf8_ok(msg) then return fail(self, 1007, "text message is not UTF-8") end
                return msg, first == OP_TEXT and "text" or "binary"
            end
        else
            if first then return fail(self, 1002, "new message inside a fragmented one") end
            if rsv1 then
                local code, reason
                payload, code, reason = inflate(self, payload, 0, fin)
                if not payload then return fail(self, code, reason) end
            end
            if fin then
                if opcode == OP_TEXT and not utf8_ok(payload) then
                    return fail(self, 1007, "text message is not UTF-8")
                end
                return payload, opcode == OP_TEXT and "text" or "binary"
            end
            first, parts, n, size, packed = opcode, {payload}, 1, #payload, rsv1
        end
    end
end

--- send(message [, kind]) : kind "text" (default for strings; must be UTF-8) or "binary".
-- Messages longer than the `fragment_size` option go out as several frames; with
-- permessage-deflate agreed, messages go out compressed.
function conn:send(message, kind)
    if type(message) ~= "string" then
        error("ratchet.websocket: send needs a string, not " .. type(message), 2)
    end
    local opcode = KINDS[kind or "text"]
    if not opcode then error("ratchet.websocket: kind must be \"text\" or \"binary\"", 2) end
    if opcode == OP_TEXT and not utf8_ok(message) then
        error("ratchet.websocket: a text message must be valid UTF-8 (send it as \"binary\")", 2)
    end
    if self.state ~= "open" then
        error(ratchet.error.new("The WebSocket connection is closed.", "ECONNCLOSED", "ratchet.websocket.send()"), 2)
    end
    if not self.pmd then return with_turn(self, send_raw, frames_of(self, opcode, message)) end
    with_turn(self, send_compressed, opcode, message)
end

--- ping([payload]): sends a ping (payload up to 125 bytes); the pong is counted in
-- `pongs` (the latest payload in `last_pong`) by whoever is receiving.
function conn:ping(payload)
    payload = payload or ""
    if #payload > 125 then error("ratchet.websocket: a ping payload has at most 125 bytes", 2) end
    if self.state ~= "open" then
        error(ratchet.error.new("The WebSocket connection is closed.", "ECONNCLOSED", "ratchet.websocket.ping()"), 2)
    end
    control(self, OP_PING, payload)
end

--- close([code [, reason]]) → code, reason the peer answered with. Sends a close frame
-- (default 1000) and, unless another thread is in recv() (it then sees the answer), waits up
-- to close_timeout for the peer's close frame, discarding data, then closes the socket.
function conn:close(code, reason)
    if self.state == "closed" then return self.close_code, self.close_reason end
    code, reason = code or 1000, reason or ""
    if type(code) ~= "number" or not (valid_code(code) and code ~= 1004) then
        error("ratchet.websocket: invalid close code " .. tostring(code), 2)
    end
    if #reason > 123 or not utf8_ok(reason) then
        error("ratchet.websocket: a close reason is UTF-8 of at most 123 bytes", 2)
    end
    if self.state == "open" then
        self.state = "closing"
        self.socket:set_timeout(self.close_timeout)
        if not pcall(control, self, OP_CLOSE, string.pack(">I2", code) .. reason) then
            return closed_abnormally(self, "could not send the close frame")
        end
    end
    if self.receiving then return end
    self.socket:set_timeout(self.close_timeout)
    local ok = pcall(function()
        while self.state ~= "closed" do self:recv() end
    end)
    if not ok then closed_abnormally(self, "no close frame from the peer") end
    return self.close_code, self.close_reason
end

conn.__close = function(self) pcall(conn.close, self) end

-- The keep-alive thread: a ping every ping_interval; a peer that answered none of the
-- pings of the last interval (nor sent anything) is cut off, so recv() returns 1006.
keep_alive = function(self)
    local interval = self.ping_interval
    while true do
        thread.timer(interval)
        if self.state ~= "open" then return end
        local before = self.pongs
        if not pcall(conn.ping, self, "keep-alive") then return end
        thread.timer(interval)
        if self.state == "open" and self.pongs == before then
            self.close_code, self.close_reason = 1006, "no pong within " .. interval .. " s"
            return finish(self)
        end
    end
end

------------------------------------------------------------------------------------------
-- The opening handshake (RFC 6455 4)

local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

--- accept_key(key) → the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
function websocket.accept_key(key)
    return frame.base64(frame.sha1(key .. GUID))
end

local function header(headers, name)
    local v = headers[name]
    return v and v[1]
end

local function refuse(code, why, extra)
    local h = {["Content-Type"] = "text/plain"}
    for k, v in pairs(extra or {}) do h[k] = v end
    return {code = code, headers = h, data = why .. "\n"}
end

local function tokens(values)
    local out = {}
    for i = 1, #(values or {}) do
        for item in values[i]:gmatch("[^,]+") do
            local t = item:match("^%s*(.-)%s*$")
            if t ~= "" then out[#out + 1] = t end
        end
    end
    return out
end

--- accept(headers, options, handler) → a response table for a ratchet.http.server handler.
-- A valid upgrade request gets 101 and, once it is sent, handler(ws) runs in the connection's
-- thread with the socket taken over from the HTTP server (it closes when handler returns; an
-- open connection is closed with 1000 first). Otherwise a 400 (not a WebSocket request), 426
-- (another version), or 403 (origin refused) response. options: protocols (subprotocols
-- the server speaks, preferred first), origins (a list of allowed Origin values, or a
-- function(origin) → boolean; nil allows any), compression (a permessage-deflate offer is
-- accepted unless false; a table of settings, see ratchet.websocket.deflate) and the
-- connection options of new().
function websocket.accept(headers, options, handler)
    if type(options) == "function" and handler == nil then options, handler = nil, options end
    options = options or {}
    if type(handler) ~= "function" then error("ratchet.websocket.accept: handler must be a function", 2) end
    local upgrade = headers.upgrade
    if not (upgrade and common.has_token(upgrade, "websocket")) or
            not common.has_token(headers.connection, "upgrade") then
        return refuse(426, "This resource speaks WebSocket only.", {Upgrade = "websocket", Connection = "Upgrade"})
    end
    if header(headers, "sec-websocket-version") ~= "13" then
        return refuse(426, "WebSocket version 13 only.", {["Sec-WebSocket-Version"] = "13"})
    end
    local key = header(headers, "sec-websocket-key")
    if #(headers["sec-websocket-key"] or {}) ~= 1 or not key:find("^[%w+/]+=*$") or #key ~= 24 then
        return refuse(400, "Missing or malformed Sec-WebSocket-Key.")
    end
    local origins, origin = options.origins, header(headers, "origin")
    if origins then
        local allowed
        if type(origins) == "function" then
            allowed = origins(origin)
        else
            for _, o in ipairs(origins) do if o == origin then allowed = true end end
        end
        if not allowed then return refuse(403, "Origin not allowed.") end
    end
    local chosen
    if options.protocols then
        local offered = {}
        for _, p in ipairs(tokens(headers["sec-websocket-protocol"])) do offered[p] = true end
        for _, p in ipairs(options.protocols) do
            if offered[p] then chosen = p; break end
        end
    end
    local response = {code = 101, headers = {
        Upgrade = "websocket", Connection = "Upgrade",
        ["Sec-WebSocket-Accept"] = websocket.accept_key(key),
        ["Sec-WebSocket-Protocol"] = chosen,
    }}
    local extensions, agreed
    local config = pmd.config(options.compression, "server")
    if config then extensions, agreed = pmd.accept(headers["sec-websocket-extensions"], config) end
    response.headers["Sec-WebSocket-Extensions"] = extensions
    local conn_options = setmetatable({protocol = chosen, deflate = agreed}, {__index = options})
    -- ratchet.http.server: called once the 101 is sent; the socket is ours until we return
    response.upgrade = function(socket, pending)
        local ws = websocket.new(socket, conn_options, "server", pending)
        local ok, err = pcall(handler, ws)
        if ws.state ~= "closed" then pcall(conn.close, ws, ok and 1000 or 1011) end
        if not ok then error(err, 0) end
    end
    return response
end

--- connect(url, options) → connection, for a ws:// or wss:// URL. options: protocols (a list
-- offered in Sec-WebSocket-Protocol; `ws.protocol` is the one the server chose), origin,
-- headers (more request headers), the TLS options of ratchet.http.client.connect (ca_file,
-- ca_path, ssl_context, verify: verified by default), timeout (for the handshake, then as
-- the connection option), compression (permessage-deflate offered unless false; a table of
-- settings, see ratchet.websocket.deflate) and the connection options of new(). Raises
-- EPROTO when the server does not complete the handshake (the error's message has its
-- status) or answers the offer in a way it does not allow.
function websocket.connect(url, options)
    options = options or {}
    local http = require "ratchet.http.client"
    if type(url) ~= "string" then error("ratchet.websocket.connect: the URL must be a string", 2) end
    local scheme, rest = url:match("^(%a+)(://.*)$")
    scheme = scheme and lower(scheme)
    if scheme ~= "ws" and scheme ~= "wss" then
        error("ratchet.websocket.connect: not a ws:// or wss:// URL: " .. url, 2)
    end
    local http_url = (scheme == "wss" and "https" or "http") .. rest
    local ok, _, _, path = http.parse_url(http_url)
    if not ok then error("ratchet.websocket.connect: " .. tostring(_), 2) end
    local config = pmd.config(options.compression, "client")   -- raises for bad settings
    local c = http.connect(http_url, setmetatable({keep_alive = true}, {__index = options}))
    local key = frame.base64(frame.random(16))
    local headers = {
        Upgrade = "websocket", Connection = "Upgrade",
        ["Sec-WebSocket-Key"] = key, ["Sec-WebSocket-Version"] = "13",
    }
    if options.protocols then headers["Sec-WebSocket-Protocol"] = concat(options.protocols, ", ") end
    if options.origin then headers.Origin = options.origin end
    if config then headers["Sec-WebSocket-Extensions"] = pmd.offer(config) end
    for k, v in pairs(options.headers or {}) do headers[k] = v end
    local done, code, _, rheaders = pcall(c.query, c, "GET", path, headers)
    if not done then c:close(); error(code, 0) end
    local function bad(why)
        c:close()
        error(ratchet.error.new(format("WebSocket handshake with %s failed: %s", url, why), "EPROTO",
            "ratchet.websocket.connect()"), 0)
    end
    if not code then bad("no complete response") end
    if code ~= 101 then bad("status " .. code) end
    if not common.has_token(rheaders.upgrade, "websocket") or not common.has_token(rheaders.connection, "upgrade") then
        bad("no Upgrade: websocket")
    end
    if header(rheaders, "sec-websocket-accept") ~= websocket.accept_key(key) then bad("wrong Sec-WebSocket-Accept") end
    local chosen = header(rheaders, "sec-websocket-protocol")
    if chosen then
        local offered
        for _, p in ipairs(options.protocols or {}) do if p == chosen then offered = true end end
        if not offered then bad("the server chose the subprotocol " .. chosen .. ", which was not offered") end
    end
    local agreed
    if rheaders["sec-websocket-extensions"][1] then
        if not config then bad("the server chose an extension that was not offered") end
        local why
        agreed, why = pmd.agree(rheaders["sec-websocket-extensions"], config)
        if not agreed then bad(why) end
    end
    local pending = sub(c.buf, c.pos)
    return websocket.new(c.socket, setmetatable({protocol = chosen, deflate = agreed}, {__index = options}),
        "client", pending)
end

ratchet.websocket = websocket
return websocket
