-- ratchet.bus framing, both ends: a bus server reading a mutated request frame (from a
-- connection that then half-closes) and a bus client reading a mutated response frame.
-- Invariants: a frame that decodes completely is answered, an incomplete one is dropped,
-- nothing raises a plain Lua error, and the server keeps serving.
local ratchet = require "ratchet"
local bus = require "ratchet.bus"
local framing = require "ratchet.bus.framing"
local fuzz = require "fuzz"

local T = {name = "bus_frame"}

function T.setup()
    local ctx = {path = os.tmpname()}
    os.remove(ctx.path)
    local rec = ratchet.socket.prepare_unix(ctx.path)
    ctx.listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    ctx.listener:bind(rec.addr)
    ctx.listener:listen()
    ctx.rec = rec
    ctx.server = bus.new_server(ctx.listener)
    ctx.served = 0
    ctx.thread = ratchet.thread.attach(function()
        while true do
            local ok, transaction, request = pcall(ctx.server.recv_request, ctx.server)
            if not ok then ctx.problem = "recv_request raised: " .. tostring(transaction); return end
            if transaction then
                if type(request) ~= "string" then ctx.problem = "request is " .. type(request); return end
                ctx.served = ctx.served + 1
                pcall(transaction.send_response, transaction, "re:" .. #request)
            end
        end
    end)
    return ctx
end

local function server_side(ctx, input, pieces)
    local s = ratchet.socket.new(ctx.rec.family, ctx.rec.socktype, ctx.rec.protocol)
    s:connect(ctx.rec.addr)
    local before = ctx.served
    fuzz.send_pieces(s, pieces)
    local out = fuzz.recv_all(s, 3, 1 << 20)
    s:close()
    if ctx.problem then return ctx.problem end
    local complete = framing.decode(input) ~= nil
    if complete and not out:find("re:", 1, true) then return "a complete frame got no response" end
    if not complete and out ~= "" then return "an incomplete frame got a response" end
    if complete and ctx.served ~= before + 1 then return "served count did not grow" end
end

local function client_side(pieces)
    local a, b = ratchet.socket.new_pair()
    a:set_timeout(2)
    local problem
    local t = ratchet.thread.attach(function()
        local c = bus.new_client(a)
        local ok, err = pcall(function()
            local tr = c:send_request("ping")
            local response = tr:recv_response()
            if response ~= nil and type(response) ~= "string" then problem = "response is " .. type(response) end
        end)
        if not ok and fuzz.is_bug(err) then problem = "the client raised a plain error: " .. tostring(err) end
    end)
    local drain = ratchet.thread.attach(fuzz.recv_all, b, 3, 1 << 20)
    fuzz.send_pieces(b, pieces)
    local done = fuzz.finishes(t, 3)
    ratchet.thread.kill(drain)
    b:close()
    pcall(a.close, a)
    if not done then return "recv_response did not return after the server closed" end
    return problem
end

function T.case(ctx, input, pieces)
    return server_side(ctx, input, pieces) or client_side(pieces)
end

function T.sanity(ctx)
    return server_side(ctx, framing.encode("hello", {"a"}), {framing.encode("hello", {"a"})})
end

function T.teardown(ctx)
    ratchet.thread.kill(ctx.thread)
    ctx.listener:close()
    os.remove(ctx.path)
end

return T
