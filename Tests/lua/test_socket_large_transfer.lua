-- 1 MiB in both directions with partial sends (the caller loops on the returned tail), over
-- a socketpair and against a Python echo server in a child process; recv(1 MiB) works.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local MiB = 1024 * 1024
local function payload(seed)
    local parts = {}
    for i = 1, MiB // 16 do parts[i] = string.format("%015d\n", (i * seed) % 1000000007) end
    return table.concat(parts)
end

local function send_all(s, data)
    local rest, partial = data, 0
    repeat
        rest = s:send(rest)
        if rest then partial = partial + 1 end
    until not rest
    return partial
end

local function recv_exactly(s, n, maxlen)
    local parts, got = {}, 0
    while got < n do
        local d = s:recv(maxlen)
        assert(d ~= "", "unexpected EOF after " .. got .. " bytes")
        parts[#parts + 1] = d
        got = got + #d
    end
    return table.concat(parts)
end

local partials = 0
helper.run(function()
    -- Socketpair: both ends send 1 MiB at once while the other reads.
    local a, b = socket.new_pair()
    local pa, pb = payload(3), payload(7)
    local got_b
    local t = ratchet.thread.attach(function()
        got_b = recv_exactly(b, MiB, MiB)
        partials = partials + send_all(b, pb)
    end)
    partials = partials + send_all(a, pa)
    helper.eq(recv_exactly(a, MiB, 65536) == pb, true, "pair: b→a intact")
    ratchet.thread.wait_all({t})
    helper.eq(got_b == pa, true, "pair: a→b intact")
    a:close(); b:close()

    -- Python echo server (stdlib socket module) in a child process.
    local portfile = helper.tmpname("port")
    local server = helper.spawn(string.format([[python3 -c '
import socket, sys
srv = socket.socket(socket.AF_INET6 if sys.argv[2] == "6" else socket.AF_INET)
srv.bind(("::1" if sys.argv[2] == "6" else "127.0.0.1", 0))
srv.listen(1)
open(sys.argv[1], "w").write(str(srv.getsockname()[1]))
srv.settimeout(30)
c, _ = srv.accept()
c.settimeout(30)
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
c.close()
' %s 4]], portfile))
    local port = helper.wait_until(function() return tonumber(helper.read_file(portfile) or "") end, 5)
    assert(port, "python server did not start:\n" .. server:output())
    local c = socket.new()
    c:set_timeout(30)
    c:connect(socket.prepare_tcp("127.0.0.1", port).addr)
    local echoed
    local reader = ratchet.thread.attach(function()
        echoed = recv_exactly(c, MiB, MiB)
    end)
    partials = partials + send_all(c, pa)
    ratchet.thread.wait_all({reader})
    helper.eq(#echoed, MiB, "echo length")
    helper.eq(echoed == pa, true, "python echo intact")
    c:shutdown("write")
    helper.eq(c:recv(), "", "EOF from python after its close")
    c:close()
    server:stop()
    os.remove(portfile)
end)
assert(partials > 0, "1 MiB sends should have been partial at least once")
print("ok, partial sends:", partials)
