-- ratchet.worker: where this process stands among the workers of `ratchet-lua -w N`, and
-- the graceful stop (SIGTERM or SIGINT; from the supervisor on stop and reload). Without
-- -w the process is worker 1 of 1 and the same stop applies to it. See docs/worker.md.
local ratchet = require "ratchet"

local worker = {}

local function env_number(name, default)
    local v = tonumber(os.getenv(name))
    return v or default
end

local ID = math.tointeger(env_number("RATCHET_WORKER_ID", 1)) or 1
local COUNT = math.tointeger(env_number("RATCHET_WORKER_COUNT", 1)) or 1
local SUPERVISED = os.getenv("RATCHET_WORKER_ID") ~= nil

--- The generation this worker belongs to (1, then one more per SIGHUP reload).
worker.generation = math.tointeger(env_number("RATCHET_WORKER_GENERATION", 1)) or 1

--- id() → 1…count(): this worker's slot (a restarted worker keeps its slot's id).
function worker.id() return ID end
--- count() → the number of workers (1 without -w).
function worker.count() return COUNT end
--- supervised() → whether a supervisor (-w) runs this process.
function worker.supervised() return SUPERVISED end
--- drain_timeout() → seconds a stop may take (--drain-timeout, default 30).
function worker.drain_timeout() return env_number("RATCHET_DRAIN_TIMEOUT", 30) end

local stopping = false
local handlers = {}        -- fn → true, in a list for their order
local order = {}
local watchers = nil       -- the signal-waiting threads, while some kernel runs them

--- stopping() → true once a stop has begun.
function worker.stopping() return stopping end

local function run_handlers()
    for _, fn in ipairs(order) do
        if handlers[fn] then ratchet.thread.attach(fn) end
    end
end

--- stop(): begins the stop as a signal would (each on_stop function runs in its own thread).
function worker.stop()
    if stopping then return end
    stopping = true
    local w = watchers
    watchers = nil
    -- the watchers end: SIGTERM/SIGINT get their default action back, so a second one
    -- ends the process at once
    if w then
        local self = ratchet.thread.self()
        for _, t in ipairs(w) do if t ~= self then ratchet.thread.kill(t) end end
    end
    run_handlers()
end

local function watch(signal)
    local _ <close> = setmetatable({}, {__close = function() watchers = nil end})
    ratchet.thread.sigwait(signal)
    worker.stop()
end

--- on_stop(fn) → cancel(): runs fn() in a new thread when the stop begins (at once if it
-- has begun). Must be called from a ratchet thread: the signals are waited for on its kernel
-- by background threads, which do not keep loop() running. cancel() forgets fn.
function worker.on_stop(fn)
    assert(type(fn) == "function" or getmetatable(fn) and getmetatable(fn).__call,
        "on_stop needs a function")
    if not handlers[fn] then
        handlers[fn] = true
        order[#order + 1] = fn
    end
    if stopping then
        ratchet.thread.attach(fn)
    elseif not watchers then
        watchers = {ratchet.thread.attach_background(watch, "SIGTERM"),
                    ratchet.thread.attach_background(watch, "SIGINT")}
    end
    return function()
        if not handlers[fn] then return end
        handlers[fn] = nil
        for i, f in ipairs(order) do
            if f == fn then table.remove(order, i); break end
        end
    end
end

ratchet.worker = worker
return worker
