-- ratchet.zmqsocket side of bench/zmq.sh: the same workloads and output as zmq_raw.c.
--   lua5.4 zmq_bench.lua MODE ENDPOINT N SIZE   (modes: thr-recv thr-send thr-local
--                                                 lat-rep lat-req lat-local)
-- The two ends of the "local" modes are two ratchet threads in one kernel.
local ratchet = require "ratchet"
local zmq = ratchet.zmqsocket
local mode, endpoint, n, size = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])

-- a monotonic clock with nanosecond resolution: the time left on a long timerfd
local clock = ratchet.timerfd.new()
clock:settime(1e6)
local function now() return 1e6 - clock:gettime() end

local function sock(type, bind)
    local s = zmq.new(type)
    s:setsockopt("LINGER", 5000)
    if bind then s:bind(endpoint) else s:connect(endpoint) end
    return s
end

local function thr_recv(s)
    s:recv()
    local t0 = now()
    for _ = 2, n do s:recv() end
    print(string.format("msgs/s %.0f", (n - 1) / (now() - t0)))
end

local function thr_send(s)
    local msg = string.rep("x", size)
    for _ = 1, n do s:send(msg) end
end

local function lat_rep(s)
    for _ = 1, n do s:send((s:recv())) end
end

local function lat_req(s)
    local msg = string.rep("x", size)
    local t0 = now()
    for _ = 1, n do s:send(msg); s:recv() end
    print(string.format("rtt_us %.2f", (now() - t0) / n * 1e6))
end

ratchet.new(function()
    if mode == "thr-recv" then thr_recv(sock("PULL", true))
    elseif mode == "thr-send" then
        thr_send(sock("PUSH", false))
        ratchet.thread.timer(1) -- see zmq_raw.c: libzmq may drop an ipc tail at disconnect
    elseif mode == "lat-rep" then lat_rep(sock("REP", true))
    elseif mode == "lat-req" then lat_req(sock("REQ", false))
    elseif mode == "thr-local" or mode == "lat-local" then
        local thr = mode == "thr-local"
        local a = sock(thr and "PULL" or "REQ", true)
        local b = sock(thr and "PUSH" or "REP", false)
        ratchet.thread.attach(thr and thr_send or lat_rep, b)
        if thr then thr_recv(a) else lat_req(a) end
    else
        error("unknown mode " .. tostring(mode))
    end
end):loop()
