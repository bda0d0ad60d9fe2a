-- ratchet.http.h2_client: HTTP/2 for ratchet.http.client.fetch. One connection per origin
-- carries the requests of every thread at once (a stream each); a reader thread runs while
-- any request waits, delivering responses to the threads that sent them. The protocol is
-- nghttp2's (ratchet.http2 sessions); the bytes go over the socket's yielding calls.
require "ratchet"
local common = require "ratchet.http.common"
local connection = require "ratchet.http.h2_connection"
local client = require "ratchet.http.client"

local http2 = ratchet.http2
local type, tostring, pcall, setmetatable, next, tonumber, ipairs = type, tostring, pcall,
    setmetatable, next, tonumber, ipairs
local attach, attach_background, self_thread, pause, unpause, kill, timer = ratchet.thread.attach,
    ratchet.thread.attach_background, ratchet.thread.self, ratchet.thread.pause, ratchet.thread.unpause,
    ratchet.thread.kill, ratchet.thread.timer
local now, is_error, huge, max = ratchet.now, ratchet.error.is, math.huge, math.max
local flush, wake_blocked, send_stream = connection.flush, connection.wake_blocked, connection.send_stream

local M = {}

local RECV_SIZE = 65536
local REFUSED_STREAM, CANCEL = 7, 8
local ALPN = {"h2", "http/1.1"}

-- The running kernel's open HTTP/2 connections by origin and TLS settings (in its
-- kernel_space): no kernel uses another's, and each connection is closed when its kernel's
-- loop() ends (idle_closer).
local POOL = {}
local function kernel_pool()
    local space = ratchet.thread.kernel_space()
    local p = space[POOL]
    if not p then p = {}; space[POOL] = p end
    return p
end

local function closed_error(what)
    return ratchet.error.new(what, "ECONNCLOSED", "ratchet.http.client.fetch()")
end

-- The connection has no request left: it is idle from now (see idle_closer).
local function count_done(conn)
    conn.pending = conn.pending - 1
    if conn.pending == 0 then conn.idle_since = now() end
end

-- A request is over: its thread goes on with st.headers/st.body or st.err.
local function finish(conn, st)
    if st.done then return end
    st.done = true
    count_done(conn)
    if st.waiting then
        st.waiting = false
        unpause(st.thread)
    end
end

-- The earliest deadline of the requests waiting on the connection (nil: none).
local function earliest(conn)
    local first
    for _, st in next, conn.streams do
        local d = st.deadline
        if d and not st.done and (not first or d < first) then first = d end
    end
    return first
end

-- Requests past their deadline at `t` fail with ETIMEDOUT; their streams are cancelled.
local function expire(conn, t)
    for id, st in next, conn.streams do
        if not st.done and st.deadline and st.deadline <= t then
            st.err = client.timed_out(st.url)
            conn.session:reset(id, CANCEL)
            finish(conn, st)
        end
    end
end

-- Sends wait at most until the earliest request deadline.
local function send_wait(conn)
    local d = earliest(conn)
    if d then
        d = d - now()
        if d < 0 then d = 0 end
    end
    conn.sock:set_timeout(d or -1)
end

-- The connection is unusable: every request still waiting fails (and may be retried on a
-- new connection if nothing of its response came), the socket closes.
local function drop(conn, err)
    conn.broken = conn.broken or err
    local pool = conn.pool
    if pool[conn.key] == conn then pool[conn.key] = nil end
    for _, st in next, conn.streams do
        if not st.done then
            st.err, st.retry = err, true
            finish(conn, st)
        end
    end
    wake_blocked(conn)
    if not conn.writing then
        pcall(conn.sock.close, conn.sock)
        conn.session:close()
    end
end

local function handle_events(conn)
    local session = conn.session
    while true do
        local kind, id, a, b, status = session:event()
        if not kind then return end
        local st = conn.streams[id]
        if kind == "message" and st then
            st.headers, st.body, st.status = a, b, status
            finish(conn, st)
        elseif kind == "reset" and st then
            st.err = closed_error("HTTP/2 stream reset by the server (error code " .. a .. ")")
            st.retry = a == REFUSED_STREAM
            finish(conn, st)
        elseif kind == "refused" and st then
            st.err = closed_error("HTTP/2 response over the client's limits (" .. a .. ")")
            finish(conn, st)
        elseif kind == "goaway" then
            -- no new requests here; nghttp2 resets the streams above `id` (REFUSED_STREAM)
            if conn.pool[conn.key] == conn then conn.pool[conn.key] = nil end
        end
    end
end

-- The reader: runs while requests wait for their responses, then ends (an idle pooled
-- connection has no thread, so it does not keep the kernel running). Each read waits at
-- most until the earliest request deadline (rearm replaces a reader that waits longer).
local function reader(conn)
    local session, sock = conn.session, conn.sock
    while conn.pending > 0 and not conn.broken do
        local t = now()
        local deadline = earliest(conn)
        if deadline and deadline <= t then
            expire(conn, t)
            flush(conn)
            wake_blocked(conn)
        else
            sock:set_timeout(deadline and deadline - t or -1)
            conn.read_until, conn.in_recv = deadline or huge, true
            local ok, d = pcall(sock.recv, sock, RECV_SIZE)
            conn.in_recv = false
            if not ok then
                if not is_error(d, "ETIMEDOUT") then drop(conn, d); break end
            elseif d == "" then
                drop(conn, closed_error("HTTP/2 connection closed by the server"))
                break
            else
                local fine, why = session:receive(d)
                handle_events(conn)
                flush(conn)
                wake_blocked(conn)
                if not fine then drop(conn, closed_error("HTTP/2 protocol error: " .. tostring(why))); break end
                if conn.broken then drop(conn, conn.broken); break end
            end
        end
    end
    conn.reader = nil
end

-- Keeps the reader's wait right: a reader waiting in recv longer than the earliest request
-- deadline, or with no request left, is replaced or stopped (it holds nothing between
-- reads: killing it in recv loses nothing); a reader is started while requests wait.
local function rearm(conn)
    local r = conn.reader
    if r and conn.in_recv and r ~= self_thread() then
        local d = earliest(conn)
        if conn.pending == 0 or (d and d < conn.read_until) then
            conn.reader, conn.in_recv = nil, false
            kill(r)
        end
    end
    if conn.pending > 0 and not conn.reader and not conn.broken then conn.reader = attach(reader, conn) end
end

-- A request whose thread was killed while it waited: its stream is cancelled at once
-- (RST_STREAM CANCEL, sent by a thread of its own: this one is ending), and the reader
-- stops waiting for it (else the reader would keep the kernel running).
local ABANDON = {__close = function(st)
    if st.done then return end
    local conn = st.conn
    st.done = true
    count_done(conn)
    conn.streams[st.id] = nil
    conn.blocked[st.id] = nil
    conn.session:reset(st.id, CANCEL)
    if not conn.broken then attach(flush, conn) end
    rearm(conn)
end}

-- An idle connection (no request for the pool's idle_timeout) is closed, and so is any
-- connection still open when its kernel's loop() ends (this background thread is then
-- killed, closing `guard`): no descriptor outlives its kernel.
local CLOSE_WITH_KERNEL = {__close = function(guard)
    drop(guard.conn, closed_error("HTTP/2 connection closed: idle"))
end}

local function idle_closer(conn, seconds)
    local _ <close> = setmetatable({conn = conn}, CLOSE_WITH_KERNEL)
    while not conn.broken do
        local wait = seconds
        if conn.pending == 0 then
            wait = conn.idle_since + seconds - now()
            if wait <= 0 then return end
        end
        timer(wait)
    end
end

-- Sends one request on the connection and waits for its response: the stream's record
-- {headers, body} or {err, retry}; nil when the connection takes no new stream.
local function exchange(conn, method, path, headers, data, deadline, url)
    local streamed = type(data) == "function"
    local body = data
    if streamed then body = nil elseif body ~= nil and type(body) ~= "string" then body = tostring(body) end
    if conn.broken then return nil end
    local id = conn.session:request(method, conn.scheme, conn.authority, path, headers, body, streamed)
    if not id then return nil end
    local st = setmetatable({thread = self_thread(), conn = conn, id = id, deadline = deadline, url = url}, ABANDON)
    local _ <close> = st
    conn.streams[id] = st
    conn.pending = conn.pending + 1
    rearm(conn)
    flush(conn)
    if streamed then
        local ok, err = pcall(send_stream, conn, id, data)
        if not ok then
            conn.session:reset(id, CANCEL)
            flush(conn)
            st.err = err
            finish(conn, st)
            rearm(conn)
        end
    end
    if not st.done then
        st.waiting = true
        pause()
    end
    conn.streams[id] = nil
    if conn.broken and not conn.reader then drop(conn, conn.broken) end
    return st
end

-- A new HTTP/2 connection over a connected (and, for https, handshaken) client `c`; idle,
-- it is closed after the pool's idle_timeout.
local function open(pool, c, key, scheme, options, the_pool)
    local conn = {
        pool = pool, key = key, sock = c.socket, scheme = scheme, authority = c.host,
        session = http2.new("client", {
            max_header_list_size = options.max_header_bytes or client.defaults.max_header_bytes,
            max_body_bytes = options.max_body_bytes or client.defaults.max_body_bytes,
        }),
        streams = {}, pending = 0, blocked = {}, idle_since = now(), send_wait = send_wait,
    }
    pool[key] = conn
    attach_background(idle_closer, conn, (the_pool or client.default_pool).idle_timeout)
    return conn
end

-- Waits until the thread connecting to the origin is done (or the deadline passes: then
-- fetch's loop raises ETIMEDOUT).
local function wait_for_connection(connecting, deadline)
    local waiters = connecting.waiters
    local n = #waiters + 1
    waiters[n] = self_thread()
    local ok, err = pcall(pause, deadline and max(deadline - now(), 0))
    if not ok then
        waiters[n] = false   -- not to be unpaused later, by then waiting for something else
        if not is_error(err, "ETIMEDOUT") then error(err, 0) end
    end
end

-- Origins whose server did not choose h2 by ALPN: their requests go straight to HTTP/1.1
-- (bounded: a client of endless origins forgets them).
local http1, nhttp1 = {}, 0

--- fetch(url, method, headers, data, options, pool, deadline): the request over HTTP/2 when
-- it applies → code, message, headers, body; otherwise nothing (fetch goes on with HTTP/1.1;
-- a TLS connection made here whose server chose HTTP/1.1 is left in `pool` for it).
-- HTTP/2 applies to https URLs (offered by ALPN) and, with options.http2 = "prior_knowledge",
-- to http URLs (h2c: the server must speak HTTP/2 without asking). `deadline` (ratchet.now()
-- clock, from options.timeout) bounds the whole request: ETIMEDOUT past it.
function M.fetch(url, method, headers, data, options, the_pool, deadline)
    local scheme, host, port, path = client.parse_url(url)
    if scheme == "http" and options.http2 ~= "prior_knowledge" then return end
    local key = client.pool_key(scheme, host, port, options)
    if http1[key] then return end
    local pool = kernel_pool()
    local attempt = 0
    while attempt < 3 do
        if deadline and now() >= deadline then error(client.timed_out(url), 0) end
        local conn = pool[key]
        local reused = conn ~= nil
        if conn and conn.connecting then
            -- another thread is connecting to the origin: wait for its connection
            wait_for_connection(conn, deadline)
            goto continue
        end
        attempt = attempt + 1
        if not conn then
            local o = setmetatable({}, {__index = options})
            if scheme == "https" and not (options.ssl_context or options.tls) then
                o.ssl_context = client.tls_context(options, ALPN)
            end
            local connecting = {connecting = true, waiters = {}}
            pool[key] = connecting
            local ok, c = pcall(client.open, url, o, false, deadline)
            pool[key] = nil
            if ok and (scheme == "http" or c.socket:get_encryption():get_alpn() == "h2") then
                conn = open(pool, c, key, scheme, options, the_pool)
            elseif ok then
                if nhttp1 < 1024 then http1[key] = true; nhttp1 = nhttp1 + 1 end
            end
            for _, waiter in ipairs(connecting.waiters) do
                if waiter then pcall(unpause, waiter) end
            end
            if not ok then error(c, 0) end
            if not conn then
                if the_pool then
                    c.keep_alive, c.pool_key = true, key
                    the_pool:put(c)
                else
                    c:close()
                end
                return
            end
        end
        local st = exchange(conn, method, path, headers, data, deadline, url)
        if st and not st.err then
            local h = st.headers
            local code = tonumber(st.status)
            return code, common.reasons[code] or "", setmetatable(h, common.headers_metatable), st.body or ""
        end
        -- a new stream refused (GOAWAY, REFUSED_STREAM) or a reused connection found closed
        -- is retried on a new connection, unless the body cannot be sent again
        local again = (not st or st.retry) and (reused or not st) and type(data) ~= "function"
        if not again or attempt == 3 then
            error(st and st.err or closed_error("HTTP/2 connection refused a new stream"), 0)
        end
        if pool[key] == conn then pool[key] = nil end
        ::continue::
    end
end

--- close_all(): closes the running kernel's pooled HTTP/2 connections (their requests fail).
function M.close_all()
    local ok, pool = pcall(kernel_pool)
    if not ok then return end
    for _, conn in next, pool do
        if not conn.connecting then drop(conn, closed_error("HTTP/2 connection closed by close_all()")) end
    end
end

return M
