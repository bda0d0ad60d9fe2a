-- A ZeroMQ pipeline across processes: a ventilator PUSHes jobs to any number of worker
-- processes that PULL them, and each worker PUSHes its result to a sink that PULLs them all.
-- Every role is its own process, on one machine or several (tcp://).
--
--   ratchet-lua examples/zmq_pipeline.lua sink       tcp://127.0.0.1:5558 JOBS
--   ratchet-lua examples/zmq_pipeline.lua worker     tcp://127.0.0.1:5557 tcp://127.0.0.1:5558
--   ratchet-lua examples/zmq_pipeline.lua ventilator tcp://127.0.0.1:5557 JOBS [WAIT]
--
-- The sink prints "result JOB WORKER" per result and "total N" once JOBS results came.
-- Workers run until SIGTERM/SIGINT (ratchet.worker); `ratchet-lua -w N ... worker ...` runs N.
-- PUSH waits while no worker is connected, so no job is lost to a slow joiner; a job is
-- handed to exactly one worker. PUSH deals jobs round-robin to the workers connected at the
-- time: the ventilator waits WAIT seconds (default 1) after binding for workers to connect,
-- or, with WAIT "-", for a line on standard input. (A worker's PULL socket prefetches: jobs queued in a worker
-- that is stopped mid-run are lost with it; the broker example hands out one at a time.)
local ratchet = require "ratchet"
local worker = require "ratchet.worker"
local zmq = ratchet.zmqsocket

local role = arg[1]
local pid = io.open("/proc/self/stat"):read("l"):match("^%d+")

local roles = {}

function roles.ventilator(endpoint, jobs, wait)
    local push <close> = zmq.new("PUSH")
    push:bind(endpoint)
    if wait == "-" then
        io.read("l")              -- as the ZeroMQ guide's ventilator: Enter when workers are ready
    else
        ratchet.thread.timer(tonumber(wait) or 1)
    end
    for job = 1, tonumber(jobs) do push:send(tostring(job)) end
    -- closing lingers until every job has been handed over
end

function roles.worker(from, to)
    local pull <close> = zmq.new("PULL")
    local push <close> = zmq.new("PUSH")
    pull:connect(from)
    push:connect(to)
    worker.on_stop(function() pull:close() end)    -- wakes the recv below with EBADF
    local name = worker.id() .. "/" .. pid
    while true do
        local ok, job = pcall(pull.recv, pull)
        if not ok then break end
        push:send(job .. " " .. name)              -- the work: say who did it
    end
end

function roles.sink(endpoint, jobs)
    local pull <close> = zmq.new("PULL")
    pull:bind(endpoint)
    jobs = tonumber(jobs)
    for _ = 1, jobs do
        print("result " .. pull:recv())
    end
    print("total " .. jobs)
end

if not roles[role] then
    io.stderr:write("usage: zmq_pipeline.lua ventilator|worker|sink ENDPOINT... (see the file)\n")
    os.exit(2)
end
ratchet.new(function()
    roles[role](table.unpack(arg, 2))
    io.stdout:flush()
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
    os.exit(1)
end):loop()
