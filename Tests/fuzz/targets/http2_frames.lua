-- ratchet.http.server speaking HTTP/2 by prior knowledge (nghttp2 under ratchet's binding):
-- mutated client sessions (preface, SETTINGS, HEADERS with CONTINUATION, DATA, PING,
-- WINDOW_UPDATE, RST_STREAM; seeds made with Python's h2), then the client half-closes.
-- Invariants: a session that starts with the preface is answered with whole HTTP/2 frames
-- only, the first a SETTINGS on stream 0, every frame of a type a server sends (never
-- PUSH_PROMISE), on stream 0 or a client's odd stream, a GOAWAY's code one RFC 9113
-- defines; anything else is answered as HTTP/1.1 or closed; no internals reach the client,
-- and the session ends once the client has half-closed.
local http_server = require "ratchet.http.server"
local fuzz = require "fuzz"

local T = {name = "http2_frames"}

local PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
local handlers = {}
function handlers:GET(uri) return {code = 200, data = "ok " .. uri} end
function handlers:POST(_, _, data) return {code = 200, data = tostring(#(data or ""))} end

local options = {header_timeout = 1, idle_timeout = 1, body_timeout = 1, max_body_bytes = 1 << 16,
                 on_error = function() end}

-- Frame types a server sends: DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY,
-- WINDOW_UPDATE, CONTINUATION (never PRIORITY or PUSH_PROMISE: no push).
local server_types = {[0] = true, [1] = true, [3] = true, [4] = true, [6] = true, [7] = true,
                      [8] = true, [9] = true}

local function check_frames(out)
    local pos, first = 1, true
    while pos <= #out do
        if pos + 8 > #out then return ("a partial frame header at byte %d"):format(pos) end
        local len, ftype, _, stream = string.unpack(">I3BBI4", out, pos)
        stream = stream & 0x7fffffff
        if first and (ftype ~= 4 or stream ~= 0) then
            return ("the first frame is type %d on stream %d, not SETTINGS"):format(ftype, stream)
        end
        first = false
        if not server_types[ftype] then return "a frame of type " .. ftype .. " from the server" end
        if stream ~= 0 and stream % 2 == 0 then return "a frame on even stream " .. stream end
        if pos + 9 + len - 1 > #out then return ("a frame of %d bytes cut short"):format(len) end
        if ftype == 7 then
            if len < 8 then return "a GOAWAY shorter than 8 bytes" end
            local code = string.unpack(">I4", out, pos + 13)
            if code > 0xd then return "GOAWAY with unknown error code " .. code end
        end
        pos = pos + 9 + len
    end
end

function T.case(_, input, pieces)
    local out, problem = fuzz.serve_session(function(sock) return http_server.new(sock, "fuzz", handlers, options) end, pieces)
    if not out then return problem end
    if fuzz.leaks_internals(out) then return "internals in the response: " .. out:sub(1, 200) end
    if input:sub(1, #PREFACE) == PREFACE and #out > 0 and not out:find("^HTTP/1%.") then
        return check_frames(out)
    end
end

function T.sanity()
    local get = assert(io.open(debug.getinfo(1, "S").source:match("^@(.*)/targets/") .. "/corpus/http2_frames/get.bin", "rb"))
    local input = get:read("a"); get:close()
    local out = fuzz.serve_session(function(sock) return http_server.new(sock, "fuzz", handlers, options) end, {input})
    if not out then return "no answer to a valid HTTP/2 GET" end
    local problem = check_frames(out)
    if problem then return "a valid HTTP/2 GET: " .. problem end
    if not out:find("ok /", 1, true) then return "a valid HTTP/2 GET got no body 'ok /'" end
end

return T
