-- ratchet.http.server's request reader: request heads, Content-Length and chunked bodies,
-- trailers, pipelining, limits. Invariants: every response has a valid status line and a
-- status the server may send for bad input (never 500: these handlers do not fail), no
-- internals reach the client, the connection ends once the client half-closes.
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local fuzz = require "fuzz"

local T = {name = "http_request"}

local handlers = {}
function handlers:GET() return {code = 200, data = "ok"} end
function handlers:POST(_, _, data) return {code = 200, data = tostring(#(data or ""))} end

local options = {header_timeout = 1, idle_timeout = 1, max_body_bytes = 1 << 16, on_error = function() end}
local allowed = {[100] = true, [200] = true, [400] = true, [408] = true, [411] = true,
    [413] = true, [414] = true, [417] = true, [431] = true, [501] = true, [505] = true}

-- Splits the server's output into responses; returns a problem or nil.
local function check_output(out)
    if fuzz.leaks_internals(out) then return "internals in the response: " .. out:sub(1, 200) end
    local pos = 1
    while pos <= #out do
        local code, he = out:match("^HTTP/1%.[01] (%d%d%d) [^\r\n]*\r\n()", pos)
        if not code then return ("not a status line at byte %d: %q"):format(pos, out:sub(pos, pos + 60)) end
        code = tonumber(code)
        if not allowed[code] then return "unexpected status " .. code end
        local head_end = out:find("\r\n\r\n", pos, true)
        if not head_end then return "response head without its end" end
        local head = out:sub(pos, head_end + 1)
        local len = tonumber(head:match("\r\n[Cc]ontent%-[Ll]ength: *(%d+)\r\n"))
        if code == 100 then len = 0 end
        if not len then return "response without Content-Length: " .. head end
        pos = head_end + 4
        -- A HEAD response has its GET's Content-Length and no body: the next response (or
        -- the end) follows at once. No body these handlers send starts like a status line.
        if pos <= #out and not out:find("^HTTP/1%.[01] ", pos) then
            pos = pos + len
            if pos - 1 > #out then return "response body shorter than its Content-Length" end
        end
    end
end

function T.case(_, _, pieces)
    local out, problem = fuzz.serve_session(function(sock) return http_server.new(sock, "fuzz", handlers, options) end, pieces)
    if not out then return problem end
    return check_output(out)
end

function T.sanity()
    local a, b = ratchet.socket.new_pair()
    local server = ratchet.thread.attach(http_server.new(a, "fuzz", handlers, options))
    fuzz.send_pieces(b, {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"})
    local out = fuzz.recv_all(b, 3)
    fuzz.finishes(server, 3)
    b:close()
    if not out:find("^HTTP/1%.1 200 ") then return "a valid request got: " .. out:sub(1, 80) end
end

return T
