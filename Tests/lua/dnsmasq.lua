-- A private dnsmasq on 127.0.0.1 (random high port) serving a test zone, for the DNS
-- tests; and a UDP port that swallows queries without answering. Both processes run
-- under `timeout`, so they die even if the test is killed before it stops them.
local helper = require "helper"
local M = {}

-- A zombie counts as dead: nobody may be reaping the orphaned `timeout` process.
local function alive(pid)
    local f = io.open("/proc/" .. pid .. "/stat")
    if not f then return false end
    local stat = f:read("a")
    f:close()
    local state = stat:match("%) (%a)")
    return state ~= nil and state ~= "Z"
end

local function udp_bound(port)
    local hex = string.format(":%04X ", port)
    for _, file in ipairs{"/proc/net/udp", "/proc/net/udp6"} do
        local f = io.open(file)
        if f then
            local text = f:read("a")
            f:close()
            if text:find(hex, 1, true) then return true end
        end
    end
    return false
end

local function stopper(pid)
    return function()
        os.execute("kill " .. pid .. " 2>/dev/null")
        for _ = 1, 100 do
            if not alive(pid) then return end
            os.execute("sleep 0.02")
        end
        os.execute("kill -9 " .. pid .. " 2>/dev/null")
    end
end

--- Starts dnsmasq with `lines` as its configuration (no upstream, no /etc/hosts), on
--- 127.0.0.1 (and ::1 too when `v6`). Returns {port = n, stop = function}.
function M.start(lines, v6)
    local conf = helper.tmpname("dnsmasq.conf")
    local f = assert(io.open(conf, "w"))
    f:write("no-resolv\nno-hosts\nno-negcache\n", table.concat(lines, "\n"), "\n")
    f:close()
    local user = helper.sh("id -u") == "0" and "--user=root --group=root" or ""
    for _ = 1, 10 do
        local port = math.random(20000, 60000)
        local log = helper.tmpname("dnsmasq.log")
        local pid = tonumber((helper.sh(string.format(
            "timeout -k 2 110 dnsmasq --keep-in-foreground --conf-file=/dev/null --conf-file=%s " ..
            "--port=%d --listen-address=127.0.0.1%s --bind-interfaces %s --log-facility=%s " ..
            ">/dev/null 2>&1 & echo $!", conf, port, v6 and ",::1" or "", user, log))))
        assert(pid, "could not start dnsmasq")
        for _ = 1, 250 do
            if udp_bound(port) then return {port = port, stop = stopper(pid), log = log} end
            if not alive(pid) then break end
            os.execute("sleep 0.02")
        end
        stopper(pid)()
    end
    error("dnsmasq did not start")
end

--- A UDP port on 127.0.0.1 where a process reads queries and never answers.
function M.silent()
    local portfile = helper.tmpname("silent.port")
    local pid = tonumber((helper.sh(string.format(
        "timeout -k 2 110 python3 -c 'import socket,time\n" ..
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind((\"127.0.0.1\",0))\n" ..
        "open(\"%s\",\"w\").write(str(s.getsockname()[1]))\n" ..
        "while True: s.recv(4096)' >/dev/null 2>&1 & echo $!", portfile))))
    assert(pid, "could not start the silent server")
    for _ = 1, 250 do
        local f = io.open(portfile)
        local port = f and tonumber(f:read("a"))
        if f then f:close() end
        if port and udp_bound(port) then return {port = port, stop = stopper(pid)} end
        os.execute("sleep 0.02")
    end
    stopper(pid)()
    error("silent server did not start")
end

-- Hex encoders for dnsmasq's dns-rr=<name>,<type>,<hex rdata>.
function M.hex_name(name)
    local out = {}
    for label in name:gmatch("[^.]+") do
        out[#out + 1] = string.format("%02x", #label)
        out[#out + 1] = (label:gsub(".", function(c) return string.format("%02x", c:byte()) end))
    end
    out[#out + 1] = "00"
    return table.concat(out)
end

function M.hex_u16(n) return string.format("%04x", n) end
function M.hex_u32(n) return string.format("%08x", n) end
function M.hex_bytes(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

return M
