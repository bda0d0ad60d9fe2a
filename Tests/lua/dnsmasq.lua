-- A private dnsmasq on 127.0.0.1 (random high port) serving a test zone, for the DNS
-- tests; and a UDP port that swallows queries without answering. Both are helper.spawn
-- jobs, so they die even if the test is killed before it stops them.
local helper = require "helper"
local M = {}

local function udp_bound(port)
    local hex = string.format(":%04X ", port)
    for _, file in ipairs{"/proc/net/udp", "/proc/net/udp6"} do
        local text = helper.read_file(file)
        if text and text:find(hex, 1, true) then return true end
    end
    return false
end

--- Whether the dnsmasq on `port` is ours: it answers the name only our configuration has.
--- (That the port is bound says nothing: another process, say another test's client or
--- dnsmasq, may hold it, and then ours has exited.)
local function answers(port, probe)
    local query = "123401000001000000000000" .. M.hex_name(probe) .. "00010001"
    local _, ok = helper.sh(string.format([[/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(bytes.fromhex("%s"), ("127.0.0.1", %d))
r = s.recv(512)
sys.exit(0 if r[:2] == bytes.fromhex("1234") and r[3] & 15 == 0 and r[7] > 0 else 1)']], query, port))
    return ok
end

--- Starts dnsmasq with `lines` as its configuration (no upstream, no /etc/hosts), on
--- 127.0.0.1 (and ::1 too when `v6`). Returns {port = n, stop = function, log = path}.
function M.start(lines, v6)
    local probe = string.format("probe%d.invalid", math.random(1, 1e9))
    local conf = helper.write_tmp("no-resolv\nno-hosts\nno-negcache\naddress=/" .. probe .. "/192.0.2.1\n"
        .. table.concat(lines, "\n") .. "\n", "dnsmasq.conf")
    local user = helper.sh("id -u") == "0" and "--user=root --group=root" or ""
    for _ = 1, 10 do
        local port = math.random(20000, 60000)
        local log = helper.tmpname("dnsmasq.log")
        local job = helper.spawn(string.format(
            "dnsmasq --keep-in-foreground --conf-file=/dev/null --conf-file=%s " ..
            "--port=%d --listen-address=127.0.0.1%s --bind-interfaces %s --log-facility=%s",
            conf, port, v6 and ",::1" or "", user, log))
        -- a taken port makes dnsmasq exit: then try another
        helper.wait_until(function() return not helper.alive(job.pid) or (udp_bound(port) and answers(port, probe)) end, 5)
        if helper.alive(job.pid) and answers(port, probe) then
            return {port = port, stop = function() job:stop() end, log = log}
        end
        job:stop()
    end
    error("dnsmasq did not start")
end

--- A UDP port on 127.0.0.1 where a process reads queries and never answers.
function M.silent()
    local portfile = helper.tmpname("silent.port")
    local job = helper.spawn(string.format(
        "python3 -c 'import socket,time\n" ..
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind((\"127.0.0.1\",0))\n" ..
        "open(\"%s\",\"w\").write(str(s.getsockname()[1]))\n" ..
        "while True: s.recv(4096)'", portfile))
    local port = helper.wait_until(function()
        local p = tonumber(helper.read_file(portfile) or "")
        return p and udp_bound(p) and p
    end, 5)
    if port then return {port = port, stop = function() job:stop() end} end
    job:stop()
    error("silent server did not start:\n" .. job:output())
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
