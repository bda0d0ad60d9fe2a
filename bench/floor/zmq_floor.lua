-- The Lua-floor side of bench/zmq.sh: the loops of zmq_bench.lua's thr-recv, thr-send and
-- thr-local on zmq_floor.c (bare libzmq calls, no ratchet). thr-local drives both sockets
-- from one thread as zmq_raw.c does: send until the high-water mark, receive until empty,
-- poll when neither can go on.   lua5.4 zmq_floor.lua MODE ENDPOINT N SIZE
local zmq = require "zmq_floor"
local mode, endpoint, n, size = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
if mode == "thr-recv" then
    local s = zmq.new("PULL"); assert(s:bind(endpoint))
    s:recv()
    local t0 = zmq.now()
    for _ = 2, n do s:recv() end
    print(string.format("msgs/s %.0f", (n - 1) / (zmq.now() - t0)))
elseif mode == "thr-send" then
    local s = zmq.new("PUSH"); assert(s:connect(endpoint))
    local msg = string.rep("x", size)
    for _ = 1, n do s:send(msg) end
    zmq.sleep(1) -- see zmq_raw.c: libzmq may drop an ipc tail at disconnect
elseif mode == "thr-local" then
    local pull = zmq.new("PULL"); assert(pull:bind(endpoint))
    local push = zmq.new("PUSH"); assert(push:connect(endpoint))
    local msg = string.rep("x", size)
    local sent, got, t0 = 0, 0, nil
    while got < n do
        local progress = false
        while sent < n and push:send(msg, true) do sent = sent + 1; progress = true end
        while got < n and pull:recv(true) do
            if got == 0 then t0 = zmq.now() end
            got = got + 1; progress = true
        end
        if not progress then zmq.poll(pull, sent < n and push or nil) end
    end
    print(string.format("msgs/s %.0f", (n - 1) / (zmq.now() - t0)))
else
    error("unknown mode " .. tostring(mode))
end
