-- Runs the WebSocket echo servers one after the other — examples/websocket_echo.lua (ratchet),
-- bench/websocket_echo_py.py (Python `websockets`, the same echo) and nginx + Lua
-- (bench/nginx_lua.sh's /ws, bench/nginx_ws_echo.lua: our own lua-resty-websocket-style
-- frame code) — each on core 0, with bench/websocket_load.lua on core 1; then ratchet and
-- Python again with permessage-deflate (the load offers it; nginx's echo has none). Prints a
-- Markdown table of messages per second and server CPU per message, the median of REPS runs
-- of SECS seconds.
--   usage (through bench/websocket_echo.sh): lua5.4 websocket_compare.lua ROOT [ONLY-pattern]
local root, only = arg[1], arg[2] or "."
local secs, reps = tonumber(os.getenv("SECS")) or 5, tonumber(os.getenv("REPS")) or 3
local conns, size = tonumber(os.getenv("CONNS")) or 100, tonumber(os.getenv("SIZE")) or 64

local function sh(cmd)
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    return out
end

local pyver = sh("/usr/bin/python3 -c 'import websockets; print(websockets.__version__)'"):gsub("%s+$", "")
-- name, command (the port is appended), load mode, path
local ratchet_cmd = "lua5.4 " .. root .. "/examples/websocket_echo.lua"
local python_cmd = "/usr/bin/python3 " .. root .. "/bench/websocket_echo_py.py"
local servers = {
    {"ratchet.websocket", ratchet_cmd, "plain", "/"},
    {"python websockets " .. pyver, python_cmd, "plain", "/"},
    {"nginx + Lua (resty-style echo, LuaJIT)", "bash " .. root .. "/bench/nginx_lua.sh", "plain", "/ws"},
    {"ratchet.websocket, permessage-deflate", ratchet_cmd, "deflate", "/"},
    {"python websockets " .. pyver .. ", permessage-deflate", python_cmd, "deflate", "/"},
}
local hz = tonumber(sh("getconf CLK_TCK")) or 100
local function cpu_seconds(pid)
    local f = io.open("/proc/" .. pid .. "/stat")
    local stat = f:read("a")
    f:close()
    local fields = {}
    for x in stat:match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = x end
    return (tonumber(fields[12]) + tonumber(fields[13])) / hz     -- utime, stime
end

-- One load run against the server `pid` on `port`: messages/s, server CPU µs per message.
local function measure(pid, port, mode, path)
    local c0 = cpu_seconds(pid)
    local out = sh(string.format("taskset -c 1 lua5.4 %s/bench/websocket_load.lua %d %d %d %d %s %s 2>&1",
        root, port, conns, secs, size, mode, path))
    local c1 = cpu_seconds(pid)
    local rate, total = tonumber(out:match("(%d+) messages/s")), tonumber(out:match("(%d+) messages\n"))
    if not rate then error("the load failed: " .. out, 0) end
    -- the server's CPU covers the warm-up second too: per message of the whole run
    return rate, (c1 - c0) * 1e6 / (total * (secs + 1) / secs)
end

print(string.format("# WebSocket echo, %d B messages, %d connections, %d s, median of %d (%s, load average %s)",
    size, conns, secs, reps, os.date("!%Y-%m-%d %H:%M UTC"), sh("cut -d' ' -f1-3 /proc/loadavg"):gsub("%s+$", "")))
print()
print("| server | messages/s | server CPU per message |")
print("|---|---:|---:|")
local port = 20000 + math.random(0, 19999)
for _, s in ipairs(servers) do
    local name, cmd, mode, path = s[1], s[2], s[3], s[4]
    if name:find(only) then
        -- a random port may be taken (other programs on the machine): then the server exits
        -- at once and the next port is tried
        local pid
        for _ = 1, 5 do
            port = port + 1
            pid = tonumber(sh(string.format("taskset -c 0 %s %d >/dev/null 2>&1 & echo $!", cmd, port)))
            sh(string.format("for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && break; sleep 0.1; done", port))
            sh("sleep 0.5")
            if io.open("/proc/" .. pid .. "/stat") then break end
        end
        local runs = {}
        local ok, err = pcall(function()
            for _ = 1, reps do runs[#runs + 1] = {measure(pid, port, mode, path)} end
        end)
        os.execute("kill " .. pid .. " 2>/dev/null")   -- also when a run failed
        if not ok then error(err, 0) end
        table.sort(runs, function(a, b) return a[1] < b[1] end)
        local m = runs[(#runs + 1) // 2]
        print(string.format("| %s | %d | %.1f µs |", name, m[1], m[2]))
    end
end
