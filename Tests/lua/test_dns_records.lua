-- Every record type ratchet.dns answers, against a private dnsmasq: result shapes as in
-- the reference (§1.8), answer order, NXDOMAIN messages, case-insensitive types, the MX
-- table with get_i, PTR of literals, and TCP fallback for an answer too big for UDP.
local ratchet = require "ratchet"
local helper = require "helper"
local dnsmasq = require "dnsmasq"
local eq = helper.eq

local function hexstr(s) return dnsmasq.hex_bytes(s) end
local sha1 = string.rep("\1\2\3\4\5", 4)          -- 20 bytes
local sha256 = string.rep("\170\187\204\221", 8)  -- 32 bytes
local big = {}
for i = 1, 24 do
    big[#big + 1] = string.format('txt-record=big.test,"%s"', string.rep(string.char(96 + i % 26), 230))
end

local zone = {
    "local=/test/",
    "local=/2.0.192.in-addr.arpa/",
    "address=/host.test/192.0.2.10",
    "address=/host.test/2001:db8::10",
    "address=/multi.test/192.0.2.21",
    "address=/multi.test/192.0.2.22",
    "host-record=v6host.test,2001:db8::99",
    "mx-host=mail.test,mx1.mail.test,10",
    "mx-host=mail.test,mx2.mail.test,10",
    "mx-host=mail.test,mx3.mail.test,20",
    "mx-host=single.test,only.mail.test,5",
    'txt-record=txt.test,"v=spf1 -all"',
    'txt-record=txt2.test,"hello","world"',
    -- dnsmasq chases a CNAME only to names it holds as records (not address=)
    "host-record=target.test,192.0.2.30,2001:db8::30",
    "cname=alias.test,target.test",
    "srv-host=_smtp._tcp.test,mx1.mail.test,25,10,5",
    "srv-host=_smtp._tcp.test,mx2.mail.test,2525,20,0",
    "ptr-record=10.2.0.192.in-addr.arpa,host.test",
    "dns-rr=zone.test,6," .. dnsmasq.hex_name("ns1.zone.test") .. dnsmasq.hex_name("admin.zone.test")
        .. dnsmasq.hex_u32(2024010101) .. dnsmasq.hex_u32(3600) .. dnsmasq.hex_u32(600)
        .. dnsmasq.hex_u32(86400) .. dnsmasq.hex_u32(300),
    "dns-rr=zone.test,2," .. dnsmasq.hex_name("ns1.zone.test"),
    "dns-rr=zone.test,2," .. dnsmasq.hex_name("ns2.zone.test"),
    "dns-rr=sshfp.test,44,0101" .. hexstr(sha1),
    "dns-rr=sshfp.test,44,0402" .. hexstr(sha256),
    "dns-rr=spf.test,99,0a" .. hexstr("v=spf1 +mx"),
    -- a TXT whose length byte claims more than the record holds
    "dns-rr=badtxt.test,16,0b" .. hexstr("v=spf1 +mx"),
}
for _, l in ipairs(big) do zone[#zone + 1] = l end
local srv = dnsmasq.start(zone)

local ok, err = pcall(helper.run, function()
    local r = ratchet.dns.new{nameservers = {"127.0.0.1:" .. srv.port}, timeout = 2, attempts = 2}
    ratchet.dns.set_default(r)

    -- A / AAAA: arrays of address userdata whose tostring is the text form
    local a = assert(ratchet.dns.query("host.test", "a"))
    eq(#a, 1, "#a"); eq(tostring(a[1]), "192.0.2.10", "a[1]"); eq(type(a[1]), "userdata", "a type")
    local aaaa = assert(ratchet.dns.query("host.test", "AAAA"))
    eq(#aaaa, 1, "#aaaa"); eq(tostring(aaaa[1]), "2001:db8::10", "aaaa[1]")
    local multi = assert(ratchet.dns.query("multi.test", "a"))
    eq(#multi, 2, "#multi")
    local seen = {[tostring(multi[1])] = true, [tostring(multi[2])] = true}
    assert(seen["192.0.2.21"] and seen["192.0.2.22"], "multi.test addresses")
    -- evdns follows the CNAME to the address
    eq(tostring(assert(ratchet.dns.query("alias.test", "a"))[1]), "192.0.2.30", "A through CNAME")
    -- a trailing dot means the same absolute name
    eq(tostring(assert(ratchet.dns.query("host.test.", "a"))[1]), "192.0.2.10", "absolute name")

    -- MX: t[preference] arrays, t.priorities sorted, t.n, t:get_i
    local mx = assert(ratchet.dns.query("mail.test", "Mx"))
    eq(mx.n, 3, "mx.n")
    eq(#mx.priorities, 2, "#priorities"); eq(mx.priorities[1], 10, "prio 1"); eq(mx.priorities[2], 20, "prio 2")
    eq(#mx[10], 2, "#mx[10]"); eq(#mx[20], 1, "#mx[20]"); eq(mx[20][1], "mx3.mail.test.", "mx[20][1]")
    local ten = {[mx[10][1]] = true, [mx[10][2]] = true}
    assert(ten["mx1.mail.test."] and ten["mx2.mail.test."], "preference 10 hosts")
    eq(mx:get_i(1), mx[10][1], "get_i(1)"); eq(mx:get_i(2), mx[10][2], "get_i(2)")
    eq(mx:get_i(3), "mx3.mail.test.", "get_i(3)")
    eq(mx:get_i(4), mx[10][1], "get_i(4) wraps to 1")
    eq(mx:get_i(5), mx[10][2], "get_i(5) wraps to 2")
    eq(select("#", mx:get_i(6)), 0, "get_i(6): 6 % 3 == 0 gives nothing")
    eq(select("#", mx:get_i(0)), 0, "get_i(0)"); eq(select("#", mx:get_i(-1)), 0, "get_i(-1)")
    eq(getmetatable(mx).__name, "ratchet_dns_mx_meta", "mx metatable")
    helper.raises_msg("number expected", mx.get_i, mx, "x")
    local one = assert(ratchet.dns.query("single.test", "mx"))
    eq(one.n, 1, "single n"); eq(one:get_i(1), "only.mail.test.", "single get_i(1)")
    -- the reference's wrap-around: i > n becomes i % n, and 2 % 1 == 0 gives nothing
    eq(select("#", one:get_i(2)), 0, "single get_i(2)")

    -- NS, CNAME, PTR: names with a trailing dot
    local ns = assert(ratchet.dns.query("zone.test", "ns"))
    -- (dnsmasq's answer order is not its configuration order)
    table.sort(ns)
    eq(#ns, 2, "#ns"); eq(ns[1], "ns1.zone.test.", "ns[1]"); eq(ns[2], "ns2.zone.test.", "ns[2]")
    eq(assert(ratchet.dns.query("alias.test", "cname"))[1], "target.test.", "cname")
    eq(assert(ratchet.dns.query("192.0.2.10", "ptr"))[1], "host.test.", "ptr of an IPv4 literal")
    eq(assert(ratchet.dns.query("10.2.0.192.in-addr.arpa", "ptr"))[1], "host.test.", "ptr of the arpa name")
    eq(assert(ratchet.dns.query("2001:db8::99", "ptr"))[1], "v6host.test.", "ptr of an IPv6 literal")

    -- SOA and SRV: named fields
    local soa = assert(ratchet.dns.query("zone.test", "soa"))[1]
    eq(soa.mname, "ns1.zone.test.", "mname"); eq(soa.rname, "admin.zone.test.", "rname")
    eq(soa.serial, 2024010101, "serial"); eq(soa.refresh, 3600, "refresh"); eq(soa.retry, 600, "retry")
    eq(soa.expire, 86400, "expire"); eq(soa.minimum, 300, "minimum")
    local srvs = assert(ratchet.dns.query("_smtp._tcp.test", "srv"))
    eq(#srvs, 2, "#srv")
    table.sort(srvs, function(x, y) return x.priority < y.priority end)
    eq(srvs[1].priority, 10, "srv priority"); eq(srvs[1].weight, 5, "srv weight")
    eq(srvs[1].port, 25, "srv port"); eq(srvs[1].target, "mx1.mail.test.", "srv target")
    eq(srvs[2].port, 2525, "srv 2 port"); eq(srvs[2].weight, 0, "srv 2 weight")

    -- TXT / SPF: strings, a record's character-strings joined
    eq(assert(ratchet.dns.query("txt.test", "txt"))[1], "v=spf1 -all", "txt")
    eq(assert(ratchet.dns.query("txt2.test", "TXT"))[1], "helloworld", "txt of two strings")
    eq(assert(ratchet.dns.query("spf.test", "spf"))[1], "v=spf1 +mx", "spf")

    -- SSHFP
    local fps = assert(ratchet.dns.query("sshfp.test", "sshfp"))
    eq(#fps, 2, "#sshfp")
    table.sort(fps, function(x, y) return #x.digest < #y.digest end)
    eq(fps[1].algorithm, "rsa", "sshfp alg"); eq(fps[1].type, "sha1", "sshfp type"); eq(fps[1].digest, sha1, "sha1 digest")
    eq(fps[2].algorithm, "ed25519", "sshfp alg 4"); eq(fps[2].type, "sha256", "sshfp type 2"); eq(fps[2].digest, sha256, "sha256 digest")

    -- an answer bigger than any UDP reply dnsmasq sends comes over TCP
    local bigs = assert(ratchet.dns.query("big.test", "txt"))
    eq(#bigs, #big, "#big txt")
    for _, s in ipairs(bigs) do eq(#s, 230, "big txt length") end

    -- failures are returned, not raised
    local res, msg = ratchet.dns.query("nx.test", "a")
    eq(res, nil, "nx a"); eq(msg, "nx.test has no A record", "nx a message")
    res, msg = ratchet.dns.query("nx.test", "mx")
    eq(res, nil, "nx mx"); eq(msg, "nx.test has no MX record", "nx mx message")
    res, msg = ratchet.dns.query("host.test", "mx")
    eq(res, nil, "nodata mx"); eq(msg, "host.test has no MX record", "nodata mx message")
    res, msg = ratchet.dns.query("txt.test", "aaaa")
    eq(res, nil, "nodata aaaa"); eq(msg, "txt.test has no AAAA record", "nodata aaaa message")
    -- cut short at once (the answer may still win the race): the cancelled evdns and raw
    -- requests must be freed, which scripts/check-memory verifies under valgrind
    for _, t in ipairs{"a", "aaaa", "mx", "txt"} do
        res, msg = ratchet.dns.query(t == "a" and "host.test" or "mail.test", t, nil, nil, 0)
        assert(type(res) == "table" or msg == "Timed out." or msg:find("has no"), "expire 0 " .. t .. ": " .. tostring(msg))
    end
    local cut = ratchet.dns.query_all("host.test", {"a", "aaaa", "mx", "srv"}, nil, nil, 0)
    for _, t in ipairs{"a", "aaaa", "mx", "srv"} do
        assert(cut[t] or cut[t .. "_error"], "expire 0 query_all " .. t)
    end
    res, msg = ratchet.dns.query("badtxt.test", "txt")
    eq(res, nil, "malformed txt"); eq(msg, "Malformed DNS answer.", "malformed message")
    res, msg = ratchet.dns.query("192.0.2.77", "ptr")
    eq(res, nil, "ptr without record"); eq(msg, "192.0.2.77 has no PTR record", "ptr message")
    -- dnsmasq without upstream refuses names outside its zones
    res, msg = ratchet.dns.query("example.org", "mx")
    eq(res, nil, "refused"); eq(msg, "Query refused by the name server (REFUSED).", "refused message")
    res, msg = ratchet.dns.query("example.org", "a")
    eq(res, nil, "refused a"); eq(msg, "Query refused by the name server (REFUSED).", "refused a message")
end)
srv.stop()
assert(ok, err)
print("ok")
