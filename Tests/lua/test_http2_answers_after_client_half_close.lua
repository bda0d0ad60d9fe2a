-- A client that sends its HTTP/2 requests and then half-closes its side of the connection
-- (shutdown(SHUT_WR), as `nc -N` does) still gets every answer before the server closes, as an
-- HTTP/1.1 client gets its pipelined answers after EOF. Peer: Python's h2 over a plain socket.
local h = require "helper"
local t = require "httptest"

local handlers = {
    GET = function(_, uri)
        if uri == "/slow" then require("ratchet").thread.timer(0.2) end
        return {data = "at " .. uri}
    end,
}

local client = [[
import socket, sys, h2.connection, h2.config, h2.events
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
for i, path in enumerate(["/a", "/slow", "/b"]):
    c.send_headers(1 + 2 * i, [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "x")], end_stream=True)
s.sendall(c.data_to_send())
s.shutdown(socket.SHUT_WR)
bodies = {}
while True:
    d = s.recv(65536)
    if not d:
        break
    for e in c.receive_data(d):
        if isinstance(e, h2.events.DataReceived):
            bodies[e.stream_id] = bodies.get(e.stream_id, b"") + e.data
print(" ".join(bodies[k].decode() for k in sorted(bodies)))
]]

h.run(function()
    local port, stats = t.serve(handlers, {idle_timeout = 5})
    local path = h.tmpname("h2-half-close") .. ".py"
    local f = assert(io.open(path, "w")); f:write(client); f:close()
    local rc, out = h.spawn(("/usr/bin/python3 %s %d"):format(path, port)):wait(20)
    h.eq(rc, 0, "the client ran: " .. out)
    h.eq(out:gsub("%s+$", ""), "at /a at /slow at /b", "all three streams answered after the client's EOF")
    stats.stop()
end)
print("http2 half-close ok")
