-- ratchet.zmqsocket in one kernel: 100,000 PUSH→PULL messages and 10,000 REQ/REP round
-- trips over TCP, IPC and inproc with nothing lost, duplicated or reordered; 100-part
-- messages; several threads sharing one socket (no lost wake-ups).
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket
local thread = ratchet.thread

local PUSHES, TRIPS = 100000, 10000
local done = {}

local function pair(a_type, b_type, endpoint)
    local a = zmq.new(a_type)
    a:set_timeout(30)
    a:bind(endpoint)
    local b = zmq.new(b_type)
    b:set_timeout(30)
    b:connect(a:getsockopt("LAST_ENDPOINT"))
    return a, b
end

local function endpoints()
    return {
        tcp = "tcp://127.0.0.1:*",
        ipc = "ipc://" .. h.tmpname("zmq.ipc"),
        inproc = "inproc://volume-" .. math.random(1, 1e9),
    }
end

h.run(function()
    for transport, ep in pairs(endpoints()) do
        -- PUSH → PULL: every sequence number exactly once and in order
        local pull, push = pair("PULL", "PUSH", ep)
        local sender = thread.attach(function()
            for i = 1, PUSHES do push:send(tostring(i)) end
        end)
        for i = 1, PUSHES do
            local m = pull:recv()
            if m ~= tostring(i) then error(transport .. ": message " .. i .. " was " .. tostring(m)) end
        end
        thread.wait_all({sender})
        done[transport .. " push/pull"] = true
        push:close(); pull:close()

        -- REQ/REP round trips
        local rep, req = pair("REP", "REQ", ep:gsub("volume%-", "volume-rr-"))
        local server = thread.attach(function()
            for i = 1, TRIPS do
                local m = rep:recv()
                rep:send("re:" .. m)
            end
        end)
        for i = 1, TRIPS do
            req:send(tostring(i))
            local r = req:recv()
            if r ~= "re:" .. i then error(transport .. ": reply " .. i .. " was " .. tostring(r)) end
        end
        thread.wait_all({server})
        done[transport .. " req/rep"] = true
        req:close(); rep:close()
    end

    -- a 100-part message, read part by part and with recv_all
    local a, b = pair("PAIR", "PAIR", "inproc://multipart")
    for round = 1, 2 do
        for i = 1, 100 do a:send("p" .. i .. ";", i < 100) end
    end
    local whole = {}
    for i = 1, 100 do
        local part, more = b:recv()
        h.eq(part, "p" .. i .. ";", "part " .. i)
        h.eq(more, i < 100, "more flag of part " .. i)
        whole[i] = part
    end
    h.eq(b:recv_all(), table.concat(whole), "recv_all of 100 parts")
    -- a large message and empty parts
    local big = string.rep("0123456789abcdef", 65536) -- 1 MiB
    a:send(big)
    h.eq(b:recv(), big, "1 MiB message")
    a:send("", true); a:send("")
    local e1, m1 = b:recv(); local e2, m2 = b:recv()
    assert(e1 == "" and m1 and e2 == "" and not m2, "empty parts")
    a:send(12345)
    h.eq(b:recv(), "12345", "numbers are sent as strings")
    a:close(); b:close()

    -- two threads receiving from one PULL socket while two send: each message exactly once
    local pull, push = pair("PULL", "PUSH", "tcp://127.0.0.1:*")
    local push2 = zmq.new("PUSH"); push2:connect(pull:getsockopt("LAST_ENDPOINT"))
    local N = 20000
    local seen, count = {}, 0
    local receivers = {}
    for r = 1, 2 do
        receivers[r] = thread.attach(function()
            while true do
                local m = pull:recv()
                if m == "stop" then return end
                assert(not seen[m], "duplicate " .. m)
                seen[m] = true
                count = count + 1
            end
        end)
    end
    local senders = {}
    for s, sock in ipairs({push, push2}) do
        senders[s] = thread.attach(function()
            for i = 1, N do sock:send(s .. ":" .. i) end
        end)
    end
    thread.wait_all(senders)
    -- PULL queues fairly between its peers, so a stop sent now could overtake push2's tail
    local deadline = os.time() + 30
    while count < 2 * N and os.time() < deadline do thread.timer(0.01) end
    push:send("stop"); push:send("stop")
    thread.wait_all(receivers)
    h.eq(count, 2 * N, "messages received by two threads from one socket")
    push:close(); push2:close(); pull:close()

    -- one DEALER used by a sending thread and a receiving thread at once (an echoing ROUTER)
    local router, dealer = pair("ROUTER", "DEALER", "tcp://127.0.0.1:*")
    -- a ROUTER drops what it cannot queue, unless told to make send wait (EAGAIN) instead
    router:setsockopt("ROUTER_MANDATORY", true)
    local echo = thread.attach(function()
        for i = 1, N do
            local id = router:recv()
            local body = router:recv()
            router:send(id, true); router:send(body)
        end
    end)
    local got = 0
    local reader = thread.attach(function()
        for i = 1, N do
            h.eq(dealer:recv(), tostring(i), "echo " .. i)
            got = got + 1
        end
    end)
    for i = 1, N do dealer:send(tostring(i)) end
    thread.wait_all({echo, reader})
    h.eq(got, N, "echoes read while another thread sent on the same socket")

    -- a thread that keeps looking at ZMQ_EVENTS consumes the ZMQ_FD edges another thread
    -- waits for: the waiting thread must still be woken (no lost wake-ups)
    dealer:set_timeout(5)
    local finished = false
    local poller = thread.attach(function()
        local looks = 0
        while not finished do
            dealer:getsockopt("EVENTS"); dealer:is_readable()
            looks = looks + 1
            thread.yield()
        end
        assert(looks > 100, "the poller ran alongside")
    end)
    local echo2 = thread.attach(function()
        for i = 1, 2000 do
            local id = router:recv(); local body = router:recv()
            router:send(id, true); router:send(body)
        end
    end)
    for i = 1, 2000 do
        dealer:send("x" .. i)
        h.eq(dealer:recv(), "x" .. i, "round trip beside a poller")
    end
    finished = true
    thread.wait_all({poller, echo2})
    router:close(); dealer:close()
    done.all = true
end)

assert(done.all, "the test body ran to its end")
for _, t in ipairs({"tcp", "ipc", "inproc"}) do
    assert(done[t .. " push/pull"] and done[t .. " req/rep"], t .. " volume did not finish")
end
print("ok")
