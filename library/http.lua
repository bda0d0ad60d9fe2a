---@meta ratchet.http
-- LuaCATS definitions (docs: docs/http.md).

---Options of `http_server.new` and `serve`.
---@class ratchet.http.server.options
---@field max_header_bytes? integer Default 16384.
---@field max_headers? integer Default 100.
---@field max_body_bytes? integer Default 8 MiB.
---@field idle_timeout? number Default 60 s.
---@field header_timeout? number Default 30 s.
---@field body_timeout? number Default 120 s: a request body in all once its head came.
---@field max_streams? integer HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS, default 100.
---@field tls? ratchet.ssl.Context Encrypt every connection.
---@field on_error? fun(err: any, from: any) Called with a handler's error.
---@field max_connections? integer `serve`: connections at once, default 10000; over it 503.
---@field max_connections_per_address? integer `serve`: the same per client IP address.
---@field drain_timeout? number `serve`: seconds a graceful stop may take (default `--drain-timeout`, 30).

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

---The stop hook of `serve`: the request in progress gets `Connection: close`; an idle
---connection closes after 0.2 s.
function server:drain() end

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
---@field pool? ratchet.http.pool|false `fetch`: default `client.default_pool`; false: no pooling.
---@field http2? false|"prior_knowledge" `fetch`: false: HTTP/1.1 only; "prior_knowledge": h2c on http URLs.

-- runtime: ratchet.http.client
---HTTP/1.1 client.
---@class ratchet.http.client
---@field default_pool ratchet.http.pool The pool `fetch` uses unless told otherwise: stands for the running kernel's own.
---@field failure? string Why the last query returned nothing.
---@field protocol string "http/1.1".
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

---Whether an idle kept-alive connection can take another request (the server has not
---closed it, nothing unread is buffered).
---@return boolean
function client:usable() end

---A new connection pool for `fetch`.
---@param options? ratchet.http.pool.options
---@return ratchet.http.pool
function client.pool(options) end

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

---Options of `http_client.pool`.
---@class ratchet.http.pool.options
---@field max_idle_per_host? integer Default 8.
---@field max_idle? integer Default 64.
---@field idle_timeout? number Seconds; default 30.
---@field max_per_host? integer Connections (in use + idle) per key; default none.
---@field max_total? integer Connections (in use + idle) in all; default none.

---A slot of a pool, from `pool:acquire`; to-be-closed.
---@class ratchet.http.pool.lease
---@field key string
---@field conn any The connection: an idle one reused, or the one the holder made.

-- runtime: ratchet.http.pool
---Idle keep-alive client connections kept per key for reuse.
---@class ratchet.http.pool
---@field connects integer Connections made for fetches through this pool.
---@field reuses integer Connections reused.
---@field waits integer Requests that waited for a slot.
local pool = {}

---A new pool (also `http_client.pool`).
---@param options? ratchet.http.pool.options
---@return ratchet.http.pool
function pool.new(options) end

---An idle connection for `key` that `usable` accepts, or nil.
---@param key string
---@param usable? fun(conn: any): boolean
---@return any?
function pool:take(key, usable) end

---Keeps an open connection for reuse under `conn.pool_key`.
---@param conn any
function pool:put(conn) end

---Idle connections kept (for `key`, or in all).
---@param key? string
---@return integer
function pool:count(key) end

---A slot for one connection for `key` within the limits, holding an idle connection that
---`usable` accepts or none; waits while the limits are reached, raising `ETIMEDOUT` after
---`timeout` seconds.
---@async
---@param key string
---@param usable? fun(conn: any): boolean
---@param timeout? number
---@return ratchet.http.pool.lease
function pool:acquire(key, usable, timeout) end

---Gives a slot back; its open connection is kept idle.
---@param lease ratchet.http.pool.lease
function pool:release(lease) end

---Connections in use (for `key`, or in all).
---@param key? string
---@return integer
function pool:in_use(key) end

---Closes every idle connection.
function pool:close() end

-- runtime: ratchet.http.default_pool
---The default pool of `fetch`, one per kernel.
---@class ratchet.http.default_pool
---@field proxy ratchet.http.pool `http_client.default_pool`: acts as the running kernel's pool.
local default_pool = {}

---The running kernel's default pool itself (made on first use); nil outside a running kernel.
---@return ratchet.http.pool?
function default_pool.get() end

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
---Makes `need` unread bytes available in `obj.buf` from `obj.pos`, reading with `recv(obj)`;
---false when the connection ended first.
---@param obj table
---@param need integer
---@param recv fun(obj: table): string
---@return boolean
function common.fill(obj, need, recv) end

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

---@private
---The current `Date:` value (HTTP/2 sends fields, not lines).
---@return string
function common.http_date() end

---@private
---The TLS context `fetch` and `connect` use: the given one, or one made (and cached) from
---the CA options, offering the `alpn` protocols.
---@param options table
---@param alpn? string[]
---@return ratchet.ssl.Context
function client.tls_context(options, alpn) end

---@private
---@async
---A new connection for `fetch` (keep-alive as given), its waits bounded by `deadline`.
---@param url string
---@param options table
---@param keep_alive boolean
---@param deadline? number
---@return ratchet.http.client
function client.open(url, options, keep_alive, deadline) end

---@private
---The ETIMEDOUT error of a fetch past its timeout.
---@param url string
---@return ratchet.error
function client.timed_out(url) end

-- runtime: ratchet.http.h2_server
---HTTP/2 connections of the server (ALPN "h2" on TLS, the preface on cleartext).
---@class ratchet.http.h2_server
local h2_server = {}

---@private
---Called by the server when a connection begins: serves it as HTTP/2 (nil) or returns the
---bytes read so far for HTTP/1.1.
---@param server ratchet.http.server
---@param c table
---@param io table The server's recv, dispatch, flush and set_timeout (never longer than the caller's socket timeout).
---@return string?
function h2_server.start(server, c, io) end

---@private
---@async
---h2c by Upgrade (RFC 7540 3.2): when the complete HTTP/1.1 request asks for it, answers 101
---and serves the connection as HTTP/2 with the request as stream 1 (true); else false.
---@param server ratchet.http.server
---@param c table
---@param method string
---@param uri string
---@param headers ratchet.http.headers
---@param data? string
---@param rest string The bytes read after the request.
---@param io table
---@return boolean
function h2_server.upgrade(server, c, method, uri, headers, data, rest, io) end

---@private
---@async
---The HTTP/2 connection loop.
---@param server ratchet.http.server
---@param c table
---@param initial string
---@param io table
---@param session? ratchet.http2.Session After an Upgrade.
---@param upgraded? table {headers, body, method, uri} of the request that is stream 1.
function h2_server.serve(server, c, initial, io, session, upgraded) end

---A graceful stop of every HTTP/2 connection: GOAWAY, the streams it names finish, then
---each connection closes.
function h2_server.goaway() end

---The same for one connection, given the server's connection state; false if not HTTP/2.
---@param c table
---@return boolean
function h2_server.drain(c) end

-- runtime: ratchet.http.h2_client
---HTTP/2 for `fetch`: one connection per origin shared by every thread.
---@class ratchet.http.h2_client
local h2_client = {}

---@private
---@async
---The request over HTTP/2 when it applies: code, message, headers, body; or nothing (a TLS
---connection whose server chose HTTP/1.1 is left in `pool` for fetch to use).
---@param url string
---@param method string
---@param headers? table
---@param data? string|fun(): string?
---@param options table
---@param pool? ratchet.http.pool|false
---@param deadline? number On ratchet.now()'s clock: the whole request, ETIMEDOUT past it.
---@return integer? code
---@return string? message
---@return ratchet.http.headers? headers
---@return string? data
function h2_client.fetch(url, method, headers, data, options, pool, deadline) end

---@private
---The pool key of a connection (where it goes, how it is verified, the address family).
---@param scheme string
---@param host string
---@param port integer
---@param options table
---@return string
function client.pool_key(scheme, host, port, options) end

---Closes the running kernel's pooled HTTP/2 connections (requests still waiting on them fail).
function h2_client.close_all() end

-- runtime: ratchet.http.h2_connection
---@private
---What the HTTP/2 server and client share about one connection.
---@class ratchet.http.h2_connection
local h2_connection = {}

---@private
---@async
---Sends everything the session has to send (one writer at a time).
---@param conn table
function h2_connection.flush(conn) end

---@private
---Wakes streamed bodies whose queue drained below the high-water mark.
---@param conn table
function h2_connection.wake_blocked(conn) end

---@private
---@async
---Sends a streamed body; false if the stream or connection went away.
---@param conn table
---@param id integer
---@param stream fun(): string?
---@return boolean
function h2_connection.send_stream(conn, id, stream) end
