-- A nameserver that never answers delays only the querying thread: another thread keeps
-- ticking meanwhile. Per-try timeouts (evdns and the raw path), the overall timeout
-- argument, a refused port, and queries cut short by killing the thread or closing the
-- kernel, without leaking descriptors.
local ratchet = require "ratchet"
local helper = require "helper"
local dnsmasq = require "dnsmasq"
local eq = helper.eq

local silent = dnsmasq.silent()
local ns = "127.0.0.1:" .. silent.port

-- a port where nothing listens: ICMP port unreachable answers the raw path at once
local closed_port
repeat
    closed_port = math.random(20000, 60000)
until not helper.sh("cat /proc/net/udp"):find(string.format(":%04X ", closed_port), 1, true)

local function body()
    local ticks, ticking = 0, true
    local ticker = ratchet.thread.attach(function()
        while ticking do ratchet.thread.timer(0.05); ticks = ticks + 1 end
    end)
    local function timed(f, ...)
        local before = ticks
        local r = table.pack(f(...))
        return ticks - before, table.unpack(r, 1, r.n)
    end

    -- per-try timeout 0.3 s, one try: "Timed out." after about 6 ticks, others ran
    local quick = ratchet.dns.new{nameservers = {ns}, timeout = 0.3, attempts = 1}
    local n, res, msg = timed(quick.query, quick, "host.test", "a")
    eq(res, nil, "evdns timeout result"); eq(msg, "Timed out.", "evdns timeout message")
    assert(n >= 3 and n <= 40, "ticks during an evdns timeout: " .. n)
    n, res, msg = timed(quick.query, quick, "mail.test", "mx")
    eq(res, nil, "raw timeout result"); eq(msg, "Timed out.", "raw timeout message")
    assert(n >= 3 and n <= 40, "ticks during a raw timeout: " .. n)

    -- two attempts take about twice as long
    local twice = ratchet.dns.new{nameservers = {ns}, timeout = 0.3, attempts = 2}
    n, res, msg = timed(twice.query, twice, "mail.test", "txt")
    eq(msg, "Timed out.", "two attempts message")
    assert(n >= 8 and n <= 60, "ticks during two attempts: " .. n)

    -- the overall timeout (argument 5 / the method's argument 3) cuts long tries short
    local slow = ratchet.dns.new{nameservers = {ns}, timeout = 5, attempts = 3}
    n, res, msg = timed(ratchet.dns.query, "mail.test", "mx", slow, nil, 0.2)
    eq(res, nil, "expire result"); eq(msg, "Timed out.", "expire message")
    assert(n >= 2 and n <= 30, "ticks before expire: " .. n)
    n, res, msg = timed(slow.query, slow, "host.test", "aaaa", 0.2)
    eq(msg, "Timed out.", "evdns expire message")
    assert(n >= 2 and n <= 30, "ticks before evdns expire: " .. n)
    n, res, msg = timed(slow.query, slow, "host.test", "a", 0)
    eq(msg, "Timed out.", "expire 0")

    -- a refused port fails the raw path at once
    local refused = ratchet.dns.new{nameservers = {"127.0.0.1:" .. closed_port}, timeout = 3, attempts = 2}
    n, res, msg = timed(refused.query, refused, "mail.test", "mx")
    eq(res, nil, "refused result"); eq(msg, "No usable name server: Connection refused.", "refused message")
    assert(n <= 10, "a refused port waited: " .. n)

    -- a thread killed while it waits: the others go on, its socket is closed
    collectgarbage(); collectgarbage()
    local fds = helper.fd_count()
    local victim = ratchet.thread.attach(function() slow:query("mail.test", "srv") end)
    ratchet.thread.timer(0.1)
    assert(helper.fd_count() > fds, "the raw query has a socket open")
    ratchet.thread.kill(victim)
    collectgarbage(); collectgarbage()
    eq(helper.fd_count(), fds, "descriptors after killing a querying thread")

    ticking = false
    ratchet.thread.wait_all{ticker}
end

local ok, err = pcall(helper.run, body)

-- closing a kernel whose threads wait for answers frees every request, evdns or raw
if ok then
    ok, err = pcall(function()
        local r = ratchet.dns.new{nameservers = {ns}, timeout = 5}
        collectgarbage(); collectgarbage()
        local fds = helper.fd_count()
        for _ = 1, 3 do
            local k = ratchet.new(function()
                ratchet.thread.attach(function() r:query("host.test", "a") end)
                ratchet.thread.attach(function() r:query("mail.test", "mx") end)
                r:query_all("x.test", {"aaaa", "txt", "soa"})
            end)
            for _ = 1, 3 do k:loop_once(true) end
            k:close()
        end
        collectgarbage(); collectgarbage()
        eq(helper.fd_count(), fds, "descriptors after closing kernels with queries in flight")
    end)
end
silent.stop()
assert(ok, err)
print("ok")
