---@meta ratchet.http2
-- LuaCATS definitions (docs: docs/http.md).

-- runtime: ratchet.http2
---HTTP/2 protocol sessions (nghttp2) without I/O of their own: the caller moves the bytes.
---@class ratchet.http2
local http2 = {}

---Options of `ratchet.http2.new`.
---@class ratchet.http2.options
---@field max_concurrent_streams? integer Default 100.
---@field max_header_list_size? integer Default 16384; larger header lists are refused (431).
---@field max_headers? integer Default 0 (no limit); more fields are refused (431).
---@field max_body_bytes? integer Default 8 MiB; larger bodies are refused (413); 0: no limit.
---@field window_size? integer Default 1 MiB per stream (16 times it for the connection).
---@field header_timeout? number Server: seconds a frame or a request header block may take once begun (see `overdue`); none by default.
---@field body_timeout? number Server: seconds a request body may take once its headers came; none by default.

---A session; its SETTINGS (and a client's preface) are the first `output()`.
---@param role "server"|"client"
---@param options? ratchet.http2.options
---@return ratchet.http2.Session
function http2.new(role, options) end

-- metatable: ratchet_http2_session_meta
---@class ratchet.http2.Session
local Session = {}

---Feeds received bytes; nil and why when the connection must end (send `output()` first).
---@param bytes string
---@return true|nil ok
---@return string? problem
function Session:receive(bytes) end

---The bytes to send now (about 256 KiB at most per call), or nil.
---@return string?
function Session:output() end

---The next event: "message", stream, headers, body, then a request's :method, :path and
---:authority or a response's :status (headers: the regular fields) | "refused", stream, status |
---"reset", stream, code | "goaway", last stream, code | "settings" (the peer's first
---SETTINGS came); nothing when none is left.
---@return string? kind
---@return integer? stream
---@return any a
---@return any b
---@return string? method_or_status
---@return string? path
---@return string? authority
function Session:event() end

---Submits a response (server).
---@param stream integer
---@param status integer
---@param headers? table<string, string|number|(string|number)[]>
---@param body? string
---@param more? boolean The body continues with `send`.
---@param date? string A Date field to add.
---@return true|nil ok
---@return string? problem
function Session:respond(stream, status, headers, body, more, date) end

---Submits a request (client): the new stream's id.
---@param method string
---@param scheme string
---@param authority string
---@param path string
---@param headers? table<string, string|number|(string|number)[]>
---@param body? string
---@param more? boolean The body continues with `send`.
---@return integer|nil stream
---@return string? problem
function Session:request(method, scheme, authority, path, headers, body, more) end

---Appends body bytes to a stream opened with `more`; `last` ends it.
---@param stream integer
---@param bytes string
---@param last? boolean
---@return true?
function Session:send(stream, bytes, last) end

---Body bytes queued on the stream and not yet sent (flow control), or nil.
---@param stream integer
---@return integer?
function Session:buffered(stream) end

---RST_STREAM with `code` (default 0, NO_ERROR).
---@param stream integer
---@param code? integer
function Session:reset(stream, code) end

---A graceful GOAWAY: the streams received so far finish, no new ones are accepted.
function Session:shutdown() end

---GOAWAY with `code`; the session then only sends it.
---@param code? integer
function Session:terminate(code) end

---@return boolean
function Session:want_read() end

---@return boolean
function Session:want_write() end

---A server's deadlines (ratchet.now() clock): stream, "head" when a frame (stream 0) or a
---request header block is past header_timeout (end the connection); stream, "body" when a
---request body is past body_timeout (answer it). Else nil, the next deadline or nil, and
---whether a request is being received.
---@return integer? stream
---@return "head"|"body"|number|nil stage_or_deadline
---@return boolean? receiving
function Session:overdue() end

---Server: takes over an HTTP/1.1 request that asked for h2c by Upgrade: `http2_settings`
---(the HTTP2-Settings value) becomes the client's settings, the request stream 1 for
---`respond`. nil and why when the value is not valid (stay HTTP/1.1).
---@param http2_settings string
---@param head? boolean The request was HEAD.
---@return true|nil ok
---@return string? problem
function Session:upgrade(http2_settings, head) end

---Frees the session.
function Session:close() end
