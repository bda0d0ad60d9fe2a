-- fetch reuses kept-alive connections from a pool, against Python's http.server (HTTP/1.1,
-- closing connections idle for 0.3 s; every response names the TCP connection it came on):
-- sequential fetches make one connection; an idle close by the server is noticed before
-- reuse; a reused connection the server closes on receipt is retried once for GET (not for
-- POST); Connection: close is not pooled; pool limits; pool = false; keys per TLS settings.
require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local portfile = h.tmpname("pool-peer")
local peer <close> = h.spawn(string.format("python3 %shttp_pool_peer.py %s 60 0.3", here, portfile))

h.run(function()
    local port = h.wait_until(function() return tonumber((h.read_file(portfile) or ""):match("^%d+")) end, 10)
    assert(port, "python http.server did not start:\n" .. peer:output())
    local base = "http://127.0.0.1:" .. port
    local pool = http_client.pool()
    local function get(path, extra)
        local o = {pool = pool}
        for k, v in pairs(extra or {}) do o[k] = v end
        local code, _, _, data = http_client.fetch(base .. path, o)
        h.eq(code, 200, "code of " .. path)
        return tonumber(data)
    end

    -- ten sequential fetches, one TCP connection
    local first = get("/n")
    for i = 2, 10 do h.eq(get("/n"), first, "fetch " .. i .. " on the first connection") end
    h.eq(pool.connects, 1, "connections made for 10 fetches")
    h.eq(pool.reuses, 9, "reuses")
    h.eq(pool:count(), 1, "one idle connection kept")

    -- the server closes the idle connection: the next fetch sees it and connects again
    h.sleep(0.8)
    local second = get("/n")
    assert(second > first, "a new connection after the server's idle close")
    h.eq(pool.connects, 2, "connections after the idle close")

    -- the server closes the connection when the next request arrives: GET is retried once
    -- on a new connection, without an error reaching the caller
    h.eq(get("/drop-next"), second, "drop-next on the kept connection")
    local third = get("/n")
    assert(third > second, "the retried GET came on a new connection")
    h.eq(pool.connects, 3, "connections after the retry")
    -- ... a POST is not sent twice
    h.eq(get("/drop-next"), third, "drop-next again")
    h.raises("ECONNCLOSED", http_client.fetch, base .. "/n", {pool = pool, method = "POST", data = "x"})
    h.eq(pool.connects, 3, "no new connection for the POST")

    -- Connection: close is not pooled
    local n = get("/close")
    h.eq(pool:count(), 0, "nothing idle after Connection: close")
    assert(get("/n") > n, "a new connection after Connection: close")

    -- pool = false: a connection per fetch, closed after it
    local a = select(4, http_client.fetch(base .. "/n", {pool = false}))
    local b = select(4, http_client.fetch(base .. "/n", {pool = false}))
    assert(tonumber(b) > tonumber(a), "pool = false makes a connection per fetch")

    -- concurrent fetches take separate connections; max_idle_per_host keeps two of them
    local small = http_client.pool({max_idle_per_host = 2})
    local threads = {}
    for i = 1, 4 do
        threads[i] = ratchet.thread.attach(function() http_client.fetch(base .. "/n", {pool = small}) end)
    end
    ratchet.thread.wait_all(threads)
    h.eq(small.connects, 4, "four concurrent fetches, four connections")
    h.eq(small:count(), 2, "max_idle_per_host")
    -- idle_timeout: an idle connection past it is closed, not reused
    local short = http_client.pool({idle_timeout = 0.05})
    local c1 = select(4, http_client.fetch(base .. "/n", {pool = short}))
    h.sleep(0.1)
    local c2 = select(4, http_client.fetch(base .. "/n", {pool = short}))
    assert(tonumber(c2) > tonumber(c1), "idle_timeout closes the idle connection")
    h.eq(short.reuses, 0, "nothing reused past idle_timeout")
    -- max_idle in all
    local one = http_client.pool({max_idle = 1})
    http_client.fetch(base .. "/n", {pool = one})
    http_client.fetch("http://localhost:" .. port .. "/n", {pool = one})
    h.eq(one:count(), 1, "max_idle")
    h.raises_msg("must be a non-negative number", http_client.pool, {max_idle = "x"})

    -- the default pool is used when nothing is said
    local before = http_client.default_pool.connects
    http_client.fetch(base .. "/n"); http_client.fetch(base .. "/n")
    h.eq(http_client.default_pool.connects - before, 1, "the default pool reused its connection")

    for _, p in ipairs({pool, small, short, one, http_client.default_pool}) do p:close() end
    h.eq(pool:count(), 0, "close empties the pool")
end)
peer:stop()
os.remove(portfile)
print("http client pool ok")
