-- ratchet.http.h2_server: HTTP/2 connections of ratchet.http.server. The protocol is
-- nghttp2's (ratchet.http2 sessions); this file moves the session's bytes over the socket
-- with the socket's ordinary yielding calls and runs each request stream in its own thread
-- with the HTTP/1.1 server's handlers. server.lua hands a connection over in start().
require "ratchet"
local common = require "ratchet.http.common"
local connection = require "ratchet.http.h2_connection"

local http2 = ratchet.http2
local sub, byte = string.sub, string.byte
local type, tostring, pcall, setmetatable, next = type, tostring, pcall, setmetatable, next
local attach, yield = ratchet.thread.attach, ratchet.thread.yield
local NOT_IMPLEMENTED, INTERNAL_SERVER_ERROR = {code = 501}, {code = 500}
local flush, wake_blocked, send_stream = connection.flush, connection.wake_blocked, connection.send_stream

local h2 = {}

local PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
local RECV_SIZE = 65536
local INTERNAL_ERROR = 2

-- Live connections (for goaway()); weak, so a finished connection is not kept.
local live = setmetatable({}, {__mode = "k"})

--- start(self, c, recv, dispatch): called by server.lua when a connection begins. Serves it
-- as HTTP/2 and returns nil when TLS chose "h2" by ALPN or the client sent the HTTP/2
-- connection preface (prior knowledge); else returns the bytes read so far ("" on TLS) for
-- the HTTP/1.1 loop. nil also when the client closed before sending anything.
function h2.start(self, c, recv, dispatch)
    if c.enc then
        if c.enc:get_alpn() ~= "h2" then return "" end
        h2.serve(self, c, "", dispatch)
        return nil
    end
    local buf = recv(c)
    if buf == "" then return nil end
    if byte(buf, 1) ~= 80 then return buf end   -- "P"
    while #buf < 24 and sub(PREFACE, 1, #buf) == buf do
        local d = recv(c, true)
        if d == "" then return nil end
        buf = buf .. d
    end
    if sub(buf, 1, 24) ~= PREFACE then return buf end
    h2.serve(self, c, buf, dispatch)
    return nil
end

-- The session has nothing left to do (GOAWAY exchanged, every stream done): end the read
-- the connection thread is waiting in.
local function finish_if_done(conn)
    local session = conn.session
    if conn.active == 0 and not session:want_read() and not session:want_write() then
        pcall(conn.sock.shutdown, conn.sock, "read")
    end
end

local NO_BODY_STATUS = {[204] = true, [304] = true}

-- A handler's failure goes to on_error (or stderr), as in HTTP/1.1.
local function report(conn, err)
    local server = conn.server
    local on_error = server.options.on_error
    if on_error then pcall(on_error, err, server.from)
    else io.stderr:write("ratchet.http.server: ", tostring(err), "\n") end
end

-- The handler's response to one stream, submitted to the session (a streamed body is sent
-- here, as its pieces come).
local function respond(conn, id, method, path, headers, body)
    local session = conn.session
    -- nghttp2 has checked the pseudo-headers: a request without :path is a CONNECT, which
    -- has no handler here
    local res, code
    if not path then
        res, code = NOT_IMPLEMENTED, 501
    else
        res, code = conn.dispatch(conn.server, method, path, headers, body)
    end
    if code < 200 then
        -- HTTP/2 has no 101 (no Upgrade), and a 1xx is never a final response
        report(conn, "handler for " .. method .. " returned " .. code .. ", which HTTP/2 cannot send as a response")
        res, code = INTERNAL_SERVER_ERROR, 500
    end
    local data = res.data
    if method == "HEAD" or code < 200 or NO_BODY_STATUS[code] then data = nil end
    local hdrs = res.headers
    local date = not (hdrs and (hdrs.date or hdrs.Date or hdrs.DATE)) and common.http_date() or nil
    if type(data) == "function" then
        if session:respond(id, code, hdrs, nil, true, date) then
            flush(conn)
            local sent, failure = pcall(send_stream, conn, id, data)
            if not sent then
                session:reset(id, INTERNAL_ERROR)
                error(failure, 0)
            end
        end
    else
        if data ~= nil and type(data) ~= "string" then data = tostring(data) end
        session:respond(id, code, hdrs, data, false, date)
    end
end

-- One request stream, in its own thread: the handler's response, or RST_STREAM when a
-- streamed body fails after the status went out.
local function run_stream(conn, id, headers, body)
    local method, path = headers[":method"], headers[":path"]
    method, path = method and method[1], path and path[1]
    local authority = headers[":authority"]
    headers[":method"], headers[":path"], headers[":scheme"], headers[":authority"] = nil, nil, nil, nil
    if authority and not headers.host then headers.host = authority end
    setmetatable(headers, common.headers_metatable)
    local ok, err = pcall(respond, conn, id, method, path, headers, body)
    if not ok then
        report(conn, err)
        conn.session:reset(id, INTERNAL_ERROR)
    end
    conn.active = conn.active - 1
    -- The streams that became ready together answer in one send: the first to finish lets
    -- the others run (yield wakes after the run queue drained), then writes for all.
    if not conn.flush_soon then
        conn.flush_soon = true
        yield()
        conn.flush_soon = false
        flush(conn)
    end
    finish_if_done(conn)
end

-- What the session recorded while reading: requests start their threads, refused ones get
-- their status at once.
local function handle_events(conn)
    local session = conn.session
    while true do
        local kind, id, a, b = session:event()
        if not kind then return end
        if kind == "message" then
            conn.active = conn.active + 1
            attach(run_stream, conn, id, a, b)
        elseif kind == "refused" then
            local reason = common.reasons[a]
            session:respond(id, a, {["content-type"] = "text/plain"}, reason .. "\n", false, common.http_date())
        end
    end
end

--- serve(self, c, initial, dispatch): the HTTP/2 connection loop. Reads until the peer
-- closes, the session ends (GOAWAY both ways and no stream left) or, with no stream
-- active, idle_timeout passes.
function h2.serve(self, c, initial, dispatch)
    local opt = self.options
    local session = http2.new("server", {
        max_concurrent_streams = opt.max_streams or 100,
        max_header_list_size = opt.max_header_bytes,
        max_headers = opt.max_headers,
        max_body_bytes = opt.max_body_bytes,
    })
    local sock = c.sock
    local conn = {session = session, sock = sock, server = self, dispatch = dispatch,
                  active = 0, blocked = {}}
    live[conn] = true
    c.stage, c.h2 = "h2", conn
    if c.timeout ~= opt.idle_timeout then sock:set_timeout(opt.idle_timeout); c.timeout = opt.idle_timeout end
    local data = initial
    while true do
        if data ~= "" then
            local ok = session:receive(data)
            handle_events(conn)
            flush(conn)
            wake_blocked(conn)
            if not ok then break end   -- nghttp2 queued a GOAWAY with the error; it went out
        else
            flush(conn)
        end
        if conn.broken or (conn.active == 0 and not session:want_read() and not session:want_write()) then break end
        local ok, d = pcall(sock.recv, sock, RECV_SIZE)
        if not ok then
            -- a silent client is waited for as long as its requests are being answered
            if not (ratchet.error.is(d, "ETIMEDOUT") and conn.active > 0) then
                if ratchet.error.is(d, "ETIMEDOUT") then session:terminate(0); flush(conn) end
                break
            end
            d = ""
        elseif d == "" then
            break
        end
        data = d
    end
    live[conn] = nil
    conn.broken = conn.broken or "closed"
    wake_blocked(conn)
    session:close()
end

-- A graceful stop of one connection: GOAWAY (no new streams), the streams it has are
-- answered, then it closes.
local function stop(conn)
    conn.session:shutdown()
    flush(conn)
    finish_if_done(conn)
end

--- drain(c): a graceful stop of the HTTP/2 connection of server.lua's connection state `c`
-- (for a server's drain on stop or reload); false when `c` is not HTTP/2.
function h2.drain(c)
    local conn = c.h2
    if not conn then return false end
    stop(conn)
    return true
end

--- goaway(): a graceful stop of every HTTP/2 connection of this Lua state.
function h2.goaway()
    for conn in next, live do stop(conn) end
end

return h2
