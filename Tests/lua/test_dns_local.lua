-- Answers that need no nameserver: IP literals, "*", "localhost", hosts files (the
-- system one and ratchet.dns.hosts objects), PTR of listed addresses; they come at once
-- even when the only nameserver never answers, and even outside a ratchet thread.
-- Also: bad arguments, unknown types, unreadable configuration files.
local ratchet = require "ratchet"
local helper = require "helper"
local dnsmasq = require "dnsmasq"
local eq = helper.eq

local function file(text) return helper.write_tmp(text, "hosts") end

local hosts = ratchet.dns.hosts.new{file [[
# a comment line
192.0.2.5   myhost.example   alias      # trailing comment
2001:db8::5 myhost.example
10.0.0.1    v4only
fe80::1%lo  linklocal
not-an-address ignored
]]}
local empty = ratchet.dns.hosts.new{file ""}

--- Asserts an argument error for argument `n` whose message contains `what`.
local function raises_arg(n, what, f, ...)
    local e = helper.raises_msg("bad argument #" .. n .. " to ", f, ...)
    assert(tostring(e):find(what, 1, true), "expected '" .. what .. "' in: " .. tostring(e))
end

local function addr(res) return res and tostring(res[1]) end

-- outside any kernel: local answers work, network ones say they need a thread
eq(addr(ratchet.dns.query("127.0.0.1", "a")), "127.0.0.1", "v4 literal")
eq(addr(ratchet.dns.query("::1", "aaaa")), "::1", "v6 literal")
eq(addr(ratchet.dns.query("*", "a")), "0.0.0.0", "* a")
eq(addr(ratchet.dns.query("*", "AAAA")), "::", "* aaaa")
eq(getmetatable(ratchet.dns.query("*", "aaaa")[1]).__name, "ratchet_dns_aaaa_meta", "aaaa userdata")
eq(getmetatable(ratchet.dns.query("*", "a")[1]).__name, "ratchet_dns_a_meta", "a userdata")
local res, msg = ratchet.dns.query("127.0.0.1", "aaaa")
eq(res, nil, "v4 literal aaaa"); eq(msg, "127.0.0.1 has no AAAA record", "v4 literal aaaa message")
res, msg = ratchet.dns.query("::1", "a")
eq(res, nil, "v6 literal a"); eq(msg, "::1 has no A record", "v6 literal a message")
res, msg = ratchet.dns.query("192.0.2.1", "mx")
eq(res, nil, "literal mx"); eq(msg, "192.0.2.1 has no MX record", "literal mx message")
assert(ratchet.dns.query("127.0.0.1", "a")[1] == ratchet.dns.query("127.0.0.1", "a")[1], "addresses compare by value")
assert(ratchet.dns.query("127.0.0.1", "a")[1] ~= ratchet.dns.query("127.0.0.2", "a")[1], "different addresses differ")
helper.raises("EPERM", ratchet.dns.query, "name.example", "a")
-- an embedded NUL does not make a literal
helper.raises("EPERM", ratchet.dns.query, "127.0.0.1\0.example", "a")
-- RFC 6761: nothing under .invalid exists, and no nameserver is asked
res, msg = ratchet.dns.query("name.invalid", "mx")
eq(res, nil, ".invalid"); eq(msg, "name.invalid has no MX record", ".invalid message")

-- hosts objects as argument 4
eq(addr(ratchet.dns.query("myhost.example", "a", nil, hosts)), "192.0.2.5", "hosts a")
eq(addr(ratchet.dns.query("MyHost.Example.", "aaaa", nil, hosts)), "2001:db8::5", "hosts aaaa, any case, absolute")
eq(addr(ratchet.dns.query("alias", "a", nil, hosts)), "192.0.2.5", "hosts alias")
eq(addr(ratchet.dns.query("linklocal", "aaaa", nil, hosts)), "fe80::1", "scoped hosts entry")
res, msg = ratchet.dns.query("v4only", "aaaa", nil, hosts)
eq(res, nil, "hosts name without aaaa"); eq(msg, "v4only has no AAAA record", "listed name answers locally")
local ptr = assert(ratchet.dns.query("192.0.2.5", "ptr", nil, hosts))
eq(#ptr, 2, "#ptr"); eq(ptr[1], "myhost.example.", "ptr[1]"); eq(ptr[2], "alias.", "ptr[2]")
eq(assert(ratchet.dns.query("5.2.0.192.in-addr.arpa", "ptr", nil, hosts))[1], "myhost.example.", "ptr of arpa name")
eq(assert(ratchet.dns.query("5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "ptr", nil, hosts))[1],
   "myhost.example.", "ptr of ip6.arpa name")
eq(assert(ratchet.dns.query("2001:db8::5", "ptr", nil, hosts))[1], "myhost.example.", "ptr of v6 literal")

-- localhost without a hosts entry, and the system /etc/hosts
eq(addr(ratchet.dns.query("localhost", "a", nil, empty)), "127.0.0.1", "localhost a")
eq(addr(ratchet.dns.query("localhost", "aaaa", nil, empty)), "::1", "localhost aaaa")
eq(addr(ratchet.dns.query("mail.localhost", "a", nil, empty)), "127.0.0.1", "*.localhost")
eq(ratchet.dns.query("::1", "ptr", nil, empty)[1], "localhost.", "ptr ::1")
eq(ratchet.dns.query("127.0.0.1", "ptr", nil, empty)[1], "localhost.", "ptr 127.0.0.1")
eq(addr(ratchet.dns.query("localhost", "a")), "127.0.0.1", "system hosts localhost")
eq(ratchet.dns.query("127.0.0.1", "ptr")[1], "localhost.", "system hosts ptr (the reference's listen_connect check)")
eq(addr(ratchet.dns.query("localhost", "a", nil, ratchet.dns.hosts.new())), "127.0.0.1", "hosts.new() is /etc/hosts")

-- unknown types and bad arguments
helper.raises_msg("unknown DNS query type: bogus", ratchet.dns.query, "x", "bogus")
helper.raises_msg("unknown DNS query type: HINFO", ratchet.dns.query_all, "x", {"a", "HINFO"})
raises_arg(1, "(string expected, got nil)", ratchet.dns.query, nil, "a")
raises_arg(2, "(string expected, got table)", ratchet.dns.query, "x", {})
raises_arg(2, "(table expected, got string)", ratchet.dns.query_all, "x", "a")
raises_arg(3, "(ratchet.dns.resolv_conf expected, got number)", ratchet.dns.query, "x", "a", 5)
raises_arg(4, "(ratchet.dns.hosts expected, got string)", ratchet.dns.query, "x", "a", nil, "hosts")
raises_arg(5, "(number expected, got string)", ratchet.dns.query, "x", "a", nil, nil, "1")
raises_arg(5, "NaN", ratchet.dns.query, "x", "a", nil, nil, 0 / 0)
raises_arg(1, "table expected", ratchet.dns.resolv_conf.new, "path")
raises_arg(1, "table expected", ratchet.dns.hosts.new, 5)
local err = helper.raises("ENOENT", ratchet.dns.resolv_conf.new, {"/nonexistent/resolv.conf"})
eq(err["function"], "ratchet.dns.resolv_conf.new()", "resolv_conf error function")
eq(err.description, "/nonexistent/resolv.conf: " .. "No such file or directory", "resolv_conf error description")
err = helper.raises("ENOENT", ratchet.dns.hosts.new, {"/nonexistent/hosts"})
eq(err["function"], "ratchet.dns.hosts.new()", "hosts error function")
eq(package.loaded["ratchet.dns.resolv_conf"], ratchet.dns.resolv_conf, "ratchet.dns.resolv_conf loaded")
eq(package.loaded["ratchet.dns.hosts"], ratchet.dns.hosts, "ratchet.dns.hosts loaded")

-- inside a thread with a nameserver that never answers: local answers are immediate
local silent = dnsmasq.silent()
local ok, perr = pcall(helper.run, function()
    ratchet.dns.set_default(ratchet.dns.new{nameservers = {"127.0.0.1:" .. silent.port}, timeout = 5})
    -- if any of these went to the silent nameserver, this watchdog would fire first
    local slow = false
    local watchdog = ratchet.thread.attach(function() ratchet.thread.timer(0.5); slow = true end)
    eq(addr(ratchet.dns.query("localhost", "a")), "127.0.0.1", "localhost offline")
    eq(ratchet.dns.query("127.0.0.1", "ptr")[1], "localhost.", "ptr offline")
    eq(addr(ratchet.dns.query("*", "aaaa")), "::", "* offline")
    local all = ratchet.dns.query_all("localhost", {"aaaa", "a"}, nil, empty)
    eq(tostring(all.aaaa[1]), "::1", "query_all localhost aaaa"); eq(tostring(all.a[1]), "127.0.0.1", "query_all localhost a")
    all = ratchet.dns.query_all("192.0.2.9", {"AAAA", "a"})
    eq(all.AAAA, nil, "literal AAAA key absent"); eq(all.AAAA_error, "192.0.2.9 has no AAAA record", "error key keeps the caller's spelling")
    eq(tostring(all.a[1]), "192.0.2.9", "literal a")
    assert(not slow, "local answers waited for the network")
    ratchet.thread.kill(watchdog)
    ratchet.dns.set_default(nil)
end)
silent.stop()
assert(ok, perr)
print("ok")
