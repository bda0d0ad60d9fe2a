---@meta ratchet.smtp
-- LuaCATS definitions (docs: docs/smtp.md).

---A reply a handler fills in (`reply.code`, `reply.message`, ...).
---@class ratchet.smtp.reply
---@field code string|integer e.g. "250".
---@field message string
---@field enhanced_status_code? string e.g. "2.1.0".
---@field command? string The command it answers (client replies).
local reply = {}

---`{command, code, message, description}` for `error(...)` (client replies).
---@param description string
---@return table
function reply:error(description) end

---Options of `ratchet.smtp.server.new`.
---@class ratchet.smtp.server.options
---@field max_message_size? integer|false Advertised as SIZE and enforced; default 35 MiB, 0 or false for none.
---@field max_line? integer Default 1000.
---@field max_errors? integer Default 10.
---@field idle_timeout? number Seconds for each read.
---@field command_timeout? number Seconds for a whole command line; default max(idle_timeout, 300).
---@field min_data_rate? number Octets per second a message must keep up after command_timeout; default 500.
---@field tls? ratchet.ssl.Context `serve`: offer STARTTLS (or encrypt at once with `tls_immediately`).
---@field tls_immediately? boolean `serve`: encrypt before the banner.
---@field max_connections? integer `serve`: sessions at once, default 10000; over it 421 4.7.0.
---@field max_connections_per_address? integer `serve`: the same per client IP address.
---@field drain_timeout? number `serve`: seconds a graceful stop may take (default `--drain-timeout`, 30).

---`server.extensions` and `client.extensions`: the ESMTP extensions of the session.
---@class ratchet.smtp.extensions
local extensions = {}

---@param name string
---@param param? any A string, or anything with `__tostring`.
function extensions:add(name, param) end

---@param name string
function extensions:drop(name) end

---The parameter (true when none), or nil.
---@param name string
---@return string|true|nil
function extensions:has(name) end

function extensions:reset() end

---Name, parameter pairs in advertising order.
---@return fun(): string?, any
function extensions:each() end

---@param greeting string
---@return string
function extensions:build_string(greeting) end

---@param message string
function extensions:parse_string(message) end

-- runtime: ratchet.smtp.server
---An SMTP server session over one accepted socket.
---@class ratchet.smtp.server
---@field handlers table
---@field io table `send_reply(code, message)`, `flush_send()`, `recv_line([max_len])`.
---@field extensions ratchet.smtp.extensions
---@field tls_context? ratchet.ssl.Context
---@field tls_immediately? boolean
---@field ehlo_as? string
---@field using_tls? boolean
---@field authenticated? string
---@field errors integer
local server = {}

---One session; `handlers` holds the callbacks (BANNER, EHLO, MAIL, RCPT, DATA, DATA_CHUNK, HAVE_DATA, ...).
---@param socket ratchet.socket.Socket
---@param handlers table
---@param tls_context? ratchet.ssl.Context Offer STARTTLS.
---@param tls_immediately? boolean Encrypt before the banner instead.
---@param options? ratchet.smtp.server.options
---@return ratchet.smtp.server
function server.new(socket, handlers, tls_context, tls_immediately, options) end

---Sends the banner and answers commands until QUIT (also `server()`).
---@async
function server:handle() end

---Accepts connections on `listener`, one session thread each, until it is closed or the
---process stops (ratchet.worker); `handlers` is a table or `function(from)` returning one.
---@async
---@param listener ratchet.socket.Socket
---@param handlers table|fun(from: any): table
---@param options? ratchet.smtp.server.options
function server.serve(listener, handlers, options) end

---The stop hook of `serve`: an idle session gets 421 4.3.2 and ends; a busy one finishes
---its command first.
function server:drain() end

---421 4.3.2 Service shutting down.
---@param message? string
function server:shutting_down(message) end

---Runs the CLOSE handler once, shuts TLS down and closes the socket.
function server:close() end

---Sends `reply` with its enhanced status code.
---@param reply ratchet.smtp.reply
function server:send_ESC_reply(reply) end

---500 5.5.2.
---@param command string
---@param arg? string
---@param message? string
function server:unknown_command(command, arg, message) end

---504 5.5.4.
---@param command string
---@param arg? string
---@param message? string
function server:unknown_parameter(command, arg, message) end

---503 5.5.1.
---@param command string
---@param arg? string
---@param message? string
function server:bad_sequence(command, arg, message) end

---501 5.5.4.
---@param command string
---@param arg? string
---@param message? string
function server:bad_arguments(command, arg, message) end

---421 4.4.2.
---@param command? string
---@param arg? string
---@param message? string
function server:timed_out(command, arg, message) end

---421 4.3.0.
---@param command? string
---@param arg? string
---@param message? string
function server:unhandled_error(command, arg, message) end

---@private
---@param message? string
function server:line_too_long(message) end

---@private
---@param message? string
function server:bare_newline(message) end

---@private
---@param message? string
function server:too_many_errors(message) end

---@private
function server:advertise_auth() end

---@private
---@return integer?
function server:size_limit() end

---Options of `ratchet.smtp.auth.new`.
---@class ratchet.smtp.auth.options
---@field mechanisms? string[] Default `{"PLAIN", "LOGIN"}`.
---@field check fun(user: string, password: string, authzid: string?, server: ratchet.smtp.server): boolean
---@field tls_only? boolean
---@field required? boolean

-- runtime: ratchet.smtp.auth
---Ready-made AUTH (PLAIN, LOGIN) for the server's handlers (`handlers.AUTH = auth.new{...}`).
---@class ratchet.smtp.auth
local auth = {}

---@param options ratchet.smtp.auth.options
---@return ratchet.smtp.auth
function auth.new(options) end

---@param s string
---@return string
function auth.base64_encode(s) end

---nil when `s` is not valid base64.
---@param s string
---@return string?
function auth.base64_decode(s) end

---@private
---@param mechanism string
---@return boolean
function auth:offers(mechanism) end

---@private
---@param server ratchet.smtp.server
---@param line string
---@return string?
function auth.decode_response(server, line) end

---@private
---@async
---@param arg string
---@param server ratchet.smtp.server
---@return ratchet.smtp.reply
function auth:handle(arg, server) end

-- runtime: ratchet.smtp.client
---An SMTP client session over a connected socket.
---@class ratchet.smtp.client
---@field io table With `.socket`.
---@field extensions ratchet.smtp.extensions
---@field recv_queue table
local client = {}

---@param socket ratchet.socket.Socket
---@param iter_size? integer Most message bytes per send (default 65536).
---@return ratchet.smtp.client
function client.new(socket, iter_size) end

---@async
---@return ratchet.smtp.reply
function client:get_banner() end

---@async
---@param name string
---@return ratchet.smtp.reply
function client:ehlo(name) end

---@async
---@param name string
---@return ratchet.smtp.reply
function client:helo(name) end

---Sends STARTTLS; on 220 the caller encrypts and handshakes, then calls `ehlo` again.
---@async
---@return ratchet.smtp.reply
function client:starttls() end

---@async
---@param address string
---@param size? integer
---@param params? string e.g. "BODY=8BITMIME".
---@return ratchet.smtp.reply
function client:mailfrom(address, size, params) end

---@async
---@param address string
---@param params? string
---@return ratchet.smtp.reply
function client:rcptto(address, params) end

---@async
---@return ratchet.smtp.reply
function client:data() end

---Sends the message with dot-stuffing and the final dot.
---@async
---@param data string
---@return ratchet.smtp.reply
function client:send_data(data) end

---@async
---@return ratchet.smtp.reply
function client:send_empty_data() end

---@async
---@param cmd string
---@param arg? string
---@return ratchet.smtp.reply
function client:custom_command(cmd, arg) end

---@async
---@return ratchet.smtp.reply
function client:rset() end

---@async
---@return ratchet.smtp.reply
function client:noop() end

---AUTH PLAIN or LOGIN; returns the final reply (235 on success).
---@async
---@param user string
---@param password string
---@param mechanism? "PLAIN"|"LOGIN"
---@return ratchet.smtp.reply
function client:auth(user, password, mechanism) end

---Sends QUIT, reads the reply, then closes.
---@async
---@return ratchet.smtp.reply
function client:quit() end

function client:close() end
