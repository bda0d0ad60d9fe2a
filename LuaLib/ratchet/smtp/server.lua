-- ratchet.smtp.server: one SMTP/ESMTP server session over an accepted socket, driven
-- by a table of handler callbacks (see docs/smtp.md).

require "ratchet"

local data_reader = require "ratchet.smtp.data_reader"
local smtp_io = require "ratchet.smtp.smtp_io"
local smtp_extensions = require "ratchet.smtp.smtp_extensions"

ratchet.smtp = ratchet.smtp or {}
local server = {}
server.__index = server
ratchet.smtp.server = server

-- RFC 5321 4.5.3.1.4: a command line is at most 512 octets, a text line 1000; commands
-- with ESMTP parameters grow, so commands get the text-line limit.
local DEFAULT_MAX_LINE = 1000
local DEFAULT_MAX_ERRORS = 10
-- RFC 5321 4.5.3.2.7: the server waits at least 5 minutes for the next command. That
-- is also the most a whole command line may take (a client dribbling a byte before each
-- read timeout would otherwise hold the session for ever).
local DEFAULT_IDLE_TIMEOUT = 300
-- Once its allowance (command_timeout) is used, a message must come at least this fast
-- (octets per second), Postfix's smtpd_min_data_rate default.
local DEFAULT_MIN_DATA_RATE = 500
-- Without a limit a message is buffered whole; 35 MiB is what large providers accept.
local DEFAULT_MAX_MESSAGE_SIZE = 35 * 1024 * 1024
-- Bytes that never belong in a domain, address or parameter: controls other than TAB.
-- Refusing them keeps NUL and bare CR out of replies and of what handlers log or write
-- (a Received: header).
local CONTROL = "[%z\1-\8\10-\31\127]"

-- Errors that only mean the peer went away: the session ends quietly.
local QUIET_ERRORS = { "ECONNCLOSED", "SSLERROR", "SSLEOF", "ECONNRESET", "EPIPE", "ENOTCONN" }

-- Handler names that are callbacks, never commands a client may call (the original
-- answered a client's "BANNER" with the greeting again).
local NOT_COMMANDS = { BANNER = true, CLOSE = true, HAVE_DATA = true, DATA_CHUNK = true }

local commands = {}

--- new(socket, handlers, tls_context, tls_immediately, options). `options` is an
-- extension beyond the original: max_message_size (advertised as SIZE and enforced;
-- default 35 MiB, 0 or false for none), max_line, max_errors, idle_timeout and
-- command_timeout (seconds), min_data_rate (octets per second).
function server.new(socket, handlers, tls_context, tls_immediately, options)
    local self = setmetatable({}, server)
    options = options or {}
    self.handlers = handlers or {}
    self.io = smtp_io.new(socket)
    -- RFC 5321 2.3.8: lines end in CRLF. A bare LF is how SMTP smuggling splits commands.
    self.io.forbid_bare_lf = true
    self.tls_context = tls_context
    self.tls_immediately = tls_immediately

    self.max_line = options.max_line or DEFAULT_MAX_LINE
    self.max_errors = options.max_errors or DEFAULT_MAX_ERRORS
    self.idle_timeout = options.idle_timeout
    self.command_timeout = options.command_timeout or math.max(options.idle_timeout or 0, DEFAULT_IDLE_TIMEOUT)
    self.min_data_rate = options.min_data_rate or DEFAULT_MIN_DATA_RATE
    self.errors = 0

    local ext = smtp_extensions.new()
    self.extensions = ext
    local max_size = options.max_message_size
    if max_size == nil then max_size = DEFAULT_MAX_MESSAGE_SIZE end
    if max_size and max_size > 0 then ext:add("SIZE", tostring(math.floor(max_size))) end
    ext:add("8BITMIME")
    ext:add("PIPELINING")
    ext:add("ENHANCEDSTATUSCODES")
    ext:add("SMTPUTF8")
    ext:add("CHUNKING")
    if tls_context and not tls_immediately then ext:add("STARTTLS") end
    self:advertise_auth()
    return self
end

-- A ready-made ratchet.smtp.auth handler advertises itself (after TLS if it asks so).
function server:advertise_auth()
    local auth = self.handlers.AUTH
    if type(auth) == "table" and rawget(auth, "mechanisms") and not self.extensions:has("AUTH")
        and (not auth.tls_only or self.using_tls) then
        self.extensions:add("AUTH", auth)
    end
end

--- The message size limit in force (nil: none). HELO hides SIZE from the extensions
-- but not from enforcement.
function server:size_limit()
    local size = self.extensions:has("SIZE")
    if size == nil and self.helo_saved then size = self.helo_saved:has("SIZE") end
    size = tonumber(size)
    if size and size > 0 then return size end
end

-- {{{ replies

--- Sends `reply` ({code, message, enhanced_status_code}) with its enhanced status code
-- (RFC 3463) in front of every line, for reply classes 2, 4 and 5. A "d.d.d " prefix
-- of the message is taken as the code unless the field is set: the field wins.
function server:send_ESC_reply(reply)
    local code = tostring(reply.code)
    local message = tostring(reply.message or "")
    local esc = reply.enhanced_status_code
    local class = code:sub(1, 1)

    local message_esc, rest = message:match("^([245]%.%d%d?%d?%.%d%d?%d?)%s(.*)$")
    if message_esc then
        message = rest
        esc = esc or message_esc
    end

    if class == "2" or class == "4" or class == "5" then
        local subject, detail = tostring(esc or ""):match("^[245]%.(%d%d?%d?)%.(%d%d?%d?)$")
        if not subject then subject, detail = "0", "0" end
        esc = class .. "." .. subject .. "." .. detail
        message = esc .. " " .. message:gsub("\r?\n", "%0" .. esc .. " ")
    end

    self.io:send_reply(code, message)
end

local function send_error(self, code, esc, default, message)
    self.errors = self.errors + 1
    self:send_ESC_reply({ code = code, message = message or default, enhanced_status_code = esc })
    self.io:flush_send()
end

function server:unknown_command(command, arg, message)
    send_error(self, "500", "5.5.2", "Syntax error, command unrecognized", message)
end

function server:unknown_parameter(command, arg, message)
    send_error(self, "504", "5.5.4", "Command parameter not implemented", message)
end

function server:bad_sequence(command, arg, message)
    send_error(self, "503", "5.5.1", "Bad sequence of commands", message)
end

function server:bad_arguments(command, arg, message)
    send_error(self, "501", "5.5.4", "Syntax error in parameters or arguments", message)
end

function server:line_too_long(message)
    send_error(self, "500", "5.5.2", "Line too long", message)
end

function server:bare_newline(message)
    send_error(self, "500", "5.5.2", "Bare <LF> received, lines end with <CR><LF>", message)
end

function server:timed_out(command, arg, message)
    self:send_ESC_reply({ code = "421", message = message or "Connection timed out.",
        enhanced_status_code = "4.4.2" })
    self.io:flush_send()
end

function server:unhandled_error(command, arg, message)
    self:send_ESC_reply({ code = "421", message = message or "Unhandled system error.",
        enhanced_status_code = "4.3.0" })
    self.io:flush_send()
end

function server:shutting_down(message)
    self:send_ESC_reply({ code = "421", message = message or "Service shutting down",
        enhanced_status_code = "4.3.2" })
    self.io:flush_send()
end

function server:too_many_errors(message)
    self:send_ESC_reply({ code = "421", message = message or "Too many errors, closing connection.",
        enhanced_status_code = "4.7.0" })
    self.io:flush_send()
end

-- }}}

local function reset_transaction(self)
    self.have_mailfrom = nil
    self.have_rcptto = nil
    self.bdat = nil
end

--- Ends the session: the CLOSE handler (once), then TLS shutdown and socket close.
function server:close()
    if self.closed then return end
    self.closed = true
    if self.handlers.CLOSE then
        self.handlers:CLOSE()
    end
    pcall(self.io.flush_send, self.io)
    pcall(self.io.close, self.io)
end

-- The greeting, RFC 5321 4.3.1: "220 <domain> ...", the domain being this host's name.
local function send_banner(self)
    local reply = { code = "220",
        message = ratchet.socket.gethostname() .. " ESMTP ratchet SMTP server " .. tostring(ratchet.version) }
    if self.handlers.BANNER then
        self.handlers:BANNER(reply)
    end
    self.io:send_reply(reply.code, reply.message)
    self.io:flush_send()
end

-- {{{ built-in commands

function commands.EHLO(self, ehlo_as)
    if ehlo_as == "" or ehlo_as:find(CONTROL) then return self:bad_arguments("EHLO", ehlo_as) end
    local reply = { code = "250", message = "Hello " .. ehlo_as }
    if self.handlers.EHLO then
        self.handlers:EHLO(reply, ehlo_as)
    end
    local ok = tostring(reply.code) == "250"
    if ok and self.helo_saved then
        -- What HELO took away comes back with EHLO.
        for name, param in self.helo_saved:each() do
            if not self.extensions:has(name) then self.extensions:add(name, param) end
        end
        self.helo_saved = nil
    end
    local message = ok and self.extensions:build_string(reply.message) or reply.message
    self.io:send_reply(reply.code, message)
    if ok then
        reset_transaction(self)
        self.ehlo_as = ehlo_as
    end
end

function commands.HELO(self, helo_as)
    if helo_as == "" or helo_as:find(CONTROL) then return self:bad_arguments("HELO", helo_as) end
    local reply = { code = "250", message = "Hello " .. helo_as }
    if self.handlers.EHLO then
        self.handlers:EHLO(reply, helo_as, true)
    end
    self.io:send_reply(reply.code, reply.message)
    if tostring(reply.code) == "250" then
        reset_transaction(self)
        -- A HELO session has no extensions (RFC 5321 4.1.1.1).
        if not self.helo_saved then self.helo_saved = self.extensions:copy() end
        self.extensions:reset()
        self.ehlo_as = helo_as
    end
end

function commands.STARTTLS(self, arg)
    if not self.extensions:has("STARTTLS") then
        return self:unknown_command("STARTTLS", arg)
    elseif not self.tls_context then
        error("SSL context required.")
    end
    if arg ~= "" then return self:bad_arguments("STARTTLS", arg) end
    if not self.ehlo_as then return self:bad_sequence("STARTTLS", arg) end

    local reply = { code = "220", message = "Go ahead", enhanced_status_code = "2.7.0" }
    if self.handlers.STARTTLS then
        self.handlers:STARTTLS(reply, self.extensions)
    end
    self:send_ESC_reply(reply)
    self.io:flush_send()

    if tostring(reply.code) == "220" then
        -- Plain-text bytes pipelined behind STARTTLS must not count as encrypted
        -- commands (the CVE-2011-0411 injection).
        self.io.recv_buffer = ""
        local enc = self.io.socket:encrypt(self.tls_context)
        enc:server_handshake()
        self.using_tls = true
        self.ehlo_as = nil
        reset_transaction(self)
        self.extensions:drop("STARTTLS")
        self:advertise_auth()
    end
end

-- The address between "<" and ">" (a ">" inside a quoted local part does not count),
-- and the rest of the argument after it.
local function parse_path(arg, keyword)
    local start = arg:match("^" .. keyword .. ":%s*<()")
    if not start then return nil end
    local i = start
    local len = #arg
    local quoted = false
    while i <= len do
        local c = arg:sub(i, i)
        if c == "\\" and quoted then
            i = i + 1
        elseif c == '"' then
            quoted = not quoted
        elseif c == ">" and not quoted then
            return arg:sub(start, i - 1), arg:sub(i + 1)
        end
        i = i + 1
    end
end

-- ESMTP parameters "KEY=VALUE KEY2 ..." as a list of {key (upper-cased), value}.
local function parse_params(rest)
    if rest ~= "" and not rest:match("^%s") then return nil end
    local params = {}
    for word in rest:gmatch("%S+") do
        local key, value = word:match("^([%w][%w%-]*)=?(.*)$")
        if not key then return nil end
        params[#params + 1] = { key:upper(), value }
    end
    return params
end

function commands.MAIL(self, arg)
    if arg:find(CONTROL) then return self:bad_arguments("MAIL", arg) end
    local address, rest = parse_path(arg, "[fF][rR][oO][mM]")
    local params = address and parse_params(rest)
    if not params then return self:bad_arguments("MAIL", arg) end
    if not self.ehlo_as then return self:bad_sequence("MAIL", arg) end
    if self.have_mailfrom then return self:bad_sequence("MAIL", arg, "Sender already given") end
    local auth = self.handlers.AUTH
    if type(auth) == "table" and rawget(auth, "required") and not self.authenticated then
        return send_error(self, "530", "5.7.0", "Authentication required")
    end

    for _, p in ipairs(params) do
        local key, value = p[1], p[2]
        if key == "SIZE" then
            local max_size = self.extensions:has("SIZE")
            if not max_size then return self:unknown_parameter("MAIL", arg) end
            local size = value:match("^%d+$") and tonumber(value)
            if not size then return self:bad_arguments("MAIL", arg) end
            local limit = self:size_limit()
            if limit and size > limit then
                self:send_ESC_reply({ code = "552", message = "Message size exceeds " .. tostring(max_size) .. " limit",
                    enhanced_status_code = "5.3.4" })
                return
            end
        elseif key == "BODY" then
            local body = value:upper()
            if body == "8BITMIME" then
                if not self.extensions:has("8BITMIME") then return self:unknown_parameter("MAIL", arg) end
            elseif body ~= "7BIT" then
                return self:unknown_parameter("MAIL", arg)
            end
        elseif key == "SMTPUTF8" then
            if not self.extensions:has("SMTPUTF8") then return self:unknown_parameter("MAIL", arg) end
        end
        -- Other parameters are ignored, as in the original.
    end

    local reply = { code = "250", message = "Sender <" .. address .. "> Ok", enhanced_status_code = "2.1.0" }
    if self.handlers.MAIL then
        self.handlers:MAIL(reply, address)
    end
    self:send_ESC_reply(reply)
    self.have_mailfrom = self.have_mailfrom or (tostring(reply.code) == "250")
end

function commands.RCPT(self, arg)
    if arg:find(CONTROL) then return self:bad_arguments("RCPT", arg) end
    local address, rest = parse_path(arg, "[tT][oO]")
    if not address or not parse_params(rest) then return self:bad_arguments("RCPT", arg) end
    if not self.have_mailfrom then return self:bad_sequence("RCPT", arg) end

    local reply = { code = "250", message = "Recipient <" .. address .. "> Ok", enhanced_status_code = "2.1.5" }
    if self.handlers.RCPT then
        self.handlers:RCPT(reply, address)
    end
    self:send_ESC_reply(reply)
    self.have_rcptto = self.have_rcptto or (tostring(reply.code) == "250")
end

-- A reader of the message that streams it to the DATA_CHUNK handler when there is one
-- (`discard`: a BDAT chunk to drop), paced by command_timeout and min_data_rate.
local function message_reader(self, discard)
    local sink
    if self.handlers.DATA_CHUNK and not discard then
        sink = function(piece) self.handlers:DATA_CHUNK(piece) end
    end
    local pace = { allowance = self.command_timeout, min_rate = self.min_data_rate }
    return data_reader.new(self.io, discard and 1 or self:size_limit(), sink, pace)
end

-- After a whole message (DATA, or the LAST BDAT chunk): HAVE_DATA and the final reply.
local function deliver(self, data, err)
    local reply
    if err then
        reply = { code = "552", message = "Message size exceeds " .. tostring(self:size_limit()) .. " limit",
            enhanced_status_code = "5.3.4" }
    else
        reply = { code = "250", message = "Message Accepted for Delivery", enhanced_status_code = "2.6.0" }
    end
    if self.handlers.HAVE_DATA then
        self.handlers:HAVE_DATA(reply, data, err)
    end
    self:send_ESC_reply(reply)
    reset_transaction(self)
end

function commands.DATA(self, arg)
    if arg ~= "" then return self:bad_arguments("DATA", arg) end
    if not self.have_mailfrom then
        return self:bad_sequence("DATA", arg, "No valid sender given")
    elseif not self.have_rcptto then
        return self:bad_sequence("DATA", arg, "No valid recipients given")
    elseif self.bdat then
        return self:bad_sequence("DATA", arg, "DATA not allowed after BDAT")
    end

    local reply = { code = "354", message = "Start mail input; end with <CRLF>.<CRLF>" }
    if self.handlers.DATA then
        self.handlers:DATA(reply)
    end
    self:send_ESC_reply(reply)
    self.io:flush_send()

    if tostring(reply.code) == "354" then
        local data, err = message_reader(self):recv()
        deliver(self, data, err)
    end
end

-- RFC 3030 CHUNKING: "BDAT size [LAST]", followed by exactly `size` octets.
function commands.BDAT(self, arg)
    if not self.extensions:has("CHUNKING") then return self:unknown_command("BDAT", arg) end
    local size, last = arg:match("^(%d+)%s*(%a*)$")
    size = size and #size <= 15 and tonumber(size)
    if not size or (last ~= "" and last:upper() ~= "LAST") then
        return self:bad_arguments("BDAT", arg)
    end
    last = last ~= ""

    local refusal
    if not self.have_mailfrom then
        refusal = function() self:bad_sequence("BDAT", arg, "No valid sender given") end
    elseif not self.have_rcptto then
        refusal = function() self:bad_sequence("BDAT", arg, "No valid recipients given") end
    elseif not self.bdat then
        local reply = { code = "354", message = "Start mail input" }
        if self.handlers.DATA then
            self.handlers:DATA(reply)
        end
        if tostring(reply.code) == "354" then
            self.bdat = message_reader(self)
        else
            refusal = function() self:send_ESC_reply(reply) end
        end
    end

    if refusal then
        -- The chunk is on its way regardless; it is read and dropped.
        message_reader(self, true):recv_chunk(size)
        return refusal()
    end

    local reader = self.bdat
    reader:recv_chunk(size)
    if last then
        deliver(self, reader:finish_chunks())
    elseif reader.too_big then
        self:send_ESC_reply({ code = "552", message = "Message size exceeds " .. tostring(self:size_limit()) .. " limit",
            enhanced_status_code = "5.3.4" })
    else
        self:send_ESC_reply({ code = "250", message = size .. " octets received", enhanced_status_code = "2.0.0" })
    end
end

function commands.RSET(self, arg)
    if arg ~= "" then return self:bad_arguments("RSET", arg) end
    local reply = { code = "250", message = "Ok", enhanced_status_code = "2.0.0" }
    if self.handlers.RSET then
        self.handlers:RSET(reply)
    end
    self:send_ESC_reply(reply)
    if tostring(reply.code) == "250" then
        reset_transaction(self)
    end
end

function commands.NOOP(self)
    local reply = { code = "250", message = "Ok", enhanced_status_code = "2.0.0" }
    if self.handlers.NOOP then
        self.handlers:NOOP(reply)
    end
    self:send_ESC_reply(reply)
end

function commands.QUIT(self, arg)
    if arg ~= "" then
        -- As in the original: the argument is refused and the session ends anyway.
        self:bad_arguments("QUIT", arg)
        return self:close()
    end
    local reply = { code = "221", message = "Bye", enhanced_status_code = "2.0.0" }
    if self.handlers.QUIT then
        self.handlers:QUIT(reply)
    end
    self:send_ESC_reply(reply)
    self.io:flush_send()
    self:close()
end

-- }}}

-- handlers:CMD(arg, server); a returned reply table is sent (with its enhanced status
-- code if it has one), nil sends nothing.
local function custom_command(self, command, arg)
    local reply = self.handlers[command](self.handlers, arg, self)
    if type(reply) == "table" then
        if reply.enhanced_status_code then
            self:send_ESC_reply(reply)
        else
            self.io:send_reply(reply.code, reply.message)
        end
    end
end

local function handle_session(self)
    local sock = self.io.socket
    if sock.set_timeout then
        if self.idle_timeout then
            sock:set_timeout(self.idle_timeout)
        elseif sock.get_timeout and sock:get_timeout() < 0 then
            sock:set_timeout(DEFAULT_IDLE_TIMEOUT)
        end
    end

    if self.tls_immediately and self.tls_context then
        if self.handlers.STARTTLS then
            self.handlers:STARTTLS({}, self.extensions)
        end
        local enc = sock:encrypt(self.tls_context)
        enc:server_handshake()
        self.using_tls = true
        self:advertise_auth()
    end

    send_banner(self)

    local command
    repeat
        local arg
        self.idle = true      -- waiting for a command: drain() may end the session now
        command, arg = self.io:recv_command(self.max_line, self.command_timeout)
        self.idle = false
        if not command then
            if arg == "bare LF" then self:bare_newline() else self:line_too_long() end
        elseif commands[command] then
            commands[command](self, arg)
        elseif not NOT_COMMANDS[command] and self.handlers[command] then
            custom_command(self, command, arg)
        else
            self:unknown_command(command, arg)
        end
        if self.errors >= self.max_errors and not self.closed then
            self:too_many_errors()
            break
        end
        if self.draining and not self.closed then
            if command ~= "QUIT" then self:shutting_down() end
            break
        end
    until command == "QUIT" or self.closed
end

-- ratchet.error.is, but safe for any error value (nil included).
local function is_code(err, code)
    if type(err) == "table" then return err.type == "ratchet_error" and err.code == code end
    return err == code
end

local function is_quiet(err)
    for _, code in ipairs(QUIET_ERRORS) do
        if is_code(err, code) then return true end
    end
    return false
end

--- Runs the session to its end (also `server()`). A timeout is answered 421 4.4.2 and a
-- vanished peer ends it quietly; any other error is answered 421 4.3.0 and re-raised.
function server:handle()
    local ok, err = pcall(handle_session, self)
    if not ok then
        if is_code(err, "ETIMEDOUT") then
            pcall(self.timed_out, self)
        elseif not is_quiet(err) then
            pcall(self.unhandled_error, self)
            pcall(self.close, self)
            error(err, 0)
        end
    end
    pcall(self.close, self)
end

server.__call = server.handle

--- drain(): the stop hook of the accept loop (ratchet.server_loop). A session waiting for a
-- command gets `421 4.3.2 Service shutting down` and ends now; one in the middle of a
-- command (DATA included) finishes it, then gets the 421.
function server:drain()
    self.draining = true
    if self.idle and not self.closed then
        pcall(self.shutting_down, self)
        local sock = self.io.socket
        -- the session's own read then ends quietly at end of file
        if sock.shutdown then pcall(sock.shutdown, sock, "both") end
    end
end

local BUSY = "421 4.7.0 Too many connections\r\n"

--- serve(listener, handlers, options): accepts connections until the listener is closed,
-- one session thread each (ratchet.server_loop). `handlers` is a table (shared by every
-- session) or a function(from) returning one per session. options: those of new()
-- (max_message_size, max_line, max_errors, idle_timeout), tls (a server context) with
-- tls_immediately, and the accept loop's max_connections (over it: 421 4.7.0 and close),
-- max_connections_per_address, drain_timeout. On a stop (ratchet.worker) it stops
-- accepting and drains every session.
function server.serve(listener, handlers, options)
    options = options or {}
    local server_loop = require "ratchet.server_loop"
    server_loop.run(listener, options, function(client, from)
        local h = handlers
        if type(h) == "function" then h = h(from) end
        local session = server.new(client, h, options.tls, options.tls_immediately, options)
        session.from = from
        return session
    end, BUSY)
end

return server
