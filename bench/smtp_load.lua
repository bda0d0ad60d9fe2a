-- SMTP load: N concurrent swaks-like sessions (connect, EHLO, MAIL, RCPT, DATA, message,
-- QUIT: one message per connection) against bench/smtp_server.lua for a fixed time;
-- prints messages accepted per second and the server's CPU time per message.
--   lua5.4 bench/smtp_load.lua [--sessions 50] [--seconds 10] [--size 2048] [--pipeline]
-- (run from the repository root with LUA_PATH/LUA_CPATH as scripts/test sets them).
local ratchet = require "ratchet"
require "ratchet.smtp.client"

local opts = { sessions = 50, seconds = 10, size = 2048, pipeline = false }
do
    local i = 1
    while arg[i] do
        local name = arg[i]:match("^%-%-(%w+)$")
        if name == "pipeline" then opts.pipeline = true; i = i + 1
        elseif opts[name] ~= nil then opts[name] = tonumber(arg[i + 1]); i = i + 2
        else error("unknown option " .. arg[i]) end
    end
end

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench"
local portfile = os.tmpname()
os.remove(portfile)
local pidfile = portfile .. ".pid"
os.execute(("lua5.4 %s/smtp_server.lua 0 %s & echo $! > %s"):format(here, portfile, pidfile))

local function read(path)
    local f = io.open(path)
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end

-- utime + stime of a process, in seconds.
local function cpu_seconds(pid)
    local stat = read("/proc/" .. pid .. "/stat")
    local rest = stat:match("%) (.*)$")
    local fields = {}
    for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
    return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

local line = ("x"):rep(76) .. "\r\n"
local message = "Subject: load\r\nFrom: <load@bench.test>\r\n\r\n"
    .. line:rep(math.max(1, opts.size // #line))

ratchet.new(function()
    local port
    for _ = 1, 200 do
        port = tonumber(read(portfile) or "")
        if port then break end
        ratchet.thread.timer(0.05)
    end
    assert(port, "server did not start")
    local pid = read(pidfile):match("%d+")
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")

    local sent, failed, stop = 0, 0, false
    local function session_loop()
        while not stop do
            local ok, err = pcall(function()
                local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
                sock:connect(rec.addr)
                local c = ratchet.smtp.client.new(sock)
                c:get_banner()
                c:ehlo("load.bench.test")
                if not opts.pipeline then c.extensions:drop("PIPELINING") end
                c:mailfrom("load@bench.test")
                c:rcptto("sink@bench.test")
                assert(c:data().code == "354")
                local r = c:send_data(message)
                c:quit()
                assert(r.code == "250", tostring(r))
            end)
            if ok then sent = sent + 1 else failed = failed + 1 end
        end
    end

    local cpu0 = cpu_seconds(pid)
    local start = io.popen("date +%s.%N"):read("n")
    local threads = {}
    for i = 1, opts.sessions do threads[i] = ratchet.thread.attach(session_loop) end
    ratchet.thread.timer(opts.seconds)
    stop = true
    ratchet.thread.wait_all(threads)
    local elapsed = io.popen("date +%s.%N"):read("n") - start
    local cpu = cpu_seconds(pid) - cpu0
    os.execute("kill " .. pid)
    os.remove(portfile)
    os.remove(pidfile)
    print(string.format("sessions=%d size=%d pipeline=%s seconds=%.1f messages=%d failed=%d",
        opts.sessions, #message, tostring(opts.pipeline), elapsed, sent, failed))
    print(string.format("messages/s: %.0f   server CPU: %.0f us/message (%.0f%% of one core)",
        sent / elapsed, cpu / math.max(sent, 1) * 1e6, cpu / elapsed * 100))
end, function(err, thread) io.stderr:write(debug.traceback(thread, tostring(err)), "\n") end):loop()
