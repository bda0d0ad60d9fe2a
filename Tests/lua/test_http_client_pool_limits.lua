-- A pool's max_total and max_per_host, against Python's http.server (it counts the most TCP
-- connections open at once): concurrent fetches from several threads never open more than
-- the limit and those over it wait for a slot; a waiter whose fetch timeout passes gets
-- ETIMEDOUT; a killed waiter, a killed fetch, a waiter killed right after it was handed a
-- slot and a failed connection all free their slot.
require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"
local thread = ratchet.thread

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local portfile = h.tmpname("pool-limits-peer")
local peer <close> = h.spawn(string.format("python3 %shttp_pool_peer.py %s 60 5", here, portfile))

h.run(function()
    local port = h.wait_until(function() return tonumber((h.read_file(portfile) or ""):match("^%d+")) end, 10)
    assert(port, "python http.server did not start:\n" .. peer:output())
    local base = "http://127.0.0.1:" .. port

    -- the server's count of connections open at once since the last call; first the
    -- pools' idle connections are closed, and the server is given time to see them go
    local function ask(path)
        return tonumber(select(4, http_client.fetch(base .. path, {pool = false})))
    end
    local function peak(...)
        for _, p in ipairs({...}) do p:close() end
        assert(h.wait_until(function() return ask("/open") == 0 end, 10), "connections still open at the server")
        return ask("/peak")
    end
    local function concurrently(n, f)
        local threads = {}
        for i = 1, n do threads[i] = thread.attach(f, i) end
        thread.wait_all(threads)
    end
    peak()

    -- max_total: six threads, two connections; the other four waited for a slot
    local two = http_client.pool({max_total = 2})
    local codes = {}
    local t0 = ratchet.now()
    concurrently(6, function(i) codes[i] = http_client.fetch(base .. "/slow", {pool = two}) end)
    local took = ratchet.now() - t0
    for i = 1, 6 do h.eq(codes[i], 200, "fetch " .. i) end
    h.eq(two.connects, 2, "connections made under max_total = 2")
    h.eq(two.waits, 4, "fetches that waited for a slot")
    assert(took >= 0.55, "three rounds of 0.2 s requests, not " .. took)
    h.eq(peak(two), 2, "most connections open at once at the server")
    h.eq(two:in_use(), 0, "no slot held after the fetches")

    -- max_total across hosts: an idle connection of another host is closed to make room
    local one = http_client.pool({max_total = 1})
    http_client.fetch(base .. "/n", {pool = one})
    http_client.fetch("http://localhost:" .. port .. "/n", {pool = one})
    h.eq(one.connects, 2, "a connection per host")
    h.eq(one:count(), 1, "the first host's idle connection made room for the second's")
    h.eq(one.waits, 0, "idle connections do not make a fetch wait")

    -- max_per_host: two hosts (127.0.0.1 and localhost), one connection each
    peak(one)
    local per = http_client.pool({max_per_host = 1})
    concurrently(4, function(i)
        local host = i % 2 == 0 and "127.0.0.1" or "localhost"
        h.eq(http_client.fetch("http://" .. host .. ":" .. port .. "/slow", {pool = per}), 200, "per host " .. i)
    end)
    h.eq(per.connects, 2, "one connection per host")
    h.eq(per.waits, 2, "the second fetch to each host waited")
    h.eq(peak(per), 2, "most connections open at once with max_per_host = 1")

    -- a waiter whose fetch timeout passes: ETIMEDOUT, and the queue forgets it
    local busy = http_client.pool({max_total = 1})
    local holder = thread.attach(http_client.fetch, base .. "/slow", {pool = busy})
    thread.yield()
    h.eq(busy:in_use(), 1, "the holder has the slot")
    t0 = ratchet.now()
    local err = h.raises("ETIMEDOUT", http_client.fetch, base .. "/n", {pool = busy, timeout = 0.05})
    assert(tostring(err):find("max_total 1", 1, true), "the error names the limit: " .. tostring(err))
    assert(ratchet.now() - t0 < 1, "timed out at the fetch timeout")
    h.eq(#busy.waiters, 0, "the timed-out waiter left the queue")
    thread.wait_all({holder})
    h.eq(busy:in_use(), 0, "slot freed by the holder")
    h.eq(busy:count(), 1, "the holder's connection is idle")

    -- a killed waiter leaves the queue; the slot goes to the next one
    holder = thread.attach(http_client.fetch, base .. "/slow", {pool = busy})
    local doomed = thread.attach(http_client.fetch, base .. "/n", {pool = busy})
    local got
    local patient = thread.attach(function() got = http_client.fetch(base .. "/n", {pool = busy}) end)
    thread.yield()
    h.eq(#busy.waiters, 2, "two waiters")
    thread.kill(doomed)
    h.eq(#busy.waiters, 1, "the killed waiter left the queue")
    thread.wait_all({holder, patient})
    h.eq(got, 200, "the next waiter got the slot")
    h.eq(busy:in_use(), 0, "no slot leaked by the killed waiter")

    -- a waiter killed after it was handed the slot but before it ran gives the slot back
    local waiter
    holder = thread.attach(function()
        http_client.fetch(base .. "/slow", {pool = busy})
        h.eq(busy:in_use(), 1, "the slot went to the waiter")
        thread.kill(waiter)
    end)
    waiter = thread.attach(http_client.fetch, base .. "/n", {pool = busy})
    thread.wait_all({holder, waiter})
    h.eq(busy:in_use(), 0, "the slot came back from the killed waiter")
    h.eq(busy:count(), 1, "with its idle connection")

    -- a fetch killed while it waits for its response frees its slot and closes its connection
    local slow = thread.attach(http_client.fetch, base .. "/slow", {pool = busy})
    thread.yield()
    thread.kill(slow)
    h.eq(busy:in_use(), 0, "the killed fetch's slot")
    h.eq(busy:count(), 0, "its connection is not kept")
    h.eq(http_client.fetch(base .. "/n", {pool = busy, timeout = 1}), 200, "the next fetch goes at once")

    -- a connection that fails frees its slot: refused, and closed without a response
    local dead_listener, dead_port = h.listen()
    dead_listener:close()
    h.raises("ECONNREFUSED", http_client.fetch, "http://127.0.0.1:" .. dead_port .. "/", {pool = busy})
    h.eq(busy:in_use(), 0, "a refused connection holds no slot")
    http_client.fetch(base .. "/drop-next", {pool = busy})
    h.raises("ECONNCLOSED", http_client.fetch, base .. "/n", {pool = busy, method = "POST", data = "x"})
    h.eq(busy:in_use(), 0, "a connection closed without a response holds no slot")
    h.eq(http_client.fetch(base .. "/n", {pool = busy, timeout = 1}), 200, "the pool still works")

    -- bad limits are refused
    h.raises_msg("max_total must be an integer >= 1", http_client.pool, {max_total = 0})
    h.raises_msg("max_per_host must be an integer >= 1", http_client.pool, {max_per_host = 1.5})
    for _, p in ipairs({busy}) do p:close() end
end)
peer:stop()
os.remove(portfile)
print("http client pool limits ok")
