---@meta ratchet.websocket
-- LuaCATS definitions (docs: docs/websocket.md).

---Options of `accept`, `connect` and `new`.
---@class ratchet.websocket.options
---@field max_message? integer Default 16 MiB; over it: close 1009.
---@field fragment_size? integer|false Send longer messages as several frames.
---@field ping_interval? number|false Seconds between keep-alive pings.
---@field close_timeout? number Seconds to wait for the peer's close frame; default 5.
---@field timeout? number|false Seconds for each read and write.
---@field protocols? string[] `accept`: spoken, preferred first; `connect`: offered.
---@field origins? string[]|fun(origin: string?): boolean `accept`: allowed Origin values.
---@field origin? string `connect`: the Origin header.
---@field headers? table<string, string|string[]> `connect`: more request headers.
---@field ca_file? string `connect` (wss).
---@field ca_path? string `connect` (wss).
---@field ssl_context? ratchet.ssl.Context `connect` (wss).
---@field verify? boolean `connect` (wss): default true.
---@field compression? boolean|ratchet.websocket.compression permessage-deflate: on (true, the default), off (false), or settings.
---@field deflate? ratchet.websocket.deflate_parameters `new`: the agreed permessage-deflate parameters.

---permessage-deflate settings (the `compression` option). On a server the `server_*` ones
---are its own and `client_*` what it asks of clients; on a client the parameters it offers.
---@class ratchet.websocket.compression
---@field server_no_context_takeover? boolean The server starts every message afresh.
---@field client_no_context_takeover? boolean The client starts every message afresh.
---@field server_max_window_bits? integer|false 8-15: the server's LZ77 window (server default 12).
---@field client_max_window_bits? integer|false 8-15: the client's window (server default 12, when the client lets the server choose).
---@field level? integer zlib's compression level, -1 (zlib's default, 6) to 9.
---@field mem_level? integer zlib's memory level, 1-9; default 5.
---@field min_size? integer Messages shorter than this go uncompressed; default 0.

---The permessage-deflate parameters a handshake agreed (`ws.deflate`).
---@class ratchet.websocket.deflate_parameters
---@field server_no_context_takeover? boolean
---@field client_no_context_takeover? boolean
---@field server_max_window_bits? integer
---@field client_max_window_bits? integer

-- runtime: ratchet.websocket
---WebSocket (RFC 6455) server upgrades, client connections and the connection object.
---@class ratchet.websocket
---@field defaults ratchet.websocket.options
---@field connection ratchet.websocket.connection The connections' metatable.
local websocket = {}

---A response table for a `ratchet.http.server` GET handler: 101 and `handler(ws)` in the
---connection's thread, or 400/403/426.
---@param headers ratchet.http.headers
---@param options? ratchet.websocket.options|fun(ws: ratchet.websocket.connection)
---@param handler? fun(ws: ratchet.websocket.connection)
---@return ratchet.http.response
function websocket.accept(headers, options, handler) end

---Connects to a ws:// or wss:// URL and performs the opening handshake.
---@async
---@param url string
---@param options? ratchet.websocket.options
---@return ratchet.websocket.connection
function websocket.connect(url, options) end

---A connection over a socket that already did a handshake.
---@param socket ratchet.socket.Socket
---@param options? ratchet.websocket.options
---@param role "server"|"client"
---@param pending? string Bytes already read past the handshake.
---@return ratchet.websocket.connection
function websocket.new(socket, options, role, pending) end

---The Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
---@param key string
---@return string
function websocket.accept_key(key) end

---One WebSocket connection.
---@class ratchet.websocket.connection
---@field protocol string? The subprotocol chosen.
---@field state "open"|"closing"|"closed"
---@field close_code integer? Once closed.
---@field close_reason string? Once closed.
---@field pongs integer Pongs received.
---@field last_pong string? Payload of the latest pong.
---@field socket ratchet.socket.Socket
---@field deflate ratchet.websocket.deflate_parameters? permessage-deflate as agreed; nil: not in use.
local connection = {}

---The next message and its kind; nil, close code, reason once closed.
---@async
---@return string? message
---@return "text"|"binary"|integer kind_or_code
---@return string? reason
function connection:recv() end

---Sends a message ("text", the default, must be UTF-8).
---@async
---@param message string
---@param kind? "text"|"binary"
function connection:send(message, kind) end

---Sends a ping.
---@async
---@param payload? string At most 125 bytes.
function connection:ping(payload) end

---The close handshake; the peer's code and reason.
---@async
---@param code? integer Default 1000.
---@param reason? string
---@return integer? code
---@return string? reason
function connection:close(code, reason) end

-- runtime: ratchet.wsmask
---WebSocket payload masking in Swift, for `ratchet.websocket`.
---@class ratchet.wsmask
local wsmask = {}

---The `len` bytes of `data` from `start` XORed with the 4-byte `key` repeated.
---@param data string
---@param start integer 1-based.
---@param len integer
---@param key string 4 bytes.
---@return string
function wsmask.mask(data, start, len, key) end

---`n` (0 to 1 MiB) bytes from the kernel's random source (getrandom), for masking keys and nonces.
---@param n integer
---@return string
function wsmask.random(n) end

-- runtime: ratchet.deflate
---Raw DEFLATE streams (zlib) for permessage-deflate.
---@class ratchet.deflate
local deflate = {}

---A compressing stream.
---@param window_bits? integer 9-15, default 15.
---@param level? integer -1 (zlib's default) to 9.
---@param mem_level? integer 1-9, default 8.
---@return ratchet.deflate.deflater
function deflate.deflater(window_bits, level, mem_level) end

---A decompressing stream.
---@param window_bits? integer 8-15, default 15; at least the sender's.
---@return ratchet.deflate.inflater
function deflate.inflater(window_bits) end

-- metatable: ratchet_deflater_meta
---@class ratchet.deflate.deflater
local deflater = {}

---The raw DEFLATE bytes of `data`, ending with a sync flush whose `00 00 ff ff` is left off.
---@param data string
---@return string
function deflater:compress(data) end

---Forgets the window: the next data starts a new stream.
function deflater:reset() end

---Frees zlib's state now.
function deflater:close() end

-- metatable: ratchet_inflater_meta
---@class ratchet.deflate.inflater
local inflater = {}

---The bytes `data` decompresses to; nil, "limit" past `limit` bytes; nil, "data", message
---for data that is not DEFLATE.
---@param data string
---@param limit integer
---@param final? boolean `data` ends a message (its `00 00 ff ff` left off).
---@return string?
---@return "limit"|"data"|nil
---@return string?
function inflater:decompress(data, limit, final) end

---Forgets the window.
function inflater:reset() end

---Frees zlib's state now.
function inflater:close() end
