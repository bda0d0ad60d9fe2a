-- Content-Length request bodies that are not complete with their head, received natively
-- (ratchet.httpwire.receive_body): bodies arriving in many small pieces, a pipelined request
-- arriving with a body's last bytes, EOF mid-body (closed quietly), 408 when the body stalls
-- past idle_timeout or body_timeout, 1 MiB and 200 KB bodies from curl, a traced socket
-- (read through recv instead), memory held for a waiting body growing with what came, and
-- nothing left behind by a connection thread killed while it waits for a body.
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local t = require "httptest"

local errors = {}
local handlers = {}
function handlers:POST(uri, headers, data) return {code = 200, data = data} end
function handlers:GET(uri) return {code = 200, data = uri} end
local function options(o)
    o.header_timeout = o.header_timeout or 5
    o.on_error = function(err) errors[#errors + 1] = tostring(err) end
    return o
end

local function status(resp) return tonumber(resp:match("^HTTP/1%.%d (%d%d%d)")) end

-- A Python client: a 20,000-byte body in 200 pieces, then a body whose last bytes come with
-- the next request (pipelined), each answer checked against what was sent.
local PIECES = [[
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(10)
pending = b""
def response():
    global pending
    while b"\r\n\r\n" not in pending:
        d = s.recv(65536)
        assert d, "closed before a response head"
        pending += d
    head, pending = pending.split(b"\r\n\r\n", 1)
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(pending) < length:
        d = s.recv(65536)
        assert d, "closed inside a response body"
        pending += d
    body, pending = pending[:length], pending[length:]
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body
body = bytes((i * 7) % 251 for i in range(20000))
s.sendall(b"POST /pieces HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
for i in range(0, len(body), 100):
    s.sendall(body[i:i + 100])
    time.sleep(0.002)
assert response() == body, "pieces: echoed body differs"
body2 = b"second body " * 1000
s.sendall(b"POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body2) + body2[:5000])
time.sleep(0.1)
s.sendall(body2[5000:] + b"GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
assert response() == body2, "pipelined: echoed body differs"
assert response() == b"/third", "pipelined: the request after the body"
print("python client ok")
]]

h.run(function()
    local port, stats = t.serve(handlers, options({idle_timeout = 5, body_timeout = 10}))

    -- many small pieces, then a pipelined request behind a body's last bytes
    local script = h.write_tmp(PIECES, "pieces.py")
    local rc, out = h.spawn("/usr/bin/python3 " .. script .. " " .. port):wait(30)
    h.eq(rc, 0, "python client: " .. out)
    t.has(out, "python client ok", "python client")

    -- 1 MiB (larger than the receive buffer) and 200 KB bodies from curl, echoed intact
    for _, size in ipairs({1048576, 200000}) do
        local parts = {}
        for i = 1, size // 10 do parts[i] = string.format("%09d\n", i * 7919 % 1000003) end
        local data = table.concat(parts)
        local upload, echoed = h.write_tmp(data, "upload"), h.tmpname("echoed")
        rc, out = h.spawn("curl -sS -m 20 -H 'Expect:' --data-binary @" .. upload .. " -o " .. echoed ..
            " http://127.0.0.1:" .. port .. "/upload"):wait(30)
        h.eq(rc, 0, "curl upload of " .. size .. " bytes: " .. out)
        assert(h.read_file(echoed) == data, "curl: the " .. size .. "-byte body came back changed")
        os.remove(upload); os.remove(echoed)
    end

    -- EOF mid-body: the connection closes without a reply or a report
    local s = h.connect(port)
    t.send_all(s, "POST /eof HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" .. ("e"):rep(300))
    h.sleep(0.1)
    s:shutdown("write")
    h.eq(t.read_all(s, 3), "", "EOF mid-body gets no reply")
    s:close()
    stats.stop()

    -- a stalled body: 408 after the per-read wait (idle_timeout), after body_timeout, and with
    -- no body_timeout at all
    for _, case in ipairs({
        {idle = 0.3, body = 5, low = 0.25, what = "idle_timeout"},
        {idle = 5, body = 0.4, low = 0.35, what = "body_timeout"},
        {idle = 0.3, body = -1, low = 0.25, what = "idle_timeout without body_timeout"},
    }) do
        port, stats = t.serve(handlers, options({idle_timeout = case.idle, body_timeout = case.body}))
        s = h.connect(port)
        local started = ratchet.now()
        t.send_all(s, "POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        local answer = t.read_all(s, 4)
        local took = ratchet.now() - started
        s:close()
        h.eq(status(answer), 408, "stalled body, " .. case.what .. ": " .. answer)
        assert(took >= case.low and took < 3, "stalled body answered after " .. took .. " s (" .. case.what .. ")")
        stats.stop()
    end

    -- a traced socket: read through recv (the tracer sees each read), same body
    local listener, lport = h.listen()
    local traced_reads = 0
    local acceptor = ratchet.thread.attach(function()
        local client, from = listener:accept()
        client:set_tracer(function(event, data)
            if event == "recv" and data and #data > 0 then traced_reads = traced_reads + 1 end
        end)
        server.new(client, from, handlers, options({idle_timeout = 5}))()
    end)
    s = h.connect(lport)
    local body = ("t"):rep(5000)
    t.send_all(s, "POST /traced HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" .. body:sub(1, 1000))
    h.sleep(0.05)
    t.send_all(s, body:sub(1001))
    local got = t.read_responses(s, 1)
    h.eq(got[1] and got[1].body, body, "traced socket: echoed body")
    assert(traced_reads >= 2, "traced socket: the body was read through recv (" .. traced_reads .. " reads)")
    s:close()
    ratchet.thread.wait_all({acceptor})
    listener:close()

    -- a connection thread killed while it waits for a 4 MiB body leaves no descriptor and no
    -- buffer behind
    collectgarbage(); collectgarbage()
    local sockets, kb = h.socket_count(), collectgarbage("count")
    port, stats = t.serve(handlers, options({idle_timeout = 5, body_timeout = 10, max_body_bytes = 8 * 1048576}))
    s = h.connect(port)
    t.send_all(s, "POST /killed HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n")
    local chunk = ("k"):rep(65536)
    for _ = 1, 10 do t.send_all(s, chunk) end
    chunk = nil
    h.sleep(0.2)
    local live = 0
    for _, th in ipairs(stats.threads) do if coroutine.status(th) ~= "dead" then live = live + 1 end end
    h.eq(live, 1, "the connection thread waits for the rest of the body")
    -- what it holds grows with what came (640 KiB), not with what was announced (4 MiB)
    collectgarbage(); collectgarbage()
    local held = collectgarbage("count") - kb
    assert(held < 2048, "a 4 MiB body of which 640 KiB came holds " .. held .. " KiB")
    stats.stop()
    s:close()
    stats = nil
    collectgarbage(); collectgarbage()
    h.eq(h.socket_count(), sockets, "sockets after the killed connection")
    local grew = collectgarbage("count") - kb
    assert(grew < 1024, "Lua memory grew by " .. grew .. " KiB after the killed connection")

    h.eq(#errors, 0, "reports: " .. table.concat(errors, "\n"))
end)
print("http server content-length bodies ok")
