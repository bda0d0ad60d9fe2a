-- ratchet.http.default_pool: the connection pool fetch uses unless told otherwise, one per
-- kernel. It is made at the kernel's first use and lives in the kernel's space
-- (ratchet.thread.kernel_space), held by a background thread of the kernel. A kernel kills its
-- background threads when loop() has nothing else to run and when it is closed or
-- collected; that kill closes the pool's idle connections. So no kernel reuses another's
-- connections, and none leaves a descriptor open after its loop.
require "ratchet"
local pool = require "ratchet.http.pool"

local thread = ratchet.thread
local pcall, setmetatable, type = pcall, setmetatable, type

local M = {}

-- The pool's key in the kernel's space.
local KEY = {}

-- The keeper: waits forever; killed with its kernel, it closes the pool, and max_idle = 0
-- makes a connection returned afterwards (by a request ending later in that kill) close too.
local function keeper(space, p)
    local _ <close> = setmetatable({}, {__close = function()
        if space[KEY] == p then space[KEY] = nil end
        p.max_idle = 0
        p:close()
    end})
    thread.pause()
end

--- get() → the running kernel's default pool (made on first use); nil outside a running kernel.
function M.get()
    local ok, space = pcall(thread.kernel_space)
    if not ok then return nil end
    local p = space[KEY]
    if not p then
        p = pool.new()
        space[KEY] = p
        thread.attach_background(keeper, space, p)
    end
    return p
end

-- The pool the proxy stands for: the running kernel's; outside a kernel an empty one (no
-- connection can be made there, so there is nothing to keep).
local function current()
    return M.get() or pool.new()
end

--- proxy: ratchet.http.client.default_pool, the same object in every kernel; its fields and
-- methods are those of the running kernel's default pool.
local proxy = {}
M.proxy = setmetatable(proxy, {
    __index = function(_, name)
        local p = current()
        local v = p[name]
        if type(v) ~= "function" then return v end
        return function(self, ...)
            if self == proxy then self = p end
            return v(self, ...)
        end
    end,
    __newindex = function(_, name, v) current()[name] = v end,
    __close = function() current():close() end,
    __tostring = function() return "ratchet.http.pool (the running kernel's default pool)" end,
})

return M
