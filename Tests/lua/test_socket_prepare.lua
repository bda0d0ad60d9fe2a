-- prepare_tcp/prepare_udp/prepare_unix records: literals, "*", localhost and /etc/hosts
-- answered locally (no network), AAAA before A, ENOENT for unknown names, port checks.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local function check(rec, family, text, port, host)
    helper.eq(rec.family, family, "family of " .. host)
    helper.eq(rec.socktype, 1, "socktype of " .. host)
    helper.eq(rec.protocol, 0, "protocol of " .. host)
    helper.eq(rec.host, host, "host kept as given")
    helper.eq(tostring(rec.addr), text, "address of " .. host)
    helper.eq(rec.addr.port, port, "port of " .. host)
end

helper.run(function()
    check(socket.prepare_tcp("127.0.0.1", 25), 2, "127.0.0.1", 25, "127.0.0.1")
    check(socket.prepare_tcp("10.1.2.3", 65535, "AF_INET"), 2, "10.1.2.3", 65535, "10.1.2.3")
    check(socket.prepare_tcp("::1", 8080), 10, "::1", 8080, "::1")
    check(socket.prepare_tcp("[2001:db8::1]", 1), 10, "2001:db8::1", 1, "[2001:db8::1]")
    check(socket.prepare_tcp("*", 0), 10, "::", 0, "*")             -- AAAA first
    check(socket.prepare_tcp("*", 0, "AF_UNSPEC"), 10, "::", 0, "*")
    check(socket.prepare_tcp("*", 0, "AF_INET"), 2, "0.0.0.0", 0, "*")
    check(socket.prepare_tcp("*", 0, "AF_INET6"), 10, "::", 0, "*")
    check(socket.prepare_tcp("localhost", 80, "AF_INET"), 2, "127.0.0.1", 80, "localhost")
    check(socket.prepare_tcp("LOCALHOST.", 80, "AF_INET"), 2, "127.0.0.1", 80, "LOCALHOST.")
    check(socket.prepare_tcp("localhost", 80, "AF_INET6"), 10, "::1", 80, "localhost")
    check(socket.prepare_tcp("127.0.0.1", "25"), 2, "127.0.0.1", 25, "127.0.0.1") -- numeric string port

    -- Every name of /etc/hosts resolves locally, AAAA first when the file has one.
    for line in io.lines("/etc/hosts") do
        local ip, names = line:gsub("#.*", ""):match("^%s*(%S+)%s+(.+)$")
        if ip then
            for name in names:gmatch("%S+") do
                local v6 = ip:find(":") ~= nil
                local rec = socket.prepare_tcp(name, 7, v6 and "AF_INET6" or "AF_INET")
                helper.eq(rec.addr.family, v6 and 10 or 2, "family for " .. name)
                assert(rec.addr.ip, "address for " .. name)
            end
        end
    end

    -- A name without records (.invalid never has any, RFC 6761): ENOENT from
    -- ratchet.dns.query(), the A error in the description as the reference has it.
    local err = helper.raises("ENOENT", socket.prepare_tcp, "no-such-host.invalid", 80)
    helper.eq(err.description, "No DNS records: no-such-host.invalid has no A record", "description")
    helper.eq(err["function"], "ratchet.dns.query()", "function")
    helper.eq(select("#", socket.prepare_udp("no-such-host.invalid", 80)), 0, "prepare_udp: nothing")
    helper.eq(socket.prepare_udp("127.0.0.1", 53).socktype, 2, "prepare_udp socktype")
    -- A literal of the other family has no records.
    helper.raises("ENOENT", socket.prepare_tcp, "::1", 80, "AF_INET")

    local u = socket.prepare_unix("/tmp/x.sock")
    helper.eq(u.family, 1, "unix family"); helper.eq(u.socktype, 1, "unix socktype")
    helper.eq(u.protocol, 0, "unix protocol"); helper.eq(u.addr.path, "/tmp/x.sock", "unix path")
    helper.eq(u.addr.port, nil, "no port on AF_UNIX")

    -- sockaddr objects compare by value and print as their address.
    assert(socket.prepare_tcp("127.0.0.1", 1).addr == socket.prepare_tcp("127.0.0.1", 1).addr)
    assert(socket.prepare_tcp("127.0.0.1", 1).addr ~= socket.prepare_tcp("127.0.0.1", 2).addr)
    assert(socket.prepare_tcp("127.0.0.1", 1).addr ~= socket.prepare_tcp("::1", 1).addr)
    assert(socket.prepare_tcp("::1", 1).addr == socket.prepare_tcp("::1", 1).addr)
    assert(u.addr == socket.prepare_unix("/tmp/x.sock").addr)
    assert(u.addr ~= socket.prepare_unix("/tmp/y.sock").addr)

    helper.eq(type(socket.gethostname()), "string", "gethostname")
    assert(#socket.gethostname() > 0)
end)
print("ok")
