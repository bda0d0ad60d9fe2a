-- ratchet.http.pool: keep-alive client connections per key (scheme, host, port and TLS
-- settings, made by ratchet.http.client): idle ones kept for reuse by later requests, and
-- optional limits on connections in all and per key (in use + idle), over which a request
-- waits for a slot. Connections are any objects with `close()`, a boolean `closed` and a
-- `pool_key`; the pool never does I/O itself (the client checks a connection before reusing
-- it), so idle connections are dropped lazily: past their idle timeout at the next use.
require "ratchet"

local now = ratchet.now
local thread = ratchet.thread
local remove = table.remove
local pcall, setmetatable, type, tostring = pcall, setmetatable, type, tostring

local pool = {}
pool.__index = pool

pool.defaults = {
    max_idle_per_host = 8,   -- idle connections kept per key
    max_idle = 64,           -- idle connections kept in all (the least recently used go first)
    idle_timeout = 30,       -- seconds an idle connection may wait for reuse
    -- max_per_host, max_total: connections (in use + idle) per key and in all; none by default
}
local LIMITS = {"max_per_host", "max_total"}

--- new(options) → pool. options: max_idle_per_host, max_idle, idle_timeout (see defaults),
-- max_per_host, max_total (nil: no limit).
function pool.new(options)
    if type(options) ~= "table" then options = {} end
    local self = setmetatable({idle = {}, nidle = 0, inuse = {}, ninuse = 0, waiters = {},
        connects = 0, reuses = 0, waits = 0}, pool)
    for k, v in pairs(pool.defaults) do
        local given = options[k]
        if given ~= nil and (type(given) ~= "number" or given < 0) then
            error("ratchet.http.pool: " .. k .. " must be a non-negative number", 2)
        end
        self[k] = given or v
    end
    for _, k in ipairs(LIMITS) do
        local given = options[k]
        if given ~= nil and (math.type(given) ~= "integer" or given < 1) then
            error("ratchet.http.pool: " .. k .. " must be an integer >= 1 (or nil: no limit)", 2)
        end
        self[k] = given
    end
    return self
end

local function close_conn(conn)
    pcall(conn.close, conn)
end

-- Removes the idle connection list[i] (and the list once empty) and closes it.
local function drop(self, key, list, i)
    local conn = remove(list, i)
    self.nidle = self.nidle - 1
    if #list == 0 then self.idle[key] = nil end
    close_conn(conn)
end

-- Closes the least recently used idle connection; false when there is none.
local function drop_oldest(self)
    local oldest, okey, olist
    for key, l in pairs(self.idle) do
        local c = l[1]
        if c and (not oldest or c.idle_since < oldest.idle_since) then
            oldest, okey, olist = c, key, l
        end
    end
    if not oldest then return false end
    drop(self, okey, olist, 1)
    return true
end

-- Closes every idle connection that waited longer than idle_timeout.
local function expire(self, t)
    local limit = t - self.idle_timeout
    for key, list in pairs(self.idle) do
        for i = #list, 1, -1 do
            if list[i].idle_since < limit then drop(self, key, list, i) end
        end
    end
end

-- The most recently used idle connection of `key`, taken out of the pool; nil when none.
local function pop_idle(self, key)
    local list = self.idle[key]
    if not list then return nil end
    local conn = list[#list]
    list[#list] = nil
    self.nidle = self.nidle - 1
    if #list == 0 then self.idle[key] = nil end
    return conn
end

-- Checks the connection a lease ({key, conn}) took from the pool: while `usable` (which may
-- wait) refuses it, it is closed and the next idle one taken; conn = nil when none is left.
local function check(self, lease, usable)
    local conn = lease.conn
    while conn do
        if not conn.closed and (not usable or usable(conn)) then
            self.reuses = self.reuses + 1
            return
        end
        close_conn(conn)
        conn = pop_idle(self, lease.key)
        lease.conn = conn
    end
end

-- Whether one more connection in use for `key` fits the limits. Idle connections never
-- stand in the way: make_room closes those that fill a limit.
local function fits(self, key)
    local per, total = self.max_per_host, self.max_total
    return (not per or (self.inuse[key] or 0) < per) and (not total or self.ninuse < total)
end

-- Closes the idle connections that, with those in use, go over a limit: of `key` for
-- max_per_host, the least recently used of any key for max_total. Called after the new
-- slot is counted: closing may wait (TLS close_notify), and meanwhile the counts must hold.
local function make_room(self, key)
    local per, total = self.max_per_host, self.max_total
    if per then
        local list = self.idle[key]
        while list and (self.inuse[key] or 0) + #list > per do
            drop(self, key, list, 1)
            list = self.idle[key]
        end
    end
    while total and self.ninuse + self.nidle > total and drop_oldest(self) do end
end

local function count_in(self, key)
    self.inuse[key] = (self.inuse[key] or 0) + 1
    self.ninuse = self.ninuse + 1
end

local function count_out(self, key)
    local n = self.inuse[key] - 1
    self.inuse[key] = n > 0 and n or nil
    self.ninuse = self.ninuse - 1
end

-- Keeps an open connection idle under conn.pool_key; over the idle limits the least
-- recently used idle connections are closed. Closed connections are ignored.
local function keep(self, conn)
    if conn.closed then return end
    local key = conn.pool_key
    local list = self.idle[key]
    if not list then list = {}; self.idle[key] = list end
    conn.idle_since = now()
    list[#list + 1] = conn
    self.nidle = self.nidle + 1
    if #list > self.max_idle_per_host then drop(self, key, list, 1) end
    while self.nidle > self.max_idle and drop_oldest(self) do end
end

-- After a slot was freed: hands slots (and idle connections of their key) to the waiting
-- requests that now fit, oldest first. A waiter that can no longer take it (its timeout
-- ended the wait in this pass, or it is not a thread of the running kernel) gets nothing and
-- is forgotten; the slot goes on to the next.
local function notify(self)
    local waiters = self.waiters
    local i = 1
    while i <= #waiters do
        local w = waiters[i]
        local key = w.key
        local conn = pop_idle(self, key)
        if conn or fits(self, key) then
            remove(waiters, i)
            count_in(self, key)
            w.lease.conn, w.lease.held, w.granted = conn, true, true
            if pcall(thread.unpause, w.thread) then
                make_room(self, key)
            else
                w.granted, w.lease.conn, w.lease.held = false, nil, nil
                count_out(self, key)
                if conn then keep(self, conn) end
            end
        else
            i = i + 1
        end
    end
end

-- A lease: one slot of the pool (see acquire). Closing it without release closes its
-- connection and frees the slot: a request that failed or whose thread was killed.
local LEASE = {}
LEASE.__index = LEASE
LEASE.__close = function(lease)
    if lease.handed then lease.handed = nil; return end   -- acquire's own guard, at its return
    if lease.released or not lease.held then return end     -- given back, or never had a slot
    lease.released = true
    local conn = lease.conn
    if conn then close_conn(conn) end
    local self = lease.pool
    count_out(self, lease.key)
    notify(self)
end

-- A request waiting for a slot. Closed when the wait ends in any way: a waiter killed or
-- timed out leaves the queue, and a slot handed to it before it could run is given back.
local WAITER = {__close = function(w)
    if w.done then return end
    local self = w.pool
    for i, x in ipairs(self.waiters) do
        if x == w then remove(self.waiters, i); break end
    end
    if w.granted then self:release(w.lease) end
end}

local function limit_text(self)
    return "max_per_host " .. tostring(self.max_per_host) .. ", max_total " ..
        tostring(self.max_total)
end

--- acquire(key, usable, timeout) → lease: a slot for one connection for `key` within the
-- limits. lease.conn is an idle connection that `usable(conn)` accepted, or nil: then the
-- caller connects and sets lease.conn. While the limits are reached the calling thread waits
-- (ratchet.thread.pause) until a slot is freed, at most `timeout` seconds (nil: no limit),
-- then raises ETIMEDOUT. Hand the lease back with release(lease); closing it instead (a
-- `<close>` variable, also when the thread is killed) closes its connection.
function pool:acquire(key, usable, timeout)
    expire(self, now())
    -- every field named at once: the table is made with room for them (no rehash per field)
    local lease = setmetatable({pool = self, key = key, conn = nil, held = nil, handed = nil,
        released = nil}, LEASE)
    -- until the lease is returned, a kill (the check below may wait) or an error closes it;
    -- `handed`, set as it is returned, makes this close a no-op
    local guard <close> = lease
    local conn = pop_idle(self, key)
    if conn or fits(self, key) then
        -- the slot is counted before anything that may wait: no other request takes it
        count_in(self, key)
        lease.conn, lease.held = conn, true
        make_room(self, key)
        check(self, lease, usable)
        lease.handed = true
        return lease
    end
    local w <close> = setmetatable({pool = self, key = key, thread = thread.self(), lease = lease},
        WAITER)
    self.waiters[#self.waiters + 1] = w
    self.waits = self.waits + 1
    local deadline = timeout and now() + timeout
    while not w.granted do
        local ok, err = pcall(thread.pause, deadline and math.max(0, deadline - now()))
        if not ok then
            if not ratchet.error.is(err, "ETIMEDOUT") or w.granted then error(err, 0) end
            -- the key up to its first "|": the client's keys add the family and TLS settings there
            error(ratchet.error.new("No free connection for " .. tostring(key):match("^[^|]*") ..
                " within the timeout (" .. limit_text(self) .. ")", "ETIMEDOUT",
                "ratchet.http.pool.acquire()"), 0)
        end
    end
    w.done = true
    -- an unusable connection leaves the slot to the caller, who connects anew in it
    check(self, lease, usable)
    lease.handed = true
    return lease
end

--- release(lease): gives the slot back; lease.conn, if open, is kept idle for reuse.
function pool:release(lease)
    if lease.released then return end
    lease.released = true
    count_out(self, lease.key)
    local conn = lease.conn
    if conn then
        conn.pool_key = lease.key
        keep(self, conn)
    end
    notify(self)
end

--- take(key, usable) → an idle connection for `key` that `usable(conn)` accepts (the most
-- recently used first), or nil. Connections that fail the check are closed. The connection
-- leaves the pool: it no longer counts toward the limits (acquire counts it).
function pool:take(key, usable)
    expire(self, now())
    local taken = {key = key, conn = pop_idle(self, key)}
    check(self, taken, usable)
    return taken.conn
end

--- put(conn): keeps an open connection for reuse under conn.pool_key (closed ones are
-- ignored); over the limits the least recently used idle connections are closed.
function pool:put(conn)
    if conn.closed then return end
    expire(self, now())
    keep(self, conn)
    make_room(self, conn.pool_key)
    notify(self)
end

--- count([key]) → idle connections kept (for `key`, or in all).
function pool:count(key)
    if key == nil then return self.nidle end
    local list = self.idle[key]
    return list and #list or 0
end

--- in_use([key]) → connections in use (for `key`, or in all): slots held by requests.
function pool:in_use(key)
    if key == nil then return self.ninuse end
    return self.inuse[key] or 0
end

--- close(): closes every idle connection (the pool stays usable).
function pool:close()
    for key, list in pairs(self.idle) do
        for i = #list, 1, -1 do close_conn(list[i]) end
        self.idle[key] = nil
    end
    self.nidle = 0
end

pool.__close = pool.close

return pool
