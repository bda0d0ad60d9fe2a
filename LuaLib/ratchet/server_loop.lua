-- ratchet.server_loop: the one accept loop of the bundled servers (ratchet.http.server.serve,
-- ratchet.smtp.server.serve): a thread per connection, a limit on connections in all and per
-- client address (over it: a short refusal reply, then close), a backoff when accept runs out
-- of descriptors, and the graceful stop of ratchet.worker (stop accepting, drain, deadline).
local ratchet = require "ratchet"
local worker = require "ratchet.worker"

local server_loop = {}

server_loop.defaults = {
    max_connections = 10000,               -- connections served at once
    max_connections_per_address = nil,     -- per client IP address; nil: no limit
}

-- accept() failures that pass: out of descriptors or memory for now, or a connection that
-- was reset before it was accepted. The listener stays readable while the queued connection
-- waits, so retrying at once would spin: the loop sleeps, doubling up to MAX_BACKOFF.
local TRANSIENT = {EMFILE = true, ENFILE = true, ENOBUFS = true, ENOMEM = true, ECONNABORTED = true,
                   EPROTO = true, EPERM = true}
local MIN_BACKOFF, MAX_BACKOFF = 0.01, 0.25
-- Refusals being sent at once; beyond this a connection over a limit is closed unanswered.
local MAX_REFUSING = 64

local function error_code(err)
    return type(err) == "table" and err.code or nil
end

-- Sends the refusal, then reads what the client already sent for a moment, so that closing
-- does not reset the connection before the reply is read.
local function refuse(client, reply)
    pcall(function()
        client:set_timeout(1)
        client:send(reply)
        client:shutdown("write")
        local deadline = ratchet.now() + 1
        repeat
            local d = client:recv(65536)
        until d == "" or ratchet.now() > deadline
    end)
    pcall(client.close, client)
end

local function option(options, name)
    local v = options[name]
    if v == nil then v = server_loop.defaults[name] end
    if v ~= nil and (type(v) ~= "number" or v < 1) then
        error("ratchet.server_loop: option " .. name .. " must be a number >= 1", 3)
    end
    return v
end

--- run(listener, options, new, busy_reply): accepts connections until the listener is
-- closed. new(client, from) → a connection object with :handle() (serves it to the end) and
-- :drain() (the stop hook: finish what is in progress, close when idle). busy_reply: the
-- bytes sent to a connection over a limit. options: max_connections,
-- max_connections_per_address, drain_timeout (default ratchet.worker.drain_timeout()).
-- On a stop (ratchet.worker) the listener is closed, every connection is drained, and run
-- returns when they have ended or the drain timeout has passed (the rest are killed). When
-- the application ends the loop (closes the listener, kills the thread) the connections are
-- drained too, and run returns at once.
function server_loop.run(listener, options, new, busy_reply)
    if type(options) ~= "table" then options = {} end
    local max_all = option(options, "max_connections")
    local max_per = option(options, "max_connections_per_address")
    local drain_timeout = tonumber(options.drain_timeout) or worker.drain_timeout()

    local active = {}            -- connection object → its thread
    local count, refusing = 0, 0
    local per_address = {}       -- address text → connections
    local stopped = false
    local cancel = worker.on_stop(function()
        stopped = true
        listener:close()         -- wakes the accept below with EBADF
    end)
    -- However the accept loop ends (a stop, the listener closed by the application, this
    -- thread killed: its <close> variables are closed), the stop hook is forgotten and every
    -- connection is drained: an idle keep-alive connection closes instead of holding loop()
    -- up until its idle timeout (a client in the same kernel that keeps the connection
    -- pooled would never send the request the server's thread waits for).
    local drained = false
    local function drain_all()
        if drained then return end
        drained = true
        for conn in pairs(active) do pcall(conn.drain, conn) end
    end
    local _ <close> = setmetatable({}, {__close = function() cancel(); drain_all() end})

    local function serve_one(conn, key)
        local ok, err = pcall(conn.handle, conn)
        active[conn] = nil
        count = count - 1
        if key then
            local n = per_address[key] - 1
            per_address[key] = n > 0 and n or nil
        end
        if not ok then error(err, 0) end
    end

    local function refuse_one(client)
        refusing = refusing + 1
        refuse(client, busy_reply)
        refusing = refusing - 1
    end

    local accept, backoff = listener.accept, MIN_BACKOFF
    while true do
        local ok, client, from = pcall(accept, listener)
        if ok then
            backoff = MIN_BACKOFF
            local key = max_per and tostring(from)
            if count >= max_all or (key and (per_address[key] or 0) >= max_per) then
                if refusing < MAX_REFUSING then
                    ratchet.thread.attach(refuse_one, client)
                else
                    client:close()
                end
            else
                local made, conn = pcall(new, client, from)
                if made then
                    count = count + 1
                    if key then per_address[key] = (per_address[key] or 0) + 1 end
                    active[conn] = ratchet.thread.attach(serve_one, conn, key)
                else
                    -- a failing per-connection setup (a handlers(from) function) costs
                    -- that connection, not the accept loop
                    io.stderr:write("ratchet.server_loop: ", tostring(conn), "\n")
                    pcall(client.close, client)
                end
            end
        elseif TRANSIENT[error_code(client)] then
            ratchet.thread.timer(backoff)
            backoff = math.min(backoff * 2, MAX_BACKOFF)
        elseif error_code(client) == "EBADF" then
            break
        else
            error(client, 0)
        end
    end
    cancel()
    if not stopped then return end

    -- the drain: every connection finishes what it is doing, within the deadline
    local threads = {}
    for _, t in pairs(active) do threads[#threads + 1] = t end
    drain_all()
    local deadline = ratchet.thread.attach_background(function()
        ratchet.thread.timer(drain_timeout)
        ratchet.thread.kill_all(threads)
    end)
    ratchet.thread.wait_all(threads)
    ratchet.thread.kill(deadline)
end

return server_loop
