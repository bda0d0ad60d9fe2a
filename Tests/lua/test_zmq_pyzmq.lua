-- ratchet.zmqsocket against pyzmq in another process: REQ/REP both ways, PUB/SUB with
-- subscriptions, PUSH/PULL both ways, ROUTER/DEALER both ways.
local ratchet = require "ratchet"
local h = require "helper"
local zmq = ratchet.zmqsocket
local exec = ratchet.exec
local thread = ratchet.thread

local PEER = arg[0]:match("^(.*)/[^/]*$") .. "/zmq_peer.py"
local N = 200

--- Binds a new socket of `type` to a free TCP port; returns it and the endpoint.
--- `setup(s)` sets options first (ZeroMQ applies most options to later binds only).
local function bound(type, setup)
    local s = zmq.new(type)
    s:set_timeout(20)
    if setup then setup(s) end
    s:bind("tcp://127.0.0.1:*")
    return s, s:getsockopt("LAST_ENDPOINT")
end

--- Starts the Python peer; `finish()` waits for it and checks that it succeeded.
local function peer(role, endpoint, count)
    local p = exec.new({"python3", PEER, role, endpoint, tostring(count)})
    p:start()
    return function()
        local out, err, status = p:communicate()
        h.eq(status, 0, role .. " peer status (" .. out .. err .. ")")
        h.eq(out, role .. " ok " .. count .. "\n", role .. " peer report")
    end
end

local done = {}
h.run(function()
    local checks = {}
    local function case(name, f) checks[#checks + 1] = thread.attach(function() f(); done[name] = true end) end

    case("lua REQ -> python REP", function()
        local s, ep = bound("REQ")
        local finish = peer("rep", ep, N)
        for i = 1, N do
            if i % 2 == 0 then
                s:send("hello " .. i)
                h.eq(s:recv_all(), "re:hello " .. i, "single-part reply")
            else
                s:send("a" .. i, true); s:send("b", true); s:send("c")
                local p1, more1 = s:recv()
                local p2, more2 = s:recv()
                local p3, more3 = s:recv()
                h.eq(p1 .. p2 .. p3, "re:a" .. i .. "re:bre:c", "multi-part reply")
                assert(more1 and more2 and not more3, "more flags")
            end
        end
        finish()
        s:close()
    end)

    case("python REQ -> lua REP", function()
        local s, ep = bound("REP")
        local finish = peer("req", ep, N)
        for i = 0, N - 1 do
            local m, more = s:recv()
            h.eq(m, "req " .. i, "request"); h.eq(more, false, "request has one part")
            s:send("rep " .. i)
        end
        finish()
        s:close()
    end)

    case("python XPUB -> lua SUB", function()
        local s, ep = bound("SUB")
        s:setsockopt("SUBSCRIBE", "weather.")
        s:setsockopt("ZMQ_SUBSCRIBE", "news.")
        local finish = peer("xpub", ep, N)
        for i = 0, N - 1 do h.eq(s:recv(), "weather." .. i, "subscribed topic in order") end
        h.eq(s:recv(), "weather.end", "last weather message")
        s:setsockopt("UNSUBSCRIBE", "weather.")
        h.eq(s:recv(), "news.last", "after unsubscribing, only news arrives")
        finish()
        s:close()
    end)

    case("lua XPUB -> python SUB", function()
        local s, ep = bound("XPUB")
        local finish = peer("sub", ep, N)
        h.eq(s:recv(), "\1t1.", "subscription message from the python SUB")
        for i = 0, N - 1 do
            s:send("other." .. i)
            s:send("t1." .. i)
        end
        finish()
        s:close()
    end)

    case("python PUSH -> lua PULL", function()
        local s, ep = bound("PULL")
        local finish = peer("push", ep, N)
        for i = 0, N - 1 do h.eq(s:recv(), "m" .. i, "pushed message in order") end
        finish()
        s:close()
    end)

    case("lua PUSH -> python PULL", function()
        local s, ep = bound("PUSH")
        local finish = peer("pull", ep, N)
        for i = 0, N - 1 do s:send("m" .. i) end
        finish()
        s:close()
    end)

    case("python DEALER -> lua ROUTER", function()
        local s, ep = bound("ROUTER")
        local finish = peer("dealer", ep, N)
        local jobs = {}
        for i = 0, N - 1 do
            local id = s:recv()
            h.eq(id, "py-dealer", "routing id of the python DEALER")
            h.eq(s:recv(), "", "empty delimiter")
            h.eq(s:recv(), "job", "job frame")
            local n, more = s:recv()
            h.eq(n, tostring(i), "job number in order"); h.eq(more, false, "last frame")
            jobs[#jobs + 1] = {id, n}
        end
        for _, j in ipairs(jobs) do
            s:send(j[1], true); s:send("", true); s:send("done", true); s:send(j[2])
        end
        finish()
        s:close()
    end)

    case("lua DEALER -> python ROUTER", function()
        local s, ep = bound("XREQ", function(s) -- the reference's name for DEALER
            s:setsockopt("IDENTITY", "lua-dealer")
        end)
        h.eq(s:getsockopt("ROUTING_ID"), "lua-dealer", "identity reads back")
        h.eq(s:getsockopt("TYPE"), "DEALER", "XREQ is a DEALER")
        local finish = peer("router", ep, N)
        for i = 0, N - 1 do
            s:send("d" .. i)
            h.eq(s:recv(), "r" .. i, "routed reply")
        end
        finish()
        s:close()
    end)

    thread.wait_all(checks)
    done.all = true
end)

assert(done.all, "the test body ran to its end")
for _, name in ipairs({"lua REQ -> python REP", "python REQ -> lua REP", "python XPUB -> lua SUB",
    "lua XPUB -> python SUB", "python PUSH -> lua PULL", "lua PUSH -> python PULL",
    "python DEALER -> lua ROUTER", "lua DEALER -> python ROUTER"}) do
    assert(done[name], name .. " did not finish")
end
print("ok")
