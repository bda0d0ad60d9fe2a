-- ratchet.http.h2_server: HTTP/2 connections of ratchet.http.server. The protocol is
-- nghttp2's (ratchet.http2 sessions); this file moves the session's bytes over the socket
-- with the socket's ordinary yielding calls, keeps the deadlines of what the client owes,
-- and runs each request stream in a thread of the connection (reused from stream to
-- stream) with the HTTP/1.1 server's handlers. server.lua hands a connection over in
-- start(), or in upgrade() for h2c by Upgrade.
require "ratchet"
local common = require "ratchet.http.common"
local connection = require "ratchet.http.h2_connection"

local http2 = ratchet.http2
local sub, byte = string.sub, string.byte
local type, tostring, pcall, setmetatable, next, ipairs = type, tostring, pcall, setmetatable, next, ipairs
local attach, yield, pause, unpause, kill, self_thread = ratchet.thread.attach, ratchet.thread.yield,
    ratchet.thread.pause, ratchet.thread.unpause, ratchet.thread.kill, ratchet.thread.self
local NOT_IMPLEMENTED, INTERNAL_SERVER_ERROR = {code = 501}, {code = 500}
local TEXT = {["content-type"] = "text/plain"}
local now, is_error = ratchet.now, ratchet.error.is
local flush, wake_blocked, send_stream = connection.flush, connection.wake_blocked, connection.send_stream

local h2 = {}

local PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
local RECV_SIZE = 65536
local INTERNAL_ERROR = 2

-- Live connections (for goaway()); weak, so a finished connection is not kept.
local live = setmetatable({}, {__mode = "k"})

--- start(self, c, io): called by server.lua when a connection begins (c: its connection
-- state, c.deadline: when the first bytes must have come). Serves it as HTTP/2 and returns
-- nil when TLS chose "h2" by ALPN or the client sent the HTTP/2 connection preface (prior
-- knowledge); else returns the bytes read so far ("" on TLS) for the HTTP/1.1 loop. nil also
-- when the client closed before sending anything.
-- io: server.lua's recv(c), dispatch(server, method, path, headers, body), flush(c) (what
-- HTTP/1.1 responses are queued) and set_timeout(c, seconds) (never longer than the timeout
-- the caller gave the socket).
function h2.start(self, c, io)
    if c.enc then
        if c.enc:get_alpn() ~= "h2" then return "" end
        h2.serve(self, c, "", io)
        return nil
    end
    local recv = io.recv
    local buf = recv(c)
    if buf == "" then return nil end
    if byte(buf, 1) ~= 80 then return buf end   -- "P"
    while #buf < 24 and sub(PREFACE, 1, #buf) == buf do
        local d = recv(c)
        if d == "" then return nil end
        buf = buf .. d
    end
    if sub(buf, 1, 24) ~= PREFACE then return buf end
    h2.serve(self, c, buf, io)
    return nil
end

-- A server session with the server's limits.
local function new_session(opt)
    return http2.new("server", {
        max_concurrent_streams = opt.max_streams or 100,
        max_header_list_size = opt.max_header_bytes,
        max_headers = opt.max_headers,
        max_body_bytes = opt.max_body_bytes,
        header_timeout = opt.header_timeout,
        body_timeout = opt.body_timeout,
    })
end

local UPGRADED = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
-- Fields of the HTTP/1.1 request that belong to its connection, not to the request.
local HOP_BY_HOP = {"connection", "upgrade", "http2-settings", "keep-alive", "te", "transfer-encoding"}

--- upgrade(self, c, method, uri, headers, data, rest, io): h2c by Upgrade (RFC 7540 3.2) for
-- a complete HTTP/1.1 request on a cleartext connection (`headers` as parsed, `data` its
-- body, `rest` the bytes read after it): when it asks for h2c (Upgrade: h2c, one
-- HTTP2-Settings, both named in Connection) answers 101, serves the connection as HTTP/2
-- with the request as stream 1, and returns true. Else false: HTTP/1.1 goes on.
function h2.upgrade(self, c, method, uri, headers, data, rest, io)
    local settings, tokens, upgrade = headers["http2-settings"], headers.connection, headers.upgrade
    if c.enc or not (settings and #settings == 1 and tokens and upgrade and common.has_token(upgrade, "h2c")
            and common.has_token(tokens, "upgrade") and common.has_token(tokens, "http2-settings")) then
        return false
    end
    local session = new_session(self.options)
    if not session:upgrade(settings[1], method == "HEAD") then
        session:close()
        return false
    end
    io.flush(c)   -- responses still owed to earlier pipelined requests go first
    io.set_timeout(c, self.options.idle_timeout)
    local sock = c.sock
    local left = sock:send(UPGRADED)
    while left do left = sock:send(left) end
    for _, name in ipairs(HOP_BY_HOP) do headers[name] = nil end
    h2.serve(self, c, rest, io, session, {headers, data, method, uri})
    return true
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

-- One request stream, in a worker thread: the handler's response, or RST_STREAM when a
-- streamed body fails after the status went out.
local function run_stream(conn, id, headers, body, method, path, authority)
    if authority and not headers.host then headers.host = {authority} end
    setmetatable(headers, common.headers_metatable)
    local ok, err = pcall(respond, conn, id, method, path, headers, body)
    if not ok then
        report(conn, err)
        conn.session:reset(id, INTERNAL_ERROR)
    end
    conn.active = conn.active - 1
    if conn.active == 0 then conn.idle_since = now() end
    -- The streams that became ready together answer in one send: the first to finish lets
    -- the others run (yield wakes after the run queue drained), then writes for all.
    if not conn.flush_soon then
        conn.flush_soon = true
        yield()
        conn.flush_soon = false
        flush(conn)
    end
    finish_if_done(conn)
    local waiter = conn.eof_waiter
    if waiter and conn.active == 0 then conn.eof_waiter = nil; unpause(waiter) end
end

-- A thread of the connection that runs one stream after another: when its stream is done
-- it waits (paused, in conn.idle) for the next, so a stream costs no new coroutine. (As
-- with HTTP/1.1, where one thread serves a connection's requests, a handler's thread is
-- the connection's, not its own.) Unpaused with no stream, or killed, it ends.
local function worker(conn, id, headers, body, method, path, authority)
    local idle = conn.idle
    while id do
        run_stream(conn, id, headers, body, method, path, authority)
        if conn.done then return end
        idle[#idle + 1] = self_thread()
        id, headers, body, method, path, authority = pause()
    end
end

-- Starts a stream on an idle worker, or on a new one.
local function start_stream(conn, id, headers, body, method, path, authority)
    conn.active = conn.active + 1
    local idle = conn.idle
    local n = #idle
    if n > 0 then
        local w = idle[n]
        idle[n] = nil
        unpause(w, id, headers, body, method, path, authority)
    else
        attach(worker, conn, id, headers, body, method, path, authority)
    end
end

-- The connection is over: its idle workers end (however serve() ends: a <close> variable).
local END_WORKERS = {__close = function(conn)
    conn.done = true
    local idle = conn.idle
    for i = #idle, 1, -1 do
        kill(idle[i])
        idle[i] = nil
    end
end}

-- What the session recorded while reading: requests start their threads, refused ones get
-- their status at once.
local function handle_events(conn)
    local session = conn.session
    while true do
        local kind, id, a, b, method, path, authority = session:event()
        if not kind then return end
        if kind == "message" then
            start_stream(conn, id, a, b, method, path, authority)
        elseif kind == "refused" then
            local reason = common.reasons[a]
            session:respond(id, a, TEXT, reason .. "\n", false, common.http_date())
        elseif kind == "settings" then
            conn.setup_deadline = nil   -- the connection is set up
        end
    end
end

-- When the next read must end (nil: no limit) and whether the client owes bytes (else
-- handlers are running, and the wait only rechecks: the connection may turn idle
-- meanwhile); false once a deadline has passed and the connection must end. What the
-- client owes has deadlines, total ones however it trickles its bytes: its preface and first SETTINGS (header_timeout from the start), a
-- frame or a request's header block once begun (header_timeout), a request body once its
-- headers came (body_timeout: that stream alone gets 408), and, with nothing being received
-- or answered, the next request (idle_timeout since the connection went idle).
local function read_deadline(conn, t)
    local session = conn.session
    local id, deadline, receiving = session:overdue()
    while id do
        if deadline == "head" then return false end
        -- 408, then RST_STREAM NO_ERROR: the client is to stop sending the body (RFC 9113 8.1)
        if session:respond(id, 408, TEXT, "Request Timeout\n", false, common.http_date()) then
            flush(conn)
            session:reset(id, 0)
            flush(conn)
        end
        id, deadline, receiving = session:overdue()
    end
    local setup = conn.setup_deadline
    if setup and (not deadline or setup < deadline) then deadline = setup end
    local idle_timeout = conn.idle_timeout
    if conn.active == 0 and not receiving then
        local since = conn.idle_since
        if not since then since = t; conn.idle_since = t end
        if idle_timeout >= 0 and (not deadline or since + idle_timeout < deadline) then
            deadline = since + idle_timeout
        end
    else
        conn.idle_since = nil
    end
    if deadline and deadline <= t then return false end
    -- the client owes nothing while handlers run: a wait then only rechecks, at the latest
    -- when the connection would be idle long enough if the last handler ended right now
    local owes = receiving or conn.active == 0 or setup ~= nil
    if not owes and idle_timeout >= 0 and (not deadline or t + idle_timeout < deadline) then
        deadline = t + idle_timeout
    end
    return deadline, owes
end

-- Sends wait at most idle_timeout each (never longer than the socket's own timeout).
local function send_wait(conn)
    conn.set_timeout(conn.c, conn.idle_timeout)
end

--- serve(self, c, initial, io, session, upgraded): the HTTP/2 connection loop (arguments as
-- for start; `initial`: the bytes read so far; `session`, `upgraded`: after an h2c Upgrade,
-- its session and {headers, body, method, uri} of the request that is stream 1). Reads until the peer
-- closes, the session ends (GOAWAY both ways and no stream left), or a deadline passes
-- (read_deadline; then GOAWAY). Every wait is bounded by the socket's own timeout too: when
-- that ends a read the client owed bytes for, the connection ends the same way.
function h2.serve(self, c, initial, io, session, upgraded)
    local opt = self.options
    session = session or new_session(opt)
    local sock = c.sock
    local set_timeout = io.set_timeout
    -- the preface and first SETTINGS come within header_timeout: of the connection's start
    -- (server.lua's deadline), or of the 101 after an Upgrade
    local setup = c.deadline
    if upgraded and opt.header_timeout >= 0 then setup = now() + opt.header_timeout end
    local conn = setmetatable({session = session, sock = sock, server = self, dispatch = io.dispatch,
                  active = 0, blocked = {}, idle = {}, c = c, set_timeout = set_timeout, send_wait = send_wait,
                  idle_timeout = opt.idle_timeout, setup_deadline = setup}, END_WORKERS)
    local _ <close> = conn
    live[conn] = true
    c.stage, c.h2 = "h2", conn
    if upgraded then start_stream(conn, 1, upgraded[1], upgraded[2], upgraded[3], upgraded[4]) end
    local base = c.base
    local data = initial
    local timed_out = false
    -- Unless the client ended first (EOF, or a failed read), the server ends the connection
    -- (a GOAWAY for an error, an idle timeout, a drain) while the client may still be sending:
    -- the rest of an oversized frame, requests already on their way. Closing with unread
    -- input would reset the connection before the client reads the GOAWAY, so the server
    -- lingers, as after an HTTP/1.1 error reply (RFC 9113 6.8: wait before closing).
    c.linger = true
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
        local t = now()
        local deadline, owes = read_deadline(conn, t)
        if deadline == false then timed_out = true; break end
        local wait = deadline and deadline - t or -1
        set_timeout(c, wait)
        local ok, d = pcall(sock.recv, sock, RECV_SIZE)
        if not ok then
            if not is_error(d, "ETIMEDOUT") then c.linger = false; break end
            -- the socket's own timeout, shorter than any deadline, ended a wait for what the
            -- client owes: the connection ends
            if owes and base >= 0 and (wait < 0 or wait > base) then
                timed_out = true
                break
            end
            d = ""
        elseif d == "" then
            -- The client half-closed: the streams it opened are still answered (as HTTP/1.1
            -- answers the requests read before EOF), then the connection ends.
            c.linger = false
            if conn.active > 0 and not conn.broken then
                conn.eof_waiter = self_thread()
                pause()
            end
            -- what the streams queued, also those that ended while this thread read
            flush(conn)
            break
        end
        data = d
    end
    if timed_out then
        session:terminate(0)
        flush(conn)
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
