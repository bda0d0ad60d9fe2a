-- libzmq is loaded on the first ratchet.zmqsocket.new, not by require "ratchet"; when it
-- cannot be loaded, new raises a ratchet error naming the library and the rest of ratchet
-- keeps working.
local function libzmq_mapped()
    for line in io.lines("/proc/self/maps") do
        if line:find("libzmq", 1, true) then return true end
    end
    return false
end

-- Before anything loads it (lua5.4 itself does not), and after require.
assert(not libzmq_mapped(), "libzmq mapped before require")
local ratchet = require "ratchet"
assert(not libzmq_mapped(), "require \"ratchet\" loaded libzmq (or a library that needs it)")
local h = require "helper"
local zmq = ratchet.zmqsocket
assert(zmq.prepare_uri("req:tcp://127.0.0.1:1").type == "REQ", "zmqsocket functions that need no socket work")
assert(not libzmq_mapped(), "prepare_uri loaded libzmq")

local s = zmq.new("PAIR")
assert(libzmq_mapped(), "new did not load libzmq")
s:bind("inproc://load-test")
s:close()

-- A child process with RATCHET_LIBZMQ naming a library that cannot be used.
local child = [[
local ratchet = require "ratchet"
local ok, err = pcall(ratchet.zmqsocket.new, "PUSH")
assert(not ok, "new succeeded")
assert(type(err) == "table" and err.type == "ratchet_error", "not a ratchet error: " .. tostring(err))
print("code=" .. tostring(err.code))
print("syscall=" .. tostring(err.syscall))
print("function=" .. tostring(err["function"]))
print("description=" .. tostring(err.description))
-- the same error again (a failed load is retried, not cached as a crash)
local ok2, err2 = pcall(ratchet.zmqsocket.new, "PULL")
assert(not ok2 and err2.code == err.code, "second new")
-- the rest of ratchet works: two threads over a socket pair, and a timer
local got
ratchet.new(function()
    local a, b = ratchet.socket.new_pair()
    ratchet.thread.attach(function() a:send("ping") end)
    got = b:recv()
    ratchet.thread.timer(0.01)
end):loop()
print("pair=" .. tostring(got))
]]
local script = h.tmpname("zmq-load-child.lua")
local f = assert(io.open(script, "w"))
f:write(child)
f:close()

local function run_child(lib)
    local out, ok = h.sh("RATCHET_LIBZMQ='" .. lib .. "' lua5.4 " .. script)
    assert(ok, "child with RATCHET_LIBZMQ=" .. lib .. " failed:\n" .. out)
    local r = {}
    for k, v in out:gmatch("(%w+)=([^\n]*)") do r[k] = v end
    return r, out
end

-- no such library
local missing = "/nonexistent/libzmq-test.so.5"
local r, out = run_child(missing)
h.eq(r.code, "ENOENT", "code without the library")
h.eq(r.syscall, "dlopen", "syscall without the library")
h.eq(r["function"], "ratchet.zmqsocket.new()", "function without the library")
assert(r.description and r.description:find(missing, 1, true), "description names the library: " .. out)
h.eq(r.pair, "ping", "ratchet works without libzmq")

-- a library that loads but is not libzmq
r, out = run_child("libm.so.6")
h.eq(r.code, "ENOSYS", "code for a library without zmq functions")
h.eq(r.syscall, "dlsym", "syscall for a library without zmq functions")
assert(r.description:find("libm.so.6", 1, true) and r.description:find("zmq_", 1, true),
    "description names the library and the function: " .. out)
h.eq(r.pair, "ping", "ratchet works with an unusable libzmq")

os.remove(script)
print("ok")
