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
local attach, self_thread, pause, unpause = ratchet.thread.attach, ratchet.thread.self,
    ratchet.thread.pause, ratchet.thread.unpause
local flush, wake_blocked, send_stream = connection.flush, connection.wake_blocked, connection.send_stream

local M = {}

local RECV_SIZE = 65536
local REFUSED_STREAM = 7
local ALPN = {"h2", "http/1.1"}

-- Open HTTP/2 connections by origin and TLS settings.
local pool = {}

local function closed_error(what)
    return ratchet.error.new(what, "ECONNCLOSED", "ratchet.http.client.fetch()")
end

-- A request is over: its thread goes on with st.headers/st.body or st.err.
local function finish(conn, st)
    if st.done then return end
    st.done = true
    conn.pending = conn.pending - 1
    if st.waiting then
        st.waiting = false
        unpause(st.thread)
    end
end

-- The connection is unusable: every request still waiting fails (and may be retried on a
-- new connection if nothing of its response came), the socket closes.
local function drop(conn, err)
    conn.broken = conn.broken or err
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
        local kind, id, a, b = session:event()
        if not kind then return end
        local st = conn.streams[id]
        if kind == "message" and st then
            st.headers, st.body = a, b
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
            if pool[conn.key] == conn then pool[conn.key] = nil end
        end
    end
end

-- The reader: runs while requests wait for their responses, then ends (an idle pooled
-- connection has no thread, so it does not keep the kernel running).
local function reader(conn)
    local session, sock = conn.session, conn.sock
    while conn.pending > 0 and not conn.broken do
        local ok, d = pcall(sock.recv, sock, RECV_SIZE)
        if not ok then drop(conn, d); break end
        if d == "" then drop(conn, closed_error("HTTP/2 connection closed by the server")); break end
        local fine, why = session:receive(d)
        handle_events(conn)
        flush(conn)
        wake_blocked(conn)
        if not fine then drop(conn, closed_error("HTTP/2 protocol error: " .. tostring(why))); break end
        if conn.broken then drop(conn, conn.broken); break end
    end
    conn.reader = nil
end

-- A request whose thread was killed while it waited: its stream is cancelled, and the
-- reader stops waiting for it (else the reader would keep the kernel running).
local ABANDON = {__close = function(st)
    if st.done then return end
    local conn = st.conn
    st.done = true
    conn.pending = conn.pending - 1
    conn.streams[st.id] = nil
    conn.session:reset(st.id, 8)   -- CANCEL: goes out with the next frames sent
end}

-- Sends one request on the connection and waits for its response: the stream's record
-- {headers, body} or {err, retry}; nil when the connection takes no new stream.
local function exchange(conn, method, path, headers, data)
    local streamed = type(data) == "function"
    local body = data
    if streamed then body = nil elseif body ~= nil and type(body) ~= "string" then body = tostring(body) end
    if conn.broken then return nil end
    local id = conn.session:request(method, conn.scheme, conn.authority, path, headers, body, streamed)
    if not id then return nil end
    local st = setmetatable({thread = self_thread(), conn = conn, id = id}, ABANDON)
    local _ <close> = st
    conn.streams[id] = st
    conn.pending = conn.pending + 1
    if not conn.reader then conn.reader = attach(reader, conn) end
    flush(conn)
    if streamed then
        local ok, err = pcall(send_stream, conn, id, data)
        if not ok then
            conn.session:reset(id, 8)   -- CANCEL
            flush(conn)
            st.err = err
            finish(conn, st)
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

-- A new HTTP/2 connection over a connected (and, for https, handshaken) client `c`.
local function open(c, key, scheme, options)
    local conn = {
        key = key, sock = c.socket, scheme = scheme, authority = c.host,
        session = http2.new("client", {
            max_header_list_size = options.max_header_bytes or client.defaults.max_header_bytes,
            max_body_bytes = options.max_body_bytes or client.defaults.max_body_bytes,
        }),
        streams = {}, pending = 0, blocked = {},
    }
    pool[key] = conn
    return conn
end

-- Origins whose server did not choose h2 by ALPN: their requests go straight to HTTP/1.1
-- (bounded: a client of endless origins forgets them).
local http1, nhttp1 = {}, 0

--- fetch(url, method, headers, data, options, pool): the request over HTTP/2 when it
-- applies → code, message, headers, body; otherwise nothing (fetch goes on with HTTP/1.1; a
-- TLS connection made here whose server chose HTTP/1.1 is left in `pool` for it).
-- HTTP/2 applies to https URLs (offered by ALPN) and, with options.http2 = "prior_knowledge",
-- to http URLs (h2c: the server must speak HTTP/2 without asking).
function M.fetch(url, method, headers, data, options, the_pool)
    local scheme, host, port, path = client.parse_url(url)
    if scheme == "http" and options.http2 ~= "prior_knowledge" then return end
    local key = client.pool_key(scheme, host, port, options)
    if http1[key] then return end
    local attempt = 0
    while attempt < 3 do
        local conn = pool[key]
        local reused = conn ~= nil
        if conn and conn.connecting then
            -- another thread is connecting to the origin: wait for its connection
            conn.waiters[#conn.waiters + 1] = self_thread()
            pause()
            goto continue
        end
        attempt = attempt + 1
        if not conn then
            local o = setmetatable({keep_alive = false}, {__index = options})
            if scheme == "https" and not (options.ssl_context or options.tls) then
                o.ssl_context = client.tls_context(options, ALPN)
            end
            local connecting = {connecting = true, waiters = {}}
            pool[key] = connecting
            local ok, c = pcall(client.connect, url, o)
            pool[key] = nil
            if ok and (scheme == "http" or c.socket:get_encryption():get_alpn() == "h2") then
                conn = open(c, key, scheme, options)
            elseif ok then
                if nhttp1 < 1024 then http1[key] = true; nhttp1 = nhttp1 + 1 end
            end
            for _, waiter in ipairs(connecting.waiters) do unpause(waiter) end
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
        local st = exchange(conn, method, path, headers, data)
        if st and not st.err then
            local h = st.headers
            local code = tonumber(h[":status"][1])
            h[":status"] = nil
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

--- close_all(): closes the pooled HTTP/2 connections (their requests fail).
function M.close_all()
    for _, conn in next, pool do
        drop(conn, closed_error("HTTP/2 connection closed by close_all()"))
    end
end

return M
