-- The soaks behind scripts/soak (run that, not this): each phase drives a ratchet server and
-- its clients in one process for a fixed number of operations, and reports descriptors and
-- RSS before, right after, and after a full collectgarbage(). A phase fails when
-- descriptors grow at all or RSS after collection grows past the stated noise bound.
-- Every phase is first run at 2% of its size so that one-time allocations (the TLS library,
-- the ZeroMQ context, Lua's string table, malloc arenas) are in the baseline.
-- Usage: lua5.4 scripts/soak.lua [scale] [phase ...]   (scale 1 = the full counts)
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local http_client = require "ratchet.http.client"
require "ratchet.smtp.server"
require "ratchet.smtp.client"

local socket, thread, ssl = ratchet.socket, ratchet.thread, ratchet.ssl
local scale = tonumber(arg[1]) or 1
local only = {}
for i = 2, #arg do only[arg[i]] = true end

-- Noise bound: RSS after collectgarbage() may exceed the baseline by this much (malloc
-- keeps freed pages in its arenas; Lua's tables keep their largest size).
local RSS_BOUND_KB = 4096

local function pid()
    local f = assert(io.open("/proc/self/stat"))
    local p = f:read("n")
    f:close()
    return p
end
local PID = pid()

--- Open descriptors. popen's pipe to `ls` may still be counted under load, so the
--- smallest of three samples is the true count.
local function fds()
    local best
    for _ = 1, 3 do
        local n = 0
        local p = io.popen("ls /proc/" .. PID .. "/fd")
        for _ in p:lines() do n = n + 1 end
        p:close()
        best = math.min(best or n, n - 1)   -- the ls pipe
    end
    return best
end

local function rss_kb()
    for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmRSS:%s+(%d+)")
        if kb then return tonumber(kb) end
    end
end

local function listen()
    local rec = socket.prepare_tcp("127.0.0.1", 0)
    local s = socket.new(rec.family, rec.socktype, rec.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(rec.addr)
    s:listen()
    local _, port = s:getsockname()
    return s, port
end

local function connect(port)
    local rec = socket.prepare_tcp("127.0.0.1", port)
    local s = socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    return s
end

--- Accepts until the listener is closed, running `serve(client)` in a thread per connection.
local function acceptor(listener, serve)
    return thread.attach(function()
        while true do
            local ok, c = pcall(listener.accept, listener)
            if not ok then return end
            thread.attach(serve, c)
        end
    end)
end

local function echo(c)
    while true do
        local data = c:recv()
        if data == "" then break end
        c:send(data)
    end
    c:close()
end

local function tmpdir()
    local p = io.popen("mktemp -d")
    local d = p:read("l")
    p:close()
    return d
end

local certdir = tmpdir()
local cert = certdir .. "/cert.pem"
assert(os.execute(string.format(
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout %s -out %s -days 2 2>/dev/null",
    cert, cert)))

local phases = {}

phases[#phases + 1] = {"tcp_sequential", 100000, function(n)
    local l, port = listen()
    local acc = acceptor(l, echo)
    for _ = 1, n do
        local s = connect(port)
        s:send("ping")
        assert(s:recv() == "ping")
        s:close()
    end
    l:close(); thread.wait_all({acc})
end}

phases[#phases + 1] = {"tcp_concurrent_1000", 20000, function(n)
    local l, port = listen(); l:listen(1024)
    local acc = acceptor(l, echo)
    local clients = math.min(1000, n)
    local per = n // clients
    local ts = {}
    for i = 1, clients do
        ts[i] = thread.attach(function()
            for _ = 1, per do
                local s = connect(port)
                s:send("ping")
                assert(s:recv() == "ping")
                s:close()
            end
        end)
    end
    thread.wait_all(ts)
    l:close(); thread.wait_all({acc})
end}

phases[#phases + 1] = {"tls_handshakes", 5000, function(n)
    local sctx = ssl.new(ssl.TLS_server); sctx:load_certs(cert)
    local cctx = ssl.new(ssl.TLS_client); cctx:load_cas(nil, cert)
    local l, port = listen()
    local acc = acceptor(l, function(c)
        local enc = c:encrypt(sctx)
        enc:server_handshake()
        c:send(c:recv())
        enc:shutdown(false)
        c:close()
    end)
    for _ = 1, n do
        local s = connect(port)
        local enc = s:encrypt(cctx)
        enc:client_handshake("localhost")
        s:send("ping")
        assert(s:recv() == "ping")
        s:close()
    end
    l:close(); thread.wait_all({acc})
end}

phases[#phases + 1] = {"http_keepalive_and_new", 100000, function(n, k)
    local handlers = {}
    function handlers:GET(uri) return {code = 200, message = "OK", data = "hello " .. uri} end
    local l, port = listen()
    local srv = thread.attach(http_server.serve, l, handlers)
    local url = "http://127.0.0.1:" .. port .. "/"
    local c = http_client.connect(url)
    for i = 1, n do
        local code, _, _, body = c:query("GET", "/k")
        assert(code == 200 and body == "hello /k", code)
    end
    c:close()
    for _ = 1, n // 10 do
        local code = http_client.fetch(url .. "n", {pool = false})   -- a new connection each
        assert(code == 200)
    end
    thread.kill(srv); l:close()
    -- the server's threads for pooled client connections idle until their keep-alive
    -- timeout: closing the kernel ends them (and closes their sockets) now
    k["break"](k)
end}

phases[#phases + 1] = {"smtp_sessions", 10000, function(n)
    local received = 0
    local handlers = {}
    function handlers:HAVE_DATA(reply, data) received = received + 1 end
    local l, port = listen()
    local acc = acceptor(l, function(c) ratchet.smtp.server.new(c, handlers)() end)
    for _ = 1, n do
        local client = ratchet.smtp.client.new(connect(port))
        client:get_banner()
        client:ehlo("soak.test")
        client:mailfrom("a@soak.test")
        client:rcptto("b@soak.test")
        client:data()
        assert(client:send_data("Subject: soak\r\n\r\nhello\r\n").code == "250")
        client:quit()
    end
    assert(received == n, received)
    l:close(); thread.wait_all({acc})
end}

phases[#phases + 1] = {"zmq_messages", 100000, function(n)
    local a = ratchet.zmqsocket.new("PAIR")
    a:bind("tcp://127.0.0.1:*")
    local b = ratchet.zmqsocket.new("PAIR")
    b:connect(a:getsockopt("LAST_ENDPOINT"))
    local reader = thread.attach(function()
        for i = 1, n do assert(b:recv()) end
    end)
    for i = 1, n do a:send("message " .. (i % 100)) end
    thread.wait_all({reader})
    a:close(); b:close()
end}

phases[#phases + 1] = {"threads_attach_kill", 100000, function(n)
    local batch = {}
    for i = 1, n do
        batch[#batch + 1] = thread.attach(function() thread.pause() end)
        if #batch == 1000 then
            thread.yield()
            thread.kill_all(batch)
            batch = {}
        end
    end
    thread.yield()
    thread.kill_all(batch)
end}

local function run(f, n)
    local k
    k = ratchet.new(function() f(n, k) end, function(err, t) error(debug.traceback(t, tostring(err)), 0) end)
    k:loop()
    k:close()
end

local rows, failed = {}, 0
for _, p in ipairs(phases) do
    local name, count, f = p[1], math.max(1, math.floor(p[2] * scale)), p[3]
    if next(only) == nil or only[name] then
        run(f, math.max(1, count // 50))   -- warm-up
        collectgarbage(); collectgarbage()
        local fd0, rss0 = fds(), rss_kb()
        local t0 = ratchet.now()
        run(f, count)
        local secs = ratchet.now() - t0
        local fd1, rss1 = fds(), rss_kb()
        collectgarbage(); collectgarbage()
        local fd2, rss2 = fds(), rss_kb()
        local ok = fd2 <= fd0 and rss2 - rss0 <= RSS_BOUND_KB
        if not ok then failed = failed + 1 end
        local row = string.format("| %s | %d | %.1f | %d / %d / %d | %d / %d / %d | %+d | %s |",
            name, count, secs, fd0, fd1, fd2, rss0, rss1, rss2, rss2 - rss0, ok and "ok" or "GREW")
        rows[#rows + 1] = row
        print(row)
        io.stdout:flush()
    end
end
os.execute("rm -rf " .. certdir)
print()
print(string.format("noise bound: descriptors must not grow; RSS after collectgarbage() within %d KiB of the baseline", RSS_BOUND_KB))
print("| phase | operations | seconds | fds before / after / after GC | RSS KiB before / after / after GC | RSS growth KiB | verdict |")
print("|---|---|---|---|---|---|---|")
for _, r in ipairs(rows) do print(r) end
print(string.format("%d passed, %d failed", #rows - failed, failed))
os.exit(failed == 0 and 0 or 1)
