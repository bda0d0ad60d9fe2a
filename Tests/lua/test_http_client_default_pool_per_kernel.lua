-- fetch's default pool belongs to the running kernel (against Python's http.server): a
-- kernel reuses its own connections, a new kernel starts with none, and no descriptor
-- outlives the kernel: its idle connections close when loop() ends, when the kernel is
-- closed with threads still alive, and when it is collected. http_client.default_pool
-- stands for the running kernel's pool; omitted trailing arguments act as nil.
local ratchet = require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local portfile = h.tmpname("default-pool-peer")
local peer <close> = h.spawn(string.format("python3 %shttp_pool_peer.py %s 60 30", here, portfile))
local port = h.wait_until(function() return tonumber((h.read_file(portfile) or ""):match("^%d+")) end, 10)
assert(port, "python http.server did not start:\n" .. peer:output())
local base = "http://127.0.0.1:" .. port

local function fetch_n(path)
    local code, _, _, data = http_client.fetch(base .. path)
    h.eq(code, 200, "code of " .. path)
    return tonumber(data)
end

-- sockets counted outside any kernel, and inside one (its event base may have some)
local baseline = h.socket_count()
local inside
h.run(function() inside = h.socket_count() end)
collectgarbage(); collectgarbage()

-- a kernel reuses its connection; loop()'s end closes it
local first
local kept = h.run(function()
    h.eq(http_client.default_pool.connects, 0, "a new kernel's pool made no connection yet")
    first = fetch_n("/n")
    h.eq(fetch_n("/n"), first, "the second fetch reused the connection")
    h.eq(http_client.default_pool.connects, 1, "one connection")
    h.eq(http_client.default_pool:count(), 1, "kept idle")
    h.eq(h.socket_count(), inside + 1, "one descriptor for the idle connection")
end)
h.eq(h.socket_count(), inside, "the idle connection closed when loop() ended")
kept:close()
h.eq(h.socket_count(), baseline, "no descriptor left after the kernel closed")

-- the next kernel starts with a pool of its own
h.run(function()
    h.eq(http_client.default_pool:count(), 0, "nothing idle in a new kernel")
    assert(fetch_n("/n") > first, "a new connection in the new kernel")
    h.eq(http_client.default_pool.reuses, 0, "nothing reused from the other kernel")
end)
collectgarbage(); collectgarbage()
h.eq(h.socket_count(), baseline, "no descriptor after the second kernel")

-- A kernel stopped (break) after a fetch, with its threads still alive and the pool's
-- connection idle. (Its thread reaches it only through `holder`, emptied afterwards: a
-- kernel its own threads refer to is never garbage.)
local function stopped_after_fetch()
    local holder = {}
    local k = ratchet.new(function()
        fetch_n("/n")
        holder.k["break"](holder.k)
        ratchet.thread.timer(30)
    end)
    holder.k = k
    k:loop()
    holder.k = nil
    h.eq(k:get_num_threads() > 0, true, "threads still alive after break")
    h.eq(h.socket_count(), inside + 1, "the idle connection is open while the kernel is")
    return k
end

-- closed while its threads still live: the idle connection is closed with it
stopped_after_fetch():close()
h.eq(h.socket_count(), baseline, "no descriptor after kernel:close()")

-- collected without close: the same
stopped_after_fetch()
collectgarbage(); collectgarbage()
h.eq(h.socket_count(), baseline, "no descriptor after the kernel was collected")

-- two kernels at once (one run from a thread of the other) have separate pools
h.run(function()
    fetch_n("/n")
    local outer = http_client.default_pool
    h.eq(outer:count(), 1, "the outer kernel's idle connection")
    h.run(function()
        h.eq(http_client.default_pool:count(), 0, "the inner kernel does not see it")
        fetch_n("/n")
        h.eq(http_client.default_pool.connects, 1, "the inner kernel connects itself")
    end)
    h.eq(http_client.default_pool:count(), 1, "the outer kernel's pool is its own again")
    -- the proxy's methods act on this kernel's pool however they are called
    local count = http_client.default_pool.count
    h.eq(count(http_client.default_pool), 1, "method through the proxy")
    http_client.default_pool:close()
    h.eq(http_client.default_pool:count(), 0, "close through the proxy")
end)

-- outside a running kernel the proxy is an empty pool
h.eq(http_client.default_pool:count(), 0, "no default pool outside a kernel")
http_client.default_pool:close()
h.eq(tostring(http_client.default_pool):match("default pool") ~= nil, true, "tostring")

-- a pool of one's own as the default, in every kernel
local mine = http_client.pool()
http_client.default_pool = mine
h.run(function() fetch_n("/n"); fetch_n("/n") end)
h.eq(mine.connects, 1, "fetch used the pool set as default")
h.eq(mine:count(), 1, "and it outlives the kernel, as its owner wants")
mine:close()
http_client.default_pool = require("ratchet.http.default_pool").proxy

-- omitted trailing arguments and nil act the same
h.run(function()
    local p = http_client.pool(nil)
    h.eq(p.max_idle, http_client.pool().max_idle, "pool(nil) and pool()")
    h.eq(p:count(nil), p:count(), "count")
    h.eq(p:in_use(nil), p:in_use(), "in_use")
    local a = p:acquire("k", nil, nil)
    local b = p:acquire("k")
    h.eq(p:in_use("k"), 2, "acquire with and without the nils")
    p:release(a); p:release(b)
    h.eq(p:in_use(), 0, "released")
    local n1 = fetch_n("/n")
    h.eq(select(4, http_client.fetch(base .. "/n", nil)), tostring(n1), "fetch(url, nil) like fetch(url)")
end)
collectgarbage(); collectgarbage()
h.eq(h.socket_count(), baseline, "no descriptor left at the end")
peer:stop()
os.remove(portfile)
print("http client default pool per kernel ok")
