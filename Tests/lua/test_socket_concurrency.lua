-- 10,000 concurrent connections on one kernel: a Python client process opens them all,
-- each is echoed by its own ratchet thread, and the server's memory per connection
-- (RSS delta / connections, all threads parked in recv) is printed for the README.
-- scripts/test raises RLIMIT_NOFILE (ulimit -n 65536) before running this.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

local N = tonumber(os.getenv("RATCHET_CONCURRENCY") or 10000)
local dir = helper.tmpname("conc")
os.execute("mkdir -p " .. dir)
local echoed, finished = 0, 0

helper.run(function()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()

    -- Touch the receive buffer and settle the heap before the baseline.
    local a, b = socket.new_pair(); b:send("warm"); a:recv(); a:close(); b:close()
    collectgarbage(); collectgarbage()
    local rss0 = helper.rss_kb()

    local handlers = {}
    local acceptor = ratchet.thread.attach(function()
        for i = 1, N do
            local conn = server:accept()
            handlers[i] = ratchet.thread.attach(function()
                while true do
                    local data = conn:recv()
                    if data == "" then break end
                    conn:send(data)
                    echoed = echoed + 1
                end
                conn:close()
                finished = finished + 1
            end)
        end
    end)

    local client = helper.spawn(string.format([[python3 -c '
import socket, sys, os, time
n, port, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    socks.append(s)
for s in socks:
    s.sendall(b"x")
ok = sum(1 for s in socks if s.recv(1) == b"x")
open(d + "/ready.tmp", "w").write(str(ok))
os.rename(d + "/ready.tmp", d + "/ready")
deadline = time.time() + 100
while not os.path.exists(d + "/go") and time.time() < deadline:
    time.sleep(0.05)
for s in socks:
    s.close()
' %d %d %s]], N, port, dir))

    local ready = helper.wait_until(function() return helper.read_file(dir .. "/ready") end, 100)
    assert(ready, "the client did not get ready:\n" .. client:output())
    local ok = tonumber(ready)
    helper.eq(ok, N, "echoes seen by the client")
    ratchet.thread.wait_all({acceptor})
    ratchet.thread.timer(0.1)            -- every handler is parked in recv again
    collectgarbage(); collectgarbage()
    local rss1 = helper.rss_kb()
    helper.eq(ratchet.thread and #handlers, N, "handler threads")
    print(string.format("concurrent connections: %d; server RSS %d KiB -> %d KiB; %.2f KiB per connection",
        N, rss0, rss1, (rss1 - rss0) / N))

    local f = io.open(dir .. "/go", "w"); f:close()
    ratchet.thread.wait_all(handlers)
    server:close()
    client:stop()
end)
helper.eq(echoed, N, "echoed messages")
helper.eq(finished, N, "connections ended by EOF")
os.execute("rm -rf " .. dir)
print("ok")
