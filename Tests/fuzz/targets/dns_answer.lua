-- ratchet.dns's answer parser (Swift): a UDP name server on loopback answers each query
-- with a mutated message carrying the query's ID and question, so the parser goes past the
-- resolver's matching checks. Invariants: query returns a results table or nil and a
-- message, or raises a ratchet.error — never a plain error or a crash — within its timeout.
local ratchet = require "ratchet"
local fuzz = require "fuzz"

local T = {name = "dns_answer"}
local types = {"a", "aaaa", "mx", "txt", "cname", "ns", "soa", "srv", "ptr", "sshfp", "spf"}

-- Length of the question name starting at `pos` (labels only, no pointers), or nil.
local function qname_end(msg, pos)
    while pos <= #msg do
        local n = msg:byte(pos)
        if n == 0 then return pos end
        if n >= 64 then return nil end
        pos = pos + n + 1
    end
end

function T.setup()
    local ctx = {}
    local rec = ratchet.socket.prepare_udp("127.0.0.1", 0)
    ctx.udp = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    ctx.udp:bind(rec.addr)
    local _, port = ctx.udp:getsockname()
    ctx.resolver = ratchet.dns.new{nameservers = {"127.0.0.1:" .. port}, timeout = 0.2, attempts = 1}
    ctx.next_answer = nil
    ctx.thread = ratchet.thread.attach(function()
        while true do
            local query, from = ctx.udp:recvfrom(4096)
            local answer = ctx.next_answer or ""
            if #query >= 12 then
                local q_end = qname_end(query, 13)
                local a_end = qname_end(answer, 13)
                if q_end and a_end and #answer >= a_end + 4 then
                    -- the query's question (name, type, class) in place of the template's
                    answer = answer:sub(3, 12):gsub("^(..)..", "%1\0\1")
                    answer = query:sub(1, 2) .. answer .. query:sub(13, q_end + 4) .. ctx.next_answer:sub(a_end + 5)
                elseif #answer >= 2 then
                    answer = query:sub(1, 2) .. answer:sub(3)
                end
            end
            pcall(ctx.udp.sendto, ctx.udp, answer, from)
            -- A message the resolver ignores (wrong ID, not a response) would cost a whole
            -- try's timeout: follow it with a SERVFAIL that ends the query at once. When the
            -- first was taken, this one arrives for no query and is dropped.
            if #query >= 12 then
                local q_end = qname_end(query, 13) or 12
                ratchet.thread.timer(0.002)
                pcall(ctx.udp.sendto, ctx.udp, query:sub(1, 2) .. "\129\130\0\1\0\0\0\0\0\0" .. query:sub(13, q_end + 4), from)
            end
        end
    end)
    return ctx
end

local function check(ctx, qtype)
    local ok, results, message = pcall(ratchet.dns.query, "fuzz.example", qtype, ctx.resolver, nil, 1)
    if not ok then
        if fuzz.is_bug(results) then return "query raised a plain error: " .. tostring(results) end
        return
    end
    if results == nil then
        if type(message) ~= "string" then return "nil results without a message" end
        return
    end
    if type(results) ~= "table" then return "results are " .. type(results) end
    for _, v in ipairs(results) do
        if qtype == "a" or qtype == "aaaa" then
            if type(tostring(v)) ~= "string" then return "an address without tostring" end
        end
    end
end

function T.case(ctx, input, _, r)
    ctx.next_answer = input
    return check(ctx, r.pick(types))
end

function T.sanity(ctx)
    -- header (ID patched by the server), question fuzz.example A IN, one A answer 10.1.2.3
    ctx.next_answer = string.pack(">I2I2I2I2I2I2", 0, 0x8180, 1, 1, 0, 0) .. "\4fuzz\7example\0"
        .. string.pack(">I2I2", 1, 1) .. "\192\12" .. string.pack(">I2I2I4s2", 1, 1, 60, "\10\1\2\3")
    local results = ratchet.dns.query("fuzz.example", "a", ctx.resolver, nil, 1)
    if not results or tostring(results[1]) ~= "10.1.2.3" then return "a valid answer was not parsed" end
end

function T.teardown(ctx)
    ratchet.thread.kill(ctx.thread)
    ctx.udp:close()
end

return T
