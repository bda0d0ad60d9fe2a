-- ratchet.http.h2_connection: what the HTTP/2 server and client share about one connection
-- {session = ratchet.http2 session, sock = socket, blocked = {}}: writing the session's
-- output with one writer at a time, and streamed bodies held back by flow control.
require "ratchet"

local type, tostring, pcall, next, setmetatable = type, tostring, pcall, next, setmetatable
local self_thread, pause, unpause = ratchet.thread.self, ratchet.thread.pause, ratchet.thread.unpause

local M = {}

-- A streamed body waits while this much of it is queued behind flow control.
local HIGH_WATER = 262144

--- flush(conn): sends everything the session has to send. One thread writes at a time; the
-- others leave their frames to it (it loops until the session has nothing left). A failed
-- send marks the connection broken (conn.broken = the error) and ends its reads.
-- conn.send_wait(conn), when set, sets the socket's timeout before each send (the reader
-- sets its own before each recv: the socket has one timeout for both).
local function write_out(conn, session, sock)
    local send_wait = conn.send_wait
    while true do
        local out = session:output()
        if not out then return end
        if send_wait then send_wait(conn) end
        local rest = sock:send(out)
        while rest do
            if send_wait then send_wait(conn) end
            rest = sock:send(rest)
        end
    end
end

-- A writer killed in the middle of a send leaves part of a frame on the wire and the rest
-- lost: the connection is broken. (One guard per connection, closed after every flush.)
local WRITE_GUARD = {__close = function(guard)
    local conn = guard.conn
    if conn.writing then
        conn.writing = false
        conn.broken = conn.broken or "a writer was killed during a send"
        pcall(conn.sock.shutdown, conn.sock, "both")
    end
end}

function M.flush(conn)
    if conn.writing or conn.broken then return end
    local guard = conn.write_guard
    if not guard then guard = setmetatable({conn = conn}, WRITE_GUARD); conn.write_guard = guard end
    local _ <close> = guard
    conn.writing = true
    local sock = conn.sock
    local ok, err = pcall(write_out, conn, conn.session, sock)
    conn.writing = false
    if not ok then
        conn.broken = err
        -- the reader may be waiting for bytes that will never be answered
        pcall(sock.shutdown, sock, "read")
    end
end
local flush = M.flush

--- wake_blocked(conn): after the peer opened its window, wakes the streamed bodies whose
-- queue has drained below the high-water mark (all of them once the connection is broken).
function M.wake_blocked(conn)
    local blocked = conn.blocked
    if not next(blocked) then return end
    for id, thread in next, blocked do
        local queued = conn.session:buffered(id)
        if not queued or queued < HIGH_WATER or conn.broken then
            blocked[id] = nil
            unpause(thread)
        end
    end
end

--- send_stream(conn, id, stream): sends a body from `stream()` (each call the next piece,
-- nil at the end) on a stream opened with more = true; returns false if the stream or the
-- connection went away first. Errors of `stream()` are raised.
function M.send_stream(conn, id, stream)
    local session = conn.session
    while true do
        local piece = stream()
        if piece == nil then break end
        if type(piece) ~= "string" then piece = tostring(piece) end
        if piece ~= "" and not session:send(id, piece) then return false end
        flush(conn)
        if conn.broken then return false end
        local queued = session:buffered(id)
        if not queued then return false end
        if queued >= HIGH_WATER then
            conn.blocked[id] = self_thread()
            pause()
        end
    end
    session:send(id, "", true)
    flush(conn)
    return true
end

return M
