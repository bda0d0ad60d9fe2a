-- The reference's test_sockopt (SO_SNDBUF checked with ≥ since Linux doubles it), every
-- option's value type, the extensions, and unknown names as argument errors.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local rec = socket.prepare_tcp("127.0.0.1", 0)
local server = socket.new(rec.family, rec.socktype, rec.protocol)
server:setsockopt("SO_REUSEADDR", true)
server:bind(rec.addr)
server:listen()
helper.eq(server:getsockopt("SO_ACCEPTCONN"), true, "SO_ACCEPTCONN after listen")
helper.eq(server:getsockopt("SO_REUSEADDR"), true, "SO_REUSEADDR true")
helper.eq(select("#", server:setsockopt("SO_REUSEADDR", false)), 0, "setsockopt returns nothing")
helper.eq(server:getsockopt("SO_REUSEADDR"), false, "SO_REUSEADDR false")
server:setsockopt("SO_REUSEADDR", true)
helper.eq(server:getsockopt("SO_REUSEADDR"), true, "SO_REUSEADDR true again")

local s = socket.new()
helper.eq(s:getsockopt("SO_ACCEPTCONN"), false, "SO_ACCEPTCONN on a fresh socket")
s:setsockopt("SO_SNDBUF", 1024)
assert(s:getsockopt("SO_SNDBUF") >= 1024, "SO_SNDBUF read back " .. s:getsockopt("SO_SNDBUF"))
helper.eq(s:getsockopt("SO_TYPE"), 1, "SO_TYPE")
helper.eq(s:getsockopt("SO_DOMAIN"), 2, "SO_DOMAIN")
helper.eq(s:getsockopt("SO_PROTOCOL"), 6, "SO_PROTOCOL")
helper.eq(s:getsockopt("SO_ERROR"), 0, "SO_ERROR")
helper.eq(math.type(s:getsockopt("SO_BROADCAST")), "integer", "SO_BROADCAST is an int")
s:setsockopt("SO_KEEPALIVE", true)
helper.eq(s:getsockopt("SO_KEEPALIVE"), true, "SO_KEEPALIVE")
s:setsockopt("SO_RCVBUF", 8192)
assert(s:getsockopt("SO_RCVBUF") >= 8192)
for _, name in ipairs{"SO_DEBUG", "SO_DONTROUTE", "SO_OOBINLINE", "SO_TIMESTAMP", "SO_BSDCOMPAT"} do
    helper.eq(type(s:getsockopt(name)), "boolean", name)
end
for _, name in ipairs{"SO_PRIORITY", "SO_RCVLOWAT", "SO_SNDLOWAT"} do
    helper.eq(math.type(s:getsockopt(name)), "integer", name)
end
local linger = s:getsockopt("SO_LINGER")
helper.eq(linger.l_onoff, false, "SO_LINGER off")
s:setsockopt("SO_LINGER", {l_onoff = true, l_linger = 3})
linger = s:getsockopt("SO_LINGER")
helper.eq(linger.l_onoff, true, "SO_LINGER on"); helper.eq(linger.l_linger, 3, "l_linger")
s:setsockopt("SO_RCVTIMEO", {tv_sec = 2, tv_usec = 500000})
local tv = s:getsockopt("SO_RCVTIMEO")
helper.eq(tv.tv_sec, 2, "tv_sec"); helper.eq(tv.tv_usec, 500000, "tv_usec")
helper.eq(type(s:getsockopt("SO_SNDTIMEO")), "table", "SO_SNDTIMEO")
-- SO_BINDTODEVICE is a string; some sandboxes refuse to read it (ENOTSUP).
local okdev, dev = pcall(s.getsockopt, s, "SO_BINDTODEVICE")
assert((okdev and dev == "") or ratchet.error.is(dev, "ENOTSUP"), tostring(dev))

-- Extensions.
s:setsockopt("TCP_NODELAY", true)
helper.eq(s:getsockopt("TCP_NODELAY"), true, "TCP_NODELAY")
s:setsockopt("SO_REUSEPORT", true)
helper.eq(s:getsockopt("SO_REUSEPORT"), true, "SO_REUSEPORT")
s:setsockopt("TCP_KEEPIDLE", 30); helper.eq(s:getsockopt("TCP_KEEPIDLE"), 30, "TCP_KEEPIDLE")
s:setsockopt("TCP_KEEPINTVL", 5); helper.eq(s:getsockopt("TCP_KEEPINTVL"), 5, "TCP_KEEPINTVL")
s:setsockopt("TCP_KEEPCNT", 4); helper.eq(s:getsockopt("TCP_KEEPCNT"), 4, "TCP_KEEPCNT")
local s6 = socket.new(10, 1, 0)
s6:setsockopt("IPV6_V6ONLY", true)
helper.eq(s6:getsockopt("IPV6_V6ONLY"), true, "IPV6_V6ONLY")
s6:close()

-- SO_PASSCRED is an AF_UNIX option.
local u = socket.new(1, 1, 0)
u:setsockopt("SO_PASSCRED", true)
helper.eq(u:getsockopt("SO_PASSCRED"), true, "SO_PASSCRED")
u:close()

-- SO_PEERCRED on a connected AF_UNIX pair gives this process's credentials.
local a, b = socket.new_pair()
local cred = a:getsockopt("SO_PEERCRED")
helper.eq(cred.pid, helper.pid(), "SO_PEERCRED pid")
a:close(); b:close()

-- Errors: unknown names, wrong value types, read-only options, closed sockets.
helper.raises_msg("unknown socket option 'SO_BOGUS'", s.getsockopt, s, "SO_BOGUS")
helper.raises_msg("unknown socket option 'SO_BOGUS'", s.setsockopt, s, "SO_BOGUS", 1)
helper.raises_msg("string expected", s.getsockopt, s, 5)
helper.raises_msg("integer expected", s.setsockopt, s, "SO_SNDBUF", "big")
helper.raises_msg("boolean expected", s.setsockopt, s, "SO_REUSEADDR", "yes")
helper.raises_msg("l_onoff", s.setsockopt, s, "SO_LINGER", 5)
local err = helper.raises("ENOPROTOOPT", s.setsockopt, s, "SO_TYPE", 2)
helper.eq(err.syscall, "setsockopt", "syscall")
s:close()
helper.raises("EBADF", s.getsockopt, s, "SO_TYPE")
server:close()
print("ok")
