-- ratchet.http.server: one HTTP/1.1 connection, served by handler objects with a function
-- per method: handlers:GET(uri, headers, data, from) → {code=, message=, headers=, data=}.
-- Persistent connections, pipelining, chunked bodies both ways, limits with proper replies.
require "ratchet"
local common = require "ratchet.http.common"
local server_loop = require "ratchet.server_loop"
local h2 = require "ratchet.http.h2_server"

local find, sub, byte, upper, lower, format = string.find, string.sub, string.byte, string.upper,
    string.lower, string.format
local concat = table.concat
local pcall, type, rawget, tostring, tonumber = pcall, type, rawget, tostring, tonumber
local parse_fields, has_token, reasons, date_line = common.parse_fields, common.has_token,
    common.reasons, common.date_line
local headers_metatable = common.headers_metatable
local lowered, lower_name = common.lowered, common.lower_name
local setmetatable, next = setmetatable, next

local server = {}
server.__index = server

server.defaults = {
    max_header_bytes = 16384,        -- request line plus header block
    max_headers = 100,               -- header fields in one request
    max_body_bytes = 8 * 1024 * 1024,
    idle_timeout = 60,               -- seconds between requests, and per read or write
    header_timeout = 30,             -- seconds to receive a whole request head once it started
}

local RECV_SIZE = 65536
local OUT_PIECES = 512            -- pipelined responses are batched into one send up to this
-- Patterns are tried in their common form first (upper-case method, a header name of
-- letters, digits and "-", a value without control characters), then in the full grammar.
local REQUEST_LINE_FAST = "^(%u+) (%S+) HTTP/(%d%.%d)\r\n()"
local REQUEST_LINE = "^(" .. common.TOKEN .. "+) ([^ \r\n]+) HTTP/(%d%.%d)\r\n()"
local FIELD_FAST = "^([%w%-]+): ?(%C*)\r\n()"
-- A connection ends without a response of ours; the value thrown to leave serve().
local CLOSED = setmetatable({}, {__tostring = function() return "connection closed" end})

--- new(socket, from, handlers, options): the reference argument order.
-- options: max_header_bytes, max_headers, max_body_bytes, idle_timeout, header_timeout,
-- tls (a ratchet.ssl server context: handshake first), on_error(err, from).
local NO_OPTIONS = {}

function server.new(socket, from, handlers, options)
    if type(options) ~= "table" then options = NO_OPTIONS end
    local o = {tls = options.tls, on_error = options.on_error}
    for k, v in pairs(server.defaults) do
        local given = options[k]
        o[k] = type(given) == "number" and given or v
    end
    return setmetatable({socket = socket, from = from, handlers = handlers, options = o}, server)
end

-- Connection state, one table per connection (never per request).
-- stage: "idle" (between requests), "head" (a request is being read or answered), "body"
-- (its body is being read), "respond" (a streamed body is being sent: no reply possible).

local function set_timeout(c, t)
    if t ~= c.timeout then
        c.sock:set_timeout(t)
        c.timeout = t
    end
end

local function send_all(c, data)
    local sock = c.sock
    local rest = sock:send(data)
    while rest do rest = sock:send(rest) end
end

local function flush(c)
    local n = c.nout
    if n > 0 then
        local out = c.out
        local data = n == 1 and out[1] or concat(out, "", 1, n)
        c.nout = 0
        if c.timeout ~= c.wait then set_timeout(c, c.wait) end
        local sock, send = c.sock, c.send
        local rest = send(sock, data)
        while rest do rest = send(sock, rest) end
    end
end

-- One read. While a request head is incomplete the wait is bounded by what is left of the
-- header deadline (on ratchet's monotonic clock), else by `wait`.
local now = ratchet.now
local function recv(c, head_partial)
    if head_partial and c.opt.header_timeout >= 0 then
        local t = now()
        local started = c.head_started
        if not started then started = t; c.head_started = t end
        local left = c.opt.header_timeout - (t - started)
        if left <= 0 then
            error(ratchet.error.new("Timed out reading the request head.", "ETIMEDOUT",
                "ratchet.http.server.handle()"), 0)
        end
        set_timeout(c, left)
    elseif c.timeout ~= c.wait then
        set_timeout(c, c.wait)
    end
    return c.recv(c.sock, RECV_SIZE)
end

-- Makes at least `need` unread bytes available: returns buf, pos, or nil at EOF.
local function fill(c, buf, pos, need)
    local have = #buf - pos + 1
    if have >= need then return buf, pos end
    local parts, n = {sub(buf, pos)}, 1
    while have < need do
        local d = recv(c)
        if d == "" then return nil end
        n = n + 1
        parts[n] = d
        have = have + #d
    end
    return concat(parts, "", 1, n), 1
end

local function error_response(c, code, minor)
    local reason = reasons[code] or "Error"
    local body = reason .. "\n"
    c.nout = c.nout + 1
    c.out[c.nout] = format("HTTP/1.%d %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n" ..
        "Connection: close\r\n%s\r\n%s", minor or 1, code, reason, #body, date_line(), body)
end

-- Answers with an error status and ends the connection after it.
local function fail(c, code, minor)
    error_response(c, code, minor)
    c.linger = true
    flush(c)
    error(CLOSED, 0)
end

-- Reads a chunked body from buf at pos: returns the data, the new buf and pos.
local function read_chunked(c, buf, pos, headers)
    local max = c.opt.max_body_bytes
    local parts, n, total = {}, 0, 0
    while true do
        local _, e, hex = find(buf, "^(%x+)\r\n", pos)
        if not e then _, e, hex = find(buf, "^(%x+)[ \t]*;[^\r\n]*\r\n", pos) end   -- extensions
        if not e then
            if find(buf, "\r\n", pos, true) or #buf - pos > 1024 then fail(c, 400) end
            local d = recv(c)
            if d == "" then error(CLOSED, 0) end
            buf, pos = sub(buf, pos) .. d, 1
        else
            if #hex > 12 then fail(c, 413) end
            local size = tonumber(hex, 16)
            if size == 0 then
                -- trailer fields, then an empty line
                pos = e + 1
                local te = find(buf, "\r\n", pos, true)
                while not te or (te > pos and not find(buf, "\r\n\r\n", pos, true)) do
                    if #buf - pos > c.opt.max_header_bytes then fail(c, 431) end
                    local d = recv(c)
                    if d == "" then error(CLOSED, 0) end
                    buf, pos = sub(buf, pos) .. d, 1
                    te = find(buf, "\r\n", pos, true)
                end
                if te == pos then
                    return concat(parts, "", 1, n), buf, pos + 2
                end
                local stop = find(buf, "\r\n\r\n", pos, true) + 2
                if not parse_fields(buf, pos, stop, headers, c.opt.max_headers) then fail(c, 400) end
                return concat(parts, "", 1, n), buf, stop + 2
            end
            total = total + size
            if total > max then fail(c, 413) end
            pos = e + 1
            buf, pos = fill(c, buf, pos, size + 2)
            if not buf then error(CLOSED, 0) end
            if byte(buf, pos + size) ~= 13 or byte(buf, pos + size + 1) ~= 10 then fail(c, 400) end
            n = n + 1
            parts[n] = sub(buf, pos, pos + size - 1)
            pos = pos + size + 2
        end
    end
end

-- Status lines by version, code and message, built once each (bounded).
local status_lines, nstatus = {[0] = {}, [1] = {}}, 0
local DEFAULT_REASON = {}
local function status_line(minor, code, ncode, message)
    local bycode = status_lines[minor][code]
    local line = bycode and bycode[message or DEFAULT_REASON]
    if line then return line end
    line = format("HTTP/1.%d %s %s\r\n", minor, tostring(code), message or reasons[ncode] or "")
    if nstatus < 512 then
        nstatus = nstatus + 1
        if not bycode then bycode = {}; status_lines[minor][code] = bycode end
        bycode[message or DEFAULT_REASON] = line
    end
    return line
end

-- A cache of make(key) for string and number keys, bounded to 1024 entries. Returns the
-- table (hot paths index it first: `cache[key] or fill(key)`) and the function filling it.
local function bounded_cache(make)
    local cache, n = {}, 0
    return cache, function(key)
        local v = make(key)
        local t = type(key)
        if n < 1024 and (t == "string" or t == "number") then n = n + 1; cache[key] = v end
        return v
    end
end

-- "Content-Length: N\r\n" lines for the sizes seen.
local length_lines, length_line = bounded_cache(function(size) return "Content-Length: " .. size .. "\r\n" end)
-- "Name: " prefixes of response header names.
local prefixes, prefix_of = bounded_cache(function(name) return tostring(name) .. ": " end)

local SPECIAL = {["content-length"] = 1, ["transfer-encoding"] = 2, date = 3, connection = 4}

-- Sends a streamed body: `stream()` returns each piece, nil at the end.
local function send_stream(c, stream, chunked)
    c.stage = "respond"
    flush(c)
    while true do
        local piece = stream()
        if piece == nil then break end
        if type(piece) ~= "string" then piece = tostring(piece) end
        if piece ~= "" then
            if chunked then
                send_all(c, format("%x\r\n", #piece) .. piece .. "\r\n")
            else
                send_all(c, piece)
            end
        end
    end
    if chunked then send_all(c, "0\r\n\r\n") end
end

-- The status line, headers and (unless `head_only`) the body of a handler's response
-- (already checked by dispatch), appended to the output. Returns false if the connection
-- must close after it.
local function add_response(c, res, ncode, minor, head_only, keep)
    local code, message = res.code or 200, res.message
    local bycode = status_lines[minor][code]
    local status = bycode and bycode[message or DEFAULT_REASON] or status_line(minor, code, ncode, message)
    -- the response is built with `..` chains (one allocation each), not a piece table
    local fields = ""
    local has_length, has_te, has_date
    local hdrs = res.headers
    if hdrs then
        for name, values in next, hdrs do
            local prefix = prefixes[name] or prefix_of(name)
            local special = SPECIAL[lowered[name] or lower_name(name)]
            if type(values) == "table" then
                for i = 1, #values do
                    local v = values[i]
                    if type(v) ~= "string" then v = tostring(v) end
                    fields = fields .. prefix .. v .. "\r\n"
                end
            else
                fields = fields .. prefix .. tostring(values) .. "\r\n"
                values = {values}
            end
            if special then
                if special == 1 then has_length = true
                elseif special == 2 then has_te = true
                elseif special == 3 then has_date = true
                elseif has_token(values, "close") then keep = false end
            end
        end
    end
    local data = res.data
    local tdata = type(data)
    local stream
    local framing = ""
    if ncode < 200 or ncode == 204 or ncode == 304 then
        data = nil
    elseif tdata == "function" then
        stream, data = data, nil
        if not has_length and not has_te then
            if minor == 0 then
                keep = false          -- a 1.0 client reads the stream until the connection ends
            else
                framing = "Transfer-Encoding: chunked\r\n"
                has_te = true
            end
        end
    else
        if tdata ~= "string" and data ~= nil then data = tostring(data) end
        if not has_length and not has_te then
            local size = data and #data or 0
            framing = length_lines[size] or length_line(size)
        end
    end
    local date = has_date and "" or date_line()
    local connection = ""
    if not keep then
        connection = "Connection: close\r\n"
    elseif minor == 0 then
        connection = "Connection: keep-alive\r\n"
    end
    local body = ""
    if data and not head_only then
        if #data > 65536 then
            -- a large body goes out on its own rather than copied into the batch
            c.nout = c.nout + 1
            c.out[c.nout] = status .. fields .. framing .. date .. connection .. "\r\n"
            flush(c)
            send_all(c, data)
            return keep
        end
        body = data
    end
    local n = c.nout + 1
    c.out[n] = status .. fields .. framing .. date .. connection .. "\r\n" .. body
    c.nout = n
    if stream and not head_only then send_stream(c, stream, has_te) end
    return keep
end

local function report(self, err)
    local on_error = self.options.on_error
    if on_error then
        pcall(on_error, err, self.from)
    else
        io.stderr:write("ratchet.http.server: ", tostring(err), "\n")
    end
end

local NOT_IMPLEMENTED = {code = 501}
local INTERNAL_ERROR = {code = 500}

-- Calls the handler for the request; returns its response table and numeric status (500 on
-- any failure).
local function dispatch(self, method, uri, headers, data)
    local handlers = self.handlers
    local h = handlers[method]
    if h == nil and find(method, "%l") then h = handlers[upper(method)] end
    if h == nil and method == "HEAD" then h = handlers.GET end
    if h == nil then return NOT_IMPLEMENTED, 501 end
    local ok, res = pcall(h, handlers, uri, headers, data, self.from)
    if not ok then
        report(self, res)
        return INTERNAL_ERROR, 500
    elseif type(res) ~= "table" then
        report(self, "handler for " .. method .. " returned " .. type(res) .. ", not a response table")
        return INTERNAL_ERROR, 500
    end
    local code = res.code
    if code == nil then return res, 200 end
    local ncode = code
    if type(code) ~= "number" then ncode = tonumber(code) end
    if not ncode or ncode < 100 or ncode > 999 or ncode % 1 ~= 0 then
        report(self, "handler for " .. method .. " returned the invalid status code " .. tostring(code))
        return INTERNAL_ERROR, 500
    end
    return res, ncode
end

local FIELD = "^(" .. common.TOKEN .. "+):[ \t]*([^\r\n]*)\r\n()"

-- What the head does not complete: a malformed or oversized start says so at once.
local function check_partial(c, buf, pos, line_end, max_head)
    local line = find(buf, "\r\n", pos, true)
    if line then
        if not line_end then fail(c, 400) end
        if #buf - pos >= max_head then fail(c, 431) end
        -- a bare LF line end would otherwise leave the head incomplete forever
        if find(buf, "[^\r]\n", line_end) then fail(c, 400) end
    elseif #buf - pos >= max_head then
        fail(c, 414)
    elseif find(buf, "\n", pos, true) then
        fail(c, 400)
    end
end

-- Body framing from the request's headers: Content-Length (a number), chunked (true), or
-- neither; answers 400/413/501 for what cannot be framed.
local function framing(c, te, cl, minor, max_body)
    if te then
        if cl or minor == 0 then fail(c, 400, minor) end
        local codings = lower(concat(te, ","))
        if not find(codings, "^[ \t]*chunked[ \t]*$") then
            fail(c, find(codings, "chunked", 1, true) and 400 or 501, minor)
        end
        return nil, true
    end
    local v = cl[1]
    if #cl > 1 or find(v, ",", 1, true) then
        -- repeated Content-Length values are acceptable only if they all agree
        local first = v:match("^[ \t]*([^,]-)[ \t]*$") or v:match("^[ \t]*([^,]-)[ \t]*,")
        for item in concat(cl, ","):gmatch("[^,]+") do
            if item:match("^[ \t]*(.-)[ \t]*$") ~= first then fail(c, 400, minor) end
        end
        v = first
    end
    if not find(v, "^%d+$") then fail(c, 400, minor) end
    if #v > 15 then fail(c, 413, minor) end
    local length = tonumber(v)
    if length > max_body then fail(c, 413, minor) end
    return length
end

-- The connection-takeover hook: a handler's 101 response with `upgrade = function(socket,
-- pending)` (e.g. from ratchet.websocket.accept) gets its head sent, then the function runs
-- in this connection's thread with the socket and the bytes already read past the request.
-- The server reads and writes nothing more; the socket is closed when the function returns.
local function upgrade(c, res, minor, buf, pos)
    add_response(c, res, 101, minor, false, true)
    flush(c)
    c.stage = "upgraded"
    res.upgrade(c.sock, sub(buf, pos))
end

-- The connection loop: parse every complete request in the buffer, answer in order, send
-- the batch, read more.
local function serve(self, c)
    local opt = c.opt
    local max_head, max_headers, max_body = opt.max_header_bytes, opt.max_headers, opt.max_body_bytes
    if opt.tls then
        set_timeout(c, opt.header_timeout)
        c.enc = c.sock:encrypt(opt.tls)
        c.enc:server_handshake()
    end
    -- HTTP/2 (ALPN "h2", or the connection preface on cleartext) is served by h2_server.lua
    local buf, pos = h2.start(self, c, recv, dispatch), 1
    if not buf then return end
    while true do
        if pos > #buf then
            if c.nout > 0 then flush(c) end
            c.stage = "idle"
            buf, pos = recv(c), 1
            if buf == "" then return end
        end
        local _, _, method, uri, version, p = find(buf, REQUEST_LINE_FAST, pos)
        if not method then _, _, method, uri, version, p = find(buf, REQUEST_LINE, pos) end
        local he = find(buf, "\r\n\r\n", pos, true)
        if not method and byte(buf, pos) == 13 and byte(buf, pos + 1) == 10 then
            -- blank lines before a request line are ignored (RFC 9112 2.2)
            pos = pos + 2
            goto continue
        end
        c.stage = "head"
        if not he then
            check_partial(c, buf, pos, p, max_head)
            if c.nout > 0 then flush(c) end
            local d = recv(c, true)
            if d == "" then return end
            buf, pos = sub(buf, pos) .. d, 1
            goto continue
        end
        if not method then
            if find(buf, "\r\n", pos, true) - pos >= max_head then fail(c, 414) end
            fail(c, 400)
        end
        if he + 4 - pos > max_head then fail(c, p - pos > max_head and 414 or 431) end
        if c.head_started then c.head_started = nil end
        if c.wait ~= opt.idle_timeout then c.wait = opt.idle_timeout end
        local minor = 1
        if version ~= "1.1" then
            local major = byte(version, 1)
            if major ~= 49 then fail(c, major == 48 and 400 or 505) end   -- "1", "0"
            if version == "1.0" then minor = 0 end
        end
        do
            -- header fields into a table without a metatable yet, so that plain indexing
            -- below finds what is there and nothing else
            local headers = {}
            local stop, nf = he + 2, 0
            while p < stop do
                local _, _, name, value, nxt = find(buf, FIELD_FAST, p)
                if not nxt then
                    _, _, name, value, nxt = find(buf, FIELD, p)
                    if not nxt then fail(c, 400, minor) end
                end
                local last = byte(value, -1)
                if last == 32 or last == 9 then value = value:match("^(.-)[ \t]+$") end
                nf = nf + 1
                if nf > max_headers then fail(c, 431, minor) end
                local key = lowered[name] or lower_name(name)
                local list = headers[key]
                if list then list[#list + 1] = value else headers[key] = {value} end
                p = nxt
            end
            pos = he + 4
            local conn, te, cl, expect = headers.connection, headers["transfer-encoding"],
                headers["content-length"], headers.expect
            local keep
            if minor == 1 then
                keep = not (conn and has_token(conn, "close"))
                local host = headers.host
                if not host or #host > 1 then fail(c, 400, minor) end
            else
                keep = conn ~= nil and has_token(conn, "keep-alive")
            end
            setmetatable(headers, headers_metatable)
            local length, chunked
            if te or cl then length, chunked = framing(c, te, cl, minor, max_body) end
            if expect then
                if minor == 0 then
                    expect = nil
                elseif #expect > 1 or lower(expect[1]) ~= "100-continue" then
                    fail(c, 417, minor)
                end
            end
            -- the body
            local data
            if length then
                if #buf - pos + 1 < length then
                    c.stage = "body"
                    if expect then
                        c.nout = c.nout + 1
                        c.out[c.nout] = "HTTP/1.1 100 Continue\r\n\r\n"
                    end
                    if c.nout > 0 then flush(c) end
                    buf, pos = fill(c, buf, pos, length)
                    if not buf then return end
                end
                data = sub(buf, pos, pos + length - 1)
                pos = pos + length
            elseif chunked then
                c.stage = "body"
                if expect and pos > #buf then
                    c.nout = c.nout + 1
                    c.out[c.nout] = "HTTP/1.1 100 Continue\r\n\r\n"
                    flush(c)
                end
                data, buf, pos = read_chunked(c, buf, pos, headers)
            end
            -- the response (stage stays "head": nothing of it is sent before send_stream)
            local res, ncode = dispatch(self, method, uri, headers, data)
            if ncode == 101 and res.upgrade then return upgrade(c, res, minor, buf, pos) end
            if not add_response(c, res, ncode, minor, method == "HEAD", keep and not self.draining) then
                c.linger = pos <= #buf
                flush(c)
                return
            end
            if c.nout > OUT_PIECES then flush(c) end
        end
        ::continue::
    end
end

-- After an error reply the client may still be sending: stop writing, read what comes for a
-- moment, so that closing does not reset the connection before the reply is read.
local function linger(c)
    pcall(function()
        c.sock:shutdown("write")
        set_timeout(c, 1)
        local got, deadline = 0, now() + 2
        repeat
            local d = c.sock:recv(RECV_SIZE)
            got = got + #d
        until d == "" or got > 1048576 or now() > deadline
    end)
end

--- handle(): serves requests on the connection until it closes; never raises for what a
-- client does. Also the object's __call, so the server object can be attached as a thread.
function server:handle()
    -- `wait`: the timeout of reads and writes; the first request must come within header_timeout
    -- recv and send are looked up once: they are called for every request
    local sock = self.socket
    local c = {sock = sock, recv = sock.recv, send = sock.send, opt = self.options, out = {}, nout = 0,
               stage = "idle", wait = self.options.header_timeout}
    self.conn = c   -- for drain()
    local ok, err = pcall(serve, self, c)
    if not ok and err ~= CLOSED then
        local quiet = common.is_connection_error(err)
        if not quiet then report(self, err) end
        -- a reply is still owed for a request that was being read or answered
        local code
        if ratchet.error.is(err, "ETIMEDOUT") then
            if c.stage == "head" or c.stage == "body" then code = 408 end
        elseif not quiet and (c.stage == "head" or c.stage == "body") then
            code = 500
        end
        if code then
            -- after the responses still owed to earlier pipelined requests
            pcall(function()
                error_response(c, code)
                c.timeout = nil
                set_timeout(c, 1)
                send_all(c, concat(c.out, "", 1, c.nout))
            end)
            c.linger = true
        end
    end
    if c.linger then linger(c) end
    if c.enc then pcall(c.enc.shutdown, c.enc) end
    pcall(c.sock.close, c.sock)
end

server.__call = server.handle

--- drain(): the stop hook of the accept loop (ratchet.server_loop). An HTTP/2 connection
-- gets GOAWAY and finishes its streams. A request in progress is answered with
-- `Connection: close`; a connection waiting for its next request gets
-- DRAIN_IDLE_GRACE seconds to send one (answered the same way), then closes: closing at
-- once would race with a keep-alive request already on its way.
local DRAIN_IDLE_GRACE = 0.2
function server:drain()
    self.draining = true
    local c = self.conn
    if not c or h2.drain(c) then return end   -- HTTP/2: GOAWAY, the streams finish
    ratchet.thread.attach(function()
        ratchet.thread.timer(DRAIN_IDLE_GRACE)
        if c.stage == "idle" then pcall(c.sock.shutdown, c.sock, "both") end
    end)
end

local BUSY = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n" ..
    "Retry-After: 1\r\nConnection: close\r\n\r\nService Unavailable\n"

--- serve(listener, handlers, options): accepts connections until the listener is closed,
-- each served by its own thread (an extension: the reference left the accept loop to the
-- application). The accept loop is ratchet.server_loop: options also take max_connections
-- (over it: 503 and close), max_connections_per_address and drain_timeout; on a stop
-- (ratchet.worker) it stops accepting and drains every connection.
function server.serve(listener, handlers, options)
    server_loop.run(listener, options, function(client, from)
        return server.new(client, from, handlers, options)
    end, BUSY)
end

ratchet.http = ratchet.http or {}
ratchet.http.server = server
return server
