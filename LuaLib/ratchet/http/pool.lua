-- ratchet.http.pool: idle keep-alive client connections kept per key (scheme, host, port and
-- TLS settings, made by ratchet.http.client) so that later requests to the same server reuse
-- them. Connections are any objects with `close()`, a boolean `closed` and a `pool_key`; the
-- pool never does I/O itself (the client checks a connection before reusing it), so idle
-- connections are dropped lazily: past their idle timeout at the next take or put.
require "ratchet"

local now = ratchet.now

local pool = {}
pool.__index = pool

pool.defaults = {
    max_idle_per_host = 8,   -- idle connections kept per key
    max_idle = 64,           -- idle connections kept in all (the least recently used go first)
    idle_timeout = 30,       -- seconds an idle connection may wait for reuse
}

--- new(options) → pool. options: max_idle_per_host, max_idle, idle_timeout (see defaults).
function pool.new(options)
    if type(options) ~= "table" then options = {} end
    local self = setmetatable({idle = {}, nidle = 0, connects = 0, reuses = 0}, pool)
    for k, v in pairs(pool.defaults) do
        local given = options[k]
        if given ~= nil and (type(given) ~= "number" or given < 0) then
            error("ratchet.http.pool: " .. k .. " must be a non-negative number", 2)
        end
        self[k] = given or v
    end
    return self
end

local function drop(self, list, i)
    local conn = table.remove(list, i)
    self.nidle = self.nidle - 1
    pcall(conn.close, conn)
end

-- Closes every idle connection that waited longer than idle_timeout.
local function expire(self, t)
    local limit = t - self.idle_timeout
    for key, list in pairs(self.idle) do
        for i = #list, 1, -1 do
            if list[i].idle_since < limit then drop(self, list, i) end
        end
        if #list == 0 then self.idle[key] = nil end
    end
end

--- take(key, usable) → an idle connection for `key` that `usable(conn)` accepts (the most
-- recently used first), or nil. Connections that fail the check are closed.
function pool:take(key, usable)
    expire(self, now())
    local list = self.idle[key]
    while list and #list > 0 do
        local conn = list[#list]
        list[#list] = nil
        self.nidle = self.nidle - 1
        if not conn.closed and (not usable or usable(conn)) then
            self.reuses = self.reuses + 1
            return conn
        end
        pcall(conn.close, conn)
    end
end

--- put(conn): keeps an open connection for reuse under conn.pool_key (closed ones are
-- ignored); over the limits the least recently used idle connections are closed.
function pool:put(conn)
    if conn.closed then return end
    local t = now()
    expire(self, t)
    local key = conn.pool_key
    local list = self.idle[key]
    if not list then list = {}; self.idle[key] = list end
    conn.idle_since = t
    list[#list + 1] = conn
    self.nidle = self.nidle + 1
    if #list > self.max_idle_per_host then drop(self, list, 1) end
    while self.nidle > self.max_idle do
        local oldest, olist
        for _, l in pairs(self.idle) do
            local c = l[1]
            if c and (not oldest or c.idle_since < oldest.idle_since) then oldest, olist = c, l end
        end
        drop(self, olist, 1)
    end
    if #list == 0 then self.idle[key] = nil end
end

--- count([key]) → idle connections kept (for `key`, or in all).
function pool:count(key)
    if key == nil then return self.nidle end
    local list = self.idle[key]
    return list and #list or 0
end

--- close(): closes every idle connection (the pool stays usable).
function pool:close()
    for key, list in pairs(self.idle) do
        for i = #list, 1, -1 do pcall(list[i].close, list[i]) end
        self.idle[key] = nil
    end
    self.nidle = 0
end

pool.__close = pool.close

return pool
