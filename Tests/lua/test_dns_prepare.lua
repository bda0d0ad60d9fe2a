-- prepare_tcp/prepare_udp resolving through ratchet.dns's default resolver: AAAA before
-- A, family filters, ENOENT "No DNS records: ..." (nothing from prepare_udp), a dead
-- nameserver that only delays the caller, and a connection to a server found by name.
local ratchet = require "ratchet"
local helper = require "helper"
local dnsmasq = require "dnsmasq"
local socket = ratchet.socket
local eq = helper.eq

local srv = dnsmasq.start{
    "local=/test/",
    "address=/host.test/192.0.2.10",
    "address=/host.test/2001:db8::10",
    "address=/v4only.test/192.0.2.11",
    "address=/loop.test/127.0.0.1",
}
local silent = dnsmasq.silent()

-- outside a thread a name that needs the network cannot be looked up
helper.raises("EPERM", socket.prepare_tcp, "host.test", 1)

local ok, err = pcall(helper.run, function()
    ratchet.dns.set_default(ratchet.dns.new{nameservers = {"127.0.0.1:" .. srv.port}, timeout = 2})

    local rec = socket.prepare_tcp("host.test", 25)
    eq(rec.family, 10, "AAAA first"); eq(tostring(rec.addr), "2001:db8::10", "v6 address")
    eq(rec.addr.port, 25, "port"); eq(rec.host, "host.test", "host as given"); eq(rec.socktype, 1, "stream")
    rec = socket.prepare_tcp("host.test", 25, "AF_INET")
    eq(rec.family, 2, "AF_INET"); eq(tostring(rec.addr), "192.0.2.10", "v4 address")
    rec = socket.prepare_tcp("v4only.test", 26)
    eq(rec.family, 2, "no AAAA: A"); eq(tostring(rec.addr), "192.0.2.11", "v4only address")
    rec = socket.prepare_udp("host.test", 53, "AF_INET6")
    eq(rec.socktype, 2, "udp socktype"); eq(tostring(rec.addr), "2001:db8::10", "udp v6")

    local e = helper.raises("ENOENT", socket.prepare_tcp, "nx.test", 80)
    eq(e.description, "No DNS records: nx.test has no A record", "no records description")
    eq(e["function"], "ratchet.dns.query()", "no records function")
    e = helper.raises("ENOENT", socket.prepare_tcp, "v4only.test", 80, "AF_INET6")
    eq(e.description, "No DNS records: v4only.test has no AAAA record", "AAAA only description")
    eq(select("#", socket.prepare_udp("nx.test", 53)), 0, "prepare_udp: nothing")

    -- a server found by name
    local server = socket.new(2, 1)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(socket.prepare_tcp("127.0.0.1", 0).addr)
    server:listen()
    local _, port = server:getsockname()
    local accepted
    local acceptor = ratchet.thread.attach(function()
        local c = server:accept()
        accepted = c:recv()
        c:close()
    end)
    local crec = socket.prepare_tcp("loop.test", port, "AF_INET")
    local client = socket.new(crec.family, crec.socktype, crec.protocol)
    client:connect(crec.addr)
    client:send("over dns")
    ratchet.thread.wait_all{acceptor}
    eq(accepted, "over dns", "data through a connection to a resolved name")
    client:close(); server:close()

    -- a nameserver that never answers delays only this thread
    ratchet.dns.set_default(ratchet.dns.new{nameservers = {"127.0.0.1:" .. silent.port}, timeout = 0.3, attempts = 1})
    local ticks, ticking = 0, true
    local ticker = ratchet.thread.attach(function()
        while ticking do ratchet.thread.timer(0.05); ticks = ticks + 1 end
    end)
    e = helper.raises("ENOENT", socket.prepare_tcp, "host.test", 80)
    eq(e.description, "No DNS records: Timed out.", "the reference's timeout description")
    assert(ticks >= 3, "other threads ran while DNS waited: " .. ticks)
    ticking = false
    ratchet.thread.wait_all{ticker}
    -- local names still answer at once
    eq(tostring(socket.prepare_tcp("localhost", 1, "AF_INET").addr), "127.0.0.1", "localhost offline")
    ratchet.dns.set_default(nil)
end)
srv.stop()
silent.stop()
assert(ok, err)
print("ok")
