-- Resolver objects: ratchet.dns.new{...} (nameservers with ports, timeout, attempts,
-- search), the original's new(resolv_conf, hosts, timeout), set_default/get_default,
-- resolv_conf objects (with the "[addr]:port" extension), failover to a second
-- nameserver, and bad options.
local ratchet = require "ratchet"
local helper = require "helper"
local dnsmasq = require "dnsmasq"
local eq = helper.eq

local function file(text) return helper.write_tmp(text, "conf") end

local function raises_arg(n, what, f, ...)
    local e = helper.raises_msg("bad argument #" .. n .. " to ", f, ...)
    assert(tostring(e):find(what, 1, true), "expected '" .. what .. "' in: " .. tostring(e))
end

local srv = dnsmasq.start({
    "local=/test/",
    "address=/host.test/192.0.2.10",
    "mx-host=mail.test,mx1.mail.test,10",
    "address=/host.other/192.0.2.99",
    "local=/other/",
}, true)
local silent = dnsmasq.silent()
local good = "127.0.0.1:" .. srv.port
local dead = "127.0.0.1:" .. silent.port

-- nameserver forms and defaults
local r = ratchet.dns.new{nameservers = {"127.0.0.1:5353", "[::1]:53", "::1", "192.0.2.1", "[2001:db8::1]:5300"}}
local list = r:get_nameservers()
eq(table.concat(list, " "), "127.0.0.1:5353 [::1]:53 [::1]:53 192.0.2.1:53 [2001:db8::1]:5300", "nameserver forms")
eq(table.concat(ratchet.dns.new{}:get_nameservers(), " "),
   table.concat(ratchet.dns.get_default():get_nameservers(), " "), "new{} uses resolv.conf's nameservers")
eq(table.concat(ratchet.dns.new():get_nameservers(), " "),
   table.concat(ratchet.dns.get_default():get_nameservers(), " "), "new() is the system resolver")
local empty_rc = ratchet.dns.resolv_conf.new{file "# nothing\n"}
eq(table.concat(ratchet.dns.new(empty_rc):get_nameservers(), " "), "127.0.0.1:53", "no nameserver line: 127.0.0.1")

-- bad options
raises_arg(1, "invalid nameserver address: bogus", ratchet.dns.new, {nameservers = {"bogus"}})
raises_arg(1, "invalid nameserver address: 1.2.3.4:0", ratchet.dns.new, {nameservers = {"1.2.3.4:0"}})
raises_arg(1, "invalid nameserver address: not a string", ratchet.dns.new, {nameservers = {5}})
raises_arg(1, "nameservers must be an array", ratchet.dns.new, {nameservers = "1.2.3.4"})
raises_arg(1, "timeout must be", ratchet.dns.new, {timeout = 0})
raises_arg(1, "timeout must be", ratchet.dns.new, {timeout = 0 / 0})
raises_arg(1, "attempts must be", ratchet.dns.new, {attempts = 0})
raises_arg(1, "attempts must be", ratchet.dns.new, {attempts = 1.5})
raises_arg(1, "hosts must be", ratchet.dns.new, {hosts = {}})
raises_arg(1, "search must be", ratchet.dns.new, {search = "test"})
raises_arg(1, "table expected, got string", ratchet.dns.new, "x")
raises_arg(1, "ratchet.dns resolver expected", ratchet.dns.set_default, {})
raises_arg(1, "ratchet.dns resolver expected", r.query, {}, "x", "a")
raises_arg(4, "number expected", r.query, r, "x", "a", "soon")

local ok, err = pcall(helper.run, function()
    -- set_default makes module functions use the resolver
    local mine = ratchet.dns.new{nameservers = {good}, timeout = 1}
    ratchet.dns.set_default(mine)
    eq(ratchet.dns.get_default(), mine, "get_default")
    eq(tostring(ratchet.dns.query("host.test", "a")[1]), "192.0.2.10", "module query through the default")
    eq(ratchet.dns.query("mail.test", "mx"):get_i(1), "mx1.mail.test.", "module mx through the default")
    ratchet.dns.set_default(nil)
    assert(ratchet.dns.get_default() ~= mine, "set_default(nil) restores the system resolver")

    -- methods
    eq(tostring(mine:query("host.test", "a")[1]), "192.0.2.10", "resolver:query")
    eq(tostring(mine:query_all("host.test", {"a"}).a[1]), "192.0.2.10", "resolver:query_all")
    -- a resolver where the reference takes a resolv_conf (an extension)
    eq(tostring(ratchet.dns.query("host.test", "a", mine)[1]), "192.0.2.10", "resolver as argument 3")

    -- resolv_conf objects as argument 3, with a search list
    local rc = ratchet.dns.resolv_conf.new{file(string.format(
        "; comment\nnameserver [%s]:%d\nsearch other test\noptions timeout:1 attempts:1 ndots:1\n",
        "127.0.0.1", srv.port))}
    eq(tostring(ratchet.dns.query("host", "a", rc)[1]), "192.0.2.99", "search list: first domain that has it")
    eq(ratchet.dns.query("mail", "mx", rc):get_i(1), "mx1.mail.test.", "search list on the raw path")
    eq(tostring(ratchet.dns.query("host.test", "a", rc)[1]), "192.0.2.10", "a dotted name as is first")
    local res, msg = ratchet.dns.query("nothere", "a", rc)
    eq(res, nil, "search miss"); eq(msg, "nothere has no A record", "search miss message names the name asked")
    res, msg = ratchet.dns.query("host.", "a", rc)
    eq(res, nil, "absolute names skip the search list")
    -- the original's positional form: new(resolv_conf, hosts, timeout)
    local hosts = ratchet.dns.hosts.new{file "192.0.2.50 host.test\n"}
    local pos = ratchet.dns.new(rc, hosts, 3)
    eq(tostring(pos:query("host.test", "a")[1]), "192.0.2.50", "positional hosts win over DNS")
    eq(tostring(pos:query("host", "a")[1]), "192.0.2.99", "positional resolv_conf")
    eq(tostring(ratchet.dns.query("host.test", "a", rc, hosts)[1]), "192.0.2.50", "hosts as argument 4")

    -- search through new{}
    local searching = ratchet.dns.new{nameservers = {good}, search = {"test."}, ndots = 2}
    eq(tostring(searching:query("host.test", "a")[1]), "192.0.2.10", "ndots 2: search first, then as is")
    eq(searching:query("mail", "mx"):get_i(1), "mx1.mail.test.", "new{search}")

    -- failover: the first nameserver never answers, the second does
    local pair = ratchet.dns.new{nameservers = {dead, good}, timeout = 0.3, attempts = 1}
    eq(tostring(pair:query("host.test", "a")[1]), "192.0.2.10", "evdns fails over")
    eq(pair:query("mail.test", "mx"):get_i(1), "mx1.mail.test.", "raw path fails over")
    -- an IPv6 nameserver, for evdns and for the raw path
    local v6 = ratchet.dns.new{nameservers = {"[::1]:" .. srv.port}, timeout = 1}
    eq(tostring(v6:query("host.test", "a")[1]), "192.0.2.10", "A from an IPv6 nameserver")
    eq(v6:query("mail.test", "mx"):get_i(1), "mx1.mail.test.", "MX from an IPv6 nameserver")
    -- new{resolv_conf = ...} starts from a resolv_conf and overrides
    local derived = ratchet.dns.new{resolv_conf = rc, search = {}}
    eq(table.concat(derived:get_nameservers(), " "), good, "resolv_conf option")
    res = derived:query("host", "a")
    eq(res, nil, "search list overridden")
end)
srv.stop()
silent.stop()
assert(ok, err)
print("ok")
