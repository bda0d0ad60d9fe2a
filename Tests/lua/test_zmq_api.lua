-- ratchet.zmqsocket API surface: types, prepare_uri, options, timeouts, errors, close.
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket
local thread = ratchet.thread

-- the context (created by the first socket) keeps its own descriptors for the process.
-- The baseline is counted with that socket still open: libzmq closes a closed socket's
-- descriptors later, in its own thread, so a baseline taken right after a close could
-- still include them (and the final count would then come out lower).
local anchor = zmq.new("PAIR")
local fds_before = h.fd_count()
local done = {}

-- every socket type, including the reference's aliases
local types = {PAIR = "PAIR", PUB = "PUB", SUB = "SUB", REQ = "REQ", REP = "REP", DEALER = "DEALER",
    ROUTER = "ROUTER", PULL = "PULL", PUSH = "PUSH", XPUB = "XPUB", XSUB = "XSUB", STREAM = "STREAM",
    XREQ = "DEALER", XREP = "ROUTER"}
for name, real in pairs(types) do
    local s = zmq.new(name)
    h.eq(s:getsockopt("TYPE"), real, "type of " .. name)
    assert(s:get_fd() >= 0, "ZMQ_FD of " .. name)
    h.eq(s:get_timeout(), -1, "default timeout of " .. name)
    h.eq(s:close(), true, "close " .. name)
end
h.eq(zmq.new():getsockopt("TYPE"), "PAIR", "default type")
h.eq(zmq.new("req"):getsockopt("TYPE"), "REQ", "lower-case type")
local e = h.raises("EINVAL", zmq.new, "FOO")
assert(e.description:find("FOO", 1, true), "the error names the type: " .. e.description)
h.raises_msg("string expected", zmq.new, 42)

-- prepare_uri: "type:endpoint", the manual's "zmq:type:endpoint", bare endpoints
local function uri(s) local r = zmq.prepare_uri(s); return r.type, r.endpoint end
local t, ep = uri("req:tcp://127.0.0.1:10025")
h.eq(t, "REQ", "type"); h.eq(ep, "tcp://127.0.0.1:10025", "endpoint")
t, ep = uri("zmq:pull:tcp://*:1337")
h.eq(t, "PULL", "manual form type"); h.eq(ep, "tcp://*:1337", "manual form endpoint")
t, ep = uri("ZMQ:Rep:ipc:///tmp/x.sock")
h.eq(t, "REP", "upper-case prefix"); h.eq(ep, "ipc:///tmp/x.sock", "ipc endpoint")
t, ep = uri("tcp://127.0.0.1:5")
h.eq(t, nil, "bare endpoint has no type"); h.eq(ep, "tcp://127.0.0.1:5", "bare endpoint")
t, ep = uri("zmq:tcp://127.0.0.1:5")
h.eq(t, nil, "zmq: with a bare endpoint"); h.eq(ep, "tcp://127.0.0.1:5", "zmq: bare endpoint")
t, ep = uri("nocolon")
h.eq(t, nil, "no colon: no type"); h.eq(ep, "nocolon", "no colon: endpoint")
local rec = zmq.prepare_uri("push:inproc://prepared")
local s = zmq.new(rec.type); s:bind(rec.endpoint)
h.eq(s:getsockopt("LAST_ENDPOINT"), "inproc://prepared", "prepared endpoint binds")
s:close()

-- options
s = zmq.new("SUB")
for _, name in ipairs({"LINGER", "SNDHWM", "RCVHWM"}) do
    s:setsockopt(name, 1234)
    h.eq(s:getsockopt(name), 1234, name .. " round trip")
end
s:setsockopt("zmq_linger", 0)
h.eq(s:getsockopt("LINGER"), 0, "ZMQ_ prefix and lower case accepted")
s:setsockopt("IDENTITY", "me")
h.eq(s:getsockopt("ROUTING_ID"), "me", "IDENTITY is ROUTING_ID")
s:setsockopt("IMMEDIATE", true)
h.eq(s:getsockopt("IMMEDIATE"), true, "boolean option")
s:setsockopt("MAXMSGSIZE", 1 << 33)
h.eq(s:getsockopt("MAXMSGSIZE"), 1 << 33, "64-bit option")
s:setsockopt("SUBSCRIBE", "a"); s:setsockopt("UNSUBSCRIBE", "a")
h.eq(s:getsockopt("RCVMORE"), false, "RCVMORE")
h.eq(s:getsockopt("FD"), s:get_fd(), "FD option")
h.eq(math.type(s:getsockopt("EVENTS")), "integer", "EVENTS")
e = h.raises("EINVAL", s.getsockopt, s, "NOSUCHOPT")
assert(e.description:find("NOSUCHOPT", 1, true), "the error names the option")
h.raises("EINVAL", s.setsockopt, s, "NOSUCHOPT", 1)
h.raises("EINVAL", s.getsockopt, s, "SUBSCRIBE")       -- write-only
h.raises("EINVAL", s.setsockopt, s, "TYPE", 1)         -- read-only
e = h.raises("EINVAL", s.setsockopt, s, "RCVTIMEO", 10) -- timeouts are set_timeout's
assert(e.description:find("set_timeout", 1, true), "points to set_timeout: " .. e.description)
h.raises_msg("integer expected", s.setsockopt, s, "LINGER", "long")
h.raises_msg("integer expected", s.setsockopt, s, "LINGER", 1.5)
h.raises_msg("out of range", s.setsockopt, s, "LINGER", 1 << 40)
h.raises_msg("string expected", s.setsockopt, s, "SUBSCRIBE", {})
e = h.raises("EINVAL", s.setsockopt, s, "IDENTITY", string.rep("x", 300)) -- zmq rejects it
h.eq(e.syscall, "zmq_setsockopt", "zmq's own refusal")

-- timeouts
s:set_timeout(2.5); h.eq(s:get_timeout(), 2.5, "set_timeout")
s:set_timeout(-3); h.eq(s:get_timeout(), -1, "negative is none")
s:set_timeout(math.huge); h.eq(s:get_timeout(), -1, "math.huge is none")
h.raises_msg("number expected", s.set_timeout, s, "1")
h.raises_msg("NaN", s.set_timeout, s, 0 / 0)

-- endpoints
local b = zmq.new("PAIR")
e = h.raises("EPROTONOSUPPORT", b.bind, b, "bogus://x")
h.eq(e["function"], "ratchet.zmqsocket.bind()", "function")
h.eq(e.syscall, "zmq_bind", "syscall")
assert(e.description:find("bogus://x", 1, true), "the error names the endpoint: " .. e.description)
h.raises("EINVAL", b.bind, b, "tcp://not an address")
h.raises("EINVAL", b.connect, b, "tcp://")
h.raises("EINVAL", b.connect, b, "nope")
b:bind("tcp://127.0.0.1:*")
local port_ep = b:getsockopt("LAST_ENDPOINT")
h.raises("EADDRINUSE", zmq.new("PAIR").bind, zmq.new("PAIR"), port_ep)
b:close()

-- send/recv outside a kernel: fine when they need not wait, EPERM when they would
local x, y = zmq.new("PAIR"), zmq.new("PAIR")
x:bind("inproc://outside"); y:connect("inproc://outside")
h.eq(x:send("no kernel needed"), true, "send outside a kernel")
h.eq(y:recv(), "no kernel needed", "recv outside a kernel")
h.raises("EPERM", y.recv, y)

h.run(function()
    -- the reference's test_zmq_send_recv, on a free port: REQ binds, REP connects,
    -- a two-part reply read with recv_all
    local rec = zmq.prepare_uri("req:tcp://127.0.0.1:*")
    local req_s = zmq.new(rec.type); req_s:bind(rec.endpoint)
    local rep_rec = zmq.prepare_uri("rep:" .. req_s:getsockopt("LAST_ENDPOINT"))
    local rep_s = zmq.new(rep_rec.type); rep_s:connect(rep_rec.endpoint)
    local server = thread.attach(function()
        h.eq(rep_s:recv(), "hello", "request")
        rep_s:send("wo", true); rep_s:send("rld")
    end)
    req_s:send("hello")
    h.eq(req_s:recv_all(), "world", "recv_all of wo + rld")
    thread.wait_all({server})
    req_s:close(); rep_s:close()

    -- a timeout is an ETIMEDOUT error, after about the set time, and the kernel runs on
    local ticks = 0
    local ticker = thread.attach(function() while true do thread.timer(0.01); ticks = ticks + 1 end end)
    local r = zmq.new("PULL"); r:bind("inproc://timeouts")
    r:set_timeout(0.2)
    local t0 = os.clock()
    e = h.raises("ETIMEDOUT", r.recv, r)
    h.eq(e.description, "Timed out on recv.", "timeout description")
    h.eq(e["function"], "ratchet.zmqsocket.recv()", "timeout function")
    assert(ticks >= 5, "other threads ran during the wait (" .. ticks .. ")")
    h.raises("ETIMEDOUT", r.recv_all, r)
    r:set_timeout(0)
    h.raises("ETIMEDOUT", r.recv, r)
    -- send times out when the peer does not take messages (HWM full, no peer)
    local w = zmq.new("PUSH"); w:setsockopt("SNDHWM", 1); w:bind("inproc://full")
    w:set_timeout(0.1)
    e = h.raises("ETIMEDOUT", w.send, w, "nobody listens")
    h.eq(e.description, "Timed out on send.", "send timeout description")
    -- the socket still works after a timeout
    local pusher = zmq.new("PUSH"); pusher:connect("inproc://timeouts")
    r:set_timeout(5)
    pusher:send("late")
    h.eq(r:recv(), "late", "recv after an earlier timeout")

    -- a wake-up that does not complete the call does not restart its timeout
    local busy = zmq.new("ROUTER"); busy:bind("tcp://127.0.0.1:*")
    busy:set_timeout(0.3)
    local ep = busy:getsockopt("LAST_ENDPOINT")
    local noisy = thread.attach(function()
        -- connections change ZMQ_FD's state without making busy readable
        for i = 1, 20 do
            local c = zmq.new("DEALER"); c:setsockopt("LINGER", 0); c:connect(ep)
            thread.timer(0.03)
            c:close()
        end
    end)
    local function uptime() local f = io.open("/proc/uptime"); local v = f:read("n"); f:close(); return v end
    local start = uptime()
    h.raises("ETIMEDOUT", busy.recv, busy)
    local took = uptime() - start
    assert(took >= 0.25 and took < 0.55, "a 0.3 s timeout among 20 wake-ups took " .. took .. " s")
    thread.kill(noisy)
    busy:close()

    -- closing a socket another thread waits on wakes it with EBADF
    local waited = zmq.new("PULL"); waited:bind("inproc://closing")
    local err
    local waiter = thread.attach(function() err = select(2, pcall(waited.recv, waited)) end)
    thread.timer(0.02)
    h.eq(waited:close(), true, "close")
    h.eq(waited:close(), nil, "close again")
    thread.wait_all({waiter})
    assert(ratchet.error.is(err, "EBADF"), "waiter got " .. tostring(err))
    h.eq(waited:get_fd(), -1, "get_fd after close")
    h.raises("EBADF", waited.send, waited, "x")
    h.raises("EBADF", waited.recv, waited)
    h.raises("EBADF", waited.bind, waited, "inproc://again")
    h.raises("EBADF", waited.getsockopt, waited, "LINGER")

    -- killing a thread blocked in recv cancels its wait; the socket stays usable
    local k = zmq.new("PULL"); k:bind("inproc://killed")
    local victim = thread.attach(function() k:recv(); done.victim = true end)
    thread.timer(0.02)
    thread.kill(victim)
    local kp = zmq.new("PUSH"); kp:connect("inproc://killed")
    kp:send("after kill")
    h.eq(k:recv(), "after kill", "recv after a killed reader")

    -- zmq state errors are ratchet errors raised in the calling thread
    local req = zmq.new("REQ")
    e = h.raises("EFSM", req.recv, req)
    h.eq(e.syscall, "zmq_msg_recv", "EFSM syscall")

    local router = zmq.new("ROUTER")
    router:setsockopt("ROUTER_MANDATORY", true)
    router:bind("inproc://mandatory")
    e = h.raises("EHOSTUNREACH", router.send, router, "nobody", true)
    h.eq(e.syscall, "zmq_send", "EHOSTUNREACH syscall")
    router:close()

    thread.kill(ticker)
    for _, sock in ipairs({r, w, pusher, k, kp, req}) do sock:setsockopt("LINGER", 0); sock:close() end
    done.all = true
end)

assert(done.all, "the test body ran to its end")

-- an uncaught zmq error in one thread goes to the error handler; the others go on
local handled = {}
ratchet.new(function()
    thread.attach(function() zmq.new("REQ"):recv() end)
    thread.attach(function() zmq.new("BOGUS") end)
    local a, b = zmq.new("PAIR"), zmq.new("PAIR")
    a:bind("inproc://survivor"); b:connect("inproc://survivor")
    thread.attach(function() thread.timer(0.02); a:send("still running") end)
    done.survivor = b:recv()
    a:close(); b:close()
end, function(err) handled[#handled + 1] = err end):loop()
h.eq(done.survivor, "still running", "a thread kept working after others failed")
h.eq(#handled, 2, "errors given to the handler")
assert(ratchet.error.is(handled[1], "EFSM"), "first error: " .. tostring(handled[1]))
assert(ratchet.error.is(handled[2], "EINVAL"), "second error: " .. tostring(handled[2]))
assert(not done.victim, "a killed thread does not continue")
for _, sock in ipairs({x, y, s}) do sock:close() end
collectgarbage(); collectgarbage()
-- libzmq closes a socket's descriptors in its own I/O thread, shortly after zmq_close
h.wait_until(function() return h.fd_count() == fds_before end, 10)
h.eq(h.fd_count(), fds_before, "descriptors after closing every socket")
anchor:close()
print("ok")
