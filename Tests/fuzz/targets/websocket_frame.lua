-- ratchet.websocket's frame reader on the server side, with permessage-deflate agreed in
-- most cases (compressed, fragmented compressed, corrupt DEFLATE, RSV bits, lengths, close
-- frames): mutated client frames, then the client half-closes. Invariants: recv returns
-- whole messages of kind "text" (valid UTF-8) or "binary", no longer than max_message,
-- then nil with a close code a peer may see (1000-1003, 1005-1014 or 3000-4999; 1012-1014
-- are registered with IANA, 1005/1006 stand for a close without a code or without a close
-- frame) — never a plain Lua error — and the session ends.
local ratchet = require "ratchet"
local websocket = require "ratchet.websocket"
local fuzz = require "fuzz"

local T = {name = "websocket_frame"}
local MAX = 1 << 16

local function valid_close(code)
    return math.type(code) == "integer" and
        ((code >= 1000 and code <= 1003) or (code >= 1005 and code <= 1014) or (code >= 3000 and code <= 4999))
end

local function session(deflate, problems)
    return function(sock)
        return function()
            local ws = websocket.new(sock, {deflate = deflate, max_message = MAX, close_timeout = 1}, "server")
            while true do
                local ok, m, kind = pcall(ws.recv, ws)
                if not ok then
                    if fuzz.is_bug(m) then problems[#problems + 1] = "recv raised a plain error: " .. tostring(m) end
                    break
                end
                if m == nil then
                    if not valid_close(kind) then problems[#problems + 1] = "close code " .. tostring(kind) end
                    break
                end
                if type(m) ~= "string" or #m > MAX then problems[#problems + 1] = "message of " .. tostring(#m); break end
                if kind == "text" then
                    if not utf8.len(m) then problems[#problems + 1] = "text that is not UTF-8"; break end
                elseif kind ~= "binary" then
                    problems[#problems + 1] = "kind " .. tostring(kind); break
                end
                pcall(ws.send, ws, m, kind)
            end
            pcall(ws.close, ws)
        end
    end
end

function T.case(_, _, pieces, r)
    local problems = {}
    local deflate = r.chance(0.8) and {} or nil
    local _, problem = fuzz.serve_session(session(deflate, problems), pieces)
    return problem or problems[1]
end

function T.sanity()
    local frame = require "ratchet.websocket.frame"
    local problems = {}
    local payload = ratchet.deflate.deflater():compress("sane")
    local out, problem = fuzz.serve_session(session({}, problems),
        {frame.encode(true, 1, payload, true, true) .. frame.encode(true, 8, "\3\232", true)})
    if problem or problems[1] then return problem or problems[1] end
    if not out:find("\193", 1, true) then return "no compressed echo" end
end

return T
