---@meta ratchet.http
-- LuaCATS definitions (docs: docs/http.md).

---Options of `http_server.new` and `serve`.
---@class ratchet.http.server.options
---@field max_header_bytes? integer Default 16384.
---@field max_headers? integer Default 100.
---@field max_body_bytes? integer Default 8 MiB.
---@field idle_timeout? number Default 60 s.
---@field header_timeout? number Default 30 s.
---@field tls? ratchet.ssl.Context Encrypt every connection.
---@field on_error? fun(err: any, from: any) Called with a handler's error.

---What a handler returns.
---@class ratchet.http.response
---@field code? integer|string 100-999, default 200.
---@field message? string The reason phrase.
---@field headers? table<string, string|string[]>
---@field data? string|fun(): string?

---Lower-cased, multi-value headers; a missing field reads as `{}`.
---@alias ratchet.http.headers table<string, string[]>

-- runtime: ratchet.http.server
---HTTP/1.1 server: one object per connection.
---@class ratchet.http.server
local server = {}

---A server for one accepted connection; `handlers:METHOD(uri, headers, data, from)`.
---@param socket ratchet.socket.Socket
---@param from any Passed to the handlers as is.
---@param handlers table
---@param options? ratchet.http.server.options
---@return ratchet.http.server
function server.new(socket, from, handlers, options) end

---Serves requests until the connection closes (also `server()`).
---@async
function server:handle() end

---Accepts connections on `listener`, each served by its own thread.
---@async
---@param listener ratchet.socket.Socket
---@param handlers table
---@param options? ratchet.http.server.options
function server.serve(listener, handlers, options) end

---Options of `http_client.new`, `connect` and `fetch`.
---@class ratchet.http.client.options
---@field host? string
---@field keep_alive? boolean
---@field timeout? number
---@field max_header_bytes? integer
---@field max_headers? integer
---@field max_body_bytes? integer
---@field family? "AF_INET"|"AF_INET6"
---@field ssl_context? ratchet.ssl.Context
---@field tls? ratchet.ssl.Context
---@field ca_file? string
---@field ca_path? string
---@field verify? boolean Default true.
---@field method? string `fetch`: default "GET".
---@field headers? table<string, string|string[]> `fetch`.
---@field data? string|fun(): string? `fetch`.
---@field redirects? integer|boolean `fetch`: default 0.
---@field client? ratchet.http.client `fetch`: send on this connection.

-- runtime: ratchet.http.client
---HTTP/1.1 client.
---@class ratchet.http.client
local client = {}

---A client on a connected (possibly encrypted) socket.
---@param socket ratchet.socket.Socket
---@param options? ratchet.http.client.options|string
---@return ratchet.http.client
function client.new(socket, options) end

---Sends a request and reads the response; nothing when no complete response arrives.
---@async
---@param command string
---@param uri string
---@param headers? table<string, string|string[]>
---@param data? string|fun(): string?
---@return integer? code
---@return string? reason
---@return ratchet.http.headers? headers
---@return string? data
function client:query(command, uri, headers, data) end

---Closes the connection.
function client:close() end

---Connects to an http:// or https:// URL's host and port.
---@async
---@param url string
---@param options? ratchet.http.client.options
---@return ratchet.http.client
function client.connect(url, options) end

---One request to `url`.
---@async
---@param url string
---@param options? ratchet.http.client.options
---@return integer code
---@return string message
---@return ratchet.http.headers headers
---@return string data
function client.fetch(url, options) end

-- runtime: ratchet.http.common
---@private
---Splits an http(s) URL: scheme, host (no brackets), port, path with the query, and the
---Host header value; or nil and a message.
---@param url string
---@return string? scheme
---@return string? host_or_error
---@return integer? port
---@return string? path
---@return string? host_header
function client.parse_url(url) end

---Helpers shared by the server and the client.
---@class ratchet.http.common
---@field reasons table<integer, string> Code → reason phrase.
local common = {}

---A header table whose missing fields read as `{}`.
---@return ratchet.http.headers
function common.new_headers() end

---@param headers ratchet.http.headers
---@param name string
---@param value string
function common.add_header(headers, name, value) end

---@private
---Parses header fields of `buf` between `pos` and `stop` into `headers`.
---@param buf string
---@param pos integer
---@param stop integer
---@param headers ratchet.http.headers
---@param max_fields? integer
---@param lenient? boolean
---@return any
function common.parse_fields(buf, pos, stop, headers, max_fields, lenient) end

---"Name: value\r\n" for each value.
---@param headers table<string, string|string[]>
---@return string
function common.build_header_string(headers) end

---@param data string
---@param start? integer
---@return ratchet.http.headers headers
---@return integer next
function common.parse_header_string(data, start) end

---Whether a comma-separated list of values has `token` (case-insensitive).
---@param values string[]
---@param token string
---@return boolean
function common.has_token(values, token) end

---@private
---The current `Date:` header line.
---@return string
function common.date_line() end

---@private
---Whether `err` is a connection error (reset, closed, timed out).
---@param err any
---@return boolean
function common.is_connection_error(err) end

---@private
---The lower-cased form of a header name (cached).
---@param name string
---@return string
function common.lower_name(name) end
