-- query_all: answers[type] or answers[type.."_error"] per type, with the types asked in
-- parallel (four timeouts take the time of one), mixing local and network answers.
local ratchet = require "ratchet"
local helper = require "helper"
local dnsmasq = require "dnsmasq"
local eq = helper.eq

local srv = dnsmasq.start{
    "local=/test/",
    "address=/host.test/192.0.2.10",
    "address=/host.test/2001:db8::10",
    "mx-host=host.test,mx.host.test,10",
}
local silent = dnsmasq.silent()

local ok, err = pcall(helper.run, function()
    local r = ratchet.dns.new{nameservers = {"127.0.0.1:" .. srv.port}, timeout = 2}
    local all = ratchet.dns.query_all("host.test", {"a", "AAAA", "mx", "txt"}, r)
    eq(tostring(all.a[1]), "192.0.2.10", "a"); eq(all.a_error, nil, "no a_error")
    eq(tostring(all.AAAA[1]), "2001:db8::10", "AAAA keyed as given")
    eq(all.mx:get_i(1), "mx.host.test.", "mx")
    eq(all.txt, nil, "no txt"); eq(all.txt_error, "host.test has no TXT record", "txt_error")

    all = r:query_all("nx.test", {"a", "aaaa"})
    eq(all.a_error, "nx.test has no A record", "method a_error")
    eq(all.aaaa_error, "nx.test has no AAAA record", "method aaaa_error")
    local n = 0
    for _ in pairs(r:query_all("host.test", {})) do n = n + 1 end
    eq(n, 0, "no types, empty answers")

    -- the same type twice, and local and network answers together
    all = r:query_all("host.test", {"a", "a"})
    eq(tostring(all.a[1]), "192.0.2.10", "twice")
    all = ratchet.dns.query_all("127.0.0.1", {"a", "ptr", "mx"}, r)
    eq(tostring(all.a[1]), "127.0.0.1", "local a"); eq(all.ptr[1], "localhost.", "local ptr")
    eq(all.mx_error, "127.0.0.1 has no MX record", "literal mx")

    -- in parallel: four types against a silent server time out together
    local quiet = ratchet.dns.new{nameservers = {"127.0.0.1:" .. silent.port}, timeout = 0.4, attempts = 1}
    local ticks, ticking = 0, true
    local ticker = ratchet.thread.attach(function()
        while ticking do ratchet.thread.timer(0.05); ticks = ticks + 1 end
    end)
    all = quiet:query_all("host.test", {"a", "aaaa", "mx", "txt"})
    local took = ticks
    ticking = false
    for _, t in ipairs{"a", "aaaa", "mx", "txt"} do
        eq(all[t], nil, t .. " result"); eq(all[t .. "_error"], "Timed out.", t .. " error")
    end
    -- one timeout is 8 ticks; in sequence the four would take 32 (a loaded machine ticks
    -- less, never more)
    assert(took >= 2 and took <= 20, "ticks for four parallel queries: " .. took)
    ratchet.thread.wait_all{ticker}

    -- the overall limit applies to the whole call
    all = ratchet.dns.query_all("host.test", {"a", "mx"}, quiet, nil, 0.1)
    eq(all.a_error, "Timed out.", "expired a"); eq(all.mx_error, "Timed out.", "expired mx")
end)
srv.stop()
silent.stop()
assert(ok, err)
print("ok")
