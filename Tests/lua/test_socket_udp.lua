-- UDP: prepare_udp records, the reference's connect+send/recv, and the sendto/recvfrom
-- extension (v4 and v6), with Python's socket module as the peer.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local done = false
helper.run(function()
    local rec = socket.prepare_udp("127.0.0.1", 0)
    helper.eq(rec.socktype, 2, "SOCK_DGRAM")
    local a = socket.new(rec.family, rec.socktype, rec.protocol)
    a:bind(rec.addr)
    local _, aport = a:getsockname()
    local b = socket.new(rec.family, rec.socktype, rec.protocol)
    b:bind(rec.addr)
    local _, bport = b:getsockname()
    local baddr = socket.prepare_udp("127.0.0.1", bport).addr

    -- sendto/recvfrom: datagrams keep their boundaries and the sender's address.
    ratchet.thread.attach(function()
        local data, from = b:recvfrom()
        helper.eq(data, "ping", "recvfrom data")
        helper.eq(from.ip, "127.0.0.1", "from ip")
        helper.eq(from.port, aport, "from port")
        b:sendto("pong", from)
    end)
    a:sendto("ping", baddr)
    local reply, rfrom = a:recvfrom(100)
    helper.eq(reply, "pong", "reply")
    helper.eq(rfrom.port, bport, "reply port")

    -- connect + send/recv like the reference.
    a:connect(baddr)
    a:send("connected datagram")
    helper.eq(b:recv(), "connected datagram", "connected send")

    -- A Python peer echoes one datagram over ::1.
    local v6 = socket.prepare_udp("::1", 0)
    local s6 = socket.new(v6.family, v6.socktype, v6.protocol)
    s6:bind(v6.addr)
    local _, p6 = s6:getsockname()
    local py = io.popen(string.format([[python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"hello from python", ("::1", %d))
data, addr = s.recvfrom(100)
print(data.decode())
']], p6))
    s6:set_timeout(10)
    local d, pyaddr = s6:recvfrom()
    helper.eq(d, "hello from python", "python datagram")
    helper.eq(pyaddr.ip, "::1", "python address")
    s6:sendto("echo:" .. d, pyaddr)
    local out = py:read("a"); py:close()
    helper.eq(out, "echo:hello from python\n", "python got the reply")

    -- prepare_udp returns nothing for a host with no records.
    helper.eq(select("#", socket.prepare_udp("no-such-host.invalid", 53)), 0, "prepare_udp nothing")
    a:close(); b:close(); s6:close()
    done = true
end)
assert(done)
print("ok")
