-- ratchet.http.server: one HTTP/1.1 connection, served by handler objects with a function
-- per method: handlers:GET(uri, headers, data, from) → {code=, message=, headers=, data=}.
-- Persistent connections, pipelining, chunked bodies both ways, limits with proper replies.
require "ratchet"
local common = require "ratchet.http.common"
local server_loop = require "ratchet.server_loop"
local h2 = require "ratchet.http.h2_server"

local find, sub, byte, lower, format = string.find, string.sub, string.byte, string.lower, string.format
local concat = table.concat
local pcall, type, rawget, tostring, tonumber = pcall, type, rawget, tostring, tonumber
local parse_fields, reasons, date_line = common.parse_fields, common.reasons, common.date_line
local headers_metatable = common.headers_metatable
local setmetatable, next = setmetatable, next
-- request heads into Lua tables and response heads into strings, natively (Sources/Ratchet/HTTP)
local parse_head, build_head = ratchet.httpwire.parse_request_head, ratchet.httpwire.build_response_head

local server = {}
server.__index = server

server.defaults = {
    max_header_bytes = 16384,        -- request line plus header block
    max_headers = 100,               -- header fields in one request
    max_body_bytes = 8 * 1024 * 1024,
    idle_timeout = 60,               -- seconds between requests, and per read or write
    header_timeout = 30,             -- seconds to receive a whole request head once it started
    body_timeout = 120,              -- seconds to receive a whole request body once its head came
}

-- 16 KiB: a request head and a small body come in one read, and a larger body goes from the
-- kernel straight into its own buffer (RequestBody.swift) instead of first into a 64 KiB read
-- copied again (callgrind, 64 KB POST: 340,000 → 204,000 instructions per request)
local RECV_SIZE = 16384
local OUT_PIECES = 512            -- pipelined responses are batched into one send up to this
-- The request line, for heads not complete yet (complete ones are parsed natively, with the
-- same rule). The target is visible ASCII only, as in h11 (no controls, NUL or raw bytes
-- above 0x7E).
local REQUEST_LINE = "^(" .. common.TOKEN .. "+) ([!-~]+) HTTP/(%d%.%d)\r\n()"
-- A connection ends without a response of ours; the value thrown to leave serve().
local CLOSED = setmetatable({}, {__tostring = function() return "connection closed" end})

--- new(socket, from, handlers, options): the reference argument order.
-- options: max_header_bytes, max_headers, max_body_bytes, idle_timeout, header_timeout,
-- body_timeout, tls (a ratchet.ssl server context: handshake first), on_error(err, from).
local NO_OPTIONS = {}
-- The limits that are counts: whole numbers, math.huge for none (the native parts take
-- integers).
local COUNTS = {max_header_bytes = true, max_headers = true, max_body_bytes = true}

function server.new(socket, from, handlers, options)
    if type(options) ~= "table" then options = NO_OPTIONS end
    local o = {tls = options.tls, on_error = options.on_error}
    for k, v in pairs(server.defaults) do
        local given = options[k]
        if type(given) == "number" and given == given then   -- not NaN
            if COUNTS[k] then given = given >= math.maxinteger and math.maxinteger or math.floor(given) end
            o[k] = given
        else
            o[k] = v
        end
    end
    return setmetatable({socket = socket, from = from, handlers = handlers, options = o}, server)
end

-- Connection state, one table per connection (never per request).
-- stage: "idle" (between requests), "head" (a request is being read or answered), "body"
-- (its body is being read), "respond" (a streamed body is being sent: no reply possible).

-- Sets the wait of the next reads and writes: `t` (negative: none), but never longer than
-- the timeout the caller gave the socket (c.base), which bounds every wait.
local function set_timeout(c, t)
    local base = c.base
    if base >= 0 and (t < 0 or t > base) then t = base end
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

-- Sets the socket's timeout for the next wait. While a request head or body is being
-- received (c.deadline set, on ratchet's monotonic clock) the wait is bounded by what is left
-- of its deadline — a head's alone, a body's and by `wait` — else by `wait`.
local now = ratchet.now
local function bound_wait(c)
    local deadline = c.deadline
    if deadline then
        local left = deadline - now()
        if left <= 0 then
            error(ratchet.error.new(c.stage == "body" and "Timed out reading the request body." or
                "Timed out reading the request head.", "ETIMEDOUT", "ratchet.http.server.handle()"), 0)
        end
        local wait = c.wait
        if c.stage == "body" and wait >= 0 and wait < left then left = wait end
        set_timeout(c, left)
    elseif c.timeout ~= c.wait then
        set_timeout(c, c.wait)
    end
end

-- One read.
local function recv(c)
    bound_wait(c)
    return c.recv(c.sock, RECV_SIZE)
end

-- Starts the deadline of what is being received (`seconds` negative: none).
local function start_deadline(c, seconds)
    if seconds >= 0 then c.deadline = now() + seconds end
end

-- The first n strings of parts joined. Up to four (a 64 KB body usually comes in three or
-- four reads) with one `..` expression: Lua copies them straight into the new string, where
-- table.concat copies through a growing buffer (three copies of a large body, and three
-- times the garbage).
local function join(parts, n)
    if n == 1 then return parts[1] end
    if n == 2 then return parts[1] .. parts[2] end
    if n == 3 then return parts[1] .. parts[2] .. parts[3] end
    if n == 4 then return parts[1] .. parts[2] .. parts[3] .. parts[4] end
    return concat(parts, "", 1, n)
end

-- `first` and what is received after it until there are at least `need` bytes, joined
-- once; nil at EOF.
local function gather(c, first, need)
    local parts, n, have = {first}, 1, #first
    while have < need do
        local d = recv(c)
        if d == "" then return nil end
        n = n + 1
        parts[n] = d
        have = have + #d
    end
    return join(parts, n)
end

-- Makes at least `need` unread bytes available: returns buf, pos, or nil at EOF.
local function fill(c, buf, pos, need)
    if #buf - pos + 1 >= need then return buf, pos end
    local all = gather(c, sub(buf, pos), need)
    if not all then return nil end
    return all, 1
end

-- A Content-Length body not complete in buf (from pos): returns it and what follows it (buf,
-- pos), or nil at EOF. Received natively into one buffer of the body's size (RequestBody.swift:
-- each wait bounded as recv bounds it, the deadline checked before each wait); through recv
-- on an encrypted or traced socket, the pieces joined once, into the body itself when nothing
-- follows.
local receive_body = ratchet.httpwire.receive_body
local function read_body(c, buf, pos, length)
    bound_wait(c)
    local body, rest = receive_body(c.sock, buf, pos, length, c.deadline, RECV_SIZE)
    if body then return body, rest, 1 end
    if body == nil then return nil end
    local all = gather(c, sub(buf, pos), length)
    if not all then return nil end
    if #all == length then return all, "", 1 end
    return sub(all, 1, length), all, length + 1
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

-- The trailer section after the last chunk, up to its empty line: returns buf and the position
-- after it. Each read is scanned once (a section dribbled in costs linear time).
local function read_trailers(c, buf, pos, fields, head_bytes)
    local left = c.opt.max_header_bytes - head_bytes
    local from = pos
    while true do
        if byte(buf, pos) == 13 and byte(buf, pos + 1) == 10 then return buf, pos + 2 end
        local stop = find(buf, "\r\n\r\n", from, true)
        if stop then
            if stop + 4 - pos > left then fail(c, 431) end
            if find(sub(buf, pos, stop), "[\0\f\v]") then fail(c, 400) end
            local ok, code = parse_fields(buf, pos, stop + 2, {}, c.opt.max_headers - fields)
            if not ok then fail(c, code) end
            return buf, stop + 4
        end
        if #buf - pos >= left then fail(c, 431) end
        local d = recv(c)
        if d == "" then error(CLOSED, 0) end
        buf, pos = sub(buf, pos) .. d, 1
        from = #buf - #d - 2
        if from < 1 then from = 1 end
    end
end

-- Appends `piece` to a body held as a few strings of falling sizes (each more than twice the
-- next): memory stays near the body's own size however small its pieces are (a table slot
-- per piece cost ~20 bytes for each one-byte chunk), and copying is O(n log n).
local function append_piece(parts, n, piece)
    n = n + 1
    parts[n] = piece
    while n > 1 and #parts[n] * 2 >= #parts[n - 1] do
        parts[n - 1] = parts[n - 1] .. parts[n]
        parts[n] = nil
        n = n - 1
    end
    return n
end

-- Reads a chunked body from buf at pos: returns the data, the new buf and pos. Trailer fields
-- are checked and counted with the head against max_headers and max_header_bytes (`fields`
-- and `head_bytes` of the head so far), but not merged into the request's headers: a
-- trailer must not pass for a header (RFC 9110 6.5.1).
local function read_chunked(c, buf, pos, fields, head_bytes)
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
            -- h11's rule: at most 20 hex digits, leading zeros allowed
            if #hex > 20 then fail(c, 400) end
            if #hex > 12 and #hex:match("^0*(.*)$") > 12 then fail(c, 413) end
            local size = tonumber(hex, 16)
            if size == 0 then
                pos = e + 1
                return concat(parts, "", 1, n), read_trailers(c, buf, pos, fields, head_bytes)
            end
            total = total + size
            if total > max then fail(c, 413) end
            pos = e + 1
            buf, pos = fill(c, buf, pos, size + 2)
            if not buf then error(CLOSED, 0) end
            if byte(buf, pos + size) ~= 13 or byte(buf, pos + size + 1) ~= 10 then fail(c, 400) end
            n = append_piece(parts, n, sub(buf, pos, pos + size - 1))
            pos = pos + size + 2
        end
    end
end

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

-- Header values converted with tostring, for the rare response whose names or values are
-- neither strings nor numbers (tostring may run metamethods: not in native code).
local function stringified(hdrs)
    local out = {}
    for name, values in next, hdrs do
        local list = {}
        if type(values) == "table" then
            for i = 1, #values do list[i] = tostring(values[i]) end
        else
            list[1] = tostring(values)
        end
        out[tostring(name)] = list
    end
    return out
end

-- The status line, headers and (unless `head_only`) the body of a handler's response
-- (already checked by dispatch), appended to the output. Returns false if the connection
-- must close after it; nil and a message (nothing appended) if the response would split
-- (CR, LF or NUL in its reason, names or values).
-- `direct`: nothing more is waiting to be answered, so with nothing queued either the head
-- goes out at once from native code (build_head with the socket), never a Lua string.
local function add_response(c, res, ncode, minor, head_only, keep, direct)
    local data = res.data
    if ncode < 200 or ncode == 204 or ncode == 304 then data = nil end   -- nor framing: the builder knows
    -- the status line shows the checked number: a code given as 200.0 or " 201" is written 200 and 201
    local code, message, hdrs = ncode, res.message or reasons[ncode] or "", res.headers
    local sock = direct and c.nout == 0 and c.sock or nil
    local head, kept, chunked = build_head(minor, code, message, hdrs, data, keep, head_only, nil, sock)
    if head == false then
        -- values the native code leaves to tostring (metamethods may run)
        if type(message) ~= "string" then message = tostring(message) end
        local t = type(data)
        if t ~= "string" and t ~= "function" and data ~= nil then data = tostring(data) end
        head, kept, chunked = build_head(minor, code, message, hdrs and stringified(hdrs), data, keep, head_only,
            nil, sock)
    end
    if not head then return nil, kept end   -- kept: what would split
    keep = kept
    if head ~= "" then   -- what a direct send left over goes first
        local n = c.nout + 1
        c.out[n] = head
        c.nout = n
    end
    if not head_only then
        if chunked ~= nil then
            send_stream(c, data, chunked)
        elseif data and #data > 65536 then
            -- a large body goes out on its own rather than copied into the batch
            flush(c)
            send_all(c, data)
        end
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

-- Request methods that may reach a handler: names in upper case ("GET", "VERSION-CONTROL"),
-- matched case-sensitively (RFC 9110 9.1: "get" is not GET). Other names of the handler
-- object (its helpers, and what it inherits, like slimta's edge:halt()) are not methods.
local nmethods = 0
local methods = setmetatable({}, {__index = function(t, method)
    local ok = find(method, "^[%u%d_%-]+$") ~= nil and find(method, "%u") ~= nil
    if nmethods < 256 then nmethods = nmethods + 1; rawset(t, method, ok) end   -- bounded
    return ok
end})

-- Valid status codes as handlers give them (100 to 999, and as strings) → the number: one
-- table lookup instead of type checks and tonumber on every response.
local status_codes = {}
for i = 100, 999 do status_codes[i] = i; status_codes[tostring(i)] = i end

local NOT_IMPLEMENTED = {code = 501}
local INTERNAL_ERROR = {code = 500}

-- A handler's outcome (as from pcall) → the response table and numeric status (500 on any
-- failure).
local function checked(self, method, ok, res)
    if not ok then
        report(self, res)
        return INTERNAL_ERROR, 500
    elseif type(res) ~= "table" then
        report(self, "handler for " .. method .. " returned " .. type(res) .. ", not a response table")
        return INTERNAL_ERROR, 500
    end
    local code = res.code
    if code == nil then return res, 200 end
    local ncode = status_codes[code]
    if ncode then return res, ncode end
    ncode = code
    if type(code) ~= "number" then ncode = tonumber(code) end
    if not ncode or ncode < 100 or ncode > 999 or ncode % 1 ~= 0 then
        report(self, "handler for " .. method .. " returned the invalid status code " .. tostring(code))
        return INTERNAL_ERROR, 500
    end
    return res, ncode
end

-- Calls the handler for the request; returns its response table and numeric status.
local function dispatch(self, method, uri, headers, data)
    local handlers = self.handlers
    local h = methods[method] and handlers[method]
    if h == nil and method == "HEAD" then h = handlers.GET end
    if not h then return NOT_IMPLEMENTED, 501 end
    return checked(self, method, pcall(h, handlers, uri, headers, data, self.from))
end

-- Reads the rest of a request head that starts at buf[pos] and is not complete: returns the
-- buffer holding it from its start, or nil at EOF. What cannot become a valid head within the
-- limit is answered at once (a line ending in a bare LF, a request line that cannot match,
-- 414 or 431). Each read is scanned once, with the 3 bytes before it, and the pieces are
-- joined only when the head is complete: a head sent a byte per packet costs linear time.
local function read_head(c, buf, pos, max_head)
    local first = sub(buf, pos)
    local parts, n, have = {first}, 1, #first
    local window = first
    local line_seen = false
    if byte(first, 1) == 10 then fail(c, 400) end
    if c.nout > 0 then flush(c) end
    if not c.deadline then start_deadline(c, c.opt.header_timeout) end
    while true do
        if find(window, "[^\r]\n") then fail(c, 400) end
        if not line_seen and find(window, "\r\n", 1, true) then
            line_seen = true
            local head = concat(parts, "", 1, n)
            parts, n = {head}, 1
            if not find(head, REQUEST_LINE) then fail(c, 400) end
        end
        if find(window, "\r\n\r\n", 1, true) then return concat(parts, "", 1, n) end
        if have >= max_head then fail(c, line_seen and 431 or 414) end
        local d = recv(c)
        if d == "" then return nil end
        window = sub(window, -3) .. d
        n = n + 1
        parts[n] = d
        have = have + #d
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
    if #v > 15 and #v:match("^0*(.*)$") > 15 then fail(c, 413, minor) end   -- leading zeros pass (h11)
    local length = tonumber(v)
    if length > max_body then fail(c, 413, minor) end
    return length
end

-- The connection-takeover hook: a handler's 101 response with `upgrade = function(socket,
-- pending)` (e.g. from ratchet.websocket.accept) gets its head sent, then the function runs
-- in this connection's thread with the socket and the bytes already read past the request.
-- The server reads and writes nothing more; the socket is closed when the function returns.
local function upgrade(self, c, res, minor, buf, pos)
    local kept, refused = add_response(c, res, 101, minor, false, true)
    if kept == nil then
        report(self, "handler's 101 response would split: " .. refused)
        add_response(c, INTERNAL_ERROR, 500, minor, false, false)
        flush(c)
        return
    end
    flush(c)
    c.stage = "upgraded"
    res.upgrade(c.sock, sub(buf, pos))
end

-- Sends the response of a request read up to buf[pos]: false when the connection ends
-- after it (closed, or taken over by an upgrade).
local function answer(self, c, res, ncode, method, minor, keep, buf, pos)
    if ncode == 101 and res.upgrade then upgrade(self, c, res, minor, buf, pos); return false end
    local head_only = method == "HEAD"
    keep = keep and not self.draining
    local direct = pos > #buf
    local kept, refused = add_response(c, res, ncode, minor, head_only, keep, direct)
    if kept == nil then
        report(self, "handler for " .. method .. " returned a response that would split: " .. refused)
        kept = add_response(c, INTERNAL_ERROR, 500, minor, head_only, keep, direct)
    end
    if not kept then
        c.linger = pos <= #buf
        flush(c)
        return false
    end
    if c.nout > OUT_PIECES then flush(c) end
    return true
end

-- The common request is served by the native loop (Sources/Ratchet/HTTP/ConnectionLoop.swift)
-- once the connection waits for its next request with nothing pending; it returns here for
-- everything else, at the point it reached, and is called again once that is done. → the
-- next bytes to parse ("" when the client closed), or nil when the connection ends.
local serve_requests = ratchet.httpwire.serve_requests
local function serve_natively(self, c)
    local opt = c.opt
    while true do
        if c.nout > 0 then flush(c) end
        c.stage = "idle"
        if c.timeout ~= c.wait then set_timeout(c, c.wait) end
        local r, ok, res, method, minor, keep = serve_requests(c.sock, self, self.handlers, self.from, c,
            opt.max_header_bytes, opt.max_headers, opt.max_body_bytes, headers_metatable, reasons, RECV_SIZE)
        if r == nil then
            -- a handler's response it left to this code (stage "head": nothing of it was sent)
            local checked_res, ncode = checked(self, method, ok, res)
            if not answer(self, c, checked_res, ncode, method, minor, keep, "", 1) then return nil end
        elseif r == true then
            -- a response that did not fit the socket at once, or ends the connection
            if #ok > 0 then
                c.nout = c.nout + 1
                c.out[c.nout] = ok
            end
            flush(c)
            if not res then return nil end
        elseif r == false then
            c.native = false   -- encrypted or traced: the Lua loop alone from here
            return recv(c)
        else
            return r
        end
    end
end

-- What h2_server.lua uses of this file.
local h2_io = {recv = recv, dispatch = dispatch, flush = flush, set_timeout = set_timeout}

-- The connection loop: parse every complete request in the buffer, answer in order, send
-- the batch, read more.
local function serve(self, c)
    local opt = c.opt
    local max_head, max_headers, max_body = opt.max_header_bytes, opt.max_headers, opt.max_body_bytes
    if opt.tls then
        -- The socket timeout bounds a TLS call in all, however slowly the client sends.
        set_timeout(c, opt.header_timeout)
        c.enc = c.sock:encrypt(opt.tls)
        c.enc:server_handshake()
    end
    -- HTTP/2 (ALPN "h2", or the connection preface on cleartext) is served by h2_server.lua
    -- (the first bytes, an HTTP/2 preface included, come within header_timeout in all)
    start_deadline(c, opt.header_timeout)
    local buf, pos = h2.start(self, c, h2_io), 1
    c.deadline = nil
    if not buf then return end
    local sock, sock_recv = c.sock, c.recv
    while true do
        if pos > #buf then
            if c.nout > 0 then flush(c) end
            c.stage = "idle"
            if c.native and not c.deadline and c.wait == opt.idle_timeout then
                buf = serve_natively(self, c)
                if not buf then return end
            -- recv(c) without the call when no deadline runs and the timeout is set already
            elseif c.deadline or c.timeout ~= c.wait then buf = recv(c) else buf = sock_recv(sock, RECV_SIZE) end
            pos = 1
            if buf == "" then return end
        end
        local method, uri, minor, headers, nxt, nfields, keep, special =
            parse_head(buf, pos, max_head, max_headers, headers_metatable)
        if not method then
            if method == nil then fail(c, uri, minor) end
            -- incomplete (after any blank lines, which are ignored: RFC 9112 2.2)
            pos = uri
            if pos <= #buf then
                c.stage = "head"
                buf, pos = read_head(c, buf, pos, max_head), 1
                if not buf then return end
            end
            goto continue
        end
        c.stage = "head"
        if c.deadline then c.deadline = nil end
        if c.wait ~= opt.idle_timeout then c.wait = opt.idle_timeout end
        do
            local head_bytes = nxt - pos
            pos = nxt
            -- keep-alive was decided by the parser; a head with body framing, Expect or a
            -- missing or repeated Host is checked here
            local length, chunked, expect
            if special then
                -- the header table has no metatable yet: plain indexing finds what is there only
                local te, cl = headers["transfer-encoding"], headers["content-length"]
                expect = headers.expect
                if minor == 1 then
                    local host = headers.host
                    if not host or #host > 1 then fail(c, 400, minor) end   -- a comma in it: the parser's 400
                end
                setmetatable(headers, headers_metatable)
                if te or cl then length, chunked = framing(c, te, cl, minor, max_body) end
                if expect then
                    if minor == 0 then
                        expect = nil
                    elseif #expect > 1 or lower(expect[1]) ~= "100-continue" then
                        fail(c, 417, minor)
                    end
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
                    start_deadline(c, opt.body_timeout)
                    data, buf, pos = read_body(c, buf, pos, length)
                    if not data then return end
                    c.deadline = nil
                else
                    data = sub(buf, pos, pos + length - 1)
                    pos = pos + length
                end
            elseif chunked then
                c.stage = "body"
                if expect and pos > #buf then
                    c.nout = c.nout + 1
                    c.out[c.nout] = "HTTP/1.1 100 Continue\r\n\r\n"
                    flush(c)
                end
                start_deadline(c, opt.body_timeout)
                data, buf, pos = read_chunked(c, buf, pos, nfields, head_bytes)
                c.deadline = nil
            end
            -- h2c by Upgrade: HTTP/2 from here on, this request its stream 1 (h2_server.lua)
            if rawget(headers, "upgrade") and h2.upgrade(self, c, method, uri, headers, data, sub(buf, pos), h2_io) then
                return
            end
            -- the response (stage stays "head": nothing of it is sent before send_stream)
            local res, ncode = dispatch(self, method, uri, headers, data)
            if not answer(self, c, res, ncode, method, minor, keep, buf, pos) then return end
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
    -- `base`: the caller's own timeout on the socket (negative: none)
    local sock = self.socket
    -- `native`: the common request may be served by the native loop (serve_natively)
    local c = {sock = sock, recv = sock.recv, send = sock.send, opt = self.options, out = {}, nout = 0,
               stage = "idle", wait = self.options.header_timeout, base = sock:get_timeout(), native = true}
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
