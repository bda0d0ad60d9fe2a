-- A ZeroMQ request broker across processes: REQ clients send to the broker's ROUTER, the
-- broker passes each request to its DEALER, which hands it to one of the REP workers; the
-- reply finds its way back the same path. Clients and workers only know the broker, so
-- either side can grow, shrink or move to another machine (tcp://) without the other
-- noticing.
--
--   ratchet-lua examples/zmq_broker.lua broker tcp://127.0.0.1:5559 tcp://127.0.0.1:5560
--   ratchet-lua examples/zmq_broker.lua worker tcp://127.0.0.1:5560
--   ratchet-lua examples/zmq_broker.lua client tcp://127.0.0.1:5559 JOBS [PARALLEL]
--
-- The client prints "reply JOB WORKER" per job and "total N" at the end; PARALLEL REQ
-- sockets (default 4) each keep one request in flight. Broker and workers run until
-- SIGTERM/SIGINT (ratchet.worker); `ratchet-lua -w N ... worker ...` runs N workers.
local ratchet = require "ratchet"
local worker = require "ratchet.worker"
local zmq = ratchet.zmqsocket

local role = arg[1]
local pid = io.open("/proc/self/stat"):read("l"):match("^%d+")

-- Moves whole messages (every part) from one socket to the other until either closes.
local function shuttle(from, to)
    while true do
        local ok, part, more = pcall(from.recv, from)
        if not ok or not pcall(to.send, to, part, more) then return end
    end
end

local roles = {}

function roles.broker(front_endpoint, back_endpoint)
    local front <close> = zmq.new("ROUTER")
    local back <close> = zmq.new("DEALER")
    front:bind(front_endpoint)
    back:bind(back_endpoint)
    worker.on_stop(function() front:close(); back:close() end)
    ratchet.thread.wait_all({ratchet.thread.attach(shuttle, front, back),
                             ratchet.thread.attach(shuttle, back, front)})
end

function roles.worker(endpoint)
    local rep <close> = zmq.new("REP")
    rep:connect(endpoint)
    -- a request being answered is finished first: the stop only closes an idle socket
    local busy, stopped = false, false
    worker.on_stop(function() stopped = true; if not busy then rep:close() end end)
    local name = worker.id() .. "/" .. pid
    while not stopped do
        local ok, job = pcall(rep.recv_all, rep)
        if not ok then break end
        busy = true
        rep:send(job .. " " .. name)
        busy = false
    end
end

function roles.client(endpoint, jobs, parallel)
    jobs, parallel = tonumber(jobs), tonumber(parallel) or 4
    local next_job, threads = 0, {}
    for i = 1, parallel do
        threads[i] = ratchet.thread.attach(function()
            local req <close> = zmq.new("REQ")
            req:connect(endpoint)
            req:set_timeout(30)
            while next_job < jobs do
                next_job = next_job + 1
                local job = tostring(next_job)
                req:send(job)
                local reply = req:recv_all()
                assert(reply:match("^(%d+) ") == job, "reply " .. reply .. " to job " .. job)
                print("reply " .. reply)
            end
        end)
    end
    ratchet.thread.wait_all(threads)
    print("total " .. jobs)
end

if not roles[role] then
    io.stderr:write("usage: zmq_broker.lua broker|worker|client ENDPOINT... (see the file)\n")
    os.exit(2)
end
ratchet.new(function()
    roles[role](table.unpack(arg, 2))
    io.stdout:flush()
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
    os.exit(1)
end):loop()
