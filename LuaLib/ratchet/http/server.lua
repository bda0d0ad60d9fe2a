-- ratchet.http.server: one HTTP/1.1 connection, served by handler objects with a function
-- per method: handlers:GET(uri, headers, data, from) → {code=, message=, headers=, data=}.
-- Persistent connections, pipelining, chunked bodies both ways, limits with proper replies.
require "ratchet"
local common = require "ratchet.http.common"

local find, sub, byte, upper, lower, format = string.find, string.sub, string.byte, string.upper,
    string.lower, string.format
local concat = table.concat
local pcall, type, rawget, tostring, tonumber = pcall, type, rawget, tostring, tonumber
local parse_fields, has_token, reasons, date_line = common.parse_fields, common.has_token,
    common.reasons, common.date_line
local headers_metatable = common.headers_metatable

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
local REQUEST_LINE = "^(" .. common.TOKEN .. "+) ([^ \r\n]+) HTTP/(%d)%.(%d)\r\n()"

-- A connection ends without a response of ours; the value thrown to leave serve().
local CLOSED = setmetatable({}, {__tostring = function() return "connection closed" end})

--- new(socket, from, handlers, options): the reference argument order.
-- options: max_header_bytes, max_headers, max_body_bytes, idle_timeout, header_timeout,
-- tls (a ratchet.ssl server context: handshake first), on_error(err, from).
function server.new(socket, from, handlers, options)
    if type(options) ~= "table" then options = nil end
    local o = {}
    for k, v in pairs(server.defaults) do o[k] = (options and options[k]) or v end
    if options then
        o.tls, o.on_error = options.tls, options.on_error
    end
    return setmetatable({socket = socket, from = from, handlers = handlers, options = o}, server)
end

-- Connection state, one table per connection (never per request).
-- stage: "idle" (between requests), "head", "body", "handler", "respond".

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
    if c.nout > 0 then
        local data = concat(c.out, "", 1, c.nout)
        c.nout = 0
        for i = #c.out, 1, -1 do c.out[i] = nil end
        set_timeout(c, c.wait)
        send_all(c, data)
    end
end

-- One read. While a request head is incomplete the wait is bounded by what is left of the
-- header deadline (whole seconds: os.time is the clock Lua has), else by idle_timeout.
local function recv(c, head_partial)
    if head_partial and c.opt.header_timeout >= 0 then
        local now = os.time()
        local started = c.head_started
        if not started then started = now; c.head_started = now end
        local left = c.opt.header_timeout - (now - started)
        if left <= 0 then
            error(ratchet.error.new("Timed out reading the request head.", "ETIMEDOUT",
                "ratchet.http.server.handle()"), 0)
        end
        set_timeout(c, left)
    else
        set_timeout(c, c.wait)
    end
    return c.sock:recv(RECV_SIZE)
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
        local _, e, hex = find(buf, "^(%x+)[ \t]*[^\r\n]*\r\n", pos)
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

-- The status line, headers and (unless `head_only`) the body of a handler's response,
-- appended to the output. Returns false if the connection must close after it.
local function add_response(c, res, minor, head_only, keep)
    local out, n = c.out, c.nout
    local code = res.code or 200
    local ncode = tonumber(code)
    n = n + 1; out[n] = minor == 0 and "HTTP/1.0 " or "HTTP/1.1 "
    n = n + 1; out[n] = code
    n = n + 1; out[n] = " "
    n = n + 1; out[n] = res.message or reasons[ncode] or ""
    n = n + 1; out[n] = "\r\n"
    local has_length, has_te, has_date
    local hdrs = res.headers
    if hdrs then
        for name, values in pairs(hdrs) do
            local lname = common.lower_name(name)
            if lname == "content-length" then has_length = true
            elseif lname == "transfer-encoding" then has_te = true
            elseif lname == "date" then has_date = true
            elseif lname == "connection" then
                if type(values) == "table" then
                    if has_token(values, "close") then keep = false end
                elseif lower(tostring(values)) == "close" then keep = false end
            end
            if type(values) == "table" then
                for i = 1, #values do
                    n = n + 1; out[n] = name
                    n = n + 1; out[n] = ": "
                    n = n + 1; out[n] = tostring(values[i])
                    n = n + 1; out[n] = "\r\n"
                end
            else
                n = n + 1; out[n] = name
                n = n + 1; out[n] = ": "
                n = n + 1; out[n] = tostring(values)
                n = n + 1; out[n] = "\r\n"
            end
        end
    end
    local data = res.data
    local stream
    local bodyless = ncode < 200 or ncode == 204 or ncode == 304
    if bodyless then
        data = nil
    elseif type(data) == "function" then
        stream, data = data, nil
        if not has_length and not has_te then
            if minor == 0 then
                keep = false          -- a 1.0 client reads the stream until the connection ends
            else
                n = n + 1; out[n] = "Transfer-Encoding: chunked\r\n"
                has_te = true
            end
        end
    else
        if data ~= nil and type(data) ~= "string" then data = tostring(data) end
        if not has_length and not has_te then
            n = n + 1; out[n] = "Content-Length: "
            n = n + 1; out[n] = data and #data or 0
            n = n + 1; out[n] = "\r\n"
        end
    end
    if not has_date then n = n + 1; out[n] = date_line() end
    if not keep then
        n = n + 1; out[n] = "Connection: close\r\n"
    elseif minor == 0 then
        n = n + 1; out[n] = "Connection: keep-alive\r\n"
    end
    n = n + 1; out[n] = "\r\n"
    if data and not head_only then
        n = n + 1; out[n] = data
    end
    c.nout = n
    if stream and not head_only then
        c.stage = "respond"
        flush(c)
        local chunked = has_te
        while true do
            local piece = stream()
            if piece == nil then break end
            piece = tostring(piece)
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

-- Calls the handler for the request; returns its response table (500 on any failure).
local function dispatch(self, method, uri, headers, data)
    local handlers = self.handlers
    local h = handlers[method]
    if h == nil and find(method, "%l") then h = handlers[upper(method)] end
    if h == nil and method == "HEAD" then h = handlers.GET end
    if h == nil then return {code = 501, message = "Not Implemented"} end
    local ok, res = pcall(h, handlers, uri, headers, data, self.from)
    if not ok then
        report(self, res)
        return {code = 500}
    elseif type(res) ~= "table" then
        report(self, "handler for " .. method .. " returned " .. type(res) .. ", not a response table")
        return {code = 500}
    end
    local code = tonumber(res.code or 200)
    if not code or code < 100 or code > 999 or code % 1 ~= 0 then
        report(self, "handler for " .. method .. " returned the invalid status code " .. tostring(res.code))
        return {code = 500}
    end
    return res
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
    local buf, pos = "", 1
    while true do
        if pos > #buf then
            flush(c)
            c.stage = "idle"
            buf, pos = recv(c), 1
            if buf == "" then return end
        end
        -- blank lines before a request line are ignored (RFC 9112 2.2)
        while byte(buf, pos) == 13 and byte(buf, pos + 1) == 10 do pos = pos + 2 end
        local he = find(buf, "\r\n\r\n", pos, true)
        local _, _, method, uri, major, minor, line_end = find(buf, REQUEST_LINE, pos)
        if not he then
            -- head incomplete: check what is there, then read more
            if pos > #buf then goto continue end
            c.stage = "head"
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
            flush(c)
            local d = recv(c, true)
            if d == "" then return end
            buf, pos = sub(buf, pos) .. d, 1
            goto continue
        end
        c.stage = "head"
        if not line_end then
            if find(buf, "\r\n", pos, true) - pos >= max_head then fail(c, 414) end
            fail(c, 400)
        end
        if he + 4 - pos > max_head then
            fail(c, line_end - pos > max_head and 414 or 431)
        end
        c.head_started = nil
        c.wait = opt.idle_timeout
        do
            if major ~= "1" then fail(c, major == "0" and 400 or 505) end
            minor = minor == "0" and 0 or 1
            local headers = setmetatable({}, headers_metatable)
            local nf, code = parse_fields(buf, line_end, he + 2, headers, max_headers)
            if not nf then fail(c, code, minor) end
            pos = he + 4
            -- framing, connection and expectations
            local keep
            local conn = rawget(headers, "connection")
            if minor == 1 then
                keep = not (conn and has_token(conn, "close"))
                local host = rawget(headers, "host")
                if not host or #host > 1 then fail(c, 400, minor) end
            else
                keep = conn ~= nil and has_token(conn, "keep-alive")
            end
            local te, cl = rawget(headers, "transfer-encoding"), rawget(headers, "content-length")
            local length, chunked
            if te then
                if cl or minor == 0 then fail(c, 400, minor) end
                local codings = lower(concat(te, ","))
                if not find(codings, "^[ \t]*chunked[ \t]*$") then
                    fail(c, find(codings, "chunked", 1, true) and 400 or 501, minor)
                end
                chunked = true
            elseif cl then
                local v = cl[1]
                if #cl > 1 or find(v, ",", 1, true) then
                    -- repeated Content-Length fields are acceptable only if they all agree
                    for item in concat(cl, ","):gmatch("[^,]+") do
                        item = item:match("^[ \t]*(.-)[ \t]*$")
                        if item ~= v:match("^[ \t]*([^,]-)[ \t]*$") then fail(c, 400, minor) end
                    end
                    v = v:match("^[ \t]*([^,]-)[ \t]*$")
                end
                if not find(v, "^%d+$") then fail(c, 400, minor) end
                if #v > 15 then fail(c, 413, minor) end
                length = tonumber(v)
                if length > max_body then fail(c, 413, minor) end
            end
            local expect = rawget(headers, "expect")
            if expect and minor == 1 then
                if lower(expect[1]) ~= "100-continue" or #expect > 1 then fail(c, 417, minor) end
            else
                expect = nil
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
                    flush(c)
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
            -- the response
            c.stage = "handler"
            local head_only = method == "HEAD"
            local res = dispatch(self, method, uri, headers, data)
            c.stage = "respond"
            keep = add_response(c, res, minor, head_only, keep)
            if not keep then
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
        local got = 0
        repeat
            local d = c.sock:recv(RECV_SIZE)
            got = got + #d
        until d == "" or got > 1048576
    end)
end

--- handle(): serves requests on the connection until it closes; never raises for what a
-- client does. Also the object's __call, so the server object can be attached as a thread.
function server:handle()
    -- `wait`: the timeout of reads and writes; the first request must come within header_timeout
    local c = {sock = self.socket, opt = self.options, out = {}, nout = 0, stage = "idle",
               wait = self.options.header_timeout}
    local ok, err = pcall(serve, self, c)
    if not ok and err ~= CLOSED then
        local quiet = common.is_connection_error(err)
        if not quiet then report(self, err) end
        -- a reply is still owed for a request that was being read or answered
        local code
        if ratchet.error.is(err, "ETIMEDOUT") then
            if c.stage == "head" or c.stage == "body" then code = 408 end
        elseif not quiet and (c.stage == "head" or c.stage == "body" or c.stage == "handler") then
            code = 500
        end
        if code then
            c.nout = 0
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

--- serve(listener, handlers, options): accepts connections forever, each served by its own
-- thread (an extension: the reference left the accept loop to the application).
function server.serve(listener, handlers, options)
    while true do
        local client, from = listener:accept()
        ratchet.thread.attach(server.new(client, from, handlers, options))
    end
end

ratchet.http = ratchet.http or {}
ratchet.http.server = server
return server
