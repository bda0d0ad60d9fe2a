-- ratchet.smtp.client's reply reader (with PIPELINING): a full client session against a
-- peer that answers with mutated replies. Invariants: every command returns a reply whose
-- code is a 3-digit string or nil, or raises a ratchet.error (ECONNCLOSED when the peer
-- goes away) — never a plain Lua error — and the session ends once the peer has closed.
local ratchet = require "ratchet"
local smtp_client = require "ratchet.smtp.client"
local fuzz = require "fuzz"

local T = {name = "smtp_reply"}

local function session(sock)
    local c = smtp_client.new(sock, 64)
    local replies = {c:get_banner(), c:ehlo("fuzz.example")}
    replies[#replies + 1] = c:mailfrom("a@example.com", 10)
    replies[#replies + 1] = c:rcptto("b@example.org")
    replies[#replies + 1] = c:data()
    replies[#replies + 1] = c:send_data("Subject: x\r\n\r\nbody\r\n")
    replies[#replies + 1] = c:quit()
    for _, r in ipairs(replies) do
        if r.code ~= nil and not (type(r.code) == "string" and r.code:match("^%d%d%d$")) then
            return "reply code " .. tostring(r.code)
        end
        if type(r.message) ~= "string" then return "reply message is " .. type(r.message) end
    end
end

function T.case(_, _, pieces)
    local a, b = ratchet.socket.new_pair()
    a:set_timeout(2)
    local problem
    local client = ratchet.thread.attach(function()
        local ok, err = pcall(session, a)
        if not ok and fuzz.is_bug(err) then problem = "the client raised a plain error: " .. tostring(err)
        elseif ok then problem = err end
        pcall(a.close, a)
    end)
    local drain = ratchet.thread.attach(fuzz.recv_all, b, 3, 1 << 20)
    fuzz.send_pieces(b, pieces)
    local done = fuzz.finishes(client, 4)
    ratchet.thread.kill(drain)
    b:close()
    if not done then return "the session did not end after the server closed" end
    return problem
end

function T.sanity()
    local a, b = ratchet.socket.new_pair()
    local code
    local t = ratchet.thread.attach(function() code = smtp_client.new(a):get_banner().code end)
    fuzz.send_pieces(b, {"220 ready\r\n"})
    fuzz.finishes(t, 3)
    b:close(); a:close()
    if code ~= "220" then return "a valid banner was read as " .. tostring(code) end
end

return T
